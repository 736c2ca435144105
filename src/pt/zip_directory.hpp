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

namespace stload::detail {
class MappedFile;
}

namespace stload::detail::pt {

/// Where an archive's bytes come from: a span in memory (tests, fuzzing), or a file read with
/// pread, never through its mapping, so that a file truncated while it is opened is an Io error
/// rather than a SIGBUS. Every read is checked against size() first.
class ArchiveBytes {
 public:
  explicit ArchiveBytes(std::span<const std::byte> bytes) noexcept
      : bytes_(bytes), size_(bytes.size()) {}
  explicit ArchiveBytes(const MappedFile& file) noexcept;

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  /// `n` bytes at `offset`; throws InvalidHeader naming `what` when they are not all in the
  /// archive, Io when the file cannot be read.
  [[nodiscard]] std::vector<std::byte> read(std::uint64_t offset, std::uint64_t n,
                                            const std::string& what) const;

 private:
  std::span<const std::byte> bytes_;
  const MappedFile* file_ = nullptr;
  std::uint64_t size_ = 0;
};

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
[[nodiscard]] ZipDirectory read_zip_directory(const ArchiveBytes& archive);

/// Throws InvalidHeader naming the entry when it is compressed (so nothing is ever inflated: no
/// zip bomb) or its sizes disagree: the checks an entry read as tensor data must pass.
void check_stored(const ZipEntry& entry);

/// A copy of a stored entry's data (data.pkl, byteorder), at most `limit` bytes. Throws as
/// check_stored does, and InvalidHeader when the entry is larger than `limit`.
[[nodiscard]] std::vector<std::byte> stored_bytes(const ArchiveBytes& archive,
                                                  const ZipEntry& entry,
                                                  std::uint64_t limit = 1ULL << 30);

}  // namespace stload::detail::pt
