#include "pt/zip_directory.hpp"

#include <algorithm>
#include <unordered_set>

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
void need(std::span<const std::byte> archive, std::uint64_t at, std::uint64_t need,
          const std::string& what) {
  if (at > archive.size() || need > archive.size() - at) {
    fail(what + " at offset " + std::to_string(at) + " (" + std::to_string(need) +
         " bytes) runs past the end of the archive (" + std::to_string(archive.size()) + " bytes)");
  }
}

struct End {
  std::uint64_t entries = 0;
  std::uint64_t directory_size = 0;
  std::uint64_t directory_offset = 0;
  std::uint64_t end_offset = 0;  // where the first end record (zip64 or not) starts
};

std::uint64_t find_end_record(std::span<const std::byte> archive) {
  if (archive.size() < kEndSize) fail("too short to hold an end-of-central-directory record");
  const std::uint64_t last = archive.size() - kEndSize;
  const std::uint64_t first = last > kMaxComment ? last - kMaxComment : 0;
  // Backwards: the record is the last one; a signature inside the comment would be a forgery
  // that the comment length check below catches.
  for (std::uint64_t at = last + 1; at-- > first;) {
    if (le(archive, at, 4) == kEndSig && at + kEndSize + le(archive, at + 20, 2) == archive.size())
      return at;
  }
  fail("no end-of-central-directory record (not a zip archive, or truncated)");
}

End read_end(std::span<const std::byte> archive) {
  const std::uint64_t at = find_end_record(archive);
  const std::uint64_t disk = le(archive, at + 4, 2);
  const std::uint64_t directory_disk = le(archive, at + 6, 2);
  const std::uint64_t disk_entries = le(archive, at + 8, 2);
  End end{le(archive, at + 10, 2), le(archive, at + 12, 4), le(archive, at + 16, 4), at};
  const bool zip64 = end.entries == 0xFFFF || end.directory_size == 0xFFFFFFFF ||
                     end.directory_offset == 0xFFFFFFFF || disk_entries == 0xFFFF;
  if (!zip64) {
    if (disk != 0 || directory_disk != 0 || disk_entries != end.entries)
      fail("multi-disk archives are not supported");
    return end;
  }
  if (at < kZip64LocatorSize) fail("zip64 end record expected, but no zip64 locator fits");
  const std::uint64_t locator = at - kZip64LocatorSize;
  if (le(archive, locator, 4) != kZip64LocatorSig)
    fail("zip64 end-of-central-directory locator missing at offset " + std::to_string(locator));
  if (le(archive, locator + 16, 4) > 1 || le(archive, locator + 4, 4) != 0)
    fail("multi-disk archives are not supported");
  const std::uint64_t record = le(archive, locator + 8, 8);
  need(archive, record, kZip64EndSize, "zip64 end-of-central-directory record");
  if (record + kZip64EndSize > locator)
    fail("zip64 end-of-central-directory record at offset " + std::to_string(record) +
         " overlaps its locator");
  if (le(archive, record, 4) != kZip64EndSig)
    fail("no zip64 end-of-central-directory record at offset " + std::to_string(record));
  if (le(archive, record + 16, 4) != 0 || le(archive, record + 20, 4) != 0 ||
      le(archive, record + 24, 8) != le(archive, record + 32, 8))
    fail("multi-disk archives are not supported");
  end.entries = le(archive, record + 32, 8);
  end.directory_size = le(archive, record + 40, 8);
  end.directory_offset = le(archive, record + 48, 8);
  end.end_offset = record;
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

ZipDirectory read_zip_directory(std::span<const std::byte> archive) {
  const End end = read_end(archive);
  need(archive, end.directory_offset, end.directory_size, "central directory");
  if (end.directory_offset + end.directory_size > end.end_offset)
    fail("central directory at offset " + std::to_string(end.directory_offset) +
         " overlaps the end record");
  if (end.entries > kMaxEntries || end.entries > end.directory_size / kCentralSize)
    fail("central directory declares " + std::to_string(end.entries) + " entries in " +
         std::to_string(end.directory_size) + " bytes");

  ZipDirectory directory;
  directory.entries_.reserve(static_cast<std::size_t>(end.entries));
  const std::span<const std::byte> central =
      archive.subspan(end.directory_offset, end.directory_size);
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
    need(archive, entry.header_offset, kLocalHeaderSize, named + ": local header");
    if (le(archive, entry.header_offset, 4) != kLocalHeaderSig)
      fail(named + ": no local header at offset " + std::to_string(entry.header_offset));
    const std::uint64_t local_name = le(archive, entry.header_offset + 26, 2);
    const std::uint64_t local_extra = le(archive, entry.header_offset + 28, 2);
    need(archive, entry.header_offset + kLocalHeaderSize, local_name + local_extra,
         named + ": local header name");
    const std::string_view local(
        reinterpret_cast<const char*>(archive.data() + entry.header_offset + kLocalHeaderSize),
        static_cast<std::size_t>(local_name));
    if (local != entry.name)
      fail(named + ": local header names '" + std::string(local) + "' instead");
    if (le(archive, entry.header_offset + 8, 2) != entry.method)
      fail(named + ": local header disagrees on the compression method");
    entry.data_offset = entry.header_offset + kLocalHeaderSize + local_name + local_extra;
    need(archive, entry.data_offset, entry.size, named + ": data");
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

std::span<const std::byte> stored_bytes(std::span<const std::byte> archive, const ZipEntry& entry) {
  if (entry.method != 0)
    fail("entry '" + entry.name + "' is compressed (method " + std::to_string(entry.method) +
         "); only stored entries are read, as torch.save writes them");
  if (entry.size != entry.uncompressed_size)
    fail("entry '" + entry.name + "' is stored but its sizes differ (" +
         std::to_string(entry.size) + " vs " + std::to_string(entry.uncompressed_size) + ")");
  need(archive, entry.data_offset, entry.size, "entry '" + entry.name + "'");
  return archive.subspan(entry.data_offset, entry.size);
}

}  // namespace stload::detail::pt
