// `stload generate --preset NAME --out PATH [--size-gib G] [--seed N] [--shards N]`: writes a
// deterministic example checkpoint, so demos, tests and benchmarks need no downloads.

#include <chrono>
#include <iomanip>
#include <iostream>

#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "stload/generate.hpp"
#include "text.hpp"

namespace stload::cli {
namespace {

template <typename T>
T number(const ParsedArgs& args, std::string_view option, T fallback) {
  const auto text = args.value(option);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used != text->size() || !(value > 0)) throw std::invalid_argument("not positive");
    return static_cast<T>(value);
  } catch (const std::exception&) {
    throw UsageError(std::string(option) + " needs a positive number, got '" + *text + "'");
  }
}

}  // namespace

int cmd_generate(Args args) {
  const ParsedArgs parsed(args, {{"--preset", true},
                                 {"--out", true},
                                 {"--size-gib", true},
                                 {"--seed", true},
                                 {"--shards", true}});
  if (!parsed.positional().empty()) throw UsageError("generate takes no positional arguments");
  const auto out = parsed.value("--out");
  if (!out) throw UsageError("--out PATH is required");
  GenerateOptions options;
  options.preset = parsed.value("--preset").value_or(options.preset);
  options.size_gib = number(parsed, "--size-gib", options.size_gib);
  options.seed = parsed.has("--seed") ? number<std::uint32_t>(parsed, "--seed", 1) : 0;
  options.shards = number(parsed, "--shards", options.shards);
  try {
    const auto start = std::chrono::steady_clock::now();
    const GeneratedCheckpoint written = generate(*out, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "wrote " << printable(written.path.string()) << ": preset " << options.preset
              << ", " << written.tensors << " tensors, " << format_bytes(written.bytes) << " in "
              << options.shards << " file(s), " << std::fixed << std::setprecision(2) << seconds
              << " s\n";
    return kExitOk;
  } catch (...) {
    return report_current_exception(*out);
  }
}

}  // namespace stload::cli
