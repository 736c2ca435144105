#include "detail/pci_link.hpp"

#include <charconv>
#include <fstream>
#include <string_view>
#include <system_error>

namespace stload::detail {
namespace {

std::string read_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  return line;
}

int read_int(const std::filesystem::path& path) {
  const std::string text = read_line(path);
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() ? value : 0;
}

}  // namespace

int pcie_generation(const std::string& speed) {
  // Per-lane transfer rates of PCIe generations 1 to 6, as the kernel prints them.
  constexpr std::string_view kRates[] = {"2.5 GT/s",  "5.0 GT/s",  "8.0 GT/s",
                                         "16.0 GT/s", "32.0 GT/s", "64.0 GT/s"};
  for (int gen = 0; gen < static_cast<int>(std::size(kRates)); ++gen) {
    if (speed.starts_with(kRates[gen])) return gen + 1;
  }
  return 0;
}

PcieLink read_pcie_link(const std::filesystem::path& devices, const std::string& bus_id) {
  PcieLink link;
  const std::filesystem::path folder = devices / bus_id;
  std::error_code ec;
  if (bus_id.empty() || !std::filesystem::is_directory(folder, ec)) {
    link.source =
        "not readable: " + folder.string() +
        " is absent (a VM or container may hide it); see 'GPU Link Info' in nvidia-smi -q";
    return link;
  }
  link.current_speed = read_line(folder / "current_link_speed");
  link.current_width = read_int(folder / "current_link_width");
  link.max_speed = read_line(folder / "max_link_speed");
  link.max_width = read_int(folder / "max_link_width");
  link.generation = pcie_generation(link.current_speed);
  if (link.current_speed.empty() && link.current_width == 0) {
    link.source = "not readable: " + folder.string() +
                  " has no current_link_speed/width; see 'GPU Link Info' in nvidia-smi -q";
  } else {
    link.source = folder.string();
  }
  return link;
}

}  // namespace stload::detail
