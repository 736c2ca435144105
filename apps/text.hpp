#pragma once
// Text helpers for human-readable output. Tensor names and metadata come from untrusted files, so
// anything printed to a terminal goes through printable() first.

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stload::cli {

/// The text with control characters (including ESC, so no terminal escape sequences) shown as \xNN.
[[nodiscard]] std::string printable(std::string_view text);

/// The text with each invalid UTF-8 sequence (a stray byte, an overlong form, a surrogate, a cut
/// sequence) replaced by U+FFFD, maximal subparts as WHATWG's decoder does; valid text unchanged.
[[nodiscard]] std::string valid_utf8(std::string_view text);

/// Columns the UTF-8 text takes on a terminal, counted as code points (close enough for a table).
[[nodiscard]] std::size_t display_width(std::string_view text) noexcept;

/// "[2, 3]", "[]" for a scalar.
[[nodiscard]] std::string format_shape(std::span<const std::uint64_t> shape);

/// "1.50 MiB"; below 1 KiB, "N B".
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

/// A table for a terminal: each column as wide as its widest cell (cells pass through printable()).
struct Table {
  std::vector<std::string> header;
  std::vector<bool> right_aligned;  ///< per column; numbers read best right-aligned
  std::vector<std::vector<std::string>> rows;

  void print(std::ostream& out) const;
};

}  // namespace stload::cli
