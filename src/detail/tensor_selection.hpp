#pragma once
// Which tensors of a checkpoint a plan keeps: `only` patterns and the filter, checked so that a
// typo or a prefix that names nothing fails before any memory is allocated (plan.hpp).

#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/plan.hpp"

namespace stload::detail {

/// @brief One flag per tensor of `checkpoint` (Checkpoint::tensors() order): kept or not.
/// Also logs a warning naming the device_map rules that match none of the kept tensors.
/// @throws Error InvalidArgument for an invalid `only` pattern; unless options.allow_unmatched,
///         for `only` patterns matching no tensor (all named) or a selection of no tensor.
[[nodiscard]] std::vector<bool> select_tensors(const Checkpoint& checkpoint,
                                               const PlanOptions& options);

}  // namespace stload::detail
