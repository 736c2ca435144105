// Property test of the tensor-parallel region planner (src/detail/slice_ranges.cpp): for random
// shapes, dtypes and bounds, the runs it plans, applied to the file's bytes, give exactly the
// region a reference computes element by element; runs never overlap, stay inside the tensor,
// and fill the output front to back.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "detail/slice_ranges.hpp"
#include "stload/error.hpp"
#include "support/region_reference.hpp"

namespace stload {
namespace {

using testing::Bounds;
using testing::reference_region;

TEST(SliceRanges, random_regions_of_random_tensors_match_the_element_wise_reference) {
  std::mt19937_64 rng(20261204);
  const Dtype dtypes[] = {Dtype::U8, Dtype::BF16, Dtype::F32, Dtype::F64};
  for (int trial = 0; trial < 2000; ++trial) {
    const std::size_t rank = 1 + rng() % 4;
    std::vector<std::uint64_t> shape;
    std::uint64_t elements = 1;
    for (std::size_t d = 0; d < rank; ++d) {
      shape.push_back(rng() % 6);  // zero-size dimensions included
      elements *= shape.back();
    }
    const Dtype dtype = dtypes[rng() % 4];
    const std::uint64_t element = bit_size(dtype) / 8;
    std::vector<std::byte> file(64 + elements * element);
    for (auto& b : file) b = static_cast<std::byte>(rng());
    TensorRecord record;
    record.info.name = "t";
    record.info.dtype = dtype;
    record.info.shape = shape;
    record.offset = 64;
    Bounds bounds;
    for (const std::uint64_t n : shape) {
      const std::uint64_t a = n == 0 ? 0 : rng() % (n + 1);
      const std::uint64_t b = n == 0 ? 0 : rng() % (n + 1);
      bounds.emplace_back(std::min(a, b), std::max(a, b));
    }
    if (rng() % 4 == 0) {  // whole dimensions are common: exercise coalescing
      for (std::size_t d = rng() % rank; d < rank; ++d) bounds[d] = {0, shape[d]};
    }
    OutputSpec output;
    std::vector<SourceRange> sources;
    detail::plan_region(record, bounds, output, sources);
    std::vector<std::byte> got(output.bytes);
    std::uint64_t next = 0;
    for (const SourceRange& s : sources) {
      ASSERT_EQ(s.output_offset, next) << "trial " << trial;
      ASSERT_GE(s.file_offset, record.offset);
      ASSERT_LE(s.file_offset + s.bytes, record.offset + elements * element);
      std::copy_n(file.begin() + static_cast<std::ptrdiff_t>(s.file_offset), s.bytes,
                  got.begin() + static_cast<std::ptrdiff_t>(s.output_offset));
      next += s.bytes;
    }
    ASSERT_EQ(next, output.bytes) << "trial " << trial;
    const std::vector<std::byte> data(file.begin() + 64, file.end());
    ASSERT_EQ(got, reference_region(data, shape, element, bounds)) << "trial " << trial;
  }
}

TEST(SliceRanges, sub_byte_parts_must_start_and_end_on_a_byte) {
  TensorRecord record;
  record.info.name = "f4";
  record.info.dtype = Dtype::F4;
  record.info.shape = {4, 6};
  OutputSpec output;
  std::vector<SourceRange> sources;
  detail::plan_region(record, {{0, 4}, {2, 6}}, output, sources);  // 4 elements = 2 bytes a row
  EXPECT_EQ(output.bytes, 8U);
  EXPECT_EQ(sources.size(), 4U);
  EXPECT_THROW(detail::plan_region(record, {{0, 4}, {1, 4}}, output, sources), Error);
}

}  // namespace
}  // namespace stload
