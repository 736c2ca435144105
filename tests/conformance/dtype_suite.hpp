#pragma once
// Dtype conversion during the load (LoadOptions::dtype) on every engine configuration that
// converts: each loaded tensor equals convert_elements applied to its file bytes (the element
// rules are tested exhaustively on their own), copied tensors beside them stay the file's bytes,
// rules win over `floats`, refused conversions fail before anything is allocated, a
// tensor-parallel part converts to what slicing and then converting gives, and conversions land
// on the second device of a two-device map as on the first (CUDA: another GPU, or host memory).

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "cpu/convert_elements.hpp"
#include "support/counting_engine.hpp"
#include "support/region_reference.hpp"

namespace stload::conformance {

template <class Config>
class DtypeConversionLoads : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = Config::unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
  }

  [[nodiscard]] static LoadOptions options(DtypeConversion dtype) {
    LoadOptions options = suite_options<Config>(DeviceMap(Config::first()));
    options.dtype = std::move(dtype);
    return options;
  }

  [[nodiscard]] static std::shared_ptr<stload::testing::CountingEngine> engine() {
    return std::make_shared<stload::testing::CountingEngine>(Config::engine({}));
  }

  Checkpoint open(const std::vector<stload::testing::TestTensor>& tensors) {
    return Checkpoint::open(dir_.write("dtype-" + std::to_string(counter_++) + ".safetensors",
                                       stload::testing::make_safetensors(tensors)));
  }

  // What `bytes` of `from` become as `to`, by the CPU element loop.
  [[nodiscard]] static std::vector<std::byte> converted(Dtype from, Dtype to,
                                                        const std::vector<std::byte>& bytes) {
    const std::uint64_t count = bytes.size() / (bit_size(from) / 8);
    std::vector<std::byte> out(count * (bit_size(to) / 8));
    detail::convert_elements(from, to, bytes.data(), out.data(), count);
    return out;
  }

  // The loaded tensor `name`: its dtype, shape and bytes.
  static void expect_tensor(const LoadedModel& model, const stload::testing::TestTensor& t,
                            Dtype dtype, const std::vector<std::byte>& bytes) {
    const TensorView& view = model.at(t.name);
    EXPECT_EQ(view.dtype, dtype) << t.name;
    EXPECT_EQ(view.shape, t.shape) << t.name;
    EXPECT_EQ(view.bytes, bytes.size()) << t.name;
    std::vector<std::byte> out(view.bytes);
    model.read(view, out);
    EXPECT_TRUE(out == bytes) << t.name << " as " << to_string(dtype);
  }

  stload::testing::TempDir dir_;
  int counter_ = 0;
};

TYPED_TEST_SUITE_P(DtypeConversionLoads);

TYPED_TEST_P(DtypeConversionLoads, each_pair_equals_convert_elements_of_the_file_bytes) {
  struct Case {
    Dtype from;
    Dtype to;
  };
  const std::vector<Case> cases = {{Dtype::BF16, Dtype::F16}, {Dtype::BF16, Dtype::F32},
                                   {Dtype::F16, Dtype::F32},  {Dtype::F32, Dtype::BF16},
                                   {Dtype::F64, Dtype::F32},  {Dtype::F8_E4M3, Dtype::BF16}};
  std::vector<stload::testing::TestTensor> tensors;
  DtypeConversion dtype;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string name = "t" + std::to_string(i);
    // A small tensor sharing nothing, and one spanning several 64 KiB chunks (an odd size).
    tensors.push_back(
        make_tensor(name + ".small", cases[i].from, {3, 5}, static_cast<std::uint32_t>(10 + i)));
    tensors.push_back(
        make_tensor(name + ".big", cases[i].from, {131, 257}, static_cast<std::uint32_t>(20 + i)));
    dtype.rules.emplace_back(name, cases[i].to);
  }
  const Checkpoint checkpoint = this->open(tensors);
  LoadStats stats;
  const LoadedModel model = load(checkpoint, this->options(dtype), this->engine(), &stats);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Case& c = cases[i / 2];
    const auto expected = this->converted(c.from, c.to, tensors[i].data);
    this->expect_tensor(model, tensors[i], c.to, expected);
    bytes += expected.size();
  }
  EXPECT_EQ(stats.bytes, bytes) << "the loaded bytes are the outputs'";
  // The load's GB/s (the CLI's figure, issue 15's benchmark) counts output bytes, not file bytes.
  ASSERT_GT(stats.copy_seconds, 0);
  EXPECT_DOUBLE_EQ(stats.gigabytes_per_second(),
                   static_cast<double>(bytes) / stats.copy_seconds / 1e9);
}

TYPED_TEST_P(DtypeConversionLoads, converted_and_copied_tensors_share_a_load) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("w", Dtype::BF16, {64, 96}, 1), make_tensor("ids", Dtype::I32, {17}, 2),
      make_tensor("mask", Dtype::BOOL, {9}, 3),   make_tensor("f", Dtype::F32, {33}, 4),
      make_tensor("packed", Dtype::U8, {300}, 5), make_tensor("h", Dtype::F16, {70, 70}, 6)};
  const Checkpoint checkpoint = this->open(tensors);
  for (const bool zero_copy : {false, true}) {
    LoadOptions options = this->options({Dtype::F32, {}});
    options.zero_copy = zero_copy;
    LoadStats stats;
    const LoadedModel model = load(checkpoint, options, this->engine(), &stats);
    this->expect_tensor(model, tensors[0], Dtype::F32,
                        this->converted(Dtype::BF16, Dtype::F32, tensors[0].data));
    this->expect_tensor(model, tensors[1], Dtype::I32, tensors[1].data);
    this->expect_tensor(model, tensors[2], Dtype::BOOL, tensors[2].data);
    this->expect_tensor(model, tensors[3], Dtype::F32, tensors[3].data);
    this->expect_tensor(model, tensors[4], Dtype::U8, tensors[4].data);
    this->expect_tensor(model, tensors[5], Dtype::F32,
                        this->converted(Dtype::F16, Dtype::F32, tensors[5].data));
    if (zero_copy && TypeParam::first().kind == DeviceKind::Cpu) {
      // The copied tensors are views (or copies where their offset is unaligned), the converted
      // ones never.
      EXPECT_EQ(stats.tensors_viewed + stats.tensors_copied_unaligned, 4U);
    }
  }
}

TYPED_TEST_P(DtypeConversionLoads, rules_win_over_floats) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("model.embed", Dtype::F32, {40, 8}, 1),
      make_tensor("model.layers.0.w", Dtype::F32, {16, 16}, 2),
      make_tensor("model.layers.0.norm", Dtype::BF16, {16}, 3),
      make_tensor("lm_head", Dtype::F32, {8, 8}, 4)};
  const Checkpoint checkpoint = this->open(tensors);
  DtypeConversion dtype;
  dtype.floats = Dtype::BF16;
  dtype.rules = {{"model.layers.*.norm", Dtype::F32}, {"lm_head", Dtype::F32}};
  const LoadedModel model = load(checkpoint, this->options(dtype), this->engine());
  this->expect_tensor(model, tensors[0], Dtype::BF16,
                      this->converted(Dtype::F32, Dtype::BF16, tensors[0].data));
  this->expect_tensor(model, tensors[1], Dtype::BF16,
                      this->converted(Dtype::F32, Dtype::BF16, tensors[1].data));
  this->expect_tensor(model, tensors[2], Dtype::F32,
                      this->converted(Dtype::BF16, Dtype::F32, tensors[2].data));
  this->expect_tensor(model, tensors[3], Dtype::F32, tensors[3].data);  // a rule to itself
}

TYPED_TEST_P(DtypeConversionLoads, refused_conversions_fail_before_anything_is_allocated) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("w", Dtype::BF16, {4, 4}, 1), make_tensor("ids", Dtype::I64, {4}, 2),
      make_tensor("q", Dtype::F4, {8}, 3)};
  const Checkpoint checkpoint = this->open(tensors);
  const auto engine = this->engine();
  const auto refused = [&](DtypeConversion dtype, std::initializer_list<std::string_view> words) {
    EXPECT_TRUE(is_error(
        error_of([&] { static_cast<void>(load(checkpoint, this->options(dtype), engine)); }),
        ErrorCode::InvalidArgument, words));
  };
  refused({std::nullopt, {{"ids", Dtype::F32}}}, {"'ids'", "I64", "F32"});
  refused({std::nullopt, {{"q", Dtype::BF16}}}, {"'q'", "F4", "BF16"});
  refused({Dtype::F8_E5M2, {}}, {"'w'", "BF16", "F8_E5M2"});
  refused({Dtype::I8, {}}, {"'w'", "BF16", "I8"});
  EXPECT_EQ(engine->allocations(), 0U);
  EXPECT_EQ(engine->live_buffers(), 0);
  // `floats` never reaches the integer and sub-byte tensors: this load is fine.
  const LoadedModel model = load(checkpoint, this->options({Dtype::F16, {}}), engine);
  this->expect_tensor(model, tensors[1], Dtype::I64, tensors[1].data);
  this->expect_tensor(model, tensors[2], Dtype::F4, tensors[2].data);
}

TYPED_TEST_P(DtypeConversionLoads, a_tensor_parallel_part_converts_to_the_converted_slice) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("o_proj", Dtype::BF16, {96, 128}, 1),  // dim 1: one run per row
      make_tensor("q_proj", Dtype::F16, {64, 40}, 2)};   // dim 0: one run
  const Checkpoint checkpoint = this->open(tensors);
  for (std::uint64_t rank = 0; rank < 2; ++rank) {
    LoadOptions options = this->options({Dtype::F32, {}});
    options.tensor_parallel.world = 2;
    options.tensor_parallel.rank = rank;
    options.tensor_parallel.split = {{"o_proj", 1}, {"q_proj", 0}};
    const LoadedModel model = load(checkpoint, options, this->engine());
    const auto expect_part = [&](const stload::testing::TestTensor& t, Dtype from,
                                 const stload::testing::Bounds& bounds) {
      const auto slice =
          stload::testing::reference_region(t.data, t.shape, bit_size(from) / 8, bounds);
      const TensorView& view = model.at(t.name);
      EXPECT_EQ(view.dtype, Dtype::F32);
      std::vector<std::byte> out(view.bytes);
      model.read(view, out);
      EXPECT_TRUE(out == this->converted(from, Dtype::F32, slice)) << t.name << " rank " << rank;
    };
    expect_part(tensors[0], Dtype::BF16, {{0, 96}, {rank * 64, rank * 64 + 64}});
    expect_part(tensors[1], Dtype::F16, {{rank * 32, rank * 32 + 32}, {0, 40}});
  }
}

TYPED_TEST_P(DtypeConversionLoads, conversions_land_on_both_devices_of_a_two_device_map) {
  // Big tensors on both devices, so their chunks interleave through the same staging slots.
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("a.w", Dtype::BF16, {160, 200}, 1), make_tensor("b.w", Dtype::F16, {150, 210}, 2),
      make_tensor("a.f", Dtype::F32, {90, 100}, 3),   make_tensor("b.f", Dtype::F64, {50, 70}, 4),
      make_tensor("b.q", Dtype::F8_E5M2, {300}, 5),   make_tensor("a.ids", Dtype::I32, {40}, 6)};
  const Checkpoint checkpoint = this->open(tensors);
  LoadOptions options = this->options(
      {std::nullopt,
       {{"*.w", Dtype::F32}, {"a.f", Dtype::F16}, {"b.f", Dtype::BF16}, {"b.q", Dtype::F16}}});
  options.device_map =
      DeviceMap::from_rules({{"a", TypeParam::first()}, {"b", TypeParam::second()}});
  const LoadedModel model = load(checkpoint, options, this->engine());
  EXPECT_EQ(model.at("a.w").device, TypeParam::first());
  EXPECT_EQ(model.at("b.w").device, TypeParam::second());
  const Dtype from[] = {Dtype::BF16, Dtype::F16, Dtype::F32, Dtype::F64, Dtype::F8_E5M2};
  const Dtype to[] = {Dtype::F32, Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F16};
  for (std::size_t i = 0; i < 5; ++i) {
    this->expect_tensor(model, tensors[i], to[i], this->converted(from[i], to[i], tensors[i].data));
  }
  this->expect_tensor(model, tensors[5], Dtype::I32, tensors[5].data);
}

REGISTER_TYPED_TEST_SUITE_P(DtypeConversionLoads,
                            each_pair_equals_convert_elements_of_the_file_bytes,
                            converted_and_copied_tensors_share_a_load, rules_win_over_floats,
                            refused_conversions_fail_before_anything_is_allocated,
                            a_tensor_parallel_part_converts_to_the_converted_slice,
                            conversions_land_on_both_devices_of_a_two_device_map);

}  // namespace stload::conformance
