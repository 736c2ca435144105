#pragma once
/// @file generate.hpp
/// @brief Deterministic example checkpoints, so demos, tests and benchmarks need no downloads.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace stload {

/// @brief What to generate.
struct GenerateOptions {
  /// @brief "tiny-llama" (a few MiB, 4 layers), "llama" (Llama-like, sized by size_gib) or
  /// "many-small" (50,000 tiny tensors).
  std::string preset = "tiny-llama";
  double size_gib = 1.0;     ///< target size for "llama"; the layer count is derived from it
  std::uint32_t seed = 0;    ///< the same seed gives byte-identical files
  std::uint32_t shards = 1;  ///< >1: `path` is a directory of shards plus an index.json
};

/// @brief What was written.
struct GeneratedCheckpoint {
  std::filesystem::path path;  ///< the file, or the index.json of a sharded checkpoint
  std::uint64_t tensors = 0;   ///< tensors written
  std::uint64_t bytes = 0;     ///< tensor bytes
};

/// @brief Names of the presets.
[[nodiscard]] std::vector<std::string> generate_presets();

/// @brief Writes an example checkpoint. @throws Error InvalidArgument for an unknown preset, Io
[[nodiscard]] GeneratedCheckpoint generate(const std::filesystem::path& path,
                                           const GenerateOptions& options);

}  // namespace stload
