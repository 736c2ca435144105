#pragma once
// A tensor's part as runs of file bytes: what a tensor-parallel slice (or explicit bounds) of a
// row-major tensor reads, and where each run lands in the compact output.

#include <cstdint>
#include <utility>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/plan.hpp"
#include "stload/tensor_parallel.hpp"

namespace stload::detail {

/// [begin, end) per dimension of `record` that `options` give this rank, or empty when the tensor
/// is loaded whole. `dim` is the split dimension a rule gave (nullptr: none). Throws
/// InvalidArgument naming the tensor (see TensorParallel).
[[nodiscard]] std::vector<std::pair<std::uint64_t, std::uint64_t>> slice_bounds(
    const TensorRecord& record, const TensorParallel& options, const std::size_t* dim);

/// The output spec (shape of the part, its bytes) and the file runs of the region `bounds` of
/// `record`, coalesced: the dimensions after the last partial one are whole, so each run is
/// that partial dimension's extent times the rest. Throws InvalidArgument when a sub-byte
/// dtype's run does not start and end on a byte.
void plan_region(const TensorRecord& record,
                 const std::vector<std::pair<std::uint64_t, std::uint64_t>>& bounds,
                 OutputSpec& output, std::vector<SourceRange>& sources);

}  // namespace stload::detail
