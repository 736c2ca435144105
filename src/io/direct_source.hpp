#pragma once
// O_DIRECT reads: the file opened a second time with O_DIRECT, read in aligned blocks, so a cold
// file's bytes go from the device to memory without passing through (or evicting) the page cache.
//
// O_DIRECT wants the file offset, the length and the memory address all multiples of the file's
// direct-I/O alignment (statx STATX_DIOALIGN; 4096 when the kernel does not say, and never below
// it). A load's ranges rarely are: tensors start anywhere in the file and direct mode writes to
// 256-byte-aligned arena offsets. So a range is read as follows:
//   - when `out` and the file offset share their place within a block, the range's whole blocks
//     are read straight into `out`, and only its partial first and last blocks go through a bounce
//     buffer;
//   - otherwise the covering aligned range goes through a bounce buffer (8 MiB at a time) and is
//     copied (a streaming copy when the destination is not read back soon).
// Bounce buffers come from a small pool in the source, one per reader that needs one at a time
// (so at most reader_threads x 8 MiB), and are freed with the source at the end of the load. The
// last block of a file is partial: the read asks for the whole block and accepts the shorter
// answer once it covers the range. A short read is continued from the block it stopped in (a
// re-read of the partial block, since O_DIRECT cannot resume mid-block); a read that makes no
// progress is an end of file inside the range: an Io error naming the file and offset.

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "cpu/mapped_file.hpp"
#include "io/file_source.hpp"

namespace stload::detail {

class DirectSource final : public FileSource {
 public:
  /// Opens `file` again with O_DIRECT (through the open seam below). Returns nullptr when its file
  /// system refuses O_DIRECT (EINVAL), throws Io for any other failure. `file` must outlive it.
  [[nodiscard]] static std::unique_ptr<DirectSource> open(const MappedFile& file);

  ~DirectSource() override;

  void read(std::byte* out, std::uint64_t bytes, std::uint64_t offset, bool streaming) override;
  [[nodiscard]] ReadMethod method() const noexcept override { return ReadMethod::Direct; }

  /// The alignment reads use (offset, length and memory).
  [[nodiscard]] std::uint64_t block() const noexcept { return block_; }

  static constexpr std::uint64_t kBounceBytes = std::uint64_t{8} << 20U;

 private:
  struct FreeAligned {
    void operator()(std::byte* p) const noexcept;
  };
  using Bounce = std::unique_ptr<std::byte, FreeAligned>;

  DirectSource(const MappedFile& file, int fd, std::uint64_t block) noexcept
      : file_(file), fd_(fd), block_(block) {}

  // Reads file bytes [offset, offset + need) into `buffer` with aligned requests of up to
  // `request` bytes (offset, request and buffer aligned; request >= need).
  void read_aligned(std::byte* buffer, std::uint64_t request, std::uint64_t offset,
                    std::uint64_t need) const;
  void read_bounced(std::byte* out, std::uint64_t bytes, std::uint64_t offset, bool streaming);
  Bounce take_bounce();
  void give_back(Bounce bounce) noexcept;

  const MappedFile& file_;
  int fd_ = -1;
  std::uint64_t block_ = 4096;
  std::mutex pool_mutex_;
  std::vector<Bounce> pool_;  // free bounce buffers
};

/// The open(2) DirectSource::open calls. Fault-injection seam for tests (a file system that
/// refuses O_DIRECT: return -1 with errno EINVAL); nullptr restores ::open. Set it only while no
/// load runs.
using OpenFunction = int (*)(const char* path, int flags);
void set_open_for_testing(OpenFunction function) noexcept;

}  // namespace stload::detail
