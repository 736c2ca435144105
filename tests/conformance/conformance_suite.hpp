#pragma once
// The conformance suite: one set of test bodies that every engine configuration must pass. A
// configuration is a type with
//   static std::string unavailable();            // non-empty: why the suite is skipped
//   static constexpr bool kHasCapacity;          // engine(capacity) honours per-device capacity
//   static std::shared_ptr<CopyEngine> engine(const std::map<Device, std::uint64_t>& capacity);
//   static void configure(LoadOptions&);         // direct / read method of the configuration
//   static Device first(), second();             // two devices the engine serves
//   static Device unserved();                    // a device the engine does not serve
// Each binary instantiates the suite for its configurations (test_conformance_cpu.cpp here,
// tests/cuda/test_conformance_cuda.cpp for the GPU).

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/counting_engine.hpp"
#include "support/o_direct.hpp"

namespace stload::conformance {

using stload::testing::CountingEngine;
using stload::testing::Faults;
using stload::testing::TestTensor;

template <class Config>
class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = Config::unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
  }

  // Small chunks and staging, so that even small checkpoints cycle the staging ring.
  [[nodiscard]] static LoadOptions options(DeviceMap map) {
    LoadOptions options;
    options.device_map = std::move(map);
    options.device_map_given = true;
    options.chunk_bytes = 64 * kKiB;
    options.staging_bytes = 256 * kKiB;
    options.reader_threads = 2;
    options.streams = 2;
    Config::configure(options);
    return options;
  }
  [[nodiscard]] static LoadOptions options() { return options(DeviceMap(Config::first())); }

  [[nodiscard]] static std::shared_ptr<CountingEngine> engine(
      Faults faults = {}, const std::map<Device, std::uint64_t>& capacity = {}) {
    return std::make_shared<CountingEngine>(Config::engine(capacity), faults);
  }

  [[nodiscard]] std::filesystem::path write(const std::string& name,
                                            const std::vector<TestTensor>& tensors) const {
    return dir_.write(name, stload::testing::make_safetensors(tensors));
  }

  // Checks that a failed load released every buffer and closed its load on the engine.
  static void expect_released(const CountingEngine& engine) {
    EXPECT_EQ(engine.live_buffers(), 0);
    EXPECT_FALSE(engine.open());
  }

  stload::testing::TempDir dir_;
};

TYPED_TEST_SUITE_P(Conformance);

// --- bytes -----------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, reads_back_the_files_bytes_for_every_dtype) {
  std::vector<TestTensor> tensors;
  std::uint32_t seed = 1;
  for (const Dtype dtype : kAllDtypes) {
    const std::string name(to_string(dtype));
    // 24 and 56 elements: whole bytes for F4 and F6, odd byte counts for the 8-bit types.
    tensors.push_back(make_tensor("even." + name, dtype, {4, 6}, seed++));
    tensors.push_back(make_tensor("odd." + name, dtype, {7, 8}, seed++));
  }
  const auto path = this->write("dtypes.safetensors", tensors);
  const Checkpoint checkpoint = Checkpoint::open(path);
  auto engine = this->engine();
  const LoadedModel model = load(checkpoint, this->options(), engine);
  ASSERT_EQ(model.size(), tensors.size());
  expect_matches_file(model, checkpoint);
  for (const TestTensor& t : tensors) {  // and against the bytes the test wrote, independently
    const TensorView& view = model.at(t.name);
    EXPECT_EQ(to_string(view.dtype), t.dtype);
    std::vector<std::byte> out(view.bytes);
    model.read(view, out);
    EXPECT_EQ(out, t.data) << t.name;
  }
}

TYPED_TEST_P(Conformance, loads_zero_size_and_scalar_tensors) {
  const std::vector<TestTensor> tensors = {make_tensor("a", Dtype::F32, {3}, 1),
                                           make_tensor("empty", Dtype::F32, {0}, 2),
                                           make_tensor("scalar_f64", Dtype::F64, {}, 3),
                                           make_tensor("empty_2d", Dtype::BF16, {3, 0, 2}, 4),
                                           make_tensor("scalar_u8", Dtype::U8, {}, 5),
                                           make_tensor("b", Dtype::I64, {5}, 6),
                                           make_tensor("empty_last", Dtype::U8, {0}, 7)};
  const Checkpoint checkpoint = Checkpoint::open(this->write("edge.safetensors", tensors));
  auto engine = this->engine();
  const LoadedModel model = load(checkpoint, this->options(), engine);
  ASSERT_EQ(model.size(), tensors.size());
  expect_matches_file(model, checkpoint);
  EXPECT_EQ(model.at("empty").bytes, 0U);
  EXPECT_EQ(model.at("empty_2d").shape, (std::vector<std::uint64_t>{3, 0, 2}));
  EXPECT_TRUE(model.at("scalar_f64").shape.empty());
  EXPECT_EQ(model.at("scalar_f64").bytes, 8U);
  EXPECT_EQ(model.at("scalar_u8").bytes, 1U);

  // A model of nothing but empty tensors: zero-byte arenas, nothing to copy.
  const Checkpoint empty =
      Checkpoint::open(this->write("empty.safetensors", {make_tensor("x", Dtype::F16, {0, 4}, 1),
                                                         make_tensor("y", Dtype::U8, {0}, 2)}));
  LoadStats stats;
  const LoadedModel nothing = load(empty, this->options(), engine, &stats);
  ASSERT_EQ(nothing.size(), 2U);
  expect_matches_file(nothing, empty);
  EXPECT_EQ(stats.bytes, 0U);
  EXPECT_EQ(stats.chunks, 0U);
}

TYPED_TEST_P(Conformance, streams_a_tensor_larger_than_the_staging_budget) {
  const std::uint64_t huge = 5 * kMiB + 3;
  const Checkpoint checkpoint = Checkpoint::open(this->write(
      "huge.safetensors",
      {make_tensor("before", Dtype::U8, {1000}, 1), make_tensor("huge", Dtype::U8, {huge}, 2),
       make_tensor("after", Dtype::F32, {1000}, 3)}));
  LoadOptions options = this->options();
  options.staging_bytes = 1 * kMiB;
  options.chunk_bytes = 256 * kKiB;
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, options, engine, &stats);
  expect_matches_file(model, checkpoint);
  EXPECT_GE(stats.chunks, (huge + options.chunk_bytes - 1) / options.chunk_bytes);
  EXPECT_LE(stats.staging_bytes, options.staging_bytes);
  EXPECT_EQ(stats.bytes, checkpoint.total_bytes());
  if (stats.staging_bytes > 0) {
    EXPECT_GE(engine->bytes_copied(), huge);
  }
}

TYPED_TEST_P(Conformance, loads_fifty_thousand_tiny_tensors) {
  GenerateOptions generate_options;
  generate_options.preset = "many-small";
  const auto generated = generate(this->dir_.path() / "many.safetensors", generate_options);
  const Checkpoint checkpoint = Checkpoint::open(generated.path);
  ASSERT_EQ(checkpoint.tensors().size(), 50'000U);
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, this->options(), engine, &stats);
  ASSERT_EQ(model.size(), 50'000U);
  EXPECT_LT(stats.chunks, 1000U) << "small tensors were not coalesced";
  expect_matches_file(model, checkpoint);
}

TYPED_TEST_P(Conformance, loads_every_file_of_a_sharded_checkpoint) {
  GenerateOptions generate_options;
  generate_options.shards = 3;
  generate_options.seed = 7;
  const auto generated = generate(this->dir_.path() / "sharded", generate_options);
  const Checkpoint checkpoint = Checkpoint::open(generated.path);
  ASSERT_EQ(checkpoint.files().size(), 3U);
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, this->options(), engine, &stats);
  ASSERT_EQ(model.size(), checkpoint.tensors().size());
  EXPECT_EQ(stats.bytes, generated.bytes);
  expect_matches_file(model, checkpoint);
}

// --- placement -------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, places_tensors_on_two_devices_by_rule) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  // Interleaved devices, tensors both smaller and larger than a chunk.
  const Checkpoint checkpoint = Checkpoint::open(
      this->write("two.safetensors", {make_tensor("embed.weight", Dtype::BF16, {300, 100}, 1),
                                      make_tensor("layers.0.w", Dtype::F32, {100}, 2),
                                      make_tensor("layers.1.w", Dtype::F32, {50000}, 3),
                                      make_tensor("layers.1.b", Dtype::F32, {7}, 4),
                                      make_tensor("layers.2.w", Dtype::F16, {100}, 5),
                                      make_tensor("head.weight", Dtype::U8, {70000}, 6)}));
  const DeviceMap map =
      DeviceMap::from_rules({{"", first}, {"layers.1", second}, {"head.weight", second}});
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, this->options(map), engine, &stats);
  expect_matches_file(model, checkpoint);
  EXPECT_EQ(device_of(model, "embed.weight"), first);
  EXPECT_EQ(device_of(model, "layers.0.w"), first);
  EXPECT_EQ(device_of(model, "layers.1.w"), second);
  EXPECT_EQ(device_of(model, "layers.1.b"), second);
  EXPECT_EQ(device_of(model, "layers.2.w"), first);
  EXPECT_EQ(device_of(model, "head.weight"), second);
  ASSERT_EQ(stats.device_bytes.size(), 2U);
  std::uint64_t arena_bytes = 0;
  for (const auto& [device, bytes] : stats.device_bytes) {
    EXPECT_TRUE(device == first || device == second) << device.to_string();
    arena_bytes += bytes;
  }
  EXPECT_GE(arena_bytes, checkpoint.total_bytes());
  EXPECT_EQ(engine->live_buffers(), 2);  // the two arenas; staging is gone
}

TYPED_TEST_P(Conformance, filter_loads_only_the_selected_tensors) {
  const Checkpoint checkpoint = Checkpoint::open(this->write(
      "filter.safetensors",
      {make_tensor("a.keep", Dtype::F32, {10}, 1), make_tensor("b.drop", Dtype::F32, {20000}, 2),
       make_tensor("c.keep", Dtype::U8, {70000}, 3), make_tensor("d.drop", Dtype::I8, {5}, 4)}));
  // No rule covers the dropped tensors: a filtered-out tensor needs none.
  LoadOptions options = this->options(
      DeviceMap::from_rules({{"a.keep", TypeParam::first()}, {"c.keep", TypeParam::second()}}));
  std::vector<std::string> asked;
  options.filter = [&asked](std::string_view name) {
    asked.emplace_back(name);
    return name.ends_with(".keep");
  };
  auto engine = this->engine();
  LoadStats stats;
  const LoadedModel model = load(checkpoint, options, engine, &stats);
  ASSERT_EQ(model.size(), 2U);
  EXPECT_EQ(model.find("b.drop"), nullptr);
  EXPECT_EQ(model.find("d.drop"), nullptr);
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(model.at("b.drop")); }),
                       ErrorCode::TensorNotFound, {"b.drop"}));
  EXPECT_EQ(stats.bytes, 40U + 70000U);
  EXPECT_EQ(device_of(model, "c.keep"), TypeParam::second());
  EXPECT_EQ(asked.size(), 4U);
  expect_matches_file(model, checkpoint);
}

TYPED_TEST_P(Conformance, prefix_rules_follow_hugging_face_semantics) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  const Checkpoint checkpoint = Checkpoint::open(
      this->write("prefix.safetensors", {make_tensor("model.layers.1.mlp.w", Dtype::F32, {8}, 1),
                                         make_tensor("model.layers.1.attn.w", Dtype::F32, {8}, 2),
                                         make_tensor("model.layers.10.mlp.w", Dtype::F32, {8}, 3),
                                         make_tensor("model.layers.1", Dtype::F32, {8}, 4),
                                         make_tensor("model.layers.1x.w", Dtype::F32, {8}, 5),
                                         make_tensor("lm_head.weight", Dtype::F32, {8}, 6)}));
  // The textual form, as a caller or the CLI writes it.
  const std::string json = "{\"\": \"" + first.to_string() + "\", \"model.layers.1\": \"" +
                           second.to_string() + "\", \"model.layers.1.mlp.w\": \"" +
                           first.to_string() + "\"}";
  auto engine = this->engine();
  const LoadedModel model = load(checkpoint, this->options(DeviceMap::parse(json)), engine);
  expect_matches_file(model, checkpoint);
  EXPECT_EQ(device_of(model, "model.layers.1.mlp.w"), first) << "exact beats prefix";
  EXPECT_EQ(device_of(model, "model.layers.1.attn.w"), second) << "dotted prefix";
  EXPECT_EQ(device_of(model, "model.layers.10.mlp.w"), first) << "layers.1 is no prefix of 10";
  EXPECT_EQ(device_of(model, "model.layers.1"), second) << "the key itself";
  EXPECT_EQ(device_of(model, "model.layers.1x.w"), first) << "no prefix without a dot";
  EXPECT_EQ(device_of(model, "lm_head.weight"), first) << "\"\" is the default";
}

TYPED_TEST_P(Conformance, auto_map_spills_to_the_next_device_in_file_order) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("auto.safetensors", u8_tensors("t", 8, 64 * kKiB)));
  // Three 64 KiB tensors fit in 200 KiB; the fourth moves on, and so does everything after it.
  const DeviceMap map = DeviceMap::automatic({first, second}, {{first, 200 * kKiB}});
  auto engine = this->engine();
  const LoadedModel model = load(checkpoint, this->options(map), engine);
  expect_matches_file(model, checkpoint);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(device_of(model, "t" + std::to_string(i)), i < 3 ? first : second) << i;
  }
}

TYPED_TEST_P(Conformance, auto_map_spills_when_the_engine_reports_a_small_device) {
  if (!TypeParam::kHasCapacity) GTEST_SKIP() << "this engine's capacity cannot be limited";
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  const std::uint64_t capacity = 1 * kMiB;
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("cap.safetensors", u8_tensors("t", 16, 128 * kKiB)));
  auto engine = this->engine({}, {{first, capacity}});
  LoadStats stats;
  const LoadedModel model =
      load(checkpoint, this->options(DeviceMap::automatic({first, second})), engine, &stats);
  expect_matches_file(model, checkpoint);
  // Some prefix of the file on the small device, the rest on the next one; never back again.
  std::size_t on_first = 0;
  while (on_first < 16 && device_of(model, "t" + std::to_string(on_first)) == first) ++on_first;
  EXPECT_GT(on_first, 0U) << "nothing was placed on the small device";
  EXPECT_LT(on_first, 16U) << "nothing spilled";
  for (std::size_t i = on_first; i < 16; ++i) {
    EXPECT_EQ(device_of(model, "t" + std::to_string(i)), second) << i;
  }
  for (const auto& [device, bytes] : stats.device_bytes) {
    if (device == first) {
      EXPECT_LE(bytes, capacity);
    }
  }
}

// --- errors ----------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, unmapped_tensor_is_invalid_argument_before_any_allocation) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("unmapped.safetensors", {make_tensor("a", Dtype::F32, {4}, 1),
                                                            make_tensor("b", Dtype::F32, {4}, 2)}));
  auto engine = this->engine();
  const auto options = this->options(DeviceMap::from_rules({{"a", TypeParam::first()}}));
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                       ErrorCode::InvalidArgument, {"'b'"}));
  EXPECT_EQ(engine->allocations(), 0U);
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, device_the_engine_does_not_serve_is_invalid_argument) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("unserved.safetensors", {make_tensor("a", Dtype::F32, {4}, 1)}));
  auto engine = this->engine();
  const Device unserved = TypeParam::unserved();
  EXPECT_TRUE(is_error(error_of([&] {
                         static_cast<void>(
                             load(checkpoint, this->options(DeviceMap(unserved)), engine));
                       }),
                       ErrorCode::InvalidArgument, {unserved.to_string()}));
  EXPECT_EQ(engine->allocations(), 0U);
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, model_too_big_for_auto_limits_is_out_of_memory) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  const Checkpoint checkpoint = Checkpoint::open(this->write(
      "toobig.safetensors",
      {make_tensor("small", Dtype::U8, {1024}, 1), make_tensor("big", Dtype::U8, {16 * 1024}, 2)}));
  const DeviceMap map =
      DeviceMap::automatic({first, second}, {{first, 4 * kKiB}, {second, 4 * kKiB}});
  auto engine = this->engine();
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(map), engine)); }),
               ErrorCode::OutOfMemory, {"'big'"}));
  EXPECT_EQ(engine->allocations(), 0U);
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, arena_larger_than_the_device_is_out_of_memory) {
  const Device first = TypeParam::first();
  const Device second = TypeParam::second();
  std::map<Device, std::uint64_t> capacity;
  std::uint64_t big = 0;
  if (TypeParam::kHasCapacity) {
    capacity[first] = 1 * kMiB;
    big = 2 * kMiB;
  } else {  // a real device: a sparse file holding a tensor larger than all its free memory
    big = TypeParam::engine({})->free_memory(first) + (1ULL << 30U);
  }
  const auto path = write_sparse(this->dir_.path() / "sparse.safetensors",
                                 make_tensor("small", Dtype::U8, {4096}, 1), big);
  const Checkpoint checkpoint = Checkpoint::open(path);
  // "small" goes first, so one arena exists when the second allocation fails.
  const DeviceMap map = DeviceMap::from_rules({{"small", second}, {"big", first}});
  auto engine = this->engine({}, capacity);
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(map), engine)); }),
               ErrorCode::OutOfMemory, {first.to_string()}));
  EXPECT_EQ(engine->allocations(), 2U);
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, cancelling_from_the_progress_callback_stops_promptly) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("cancel.safetensors", u8_tensors("t", 16, 64 * kKiB)));
  LoadOptions options = this->options();
  std::atomic<int> calls{0};
  options.progress = [&calls](const Progress&) {
    ++calls;
    return false;
  };
  auto engine = this->engine();
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                       ErrorCode::Cancelled, {"cancelled"}));
  EXPECT_EQ(calls.load(), 1) << "the callback was called again after it cancelled";
  // Progress counts a staged chunk once its copy completed, so when the callback first runs every
  // slot may hold a copy in flight (a direct chunk is reported as soon as it is read); nothing more
  // is started.
  EXPECT_LE(engine->copies(), options.staging_bytes / options.chunk_bytes);
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, auto_read_method_maps_a_cached_file_and_reports_every_choice) {
  const auto path = this->write("cached.safetensors", u8_tensors("t", 6, 512 * kKiB));
  const Checkpoint checkpoint = Checkpoint::open(path);
  {  // read it whole, so that its pages are in the page cache whatever wrote it
    std::ifstream in(path, std::ios::binary);
    std::vector<char> sink(1U << 20U);
    while (in.read(sink.data(), static_cast<std::streamsize>(sink.size()))) {
    }
  }
  struct Case {
    ReadMethod method;
    std::uint64_t by_mmap;
    std::uint64_t by_pread;
    std::uint64_t by_direct;
  };
  // O_DIRECT where the file system takes it; Auto picks it only for cold files (the next test).
  const bool o_direct = stload::testing::o_direct_refused().empty();
  for (const Case c : {Case{ReadMethod::Auto, 1, 0, 0}, Case{ReadMethod::Mmap, 1, 0, 0},
                       Case{ReadMethod::Pread, 0, 1, 0}, Case{ReadMethod::Direct, 0, 0, 1}}) {
    if (c.method == ReadMethod::Direct && !o_direct) continue;
    LoadOptions options = this->options();
    options.read_method = c.method;
    LoadStats stats;
    auto engine = this->engine();
    const LoadedModel model = load(checkpoint, options, engine, &stats);
    EXPECT_EQ(stats.files_read_by_mmap, c.by_mmap) << static_cast<int>(c.method);
    EXPECT_EQ(stats.files_read_by_pread, c.by_pread) << static_cast<int>(c.method);
    EXPECT_EQ(stats.files_read_by_direct, c.by_direct) << static_cast<int>(c.method);
    EXPECT_EQ(stats.files_direct_fallback, 0U) << static_cast<int>(c.method);
    expect_matches_file(model, checkpoint);
  }
}

TYPED_TEST_P(Conformance, auto_read_method_reads_an_evicted_file_with_o_direct) {
  if (const std::string why = stload::testing::o_direct_refused(); !why.empty())
    GTEST_SKIP() << why;
  const auto path = this->write("cold.safetensors", u8_tensors("t", 6, 512 * kKiB));
  const Checkpoint checkpoint = Checkpoint::open(path);
  if (!stload::testing::evict_from_page_cache(path)) {
    GTEST_SKIP() << "could not evict " << path << " from the page cache";
  }
  LoadOptions options = this->options();
  options.read_method = ReadMethod::Auto;
  LoadStats stats;
  auto engine = this->engine();
  const LoadedModel model = load(checkpoint, options, engine, &stats);
  EXPECT_EQ(stats.files_read_by_direct, 1U);
  EXPECT_EQ(stats.files_read_by_mmap + stats.files_read_by_pread, 0U);
  expect_matches_file(model, checkpoint);
}

TYPED_TEST_P(Conformance, file_truncated_after_open_is_an_io_error_naming_the_file) {
  // Every read method: the shrunken file is refused before its mapping is touched (reading past
  // the end of a mapping would raise SIGBUS instead).
  for (const ReadMethod method : {ReadMethod::Pread, ReadMethod::Mmap, ReadMethod::Direct}) {
    if (method == ReadMethod::Direct && !stload::testing::o_direct_refused().empty()) continue;
    const auto path = this->write("truncated.safetensors", u8_tensors("t", 8, 64 * kKiB));
    const Checkpoint checkpoint = Checkpoint::open(path);
    std::filesystem::resize_file(path, checkpoint.files()[0].data_offset + 100 * kKiB);
    LoadOptions options = this->options();
    options.read_method = method;
    auto engine = this->engine();
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         ErrorCode::Io, {path.string()}));
    this->expect_released(*engine);
  }
}

TYPED_TEST_P(Conformance, file_truncated_during_the_load_is_an_io_error_with_pread) {
  const auto path = this->write("shrinking.safetensors", u8_tensors("t", 8, 64 * kKiB));
  const Checkpoint checkpoint = Checkpoint::open(path);
  const std::uint64_t keep = checkpoint.files()[0].data_offset + 64 * kKiB;
  LoadOptions options = this->options();
  options.read_method = ReadMethod::Pread;  // a mapping would fault (SIGBUS), not fail cleanly
  // Truncated once the first chunk is in: later chunks meet the end of the file.
  options.progress = [&path, keep, done = false](const Progress&) mutable {
    if (!done) std::filesystem::resize_file(path, keep);
    done = true;
    return true;
  };
  auto engine = this->engine();
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                       ErrorCode::Io, {path.string()}));
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, file_truncated_during_the_load_is_an_io_error_with_o_direct) {
  if (const std::string why = stload::testing::o_direct_refused(); !why.empty())
    GTEST_SKIP() << why;
  const auto path = this->write("shrinking.safetensors", u8_tensors("t", 8, 64 * kKiB));
  const Checkpoint checkpoint = Checkpoint::open(path);
  const std::uint64_t keep = checkpoint.files()[0].data_offset + 64 * kKiB;
  LoadOptions options = this->options();
  options.read_method = ReadMethod::Direct;
  // Truncated once the first chunk is in: later chunks meet the end of the file.
  options.progress = [&path, keep, done = false](const Progress&) mutable {
    if (!done) std::filesystem::resize_file(path, keep);
    done = true;
    return true;
  };
  auto engine = this->engine();
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                       ErrorCode::Io, {path.string()}));
  this->expect_released(*engine);
}

TYPED_TEST_P(Conformance, staging_budget_smaller_than_a_chunk_is_invalid_argument) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("staging.safetensors", u8_tensors("t", 4, 64 * kKiB)));
  LoadOptions options = this->options();
  options.chunk_bytes = 256 * kKiB;
  options.staging_bytes = 128 * kKiB;
  auto engine = this->engine();
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                       ErrorCode::InvalidArgument, {"staging"}));
  EXPECT_EQ(engine->allocations(), 0U);
  this->expect_released(*engine);
}

// --- progress and ownership ------------------------------------------------------------------

TYPED_TEST_P(Conformance, progress_is_monotone_and_ends_at_the_totals) {
  GenerateOptions generate_options;
  generate_options.shards = 3;
  const auto generated = generate(this->dir_.path() / "progress", generate_options);
  const Checkpoint checkpoint = Checkpoint::open(generated.path);
  std::vector<std::uint64_t> file_total(checkpoint.files().size(), 0);
  for (const TensorRecord& t : checkpoint.tensors()) file_total[t.file] += t.bytes();

  std::mutex mutex;
  std::vector<Progress> seen;
  LoadOptions options = this->options();
  options.progress = [&](const Progress& p) {
    const std::lock_guard lock(mutex);
    seen.push_back(p);
    return true;
  };
  auto engine = this->engine();
  const LoadedModel model = load(checkpoint, options, engine);
  ASSERT_FALSE(seen.empty());
  std::vector<std::uint64_t> file_last(file_total.size(), 0);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const Progress& p = seen[i];
    EXPECT_EQ(p.bytes_total, checkpoint.total_bytes());
    if (i > 0) {
      EXPECT_GT(p.bytes_done, seen[i - 1].bytes_done) << i;
    }
    ASSERT_LT(p.file, file_total.size());
    EXPECT_EQ(p.file_bytes_total, file_total[p.file]) << "file " << p.file;
    EXPECT_GT(p.file_bytes_done, file_last[p.file]) << "file " << p.file;
    EXPECT_LE(p.file_bytes_done, p.file_bytes_total);
    file_last[p.file] = p.file_bytes_done;
  }
  EXPECT_EQ(seen.back().bytes_done, checkpoint.total_bytes());
  EXPECT_EQ(file_last, file_total) << "some file never reported its last bytes";
}

TYPED_TEST_P(Conformance, arenas_live_until_the_last_model_copy_is_gone) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("own.safetensors", {make_tensor("a", Dtype::F32, {100}, 1),
                                                       make_tensor("b", Dtype::F32, {100}, 2)}));
  auto engine = this->engine();
  const DeviceMap map =
      DeviceMap::from_rules({{"a", TypeParam::first()}, {"b", TypeParam::second()}});
  std::optional<LoadedModel> model(load(checkpoint, this->options(map), engine));
  EXPECT_EQ(engine->live_buffers(), 2);
  std::optional<LoadedModel> copy(*model);
  model.reset();
  EXPECT_EQ(engine->live_buffers(), 2);
  expect_matches_file(*copy, checkpoint);
  copy.reset();
  EXPECT_EQ(engine->live_buffers(), 0);
}

// --- injected failures: whatever fails, nothing leaks ------------------------------------------

TYPED_TEST_P(Conformance, failed_allocation_releases_everything) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("alloc.safetensors", u8_tensors("t", 8, 64 * kKiB)));
  LoadOptions options =
      this->options(DeviceMap::from_rules({{"", TypeParam::first()}, {"t3", TypeParam::second()}}));
  options.direct = false;  // two arenas and a staging ring: three allocations
  for (std::size_t n = 1; n <= 3; ++n) {
    auto engine = this->engine(Faults{n, 0, 0});
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         ErrorCode::OutOfMemory, {CountingEngine::injected("allocation", n)}))
        << "allocation " << n;
    this->expect_released(*engine);
  }
  auto engine = this->engine(Faults{4, 0, 0});  // past the last allocation: the load succeeds
  const LoadedModel model = load(checkpoint, options, engine);
  EXPECT_EQ(engine->allocations(), 3U);
  expect_matches_file(model, checkpoint);
}

TYPED_TEST_P(Conformance, failed_copy_releases_everything) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("copy.safetensors", u8_tensors("t", 8, 64 * kKiB)));
  LoadOptions options = this->options();
  options.direct = false;  // every chunk goes through copy_async
  for (const std::size_t n : {1U, 4U, 8U}) {
    auto engine = this->engine(Faults{0, n, 0});
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         ErrorCode::Io, {CountingEngine::injected("copy", n)}))
        << "copy " << n;
    this->expect_released(*engine);
  }
}

TYPED_TEST_P(Conformance, failed_wait_releases_everything) {
  const Checkpoint checkpoint =
      Checkpoint::open(this->write("wait.safetensors", u8_tensors("t", 8, 64 * kKiB)));
  LoadOptions options = this->options();
  options.direct = false;  // 8 chunks through 4 slots: waits on reuse and at the end
  for (const std::size_t n : {1U, 3U}) {
    auto engine = this->engine(Faults{0, 0, n});
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         ErrorCode::Io, {CountingEngine::injected("wait", n)}))
        << "wait " << n;
    this->expect_released(*engine);
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    Conformance, reads_back_the_files_bytes_for_every_dtype, loads_zero_size_and_scalar_tensors,
    streams_a_tensor_larger_than_the_staging_budget, loads_fifty_thousand_tiny_tensors,
    loads_every_file_of_a_sharded_checkpoint, places_tensors_on_two_devices_by_rule,
    filter_loads_only_the_selected_tensors, prefix_rules_follow_hugging_face_semantics,
    auto_map_spills_to_the_next_device_in_file_order,
    auto_map_spills_when_the_engine_reports_a_small_device,
    unmapped_tensor_is_invalid_argument_before_any_allocation,
    device_the_engine_does_not_serve_is_invalid_argument,
    model_too_big_for_auto_limits_is_out_of_memory, arena_larger_than_the_device_is_out_of_memory,
    cancelling_from_the_progress_callback_stops_promptly,
    auto_read_method_maps_a_cached_file_and_reports_every_choice,
    auto_read_method_reads_an_evicted_file_with_o_direct,
    file_truncated_after_open_is_an_io_error_naming_the_file,
    file_truncated_during_the_load_is_an_io_error_with_pread,
    file_truncated_during_the_load_is_an_io_error_with_o_direct,
    staging_budget_smaller_than_a_chunk_is_invalid_argument,
    progress_is_monotone_and_ends_at_the_totals, arenas_live_until_the_last_model_copy_is_gone,
    failed_allocation_releases_everything, failed_copy_releases_everything,
    failed_wait_releases_everything);

}  // namespace stload::conformance
