#include "stload/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "checkpoint_impl.hpp"
#include "detail/check.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads just the header with pread, readahead off, so opening never pulls data pages into memory.
Header read_header(const detail::MappedFile& file) {
  const std::uint64_t size = file.size();
  try {
    std::array<std::byte, 8> prefix{};
    const std::size_t have = static_cast<std::size_t>(std::min<std::uint64_t>(size, prefix.size()));
    file.advise_random();
    file.read_at(prefix.data(), have, 0);
    // Rules 1-2 first, so a hostile length is refused before n bytes are allocated for it.
    const std::uint64_t n = parse_header_length(std::span(prefix).first(have), size);
    std::vector<std::byte> buffer(prefix.size() + n);
    file.read_at(buffer.data(), buffer.size(), 0);
    return parse_header(buffer, size);
  } catch (const Error& e) {
    throw Error(e.code(), file.path().string() + ": " + e.what());
  }
}

void add_file(Checkpoint::Impl& impl, const fs::path& path) {
  detail::MappedFile file = detail::MappedFile::open(path);
  Header header = read_header(file);
  const std::size_t index = impl.files.size();
  impl.files.push_back(FileInfo{path, file.size(), header.data_offset, std::move(header.metadata)});
  impl.mappings.push_back(std::move(file));
  for (TensorInfo& info : header.tensors) {
    const std::uint64_t offset = header.data_offset + info.begin;
    impl.total_bytes += info.bytes();
    impl.tensors.push_back(TensorRecord{std::move(info), index, offset});
  }
}

void index_names(Checkpoint::Impl& impl) {
  impl.by_name.reserve(impl.tensors.size());
  for (std::size_t i = 0; i < impl.tensors.size(); ++i) {
    const TensorRecord& t = impl.tensors[i];
    const auto [it, inserted] = impl.by_name.emplace(t.info.name, i);
    STLOAD_EXPECT(inserted, ErrorCode::InvalidIndex,
                  "tensor '" + t.info.name + "' is in both " +
                      impl.files[impl.tensors[it->second].file].path.string() + " and " +
                      impl.files[t.file].path.string());
  }
}

void check_index_entries(const Checkpoint::Impl& impl, const fs::path& index_path,
                         const detail::ShardIndex& index) {
  for (std::size_t shard = 0; shard < index.shards.size(); ++shard) {
    for (const std::string& name : index.tensors[shard]) {
      const auto it = impl.by_name.find(name);
      STLOAD_EXPECT(it != impl.by_name.end() && impl.tensors[it->second].file == shard,
                    ErrorCode::InvalidIndex,
                    index_path.string() + ": weight_map puts '" + name + "' in " +
                        index.shards[shard].string() + ", which does not hold it");
    }
  }
}

// Regular files (or links to them) directly in `directory` whose names end in `suffix`, by name.
std::vector<fs::path> directory_entries(const fs::path& directory, std::string_view suffix) {
  std::vector<fs::path> found;
  std::error_code ec;
  fs::directory_iterator it(directory, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (ends_with(it->path().filename().string(), suffix) && it->is_regular_file(type_ec)) {
      found.push_back(it->path());
    }
  }
  STLOAD_EXPECT(!ec, ErrorCode::Io, directory.string() + ": cannot list: " + ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

Checkpoint Checkpoint::open(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  const bool missing =
      ec ? (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
         : !fs::exists(status);
  STLOAD_EXPECT(!missing, ErrorCode::NotFound, path.string() + ": no such file or directory");
  STLOAD_EXPECT(!ec, ErrorCode::Io, path.string() + ": " + ec.message());

  auto impl = std::make_unique<Impl>();
  impl->source = path;
  fs::path index_path;
  std::vector<fs::path> files;
  if (fs::is_directory(status)) {
    const auto indexes = directory_entries(path, ".safetensors.index.json");
    STLOAD_EXPECT(indexes.size() <= 1, ErrorCode::InvalidArgument,
                  path.string() + ": holds several *.safetensors.index.json; open one of them");
    if (indexes.empty()) {
      files = directory_entries(path, ".safetensors");
      STLOAD_EXPECT(!files.empty(), ErrorCode::NotFound,
                    path.string() + ": no *.safetensors files");
    } else {
      index_path = indexes.front();
    }
  } else if (ends_with(path.filename().string(), ".index.json")) {
    index_path = path;
  } else {
    files.push_back(path);
  }

  detail::ShardIndex index;
  if (!index_path.empty()) {
    index = detail::read_shard_index(index_path);
    files = index.shards;
  }
  for (const fs::path& file : files) add_file(*impl, file);
  index_names(*impl);
  if (!index_path.empty()) check_index_entries(*impl, index_path, index);
  return Checkpoint(std::move(impl));
}

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

std::span<const FileInfo> Checkpoint::files() const noexcept {
  return impl_->files;
}
std::span<const TensorRecord> Checkpoint::tensors() const noexcept {
  return impl_->tensors;
}
std::uint64_t Checkpoint::total_bytes() const noexcept {
  return impl_->total_bytes;
}

const TensorRecord* Checkpoint::find(std::string_view name) const noexcept {
  const auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->tensors[it->second];
}

const TensorRecord& Checkpoint::at(std::string_view name) const {
  const TensorRecord* record = find(name);
  STLOAD_EXPECT(record != nullptr, ErrorCode::TensorNotFound,
                "no tensor '" + std::string(name) + "' in " + impl_->source.string());
  return *record;
}

const std::map<std::string, std::string>& Checkpoint::metadata() const noexcept {
  return impl_->files.front().metadata;
}

std::span<const std::byte> Checkpoint::file_bytes(std::size_t file) const {
  STLOAD_EXPECT(file < impl_->mappings.size(), ErrorCode::InvalidArgument,
                "file index " + std::to_string(file) + " out of range");
  return impl_->mappings[file].bytes();
}

std::span<const std::byte> Checkpoint::tensor_bytes(const TensorRecord& tensor) const {
  const std::span<const std::byte> file = file_bytes(tensor.file);
  // A record from another checkpoint (or edited by hand) must not read outside the mapping.
  STLOAD_EXPECT(tensor.offset <= file.size() && tensor.bytes() <= file.size() - tensor.offset,
                ErrorCode::InvalidArgument,
                "tensor '" + tensor.info.name + "' at offset " + std::to_string(tensor.offset) +
                    " runs past the end of " + impl_->files[tensor.file].path.string());
  return file.subspan(tensor.offset, tensor.bytes());
}

}  // namespace stload
