// Format rule 3, first half: the header bytes must be UTF-8 (InvalidHeader), checked on the raw
// bytes before any JSON parsing, padding included.
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

// A one-tensor header whose name carries `bytes`; valid apart from them.
std::string header_with_name_bytes(const std::string& bytes) {
  return object({entry("w" + bytes, "U8", "[1]", "[0,1]")});
}

TEST(HeaderUtf8, accepts_the_control_header_of_these_tests) {
  EXPECT_NO_THROW((void)parse_header(make_raw(header_with_name_bytes("\xC3\xA9"), 1)));
}

TEST(HeaderUtf8, rejects_byte_that_never_occurs_in_utf8) {
  EXPECT_TRUE(rejects(make_raw(header_with_name_bytes("\xFF"), 1), ErrorCode::InvalidHeader,
                      "not valid UTF-8"));
}

TEST(HeaderUtf8, message_names_the_file_offset_of_the_bad_sequence) {
  // {"w  then the bad byte: header byte 3, file offset 11.
  EXPECT_TRUE(rejects(make_raw(header_with_name_bytes("\xFF"), 1), ErrorCode::InvalidHeader,
                      "at file offset 11"));
}

TEST(HeaderUtf8, rejects_stray_continuation_byte) {
  EXPECT_TRUE(rejects(make_raw(header_with_name_bytes("\x80"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_overlong_two_byte_encoding) {
  // C0 AF is '/' in two bytes: the classic path-traversal smuggling encoding.
  EXPECT_TRUE(rejects(make_raw(header_with_name_bytes("\xC0\xAF"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_overlong_three_byte_encoding) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("\xE0\x80\xAF"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_overlong_four_byte_encoding) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("\xF0\x80\x80\xAF"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_utf8_encoded_high_surrogate) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("\xED\xA0\x80"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_utf8_encoded_low_surrogate) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("\xED\xBF\xBF"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_code_point_above_u10ffff) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("\xF4\x90\x80\x80"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_sequence_missing_its_continuation_bytes) {
  EXPECT_TRUE(rejects(make_raw(header_with_name_bytes("\xE2\x82"), 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_sequence_truncated_by_the_end_of_the_header) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("") + "\xF0\x9F\x98", 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_invalid_utf8_in_the_padding) {
  EXPECT_TRUE(
      rejects(make_raw(header_with_name_bytes("") + " \xFF ", 1), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, rejects_invalid_utf8_in_a_metadata_value) {
  EXPECT_TRUE(
      rejects(make_raw("{\"__metadata__\":{\"k\":\"\xC1\xBF\"}}", 0), ErrorCode::InvalidHeader));
}

TEST(HeaderUtf8, accepts_every_utf8_length_in_names) {
  // 1-, 2-, 3- and 4-byte sequences, including the largest code point U+10FFFF.
  EXPECT_NO_THROW((void)parse_header(
      make_raw(header_with_name_bytes("a\xC3\xA9\xE5\x90\x8D\xF4\x8F\xBF\xBF"), 1)));
}

}  // namespace
}  // namespace stload
