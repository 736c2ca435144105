#pragma once
// A small option parser shared by the subcommands: `--flag`, `--option VALUE`, `--option=VALUE`,
// positional arguments, and `--` to end options (so a file may be called `--json`).

#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"

namespace stload::cli {

/// Thrown for wrong arguments; main prints it with the command's usage and exits with kExitUsage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One option a subcommand accepts.
struct OptionSpec {
  std::string_view name;     ///< with its dashes, e.g. "--json"
  bool takes_value = false;  ///< `--name VALUE` or `--name=VALUE`
};

class ParsedArgs {
 public:
  /// @throws UsageError for an unknown option or a missing value
  ParsedArgs(Args args, std::initializer_list<OptionSpec> options)
      : ParsedArgs(args, std::span<const OptionSpec>(options.begin(), options.size())) {}
  /// @throws UsageError for an unknown option or a missing value
  ParsedArgs(Args args, std::span<const OptionSpec> options);

  [[nodiscard]] const std::vector<std::string>& positional() const noexcept { return positional_; }
  [[nodiscard]] bool has(std::string_view option) const;
  /// The value of the option's last occurrence, if given.
  [[nodiscard]] std::optional<std::string> value(std::string_view option) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string, std::less<>> options_;
};

/// True when the arguments ask for help (`-h` or `--help` before any `--`).
[[nodiscard]] bool wants_help(Args args);

}  // namespace stload::cli
