#pragma once
// Runs the built `stload` binary (path from the build) and captures what it did.

#include <string>
#include <vector>

namespace stload::testing {

struct CliResult {
  int exit_code = -1;  ///< the process's exit status; 128 + N when killed by signal N
  std::string out;     ///< stdout
  std::string err;     ///< stderr
};

/// Runs `stload ARGS...` (no shell interpretation of the arguments).
CliResult run_cli(const std::vector<std::string>& args);

}  // namespace stload::testing
