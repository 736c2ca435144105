#include "checkpoint_arg.hpp"

#include <system_error>

#include "stload/hub.hpp"
#include "text.hpp"

namespace stload::cli {

std::filesystem::path checkpoint_path(const std::string& arg, const ParsedArgs& args) {
  const auto revision = args.value("--revision");
  std::error_code ec;
  // symlink_status: a dangling link is a path too, so that it is reported as one.
  const bool on_disk = std::filesystem::exists(std::filesystem::symlink_status(arg, ec));
  if (on_disk || !is_repo_id(arg) || arg.find('/') == std::string::npos) {
    if (revision) {
      throw UsageError("--revision applies to a repo id (ORG/NAME); '" + printable(arg) +
                       "' is a path");
    }
    return arg;
  }
  return resolve_repo(arg, revision.value_or(""));
}

Checkpoint open_checkpoint(const std::string& arg, const ParsedArgs& args, std::ostream& notes) {
  OpenOptions options;
  options.merge = args.has("--merge");
  Checkpoint checkpoint = Checkpoint::open(checkpoint_path(arg, args), options);
  for (const std::string& note : checkpoint.notes()) {
    notes << printable(arg) << ": note: " << printable(note) << '\n';
  }
  return checkpoint;
}

}  // namespace stload::cli
