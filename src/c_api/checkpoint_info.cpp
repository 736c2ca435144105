// C API: what an opened checkpoint holds, before any load: its tensors, files, metadata, notes.
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "c_api/guard.hpp"
#include "c_api/struct_size.hpp"
#include "detail/check.hpp"

namespace stload::c_api {
namespace {

const Checkpoint& checked(const stload_checkpoint* checkpoint, const char* function) {
  STLOAD_EXPECT(checkpoint != nullptr, ErrorCode::InvalidArgument,
                std::string(function) + ": checkpoint must not be NULL");
  return checkpoint->checkpoint;
}

// Fills the caller's `out` (struct_size checked first: a failing call leaves it untouched).
void describe(const TensorRecord& record, stload_tensor_info& caller) {
  check_struct_size(caller.struct_size, "stload_tensor_info");
  stload_tensor_info out{};
  out.name = record.info.name.c_str();
  out.dtype = static_cast<stload_dtype>(record.info.dtype);
  out.dtype_name = stload_dtype_name(out.dtype);
  out.ndim = record.info.shape.size();
  out.shape = record.info.shape.empty() ? nullptr : record.info.shape.data();
  out.file = record.file;
  out.file_offset = record.offset;
  out.bytes = record.bytes();
  to_caller(out, caller);
}

// The metadata a `file` argument names, or nullptr when out of range.
const std::map<std::string, std::string>* metadata_of(const Checkpoint& checkpoint,
                                                      std::size_t file) {
  if (file == STLOAD_INDEX_METADATA) return &checkpoint.index_metadata();
  return file < checkpoint.files().size() ? &checkpoint.files()[file].metadata : nullptr;
}

}  // namespace
}  // namespace stload::c_api

extern "C" {

stload_status stload_checkpoint_tensor_at(const stload_checkpoint* checkpoint, size_t index,
                                          stload_tensor_info* out) {
  using namespace stload;
  return c_api::guard([&] {
    const Checkpoint& opened = c_api::checked(checkpoint, "stload_checkpoint_tensor_at");
    STLOAD_EXPECT(out != nullptr, ErrorCode::InvalidArgument,
                  "stload_checkpoint_tensor_at: out must not be NULL");
    STLOAD_EXPECT(index < opened.tensors().size(), ErrorCode::InvalidArgument,
                  "stload_checkpoint_tensor_at: index " + std::to_string(index) +
                      " is out of range (the checkpoint has " +
                      std::to_string(opened.tensors().size()) + " tensors)");
    c_api::describe(opened.tensors()[index], *out);
  });
}

stload_status stload_checkpoint_find(const stload_checkpoint* checkpoint, const char* name,
                                     stload_tensor_info* out) {
  using namespace stload;
  return c_api::guard([&] {
    const Checkpoint& opened = c_api::checked(checkpoint, "stload_checkpoint_find");
    STLOAD_EXPECT(name != nullptr && out != nullptr, ErrorCode::InvalidArgument,
                  "stload_checkpoint_find: name and out must not be NULL");
    c_api::describe(opened.at(name), *out);
  });
}

size_t stload_checkpoint_file_count(const stload_checkpoint* checkpoint) {
  return checkpoint == nullptr ? 0 : checkpoint->checkpoint.files().size();
}

const char* stload_checkpoint_file_path(const stload_checkpoint* checkpoint, size_t file) {
  if (checkpoint == nullptr || file >= checkpoint->checkpoint.files().size()) return nullptr;
  return checkpoint->checkpoint.files()[file].path.c_str();
}

size_t stload_checkpoint_metadata_count(const stload_checkpoint* checkpoint, size_t file) {
  if (checkpoint == nullptr) return 0;
  const auto* metadata = stload::c_api::metadata_of(checkpoint->checkpoint, file);
  return metadata == nullptr ? 0 : metadata->size();
}

stload_status stload_checkpoint_metadata_at(const stload_checkpoint* checkpoint, size_t file,
                                            size_t index, const char** key, const char** value) {
  using namespace stload;
  return c_api::guard([&] {
    const Checkpoint& opened = c_api::checked(checkpoint, "stload_checkpoint_metadata_at");
    STLOAD_EXPECT(key != nullptr && value != nullptr, ErrorCode::InvalidArgument,
                  "stload_checkpoint_metadata_at: key and value must not be NULL");
    const auto* metadata = c_api::metadata_of(opened, file);
    STLOAD_EXPECT(metadata != nullptr, ErrorCode::InvalidArgument,
                  "stload_checkpoint_metadata_at: file " + std::to_string(file) +
                      " is out of range (the checkpoint has " +
                      std::to_string(opened.files().size()) + " files)");
    STLOAD_EXPECT(index < metadata->size(), ErrorCode::InvalidArgument,
                  "stload_checkpoint_metadata_at: index " + std::to_string(index) +
                      " is out of range (" + std::to_string(metadata->size()) + " entries)");
    // Metadata is a handful of entries: walking the map beats keeping a second index of it.
    const auto entry = std::next(metadata->begin(), static_cast<std::ptrdiff_t>(index));
    *key = entry->first.c_str();
    *value = entry->second.c_str();
  });
}

const char* stload_checkpoint_metadata_get(const stload_checkpoint* checkpoint, size_t file,
                                           const char* key) {
  if (checkpoint == nullptr || key == nullptr) return nullptr;
  const auto* metadata = stload::c_api::metadata_of(checkpoint->checkpoint, file);
  if (metadata == nullptr) return nullptr;
  const auto it = metadata->find(key);
  return it == metadata->end() ? nullptr : it->second.c_str();
}

size_t stload_checkpoint_note_count(const stload_checkpoint* checkpoint) {
  return checkpoint == nullptr ? 0 : checkpoint->checkpoint.notes().size();
}

const char* stload_checkpoint_note(const stload_checkpoint* checkpoint, size_t index) {
  if (checkpoint == nullptr || index >= checkpoint->checkpoint.notes().size()) return nullptr;
  return checkpoint->checkpoint.notes()[index].c_str();
}

}  // extern "C"
