#pragma once
// Zero-copy CPU tensors (LoadOptions::zero_copy) on every CPU configuration: tensors on a CPU
// device are views of a private mapping of their file, nothing is allocated or copied for them;
// tensors whose file offset breaks their element alignment are copied by the configuration's own
// path (direct or staged; pread, mapping or O_DIRECT) and counted.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/counting_engine.hpp"

namespace stload::conformance {

template <class Config>
class ZeroCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = Config::unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
  }

  [[nodiscard]] static LoadOptions options(DeviceMap map) {
    LoadOptions options = suite_options<Config>(std::move(map));
    options.zero_copy = true;
    return options;
  }
  [[nodiscard]] static LoadOptions options() { return options(DeviceMap(Config::first())); }

  [[nodiscard]] static std::shared_ptr<stload::testing::CountingEngine> engine() {
    return std::make_shared<stload::testing::CountingEngine>(Config::engine({}));
  }

  [[nodiscard]] std::filesystem::path write(
      const std::string& name, const std::vector<stload::testing::TestTensor>& t) const {
    return dir_.write(name, stload::testing::make_safetensors(t));
  }

  static std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
  }

  // The view's bytes, read straight through its pointer (host memory), against the test's data.
  static void expect_bytes(const TensorView& view, const stload::testing::TestTensor& t) {
    ASSERT_EQ(view.bytes, t.data.size()) << t.name;
    if (view.bytes == 0) return;
    EXPECT_EQ(std::memcmp(view.data, t.data.data(), t.data.size()), 0) << t.name;
  }

  // Every tensor read back through LoadedModel::read equals the file's bytes (views are at their
  // file offsets, so the arena-alignment check of expect_matches_file does not apply).
  static void expect_read_back(const LoadedModel& model, const Checkpoint& checkpoint) {
    for (const TensorView& view : model.tensors()) {
      const TensorRecord* record = checkpoint.find(view.name);
      ASSERT_NE(record, nullptr) << view.name;
      const std::span<const std::byte> file = checkpoint.tensor_bytes(*record);
      std::vector<std::byte> out(view.bytes);
      model.read(view, out);
      EXPECT_TRUE(std::equal(out.begin(), out.end(), file.begin(), file.end())) << view.name;
    }
  }

  stload::testing::TempDir dir_;
};

TYPED_TEST_SUITE_P(ZeroCopy);

TYPED_TEST_P(ZeroCopy, every_dtype_is_a_view_of_the_file_and_nothing_is_allocated) {
  std::vector<stload::testing::TestTensor> tensors;
  std::uint32_t seed = 1;
  // 8-byte types first, so that every later offset stays a multiple of each element size.
  for (const Dtype dtype : {Dtype::F64, Dtype::I64, Dtype::F32, Dtype::I32, Dtype::BF16, Dtype::F16,
                            Dtype::I16, Dtype::U8, Dtype::BOOL}) {
    tensors.push_back(make_tensor(std::string(to_string(dtype)), dtype, {4, 6}, seed++));
  }
  const auto path = this->write("views.safetensors", tensors);
  const Checkpoint checkpoint = Checkpoint::open(path);
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, this->options(), engine, &stats);
  ASSERT_EQ(model.size(), tensors.size());
  EXPECT_EQ(engine->live_buffers(), 0) << "a view needs no arena";
  EXPECT_EQ(stats.tensors_viewed, tensors.size());
  EXPECT_EQ(stats.bytes_viewed, stats.bytes);
  EXPECT_EQ(stats.tensors_copied_unaligned, 0U);
  EXPECT_EQ(stats.chunks, 0U);
  EXPECT_TRUE(stats.device_bytes.empty());
  this->expect_read_back(model, checkpoint);
  const std::vector<std::byte> file = this->file_bytes(path);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& view = model.at(tensors[i].name);
    this->expect_bytes(view, tensors[i]);
    EXPECT_EQ(view.device, TypeParam::first());
    // Views sit at their file offsets: one mapping, so the distance between two views is the
    // distance between their data in the file.
    const TensorRecord& record = *checkpoint.find(tensors[i].name);
    const TensorRecord& first = *checkpoint.find(tensors[0].name);
    EXPECT_EQ(static_cast<const std::byte*>(view.data) -
                  static_cast<const std::byte*>(model.at(tensors[0].name).data),
              static_cast<std::ptrdiff_t>(record.offset - first.offset));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(view.data) % (bit_size(view.dtype) / 8), 0U)
        << view.name;
  }
}

TYPED_TEST_P(ZeroCopy, unaligned_tensors_are_copied_aligned_and_counted) {
  // U8[3] first puts the F32 and I64 after it at offsets that are not multiples of 4 and 8.
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("bytes", Dtype::U8, {3}, 1), make_tensor("f32", Dtype::F32, {5}, 2),
      make_tensor("i64", Dtype::I64, {3, 2}, 3), make_tensor("u8_tail", Dtype::U8, {7}, 4)};
  const Checkpoint checkpoint = Checkpoint::open(this->write("unaligned.safetensors", tensors));
  ASSERT_NE(checkpoint.find("f32")->offset % 4, 0U) << "the fixture must misalign f32";
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, this->options(), engine, &stats);
  EXPECT_EQ(stats.tensors_copied_unaligned, checkpoint.find("i64")->offset % 8 != 0 ? 2U : 1U);
  EXPECT_EQ(stats.tensors_viewed, tensors.size() - stats.tensors_copied_unaligned);
  EXPECT_EQ(engine->live_buffers(), 1) << "one arena for the copied tensors";
  this->expect_read_back(model, checkpoint);
  for (const auto& t : tensors) {
    const TensorView& view = model.at(t.name);
    this->expect_bytes(view, t);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(view.data) % (bit_size(view.dtype) / 8), 0U)
        << t.name;
  }
}

TYPED_TEST_P(ZeroCopy, views_outlive_the_checkpoint_and_writes_never_reach_the_file) {
  const std::vector<stload::testing::TestTensor> tensors = {make_tensor("a", Dtype::F32, {64}, 1),
                                                            make_tensor("b", Dtype::U8, {9}, 2)};
  const auto path = this->write("cow.safetensors", tensors);
  const std::vector<std::byte> before = this->file_bytes(path);
  LoadedModel model;
  {
    const Checkpoint checkpoint = Checkpoint::open(path);
    model = load(checkpoint, this->options(), this->engine());
  }  // the checkpoint (and its own mapping) is gone; the views keep theirs
  this->expect_bytes(model.at("a"), tensors[0]);
  // Copy-on-write: this process sees its write, the file and a second load do not.
  std::memset(model.at("a").data, 0x5A, model.at("a").bytes);
  EXPECT_EQ(static_cast<const unsigned char*>(model.at("a").data)[10], 0x5A);
  EXPECT_EQ(this->file_bytes(path), before);
  const Checkpoint again = Checkpoint::open(path);
  const LoadedModel second = load(again, this->options(), this->engine());
  this->expect_bytes(second.at("a"), tensors[0]);
  std::vector<std::byte> out(model.at("b").bytes);
  model.read(model.at("b"), out);  // LoadedModel::read serves views too
  EXPECT_EQ(out, tensors[1].data);
}

TYPED_TEST_P(ZeroCopy, shards_caller_destinations_and_edge_tensors_mix_with_views) {
  const std::vector<stload::testing::TestTensor> first = {
      make_tensor("s0.w", Dtype::BF16, {8, 8}, 1), make_tensor("s0.empty", Dtype::F32, {0}, 2),
      make_tensor("s0.scalar", Dtype::F64, {}, 3)};
  const std::vector<stload::testing::TestTensor> second = {
      make_tensor("s1.w", Dtype::F16, {16}, 4), make_tensor("s1.mine", Dtype::I32, {10}, 5)};
  const auto dir = this->dir_.path() / "sharded";
  std::filesystem::create_directories(dir);
  this->dir_.write("sharded/model-00001-of-00002.safetensors",
                   stload::testing::make_safetensors(first));
  this->dir_.write("sharded/model-00002-of-00002.safetensors",
                   stload::testing::make_safetensors(second));
  const Checkpoint checkpoint = Checkpoint::open(dir);
  LoadOptions options = this->options(
      DeviceMap::from_rules({{"s0", TypeParam::first()}, {"s1", TypeParam::second()}}));
  std::vector<std::int32_t> mine(10, -1);
  options.destinations["s1.mine"] = TensorDestination{TypeParam::first(), mine.data(), 40};
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, options, engine, &stats);
  EXPECT_EQ(stats.tensors_viewed, 4U);
  EXPECT_EQ(model.at("s1.mine").data, mine.data()) << "a destination is copied into, not viewed";
  EXPECT_EQ(std::memcmp(mine.data(), second[1].data.data(), 40), 0);
  EXPECT_EQ(device_of(model, "s1.w"), TypeParam::second());
  EXPECT_EQ(engine->live_buffers(), 0);
  for (const auto& t : first) this->expect_bytes(model.at(t.name), t);
  this->expect_bytes(model.at("s1.w"), second[0]);
  this->expect_read_back(model, checkpoint);
}

TYPED_TEST_P(ZeroCopy, file_truncated_after_open_is_an_io_error_before_any_view) {
  const auto path = this->write("shrunk.safetensors", u8_tensors("t", 4, 64 * kKiB));
  const Checkpoint checkpoint = Checkpoint::open(path);
  std::filesystem::resize_file(path, checkpoint.files()[0].data_offset + 100 * kKiB);
  auto engine = this->engine();
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(), engine)); }),
               ErrorCode::Io, {path.string(), "changed"}));
  EXPECT_EQ(engine->live_buffers(), 0);
  EXPECT_FALSE(engine->open());
}

REGISTER_TYPED_TEST_SUITE_P(ZeroCopy, every_dtype_is_a_view_of_the_file_and_nothing_is_allocated,
                            unaligned_tensors_are_copied_aligned_and_counted,
                            views_outlive_the_checkpoint_and_writes_never_reach_the_file,
                            shards_caller_destinations_and_edge_tensors_mix_with_views,
                            file_truncated_after_open_is_an_io_error_before_any_view);

}  // namespace stload::conformance
