#pragma once
/// @file convert.hpp
/// @brief Converting a checkpoint (safetensors, or a PyTorch zip checkpoint) to safetensors,
/// copied from the source files in bounded pieces (in the kernel where it can, else through one
/// 8 MiB buffer): host memory stays a few MiB whatever the model's size.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"

namespace stload {

/// @brief The output metadata key under which ConvertOptions::dedupe_tied records what it
/// dropped: a JSON object (as a string, as metadata values are) mapping each dropped name to the
/// name whose bytes it equals, e.g. `{"lm_head.weight":"model.embed_tokens.weight"}`.
inline constexpr const char* kTiedMetadataKey = "stload.tied";

/// @brief How to convert.
struct ConvertOptions {
  /// false (default): every key is written with its own bytes, views of one shared storage and
  /// tied weights included, so the output has exactly the source's keys. true: of tensors that
  /// are exact duplicates (same file, same byte range, dtype and shape: tied weights saved by
  /// torch.save), only the first name in sorted order is written, as safetensors' save_model
  /// keeps it; the others are recorded under kTiedMetadataKey.
  bool dedupe_tied = false;
  /// 0 (default): one file at the output path (an existing directory gets `model.safetensors`).
  /// Otherwise the output path is a directory (created if missing) of shards of at most this
  /// many tensor bytes each (a larger tensor gets a shard of its own), written in the source's
  /// order as Hugging Face does: `model-00001-of-0000N.safetensors` and a
  /// `model.safetensors.index.json` (`{"metadata": {"total_size": N}, "weight_map": {...}}`);
  /// when everything fits in one shard, `model.safetensors` alone, as save_pretrained writes it.
  std::uint64_t shard_bytes = 0;
  /// Called after each written piece (Progress::file is the output file); returning false stops
  /// the conversion with ErrorCode::Cancelled, leaving no output. May be empty.
  std::function<bool(const Progress&)> progress;
};

/// @brief What a conversion wrote.
struct ConvertResult {
  std::vector<std::filesystem::path> files;     ///< the safetensors files, in order
  std::filesystem::path index;                  ///< the index.json of sharded output, else empty
  std::uint64_t tensors = 0;                    ///< tensors written
  std::uint64_t bytes = 0;                      ///< tensor bytes written
  std::map<std::string, std::string> tied;      ///< dropped name -> name it equals (dedupe_tied)
  std::map<std::string, std::string> metadata;  ///< each file's __metadata__
  double seconds = 0;                           ///< wall time of the writing
};

/// @brief Writes an opened checkpoint as safetensors. The output metadata is the source's own
/// (its first file's) for a safetensors source, `{"format": "pt"}` for a PyTorch one, plus
/// kTiedMetadataKey when dedupe_tied dropped anything. Each file is written to a temporary
/// beside it and renamed into place; on failure every file this call wrote is removed again
/// (and a directory it created), so a failed conversion leaves no partial output.
/// @throws Error Io naming the file that could not be read or written; InvalidArgument for a
///         tensor the format cannot hold (a name `__metadata__`); Cancelled from the progress
///         callback
ConvertResult convert(const Checkpoint& source, const std::filesystem::path& out,
                      const ConvertOptions& options = {});

/// @brief Opens `in` (anything Checkpoint::open accepts) and converts it as above.
/// @throws Error as Checkpoint::open and the overload above do
ConvertResult convert(const std::filesystem::path& in, const std::filesystem::path& out,
                      const ConvertOptions& options = {});

}  // namespace stload
