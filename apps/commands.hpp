#pragma once
// The subcommands of `stload`. Adding one is three lines of work: a new cmd_NAME.cpp defining
// `int cmd_NAME(Args)`, one X(...) line in STLOAD_CLI_COMMANDS below, one line in CMakeLists.txt.

#include <span>
#include <string_view>

#include "help_text.hpp"

namespace stload::cli {

/// The arguments after the subcommand's name.
using Args = std::span<const std::string_view>;

/// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  ///< the input is bad or the operation failed
inline constexpr int kExitUsage = 2;    ///< wrong arguments, or a path that does not exist

// X(name, usage, one-line help, details, more details): the one list from which declarations and
// the table are made; the details (help_text.hpp) are shown by `stload help NAME`.
#define STLOAD_CLI_COMMANDS(X)                                                                     \
  X(inspect, "PATH [--json] [--revision REV] [--merge]",                                           \
    "list tensors (dtype, shape, bytes, file, offset) and metadata", kInspectHelp, kNoDetails)     \
  X(validate, "PATH... [--revision REV] [--merge]",                                                \
    "check checkpoints against every rule of the format", kCheckpointHelp, kNoDetails)             \
  X(load, "PATH [--json] [--revision REV] [--merge] [load options]",                               \
    "load onto the GPU (or CPU engine) and report speed", kLoadHelp, kLoadOptionsHelp)             \
  X(digest, "PATH [--revision REV] [--merge] [load options]",                                      \
    "load, copy back and print sha256 per tensor (sha256sum format)", kDigestHelp,                 \
    kLoadOptionsHelp)                                                                              \
  X(plan, "PATH --capacity DEV=SIZE[,...] [--device-map MAP] [--json] [--chunk-mib N]",            \
    "plan a load for devices of stated capacities, without them (bytes per device)", kPlanHelp,    \
    kCheckpointHelp)                                                                               \
  X(convert, "IN OUT [--dedupe-tied] [--shard-size SIZE] [--revision REV] [--merge]",              \
    "write a checkpoint (safetensors or PyTorch .bin/.pt) as safetensors, streamed", kConvertHelp, \
    kCheckpointHelp)                                                                               \
  X(generate, "--preset NAME --out PATH [--size-gib G] [--seed N] [--shards N]",                   \
    "write a deterministic example checkpoint (tiny-llama, llama, many-small)", kGenerateHelp,     \
    kNoDetails)                                                                                    \
  X(doctor, "[--json]", "CUDA runtime, driver, devices, PCIe link; why CUDA is (not) usable",      \
    kDoctorHelp, kNoDetails)

#define STLOAD_CLI_DECLARE(name, usage, help, details, more) int cmd_##name(Args args);
STLOAD_CLI_COMMANDS(STLOAD_CLI_DECLARE)
#undef STLOAD_CLI_DECLARE

struct Command {
  std::string_view name;
  std::string_view usage;    ///< arguments, as shown after `stload NAME`
  std::string_view help;     ///< one line
  std::string_view details;  ///< paragraphs for `stload help NAME`, may be empty
  std::string_view more;     ///< a second block (shared option lists), may be empty
  int (*run)(Args);          ///< returns the process exit code
};

#define STLOAD_CLI_ENTRY(name, usage, help, details, more) \
  Command{#name, usage, help, details, more, &cmd_##name},
inline constexpr Command kCommands[] = {STLOAD_CLI_COMMANDS(STLOAD_CLI_ENTRY)};
#undef STLOAD_CLI_ENTRY

}  // namespace stload::cli
