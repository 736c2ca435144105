#include "checkpoint_files.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "detail/check.hpp"
#include "detail/links.hpp"

namespace stload::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndexSuffix = ".safetensors.index.json";
constexpr std::string_view kFileSuffix = ".safetensors";

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Regular files (or links to them) directly in `directory` whose names end in `suffix`, by name.
// A dangling link among them is an error: it is a file the directory means to hold (a blob a hub
// download lost), and skipping it would load less than the checkpoint.
std::vector<fs::path> directory_entries(const fs::path& directory, std::string_view suffix) {
  std::vector<fs::path> found;
  std::error_code ec;
  fs::directory_iterator it(directory, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!ends_with(it->path().filename().string(), suffix)) continue;
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) {
      found.push_back(it->path());
    } else {
      STLOAD_EXPECT(!is_dangling_link(it->path()), ErrorCode::NotFound,
                    dangling_link_message(it->path()));
    }
  }
  STLOAD_EXPECT(!ec, ErrorCode::Io, directory.string() + ": cannot list: " + ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

std::string names_of(const std::vector<fs::path>& files) {
  constexpr std::size_t kShown = 8;
  std::string names;
  for (std::size_t i = 0; i < files.size() && i < kShown; ++i) {
    names += (i == 0 ? "" : ", ") + files[i].filename().string();
  }
  if (files.size() > kShown) names += " and " + std::to_string(files.size() - kShown) + " more";
  return names;
}

// `PREFIX-00001-of-00003.safetensors` as transformers' save_pretrained names shards.
struct ShardName {
  std::string prefix;
  std::string total_text;
  std::uint64_t number = 0;
  std::uint64_t total = 0;
};

std::optional<std::uint64_t> digits(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<ShardName> parse_shard_name(const fs::path& file) {
  std::string stem = file.filename().string();
  stem.resize(stem.size() - kFileSuffix.size());
  const std::size_t of = stem.rfind("-of-");
  if (of == std::string::npos) return std::nullopt;
  const std::size_t dash = stem.rfind('-', of == 0 ? 0 : of - 1);
  if (dash == std::string::npos || dash == 0 || dash >= of) return std::nullopt;
  const auto number = digits(std::string_view(stem).substr(dash + 1, of - dash - 1));
  const auto total = digits(std::string_view(stem).substr(of + 4));
  // A bound on the total keeps a hostile name ("-of-999999999") from sizing the missing-shard
  // table; real sets have at most thousands of shards.
  constexpr std::uint64_t kMaxShards = 100'000;
  if (!number || !total || *number == 0 || *number > *total || *total > kMaxShards) {
    return std::nullopt;
  }
  return ShardName{stem.substr(0, dash), stem.substr(of + 4), *number, *total};
}

// What the files are as shards: one set named alike (`model-*-of-00002.safetensors`), and which
// of its numbers are absent; nullopt when the names are not one set's.
struct ShardSet {
  std::string pattern;
  std::vector<std::uint64_t> missing;
};

std::optional<ShardSet> shard_set_of(const std::vector<fs::path>& files) {
  std::vector<ShardName> shards;
  for (const fs::path& file : files) {
    auto shard = parse_shard_name(file);
    if (!shard) return std::nullopt;
    if (!shards.empty() && (shard->prefix != shards.front().prefix ||
                            shard->total_text != shards.front().total_text)) {
      return std::nullopt;
    }
    shards.push_back(std::move(*shard));
  }
  if (shards.empty()) return std::nullopt;
  const ShardName& first = shards.front();
  std::vector<bool> seen(first.total + 1, false);
  for (const ShardName& shard : shards) seen[shard.number] = true;  // number <= total: parsed so
  ShardSet set{first.prefix + "-*-of-" + first.total_text + kFileSuffix.data(), {}};
  for (std::uint64_t n = 1; n <= first.total; ++n) {
    if (!seen[n]) set.missing.push_back(n);
  }
  return set;
}

std::string missing_text(const ShardSet& set) {
  std::string text;
  for (std::size_t i = 0; i < set.missing.size() && i < 8; ++i) {
    text += (i ? ", " : "") + std::to_string(set.missing[i]);
  }
  if (set.missing.size() > 8) text += " and " + std::to_string(set.missing.size() - 8) + " more";
  return text;
}

// Subfolders holding checkpoints (a diffusers snapshot: unet/, vae/, text_encoder/), for the
// message about a directory that holds none itself.
std::vector<std::string> checkpoint_subfolders(const fs::path& directory) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) continue;
    std::error_code inner_ec;
    for (fs::directory_iterator in(it->path(), inner_ec);
         !inner_ec && in != fs::directory_iterator(); in.increment(inner_ec)) {
      if (ends_with(in->path().filename().string(), kFileSuffix)) {
        found.push_back(it->path().filename().string());
        break;
      }
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

FileChoice choose_in_directory(const fs::path& directory, const OpenOptions& options) {
  FileChoice choice;
  const std::string where = directory.string() + ": ";
  const auto indexes = directory_entries(directory, kIndexSuffix);
  STLOAD_EXPECT(indexes.size() <= 1, ErrorCode::InvalidArgument,
                where + "holds several *.safetensors.index.json (" + names_of(indexes) +
                    "); open one of them");
  auto files = directory_entries(directory, kFileSuffix);

  if (indexes.size() == 1) {
    const fs::path& index = indexes.front();
    // transformers loads X.safetensors when it sits beside X.safetensors.index.json.
    std::string single_name = index.filename().string();
    single_name.resize(single_name.size() - std::string_view(".index.json").size());
    const auto single = std::find_if(
        files.begin(), files.end(), [&](const fs::path& f) { return f.filename() == single_name; });
    if (single != files.end()) {
      choice.files.push_back(*single);
      choice.notes.push_back(where + "holds both " + single_name + " and " +
                             index.filename().string() + "; loading " + single_name +
                             ", as transformers does (open the index to load its shards instead)");
      return choice;
    }
    choice.index = index;
    choice.beside_index = std::move(files);
    return choice;
  }

  if (files.empty()) {
    // No safetensors: transformers' PyTorch names, sharded first (read without executing them).
    const fs::path bin_index = directory / "pytorch_model.bin.index.json";
    const fs::path bin = directory / "pytorch_model.bin";
    std::error_code bin_ec;
    if (fs::is_regular_file(bin_index, bin_ec)) {
      choice.index = bin_index;
      choice.beside_index = directory_entries(directory, ".bin");
      choice.notes.push_back(where + "no *.safetensors; loading the PyTorch shards of " +
                             bin_index.filename().string() + ", as transformers does");
      return choice;
    }
    if (fs::is_regular_file(bin, bin_ec)) {
      choice.files.push_back(bin);
      choice.notes.push_back(where +
                             "no *.safetensors; loading pytorch_model.bin, as transformers does");
      return choice;
    }
    const auto subfolders = checkpoint_subfolders(directory);
    std::string hint;
    if (!subfolders.empty()) {
      hint = "; these subfolders hold some, open one of them: ";
      for (std::size_t i = 0; i < subfolders.size(); ++i) hint += (i ? ", " : "") + subfolders[i];
    }
    STLOAD_FAIL(ErrorCode::NotFound, where + "no *.safetensors files" + hint);
  }
  const auto set = shard_set_of(files);
  if (set && set->missing.empty()) {
    if (files.size() > 1) {
      choice.notes.push_back(where + "no index; loading the " + std::to_string(files.size()) +
                             " files of the shard set " + set->pattern + " as one checkpoint");
    }
  } else if (set && !options.merge) {
    // Part of a model: loading what is there would hand over a model with layers missing.
    STLOAD_FAIL(ErrorCode::InvalidArgument,
                where + "the shard set " + set->pattern + " is incomplete (no shard " +
                    missing_text(*set) + ") and there is no index; download the rest, open one " +
                    "file, or ask for a merge (stload --merge, OpenOptions::merge) of those there");
  } else if (files.size() > 1) {
    STLOAD_EXPECT(options.merge, ErrorCode::InvalidArgument,
                  where + "holds " + std::to_string(files.size()) +
                      " *.safetensors files that are not one shard set, and no index (" +
                      names_of(files) +
                      "); open one of the files, or ask for a merge (stload --merge, "
                      "OpenOptions::merge) to load them all as one checkpoint");
  }
  if (options.merge && (files.size() > 1 || set) && !(set && set->missing.empty())) {
    choice.notes.push_back(where + "merging " + std::to_string(files.size()) +
                           " files as asked: " + names_of(files));
  }
  choice.files = std::move(files);
  return choice;
}

}  // namespace

FileChoice choose_files(const fs::path& path, const OpenOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  const bool missing =
      ec ? (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
         : !fs::exists(status);
  STLOAD_EXPECT(!(missing && is_dangling_link(path)), ErrorCode::NotFound,
                dangling_link_message(path));
  STLOAD_EXPECT(!missing, ErrorCode::NotFound, path.string() + ": no such file or directory");
  STLOAD_EXPECT(!ec, ErrorCode::Io, path.string() + ": " + ec.message());

  if (fs::is_directory(status)) return choose_in_directory(path, options);
  FileChoice choice;
  if (ends_with(path.filename().string(), ".index.json")) {
    choice.index = path;
  } else {
    choice.files.push_back(path);
  }
  return choice;
}

}  // namespace stload::detail
