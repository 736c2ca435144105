#pragma once
// A copy whose stores bypass the cache. A load writes each destination byte once and does not read
// it back soon, so caching the destination only evicts the source and costs a read-for-ownership
// of every line. glibc's memcpy streams only above a size threshold (192 MiB on the development
// VM), far above the chunks a load copies, which left the direct CPU path at 0.6-0.7x the memcpy
// ceiling; streaming every large run brings it to the ceiling.

#include <cstddef>

namespace stload::detail {

/// Copies below this many bytes go through memcpy: too short to gain from streaming.
inline constexpr std::size_t kStreamingCopyMinBytes = std::size_t{256} << 10U;

/// Copies `size` bytes as memcpy does (regions must not overlap), with non-temporal stores on
/// x86-64 when `size` is at least `min_bytes`; plain memcpy elsewhere. The stores are fenced
/// before it returns, so another thread that synchronizes with the caller sees them. A lower
/// `min_bytes` suits a source already in cache (a block just converted), which streams well at
/// any size.
void streaming_copy(void* destination, const void* source, std::size_t size,
                    std::size_t min_bytes = kStreamingCopyMinBytes) noexcept;

}  // namespace stload::detail
