#include "cpu/host_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "detail/check.hpp"

namespace stload::detail {
namespace {

// "Key:   123 kB" line of a /proc file, in bytes.
std::uint64_t read_proc_kb(const char* file, const char* key) noexcept {
  std::FILE* f = std::fopen(file, "re");
  if (f == nullptr) return 0;
  char line[256];
  std::uint64_t value = 0;
  const std::size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      value = std::strtoull(line + key_len + 1, nullptr, 10) * 1024;
      break;
    }
  }
  std::fclose(f);
  return value;
}

// Faults in [begin, begin + bytes) for writing. 0 on success, else the errno of the failure.
int populate(std::byte* begin, std::size_t bytes) noexcept {
#ifdef MADV_POPULATE_WRITE
  if (::madvise(begin, bytes, MADV_POPULATE_WRITE) == 0) return 0;
  if (errno != EINVAL) return errno;  // EINVAL: a kernel before 5.14; touch the pages instead
#endif
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (std::size_t at = 0; at < bytes; at += page) {
    *static_cast<volatile std::byte*>(begin + at) = std::byte{0};  // fresh pages are zero already
  }
  return 0;
}

// First touch (page allocation and zeroing) runs at a fraction of memcpy speed and scales with
// cores, so large regions are faulted in by several threads (MAP_POPULATE would use one).
int populate_in_parallel(std::byte* data, std::uint64_t bytes) {
  constexpr std::uint64_t kPerThread = std::uint64_t{64} << 20U;
  constexpr std::uint64_t kSliceAlign = std::uint64_t{2} << 20U;  // whole huge pages per thread
  const std::uint64_t wanted =
      std::min<std::uint64_t>({std::max(1U, std::thread::hardware_concurrency()), 8,
                               std::max<std::uint64_t>(1, bytes / kPerThread)});
  const std::uint64_t slice = (bytes / wanted + kSliceAlign - 1) / kSliceAlign * kSliceAlign;
  std::atomic<int> failure{0};
  {
    std::vector<std::jthread> workers;
    for (std::uint64_t begin = slice; begin < bytes; begin += slice) {
      workers.emplace_back([&, begin] {
        const int error = populate(data + begin, std::min(slice, bytes - begin));
        if (error != 0) failure.store(error);
      });
    }
    const int error = populate(data, std::min(slice, bytes));
    if (error != 0) failure.store(error);
  }
  return failure.load();
}

constexpr std::uint64_t kHugePage = std::uint64_t{2} << 20U;

// `bytes` of anonymous memory; MAP_FAILED when there is none. A region of a huge page or more
// starts on a 2 MiB boundary (mapped a huge page larger, the ends unmapped) and asks for
// transparent huge pages (MADV_HUGEPAGE; Debian and Ubuntu enable them only where asked): faulting
// in 4 GiB of 4 KiB pages took 1.6 s on the development VM, of 2 MiB pages 0.6 s, and copies into
// them run faster with 512 times fewer TLB entries to walk. Where THP is off the advice is
// ignored, and the memory is the same as before, only aligned.
void* map_anonymous(std::uint64_t bytes) noexcept {
  constexpr int kProt = PROT_READ | PROT_WRITE;
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (bytes < kHugePage) return ::mmap(nullptr, bytes, kProt, kFlags, -1, 0);
  if (bytes > SIZE_MAX - kHugePage) {  // no such memory, and the margin below would wrap
    errno = ENOMEM;
    return MAP_FAILED;
  }
  void* p = ::mmap(nullptr, bytes + kHugePage, kProt, kFlags, -1, 0);
  if (p == MAP_FAILED) return p;
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
  if (aligned > start) ::munmap(p, aligned - start);
  // munmap wants page boundaries; the region itself ends within its last page.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t end = (aligned + bytes + page - 1) / page * page;
  if (start + bytes + kHugePage > end)
    ::munmap(reinterpret_cast<void*>(end), start + bytes + kHugePage - end);
  void* region = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  static_cast<void>(::madvise(region, bytes, MADV_HUGEPAGE));  // advice: refused is fine
#endif
  return region;
}

}  // namespace

HostMemory::HostMemory(std::uint64_t bytes, bool prefault, const char* what) : size_(bytes) {
  if (bytes == 0) return;
  void* p = map_anonymous(bytes);
  STLOAD_EXPECT(p != MAP_FAILED, ErrorCode::OutOfMemory,
                errno_message(std::string("cannot allocate ") + std::to_string(bytes) +
                              " bytes of host memory for " + what));
  if (prefault) {
    // Failing here (ENOMEM under a memory cgroup limit, say) is a clean error; failing later would
    // be the OOM killer in the middle of the copy.
    const int error = populate_in_parallel(static_cast<std::byte*>(p), bytes);
    if (error != 0) {
      ::munmap(p, bytes);
      STLOAD_FAIL(ErrorCode::OutOfMemory,
                  errno_message(std::string("cannot fault in ") + std::to_string(bytes) +
                                    " bytes of host memory for " + what,
                                error));
    }
  }
  data_ = static_cast<std::byte*>(p);
}

HostMemory::~HostMemory() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

std::uint64_t rss_anon_bytes() noexcept {
  return read_proc_kb("/proc/self/status", "RssAnon");
}

std::uint64_t rss_file_bytes() noexcept {
  return read_proc_kb("/proc/self/status", "RssFile");
}

ResidentMemory resident_memory() noexcept {
  ResidentMemory out;
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return out;
  char line[256];
  int found = 0;
  while (found < 2 && std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "RssAnon:", 8) == 0) {
      out.anon = std::strtoull(line + 8, nullptr, 10) * 1024;
      ++found;
    } else if (std::strncmp(line, "RssFile:", 8) == 0) {
      out.file = std::strtoull(line + 8, nullptr, 10) * 1024;
      ++found;
    }
  }
  std::fclose(f);
  return out;
}

std::uint64_t host_available_bytes() noexcept {
  return read_proc_kb("/proc/meminfo", "MemAvailable");
}

}  // namespace stload::detail
