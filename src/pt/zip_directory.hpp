#pragma once
// The directory of a zip archive as torch.save writes it (PyTorchStreamWriter: every entry stored,
// zip64 records once the archive passes 4 GiB). Pure: reads only the bytes it is given, never
// inflates anything, and checks every length and offset against the archive's size, so a hostile
// archive gets an error naming the entry rather than a read outside the file.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stload::detail::pt {

/// One member of the archive, as its central directory and local header describe it.
struct ZipEntry {
  std::string name;
  std::uint64_t header_offset = 0;  ///< where its local header starts
  std::uint64_t data_offset = 0;    ///< first byte of its (stored) data
  std::uint64_t size = 0;           ///< bytes of data in the archive (compressed size)
  std::uint64_t uncompressed_size = 0;
  std::uint16_t method = 0;  ///< 0 = stored; anything else is refused when the bytes are asked for
};

class ZipDirectory {
 public:
  /// The entries in central-directory order.
  [[nodiscard]] const std::vector<ZipEntry>& entries() const noexcept { return entries_; }
  /// The entry called `name`, or nullptr.
  [[nodiscard]] const ZipEntry* find(std::string_view name) const noexcept;
  /// The entry called `name`; throws InvalidHeader naming it when it is missing.
  [[nodiscard]] const ZipEntry& at(std::string_view name) const;

  std::vector<ZipEntry> entries_;
};

/// True when `prefix` (a file's first bytes) starts with a zip local file header.
[[nodiscard]] bool looks_like_zip(std::span<const std::byte> prefix) noexcept;

/// Reads the end-of-central-directory record (and its zip64 records), the central directory and
/// each entry's local header. Throws InvalidHeader naming the record or entry at fault: no end
/// record, a multi-disk or encrypted archive, a length or offset past the end of the archive,
/// an entry whose local header disagrees with its central record, two entries that overlap,
/// two entries with one name.
[[nodiscard]] ZipDirectory read_zip_directory(std::span<const std::byte> archive);

/// The data of a stored entry. Throws InvalidHeader naming the entry when it is compressed (so
/// nothing is ever inflated: no zip bomb) or its sizes disagree.
[[nodiscard]] std::span<const std::byte> stored_bytes(std::span<const std::byte> archive,
                                                      const ZipEntry& entry);

}  // namespace stload::detail::pt
