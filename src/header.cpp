#include "stload/header.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>

#include "detail/check.hpp"
#include "detail/header_json.hpp"
#include "detail/rapidjson.hpp"

namespace stload {
namespace {

constexpr std::uint64_t kLengthPrefix = 8;

std::uint64_t read_u64_le(const std::byte* p) noexcept {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8U) | static_cast<std::uint64_t>(p[i]);
  return value;
}

std::string offsets_text(const TensorInfo& t) {
  return "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
}

// Rule 5, in the reference order: contiguity first, then counts, then sizes. Returns the data end.
std::uint64_t validate_offsets(std::vector<TensorInfo>& tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  std::uint64_t expected_begin = 0;
  for (const TensorInfo& t : tensors) {
    STLOAD_EXPECT(t.begin == expected_begin && t.end >= t.begin, ErrorCode::InvalidOffset,
                  "tensor '" + t.name + "': data_offsets " + offsets_text(t) +
                      (t.end < t.begin ? " run backwards"
                                       : " should begin at " + std::to_string(expected_begin) +
                                             (t.begin < expected_begin ? " (overlap)" : " (gap)")));
    expected_begin = t.end;
    std::uint64_t elements = 1;
    for (const std::uint64_t dim : t.shape) {
      STLOAD_EXPECT(!__builtin_mul_overflow(elements, dim, &elements),
                    ErrorCode::ValidationOverflow,
                    "tensor '" + t.name + "': element count of its shape overflows 64 bits");
    }
    std::uint64_t bits = 0;
    STLOAD_EXPECT(!__builtin_mul_overflow(elements, std::uint64_t{bit_size(t.dtype)}, &bits),
                  ErrorCode::ValidationOverflow,
                  "tensor '" + t.name + "': bit count of its shape overflows 64 bits");
    STLOAD_EXPECT(bits % 8 == 0, ErrorCode::MisalignedSlice,
                  "tensor '" + t.name + "': " + std::to_string(elements) + " elements of " +
                      std::string(to_string(t.dtype)) + " are not a whole number of bytes");
    STLOAD_EXPECT(t.end - t.begin == bits / 8, ErrorCode::TensorInvalidInfo,
                  "tensor '" + t.name + "': data_offsets " + offsets_text(t) + " span " +
                      std::to_string(t.end - t.begin) + " bytes but " +
                      std::string(to_string(t.dtype)) + " x shape needs " +
                      std::to_string(bits / 8));
  }
  return expected_begin;
}

}  // namespace

std::uint64_t TensorInfo::elements() const noexcept {
  std::uint64_t count = 1;
  for (const std::uint64_t dim : shape) count *= dim;  // validated not to overflow
  return count;
}

Header parse_header(std::span<const std::byte> file) {
  return parse_header(file, file.size());
}

std::uint64_t parse_header_length(std::span<const std::byte> prefix, std::uint64_t file_size) {
  STLOAD_EXPECT(
      file_size >= kLengthPrefix, ErrorCode::HeaderTooSmall,
      "file of " + std::to_string(file_size) + " bytes is shorter than the 8-byte header length");
  STLOAD_EXPECT(prefix.size() >= kLengthPrefix, ErrorCode::InvalidArgument,
                "parse_header_length needs the file's first 8 bytes");
  const std::uint64_t n = read_u64_le(prefix.data());
  STLOAD_EXPECT(n <= kMaxHeaderSize, ErrorCode::HeaderTooLarge,
                "header length " + std::to_string(n) + " exceeds the limit of " +
                    std::to_string(kMaxHeaderSize) + " bytes");
  STLOAD_EXPECT(kLengthPrefix + n <= file_size, ErrorCode::InvalidHeaderLength,
                "header length " + std::to_string(n) + " runs past the end of a " +
                    std::to_string(file_size) + "-byte file");
  return n;
}

Header parse_header(std::span<const std::byte> prefix, std::uint64_t file_size) {
  // Rule 1 and 2: the length prefix.
  Header header;
  header.header_size = parse_header_length(prefix, file_size);
  header.data_offset = kLengthPrefix + header.header_size;  // cannot overflow after the limit check
  STLOAD_EXPECT(header.data_offset <= prefix.size(), ErrorCode::InvalidArgument,
                "parse_header was given " + std::to_string(prefix.size()) +
                    " bytes, the header needs " + std::to_string(header.data_offset));

  // Rule 3 and 4: UTF-8, then the JSON schema.
  const std::string_view json(reinterpret_cast<const char*>(prefix.data() + kLengthPrefix),
                              header.header_size);
  const std::size_t bad_utf8 = detail::first_invalid_utf8(json.data(), json.size());
  STLOAD_EXPECT(bad_utf8 == json.size(), ErrorCode::InvalidHeader,
                "header is not valid UTF-8: ill-formed sequence at file offset " +
                    std::to_string(kLengthPrefix + bad_utf8));
  detail::parse_header_json(json, kLengthPrefix, header);

  // Rule 5 and 6: offsets tile the data section exactly.
  header.data_size = validate_offsets(header.tensors);
  const std::uint64_t actual = file_size - header.data_offset;
  STLOAD_EXPECT(header.data_size == actual, ErrorCode::MetadataIncompleteBuffer,
                "data section holds " + std::to_string(actual) + " bytes but the tensors declare " +
                    std::to_string(header.data_size) +
                    (actual > header.data_size ? " (trailing bytes)" : " (truncated file)"));
  return header;
}

}  // namespace stload
