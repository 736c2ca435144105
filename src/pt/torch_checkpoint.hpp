#pragma once
// A PyTorch zip checkpoint (torch.save since 1.6) read as a safetensors-like Header: the tensors
// of its state dict, each a byte range of the archive (its storage's stored zip entry), so that
// planning, placement, staging and every engine work on it unchanged. Nothing is unpickled in
// the Python sense: pt/pickle_reader.hpp interprets data.pkl as data.

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "pt/zip_directory.hpp"
#include "stload/header.hpp"

namespace stload::detail::pt {

/// What a file's first bytes say it is.
enum class FileKind {
  Safetensors,  ///< anything else: the safetensors parser decides
  TorchZip,     ///< a zip archive (torch.save's format since 1.6)
  TorchLegacy,  ///< torch.save's pre-1.6 format: pickles one after another, no archive
};

/// Needs the first 16 bytes (fewer when the file is shorter).
[[nodiscard]] FileKind sniff(std::span<const std::byte> prefix) noexcept;

struct TorchCheckpoint {
  /// `data_offset` is the first tensor byte; each TensorInfo's begin/end is relative to it, as
  /// in a safetensors header; tensors sorted by offset, then name. Views of one storage may
  /// share bytes.
  Header header;
  /// Choices made, one sentence each: the nested dict read, the entries skipped.
  std::vector<std::string> notes;
};

/// Reads the archive's directory and data.pkl and maps the state dict's tensors. Throws
/// stload::Error (InvalidHeader for a malformed or refused archive or pickle, InvalidOffset for
/// a tensor outside its storage) with a message naming the entry or tensor; the caller adds the
/// path.
[[nodiscard]] TorchCheckpoint read_torch_checkpoint(const ArchiveBytes& archive);

/// The error for a pre-1.6 checkpoint: what it is and what to do.
[[noreturn]] void refuse_legacy();

}  // namespace stload::detail::pt
