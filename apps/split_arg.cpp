#include "split_arg.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace stload::cli {
namespace {

std::uint64_t whole_number(std::string_view text, std::string_view what) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw UsageError("--tp needs RANK/WORLD (e.g. 0/4), got a " + std::string(what) + " of '" +
                     std::string(text) + "'");
  return value;
}

}  // namespace

TensorParallel tensor_parallel_from(const ParsedArgs& args) {
  TensorParallel out;
  const auto tp = args.value("--tp");
  const auto split = args.value("--split");
  if (!tp && !split) return out;
  if (!tp || !split)
    throw UsageError("--tp RANK/WORLD and --split RULES go together (e.g. --tp 0/4 --split llama)");
  const std::size_t slash = tp->find('/');
  if (slash == std::string::npos)
    throw UsageError("--tp needs RANK/WORLD (e.g. 0/4), got '" + *tp + "'");
  out.rank = whole_number(std::string_view(*tp).substr(0, slash), "rank");
  out.world = whole_number(std::string_view(*tp).substr(slash + 1), "world");
  if (out.world == 0 || out.rank >= out.world)
    throw UsageError("--tp " + *tp + ": RANK must be below WORLD, and WORLD at least 1");
  if (!split->empty() && split->front() != '{' && std::filesystem::is_regular_file(*split)) {
    std::ifstream in(*split);
    std::stringstream text;
    text << in.rdbuf();
    out.split = parse_split_rules(text.str());
  } else {
    out.split = parse_split_rules(*split);  // JSON text or a rule set's name
  }
  return out;
}

}  // namespace stload::cli
