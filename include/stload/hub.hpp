#pragma once
/// @file hub.hpp
/// @brief Repo ids (`ORG/NAME`) resolved to snapshots in the local Hugging Face hub cache. Never
/// the network: what is not in the cache is an error that says how to download it.

#include <filesystem>
#include <string>
#include <string_view>

namespace stload {

/// @brief The hub cache directory and why it is that one.
struct HubCache {
  std::filesystem::path path;  ///< e.g. `~/.cache/huggingface/hub`
  std::string chosen_by;       ///< "HF_HUB_CACHE", "HF_HOME", ... or "the default"
};

/// @brief The hub cache huggingface_hub uses, in its order: `HF_HUB_CACHE`, else
/// `HUGGINGFACE_HUB_CACHE` (its older name), else `$HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. A variable set to the
/// empty string counts as unset; a leading `~/` is the home directory, as huggingface_hub
/// expands it.
/// @throws Error NotFound when no variable is set and the home directory is unknown
[[nodiscard]] HubCache hub_cache();

/// @brief Whether `text` is a model repo id as huggingface_hub accepts one: `NAME` or
/// `ORG/NAME`, each part of letters, digits, `-`, `_` and `.`, starting and ending with a letter,
/// digit or `_`, the name at most 96 characters, no `--` or `..`, not ending in `.git`.
/// @param text the candidate
[[nodiscard]] bool is_repo_id(std::string_view text) noexcept;

/// @brief The snapshot directory of a repo in the local hub cache (hub_cache()):
/// `<cache>/models--ORG--NAME/snapshots/<commit>`, for Checkpoint::open.
/// @param repo_id `ORG/NAME` (or a bare `NAME`, such as `gpt2`)
/// @param revision a ref (`refs/<revision>` holds the commit: `main`, a branch, a tag) or a commit
///        whose directory is in `snapshots/`; empty means `main`
/// @throws Error InvalidArgument for a malformed repo id or revision, or a ref that holds no
///         commit name; NotFound when the repo or revision is not in the cache, naming every path
///         looked at and the `huggingface-cli download` command that fetches it; Io when a ref
///         cannot be read
[[nodiscard]] std::filesystem::path resolve_repo(std::string_view repo_id,
                                                 std::string_view revision = {});

}  // namespace stload
