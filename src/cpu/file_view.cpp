#include "cpu/file_view.hpp"

#include <sys/mman.h>
#include <sys/stat.h>

#include "cpu/mapped_file.hpp"
#include "detail/check.hpp"

namespace stload::detail {

FileViewBuffer::FileViewBuffer(const MappedFile& file, Device device)
    : size_(file.size()), device_(device) {
  const std::string name = file.path().string();
  struct stat info {};
  STLOAD_EXPECT(::fstat(file.fd(), &info) == 0, ErrorCode::Io, errno_message(name + ": fstat"));
  // Views past a shortened file's end would fault (SIGBUS) when touched: refuse it here, while
  // the load can still fail cleanly.
  STLOAD_EXPECT(static_cast<std::uint64_t>(info.st_size) == size_, ErrorCode::Io,
                name + ": the file changed since it was opened: " + std::to_string(info.st_size) +
                    " bytes, " + std::to_string(size_) + " when validated");
  if (size_ == 0) return;
  void* data = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd(), 0);
  STLOAD_EXPECT(data != MAP_FAILED, ErrorCode::Io, errno_message(name + ": mmap (private view)"));
  data_ = static_cast<std::byte*>(data);
}

FileViewBuffer::~FileViewBuffer() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace stload::detail
