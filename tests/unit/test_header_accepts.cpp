// What a valid header may look like (format rule 7 and the edge cases real writers produce), and
// what parse_header returns for it.
#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "header_test_util.hpp"
#include "stload/error.hpp"
#include "stload/header.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::code_of;
using testing::entry;
using testing::make_raw;
using testing::make_safetensors;
using testing::object;
using testing::pattern_bytes;
using testing::TestTensor;

// Fewest elements of `dtype` that make whole bytes: 2 for F4, 4 for F6, 1 otherwise.
std::uint64_t aligned_count(Dtype dtype) {
  return 8 / std::gcd(8U, bit_size(dtype));
}

TEST(HeaderAccepts, two_tensors_in_order) {
  const auto file = make_safetensors(
      {{"a", "F32", {2, 2}, pattern_bytes(16, 1)}, {"b", "BF16", {3}, pattern_bytes(6, 2)}},
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
  const auto file = make_raw(R"({"second":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                             R"("first":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                             4);
  const Header header = parse_header(file);
  ASSERT_EQ(header.tensors.size(), 2U);
  EXPECT_EQ(header.tensors[0].name, "first");
  EXPECT_EQ(header.tensors[1].name, "second");
}

TEST(HeaderAccepts, every_dtype_with_its_bit_size) {
  std::vector<TestTensor> tensors;
  for (const Dtype dtype : kAllDtypes) {
    // 8 elements are always whole bytes: exactly bit_size bytes.
    tensors.push_back({std::string(to_string(dtype)),
                       std::string(to_string(dtype)),
                       {8},
                       pattern_bytes(bit_size(dtype), 3)});
  }
  const Header header = parse_header(make_safetensors(tensors));
  ASSERT_EQ(header.tensors.size(), kAllDtypes.size());
  for (std::size_t i = 0; i < kAllDtypes.size(); ++i) {
    EXPECT_EQ(header.tensors[i].dtype, kAllDtypes[i]) << header.tensors[i].name;
    EXPECT_EQ(header.tensors[i].bytes(), bit_size(kAllDtypes[i])) << header.tensors[i].name;
  }
}

TEST(HeaderAccepts, every_dtype_at_its_smallest_whole_byte_count) {
  for (const Dtype dtype : kAllDtypes) {
    const std::uint64_t count = aligned_count(dtype);
    const std::uint64_t bytes = count * bit_size(dtype) / 8;
    const auto file =
        make_raw(object({entry("t", to_string(dtype), "[" + std::to_string(count) + "]",
                               "[0," + std::to_string(bytes) + "]")}),
                 bytes);
    EXPECT_EQ(code_of(file), std::nullopt) << to_string(dtype);
  }
}

TEST(HeaderAccepts, no_dtype_with_one_byte_too_many) {
  for (const Dtype dtype : kAllDtypes) {
    const std::uint64_t count = aligned_count(dtype);
    const std::uint64_t bytes = count * bit_size(dtype) / 8 + 1;
    const auto file =
        make_raw(object({entry("t", to_string(dtype), "[" + std::to_string(count) + "]",
                               "[0," + std::to_string(bytes) + "]")}),
                 bytes);
    EXPECT_EQ(code_of(file), ErrorCode::TensorInvalidInfo) << to_string(dtype);
  }
}

TEST(HeaderAccepts, f6_in_groups_of_four) {
  const Header header = parse_header(make_raw(
      object({entry("a", "F6_E2M3", "[4]", "[0,3]"), entry("b", "F6_E3M2", "[2,4]", "[3,9]")}), 9));
  ASSERT_EQ(header.tensors.size(), 2U);
  EXPECT_EQ(header.tensors[1].elements(), 8U);
  EXPECT_EQ(header.data_size, 9U);
}

TEST(HeaderAccepts, scalar_with_empty_shape) {
  const Header header = parse_header(make_raw(object({entry("s", "F32", "[]", "[0,4]")}), 4));
  ASSERT_EQ(header.tensors.size(), 1U);
  EXPECT_TRUE(header.tensors[0].shape.empty());
  EXPECT_EQ(header.tensors[0].elements(), 1U);
  EXPECT_EQ(header.tensors[0].bytes(), 4U);
}

TEST(HeaderAccepts, empty_tensor_between_others) {
  const Header header = parse_header(
      make_raw(object({entry("a", "U8", "[2]", "[0,2]"), entry("e", "F32", "[0,3]", "[2,2]"),
                       entry("b", "U8", "[2]", "[2,4]")}),
               4));
  ASSERT_EQ(header.tensors.size(), 3U);
  EXPECT_EQ(header.tensors[1].name, "e");
  EXPECT_EQ(header.tensors[1].elements(), 0U);
  EXPECT_EQ(header.tensors[1].bytes(), 0U);
}

TEST(HeaderAccepts, empty_tensor_at_the_end) {
  const Header header = parse_header(make_raw(
      object({entry("a", "U8", "[2]", "[0,2]"), entry("z", "BF16", "[5,0]", "[2,2]")}), 2));
  ASSERT_EQ(header.tensors.size(), 2U);
  EXPECT_EQ(header.tensors[1].name, "z");
  EXPECT_EQ(header.data_size, 2U);
}

TEST(HeaderAccepts, empty_tensors_sharing_an_offset) {
  const Header header = parse_header(
      make_raw(object({entry("e1", "U8", "[0]", "[0,0]"), entry("e2", "I64", "[0]", "[0,0]")}), 0));
  EXPECT_EQ(header.tensors.size(), 2U);
}

TEST(HeaderAccepts, u64_max_dimension_next_to_a_zero) {
  const Header header =
      parse_header(make_raw(object({entry("a", "U8", "[0,18446744073709551615]", "[0,0]")}), 0));
  ASSERT_EQ(header.tensors.size(), 1U);
  EXPECT_EQ(header.tensors[0].shape[1], 18446744073709551615U);
}

TEST(HeaderAccepts, empty_object_with_no_data) {
  const Header header = parse_header(make_raw("{}", 0));
  EXPECT_TRUE(header.tensors.empty());
  EXPECT_TRUE(header.metadata.empty());
  EXPECT_EQ(header.data_size, 0U);
  EXPECT_EQ(header.data_offset, 10U);
}

TEST(HeaderAccepts, unpadded_header) {
  const std::string json = object({entry("a", "U8", "[3]", "[0,3]")});
  ASSERT_NE(json.size() % 8, 0U);
  const Header header = parse_header(make_raw(json, 3));
  EXPECT_EQ(header.header_size, json.size());
  EXPECT_EQ(header.data_offset, 8 + json.size());
}

TEST(HeaderAccepts, leading_whitespace_before_the_object) {
  EXPECT_EQ(code_of(make_raw(" \t\r\n" + object({entry("a", "U8", "[1]", "[0,1]")}), 1)),
            std::nullopt);
}

TEST(HeaderAccepts, trailing_spaces_and_newlines) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "U8", "[1]", "[0,1]")}) + "   \n\r\n\t  ", 1)),
            std::nullopt);
}

TEST(HeaderAccepts, non_ascii_names) {
  const Header header =
      parse_header(make_raw(object({entry("caf\xC3\xA9", "U8", "[1]", "[0,1]"),
                                    entry("\xE5\x90\x8D", "U8", "[1]", "[1,2]"),
                                    entry("\xF0\x9F\x98\x80", "U8", "[1]", "[2,3]")}),
                            3));
  ASSERT_EQ(header.tensors.size(), 3U);
  EXPECT_EQ(header.tensors[0].name, "caf\xC3\xA9");
  EXPECT_EQ(header.tensors[1].name, "\xE5\x90\x8D");
  EXPECT_EQ(header.tensors[2].name, "\xF0\x9F\x98\x80");
}

TEST(HeaderAccepts, escapes_in_names_are_decoded) {
  const Header header =
      parse_header(make_raw(object({entry(R"(caf\u00e9)", "U8", "[1]", "[0,1]"),
                                    entry(R"(\ud83d\ude00)", "U8", "[1]", "[1,2]"),
                                    entry(R"(q\"b\\s\/n\n)", "U8", "[1]", "[2,3]")}),
                            3));
  ASSERT_EQ(header.tensors.size(), 3U);
  EXPECT_EQ(header.tensors[0].name, "caf\xC3\xA9");
  EXPECT_EQ(header.tensors[1].name, "\xF0\x9F\x98\x80");
  EXPECT_EQ(header.tensors[2].name, "q\"b\\s/n\n");
}

TEST(HeaderAccepts, escaped_nul_in_a_name) {
  const Header header =
      parse_header(make_raw(object({entry(R"(a\u0000b)", "U8", "[1]", "[0,1]")}), 1));
  ASSERT_EQ(header.tensors.size(), 1U);
  EXPECT_EQ(header.tensors[0].name, std::string("a\0b", 3));
}

TEST(HeaderAccepts, null_metadata) {
  const Header header = parse_header(
      make_raw(R"({"__metadata__":null,)" + entry("a", "U8", "[1]", "[0,1]") + "}", 1));
  EXPECT_TRUE(header.metadata.empty());
  EXPECT_EQ(header.tensors.size(), 1U);
}

TEST(HeaderAccepts, metadata_after_the_tensors) {
  const Header header = parse_header(
      make_raw("{" + entry("a", "U8", "[1]", "[0,1]") + R"(,"__metadata__":{"k":"v","e":""}})", 1));
  EXPECT_EQ(header.metadata.size(), 2U);
  EXPECT_EQ(header.metadata.at("k"), "v");
  EXPECT_EQ(header.metadata.at("e"), "");
}

TEST(HeaderAccepts, metadata_with_escapes_is_decoded) {
  const Header header =
      parse_header(make_raw(R"({"__metadata__":{"j\u00e9":"{\"a\": [1]}\n"}})", 0));
  EXPECT_EQ(header.metadata.at("j\xC3\xA9"), "{\"a\": [1]}\n");
}

TEST(HeaderAccepts, empty_metadata_object) {
  EXPECT_TRUE(parse_header(make_raw(R"({"__metadata__":{}})", 0)).metadata.empty());
}

TEST(HeaderAccepts, unknown_fields_in_a_tensor_are_ignored) {
  const Header header = parse_header(make_raw(
      R"({"a":{"x":1,"dtype":"U8","y":[-1.5,{"z":null}],"shape":[1],"w":"s","data_offsets":[0,1],)"
      R"("v":{"dtype":"F32","shape":"bad","data_offsets":[9]},"t":true}})",
      1));
  ASSERT_EQ(header.tensors.size(), 1U);
  EXPECT_EQ(header.tensors[0].dtype, Dtype::U8);
  EXPECT_EQ(header.tensors[0].shape, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(header.tensors[0].end, 1U);
}

TEST(HeaderAccepts, huge_tensor_is_judged_by_the_data_section_size) {
  // 2^60 bytes of U8: huge but representable; only the data section's size rejects it.
  EXPECT_EQ(code_of(make_raw(
                object({entry("a", "U8", "[1152921504606846976]", "[0,1152921504606846976]")}), 0)),
            ErrorCode::MetadataIncompleteBuffer);
}

}  // namespace
}  // namespace stload
