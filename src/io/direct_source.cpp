#include "io/direct_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "cpu/streaming_copy.hpp"
#include "detail/check.hpp"

namespace stload::detail {
namespace {

int system_open(const char* path, int flags) {
  return ::open(path, flags);  // NOLINT(cppcoreguidelines-pro-type-vararg): no O_CREAT, no mode
}

std::atomic<OpenFunction> open_function{&system_open};

constexpr std::uint64_t kMinBlock = 4096;

std::uint64_t align_down(std::uint64_t value, std::uint64_t block) {
  return value / block * block;
}
std::uint64_t align_up(std::uint64_t value, std::uint64_t block) {
  return (value + block - 1) / block * block;
}

// The direct-I/O alignment the kernel reports for the open file (Linux 6.1+), at least 4096 so
// that a kernel or file system that reports nothing, or something smaller, still gets reads that
// any block device accepts.
std::uint64_t direct_alignment(int fd) {
  std::uint64_t block = kMinBlock;
#if defined(STATX_DIOALIGN)
  struct statx info {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &info) == 0 &&
      (info.stx_mask & STATX_DIOALIGN) != 0) {
    block = std::max<std::uint64_t>({block, info.stx_dio_offset_align, info.stx_dio_mem_align});
  }
#else
  (void)fd;
#endif
  return block;
}

}  // namespace

void set_open_for_testing(OpenFunction function) noexcept {
  open_function.store(function != nullptr ? function : &system_open);
}

std::unique_ptr<DirectSource> DirectSource::open(const MappedFile& file) {
  // Through /proc/self/fd: the file the checkpoint opened, even if it was renamed over or removed
  // since (a load reads the opened file, never its replacement); by name where /proc is missing,
  // with the identity check below.
  const OpenFunction open_file = open_function.load(std::memory_order_relaxed);
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_DIRECT;
  const std::string by_fd = "/proc/self/fd/" + std::to_string(file.fd());
  int fd = open_file(by_fd.c_str(), kFlags);
  if (fd < 0 && errno == ENOENT) fd = open_file(file.path().c_str(), kFlags);
  if (fd < 0) {
    const int err = errno;
    if (err == EINVAL) return nullptr;  // the file system does not do O_DIRECT (tmpfs before 6.6)
    STLOAD_FAIL(ErrorCode::Io, errno_message(file.path().string() + ": open with O_DIRECT", err));
  }
  // The file opened again must be the one the checkpoint opened (it may have been replaced since).
  struct stat opened {};
  struct stat original {};
  if (::fstat(fd, &opened) != 0 || ::fstat(file.fd(), &original) != 0) {
    const int err = errno;
    ::close(fd);
    STLOAD_FAIL(ErrorCode::Io, errno_message(file.path().string() + ": fstat", err));
  }
  if (opened.st_dev != original.st_dev || opened.st_ino != original.st_ino) {
    ::close(fd);
    STLOAD_FAIL(ErrorCode::Io,
                file.path().string() + ": the file was replaced since the checkpoint was opened");
  }
  return std::unique_ptr<DirectSource>(new DirectSource(file, fd, direct_alignment(fd)));
}

DirectSource::~DirectSource() {
  if (fd_ >= 0) ::close(fd_);
}

void DirectSource::FreeAligned::operator()(std::byte* p) const noexcept {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): paired with std::aligned_alloc
}

void DirectSource::read_aligned(std::byte* buffer, std::uint64_t request, std::uint64_t offset,
                                std::uint64_t need) const {
  const PreadFunction system_read = current_pread();
  std::uint64_t done = 0;  // bytes of `buffer` that hold file data
  while (done < need) {
    const std::uint64_t from = align_down(done, block_);  // resume on a block boundary
    const ssize_t got = system_read(fd_, buffer + from, static_cast<std::size_t>(request - from),
                                    static_cast<off_t>(offset + from));
    if (got < 0 && errno == EINTR) continue;
    STLOAD_EXPECT(got >= 0, ErrorCode::Io,
                  errno_message(file_.path().string() + ": O_DIRECT read at offset " +
                                std::to_string(offset + from)));
    const std::uint64_t reached = from + static_cast<std::uint64_t>(got);
    STLOAD_EXPECT(reached > done, ErrorCode::Io,
                  file_.path().string() + ": unexpected end of file at offset " +
                      std::to_string(offset + done) + " (file truncated?)");
    done = reached;
  }
}

DirectSource::Bounce DirectSource::take_bounce() {
  {
    const std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      Bounce bounce = std::move(pool_.back());
      pool_.pop_back();
      return bounce;
    }
  }
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): aligned memory for O_DIRECT, freed by Bounce
  auto* memory = static_cast<std::byte*>(
      std::aligned_alloc(static_cast<std::size_t>(block_), static_cast<std::size_t>(kBounceBytes)));
  STLOAD_EXPECT(memory != nullptr, ErrorCode::OutOfMemory,
                file_.path().string() + ": no memory for an O_DIRECT bounce buffer of " +
                    std::to_string(kBounceBytes) + " bytes");
  return Bounce(memory);
}

void DirectSource::give_back(Bounce bounce) noexcept {
  const std::lock_guard lock(pool_mutex_);
  try {
    pool_.push_back(std::move(bounce));
  } catch (...) {  // no room to keep it: it is freed here
  }
}

void DirectSource::read_bounced(std::byte* out, std::uint64_t bytes, std::uint64_t offset,
                                bool streaming) {
  Bounce bounce = take_bounce();
  std::uint64_t done = 0;
  try {
    while (done < bytes) {
      const std::uint64_t at = offset + done;
      const std::uint64_t start = align_down(at, block_);
      const std::uint64_t skip = at - start;
      const std::uint64_t take = std::min(bytes - done, kBounceBytes - skip);
      read_aligned(bounce.get(), align_up(skip + take, block_), start, skip + take);
      if (streaming) {
        streaming_copy(out + done, bounce.get() + skip, static_cast<std::size_t>(take));
      } else {
        std::memcpy(out + done, bounce.get() + skip, static_cast<std::size_t>(take));
      }
      done += take;
    }
  } catch (...) {
    give_back(std::move(bounce));
    throw;
  }
  give_back(std::move(bounce));
}

void DirectSource::read(std::byte* out, std::uint64_t bytes, std::uint64_t offset, bool streaming) {
  if (bytes == 0) return;
  const std::uint64_t end = offset + bytes;
  const auto address = reinterpret_cast<std::uintptr_t>(out);
  if ((address - offset) % block_ != 0) {  // no block of `out` lines up with one of the file
    read_bounced(out, bytes, offset, streaming);
    return;
  }
  const std::uint64_t body_start = std::min(end, align_up(offset, block_));
  const std::uint64_t body_end = std::max(body_start, align_down(end, block_));
  if (offset < body_start) read_bounced(out, body_start - offset, offset, streaming);
  if (body_start < body_end) {
    read_aligned(out + (body_start - offset), body_end - body_start, body_start,
                 body_end - body_start);
  }
  if (body_end < end) read_bounced(out + (body_end - offset), end - body_end, body_end, streaming);
}

}  // namespace stload::detail
