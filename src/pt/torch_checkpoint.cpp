#include "pt/torch_checkpoint.hpp"

#include <algorithm>
#include <array>
#include <unordered_set>

#include "detail/check.hpp"
#include "pt/pickle_reader.hpp"
#include "pt/zip_directory.hpp"

namespace stload::detail::pt {
namespace {

// How deep a {"state_dict": {"model": {...}}} wrapping is followed; deeper is refused, and a
// cyclic pickle (a dict holding itself) stops here too.
constexpr int kMaxNesting = 8;
constexpr std::size_t kNamesListed = 8;

// torch.save's pre-1.6 format starts with the pickled magic number 0x1950a86a20f9469cfc6c:
// PROTO 2, LONG1 of 10 bytes.
constexpr std::array<unsigned char, 14> kLegacyMagic = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                                        0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  return out + "'";
}

// "'epoch' (int)", for notes.
std::string entry_name(const Pickle& p, std::size_t key, std::size_t value) {
  const Object& k = p.objects[key];
  return (k.kind == Kind::Str ? quoted(k.text) : "a " + p.kind_name(key) + " key") + " (" +
         p.kind_name(value) + ")";
}

bool holds_tensors(const Pickle& p, const Object& dict) {
  for (std::size_t i = 1; i < dict.items.size(); i += 2)
    if (p.objects[dict.items[i]].kind == Kind::Tensor) return true;
  return false;
}

// The dict whose tensors are the checkpoint's: the top level, or the one dict below it that
// holds tensors when the top level holds none ({"state_dict": {...}, "epoch": 3}).
std::size_t tensors_dict(const Pickle& p, std::vector<std::string>& notes) {
  std::size_t at = p.root;
  std::string path;
  for (int depth = 0;; ++depth) {
    const Object& level = p.objects[at];
    if (level.kind != Kind::Dict)
      STLOAD_FAIL(ErrorCode::InvalidHeader,
                  "data.pkl" + path + " is a " + p.kind_name(at) + ", not a dict of tensors");
    if (holds_tensors(p, level)) break;
    std::vector<std::size_t> with_tensors;  // value indices, keys at -1
    std::vector<std::size_t> dicts;
    for (std::size_t i = 0; i + 1 < level.items.size(); i += 2) {
      const Object& value = p.objects[level.items[i + 1]];
      if (value.kind != Kind::Dict || p.objects[level.items[i]].kind != Kind::Str) continue;
      dicts.push_back(i);
      if (holds_tensors(p, value)) with_tensors.push_back(i);
    }
    const std::vector<std::size_t>& pick = with_tensors.empty() ? dicts : with_tensors;
    if (pick.size() != 1 || depth == kMaxNesting) {
      std::string names;
      for (const std::size_t i : pick)
        names += (names.empty() ? "" : ", ") + quoted(p.objects[level.items[i]].text);
      STLOAD_FAIL(
          ErrorCode::InvalidHeader,
          "data.pkl" + path + " holds no tensors" +
              (pick.empty()           ? std::string(" and no dict of them")
               : depth == kMaxNesting ? " within " + std::to_string(kMaxNesting) + " nested dicts"
                                      : "; several dicts below it may hold them (" + names +
                                            "): stload reads one dict of tensors"));
    }
    std::string others;  // what the level holds besides the dict read: not loaded
    std::size_t count = 0;
    for (std::size_t i = 0; i + 1 < level.items.size(); i += 2) {
      if (i == pick[0] || count++ >= kNamesListed) continue;
      others += (others.empty() ? "" : ", ") + entry_name(p, level.items[i], level.items[i + 1]);
    }
    const std::string& key = p.objects[level.items[pick[0]]].text;
    const std::string above = path.empty() ? "the top level" : "data.pkl" + path;
    path += "[" + quoted(key) + "]";
    at = level.items[pick[0] + 1];
    notes.push_back("reading the tensors of data.pkl" + path + ": " + above + " holds no tensors" +
                    (count == 0 ? std::string()
                                : "; not loading its other entries: " + others +
                                      (count > kNamesListed ? ", ..." : "")));
  }
  return at;
}

bool contiguous(const TensorRef& t) {
  std::uint64_t expected = 1;
  for (std::size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] == 0) return true;  // an empty tensor has no layout
  }
  for (std::size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

std::string dims(const std::vector<std::uint64_t>& v) {
  std::string s = "(";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

// a * b, false on overflow.
bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (a != 0 && b > UINT64_MAX / a) return false;
  out = a * b;
  return true;
}

}  // namespace

FileKind sniff(std::span<const std::byte> prefix) noexcept {
  // A safetensors file whose 8-byte length happens to read "PK\3\4" has '{' at byte 8; a zip
  // local header has the compression method there.
  if (looks_like_zip(prefix) && (prefix.size() < 9 || prefix[8] != std::byte{'{'}))
    return FileKind::TorchZip;
  if (prefix.size() >= kLegacyMagic.size() &&
      std::equal(kLegacyMagic.begin(), kLegacyMagic.end(), prefix.begin(),
                 [](unsigned char a, std::byte b) { return std::byte{a} == b; }))
    return FileKind::TorchLegacy;
  return FileKind::Safetensors;
}

void refuse_legacy() {
  STLOAD_FAIL(ErrorCode::InvalidHeader,
              "a PyTorch checkpoint in the legacy (pre-1.6, non-zip) torch.save format, which "
              "stload does not read; re-save it with a current torch (torch.save(torch.load(path, "
              "weights_only=True), new_path)) or convert it to safetensors");
}

TorchCheckpoint read_torch_checkpoint(const ArchiveBytes& archive) {
  const ZipDirectory zip = read_zip_directory(archive);
  // torch.save names every entry <archive>/...: find <archive>/data.pkl at the top.
  const ZipEntry* pickle_entry = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const std::size_t slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 && e.name.substr(slash) == "/data.pkl") {
      STLOAD_EXPECT(
          pickle_entry == nullptr, ErrorCode::InvalidHeader,
          "zip archive holds two data.pkl ('" + pickle_entry->name + "' and '" + e.name + "')");
      pickle_entry = &e;
    }
  }
  STLOAD_EXPECT(pickle_entry != nullptr, ErrorCode::InvalidHeader,
                "a zip archive without <archive>/data.pkl: not a torch.save checkpoint");
  const std::string prefix = pickle_entry->name.substr(0, pickle_entry->name.size() - 8);

  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
    const std::vector<std::byte> b = stored_bytes(archive, *order, 16);
    const std::string_view text(reinterpret_cast<const char*>(b.data()), b.size());
    STLOAD_EXPECT(text != "big", ErrorCode::InvalidHeader,
                  "a big-endian PyTorch checkpoint (byteorder 'big'), which stload does not "
                  "byte-swap; load and re-save it with torch on a little-endian machine");
    STLOAD_EXPECT(text == "little", ErrorCode::InvalidHeader,
                  "byteorder entry says '" + std::string(text.substr(0, 16)) +
                      "', neither 'little' nor 'big'");
  }

  const Pickle pickle = read_pickle(stored_bytes(archive, *pickle_entry));
  TorchCheckpoint out;
  const Object& dict = pickle.objects[tensors_dict(pickle, out.notes)];

  std::vector<TensorInfo> tensors;
  std::vector<std::uint64_t> offsets;  // absolute, parallel to tensors
  std::unordered_set<std::string> names;
  std::string skipped;
  std::size_t skipped_count = 0;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const Object& key = pickle.objects[dict.items[i]];
    const Object& value = pickle.objects[dict.items[i + 1]];
    if (key.kind != Kind::Str || value.kind != Kind::Tensor) {
      if (skipped_count++ < kNamesListed)
        skipped +=
            (skipped.empty() ? "" : ", ") + entry_name(pickle, dict.items[i], dict.items[i + 1]);
      continue;
    }
    const std::string& name = key.text;
    STLOAD_EXPECT(names.insert(name).second, ErrorCode::InvalidHeader,
                  "data.pkl names tensor " + quoted(name) + " twice");
    const TensorRef& t = pickle.tensors[static_cast<std::size_t>(value.integer)];
    const StorageRef& s = pickle.storages[t.storage];
    const std::string what = "tensor " + quoted(name);
    const ZipEntry& entry = zip.at(prefix + "data/" + s.key);
    check_stored(entry);
    const std::uint64_t storage_size = entry.size;
    const std::uint64_t element = bit_size(t.dtype) / 8;  // every torch dtype is whole bytes
    std::uint64_t elements = 1;
    for (const std::uint64_t d : t.shape)
      STLOAD_EXPECT(mul(elements, d, elements), ErrorCode::ValidationOverflow,
                    what + ": element count of shape " + dims(t.shape) + " overflows");
    // The storage elements the view reaches: 1 + sum (size - 1) * stride past its offset (strides
    // are non-negative: the pickle reader refuses negative ints). A compact tensor reaches
    // exactly its elements; a strided one reaches a span that gaps make longer and strides of 0
    // (expand) make shorter. Each step is checked, since a hostile pickle chooses the numbers.
    const bool strided = elements != 0 && !contiguous(t);
    std::uint64_t reach = elements;  // elements of storage the view spans
    if (strided) {
      reach = 1;
      for (std::size_t d = 0; d < t.shape.size(); ++d) {
        std::uint64_t step = 0;
        STLOAD_EXPECT(mul(t.shape[d] - 1, t.stride[d], step) && reach + step >= reach,
                      ErrorCode::ValidationOverflow,
                      what + ": the storage span of shape " + dims(t.shape) + " with stride " +
                          dims(t.stride) + " overflows");
        reach += step;
      }
    }
    std::uint64_t begin = 0;
    std::uint64_t bytes = 0;
    STLOAD_EXPECT(mul(t.storage_offset, element, begin) && mul(reach, element, bytes) &&
                      begin <= storage_size && bytes <= storage_size - begin,
                  ErrorCode::InvalidOffset,
                  what + " (" + std::string(to_string(t.dtype)) + " " + dims(t.shape) +
                      (strided ? " stride " + dims(t.stride) : std::string()) + " at element " +
                      std::to_string(t.storage_offset) +
                      ") needs more bytes than its storage entry '" + entry.name + "' holds (" +
                      std::to_string(storage_size) + ")");
    // The loaded (compact) size must be expressible too: a stride-0 view can claim many more
    // elements than its storage holds.
    std::uint64_t output_bytes = 0;
    STLOAD_EXPECT(mul(elements, element, output_bytes), ErrorCode::ValidationOverflow,
                  what + ": the size of shape " + dims(t.shape) + " overflows");
    TensorInfo info;
    info.name = name;
    info.dtype = t.dtype;
    info.shape = t.shape;
    if (strided) info.strides = t.stride;
    tensors.push_back(std::move(info));
    offsets.push_back(entry.data_offset + begin);
    tensors.back().end = bytes;  // length for now; made relative below
  }
  if (skipped_count != 0) {
    out.notes.push_back("not loading " + std::to_string(skipped_count) + " entr" +
                        (skipped_count == 1 ? "y" : "ies") + " that " +
                        (skipped_count == 1 ? "is" : "are") + " not a tensor: " + skipped +
                        (skipped_count > kNamesListed ? ", ..." : ""));
  }

  const std::uint64_t data_offset =
      offsets.empty() ? archive.size() : *std::min_element(offsets.begin(), offsets.end());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    tensors[i].begin = offsets[i] - data_offset;
    tensors[i].end = tensors[i].begin + tensors[i].end;
  }
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.name < b.name;
  });
  out.header.header_size = 0;
  out.header.data_offset = data_offset;
  out.header.data_size = archive.size() - data_offset;
  out.header.tensors = std::move(tensors);
  return out;
}

}  // namespace stload::detail::pt
