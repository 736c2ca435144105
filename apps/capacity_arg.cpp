#include "capacity_arg.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "args.hpp"
#include "stload/error.hpp"

namespace stload::cli {
namespace {

// Longest units first, so that "GiB" is not read as "B".
constexpr std::array<std::pair<std::string_view, double>, 9> kUnits{{
    {"KiB", 1024.0},
    {"MiB", 1024.0 * 1024},
    {"GiB", 1024.0 * 1024 * 1024},
    {"TiB", 1024.0 * 1024 * 1024 * 1024},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
    {"B", 1.0},
}};

}  // namespace

std::uint64_t parse_size(std::string_view text, std::string_view what) {
  double scale = 1.0;
  for (const auto& [unit, factor] : kUnits) {
    if (text.ends_with(unit)) {
      text.remove_suffix(unit.size());
      scale = factor;
      break;
    }
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const double bytes = value * scale;
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(bytes >= 0) ||
      bytes >= 1.8e19) {
    throw UsageError(std::string(what) + " needs a size such as 80GiB, 512MiB or 1000000 (bytes)");
  }
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::map<Device, std::uint64_t> parse_capacities(std::string_view text) {
  std::map<Device, std::uint64_t> capacities;
  while (!text.empty()) {
    const std::size_t comma = std::min(text.find(','), text.size());
    const std::string_view entry = text.substr(0, comma);
    text.remove_prefix(std::min(comma + 1, text.size()));
    if (entry.empty()) continue;
    const std::size_t equals = entry.find('=');
    if (equals == std::string_view::npos) {
      throw UsageError("--capacity entry '" + std::string(entry) + "' is not DEVICE=SIZE");
    }
    Device device;
    try {
      device = Device::parse(entry.substr(0, equals));
    } catch (const Error& e) {
      throw UsageError("--capacity: " + std::string(e.what()));
    }
    if (!capacities
             .emplace(device, parse_size(entry.substr(equals + 1),
                                         "--capacity entry '" + std::string(entry) + "'"))
             .second) {
      throw UsageError("--capacity names " + device.to_string() + " twice");
    }
  }
  if (capacities.empty()) throw UsageError("--capacity needs at least one DEVICE=SIZE");
  return capacities;
}

}  // namespace stload::cli
