#pragma once
// The caller-owned memory of stload_load_options (allocators and destinations) as the C++
// LoadOptions::allocators and LoadOptions::destinations.

#include "stload/loader.hpp"
#include "stload/stload.h"

namespace stload::c_api {

/// Adds the allocators and destinations of `in` (the library's copy of the caller's options) to
/// `out`. Checks only what the C side can get wrong (NULL arrays, names and callbacks, struct
/// sizes, device strings, duplicates); the load checks the rest against its plan.
/// @throws Error InvalidArgument naming the entry (index, device or tensor)
void add_caller_memory(const stload_load_options& in, LoadOptions& out);

}  // namespace stload::c_api
