#pragma once
// A zero-copy arena: a private, copy-on-write mapping of one whole checkpoint file, whose tensors
// are views at their file offsets (LoadOptions::zero_copy). What the reference safetensors does on
// the CPU (torch's UntypedStorage.from_file with shared=False) and llama.cpp does for its weights:
// the load moves no byte, pages come in from the page cache when first touched.
//
// Private and writable rather than read-only: a caller that writes into a loaded tensor (an
// in-place op in Python) gets its own copy of that page, the file never changes, and nothing
// faults. The mapping is the file's own inode (made from the descriptor the checkpoint opened and
// validated), and lives as long as the arena: the LoadedModel and every DLPack export keep it.

#include <cstdint>

#include "stload/engine.hpp"

namespace stload::detail {

class MappedFile;

class FileViewBuffer final : public Buffer {
 public:
  /// Maps `file` privately. Throws Io naming the file when it is no longer the size the checkpoint
  /// was validated at (it changed since open) or mmap fails.
  FileViewBuffer(const MappedFile& file, Device device);
  ~FileViewBuffer() override;
  FileViewBuffer(const FileViewBuffer&) = delete;
  FileViewBuffer& operator=(const FileViewBuffer&) = delete;

  [[nodiscard]] std::byte* data() const noexcept override { return data_; }
  [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }
  [[nodiscard]] Device device() const noexcept override { return device_; }

 private:
  std::byte* data_ = nullptr;
  std::uint64_t size_ = 0;
  Device device_;
};

}  // namespace stload::detail
