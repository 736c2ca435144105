#include <gtest/gtest.h>

#include "stload/error.hpp"
#include "stload/header.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::make_raw;
using testing::make_safetensors;
using testing::pattern_bytes;

TEST(HeaderAccepts, two_tensors_in_order) {
  const auto file = make_safetensors({{"a", "F32", {2, 2}, pattern_bytes(16, 1)},
                                      {"b", "BF16", {3}, pattern_bytes(6, 2)}},
                                     {{"format", "pt"}});
  const Header header = parse_header(file);
  ASSERT_EQ(header.tensors.size(), 2U);
  EXPECT_EQ(header.tensors[0].name, "a");
  EXPECT_EQ(header.tensors[0].dtype, Dtype::F32);
  EXPECT_EQ(header.tensors[0].shape, (std::vector<std::uint64_t>{2, 2}));
  EXPECT_EQ(header.tensors[1].begin, 16U);
  EXPECT_EQ(header.tensors[1].end, 22U);
  EXPECT_EQ(header.data_size, 22U);
  EXPECT_EQ(header.data_offset % 8, 0U);
  EXPECT_EQ(header.metadata.at("format"), "pt");
}

TEST(HeaderAccepts, json_order_differs_from_offset_order) {
  const auto file = make_raw(
      R"({"second":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
      R"("first":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
      4);
  const Header header = parse_header(file);
  ASSERT_EQ(header.tensors.size(), 2U);
  EXPECT_EQ(header.tensors[0].name, "first");
  EXPECT_EQ(header.tensors[1].name, "second");
}

}  // namespace
}  // namespace stload
