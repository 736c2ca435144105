#pragma once
// Fuzz targets whose code under test reads files: a private scratch directory per process
// (libFuzzer may run several) and a writer that replaces a file's whole contents.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

namespace stload::fuzz {

// Under /dev/shm when it exists: millions of rewrites should not reach a disk.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? "/dev/shm"
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "stload-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    const std::filesystem::path made(pattern);
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return made;
  }();
  return dir;
}

inline std::filesystem::path write_file(const std::string& name,
                                        std::span<const std::uint8_t> bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // a full /dev/shm is not a finding; stop rather than report one
  return path;
}

}  // namespace stload::fuzz
