// `stload`: dispatches to the subcommand named by the first argument (see commands.hpp).

#include <algorithm>
#include <iostream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include "stload/version.h"

namespace stload::cli {
namespace {

constexpr std::string_view kVersion = STLOAD_VERSION_STRING;  // the one stload/version.h states

void print_usage(std::ostream& out) {
  std::size_t name_width = 0;
  std::size_t usage_width = 0;
  for (const Command& command : kCommands) {
    name_width = std::max(name_width, command.name.size());
    usage_width = std::max(usage_width, command.usage.size());
  }
  out << "stload " << kVersion << ": a fast, validating safetensors loader\n\n"
      << "usage: stload <command> [arguments]\n\ncommands:\n";
  for (const Command& command : kCommands) {
    out << "  " << command.name << std::string(name_width - command.name.size() + 2, ' ')
        << command.usage << std::string(usage_width - command.usage.size() + 2, ' ') << command.help
        << '\n';
  }
  out << "\n  stload help <command>   details of one command\n"
      << "  stload --version        print the version\n\n"
      << "exit status: 0 success, 1 invalid input or failure, 2 usage error or missing path\n";
}

void print_command_usage(std::ostream& out, const Command& command) {
  out << "usage: stload " << command.name << ' ' << command.usage << '\n';
}

void print_command_help(std::ostream& out, const Command& command) {
  print_command_usage(out, command);
  out << '\n' << command.help << "\n\n";
  if (!command.details.empty()) out << command.details << '\n';
  if (!command.more.empty()) out << command.more << '\n';
  out << "exit status: 0 success, 1 invalid input or failure, 2 usage error or missing path\n";
}

const Command* find_command(std::string_view name) {
  const auto* it = std::find_if(std::begin(kCommands), std::end(kCommands),
                                [&](const Command& c) { return c.name == name; });
  return it == std::end(kCommands) ? nullptr : it;
}

int unknown_command(std::string_view name) {
  std::cerr << "stload: unknown command '" << name << "'\n\n";
  print_usage(std::cerr);
  return kExitUsage;
}

int run(Args args) {
  if (args.empty()) {
    print_usage(std::cerr);
    return kExitUsage;
  }
  const std::string_view first = args.front();
  if (first == "-h" || first == "--help") {
    print_usage(std::cout);
    return kExitOk;
  }
  if (first == "--version") {
    std::cout << "stload " << kVersion << '\n';
    return kExitOk;
  }
  if (first == "help") {
    if (args.size() == 1) {
      print_usage(std::cout);
      return kExitOk;
    }
    const Command* command = find_command(args[1]);
    if (command == nullptr) return unknown_command(args[1]);
    print_command_help(std::cout, *command);
    return kExitOk;
  }
  const Command* command = find_command(first);
  if (command == nullptr) return unknown_command(first);
  const Args rest = args.subspan(1);
  if (wants_help(rest)) {
    print_command_help(std::cout, *command);
    return kExitOk;
  }
  try {
    return command->run(rest);
  } catch (const UsageError& e) {
    std::cerr << "stload " << command->name << ": " << e.what() << '\n';
    print_command_usage(std::cerr, *command);
    return kExitUsage;
  }
}

}  // namespace
}  // namespace stload::cli

int main(int argc, char** argv) {
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    return stload::cli::run(args);
  } catch (...) {
    // Subcommands report their own paths' failures; this is the last line against a crash.
    return stload::cli::report_current_exception("stload");
  }
}
