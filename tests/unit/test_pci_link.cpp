// The PCIe link as sysfs tells it, on a fake /sys/bus/pci/devices.

#include <gtest/gtest.h>

#include <filesystem>

#include "detail/pci_link.hpp"
#include "support/temp_dir.hpp"

namespace stload::detail {
namespace {

TEST(PciLink, reads_speed_width_and_generation) {
  stload::testing::TempDir sys;
  std::filesystem::create_directories(sys.path() / "0000:17:00.0");
  static_cast<void>(sys.write_text("0000:17:00.0/current_link_speed", "16.0 GT/s PCIe\n"));
  static_cast<void>(sys.write_text("0000:17:00.0/current_link_width", "16\n"));
  static_cast<void>(sys.write_text("0000:17:00.0/max_link_speed", "32.0 GT/s PCIe\n"));
  static_cast<void>(sys.write_text("0000:17:00.0/max_link_width", "16\n"));
  const PcieLink link = read_pcie_link(sys.path(), "0000:17:00.0");
  EXPECT_EQ(link.current_speed, "16.0 GT/s PCIe");
  EXPECT_EQ(link.current_width, 16);
  EXPECT_EQ(link.max_speed, "32.0 GT/s PCIe");
  EXPECT_EQ(link.max_width, 16);
  EXPECT_EQ(link.generation, 4);
  EXPECT_EQ(link.source, (sys.path() / "0000:17:00.0").string());
}

TEST(PciLink, an_absent_device_says_where_else_to_look) {
  stload::testing::TempDir sys;
  const PcieLink link = read_pcie_link(sys.path(), "0000:99:00.0");
  EXPECT_TRUE(link.current_speed.empty());
  EXPECT_EQ(link.current_width, 0);
  EXPECT_NE(link.source.find("nvidia-smi -q"), std::string::npos) << link.source;
}

TEST(PciLink, generations_from_transfer_rates) {
  EXPECT_EQ(pcie_generation("2.5 GT/s PCIe"), 1);
  EXPECT_EQ(pcie_generation("8.0 GT/s PCIe"), 3);
  EXPECT_EQ(pcie_generation("32.0 GT/s PCIe"), 5);
  EXPECT_EQ(pcie_generation("64.0 GT/s PCIe"), 6);
  EXPECT_EQ(pcie_generation("Unknown"), 0);
}

}  // namespace
}  // namespace stload::detail
