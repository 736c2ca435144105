#pragma once
// save() for bytes that are already in files (stload::convert): each tensor's bytes are copied
// file to file by the kernel (copy_file_range), never through a user-space buffer, so converting
// costs one copy instead of a pread and a write, and no host memory.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "stload/save.hpp"

namespace stload::detail {

/// Where a tensor's bytes are: an open file and the offset of its first byte; fd -1: nowhere to
/// copy them from as they are, so `fill` writes them.
struct FileBytes {
  int fd = -1;
  std::uint64_t offset = 0;
};

/// As save(path, tensors, metadata, fill), with tensor i's bytes copied from `sources[i]` in
/// pieces of at most 8 MiB. Where the kernel cannot copy between the two files (another file
/// system, an old kernel), the rest is written through `fill` as save() writes it.
/// `written(index, bytes)` is called after each piece (progress; it may throw to cancel).
/// @throws Error as save() does; Io when a source ends before its tensor does
void save_copying(const std::filesystem::path& path, std::span<const TensorSpec> tensors,
                  const std::map<std::string, std::string>& metadata,
                  std::span<const FileBytes> sources, const TensorFill& fill,
                  const std::function<void(std::size_t index, std::uint64_t bytes)>& written);

}  // namespace stload::detail
