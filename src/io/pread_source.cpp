#include "io/pread_source.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "detail/check.hpp"

namespace stload::detail {
namespace {

ssize_t system_pread(int fd, void* buffer, std::size_t bytes, off_t offset) {
  return ::pread(fd, buffer, bytes, offset);
}

std::atomic<PreadFunction> pread_function{&system_pread};

}  // namespace

void set_pread_for_testing(PreadFunction function) noexcept {
  pread_function.store(function != nullptr ? function : &system_pread);
}

PreadFunction current_pread() noexcept {
  return pread_function.load(std::memory_order_relaxed);
}

// MappedFile::read_at's loop, through the replaceable pread: a short read is continued, an error or
// an end of file inside the range is an Io error naming the file and offset.
void PreadSource::read(std::byte* out, std::uint64_t bytes, std::uint64_t offset,
                       bool /*streaming: the kernel's copy is what it is*/) {
  const PreadFunction system_read = current_pread();
  std::uint64_t done = 0;
  while (done < bytes) {
    const ssize_t got = system_read(file_.fd(), out + done, static_cast<std::size_t>(bytes - done),
                                    static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    STLOAD_EXPECT(
        got >= 0, ErrorCode::Io,
        errno_message(file_.path().string() + ": read at offset " + std::to_string(offset + done)));
    STLOAD_EXPECT(got > 0, ErrorCode::Io,
                  file_.path().string() + ": unexpected end of file at offset " +
                      std::to_string(offset + done) + " (file truncated?)");
    done += static_cast<std::uint64_t>(got);
  }
}

}  // namespace stload::detail
