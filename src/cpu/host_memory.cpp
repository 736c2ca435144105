#include "cpu/host_memory.hpp"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <string>

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

}  // namespace

HostMemory::HostMemory(std::uint64_t bytes, bool prefault, const char* what) : size_(bytes) {
  if (bytes == 0) return;
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (prefault ? MAP_POPULATE : 0);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  STLOAD_EXPECT(p != MAP_FAILED, ErrorCode::OutOfMemory,
                errno_message(std::string("cannot allocate ") + std::to_string(bytes) +
                              " bytes of host memory for " + what));
  data_ = static_cast<std::byte*>(p);
}

HostMemory::~HostMemory() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

std::uint64_t rss_anon_bytes() noexcept {
  return read_proc_kb("/proc/self/status", "RssAnon");
}

std::uint64_t host_available_bytes() noexcept {
  return read_proc_kb("/proc/meminfo", "MemAvailable");
}

}  // namespace stload::detail
