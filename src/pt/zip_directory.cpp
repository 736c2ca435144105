#include "pt/zip_directory.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "cpu/mapped_file.hpp"
#include "detail/check.hpp"

namespace stload::detail::pt {
namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kMaxComment = 0xFFFF;
// More entries than any checkpoint has (one per storage); bounds the work a forged count asks for.
constexpr std::uint64_t kMaxEntries = 1'000'000;
// A central directory of kMaxEntries entries with long names; bounds what a forged size allocates.
constexpr std::uint64_t kMaxDirectoryBytes = 256ULL << 20;

[[noreturn]] void fail(const std::string& what) {
  STLOAD_FAIL(ErrorCode::InvalidHeader, "zip archive: " + what);
}

// Little-endian reads at an offset already checked against the span.
std::uint64_t le(std::span<const std::byte> bytes, std::uint64_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = width; i-- > 0;)
    v = (v << 8) | std::to_integer<std::uint64_t>(bytes[at + i]);
  return v;
}

// `need` bytes at `at` fit in the archive.
void need(std::uint64_t size, std::uint64_t at, std::uint64_t need, const std::string& what) {
  if (at > size || need > size - at) {
    fail(what + " at offset " + std::to_string(at) + " (" + std::to_string(need) +
         " bytes) runs past the end of the archive (" + std::to_string(size) + " bytes)");
  }
}

struct End {
  std::uint64_t entries = 0;
  std::uint64_t directory_size = 0;
  std::uint64_t directory_offset = 0;
  std::uint64_t end_offset = 0;  // where the first end record (zip64 or not) starts
};

// The end record is in the last 22 + 65535 bytes (its comment is at most 65535 long).
std::uint64_t find_end_record(std::span<const std::byte> tail, std::uint64_t tail_at,
                              std::uint64_t size) {
  if (tail.size() < kEndSize) fail("too short to hold an end-of-central-directory record");
  // Backwards: the record is the last one; a signature inside the comment would be a forgery
  // that the comment length check catches.
  for (std::uint64_t at = tail.size() - kEndSize + 1; at-- > 0;) {
    if (le(tail, at, 4) == kEndSig && tail_at + at + kEndSize + le(tail, at + 20, 2) == size)
      return at;
  }
  fail("no end-of-central-directory record (not a zip archive, or truncated)");
}

End read_end(const ArchiveBytes& archive) {
  const std::uint64_t size = archive.size();
  const std::uint64_t want =
      std::min<std::uint64_t>(size, kEndSize + kMaxComment + kZip64LocatorSize);
  const std::uint64_t tail_at = size - want;
  const std::vector<std::byte> tail_bytes = archive.read(tail_at, want, "end of the archive");
  const std::span<const std::byte> tail(tail_bytes);
  const std::uint64_t at = find_end_record(tail, tail_at, size);
  const std::uint64_t disk = le(tail, at + 4, 2);
  const std::uint64_t directory_disk = le(tail, at + 6, 2);
  const std::uint64_t disk_entries = le(tail, at + 8, 2);
  End end{le(tail, at + 10, 2), le(tail, at + 12, 4), le(tail, at + 16, 4), tail_at + at};
  const bool zip64 = end.entries == 0xFFFF || end.directory_size == 0xFFFFFFFF ||
                     end.directory_offset == 0xFFFFFFFF || disk_entries == 0xFFFF;
  if (!zip64) {
    if (disk != 0 || directory_disk != 0 || disk_entries != end.entries)
      fail("multi-disk archives are not supported");
    return end;
  }
  if (tail_at + at < kZip64LocatorSize)
    fail("zip64 end record expected, but no zip64 locator fits");
  const std::uint64_t locator_at = tail_at + at - kZip64LocatorSize;
  const std::vector<std::byte> locator_bytes =
      archive.read(locator_at, kZip64LocatorSize, "zip64 locator");
  const std::span<const std::byte> locator(locator_bytes);
  if (le(locator, 0, 4) != kZip64LocatorSig)
    fail("zip64 end-of-central-directory locator missing at offset " + std::to_string(locator_at));
  if (le(locator, 16, 4) > 1 || le(locator, 4, 4) != 0)
    fail("multi-disk archives are not supported");
  const std::uint64_t record_at = le(locator, 8, 8);
  need(size, record_at, kZip64EndSize, "zip64 end-of-central-directory record");
  if (record_at + kZip64EndSize > locator_at)
    fail("zip64 end-of-central-directory record at offset " + std::to_string(record_at) +
         " overlaps its locator");
  const std::vector<std::byte> record_bytes =
      archive.read(record_at, kZip64EndSize, "zip64 end-of-central-directory record");
  const std::span<const std::byte> record(record_bytes);
  if (le(record, 0, 4) != kZip64EndSig)
    fail("no zip64 end-of-central-directory record at offset " + std::to_string(record_at));
  if (le(record, 16, 4) != 0 || le(record, 20, 4) != 0 || le(record, 24, 8) != le(record, 32, 8))
    fail("multi-disk archives are not supported");
  end.entries = le(record, 32, 8);
  end.directory_size = le(record, 40, 8);
  end.directory_offset = le(record, 48, 8);
  end.end_offset = record_at;
  return end;
}

// Replaces the 0xFFFFFFFF fields of a central record with the values of its zip64 extra field,
// in the order the format fixes: uncompressed size, compressed size, local header offset.
void apply_zip64_extra(std::span<const std::byte> extra, ZipEntry& entry, const std::string& name) {
  const bool want_u = entry.uncompressed_size == 0xFFFFFFFF;
  const bool want_c = entry.size == 0xFFFFFFFF;
  const bool want_o = entry.header_offset == 0xFFFFFFFF;
  if (!want_u && !want_c && !want_o) return;
  std::uint64_t at = 0;
  while (at + 4 <= extra.size()) {
    const std::uint64_t id = le(extra, at, 2);
    const std::uint64_t len = le(extra, at + 2, 2);
    if (len > extra.size() - at - 4) break;
    if (id == 0x0001) {
      std::uint64_t field = at + 4;
      const std::uint64_t end = field + len;
      auto take = [&](std::uint64_t& value) {
        if (field + 8 > end) fail("entry '" + name + "': zip64 extra field too short");
        value = le(extra, field, 8);
        field += 8;
      };
      if (want_u) take(entry.uncompressed_size);
      if (want_c) take(entry.size);
      if (want_o) take(entry.header_offset);
      return;
    }
    at += 4 + len;
  }
  fail("entry '" + name + "': sizes say zip64 but there is no zip64 extra field");
}

}  // namespace

ArchiveBytes::ArchiveBytes(const MappedFile& file) noexcept : file_(&file), size_(file.size()) {}

std::vector<std::byte> ArchiveBytes::read(std::uint64_t offset, std::uint64_t n,
                                          const std::string& what) const {
  need(size_, offset, n, what);
  std::vector<std::byte> out(static_cast<std::size_t>(n));
  if (file_ != nullptr) {
    file_->read_at(out.data(), out.size(), offset);
  } else if (n != 0) {
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
  }
  return out;
}

bool looks_like_zip(std::span<const std::byte> prefix) noexcept {
  return prefix.size() >= 4 && le(prefix, 0, 4) == kLocalHeaderSig;
}

const ZipEntry* ZipDirectory::find(std::string_view name) const noexcept {
  for (const ZipEntry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const ZipEntry& ZipDirectory::at(std::string_view name) const {
  const ZipEntry* e = find(name);
  STLOAD_EXPECT(e != nullptr, ErrorCode::InvalidHeader,
                "zip archive: no entry '" + std::string(name) + "'");
  return *e;
}

ZipDirectory read_zip_directory(const ArchiveBytes& archive) {
  const End end = read_end(archive);
  need(archive.size(), end.directory_offset, end.directory_size, "central directory");
  if (end.directory_offset + end.directory_size > end.end_offset)
    fail("central directory at offset " + std::to_string(end.directory_offset) +
         " overlaps the end record");
  if (end.entries > kMaxEntries || end.entries > end.directory_size / kCentralSize ||
      end.directory_size > kMaxDirectoryBytes)
    fail("central directory declares " + std::to_string(end.entries) + " entries in " +
         std::to_string(end.directory_size) + " bytes");

  ZipDirectory directory;
  directory.entries_.reserve(static_cast<std::size_t>(end.entries));
  const std::vector<std::byte> central_bytes =
      archive.read(end.directory_offset, end.directory_size, "central directory");
  const std::span<const std::byte> central(central_bytes);
  std::uint64_t at = 0;
  for (std::uint64_t i = 0; i < end.entries; ++i) {
    const std::string where = "central directory entry " + std::to_string(i);
    if (at + kCentralSize > central.size()) fail(where + " is truncated");
    if (le(central, at, 4) != kCentralSig) fail(where + " has no central header signature");
    const std::uint64_t flags = le(central, at + 8, 2);
    ZipEntry entry;
    entry.method = static_cast<std::uint16_t>(le(central, at + 10, 2));
    entry.size = le(central, at + 20, 4);
    entry.uncompressed_size = le(central, at + 24, 4);
    const std::uint64_t name_len = le(central, at + 28, 2);
    const std::uint64_t extra_len = le(central, at + 30, 2);
    const std::uint64_t comment_len = le(central, at + 32, 2);
    const std::uint64_t disk = le(central, at + 34, 2);
    entry.header_offset = le(central, at + 42, 4);
    const std::uint64_t variable = name_len + extra_len + comment_len;
    if (variable > central.size() - at - kCentralSize) fail(where + " is truncated");
    entry.name.assign(reinterpret_cast<const char*>(central.data() + at + kCentralSize),
                      static_cast<std::size_t>(name_len));
    const std::string named = "entry '" + entry.name + "'";
    if ((flags & 1) != 0) fail(named + " is encrypted");
    if (disk != 0 && disk != 0xFFFF) fail(named + " is on another disk");
    apply_zip64_extra(central.subspan(at + kCentralSize + name_len, extra_len), entry, entry.name);
    at += kCentralSize + variable;

    // The local header: its own name and extra lengths say where the data starts (torch pads
    // the extra field so that each storage starts 64-byte aligned).
    const std::vector<std::byte> local_bytes =
        archive.read(entry.header_offset, kLocalHeaderSize, named + ": local header");
    const std::span<const std::byte> local_header(local_bytes);
    if (le(local_header, 0, 4) != kLocalHeaderSig)
      fail(named + ": no local header at offset " + std::to_string(entry.header_offset));
    const std::uint64_t local_name = le(local_header, 26, 2);
    const std::uint64_t local_extra = le(local_header, 28, 2);
    need(archive.size(), entry.header_offset + kLocalHeaderSize, local_name + local_extra,
         named + ": local header name");
    const std::vector<std::byte> local_name_bytes =
        archive.read(entry.header_offset + kLocalHeaderSize, local_name, named + ": local name");
    const std::string_view local(reinterpret_cast<const char*>(local_name_bytes.data()),
                                 local_name_bytes.size());
    if (local != entry.name)
      fail(named + ": local header names '" + std::string(local) + "' instead");
    if (le(local_header, 8, 2) != entry.method)
      fail(named + ": local header disagrees on the compression method");
    entry.data_offset = entry.header_offset + kLocalHeaderSize + local_name + local_extra;
    need(archive.size(), entry.data_offset, entry.size, named + ": data");
    if (entry.data_offset + entry.size > end.directory_offset)
      fail(named + ": data runs into the central directory");
    directory.entries_.push_back(std::move(entry));
  }
  // Views into the vector's strings, which no longer move (it was reserved and is now full).
  std::unordered_set<std::string_view> names;
  for (const ZipEntry& e : directory.entries_)
    if (!names.insert(e.name).second) fail("two entries named '" + e.name + "'");

  // No two entries may share bytes: sorted by local header, each must end before the next starts.
  std::vector<const ZipEntry*> sorted;
  sorted.reserve(directory.entries_.size());
  for (const ZipEntry& e : directory.entries_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const ZipEntry* a, const ZipEntry* b) {
    return a->header_offset < b->header_offset;
  });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->header_offset < sorted[i - 1]->data_offset + sorted[i - 1]->size)
      fail("entries '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap");
  }
  return directory;
}

void check_stored(const ZipEntry& entry) {
  if (entry.method != 0)
    fail("entry '" + entry.name + "' is compressed (method " + std::to_string(entry.method) +
         "); only stored entries are read, as torch.save writes them");
  if (entry.size != entry.uncompressed_size)
    fail("entry '" + entry.name + "' is stored but its sizes differ (" +
         std::to_string(entry.size) + " vs " + std::to_string(entry.uncompressed_size) + ")");
}

std::vector<std::byte> stored_bytes(const ArchiveBytes& archive, const ZipEntry& entry,
                                    std::uint64_t limit) {
  check_stored(entry);
  if (entry.size > limit)
    fail("entry '" + entry.name + "' is " + std::to_string(entry.size) + " bytes, above the " +
         std::to_string(limit) + " read for it");
  return archive.read(entry.data_offset, entry.size, "entry '" + entry.name + "'");
}

}  // namespace stload::detail::pt
