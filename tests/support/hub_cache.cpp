#include "support/hub_cache.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace stload::testing {
namespace fs = std::filesystem;

std::string sha256_hex(std::span<const std::byte> bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4U];
    hex += kHex[digest[i] & 0xFU];
  }
  return hex;
}

HubRepoWriter::HubRepoWriter(const fs::path& cache, std::string_view repo_id) {
  std::string folder = "models--" + std::string(repo_id);
  folder.replace(folder.find('/'), 1, "--");
  repo_ = cache / folder;
  for (const char* sub : {"blobs", "refs", "snapshots"}) fs::create_directories(repo_ / sub);
}

fs::path HubRepoWriter::add_file(std::string_view commit, std::string_view name,
                                 std::span<const std::byte> bytes) const {
  const std::string sha = sha256_hex(bytes);
  const fs::path blob = repo_ / "blobs" / sha;
  std::ofstream out(blob, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + blob.string());
  const fs::path link = snapshot(commit) / std::string(name);
  fs::create_directories(link.parent_path());
  // ../ per level from the link's folder up to the repo folder, then blobs/<sha>.
  fs::path target;
  for (const auto& part : fs::path(std::string(name)).parent_path()) {
    (void)part;
    target /= "..";
  }
  target = fs::path("..") / ".." / target / "blobs" / sha;
  fs::create_symlink(target.lexically_normal(), link);
  return link;
}

fs::path HubRepoWriter::add_text(std::string_view commit, std::string_view name,
                                 std::string_view text) const {
  return add_file(commit, name,
                  std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

void HubRepoWriter::set_ref(std::string_view ref, std::string_view commit) const {
  const fs::path path = repo_ / "refs" / std::string(ref);
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << commit;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

ScopedEnv::ScopedEnv(const char* name, const char* value) : name_(name) {
  if (const char* old = std::getenv(name)) {
    had_ = true;
    old_ = old;
  }
  if (value == nullptr) {
    ::unsetenv(name);
  } else {
    ::setenv(name, value, 1);
  }
}

ScopedEnv::~ScopedEnv() {
  if (had_) {
    ::setenv(name_.c_str(), old_.c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

}  // namespace stload::testing
