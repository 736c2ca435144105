#pragma once
// Symbolic links, said plainly in messages: a Hugging Face hub cache snapshot is made of links to
// `../../blobs/<sha256>`, so "no such file" or a blob hash alone would not tell users what broke.

#include <filesystem>
#include <string>

namespace stload::detail {

/// Where the link at `path` resolves to (canonical); empty when `path` is no link or does not
/// resolve. Never throws.
std::filesystem::path link_target(const std::filesystem::path& path) noexcept;

/// " (a symlink to TARGET)" for a link that resolves, else "": for messages about a file's bytes.
std::string link_suffix(const std::filesystem::path& path);

/// True when `path` is a symbolic link whose target (followed to the end) does not exist.
bool is_dangling_link(const std::filesystem::path& path) noexcept;

/// "PATH is a dangling symlink to TEXT (RESOLVED), which does not exist": what a dangling link
/// points to as written in the link, and where that is when the text is relative.
std::string dangling_link_message(const std::filesystem::path& path);

}  // namespace stload::detail
