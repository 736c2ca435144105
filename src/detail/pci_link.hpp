#pragma once
// A PCI device's link speed and width from sysfs (no NVML: nothing beyond the kernel is needed).

#include <filesystem>
#include <string>

#include "stload/cuda_info.hpp"

namespace stload::detail {

inline constexpr const char* kSysfsPciDevices = "/sys/bus/pci/devices";

/// Reads DEVICES/BUS_ID/{current,max}_link_{speed,width}; what cannot be read stays empty and
/// `source` says where else to look. BUS_ID is "0000:17:00.0" (lower case, as sysfs names it).
[[nodiscard]] PcieLink read_pcie_link(const std::filesystem::path& devices,
                                      const std::string& bus_id);

/// "32.0 GT/s PCIe" -> 5; 0 for anything it does not know.
[[nodiscard]] int pcie_generation(const std::string& speed);

}  // namespace stload::detail
