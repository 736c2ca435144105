#pragma once
// Hands loaded tensors to Python without a copy: each becomes a DLPack tensor whose owner is a
// capsule holding the LoadedModel's shared state, so the memory lives while any tensor does.

#include <nanobind/nanobind.h>

#include "dtypes.hpp"
#include "stload/tensor_map.hpp"

namespace stload::python {

/// @brief A capsule sharing ownership of `model`'s arenas (and engine).
[[nodiscard]] nanobind::object make_owner(const LoadedModel& model);

/// @brief `view` as a torch tensor or numpy array over the arena memory, kept alive by `owner`.
/// @throws Error InvalidArgument for a numpy export of device memory
[[nodiscard]] nanobind::object export_view(const TensorView& view, nanobind::handle owner,
                                           Framework framework);

/// @brief Owner capsules alive now (for tests proving that memory is released).
[[nodiscard]] long live_owners() noexcept;

}  // namespace stload::python
