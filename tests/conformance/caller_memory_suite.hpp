#pragma once
// Caller-owned memory, on every engine configuration (the Conformance configurations): arenas
// from an allocator hook per device (LoadOptions::allocators) and tensors loaded into the
// caller's own destinations (LoadOptions::destinations), with bad destinations refused before
// anything is allocated. The caller's memory here is a second engine's arenas (host memory for
// the CPU engine, cudaMalloc'd memory for CUDA), so the same bodies run on both.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/counting_engine.hpp"

namespace stload::conformance {

template <class Config>
class CallerMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = Config::unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
    pool_ = Config::engine({});
  }

  [[nodiscard]] static LoadOptions options(DeviceMap map) {
    LoadOptions options;
    options.device_map = std::move(map);
    options.device_map_given = true;
    options.chunk_bytes = 64 * kKiB;
    options.staging_bytes = 256 * kKiB;
    options.reader_threads = 2;
    Config::configure(options);
    return options;
  }

  // An allocator that hands out the pool's memory and counts what it gave and got back.
  ArenaAllocator counted_allocator(Device device) {
    return [this, device](std::uint64_t bytes, std::uint64_t alignment) {
      EXPECT_EQ(alignment, kArenaAlignment);
      std::shared_ptr<Buffer> block = pool_->allocate_arena(device, bytes);
      ++allocated_;
      blocks_.push_back(block);
      return CallerAllocation{block->data(), [this, block] { ++released_; }};
    };
  }

  // True when `data` lies inside one of the blocks the allocators handed out.
  [[nodiscard]] bool from_allocator(const void* data) const {
    const auto* at = static_cast<const std::byte*>(data);
    for (const auto& block : blocks_) {
      if (at >= block->data() && at < block->data() + block->size()) return true;
    }
    return false;
  }

  [[nodiscard]] std::vector<std::byte> read_caller(const Buffer& buffer, std::uint64_t offset,
                                                   std::uint64_t bytes) const {
    std::vector<std::byte> out(bytes);
    pool_->read_back(buffer, offset, out);
    return out;
  }

  [[nodiscard]] std::filesystem::path write(const std::string& name,
                                            const std::vector<stload::testing::TestTensor>& t) {
    return dir_.write(name, stload::testing::make_safetensors(t));
  }

  std::shared_ptr<CopyEngine> pool_;
  std::vector<std::shared_ptr<Buffer>> blocks_;
  std::atomic<int> allocated_{0};
  std::atomic<int> released_{0};
  stload::testing::TempDir dir_;
};

TYPED_TEST_SUITE_P(CallerMemory);

// Three F32 tensors and a U8 one, the F32s big enough to take several chunks.
inline std::vector<stload::testing::TestTensor> mixed_tensors() {
  return {make_tensor("a.w", Dtype::F32, {40'000}, 1), make_tensor("a.b", Dtype::U8, {77}, 2),
          make_tensor("b.w", Dtype::F32, {3, 5000}, 3), make_tensor("b.x", Dtype::F32, {9}, 4)};
}

TYPED_TEST_P(CallerMemory, allocator_hook_arenas_hold_the_files_bytes_and_are_released_last) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  const Checkpoint checkpoint = Checkpoint::open(this->write("hook.safetensors", mixed_tensors()));
  LoadOptions options = this->options(DeviceMap::from_rules({{"a", first}, {"b", second}}));
  options.allocators[first] = this->counted_allocator(first);
  options.allocators[second] = this->counted_allocator(second);
  {
    const LoadedModel model = load(checkpoint, options, TypeParam::engine({}));
    expect_matches_file(model, checkpoint);
    EXPECT_EQ(this->allocated_.load(), first == second ? 1 : 2) << "one arena per device";
    for (const TensorView& view : model.tensors())
      EXPECT_TRUE(this->from_allocator(view.data)) << view.name << " is not in the caller's arena";
    EXPECT_EQ(this->released_.load(), 0) << "released while the model still uses it";
  }
  EXPECT_EQ(this->released_.load(), this->allocated_.load()) << "every arena handed back once";
}

TYPED_TEST_P(CallerMemory, destinations_receive_their_tensors_at_the_callers_addresses) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  const Checkpoint checkpoint = Checkpoint::open(this->write("dest.safetensors", mixed_tensors()));
  // The caller's memory, 4 bytes past a 256-byte boundary: F32 alignment is all it promises.
  const std::uint64_t a_bytes = checkpoint.find("a.w")->bytes();
  const std::uint64_t b_bytes = checkpoint.find("b.w")->bytes();
  const auto a_block = this->pool_->allocate_arena(second, a_bytes + 4);
  const auto b_block = this->pool_->allocate_arena(first, b_bytes + 4);
  LoadOptions options = this->options(DeviceMap(first));
  options.destinations["a.w"] = TensorDestination{second, a_block->data() + 4, a_bytes};
  options.destinations["b.w"] = TensorDestination{first, b_block->data() + 4, b_bytes};
  {
    const LoadedModel model = load(checkpoint, options, TypeParam::engine({}));
    ASSERT_EQ(model.size(), 4U);
    EXPECT_EQ(model.at("a.w").data, a_block->data() + 4);
    EXPECT_EQ(model.at("a.w").device, second);
    EXPECT_EQ(model.at("b.w").data, b_block->data() + 4);
    EXPECT_EQ(model.at("a.b").device, first) << "tensors without a destination follow the map";
    for (const char* name : {"a.w", "b.w"}) {
      const TensorView& view = model.at(name);
      std::vector<std::byte> out(view.bytes);
      model.read(view, out);
      const auto expected = checkpoint.tensor_bytes(*checkpoint.find(name));
      EXPECT_TRUE(std::equal(out.begin(), out.end(), expected.begin(), expected.end())) << name;
    }
  }
  // The model is gone; the caller's memory is not, and holds the tensors.
  const auto a_file = checkpoint.tensor_bytes(*checkpoint.find("a.w"));
  const auto a_read = this->read_caller(*a_block, 4, a_bytes);
  EXPECT_TRUE(std::equal(a_read.begin(), a_read.end(), a_file.begin(), a_file.end()));
  const auto b_file = checkpoint.tensor_bytes(*checkpoint.find("b.w"));
  const auto b_read = this->read_caller(*b_block, 4, b_bytes);
  EXPECT_TRUE(std::equal(b_read.begin(), b_read.end(), b_file.begin(), b_file.end()));
}

TYPED_TEST_P(CallerMemory, bad_destinations_fail_naming_the_tensor_before_any_allocation) {
  const Device first = TypeParam::first();
  const Checkpoint checkpoint = Checkpoint::open(this->write("bad.safetensors", mixed_tensors()));
  const std::uint64_t bytes = checkpoint.find("b.w")->bytes();
  const auto block = this->pool_->allocate_arena(first, bytes + 256);
  std::byte* good = block->data();
  struct Case {
    std::string tensor;
    TensorDestination destination;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"b.w", {first, good, bytes - 4}, "needs " + std::to_string(bytes)},
      {"b.w", {first, good + 2, bytes}, "not aligned to its element size (4 bytes, F32)"},
      {"b.w", {first, nullptr, bytes}, "null pointer"},
      {"b.w", {TypeParam::unserved(), good, bytes}, "does not have"},
      {"no.such", {first, good, bytes}, "no such tensor"},
      {"a.w", {first, good, bytes}, "filter leaves it out"},
  };
  for (const Case& c : cases) {
    LoadOptions options = this->options(DeviceMap(first));
    options.filter = [](std::string_view name) { return name.substr(0, 2) == "b."; };
    options.destinations[c.tensor] = c.destination;
    auto engine = std::make_shared<stload::testing::CountingEngine>(TypeParam::engine({}));
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         ErrorCode::InvalidArgument, {"'" + c.tensor + "'", c.says}))
        << c.says;
    EXPECT_EQ(engine->allocations(), 0U) << c.says << ": memory was allocated first";
  }
}

TYPED_TEST_P(CallerMemory, allocator_returning_misaligned_or_no_memory_fails_and_gets_it_back) {
  const Device first = TypeParam::first();
  const Checkpoint checkpoint = Checkpoint::open(this->write("oom.safetensors", mixed_tensors()));
  const auto block = this->pool_->allocate_arena(first, 1 << 20U);
  int released = 0;
  for (const bool misaligned : {true, false}) {
    LoadOptions options = this->options(DeviceMap(first));
    options.allocators[first] = [&](std::uint64_t, std::uint64_t) {
      return CallerAllocation{misaligned ? block->data() + 64 : nullptr, [&] { ++released; }};
    };
    auto engine = std::make_shared<stload::testing::CountingEngine>(TypeParam::engine({}));
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         misaligned ? ErrorCode::InvalidArgument : ErrorCode::OutOfMemory,
                         {first.to_string(), misaligned ? "not aligned" : "returned no memory"}));
    EXPECT_EQ(engine->live_buffers(), 0);
  }
  EXPECT_EQ(released, 2) << "what the allocator gave is handed back on the error";
}

TYPED_TEST_P(CallerMemory, allocator_that_throws_fails_the_load_and_releases_earlier_arenas) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  if (first == second) GTEST_SKIP() << "needs two devices";
  const Checkpoint checkpoint = Checkpoint::open(this->write("throw.safetensors", mixed_tensors()));
  LoadOptions options = this->options(DeviceMap::from_rules({{"a", first}, {"b", second}}));
  options.allocators[first] = this->counted_allocator(first);
  options.allocators[second] = [](std::uint64_t, std::uint64_t) -> CallerAllocation {
    throw Error(ErrorCode::OutOfMemory, "pool exhausted");
  };
  EXPECT_TRUE(is_error(
      error_of([&] { static_cast<void>(load(checkpoint, options, TypeParam::engine({}))); }),
      ErrorCode::OutOfMemory, {"pool exhausted"}));
  EXPECT_EQ(this->allocated_.load(), 1);
  EXPECT_EQ(this->released_.load(), 1) << "the first device's arena was not handed back";
}

REGISTER_TYPED_TEST_SUITE_P(CallerMemory,
                            allocator_hook_arenas_hold_the_files_bytes_and_are_released_last,
                            destinations_receive_their_tensors_at_the_callers_addresses,
                            bad_destinations_fail_naming_the_tensor_before_any_allocation,
                            allocator_returning_misaligned_or_no_memory_fails_and_gets_it_back,
                            allocator_that_throws_fails_the_load_and_releases_earlier_arenas);

}  // namespace stload::conformance
