#pragma once
// What a Checkpoint holds; shared with the loader, which streams from the mappings.

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cpu/mapped_file.hpp"
#include "stload/checkpoint.hpp"

namespace stload {

struct Checkpoint::Impl {
  std::filesystem::path source;  // the path open() was given, for messages
  std::vector<FileInfo> files;
  std::vector<detail::MappedFile> mappings;  // parallel to files
  std::vector<TensorRecord> tensors;         // never resized after open: `by_name` points into it
  std::unordered_map<std::string_view, std::size_t> by_name;
  std::uint64_t total_bytes = 0;
  std::vector<std::string> notes;                     // what open() chose, for the caller to hear
  std::map<std::string, std::string> index_metadata;  // the index's "metadata" (empty without one)
};

namespace detail {

/// The shards of a `*.index.json` weight_map, with the tensors mapped to each. Each name is a plain
/// file name (no `/`, `\\`, `..`, NUL, not absolute) beside the index; what it is on disk (a
/// symlink to a hub cache blob, anywhere) is followed. Two names for one file are refused.
struct ShardIndex {
  std::vector<std::filesystem::path> shards;      // the index's directory / name, sorted
  std::vector<std::vector<std::string>> tensors;  // per shard, the names the index maps to it
  std::map<std::string, std::string> metadata;    // its "metadata" object's scalar members
};

/// Parses and checks an index file. Throws InvalidIndex / NotFound / Io naming the index and entry.
ShardIndex read_shard_index(const std::filesystem::path& index_path);

}  // namespace detail
}  // namespace stload
