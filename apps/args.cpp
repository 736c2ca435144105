#include "args.hpp"

#include <algorithm>

namespace stload::cli {

ParsedArgs::ParsedArgs(Args args, std::span<const OptionSpec> options) {
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (options_done || arg.size() < 2 || arg.front() != '-') {
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    const std::size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const auto spec = std::find_if(options.begin(), options.end(),
                                   [&](const OptionSpec& s) { return s.name == name; });
    if (spec == options.end()) throw UsageError("unknown option '" + std::string(arg) + "'");
    if (!spec->takes_value) {
      if (equals != std::string_view::npos) {
        throw UsageError("option '" + std::string(name) + "' takes no value");
      }
      options_[std::string(name)] = "";
    } else if (equals != std::string_view::npos) {
      options_[std::string(name)] = std::string(arg.substr(equals + 1));
    } else {
      if (i + 1 >= args.size())
        throw UsageError("option '" + std::string(name) + "' needs a value");
      options_[std::string(name)] = std::string(args[++i]);
    }
  }
}

bool ParsedArgs::has(std::string_view option) const {
  return options_.contains(option);
}

std::optional<std::string> ParsedArgs::value(std::string_view option) const {
  const auto it = options_.find(option);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

bool wants_help(Args args) {
  for (const std::string_view arg : args) {
    if (arg == "--") return false;
    if (arg == "-h" || arg == "--help") return true;
  }
  return false;
}

}  // namespace stload::cli
