#pragma once
// Builds safetensors bytes for tests: valid files from tensor lists, and raw files from a header
// text so that every malformed case can be written exactly.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stload::testing {

struct TestTensor {
  std::string name;
  std::string dtype;  // header spelling, e.g. "BF16"
  std::vector<std::uint64_t> shape;
  std::vector<std::byte> data;  // exactly the tensor's bytes
};

/// Deterministic pseudo-random bytes (seeded), so digests of generated data are reproducible.
std::vector<std::byte> pattern_bytes(std::size_t size, std::uint32_t seed);

/// A valid file: tensors laid out in the given order, header padded with spaces to 8 bytes.
std::vector<std::byte> make_safetensors(const std::vector<TestTensor>& tensors,
                                        const std::map<std::string, std::string>& metadata = {});

/// A raw file: 8-byte little-endian length of `header`, the header bytes, then `data_size` bytes.
std::vector<std::byte> make_raw(std::string_view header, std::size_t data_size);

/// As make_raw with a given length prefix (which may lie about the header's size).
std::vector<std::byte> make_raw_with_length(std::uint64_t length, std::string_view header,
                                            std::size_t data_size);

/// JSON string literal for `text` (quotes and escapes).
std::string json_quote(std::string_view text);

}  // namespace stload::testing
