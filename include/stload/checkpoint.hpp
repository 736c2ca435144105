#pragma once
/// @file checkpoint.hpp
/// @brief A checkpoint: one .safetensors file, a directory of them, or a sharded *.index.json.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stload/header.hpp"

namespace stload {

/// @brief One file of a checkpoint, as its header describes it.
struct FileInfo {
  /// As the user sees it: the path given, a directory's entry, or for a shard of an index the
  /// index's directory joined with the shard's name (absolute). A symlink stays a symlink here.
  std::filesystem::path path;
  std::uint64_t size = 0;                       ///< file size in bytes
  std::uint64_t data_offset = 0;                ///< where the data section starts
  std::map<std::string, std::string> metadata;  ///< the file's __metadata__
  /// Where the bytes are when `path` is a symbolic link (in a Hugging Face hub cache snapshot,
  /// `blobs/<sha256>`), canonical; empty when `path` is not a link.
  std::filesystem::path target;
};

/// @brief How Checkpoint::open chooses the files of a directory.
struct OpenOptions {
  /// A directory without an index whose `*.safetensors` files are not one shard set (say
  /// `model.safetensors` and `adapter_model.safetensors`) is refused, since loading them together
  /// would silently mix checkpoints; true loads them all as one checkpoint (and says so in
  /// Checkpoint::notes()).
  bool merge = false;
};

/// @brief A tensor of a checkpoint and where its bytes are.
struct TensorRecord {
  TensorInfo info;           ///< name, dtype, shape, offsets relative to the data section
  std::size_t file = 0;      ///< index into Checkpoint::files()
  std::uint64_t offset = 0;  ///< absolute offset of the first byte in that file

  /// @brief The tensor's bytes in its file: its size, or for a strided tensor
  /// (TensorInfo::strides) the storage span it covers; a load's output size is its shape's.
  [[nodiscard]] std::uint64_t bytes() const noexcept { return info.bytes(); }
};

/// @brief An opened, validated checkpoint. Opening reads headers only, never the data sections;
/// the files stay mapped read-only for the loader until the Checkpoint is destroyed.
///
/// Thread safety: every const member may be called from any number of threads at once, and
/// several threads may load() from one Checkpoint concurrently (it is never written after
/// open()). Moving, assigning or destroying it must not overlap any other use of it; a
/// LoadedModel does not need it once load() has returned.
class Checkpoint {
 public:
  /// @brief Opens and validates every header of a checkpoint, with default OpenOptions.
  /// @param path a .safetensors file; a PyTorch zip checkpoint (torch.save, any extension: read
  ///        without executing its pickle, see docs/cpp.md); a directory (see the overload for
  ///        how its files are chosen); or a `*.index.json` with a weight_map
  /// @throws Error as the overload does
  static Checkpoint open(const std::filesystem::path& path);

  /// @brief Opens and validates every header of a checkpoint.
  ///
  /// A directory's files are chosen by these rules, never silently (each choice is reported in
  /// notes()): `X.safetensors` beside `X.safetensors.index.json` wins over the index, as in
  /// transformers; else its one `*.safetensors.index.json`; else its one `*.safetensors`; else
  /// several files named as one complete shard set (`P-00001-of-00003.safetensors`, ...); else,
  /// only with `options.merge`, all of them. Symbolic links are followed wherever they point
  /// (a hub cache snapshot links its files to `../../blobs/<sha256>`); an index's shard names
  /// must be plain file names beside the index.
  /// @param path a .safetensors file, a directory, or a `*.index.json`
  /// @param options how to choose a directory's files
  /// @throws Error NotFound for a missing path or a dangling symlink (naming link and target);
  ///         InvalidArgument for a directory whose files are not one checkpoint (naming them);
  ///         a format ErrorCode naming the file for a bad header; InvalidIndex for an
  ///         inconsistent index, a shard name that is not a plain file name, or a tensor found in
  ///         two files.
  static Checkpoint open(const std::filesystem::path& path, const OpenOptions& options);

  /// @brief Moves the open files and mappings; `other` is left empty.
  Checkpoint(Checkpoint&& other) noexcept;
  /// @brief Closes this checkpoint's files and takes `other`'s.
  Checkpoint& operator=(Checkpoint&& other) noexcept;
  /// @brief Unmaps and closes the files.
  ~Checkpoint();

  /// @brief The files, in the order tensors() groups them.
  [[nodiscard]] std::span<const FileInfo> files() const noexcept;
  /// @brief Every tensor, grouped by file, each file's tensors in data-offset order.
  [[nodiscard]] std::span<const TensorRecord> tensors() const noexcept;
  /// @brief The tensor called `name`, or nullptr.
  [[nodiscard]] const TensorRecord* find(std::string_view name) const noexcept;
  /// @brief The tensor called `name`. @throws Error TensorNotFound
  [[nodiscard]] const TensorRecord& at(std::string_view name) const;
  /// @brief Sum of all tensors' bytes (TensorRecord::bytes: a strided tensor's storage span).
  [[nodiscard]] std::uint64_t total_bytes() const noexcept;
  /// @brief The first file's __metadata__ (the one a single-file checkpoint has).
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept;
  /// @brief The scalar members of a sharded checkpoint's `*.index.json` "metadata" object (e.g.
  /// `total_size`), each as its JSON text with strings decoded (`"1234"` for a number, `abc` for
  /// the string "abc", `true`, `null`); nested values are left out. Empty without an index.
  [[nodiscard]] const std::map<std::string, std::string>& index_metadata() const noexcept;
  /// @brief Choices open() made that the caller should hear about, one sentence each: a single
  /// file preferred over an index beside it, files an index leaves out, a shard set merged
  /// without an index, a merge asked for. Empty when the path left nothing to choose.
  [[nodiscard]] std::span<const std::string> notes() const noexcept;

  /// @brief The whole mapped file; touching it pages the file in.
  [[nodiscard]] std::span<const std::byte> file_bytes(std::size_t file) const;
  /// @brief A tensor's bytes in the mapping (a strided tensor's storage span, in storage order).
  [[nodiscard]] std::span<const std::byte> tensor_bytes(const TensorRecord& tensor) const;

  struct Impl;
  /// @brief Internal: the engines' access to mappings and file descriptors.
  [[nodiscard]] const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stload
