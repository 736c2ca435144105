#pragma once
// What a subcommand's PATH argument names, shared by inspect, validate, load and digest: a path
// on disk as it is; otherwise a repo id (ORG/NAME) resolved in the local Hugging Face hub cache.

#include <ostream>
#include <string>

#include "args.hpp"
#include "stload/checkpoint.hpp"

namespace stload::cli {

/// The options every checkpoint-reading command accepts (to pass to ParsedArgs with its own).
inline constexpr OptionSpec kCheckpointOptionSpecs[] = {{"--revision", true}, {"--merge", false}};

/// The path `arg` stands for: itself when something (even a dangling link) is there, else the
/// hub cache snapshot of the repo id it spells, at --revision (default main).
/// @throws UsageError for --revision with a path; stload::Error NotFound for a repo not cached
std::filesystem::path checkpoint_path(const std::string& arg, const ParsedArgs& args);

/// Opens what `arg` names with --merge as given, and prints the checkpoint's notes to `notes`
/// as `ARG: note: ...` (stderr, so that stdout stays the command's output).
Checkpoint open_checkpoint(const std::string& arg, const ParsedArgs& args, std::ostream& notes);

}  // namespace stload::cli
