#pragma once
// Whether the file system test files are written to (TempDir's, under the temp directory) takes
// O_DIRECT: tests of the O_DIRECT source skip, saying why, where it does not (tmpfs before Linux
// 6.6, some FUSE and network file systems).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cpu/mapped_file.hpp"
#include "support/temp_dir.hpp"

namespace stload::testing {

/// Empty when a file in a fresh TempDir opens with O_DIRECT; else why not (for GTEST_SKIP).
inline std::string o_direct_refused() {
  static const std::string why = [] {
    const TempDir dir;
    const std::vector<std::byte> block(4096);
    const auto path = dir.write("probe", block);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
    if (fd < 0) {
      return "the file system of " + dir.path().parent_path().string() +
             " refuses O_DIRECT (open: " + std::strerror(errno) + ")";
    }
    ::close(fd);
    return std::string();
  }();
  return why;
}

/// Writes back and drops `path`'s pages from the page cache (posix_fadvise DONTNEED); true when
/// under 10% of it is then resident (what ReadMethod::Auto calls cold).
inline bool evict_from_page_cache(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  const detail::MappedFile file = detail::MappedFile::open(path);
  return file.resident_fraction(0, file.size()) < 0.1;
}

}  // namespace stload::testing
