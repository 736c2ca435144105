// Format rules 1 and 2: the 8-byte little-endian length prefix.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "header_test_util.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::Bytes;
using testing::code_of;
using testing::make_raw;
using testing::make_raw_with_length;
using testing::rejects;

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

TEST(HeaderLength, rejects_files_shorter_than_the_length_prefix) {
  for (std::size_t size = 0; size < 8; ++size) {
    EXPECT_EQ(code_of(Bytes(size, std::byte{0})), ErrorCode::HeaderTooSmall) << size << " bytes";
  }
}

TEST(HeaderLength, reads_the_prefix_as_little_endian) {
  // 2 as little-endian; read big-endian it would be 2^57, far past the end of the file.
  EXPECT_EQ(parse_header(make_raw("{}", 0)).header_size, 2U);
}

TEST(HeaderLength, rejects_header_length_above_the_limit) {
  EXPECT_TRUE(rejects(make_raw_with_length(kMaxHeaderSize + 1, "{}", 0), ErrorCode::HeaderTooLarge,
                      "100000001"));
}

TEST(HeaderLength, checks_the_size_limit_before_the_end_of_file) {
  // A header at exactly the limit is not too large; it is only past the end of this small file.
  EXPECT_EQ(code_of(make_raw_with_length(kMaxHeaderSize, "{}", 0)), ErrorCode::InvalidHeaderLength);
}

TEST(HeaderLength, rejects_length_prefix_past_end_of_file) {
  EXPECT_TRUE(rejects(make_raw_with_length(3, "{}", 0), ErrorCode::InvalidHeaderLength, "10-byte"));
}

TEST(HeaderLength, rejects_length_prefix_that_would_wrap_past_u64) {
  // 8 + n wraps to 0 here; a check written as `8 + n <= size` alone would accept it.
  EXPECT_EQ(code_of(make_raw_with_length(kU64Max - 7, "{}", 0)), ErrorCode::HeaderTooLarge);
}

TEST(HeaderLength, rejects_length_prefix_of_u64_max) {
  EXPECT_EQ(code_of(make_raw_with_length(kU64Max, "{}", 0)), ErrorCode::HeaderTooLarge);
}

TEST(HeaderLength, parse_header_length_returns_n_for_a_header_that_fits) {
  const Bytes file = make_raw("{}", 0);
  EXPECT_EQ(parse_header_length(file, file.size()), 2U);
}

TEST(HeaderLength, parse_header_length_checks_against_the_given_file_size) {
  const Bytes file = make_raw("{}  ", 0);  // 12 bytes: fits, but not in an 11-byte file
  try {
    (void)parse_header_length(file, 11);
    ADD_FAILURE() << "accepted a header running past the given file size";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidHeaderLength);
  }
}

TEST(HeaderLength, parse_header_on_a_prefix_matches_parse_header_on_the_file) {
  const Bytes file = make_raw(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})", 3);
  const std::span<const std::byte> prefix(file.data(), file.size() - 3);
  const Header header = parse_header(prefix, file.size());
  EXPECT_EQ(header.data_size, 3U);
  ASSERT_EQ(header.tensors.size(), 1U);
  EXPECT_EQ(header.tensors[0].end, 3U);
}

TEST(HeaderLength, parse_header_on_a_prefix_too_short_for_the_header_is_a_caller_error) {
  const Bytes file = make_raw("{}      ", 0);
  const std::span<const std::byte> prefix(file.data(), 9);
  try {
    (void)parse_header(prefix, file.size());
    ADD_FAILURE() << "accepted a prefix shorter than the header";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  }
}

}  // namespace
}  // namespace stload
