#pragma once
// Caller-owned memory in a load: arenas from the caller's allocator hook (LoadOptions::allocators)
// and tensors loaded into the caller's own destinations (LoadOptions::destinations). Both become
// Buffers the pipeline and the engines use as they use their own arenas; neither is freed by
// stload (an allocator's memory is handed back through its release).

#include <memory>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/engine.hpp"
#include "stload/loader.hpp"
#include "stload/plan.hpp"

namespace stload::detail {

/// Checks every destination and allocator against the plan and the engine before anything is
/// allocated: each destination's tensor is planned (in the checkpoint, not filtered out), its
/// memory non-null, at least the tensor's size and aligned to its element size, and its device
/// (like each allocator's) one the engine serves. Throws InvalidArgument naming the tensor.
void check_caller_memory(const LoadPlan& plan, const Checkpoint& checkpoint,
                         const LoadOptions& options, const CopyEngine& engine);

/// The arenas of `plan`, parallel to plan.arenas: a destination's arena wraps the caller's
/// pointer (never freed), a file view is a private mapping of the checkpoint's file
/// (cpu/file_view.hpp), an arena on a device with an allocator is the allocator's (released
/// through its release when the Buffer goes), every other one is the engine's. On a failure
/// what was already allocated is released. Throws OutOfMemory (the allocator returned nothing)
/// or InvalidArgument (it returned memory not aligned as asked), naming the device and size.
[[nodiscard]] std::vector<std::unique_ptr<Buffer>> allocate_arenas(const LoadPlan& plan,
                                                                   const Checkpoint& checkpoint,
                                                                   const LoadOptions& options,
                                                                   CopyEngine& engine);

}  // namespace stload::detail
