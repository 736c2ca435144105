#pragma once
/// @file header.hpp
/// @brief Parsing and validation of a safetensors header. Pure: no I/O.

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "stload/dtype.hpp"

namespace stload {

/// @brief Largest header the format allows, in bytes.
inline constexpr std::uint64_t kMaxHeaderSize = 100'000'000;

/// @brief One tensor as declared by a header.
struct TensorInfo {
  std::string name;                  ///< key in the header (UTF-8)
  Dtype dtype = Dtype::U8;           ///< element type
  std::vector<std::uint64_t> shape;  ///< empty for a scalar
  std::uint64_t begin = 0;           ///< first byte, relative to the data section
  std::uint64_t end = 0;             ///< one past the last byte, relative to the data section
  /// @brief How the elements are laid out in [begin, end): empty for compact row-major (every
  /// safetensors tensor, and every contiguous PyTorch one); else one stride per dimension, in
  /// elements, of a PyTorch view (a transpose, a slice with gaps, an expand's 0): element
  /// (i0, i1, ...) is at begin + (i0 * strides[0] + i1 * strides[1] + ...) * element size, and
  /// [begin, end) is the storage span those elements cover. Loads copy such a tensor to compact
  /// row-major (ChunkAction::Gather).
  std::vector<std::uint64_t> strides;

  /// @brief Bytes of the file the tensor covers: its size, or for a strided tensor the span of
  /// its storage its elements reach (larger than its size with gaps, smaller with strides of 0).
  [[nodiscard]] std::uint64_t bytes() const noexcept { return end - begin; }
  /// @brief True when `strides` is not empty: the tensor is not stored compact row-major.
  [[nodiscard]] bool strided() const noexcept { return !strides.empty(); }
  /// @brief Number of elements (1 for a scalar, 0 for an empty tensor).
  [[nodiscard]] std::uint64_t elements() const noexcept;
};

/// @brief A validated header.
struct Header {
  std::uint64_t header_size = 0;    ///< the JSON length n from the 8-byte prefix
  std::uint64_t data_offset = 0;    ///< 8 + n: where the data section starts in the file
  std::uint64_t data_size = 0;      ///< bytes in the data section
  std::vector<TensorInfo> tensors;  ///< sorted by data offset (then name)
  std::map<std::string, std::string> metadata;  ///< the "__metadata__" object, if any
};

/// @brief Rules 1 and 2 alone: checks the 8-byte length prefix against the file size.
/// @param prefix the file's first bytes (at least 8 unless the file is shorter)
/// @param file_size the size of the whole file
/// @return n, the header's JSON length; the data section starts at 8 + n
/// @throws Error HeaderTooSmall, HeaderTooLarge or InvalidHeaderLength
[[nodiscard]] std::uint64_t parse_header_length(std::span<const std::byte> prefix,
                                                std::uint64_t file_size);

/// @brief Parses and validates a header against every rule of the format, in the reference order.
/// @param file the whole file's bytes. Only the first 8 + n bytes are read; the data section is
///        never touched (its size is taken from `file.size()`).
/// @throws Error with a format ErrorCode and a message naming the tensor or offset at fault.
[[nodiscard]] Header parse_header(std::span<const std::byte> file);

/// @brief As above, when only a prefix of the file is at hand.
/// @param prefix the file's first bytes; must hold at least 8 + n of them unless the file is
/// shorter
/// @param file_size the size of the whole file
/// @throws Error as above; InvalidArgument when the prefix is too short to hold the header.
[[nodiscard]] Header parse_header(std::span<const std::byte> prefix, std::uint64_t file_size);

}  // namespace stload
