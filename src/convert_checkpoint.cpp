// Checkpoint -> safetensors. Nothing is loaded: each output file is written by save()'s streaming
// writer, each tensor copied from its source range by the kernel (copy_file_range) in 8 MiB
// pieces, or where the kernel cannot, pread into one 8 MiB block: host memory is at most that
// block whatever the model's size.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <system_error>
#include <tuple>
#include <utility>

#include "checkpoint_impl.hpp"
#include "cpu/gather_elements.hpp"
#include "detail/check.hpp"
#include "detail/json_text.hpp"
#include "detail/save_copying.hpp"
#include "pt/torch_checkpoint.hpp"
#include "stload/convert.hpp"
#include "stload/save.hpp"

namespace stload {
namespace {

// Bytes a tensor takes in the output: a strided tensor is written compact, so its size is its
// shape's, not the storage span its record covers.
std::uint64_t written_bytes(const TensorRecord& r) {
  return r.info.strided() ? r.info.elements() * (bit_size(r.info.dtype) / 8) : r.bytes();
}

namespace fs = std::filesystem;

bool has_torch_file(const Checkpoint& source) {
  for (const detail::MappedFile& file : source.impl().mappings) {
    std::array<std::byte, 16> prefix{};
    const auto have = static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), 16));
    file.read_at(prefix.data(), have, 0);
    if (detail::pt::sniff(std::span(prefix).first(have)) == detail::pt::FileKind::TorchZip) {
      return true;
    }
  }
  return false;
}

// The tensors to write, in source order (file by file, by offset: sequential reads), and with
// `dedupe` the exact duplicates left out, each mapped to the first name (sorted) of its group.
struct Selection {
  std::vector<std::size_t> tensors;  // indices into Checkpoint::tensors()
  std::map<std::string, std::string> tied;
};

Selection select_tensors(const Checkpoint& source, bool dedupe) {
  const auto records = source.tensors();
  Selection selection;
  if (!dedupe) {
    for (std::size_t i = 0; i < records.size(); ++i) selection.tensors.push_back(i);
    return selection;
  }
  // Tensors with the same key are the same bytes read as the same tensor.
  using Key = std::tuple<std::size_t, std::uint64_t, std::uint64_t, Dtype,
                         std::vector<std::uint64_t>, std::vector<std::uint64_t>>;
  const auto key_of = [](const TensorRecord& r) {
    return Key{r.file, r.offset, r.bytes(), r.info.dtype, r.info.shape, r.info.strides};
  };
  // An empty tensor has no bytes to share: two of them are not tied, whatever their offsets.
  std::map<Key, std::size_t> first;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].bytes() == 0) continue;
    const auto [it, inserted] = first.emplace(key_of(records[i]), i);
    if (!inserted && records[i].info.name < records[it->second].info.name) it->second = i;
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto it = records[i].bytes() == 0 ? first.end() : first.find(key_of(records[i]));
    if (it == first.end() || it->second == i) {
      selection.tensors.push_back(i);
    } else {
      selection.tied.emplace(records[i].info.name, records[it->second].info.name);
    }
  }
  return selection;
}

// Hugging Face's split (transformers' shard_checkpoint): a new shard when the next tensor would
// take the current one past the limit, so a tensor larger than the limit gets one to itself.
std::vector<std::vector<std::size_t>> split_shards(const Checkpoint& source,
                                                   const std::vector<std::size_t>& tensors,
                                                   std::uint64_t shard_bytes) {
  std::vector<std::vector<std::size_t>> shards(1);
  std::uint64_t size = 0;
  for (const std::size_t i : tensors) {
    const std::uint64_t bytes = written_bytes(source.tensors()[i]);
    if (shard_bytes != 0 && !shards.back().empty() && size + bytes > shard_bytes) {
      shards.emplace_back();
      size = 0;
    }
    shards.back().push_back(i);
    size += bytes;
  }
  return shards;
}

std::string shard_name(std::size_t index, std::size_t count) {
  std::array<char, 64> name{};
  std::snprintf(name.data(), name.size(), "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name.data();
}

// What this call created, removed again unless the conversion completes: a failed convert must
// leave nothing a later load could mistake for a checkpoint.
class OutputGuard {
 public:
  OutputGuard() = default;
  OutputGuard(const OutputGuard&) = delete;
  OutputGuard& operator=(const OutputGuard&) = delete;
  ~OutputGuard() {
    if (committed_) return;
    std::error_code ignored;
    for (const fs::path& file : files_) fs::remove(file, ignored);
    // Deepest first; fs::remove leaves a directory something else has put files into.
    for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) fs::remove(*it, ignored);
  }

  void create_directories(const fs::path& directory) {
    std::vector<fs::path> missing;
    for (fs::path p = directory; !p.empty() && !fs::exists(p); p = p.parent_path()) {
      missing.push_back(p);
      if (p == p.parent_path()) break;
    }
    std::error_code ec;
    fs::create_directories(directory, ec);
    STLOAD_EXPECT(!ec, ErrorCode::Io, directory.string() + ": cannot create: " + ec.message());
    directories_.insert(directories_.end(), missing.rbegin(), missing.rend());
  }
  void add(const fs::path& file) { files_.push_back(file); }
  void commit() noexcept { committed_ = true; }

 private:
  std::vector<fs::path> files_;
  std::vector<fs::path> directories_;  // outermost first
  bool committed_ = false;
};

// Streams one output file's tensors from the source and keeps the progress count.
class ShardWriter {
 public:
  ShardWriter(const Checkpoint& source, const ConvertOptions& options, std::uint64_t total)
      : source_(source), options_(options) {
    progress_.bytes_total = total;
    for (const detail::MappedFile& file : source.impl().mappings) {
      file.advise_sequential(0, file.size());
    }
  }

  void write(const fs::path& path, std::size_t file, const std::vector<std::size_t>& tensors,
             const std::map<std::string, std::string>& metadata) {
    const auto records = source_.tensors();
    std::vector<TensorSpec> specs;
    specs.reserve(tensors.size());
    progress_.file = file;
    progress_.file_bytes_done = 0;
    progress_.file_bytes_total = 0;
    for (const std::size_t i : tensors) {
      specs.push_back(
          TensorSpec{records[i].info.name, records[i].info.dtype, records[i].info.shape});
      progress_.file_bytes_total += written_bytes(records[i]);
    }
    const auto& mappings = source_.impl().mappings;
    std::vector<detail::FileBytes> sources;
    sources.reserve(tensors.size());
    // A strided tensor's file bytes are not its output bytes: no source to copy from (fd -1),
    // so `fill` writes it, gathered element by element out of the mapped storage.
    std::vector<StridedLayout> layouts(tensors.size());
    for (std::size_t k = 0; k < tensors.size(); ++k) {
      const TensorRecord& record = records[tensors[k]];
      if (record.info.strided()) {
        layouts[k] =
            StridedLayout{record.info.shape, record.info.strides, bit_size(record.info.dtype) / 8};
      }
      sources.push_back(detail::FileBytes{record.info.strided() ? -1 : mappings[record.file].fd(),
                                          record.offset});
    }
    // Where the kernel cannot copy between the files, the bytes come through pread.
    const auto fill = [&](std::size_t index, std::uint64_t offset, std::span<std::byte> out) {
      const TensorRecord& record = records[tensors[index]];
      if (record.info.strided()) {
        const std::uint64_t element = layouts[index].element_bytes;
        STLOAD_EXPECT(offset % element == 0 && out.size() % element == 0, ErrorCode::Io,
                      "tensor '" + record.info.name + "': a strided write split an element");
        detail::gather_run(layouts[index], mappings[record.file].bytes().data() + record.offset,
                           offset / element, out.size() / element, out.data());
        return;
      }
      try {
        mappings[record.file].read_at(out.data(), out.size(), record.offset + offset);
      } catch (const Error& e) {
        throw Error(e.code(), "tensor '" + record.info.name + "': " + e.what());
      }
    };
    const auto written = [&](std::size_t, std::uint64_t bytes) {
      progress_.bytes_done += bytes;
      progress_.file_bytes_done += bytes;
      STLOAD_EXPECT(!options_.progress || options_.progress(progress_), ErrorCode::Cancelled,
                    "conversion to " + path.string() + " cancelled");
    };
    detail::save_copying(path, specs, metadata, sources, fill, written);
  }

 private:
  const Checkpoint& source_;
  const ConvertOptions& options_;
  Progress progress_;
};

std::string tied_json(const std::map<std::string, std::string>& tied) {
  std::string json = "{";
  for (const auto& [dropped, kept] : tied) {
    json.append(json.size() > 1 ? "," : "").append(detail::json_string(dropped)).append(":");
    json.append(detail::json_string(kept));
  }
  return json + "}";
}

// transformers' layout: total_size first, then the weight map sorted by name.
void write_index(const fs::path& path, std::uint64_t total_size,
                 const std::map<std::string, std::string>& weight_map) {
  std::string text = "{\n  \"metadata\": {\n    \"total_size\": " + std::to_string(total_size) +
                     "\n  },\n  \"weight_map\": {";
  bool first = true;
  for (const auto& [name, file] : weight_map) {
    text.append(first ? "\n    " : ",\n    ").append(detail::json_string(name)).append(": ");
    text.append(detail::json_string(file));
    first = false;
  }
  text += "\n  }\n}\n";
  const fs::path temp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      STLOAD_FAIL(ErrorCode::Io, path.string() + ": cannot write the index");
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    STLOAD_FAIL(ErrorCode::Io,
                path.string() + ": cannot rename the index into place: " + ec.message());
  }
}

}  // namespace

ConvertResult convert(const Checkpoint& source, const fs::path& out,
                      const ConvertOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ConvertResult result;
  Selection selection = select_tensors(source, options.dedupe_tied);
  result.tied = std::move(selection.tied);
  result.metadata = has_torch_file(source) ? std::map<std::string, std::string>{{"format", "pt"}}
                                           : source.metadata();
  if (!result.tied.empty()) result.metadata[kTiedMetadataKey] = tied_json(result.tied);
  for (const std::size_t i : selection.tensors) result.bytes += written_bytes(source.tensors()[i]);
  result.tensors = selection.tensors.size();

  const auto shards = split_shards(source, selection.tensors, options.shard_bytes);
  OutputGuard guard;
  fs::path directory;
  if (options.shard_bytes != 0) {
    directory = out;
    guard.create_directories(directory);
  } else if (fs::is_directory(out)) {
    directory = out;
  }
  ShardWriter writer(source, options, result.bytes);
  std::map<std::string, std::string> weight_map;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::string name =
        shards.size() == 1 ? std::string("model.safetensors") : shard_name(s, shards.size());
    const fs::path path = directory.empty() ? out : directory / name;
    // Added once written: save() removes its own temporary, and a file that was at `path`
    // before a failed write is still the user's.
    writer.write(path, s, shards[s], result.metadata);
    guard.add(path);
    result.files.push_back(path);
    for (const std::size_t i : shards[s]) weight_map.emplace(source.tensors()[i].info.name, name);
  }
  if (shards.size() > 1) {
    result.index = directory / "model.safetensors.index.json";
    write_index(result.index, result.bytes, weight_map);
  }
  guard.commit();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

ConvertResult convert(const fs::path& in, const fs::path& out, const ConvertOptions& options) {
  return convert(Checkpoint::open(in), out, options);
}

}  // namespace stload
