#pragma once
// A (streaming) copy out of the checkpoint's mapping: the fastest way out of the page cache. The
// copy is guarded (cpu/guarded_copy.hpp), so a file truncated under it is an Io error, not SIGBUS.

#include "cpu/mapped_file.hpp"
#include "io/file_source.hpp"

namespace stload::detail {

class MappingSource final : public FileSource {
 public:
  /// Copies from `file`'s mapping; `file` must outlive the source.
  explicit MappingSource(const MappedFile& file) noexcept : file_(file) {}

  void read(std::byte* out, std::uint64_t bytes, std::uint64_t offset, bool streaming) override;
  bool read_in_place(std::uint64_t offset, std::uint64_t bytes,
                     void (*use)(const std::byte* data, void* context) noexcept,
                     void* context) override;
  [[nodiscard]] ReadMethod method() const noexcept override { return ReadMethod::Mmap; }

 private:
  const MappedFile& file_;
};

}  // namespace stload::detail
