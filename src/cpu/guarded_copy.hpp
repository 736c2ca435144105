#pragma once
// memcpy out of a file mapping that survives the file shrinking underneath it. Touching a mapped
// page past the new end of file raises SIGBUS, which would kill the process; another process
// truncating a checkpoint while it loads must be an Io error instead.

#include <cstddef>

namespace stload::detail {

/// Copies `size` bytes from `source` to `destination` as memcpy does, or as streaming_copy does
/// when `streaming` (for destinations the CPU will not read again soon). Returns false when reading
/// `source` raised SIGBUS (a mapped file was truncated); `destination` then holds a partial copy.
/// The first call installs a process-wide SIGBUS handler that turns faults inside a guarded copy
/// into this return and hands every other SIGBUS to the handler that was there before it.
/// Thread-safe; not reentrant from a signal handler.
[[nodiscard]] bool guarded_copy(void* destination, const void* source, std::size_t size,
                                bool streaming = false) noexcept;

}  // namespace stload::detail
