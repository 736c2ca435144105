#include "stload/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "checkpoint_files.hpp"
#include "checkpoint_impl.hpp"
#include "detail/check.hpp"
#include "detail/links.hpp"
#include "detail/log.hpp"
#include "pt/torch_checkpoint.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;

// Reads just the header with pread, readahead off, so opening never pulls data pages into memory.
// A PyTorch zip checkpoint (recognised by its first bytes, whatever its extension) is read the
// same way: its directory, local headers and data.pkl, never its storages.
Header read_header(const detail::MappedFile& file, std::vector<std::string>& notes) {
  const std::uint64_t size = file.size();
  try {
    std::array<std::byte, 16> prefix{};
    const std::size_t have = static_cast<std::size_t>(std::min<std::uint64_t>(size, prefix.size()));
    file.advise_random();
    file.read_at(prefix.data(), have, 0);
    switch (detail::pt::sniff(std::span(prefix).first(have))) {
      case detail::pt::FileKind::TorchZip: {
        detail::pt::TorchCheckpoint torch =
            detail::pt::read_torch_checkpoint(detail::pt::ArchiveBytes(file));
        for (const std::string& note : torch.notes)
          notes.push_back(file.path().string() + ": " + note);
        return std::move(torch.header);
      }
      case detail::pt::FileKind::TorchLegacy:
        detail::pt::refuse_legacy();
      case detail::pt::FileKind::Safetensors:
        break;
    }
    // Rules 1-2 first, so a hostile length is refused before n bytes are allocated for it.
    const std::uint64_t n =
        parse_header_length(std::span(prefix).first(std::min<std::size_t>(have, 8)), size);
    std::vector<std::byte> buffer(8 + n);
    file.read_at(buffer.data(), buffer.size(), 0);
    return parse_header(buffer, size);
  } catch (const Error& e) {
    throw Error(e.code(), file.path().string() + ": " + e.what());
  }
}

// A file's failure names the path as the user sees it (a snapshot's model.safetensors) and, for a
// link, the blob it leads to: the name says which file, the target where its bytes really are.
void add_file(Checkpoint::Impl& impl, const fs::path& path) {
  detail::MappedFile file;
  Header header;
  try {
    file = detail::MappedFile::open(path);
    header = read_header(file, impl.notes);
  } catch (const Error& e) {
    throw Error(e.code(), e.what() + detail::link_suffix(path));
  }
  const std::size_t index = impl.files.size();
  impl.files.push_back(FileInfo{path, file.size(), header.data_offset, std::move(header.metadata),
                                detail::link_target(path)});
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

// Notes the directory's *.safetensors that its index does not name: they are not loaded.
void note_left_out(Checkpoint::Impl& impl, const fs::path& directory,
                   const std::vector<fs::path>& listed, const detail::ShardIndex& index) {
  std::string left_out;
  std::size_t count = 0;
  for (const fs::path& file : listed) {
    const bool named =
        std::any_of(index.shards.begin(), index.shards.end(),
                    [&](const fs::path& s) { return s.filename() == file.filename(); });
    if (!named) left_out += (count++ == 0 ? "" : ", ") + file.filename().string();
  }
  if (count != 0) {
    impl.notes.push_back(directory.string() + ": not loading " + left_out +
                         ", which the index does not name");
  }
}

}  // namespace

Checkpoint Checkpoint::open(const fs::path& path) {
  return open(path, OpenOptions{});
}

Checkpoint Checkpoint::open(const fs::path& path, const OpenOptions& options) {
  detail::FileChoice choice = detail::choose_files(path, options);
  auto impl = std::make_unique<Impl>();
  impl->source = path;
  impl->notes = std::move(choice.notes);

  detail::ShardIndex index;
  if (!choice.index.empty()) {
    index = detail::read_shard_index(choice.index);
    choice.files = index.shards;
    impl->index_metadata = std::move(index.metadata);
    note_left_out(*impl, path, choice.beside_index, index);
  }
  for (const fs::path& file : choice.files) add_file(*impl, file);
  index_names(*impl);
  if (!choice.index.empty()) check_index_entries(*impl, choice.index, index);
  // Info, not warning: each note is a documented rule applied (the choice transformers makes, a
  // merge asked for), so a server's log hears of it without a warning at every start.
  for (const std::string& note : impl->notes) detail::log(LogLevel::Info, note);
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

const std::map<std::string, std::string>& Checkpoint::index_metadata() const noexcept {
  return impl_->index_metadata;
}

std::span<const std::string> Checkpoint::notes() const noexcept {
  return impl_->notes;
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
