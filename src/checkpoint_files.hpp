#pragma once
// Which files a path given to Checkpoint::open stands for (DESIGN rule 9: never a silent choice).

#include <filesystem>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"

namespace stload::detail {

/// The files to open for a path, and what was chosen on the way.
struct FileChoice {
  std::filesystem::path index;               ///< the *.index.json to follow, or empty
  std::vector<std::filesystem::path> files;  ///< the files to open when there is no index
  std::vector<std::string> notes;            ///< choices the caller should hear about
  /// With an index found in a directory: the directory's *.safetensors, to say which the index
  /// leaves out.
  std::vector<std::filesystem::path> beside_index;
};

/// Applies the directory rules documented at Checkpoint::open. Throws NotFound for a missing path
/// or a dangling link, InvalidArgument for files that are not one checkpoint, Io when listing
/// fails.
FileChoice choose_files(const std::filesystem::path& path, const OpenOptions& options);

}  // namespace stload::detail
