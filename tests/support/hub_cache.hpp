#pragma once
// A Hugging Face hub cache laid out exactly as huggingface_hub lays it out, for tests:
//   <cache>/models--ORG--NAME/blobs/<64-hex sha256 of the content>
//   <cache>/models--ORG--NAME/refs/main                      the 40-hex commit, no newline
//   <cache>/models--ORG--NAME/snapshots/<commit>/<file>      -> ../../blobs/<sha256> (relative)
//   <cache>/models--ORG--NAME/snapshots/<commit>/unet/<file> -> ../../../blobs/<sha256>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace stload::testing {

/// Two commit hashes to make snapshots of.
inline constexpr std::string_view kCommitA = "0123456789abcdef0123456789abcdef01234567";
inline constexpr std::string_view kCommitB = "fedcba9876543210fedcba9876543210fedcba98";

/// The lowercase hex SHA-256 of `bytes`, as the hub names blobs of LFS files.
std::string sha256_hex(std::span<const std::byte> bytes);

class HubRepoWriter {
 public:
  /// Creates `<cache>/models--ORG--NAME/{blobs,refs,snapshots}` for `repo_id` ("ORG/NAME").
  HubRepoWriter(const std::filesystem::path& cache, std::string_view repo_id);

  /// Stores `bytes` as blobs/<sha256> and links snapshots/<commit>/<name> to it relatively;
  /// `name` may hold a subfolder ("unet/x.safetensors"). Returns the link's path.
  std::filesystem::path add_file(std::string_view commit, std::string_view name,
                                 std::span<const std::byte> bytes) const;
  std::filesystem::path add_text(std::string_view commit, std::string_view name,
                                 std::string_view text) const;
  /// Writes refs/<ref> holding `commit`, as huggingface_hub does (no trailing newline).
  void set_ref(std::string_view ref, std::string_view commit) const;

  [[nodiscard]] const std::filesystem::path& repo() const noexcept { return repo_; }
  [[nodiscard]] std::filesystem::path snapshot(std::string_view commit) const {
    return repo_ / "snapshots" / std::string(commit);
  }

 private:
  std::filesystem::path repo_;
};

/// Sets an environment variable for the scope's life and restores what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value);  ///< nullptr: unset it
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv();

 private:
  std::string name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace stload::testing
