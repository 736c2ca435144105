#pragma once
/// @file save.hpp
/// @brief Writing .safetensors files, from host memory or from a LoadedModel wherever it lives.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "stload/dtype.hpp"
#include "stload/tensor_map.hpp"

namespace stload {

/// @brief A tensor to write: its description and its bytes in host memory.
struct TensorData {
  std::string name;                  ///< key in the header
  Dtype dtype = Dtype::U8;           ///< element type
  std::vector<std::uint64_t> shape;  ///< dimensions; empty for a scalar
  std::span<const std::byte> bytes;  ///< exactly dtype x shape bytes
};

/// @brief A tensor to write whose bytes come from a callback (large or generated data).
struct TensorSpec {
  std::string name;                  ///< key in the header
  Dtype dtype = Dtype::U8;           ///< element type
  std::vector<std::uint64_t> shape;  ///< dimensions; empty for a scalar
};

/// @brief Fills `out` with bytes [offset, offset + out.size()) of tensor `index`.
using TensorFill =
    std::function<void(std::size_t index, std::uint64_t offset, std::span<std::byte> out)>;

/// @brief Writes a valid file as the reference writer does: tensors sorted by dtype alignment
/// (largest first) then name, header padded with spaces to 8 bytes. Written to a temporary file
/// in the same directory and renamed into place, so readers never see a half-written file.
/// @throws Error InvalidArgument for bad names/sizes, Io when writing fails
void save(const std::filesystem::path& path, std::span<const TensorData> tensors,
          const std::map<std::string, std::string>& metadata = {});

/// @brief As above, streaming each tensor's bytes from `fill` in bounded pieces.
void save(const std::filesystem::path& path, std::span<const TensorSpec> tensors,
          const std::map<std::string, std::string>& metadata, const TensorFill& fill);

/// @brief Writes a loaded model (host or device memory) back to a file.
void save(const std::filesystem::path& path, const LoadedModel& model,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace stload
