#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "checkpoint_impl.hpp"
#include "detail/check.hpp"
#include "detail/links.hpp"
#include "detail/rapidjson.hpp"

#include <rapidjson/reader.h>

namespace stload::detail {
namespace {

// An index holds a weight_map of names, not tensors: a generous cap still bounds memory.
constexpr std::uint64_t kMaxIndexSize = 1ULL << 30U;

// ENOENT, or ENOTDIR for a path through a regular file; anything else (EACCES, ELOOP, ...) is Io.
bool is_missing(const std::error_code& ec) {
  return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
}

// The security boundary is the name: an index may only pick files beside itself, by plain file
// name. What such a name is on disk is the directory owner's choice and is followed wherever it
// leads, as in directory mode: a Hugging Face snapshot links every file to ../../blobs/<sha256>.
struct Shard {
  std::filesystem::path path;       // directory / name, as the user sees it
  std::filesystem::path canonical;  // what it resolves to, to find two names for one file
};

Shard checked_shard(const std::filesystem::path& index, const std::filesystem::path& directory,
                    std::string_view name) {
  const std::string where = index.string() + ": shard '" + std::string(name) + "'";
  // A NUL would cut the name short at the system call, so the file opened would not be the one
  // named.
  STLOAD_EXPECT(name.find('\0') == std::string_view::npos, ErrorCode::InvalidIndex,
                where + " contains a NUL character");
  STLOAD_EXPECT(!name.empty(), ErrorCode::InvalidIndex, where + " is an empty name");
  STLOAD_EXPECT(
      name.front() != '/' && name.front() != '\\' && !std::filesystem::path(name).has_root_name(),
      ErrorCode::InvalidIndex, where + " must be a relative file name, not a path");
  for (std::size_t start = 0; start <= name.size();) {
    const std::size_t end = std::min(name.find_first_of("/\\", start), name.size());
    STLOAD_EXPECT(name.substr(start, end - start) != "..", ErrorCode::InvalidIndex,
                  where + " must not contain '..'");
    start = end + 1;
  }
  STLOAD_EXPECT(name.find_first_of("/\\") == std::string_view::npos, ErrorCode::InvalidIndex,
                where + " must be a plain file name beside the index (no '/' or '\\')");
  STLOAD_EXPECT(name != ".", ErrorCode::InvalidIndex, where + " names the directory, not a file");

  Shard shard{directory / std::string(name), {}};
  std::error_code ec;
  shard.canonical = std::filesystem::canonical(shard.path, ec);
  if (ec && is_missing(ec) && is_dangling_link(shard.path)) {
    STLOAD_FAIL(ErrorCode::NotFound, where + ": " + dangling_link_message(shard.path));
  }
  STLOAD_EXPECT(!ec || !is_missing(ec), ErrorCode::NotFound,
                where + " does not exist (" + shard.path.string() + ")");
  STLOAD_EXPECT(!ec, ErrorCode::Io, where + ": " + ec.message());
  // As for a single file: a directory, FIFO or device where a file belongs is an I/O error.
  STLOAD_EXPECT(
      std::filesystem::is_regular_file(std::filesystem::status(shard.canonical, ec)) && !ec,
      ErrorCode::Io,
      where + " (" + shard.path.string() + link_suffix(shard.path) + ") is not a regular file");
  return shard;
}

// The index's directory as named, so shard paths read as the user sees them: an index that is
// a symlink (as in a hub cache snapshot) describes the shards beside the link, not beside its
// target. Only a path climbing with ".." is resolved, since "x/link/.." is not "x" to the kernel.
std::filesystem::path index_directory(const std::filesystem::path& index_path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(index_path, ec);
  std::filesystem::path directory = absolute.parent_path();
  const bool climbs =
      std::any_of(directory.begin(), directory.end(), [](const auto& p) { return p == ".."; });
  if (!ec && climbs) directory = std::filesystem::canonical(directory, ec);
  STLOAD_EXPECT(!ec || !is_missing(ec), ErrorCode::NotFound,
                index_path.string() + ": " + ec.message());
  STLOAD_EXPECT(!ec, ErrorCode::Io, index_path.string() + ": " + ec.message());
  return climbs ? directory : directory.lexically_normal();
}

// Streams the index through RapidJSON's SAX reader: only the weight_map's pairs and the scalar
// members of "metadata" are kept, so a large index costs its entries, not a DOM of the whole
// document, and a number stays distinguishable from a string (with kParseNumbersAsStringsFlag a
// DOM would store both as text).
class IndexHandler {
 public:
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] bool saw_weight_map() const { return saw_weight_map_; }
  /// Distinct shard names, in first-mention order, and per shard the tensors mapped to it.
  [[nodiscard]] std::vector<std::string>& shard_names() { return shard_names_; }
  [[nodiscard]] std::vector<std::vector<std::string>>& tensors() { return tensors_; }
  [[nodiscard]] std::size_t entry_count() const { return entry_count_; }
  /// The scalar members of the top-level "metadata" object, as their JSON text (strings decoded).
  [[nodiscard]] std::map<std::string, std::string>& metadata() { return metadata_; }

  bool Null() { return keep("null") && scalar("null"); }
  bool Bool(bool value) { return keep(value ? "true" : "false") && scalar("a boolean"); }
  // Numbers arrive as RawNumber (kParseNumbersAsStringsFlag); the typed handlers are for the
  // Handler concept only.
  bool Int(int /*unused*/) { return scalar("a number"); }
  bool Int64(std::int64_t /*unused*/) { return scalar("a number"); }
  bool Uint(unsigned /*unused*/) { return scalar("a number"); }
  bool Uint64(std::uint64_t /*unused*/) { return scalar("a number"); }
  bool Double(double /*unused*/) { return scalar("a number"); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    return keep(std::string(str, length)) && scalar("a number");
  }

  bool String(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    if (!is_decoded_string_utf8(str, length)) return fail(kLoneSurrogate);
    if (depth_ == 2 && in_weight_map_) {
      // Each shard name is kept once: a million entries naming four files cost four names.
      const auto [slot, inserted] =
          slot_of_shard_.try_emplace(std::string(str, length), shard_names_.size());
      if (inserted) {
        shard_names_.push_back(slot->first);
        tensors_.emplace_back();
      }
      tensors_[slot->second].push_back(std::move(key_));
      ++entry_count_;
      return true;
    }
    return keep(std::string(str, length)) && scalar("a string");
  }

  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    if (!is_decoded_string_utf8(str, length)) return fail(kLoneSurrogate);
    if (depth_ == 1) {
      // RapidJSON keeps duplicate keys: a second weight_map must not silently win or lose.
      std::string key(str, length);
      if (std::find(top_keys_.begin(), top_keys_.end(), key) != top_keys_.end()) {
        return fail("key '" + key + "' appears twice");
      }
      top_keys_.push_back(std::move(key));
    } else if (depth_ == 2 && (in_weight_map_ || in_metadata_)) {
      key_.assign(str, length);
      if (in_metadata_ && !metadata_keys_.insert(key_).second)
        return fail("metadata key '" + key_ + "' appears twice");
    }
    return true;
  }

  bool StartObject() {
    if (depth_ == 1 && top_keys_.back() == "weight_map") {
      in_weight_map_ = true;
      saw_weight_map_ = true;
    } else if (depth_ == 1 && top_keys_.back() == "metadata") {
      in_metadata_ = true;
    } else if (depth_ == 2 && in_weight_map_) {
      return fail("weight_map entry '" + key_ + "' must name a file, not an object");
    }
    ++depth_;
    return true;
  }
  bool EndObject(rapidjson::SizeType /*members*/) {
    --depth_;
    if (depth_ == 1) in_weight_map_ = in_metadata_ = false;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0) return fail("not a JSON object");
    if (depth_ == 1 && top_keys_.back() == "weight_map") return fail("no 'weight_map' object");
    if (depth_ == 2 && in_weight_map_) {
      return fail("weight_map entry '" + key_ + "' must name a file, not an array");
    }
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType /*elements*/) {
    --depth_;
    return true;
  }

 private:
  static constexpr const char* kLoneSurrogate =
      "a \\u escape decodes to a lone surrogate, which is not UTF-8";

  // A scalar is fine anywhere but at the root, as the weight_map, or as a weight_map value
  // that is not a string.
  bool scalar(const char* what) {
    if (depth_ == 0) return fail("not a JSON object");
    if (depth_ == 1 && top_keys_.back() == "weight_map") return fail("no 'weight_map' object");
    if (depth_ == 2 && in_weight_map_) {
      return fail("weight_map entry '" + key_ + "' must name a file, not " + what);
    }
    return true;
  }
  // A scalar member of "metadata" is kept as its text; nested values there are not (no producer
  // writes them, and their text would need re-serializing).
  bool keep(std::string text) {
    if (depth_ == 2 && in_metadata_) metadata_[key_] = std::move(text);
    return true;
  }
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  int depth_ = 0;  // 1 inside the root object, 2 inside one of its values
  bool in_weight_map_ = false;
  bool in_metadata_ = false;
  bool saw_weight_map_ = false;
  std::map<std::string, std::string> metadata_;
  std::set<std::string> metadata_keys_;  // every member, scalar or not: a key twice is refused
  std::vector<std::string> top_keys_;    // a handful: weight_map, metadata
  std::string key_;
  std::unordered_map<std::string, std::size_t> slot_of_shard_;
  std::vector<std::string> shard_names_;
  std::vector<std::vector<std::string>> tensors_;
  std::size_t entry_count_ = 0;
  std::string error_;
};

}  // namespace

ShardIndex read_shard_index(const std::filesystem::path& index_path) {
  const MappedFile file = MappedFile::open(index_path);
  STLOAD_EXPECT(file.size() <= kMaxIndexSize, ErrorCode::InvalidIndex,
                index_path.string() + ": index of " + std::to_string(file.size()) +
                    " bytes is larger than the 1 GiB limit");
  const auto bytes = file.bytes();
  const char* text = reinterpret_cast<const char*>(bytes.data());
  STLOAD_EXPECT(is_valid_utf8(text, bytes.size()), ErrorCode::InvalidIndex,
                index_path.string() + ": not valid UTF-8");

  IndexHandler handler;
  rapidjson::MemoryStream stream(text, bytes.size());
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kUntrustedParseFlags>(stream, handler);
  STLOAD_EXPECT(
      result, ErrorCode::InvalidIndex,
      index_path.string() + ": " +
          (handler.error().empty() ? std::string(rapidjson::GetParseError_En(result.Code()))
                                   : handler.error()) +
          " at offset " + std::to_string(result.Offset()));
  STLOAD_EXPECT(
      is_json_whitespace(text + stream.Tell(), bytes.size() - stream.Tell()),
      ErrorCode::InvalidIndex,
      index_path.string() + ": trailing characters at offset " + std::to_string(stream.Tell()));
  STLOAD_EXPECT(handler.saw_weight_map(), ErrorCode::InvalidIndex,
                index_path.string() + ": no 'weight_map' object");
  STLOAD_EXPECT(handler.entry_count() != 0, ErrorCode::InvalidIndex,
                index_path.string() + ": weight_map is empty");
  {
    std::vector<std::string_view> names;
    names.reserve(handler.entry_count());
    for (const auto& shard : handler.tensors())
      names.insert(names.end(), shard.begin(), shard.end());
    std::sort(names.begin(), names.end());
    const auto dup = std::adjacent_find(names.begin(), names.end());
    STLOAD_EXPECT(
        dup == names.end(), ErrorCode::InvalidIndex,
        index_path.string() + ": tensor '" + std::string(*dup) + "' appears twice in weight_map");
  }

  const std::filesystem::path directory = index_directory(index_path);
  std::vector<Shard> shards;
  for (const std::string& name : handler.shard_names()) {
    shards.push_back(checked_shard(index_path, directory, name));
  }
  {
    // Two names for one file (a symlink alias, a hard link is not caught) would load it twice.
    std::vector<std::size_t> by_target(shards.size());
    for (std::size_t i = 0; i < by_target.size(); ++i) by_target[i] = i;
    std::sort(by_target.begin(), by_target.end(), [&](std::size_t a, std::size_t b) {
      return shards[a].canonical < shards[b].canonical;
    });
    for (std::size_t i = 1; i < by_target.size(); ++i) {
      const Shard& a = shards[by_target[i - 1]];
      const Shard& b = shards[by_target[i]];
      STLOAD_EXPECT(a.canonical != b.canonical, ErrorCode::InvalidIndex,
                    index_path.string() + ": shards " + a.path.filename().string() + " and " +
                        b.path.filename().string() + " are one file (" + a.canonical.string() +
                        "), named twice");
    }
  }
  // Shards in file-name order, as a directory without an index would list them.
  std::vector<std::size_t> order(shards.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return shards[a].path < shards[b].path; });
  ShardIndex sorted;
  sorted.metadata = std::move(handler.metadata());
  for (const std::size_t i : order) {
    sorted.shards.push_back(std::move(shards[i].path));
    sorted.tensors.push_back(std::move(handler.tensors()[i]));
  }
  return sorted;
}

}  // namespace stload::detail
