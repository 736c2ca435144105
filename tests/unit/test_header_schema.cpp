// Format rule 4: __metadata__ is an object of string -> string; every other key is a tensor object
// with dtype (one of 22 names), shape (u64 array) and data_offsets (exactly two u64). Integers
// only: no floats, no negatives (not even -0), nothing beyond u64. Each test breaks one field of a
// tensor that is otherwise valid and tiles the data exactly.
#include <gtest/gtest.h>

#include <string>

#include "header_test_util.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::entry;
using testing::make_raw;
using testing::object;
using testing::rejects;

constexpr ErrorCode kBadJson = ErrorCode::InvalidHeaderDeserialization;

// U8 tensor "a" with 4 data bytes; shape and offsets spelled by the test.
testing::Bytes u8_tensor(const std::string& shape, const std::string& offsets) {
  return make_raw(object({entry("a", "U8", shape, offsets)}), 4);
}

testing::Bytes with_dtype(const std::string& dtype) {
  return make_raw(object({entry("a", dtype, "[4]", "[0,4]")}), 4);
}

TEST(HeaderSchema, accepts_the_control_tensor_of_these_tests) {
  EXPECT_NO_THROW((void)parse_header(u8_tensor("[4]", "[0,4]")));
}

// --- shape ---

TEST(HeaderSchema, rejects_float_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor("[4.0]", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_exponent_notation_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor("[4e0]", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_negative_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor("[-4]", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_negative_zero_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor("[4,-0]", "[0,0]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_string_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor(R"(["4"])", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_value_beyond_u64_in_shape) {
  // 2^64, next to a zero so that the element count would still be 0 if it wrapped.
  EXPECT_TRUE(rejects(u8_tensor("[18446744073709551616,0]", "[0,0]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_null_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor("[null]", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_nested_array_in_shape) {
  EXPECT_TRUE(rejects(u8_tensor("[[4]]", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_shape_that_is_not_an_array) {
  EXPECT_TRUE(rejects(u8_tensor("4", "[0,4]"), kBadJson, "'shape'"));
}

TEST(HeaderSchema, rejects_shape_that_is_null) {
  EXPECT_TRUE(rejects(u8_tensor("null", "[0,4]"), kBadJson, "'shape'"));
}

// --- data_offsets ---

TEST(HeaderSchema, rejects_float_in_data_offsets) {
  EXPECT_TRUE(rejects(u8_tensor("[4]", "[0,4.0]"), kBadJson, "'data_offsets'"));
}

TEST(HeaderSchema, rejects_negative_in_data_offsets) {
  EXPECT_TRUE(rejects(u8_tensor("[4]", "[-0,4]"), kBadJson, "'data_offsets'"));
}

TEST(HeaderSchema, rejects_string_in_data_offsets) {
  EXPECT_TRUE(rejects(u8_tensor("[4]", R"([0,"4"])"), kBadJson, "'data_offsets'"));
}

TEST(HeaderSchema, rejects_value_beyond_u64_in_data_offsets) {
  EXPECT_TRUE(rejects(u8_tensor("[4]", "[0,18446744073709551620]"), kBadJson, "'data_offsets'"));
}

TEST(HeaderSchema, rejects_data_offsets_with_one_entry) {
  EXPECT_TRUE(rejects(u8_tensor("[0]", "[0]"), kBadJson, "exactly 2"));
}

TEST(HeaderSchema, rejects_data_offsets_with_three_entries) {
  EXPECT_TRUE(rejects(u8_tensor("[4]", "[0,4,4]"), kBadJson, "exactly 2"));
}

TEST(HeaderSchema, rejects_empty_data_offsets) {
  EXPECT_TRUE(rejects(u8_tensor("[0]", "[]"), kBadJson, "exactly 2"));
}

TEST(HeaderSchema, rejects_data_offsets_that_is_an_object) {
  EXPECT_TRUE(rejects(u8_tensor("[4]", R"({"begin":0,"end":4})"), kBadJson, "'data_offsets'"));
}

// --- dtype ---

TEST(HeaderSchema, rejects_unknown_dtype) {
  EXPECT_TRUE(rejects(with_dtype("F128"), kBadJson, "unknown dtype 'F128'"));
}

TEST(HeaderSchema, rejects_dtype_in_lower_case) {
  EXPECT_TRUE(rejects(with_dtype("u8"), kBadJson, "unknown dtype"));
}

TEST(HeaderSchema, rejects_empty_dtype) {
  EXPECT_TRUE(rejects(with_dtype(""), kBadJson, "unknown dtype"));
}

TEST(HeaderSchema, rejects_dtype_with_trailing_nul) {
  EXPECT_TRUE(rejects(with_dtype(R"(U8\u0000)"), kBadJson, "unknown dtype"));
}

TEST(HeaderSchema, rejects_dtype_that_is_not_a_string) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":{"dtype":8,"shape":[4],"data_offsets":[0,4]}})", 4),
                      kBadJson, "'dtype'"));
}

// --- fields and the tensor object ---

TEST(HeaderSchema, rejects_tensor_without_dtype) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":{"shape":[4],"data_offsets":[0,4]}})", 4), kBadJson,
                      "missing field 'dtype'"));
}

TEST(HeaderSchema, rejects_tensor_without_shape) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":{"dtype":"U8","data_offsets":[0,4]}})", 4), kBadJson,
                      "missing field 'shape'"));
}

TEST(HeaderSchema, rejects_tensor_without_data_offsets) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":{"dtype":"U8","shape":[0]}})", 0), kBadJson,
                      "missing field 'data_offsets'"));
}

TEST(HeaderSchema, missing_field_message_names_the_tensor) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"lm_head":{"dtype":"U8","shape":[0]}})", 0), kBadJson, "'lm_head'"));
}

TEST(HeaderSchema, rejects_tensor_that_is_an_empty_object) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":{}})", 0), kBadJson, "missing field"));
}

TEST(HeaderSchema, rejects_tensor_that_is_an_array) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":[]})", 0), kBadJson, "'a' must be an object"));
}

TEST(HeaderSchema, rejects_tensor_that_is_a_string) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":"U8"})", 0), kBadJson, "'a' must be an object"));
}

TEST(HeaderSchema, rejects_tensor_that_is_null) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":null})", 0), kBadJson, "'a' must be an object"));
}

// --- __metadata__ ---

TEST(HeaderSchema, rejects_metadata_value_that_is_a_number) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":{"epoch":3}})", 0), kBadJson, "'epoch'"));
}

TEST(HeaderSchema, rejects_metadata_value_that_is_null) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":{"k":null}})", 0), kBadJson, "must be a string"));
}

TEST(HeaderSchema, rejects_metadata_value_that_is_an_object) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"__metadata__":{"k":{"v":"1"}}})", 0), kBadJson, "must be a string"));
}

TEST(HeaderSchema, rejects_metadata_value_that_is_an_array) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"__metadata__":{"k":["v"]}})", 0), kBadJson, "must be a string"));
}

TEST(HeaderSchema, rejects_metadata_that_is_a_string) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"__metadata__":"pt"})", 0), kBadJson, "__metadata__ must be an object"));
}

TEST(HeaderSchema, rejects_metadata_that_is_an_array) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"__metadata__":[]})", 0), kBadJson, "__metadata__ must be an object"));
}

TEST(HeaderSchema, rejects_metadata_that_is_a_number) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"__metadata__":0})", 0), kBadJson, "__metadata__ must be an object"));
}

}  // namespace
}  // namespace stload
