#pragma once
// The Sources seam: how bytes leave one file of a checkpoint. A FileSource is a handle per file
// (kvikio's FileHandle is the model), apart from the copies that follow; the pipeline asks it for
// byte ranges and never learns whether they came by pread, from the mapping or by O_DIRECT.
// Implementations live beside this header, one file each; make_sources (sources.cpp) picks one per
// file as the load's ReadMethod says. A cuFile or network source slots in the same way.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "checkpoint_impl.hpp"
#include "stload/loader.hpp"

namespace stload::detail {

class FileSource {
 public:
  FileSource() = default;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  virtual ~FileSource() = default;

  /// Reads exactly `bytes` bytes at file `offset` into `out`. `streaming`: `out` is not read back
  /// by this CPU soon (an arena, or a slot a DMA engine reads), so stores may bypass the cache.
  /// Called from several reader threads at once. Throws Io naming the file and offset on an
  /// error, or an end of file inside the range (a file truncated while it loads).
  virtual void read(std::byte* out, std::uint64_t bytes, std::uint64_t offset, bool streaming) = 0;

  /// Where this source can (the mapping), runs `use(data, context)` with `data` the file's bytes
  /// [offset, offset + bytes) in place, guarded like read() (a file truncated under it is Io
  /// naming the file and offset), and returns true; elsewhere returns false and calls nothing.
  /// `use` reads `data` and must not throw or own anything (see cpu/guarded_copy.hpp). Lets a
  /// reader that transforms bytes (a dtype conversion) skip copying them out first.
  virtual bool read_in_place(std::uint64_t offset, std::uint64_t bytes,
                             void (*use)(const std::byte* data, void* context) noexcept,
                             void* context) {
    static_cast<void>(offset);
    static_cast<void>(bytes);
    static_cast<void>(use);
    static_cast<void>(context);
    return false;
  }

  /// The method this source reads by (never Auto).
  [[nodiscard]] virtual ReadMethod method() const noexcept = 0;
};

/// The pread every pread-based source calls, one system call at a time, with ::pread's contract.
using PreadFunction = ssize_t (*)(int fd, void* buffer, std::size_t bytes, off_t offset);

/// Fault-injection seam for tests (I/O errors, short reads): replaces the pread of every later
/// load; nullptr restores ::pread. Set it only while no load runs.
void set_pread_for_testing(PreadFunction function) noexcept;

/// The pread sources call now: ::pread unless a test replaced it.
[[nodiscard]] PreadFunction current_pread() noexcept;

/// What make_sources chose, for the load's stats.
struct SourceCounts {
  std::uint64_t mmap = 0;
  std::uint64_t pread = 0;
  std::uint64_t direct = 0;
  std::uint64_t direct_fallback = 0;  // Auto wanted O_DIRECT, the file system refused: pread
};

/// The source for one file read by `method` (Pread, Mmap or Direct). Where O_DIRECT is refused
/// (EINVAL on open): with `chosen_by_auto`, a PreadSource (counted in `direct_fallback` and
/// `pread`); otherwise InvalidArgument naming the file and the read methods that work.
[[nodiscard]] std::unique_ptr<FileSource> make_source(const MappedFile& file, ReadMethod method,
                                                      bool chosen_by_auto, SourceCounts& counts);

/// The sources of a load: one per file with `file_bytes[f] > 0` (nullptr for the others), each
/// chosen as `method` says (Auto: from the mapping when over 90% of the file's data is in the page
/// cache, as MappedFile::resident_fraction estimates it, O_DIRECT when under 10% is, pread in
/// between; O_DIRECT refused becomes pread). First
/// checks each such file has not shrunk since the checkpoint was opened (Io naming the file) and
/// advises the kernel of the sequential read to come.
[[nodiscard]] std::vector<std::unique_ptr<FileSource>> make_sources(
    const Checkpoint::Impl& checkpoint, const std::vector<std::uint64_t>& file_bytes,
    ReadMethod method, SourceCounts& counts);

}  // namespace stload::detail
