#pragma once
// A read-only, shared memory mapping of one whole file, with the fd kept for pread and fadvise.
// Mapping costs no I/O: pages come in only when touched, so opening a checkpoint reads headers
// only.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace stload::detail {

class MappedFile {
 public:
  /// Opens and maps `path`. Throws NotFound when it does not exist, Io when it is not a regular
  /// file or a system call fails.
  static MappedFile open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
    return {static_cast<const std::byte*>(data_), size_};
  }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  /// Reads exactly `size` bytes at `offset` with pread (no page-fault readaround). Throws Io.
  void read_at(void* destination, std::size_t size, std::uint64_t offset) const;

  /// Kernel hints for the byte range: sequential streaming of a load, or random for header reads.
  void advise_sequential(std::uint64_t offset, std::uint64_t size) const noexcept;
  void advise_random() const noexcept;
  /// Fraction (0 to 1) of the range's pages in the page cache now (mincore); 0 when unknown.
  /// Exact up to 16 MiB of pages; a larger range is estimated from 256 evenly spaced 64 KiB
  /// windows (its first and last pages among them).
  [[nodiscard]] double resident_fraction(std::uint64_t offset, std::uint64_t size) const noexcept;
  /// Drops the file's clean pages from the page cache (cold-cache benchmarks and tests).
  void drop_page_cache() const noexcept;

 private:
  void release() noexcept;

  std::filesystem::path path_;
  int fd_ = -1;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace stload::detail
