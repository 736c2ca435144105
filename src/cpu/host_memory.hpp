#pragma once
// Page-aligned anonymous host memory, released with munmap; from 2 MiB on, 2 MiB-aligned and
// advised to be transparent huge pages. Optionally pre-faulted (by several threads when large) so
// that first touch (about 2-4 GB/s per core on the development VM) happens at allocation and not
// inside a timed copy.

#include <cstddef>
#include <cstdint>

namespace stload::detail {

class HostMemory {
 public:
  /// Throws Error(OutOfMemory) naming `what` when the memory cannot be had.
  HostMemory(std::uint64_t bytes, bool prefault, const char* what);
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  ~HostMemory();

  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::uint64_t size_ = 0;
};

/// Anonymous resident memory of this process now (RssAnon of /proc/self/status), in bytes.
std::uint64_t rss_anon_bytes() noexcept;

/// File-backed resident memory of this process now (RssFile of /proc/self/status), in bytes: the
/// page-cache pages of its mappings (a checkpoint's among them), which `top` counts in RES but the
/// kernel can reclaim; tmpfs files count as RssShmem instead.
std::uint64_t rss_file_bytes() noexcept;

/// RssAnon and RssFile together, from one read of /proc/self/status (a load samples both after
/// every chunk: one open and parse instead of two).
struct ResidentMemory {
  std::uint64_t anon = 0;
  std::uint64_t file = 0;
};
ResidentMemory resident_memory() noexcept;

/// MemAvailable of /proc/meminfo in bytes (0 when unreadable).
std::uint64_t host_available_bytes() noexcept;

}  // namespace stload::detail
