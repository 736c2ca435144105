#include "detail/links.hpp"

#include <system_error>

namespace stload::detail {
namespace fs = std::filesystem;

fs::path link_target(const fs::path& path) noexcept {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(path, ec)) || ec) return {};
  try {
    fs::path resolved = fs::canonical(path, ec);
    return ec ? fs::path() : resolved;
  } catch (...) {  // canonical allocates; a message helper must not throw for that
    return {};
  }
}

std::string link_suffix(const fs::path& path) {
  const fs::path target = link_target(path);
  return target.empty() ? std::string() : " (a symlink to " + target.string() + ")";
}

bool is_dangling_link(const fs::path& path) noexcept {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(path, ec)) || ec) return false;
  const fs::file_status status = fs::status(path, ec);
  return ec ? ec == std::errc::no_such_file_or_directory : !fs::exists(status);
}

std::string dangling_link_message(const fs::path& path) {
  std::error_code ec;
  const fs::path text = fs::read_symlink(path, ec);
  std::string message = path.string() + " is a dangling symlink";
  if (ec) return message + " (its target cannot be read: " + ec.message() + ")";
  message += " to " + text.string();
  if (text.is_relative())
    message += " (" + (path.parent_path() / text).lexically_normal().string() + ")";
  return message + ", which does not exist";
}

}  // namespace stload::detail
