// Format rules 5 and 6: sorted by (begin, end), tensors tile the data section from 0 with no gap,
// overlap or backwards range; element and bit counts are overflow-checked; bits are whole bytes and
// match the span; the data section ends exactly where the last tensor does.
#include <gtest/gtest.h>

#include <string>

#include "header_test_util.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::code_of;
using testing::entry;
using testing::make_raw;
using testing::object;
using testing::rejects;

// --- InvalidOffset ---

TEST(HeaderOffsets, rejects_first_tensor_not_starting_at_zero) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "U8", "[4]", "[1,5]")}), 5),
                      ErrorCode::InvalidOffset, "'a'"));
}

TEST(HeaderOffsets, rejects_gap_between_tensors) {
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[4]", "[0,4]"), entry("b", "U8", "[4]", "[6,10]")}), 10),
      ErrorCode::InvalidOffset, "tensor 'b'"));
}

TEST(HeaderOffsets, rejects_overlapping_offsets) {
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[4]", "[0,4]"), entry("b", "U8", "[4]", "[2,6]")}), 6),
      ErrorCode::InvalidOffset, "tensor 'b'"));
}

TEST(HeaderOffsets, rejects_two_tensors_sharing_one_range) {
  // Same [0,4] twice: one weight aliased under two names, and 4 bytes of data left unaccounted.
  EXPECT_TRUE(
      rejects(make_raw(object({entry("a", "U8", "[4]", "[0,4]"), entry("b", "U8", "[4]", "[0,4]"),
                               entry("c", "U8", "[4]", "[4,8]")}),
                       8),
              ErrorCode::InvalidOffset, "tensor 'b'"));
}

TEST(HeaderOffsets, rejects_backwards_offsets) {
  // b = [2,0]: it begins where a ends, so only its direction is wrong.
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[2]", "[0,2]"), entry("b", "U8", "[0]", "[2,0]")}), 2),
      ErrorCode::InvalidOffset, "tensor 'b'"));
}

TEST(HeaderOffsets, rejects_tensor_contained_in_another) {
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[8]", "[0,8]"), entry("b", "U8", "[2]", "[2,4]")}), 8),
      ErrorCode::InvalidOffset, "tensor 'b'"));
}

TEST(HeaderOffsets, offset_message_names_the_expected_begin) {
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[4]", "[0,4]"), entry("b", "U8", "[4]", "[6,10]")}), 10),
      ErrorCode::InvalidOffset, "should begin at 4"));
}

// --- ValidationOverflow ---

TEST(HeaderOffsets, rejects_element_count_overflowing_u64) {
  // 2^32 * 2^32 wraps to 0 elements, which would "match" the empty span [0,0].
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "U8", "[4294967296,4294967296]", "[0,0]")}), 0),
                      ErrorCode::ValidationOverflow, "tensor 'a'"));
}

TEST(HeaderOffsets, rejects_element_count_overflow_before_a_later_zero) {
  // The reference multiplies left to right, so the overflow is seen before the zero.
  EXPECT_EQ(code_of(make_raw(object({entry("a", "U8", "[4294967296,4294967296,0]", "[0,0]")}), 0)),
            ErrorCode::ValidationOverflow);
}

TEST(HeaderOffsets, rejects_bit_count_overflowing_u64) {
  // 2^61 elements fit in u64; 2^61 * 64 bits wraps to 0, which would "match" [0,0].
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "F64", "[2305843009213693952]", "[0,0]")}), 0),
                      ErrorCode::ValidationOverflow, "tensor 'a'"));
}

TEST(HeaderOffsets, rejects_bit_count_overflow_of_a_sub_byte_dtype) {
  // 2^62 F4 elements are 2^64 bits: one past u64, though the byte count 2^61 would fit.
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F4", "[4611686018427387904]", "[0,0]")}), 0)),
            ErrorCode::ValidationOverflow);
}

// --- MisalignedSlice ---

TEST(HeaderOffsets, rejects_odd_f4_count) {
  // 3 x 4 bits = 12 bits; rounded down it would "match" the 1-byte span.
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "F4", "[3]", "[0,1]")}), 1),
                      ErrorCode::MisalignedSlice, "tensor 'a'"));
}

TEST(HeaderOffsets, rejects_odd_f4_count_in_a_multi_dimensional_shape) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F4", "[3,5]", "[0,7]")}), 7)),
            ErrorCode::MisalignedSlice);
}

TEST(HeaderOffsets, rejects_f6_counts_not_a_multiple_of_four) {
  for (const char* dtype : {"F6_E2M3", "F6_E3M2"}) {
    for (int count = 1; count < 4; ++count) {
      const std::string end = std::to_string(count * 6 / 8);  // what rounding down would accept
      EXPECT_EQ(
          code_of(make_raw(
              object({entry("a", dtype, "[" + std::to_string(count) + "]", "[0," + end + "]")}),
              static_cast<std::size_t>(count * 6 / 8))),
          ErrorCode::MisalignedSlice)
          << dtype << " x " << count;
    }
  }
}

// --- TensorInvalidInfo ---

TEST(HeaderOffsets, rejects_span_shorter_than_dtype_times_shape) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "F32", "[2]", "[0,4]")}), 4),
                      ErrorCode::TensorInvalidInfo, "tensor 'a'"));
}

TEST(HeaderOffsets, rejects_span_longer_than_dtype_times_shape) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "BF16", "[2]", "[0,6]")}), 6),
                      ErrorCode::TensorInvalidInfo, "needs 4"));
}

TEST(HeaderOffsets, rejects_scalar_with_empty_span) {
  // Shape [] is one element, not zero.
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F32", "[]", "[0,0]")}), 0)),
            ErrorCode::TensorInvalidInfo);
}

TEST(HeaderOffsets, rejects_empty_tensor_with_nonempty_span) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F32", "[4,0]", "[0,16]")}), 16)),
            ErrorCode::TensorInvalidInfo);
}

// --- MetadataIncompleteBuffer ---

TEST(HeaderOffsets, rejects_trailing_bytes_after_the_last_tensor) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "U8", "[4]", "[0,4]")}), 5),
                      ErrorCode::MetadataIncompleteBuffer, "trailing"));
}

TEST(HeaderOffsets, rejects_truncated_data_section) {
  EXPECT_TRUE(rejects(make_raw(object({entry("a", "U8", "[4]", "[0,4]")}), 3),
                      ErrorCode::MetadataIncompleteBuffer, "truncated"));
}

TEST(HeaderOffsets, rejects_data_after_an_empty_header) {
  EXPECT_EQ(code_of(make_raw("{}", 1)), ErrorCode::MetadataIncompleteBuffer);
}

TEST(HeaderOffsets, rejects_file_truncated_to_its_header) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "U8", "[1]", "[0,1]")}), 0)),
            ErrorCode::MetadataIncompleteBuffer);
}

}  // namespace
}  // namespace stload
