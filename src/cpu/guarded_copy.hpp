#pragma once
// memcpy (or another plain read) out of a file mapping that survives the file shrinking
// underneath it. Touching a mapped
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

/// The guard of guarded_copy around any reader of a mapping: runs `work(context)` and returns
/// true, or false when reading a mapped page raised SIGBUS (the work then stopped part way).
/// `work` leaves by a long jump from the fault, so it must not throw and must hold nothing that
/// needs destroying (plain loops over bytes: a copy, a dtype conversion).
[[nodiscard]] bool guarded_call(void (*work)(void* context) noexcept, void* context) noexcept;

}  // namespace stload::detail
