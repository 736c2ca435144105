#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "checkpoint_impl.hpp"
#include "detail/check.hpp"
#include "detail/rapidjson.hpp"

#include <rapidjson/document.h>

namespace stload::detail {
namespace {

// An index holds a weight_map of names, not tensors: a generous cap still bounds memory.
constexpr std::uint64_t kMaxIndexSize = 1ULL << 30U;

std::filesystem::path checked_shard_path(const std::filesystem::path& index,
                                         const std::filesystem::path& directory,
                                         std::string_view name) {
  const std::string where = index.string() + ": shard '" + std::string(name) + "'";
  const std::filesystem::path relative(name);
  STLOAD_EXPECT(!name.empty() && relative.is_relative() && !relative.has_root_name(),
                ErrorCode::InvalidIndex, where + " must be a relative file name");
  for (const auto& part : relative) {
    STLOAD_EXPECT(part != "..", ErrorCode::InvalidIndex, where + " must not contain '..'");
  }
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(directory / relative, ec);
  STLOAD_EXPECT(!ec, ErrorCode::NotFound, where + " does not exist");
  const std::filesystem::path inside = resolved.lexically_relative(directory);
  STLOAD_EXPECT(!inside.empty() && *inside.begin() != "..", ErrorCode::InvalidIndex,
                where + " resolves to " + resolved.string() + ", outside the checkpoint directory");
  STLOAD_EXPECT(std::filesystem::is_regular_file(resolved), ErrorCode::InvalidIndex,
                where + " is not a regular file");
  return resolved;
}

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

  rapidjson::Document doc;
  rapidjson::MemoryStream stream(text, bytes.size());
  doc.ParseStream<kUntrustedParseFlags>(stream);
  STLOAD_EXPECT(!doc.HasParseError(), ErrorCode::InvalidIndex,
                index_path.string() + ": " + rapidjson::GetParseError_En(doc.GetParseError()) +
                    " at offset " + std::to_string(doc.GetErrorOffset()));
  STLOAD_EXPECT(
      is_json_whitespace(text + stream.Tell(), bytes.size() - stream.Tell()),
      ErrorCode::InvalidIndex,
      index_path.string() + ": trailing characters at offset " + std::to_string(stream.Tell()));
  STLOAD_EXPECT(doc.IsObject(), ErrorCode::InvalidIndex,
                index_path.string() + ": not a JSON object");
  const auto weight_map = doc.FindMember("weight_map");
  STLOAD_EXPECT(weight_map != doc.MemberEnd() && weight_map->value.IsObject(),
                ErrorCode::InvalidIndex, index_path.string() + ": no 'weight_map' object");

  const std::filesystem::path directory = std::filesystem::canonical(index_path).parent_path();
  ShardIndex index;
  std::unordered_map<std::string, std::size_t> shard_of_name;  // file name -> shard slot
  std::unordered_set<std::string_view> seen_tensors;
  for (const auto& entry : weight_map->value.GetObject()) {
    const std::string_view tensor(entry.name.GetString(), entry.name.GetStringLength());
    STLOAD_EXPECT(
        entry.value.IsString(), ErrorCode::InvalidIndex,
        index_path.string() + ": weight_map entry '" + std::string(tensor) + "' must name a file");
    STLOAD_EXPECT(
        seen_tensors.insert(tensor).second, ErrorCode::InvalidIndex,
        index_path.string() + ": tensor '" + std::string(tensor) + "' appears twice in weight_map");
    const std::string shard(entry.value.GetString(), entry.value.GetStringLength());
    auto [slot, inserted] = shard_of_name.try_emplace(shard, index.shards.size());
    if (inserted) {
      index.shards.push_back(checked_shard_path(index_path, directory, shard));
      index.tensors.emplace_back();
    }
    index.tensors[slot->second].emplace_back(tensor);
  }
  STLOAD_EXPECT(!index.shards.empty(), ErrorCode::InvalidIndex,
                index_path.string() + ": weight_map is empty");
  // Two names for one file (e.g. "a.safetensors" and "./a.safetensors") would load it twice.
  std::vector<std::filesystem::path> sorted = index.shards;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  STLOAD_EXPECT(dup == sorted.end(), ErrorCode::InvalidIndex,
                index_path.string() + ": shard " + dup->string() + " is named twice");
  return index;
}

}  // namespace stload::detail
