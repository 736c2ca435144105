#include "cpu/host_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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

}  // namespace

HostMemory::HostMemory(std::uint64_t bytes, bool prefault, const char* what) : size_(bytes) {
  if (bytes == 0) return;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
