#pragma once
// The strided copy on the CPU: a strided tensor's elements (a PyTorch view: a transpose, a slice
// with gaps, an expand) copied out of their storage into compact row-major order. The CPU
// engine runs gather_box for each Gather chunk; stload convert runs gather_run to write a
// strided tensor's contiguous bytes piece by piece.

#include <cstddef>
#include <cstdint>

#include "stload/plan.hpp"

namespace stload::detail {

/// Copies the elements of `box` from `storage`, which holds the storage element of the box's
/// first index (`box.begin`) at byte 0, to `output`, the tensor's compact row-major byte 0: the
/// element at index i is read at sum (i[d] - begin[d]) * stride[d] elements and written at its
/// row-major index. The caller checks that both ranges are in bounds.
void gather_box(const StridedLayout& layout, const GatherBox& box, const std::byte* storage,
                std::byte* output);

/// Copies row-major elements [first, first + count) of a tensor laid out as `layout` from
/// `storage` (the tensor's element (0, ..., 0) at byte 0) to `out`, packed.
void gather_run(const StridedLayout& layout, const std::byte* storage, std::uint64_t first,
                std::uint64_t count, std::byte* out);

}  // namespace stload::detail
