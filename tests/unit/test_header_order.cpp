// DESIGN.md: "the check order is the spec". A file breaking two rules reports the one the reference
// implementation checks first, so that every reader names the same fault.
#include <gtest/gtest.h>

#include <string>

#include "header_test_util.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::code_of;
using testing::entry;
using testing::make_raw;
using testing::make_raw_with_length;
using testing::object;

TEST(HeaderOrder, size_limit_before_end_of_file) {
  EXPECT_EQ(code_of(make_raw_with_length(kMaxHeaderSize + 1, "", 0)), ErrorCode::HeaderTooLarge);
}

TEST(HeaderOrder, utf8_before_json_syntax) {
  EXPECT_EQ(code_of(make_raw("{\xFF", 0)), ErrorCode::InvalidHeader);
}

TEST(HeaderOrder, json_before_offsets) {
  // Gap (rule 5) and an unknown dtype (rule 4) in one header.
  EXPECT_EQ(code_of(make_raw(
                object({entry("a", "U8", "[1]", "[1,2]"), entry("b", "X9", "[1]", "[2,3]")}), 3)),
            ErrorCode::InvalidHeaderDeserialization);
}

TEST(HeaderOrder, offsets_before_sizes_within_a_tensor) {
  // a both starts past 0 and has the wrong size.
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F32", "[1]", "[1,2]")}), 2)),
            ErrorCode::InvalidOffset);
}

TEST(HeaderOrder, earlier_tensor_by_offset_reports_first) {
  // Sorted by offset, a (wrong size) precedes b (gap), though b comes first in the JSON.
  EXPECT_EQ(code_of(make_raw(
                object({entry("b", "U8", "[1]", "[3,4]"), entry("a", "F32", "[1]", "[0,2]")}), 4)),
            ErrorCode::TensorInvalidInfo);
}

TEST(HeaderOrder, overflow_before_alignment) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F4", "[3,6148914691236517206]", "[0,0]")}), 0)),
            ErrorCode::ValidationOverflow);
}

TEST(HeaderOrder, alignment_before_size) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F4", "[1]", "[0,5]")}), 5)),
            ErrorCode::MisalignedSlice);
}

TEST(HeaderOrder, tensor_checks_before_data_section_size) {
  EXPECT_EQ(code_of(make_raw(object({entry("a", "F32", "[1]", "[0,2]")}), 9)),
            ErrorCode::TensorInvalidInfo);
}

}  // namespace
}  // namespace stload
