#pragma once
// The reference for tensor-parallel parts: a region of a row-major tensor, element by element.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace stload::testing {

using Bounds = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

/// The bytes of region `bounds` of a row-major tensor of `shape` with `element` bytes per
/// element, compact: the reference the loader's runs are checked against.
inline std::vector<std::byte> reference_region(const std::vector<std::byte>& data,
                                               const std::vector<std::uint64_t>& shape,
                                               std::uint64_t element, const Bounds& bounds) {
  std::vector<std::byte> out;
  std::uint64_t count = 1;
  for (const auto& [b, e] : bounds) count *= e - b;
  if (count == 0) return out;
  std::vector<std::uint64_t> index;
  for (const auto& [b, e] : bounds) index.push_back(b);
  for (std::uint64_t n = 0; n < count; ++n) {
    std::uint64_t linear = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) linear = linear * shape[d] + index[d];
    for (std::uint64_t k = 0; k < element; ++k) out.push_back(data[linear * element + k]);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < bounds[d].second) break;
      index[d] = bounds[d].first;
    }
  }
  return out;
}

}  // namespace stload::testing
