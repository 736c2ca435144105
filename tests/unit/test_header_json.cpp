// Format rule 3, second half: the header must be one JSON object (InvalidHeaderDeserialization),
// with only whitespace around it, nested less deeply than serde_json's recursion limit, and with
// string escapes that decode to UTF-8.
#include <gtest/gtest.h>

#include <string>

#include "header_test_util.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::entry;
using testing::make_raw;
using testing::message_of;
using testing::nested_arrays;
using testing::object;
using testing::rejects;

constexpr ErrorCode kBadJson = ErrorCode::InvalidHeaderDeserialization;

const std::string kTensor = entry("a", "U8", "[1]", "[0,1]");

// One valid tensor carrying an ignored field "x" whose value is `extra`.
std::string with_unknown_field(const std::string& extra) {
  return "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":" + extra + "}}";
}

TEST(HeaderJson, rejects_empty_header) {
  EXPECT_TRUE(rejects(make_raw("", 0), kBadJson));
}

TEST(HeaderJson, rejects_whitespace_only_header) {
  EXPECT_TRUE(rejects(make_raw("        ", 0), kBadJson));
}

TEST(HeaderJson, rejects_header_that_is_an_array) {
  EXPECT_TRUE(rejects(make_raw("[]", 0), kBadJson, "not a JSON object"));
}

TEST(HeaderJson, rejects_header_that_is_a_string) {
  EXPECT_TRUE(rejects(make_raw(R"("{}")", 0), kBadJson, "not a JSON object"));
}

TEST(HeaderJson, rejects_header_that_is_a_number) {
  EXPECT_TRUE(rejects(make_raw("0", 0), kBadJson, "not a JSON object"));
}

TEST(HeaderJson, rejects_header_that_is_null) {
  EXPECT_TRUE(rejects(make_raw("null", 0), kBadJson, "not a JSON object"));
}

TEST(HeaderJson, rejects_header_that_is_a_boolean) {
  EXPECT_TRUE(rejects(make_raw("true", 0), kBadJson, "not a JSON object"));
}

TEST(HeaderJson, rejects_unterminated_object) {
  EXPECT_TRUE(rejects(make_raw(R"({"a":{"dtype":"U8")", 0), kBadJson));
}

TEST(HeaderJson, syntax_error_message_names_its_file_offset) {
  // The '}' where a value should be is the header's 6th byte: file offset 8 + 5.
  EXPECT_TRUE(rejects(make_raw(R"({"a":})", 0), kBadJson, "at file offset 13"));
}

TEST(HeaderJson, rejects_trailing_comma) {
  EXPECT_TRUE(rejects(make_raw("{" + kTensor + ",}", 1), kBadJson));
}

TEST(HeaderJson, rejects_single_quoted_strings) {
  EXPECT_TRUE(rejects(make_raw("{'a':{}}", 0), kBadJson));
}

TEST(HeaderJson, rejects_comments) {
  EXPECT_TRUE(rejects(make_raw("{/* c */" + kTensor + "}", 1), kBadJson));
}

TEST(HeaderJson, rejects_nan_even_in_an_ignored_field) {
  EXPECT_TRUE(rejects(make_raw(with_unknown_field("NaN"), 1), kBadJson));
}

TEST(HeaderJson, rejects_infinity_even_in_an_ignored_field) {
  EXPECT_TRUE(rejects(make_raw(with_unknown_field("-Infinity"), 1), kBadJson));
}

TEST(HeaderJson, rejects_unescaped_control_character_in_a_name) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a\tb", "U8", "[1]", "[0,1]")}), 1), kBadJson));
}

TEST(HeaderJson, rejects_unknown_escape_in_a_name) {
  EXPECT_TRUE(rejects(make_raw(object({entry(R"(a\x41)", "U8", "[1]", "[0,1]")}), 1), kBadJson));
}

TEST(HeaderJson, rejects_trailing_characters_after_the_object) {
  EXPECT_TRUE(rejects(make_raw("{} x", 0), kBadJson, "trailing characters"));
}

TEST(HeaderJson, trailing_characters_message_names_their_file_offset) {
  // Trailing text starts right after "{}", at header byte 2: file offset 10.
  EXPECT_TRUE(rejects(make_raw("{}x", 0), kBadJson, "at file offset 10"));
}

TEST(HeaderJson, rejects_nul_padding_after_the_object) {
  EXPECT_TRUE(rejects(make_raw(std::string("{}\0\0\0\0\0\0", 8), 0), kBadJson, "trailing"));
}

TEST(HeaderJson, rejects_second_object_after_the_first) {
  EXPECT_TRUE(rejects(make_raw("{}{}", 0), kBadJson, "trailing"));
}

TEST(HeaderJson, rejects_form_feed_as_padding) {
  // JSON whitespace is space, tab, LF and CR only.
  EXPECT_TRUE(rejects(make_raw("{}\f", 0), kBadJson));
}

TEST(HeaderJson, rejects_byte_order_mark) {
  EXPECT_TRUE(rejects(make_raw("\xEF\xBB\xBF{}", 0), kBadJson));
}

TEST(HeaderJson, accepts_nesting_as_deep_as_the_reference_allows) {
  // Root object, tensor object and 125 arrays: 127 levels, the most serde_json accepts.
  EXPECT_NO_THROW((void)parse_header(make_raw(with_unknown_field(nested_arrays(125)), 1)));
}

TEST(HeaderJson, rejects_nesting_one_level_deeper_than_the_reference_allows) {
  // 128 levels: serde_json's recursion limit (128) trips on the 128th container.
  EXPECT_TRUE(
      rejects(make_raw(with_unknown_field(nested_arrays(126)), 1), kBadJson, "nested deeper"));
}

TEST(HeaderJson, rejects_deep_nesting_of_objects) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{\"k\":";
  deep += "0" + std::string(200, '}');
  EXPECT_TRUE(rejects(make_raw(with_unknown_field(deep), 1), kBadJson, "nested deeper"));
}

TEST(HeaderJson, rejects_very_deep_nesting_without_exhausting_the_stack) {
  EXPECT_TRUE(rejects(make_raw(with_unknown_field(nested_arrays(1'000'000)), 1), kBadJson,
                      "nested deeper"));
}

TEST(HeaderJson, nesting_error_names_the_tensor) {
  EXPECT_TRUE(rejects(make_raw(with_unknown_field(nested_arrays(200)), 1), kBadJson, "'a'"));
}

TEST(HeaderJson, rejects_escaped_lone_low_surrogate_in_a_name) {
  // Valid UTF-8 on the wire, but the escape decodes to a surrogate, which UTF-8 cannot hold.
  EXPECT_TRUE(rejects(make_raw(object({entry(R"(a\udc00)", "U8", "[1]", "[0,1]")}), 1), kBadJson));
}

TEST(HeaderJson, rejects_escaped_lone_high_surrogate_in_a_name) {
  EXPECT_TRUE(rejects(make_raw(object({entry(R"(a\ud800)", "U8", "[1]", "[0,1]")}), 1), kBadJson));
}

TEST(HeaderJson, rejects_escaped_lone_surrogate_in_a_metadata_value) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":{"k":"\udfff"}})", 0), kBadJson));
}

TEST(HeaderJson, rejects_escaped_lone_surrogate_in_a_metadata_key) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":{"\udc80":"v"}})", 0), kBadJson));
}

// "0.000...1e-2147483639" is valid JSON. RapidJSON's double conversion overflows an int adding the
// fraction's and the exponent's powers of ten (CVE-2024-38517: UB, then an out-of-range table
// read), so the parser must never convert numbers to double.
const std::string kExtremeNumber = "0." + std::string(1000, '0') + "1e-2147483639";

TEST(HeaderJson, accepts_extreme_number_in_an_ignored_field) {
  EXPECT_NO_THROW((void)parse_header(make_raw(with_unknown_field(kExtremeNumber), 1)));
}

TEST(HeaderJson, rejects_extreme_number_in_a_shape) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "U8", "[" + kExtremeNumber + "]", "[0,1]")}), 1),
                      kBadJson, "'shape'"));
}

}  // namespace
}  // namespace stload
