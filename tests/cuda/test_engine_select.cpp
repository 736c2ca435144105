// A binary built with the CUDA engine must still run where no GPU or driver answers: Auto falls
// back to the CPU engine and says why; asking for CUDA explicitly is a clear Cuda error.

#include <gtest/gtest.h>

#include <string>

#include "stload/cuda_info.hpp"
#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "support/cuda_skip.hpp"

namespace stload {
namespace {

TEST(CudaBuild, engine_is_compiled_in) {
  EXPECT_TRUE(cuda_compiled_in());
  EXPECT_GE(cuda_device_count(), 0);
}

TEST(CudaBuild, auto_picks_cuda_when_a_device_answers_else_cpu_with_a_reason) {
  std::string note;
  const auto engine = make_engine(EngineKind::Auto, &note);
  if (cuda_device_count() > 0) {
    EXPECT_EQ(engine->name(), "cuda");
  } else {
    EXPECT_EQ(engine->name(), "cpu");
    EXPECT_NE(note.find("CPU engine"), std::string::npos) << note;
    EXPECT_NE(note.find(cuda_report().reason), std::string::npos) << note;
  }
}

TEST(CudaBuild, explicit_cuda_without_a_device_is_a_cuda_error) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device answers on this machine";
  try {
    static_cast<void>(make_engine(EngineKind::Cuda));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Cuda) << e.what();
  }
}

TEST(CudaBuild, cuda_engine_serves_its_devices_and_host_memory) {
  STLOAD_SKIP_UNLESS_CUDA_USABLE();
  const auto engine = make_cuda_engine();
  EXPECT_TRUE(engine->serves(Device{DeviceKind::Cuda, 0}));
  EXPECT_TRUE(engine->serves(Device{DeviceKind::Cpu, 0}));
  EXPECT_FALSE(engine->serves(Device{DeviceKind::Cuda, cuda_device_count()}));
  EXPECT_FALSE(engine->host_addressable(Device{DeviceKind::Cuda, 0}));
  EXPECT_GT(engine->free_memory(Device{DeviceKind::Cuda, 0}), 0U);
}

// The report and the engine agree: usable exactly when a device answers, and a report with
// devices names each one without changing the caller's current device.
TEST(CudaBuild, report_agrees_with_the_device_count) {
  const CudaReport report = cuda_report(CudaDetail::Devices);
  EXPECT_TRUE(report.compiled_in);
  EXPECT_GT(report.runtime_version, 0);
  EXPECT_FALSE(report.reason.empty());
  EXPECT_EQ(report.usable(), cuda_device_count() > 0) << report.reason;
  if (!report.usable()) {
    EXPECT_TRUE(report.devices.empty());
    GTEST_SKIP() << "CUDA " << to_string(report.status) << ": " << report.reason;
  }
  ASSERT_EQ(report.devices.size(), static_cast<std::size_t>(cuda_device_count()));
  for (const CudaDeviceInfo& device : report.devices) {
    EXPECT_TRUE(device.error.empty()) << device.error;
    EXPECT_FALSE(device.name.empty());
    EXPECT_GT(device.total_bytes, 0U);
    EXPECT_GT(device.free_bytes, 0U) << device.memory_error;
    EXPECT_EQ(device.pci_bus_id.size(), 12U) << device.pci_bus_id;
  }
}

}  // namespace
}  // namespace stload
