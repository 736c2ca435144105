#pragma once
// Tensor-parallel parts (LoadOptions::tensor_parallel) on every engine configuration: each rank's
// part of a tensor split on dim 0, an inner dim, or by explicit bounds equals the slice of the
// reference tensor, computed here element by element; only the part's bytes are read; a
// dimension the world does not divide is refused naming the tensor before anything is allocated.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/counting_engine.hpp"
#include "support/region_reference.hpp"

namespace stload::conformance {

using stload::testing::Bounds;
using stload::testing::reference_region;

template <class Config>
class TensorParallelParts : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = Config::unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
  }

  [[nodiscard]] static LoadOptions options(TensorParallel tp) {
    LoadOptions options = suite_options<Config>(DeviceMap(Config::first()));
    options.tensor_parallel = std::move(tp);
    return options;
  }

  [[nodiscard]] static std::shared_ptr<stload::testing::CountingEngine> engine() {
    return std::make_shared<stload::testing::CountingEngine>(Config::engine({}));
  }

  // Loads `tp`'s part and checks each tensor against reference_region of the written data.
  void expect_parts(const std::vector<stload::testing::TestTensor>& tensors,
                    const TensorParallel& tp, const std::vector<Bounds>& expected,
                    bool zero_copy = false) {
    const Checkpoint checkpoint =
        Checkpoint::open(dir_.write("tp-" + std::to_string(counter_++) + ".safetensors",
                                    stload::testing::make_safetensors(tensors)));
    LoadStats stats;
    LoadOptions load_options = options(tp);
    load_options.zero_copy = zero_copy;
    const LoadedModel model = load(checkpoint, load_options, engine(), &stats);
    if (zero_copy && Config::first().kind == DeviceKind::Cpu) {
      EXPECT_GT(stats.tensors_viewed, 0U) << "dim-0 parts on the CPU are views";
    }
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const TestTensor& t = tensors[i];
      const TensorView& view = model.at(t.name);
      const std::uint64_t element = bit_size(view.dtype) / 8;
      std::vector<std::uint64_t> shape;
      for (const auto& [b, e] : expected[i]) shape.push_back(e - b);
      EXPECT_EQ(view.shape, shape) << t.name << " rank " << tp.rank;
      std::vector<std::byte> out(view.bytes);
      model.read(view, out);
      EXPECT_EQ(out, reference_region(t.data, t.shape, element, expected[i]))
          << t.name << " rank " << tp.rank << " of " << tp.world;
      bytes += view.bytes;
    }
    EXPECT_EQ(stats.bytes, bytes);
  }

  stload::testing::TempDir dir_;
  int counter_ = 0;
};

TYPED_TEST_SUITE_P(TensorParallelParts);

TYPED_TEST_P(TensorParallelParts, every_rank_gets_its_slice_of_dim_0_an_inner_dim_and_3d) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("model.layers.0.self_attn.q_proj.weight", Dtype::BF16, {8, 12}, 1),
      make_tensor("model.layers.0.self_attn.q_proj.bias", Dtype::BF16, {8}, 2),
      make_tensor("model.layers.0.self_attn.o_proj.weight", Dtype::F32, {12, 8}, 3),
      make_tensor("model.layers.0.input_layernorm.weight", Dtype::F32, {12}, 4),
      make_tensor("experts.w", Dtype::F16, {4, 8, 6}, 5),
      make_tensor("experts.v", Dtype::U8, {3, 4, 16}, 6)};
  for (const std::uint64_t world : {1U, 2U, 4U}) {
    for (std::uint64_t rank = 0; rank < world; ++rank) {
      TensorParallel tp;
      tp.rank = rank;
      tp.world = world;
      tp.split = split_rule_set("llama");
      tp.split.emplace_back("experts.w", 1);
      tp.split.emplace_back("experts.v", 2);
      const auto part = [&](std::uint64_t n) {
        return std::pair<std::uint64_t, std::uint64_t>{rank * n / world, (rank + 1) * n / world};
      };
      this->expect_parts(tensors, tp,
                         {{part(8), {0, 12}},
                          {part(8)},
                          {{0, 12}, part(8)},
                          {{0, 12}},
                          {{0, 4}, part(8), {0, 6}},
                          {{0, 3}, {0, 4}, part(16)}});
    }
  }
}

TYPED_TEST_P(TensorParallelParts, dim_0_parts_are_zero_copy_views_of_the_parts_bytes) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("rows", Dtype::F32, {8, 16}, 1), make_tensor("cols", Dtype::BF16, {4, 8}, 2)};
  for (std::uint64_t rank = 0; rank < 4; ++rank) {
    TensorParallel tp;
    tp.rank = rank;
    tp.world = 4;
    tp.split = {{"rows", 0}, {"cols", 1}};
    this->expect_parts(tensors, tp,
                       {{{2 * rank, 2 * rank + 2}, {0, 16}}, {{0, 4}, {2 * rank, 2 * rank + 2}}},
                       true);
  }
}

TYPED_TEST_P(TensorParallelParts, explicit_bounds_win_and_take_any_region) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("a", Dtype::F32, {5, 7, 3}, 1), make_tensor("b", Dtype::I64, {9}, 2),
      make_tensor("c", Dtype::BF16, {4, 4}, 3)};
  TensorParallel tp;
  tp.world = 2;
  tp.rank = 1;
  tp.split = {{"a", 0}, {"c", 0}};
  tp.bounds["a"] = {{1, 4}, {2, 7}, {1, 2}};
  tp.bounds["b"] = {{3, 3}};  // empty part
  this->expect_parts(tensors, tp, {{{1, 4}, {2, 7}, {1, 2}}, {{3, 3}}, {{2, 4}, {0, 4}}});
}

TYPED_TEST_P(TensorParallelParts, only_the_parts_bytes_are_read) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("rows", Dtype::U8, {64, 1024}, 1), make_tensor("cols", Dtype::U8, {64, 1024}, 2)};
  const Checkpoint checkpoint = Checkpoint::open(
      this->dir_.write("read.safetensors", stload::testing::make_safetensors(tensors)));
  TensorParallel tp;
  tp.world = 4;
  tp.rank = 3;
  tp.split = {{"rows", 0}, {"cols", 1}};
  PlanOptions plan_options;
  plan_options.device_map = DeviceMap(TypeParam::first());
  plan_options.tensor_parallel = tp;
  const LoadPlan plan = make_plan(checkpoint, plan_options);
  EXPECT_EQ(plan.source_bytes, 2U * 64 * 1024 / 4);
  EXPECT_EQ(plan.tensors[0].sources.size(), 1U) << "a dim-0 part is one run";
  EXPECT_EQ(plan.tensors[1].sources.size(), 64U) << "a dim-1 part is one run per row";
}

TYPED_TEST_P(TensorParallelParts, an_uneven_split_is_refused_naming_the_tensor_before_allocating) {
  const std::vector<stload::testing::TestTensor> tensors = {
      make_tensor("lm_head.weight", Dtype::BF16, {10, 4}, 1)};
  const Checkpoint checkpoint = Checkpoint::open(
      this->dir_.write("uneven.safetensors", stload::testing::make_safetensors(tensors)));
  auto engine = this->engine();
  TensorParallel tp;
  tp.world = 4;
  tp.split = split_rule_set("llama");
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(tp), engine)); }),
               ErrorCode::InvalidArgument, {"lm_head.weight", "size 10", "4 equal parts"}));
  EXPECT_EQ(engine->live_buffers(), 0);
  tp.split = {{"lm_head", 2}};
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(tp), engine)); }),
               ErrorCode::InvalidArgument, {"lm_head.weight", "no dim 2"}));
  tp.split = {{"lm_head", 0}};
  tp.rank = 4;
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(tp), engine)); }),
               ErrorCode::InvalidArgument, {"rank 4 of world 4"}));
  tp.rank = 0;
  tp.bounds["lm_head.weight"] = {{0, 11}, {0, 4}};
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(tp), engine)); }),
               ErrorCode::InvalidArgument, {"lm_head.weight", "[0, 11)"}));
  tp.bounds.clear();
  tp.bounds["missing"] = {{0, 1}};
  EXPECT_TRUE(
      is_error(error_of([&] { static_cast<void>(load(checkpoint, this->options(tp), engine)); }),
               ErrorCode::InvalidArgument, {"missing"}));
  EXPECT_EQ(engine->live_buffers(), 0);
}

REGISTER_TYPED_TEST_SUITE_P(TensorParallelParts,
                            every_rank_gets_its_slice_of_dim_0_an_inner_dim_and_3d,
                            dim_0_parts_are_zero_copy_views_of_the_parts_bytes,
                            explicit_bounds_win_and_take_any_region, only_the_parts_bytes_are_read,
                            an_uneven_split_is_refused_naming_the_tensor_before_allocating);

}  // namespace stload::conformance
