#pragma once
// pread(2) through the checkpoint's own descriptor: the kernel's readahead serves a cold file.

#include "cpu/mapped_file.hpp"
#include "io/file_source.hpp"

namespace stload::detail {

class PreadSource final : public FileSource {
 public:
  /// Reads through `file`'s descriptor; `file` must outlive the source.
  explicit PreadSource(const MappedFile& file) noexcept : file_(file) {}

  void read(std::byte* out, std::uint64_t bytes, std::uint64_t offset, bool streaming) override;
  [[nodiscard]] ReadMethod method() const noexcept override { return ReadMethod::Pread; }

 private:
  const MappedFile& file_;
};

}  // namespace stload::detail
