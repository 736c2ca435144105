// Plans with dtype conversion (PlanOptions::dtype): output specs, Convert chunks and refusals.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/plan.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;
using testing::throws_error;

TestTensor tensor(std::string name, std::string dtype, std::vector<std::uint64_t> shape,
                  std::size_t element) {
  std::uint64_t count = 1;
  for (auto d : shape) count *= d;
  return {std::move(name), std::move(dtype), shape,
          pattern_bytes(static_cast<std::size_t>(count * element), 3)};
}

class PlanDtype : public ::testing::Test {
 protected:
  Checkpoint open() {
    return Checkpoint::open(dir_.write(
        "m.safetensors",
        make_safetensors({tensor("a.weight", "BF16", {4, 8}, 2), tensor("a.ids", "I32", {5}, 4),
                          tensor("b.weight", "F32", {3, 5}, 4), tensor("b.flag", "BOOL", {2}, 1),
                          tensor("c.scale", "F8_E8M0", {4}, 1)})));
  }
  static PlanOptions options(DtypeConversion dtype, std::uint64_t chunk = 256) {
    PlanOptions o;
    o.chunk_bytes = chunk;
    o.dtype = std::move(dtype);
    return o;
  }
  static const PlannedTensor& find(const LoadPlan& plan, const std::string& name) {
    for (const auto& t : plan.tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no " + name);
  }
  TempDir dir_;
};

TEST_F(PlanDtype, floats_converts_floating_tensors_only_and_scales_their_output) {
  const Checkpoint ckpt = open();
  const LoadPlan plan = make_plan(ckpt, options({Dtype::F32, {}}));
  EXPECT_EQ(plan.converted_tensors, 1U);  // a.weight; b.weight is F32 already
  const PlannedTensor& a = find(plan, "a.weight");
  EXPECT_EQ(a.output.dtype, Dtype::F32);
  EXPECT_EQ(a.output.bytes, 4U * 8U * 4U);
  EXPECT_EQ(a.output.shape, (std::vector<std::uint64_t>{4, 8}));
  EXPECT_EQ(find(plan, "a.ids").output.dtype, Dtype::I32);
  EXPECT_EQ(find(plan, "b.flag").output.dtype, Dtype::BOOL);
  EXPECT_EQ(find(plan, "c.scale").output.dtype, Dtype::F8_E8M0);
  EXPECT_EQ(plan.source_bytes, ckpt.total_bytes());
  std::uint64_t converted_pieces = 0;
  for (const Chunk& chunk : plan.chunks) {
    if (chunk.action != ChunkAction::Convert) continue;
    EXPECT_EQ(chunk.from, Dtype::BF16);
    EXPECT_EQ(chunk.to, Dtype::F32);
    EXPECT_LE(chunk.bytes, plan.chunk_bytes);
    for (std::size_t p = chunk.first_piece; p < chunk.first_piece + chunk.piece_count; ++p) {
      const Piece& piece = plan.pieces[p];
      EXPECT_EQ(piece.destination_offset,
                a.arena_offset + (piece.file_offset - a.sources[0].file_offset) * 2);
      converted_pieces += piece.bytes;
    }
  }
  EXPECT_EQ(converted_pieces, 4U * 8U * 2U);
}

TEST_F(PlanDtype, rules_win_over_floats_and_same_dtype_is_a_copy) {
  const Checkpoint ckpt = open();
  const LoadPlan plan =
      make_plan(ckpt, options({Dtype::F16, {{"a.weight", Dtype::BF16}, {"b.weight", Dtype::F64}}}));
  EXPECT_EQ(find(plan, "a.weight").output.dtype, Dtype::BF16);
  EXPECT_EQ(find(plan, "b.weight").output.dtype, Dtype::F64);
  EXPECT_EQ(find(plan, "b.weight").output.bytes, 15U * 8U);
  EXPECT_EQ(plan.converted_tensors, 1U);
  for (const Chunk& chunk : plan.chunks) {
    if (chunk.action == ChunkAction::Convert) {
      EXPECT_EQ(chunk.from, Dtype::F32);
    }
  }
}

TEST_F(PlanDtype, refused_conversions_name_the_tensor_and_both_dtypes) {
  const Checkpoint ckpt = open();
  const auto plan = [&](DtypeConversion dtype) {
    return [&ckpt, dtype] { (void)make_plan(ckpt, options(dtype)); };
  };
  EXPECT_TRUE(throws_error(plan({std::nullopt, {{"a.ids", Dtype::F32}}}),
                           ErrorCode::InvalidArgument,
                           {"'a.ids' cannot be loaded as F32", "from I32 to F32"}));
  EXPECT_TRUE(throws_error(plan({std::nullopt, {{"b.flag", Dtype::U8}}}),
                           ErrorCode::InvalidArgument, {"b.flag", "from BOOL to U8"}));
  EXPECT_TRUE(throws_error(plan({Dtype::F8_E4M3, {}}), ErrorCode::InvalidArgument,
                           {"a.weight", "from BF16 to F8_E4M3"}));
  // A rule is explicit, a prefix rule too: one reaching an integer tensor is refused.
  EXPECT_TRUE(throws_error(plan({std::nullopt, {{"a", Dtype::BF16}}}), ErrorCode::InvalidArgument,
                           {"'a.ids'", "from I32 to BF16"}));
  EXPECT_TRUE(throws_error(plan({Dtype::I8, {}}), ErrorCode::InvalidArgument,
                           {"'a.weight' cannot be loaded as I8"}));
}

}  // namespace
}  // namespace stload
