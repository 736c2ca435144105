#pragma once
// A fresh directory per test, removed with everything in it when the test ends.

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace stload::testing {

class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `bytes` to path()/name and returns the full path.
  std::filesystem::path write(std::string_view name, std::span<const std::byte> bytes) const;
  std::filesystem::path write_text(std::string_view name, std::string_view text) const;

 private:
  std::filesystem::path path_;
};

}  // namespace stload::testing
