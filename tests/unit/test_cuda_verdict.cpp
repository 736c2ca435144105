// cuda_report()'s verdict, branch by branch, from the runtime's answers as they come on real
// machines (values from the CUDA 13 runtime): the line a user or a skipped gpu test reads must
// name the actual fault, with the versions when they are the fault.

#include <gtest/gtest.h>

#include <string>

#include "detail/cuda_verdict.hpp"

namespace stload::detail {
namespace {

CudaProbe answered(int driver, int runtime = 13000) {
  CudaProbe probe;
  probe.compiled_in = true;
  probe.runtime_version = runtime;
  probe.driver_version = driver;
  return probe;
}

CudaProbe failed(CudaProbe probe, int status, std::string error) {
  probe.count_status = status;
  probe.count_error = std::move(error);
  return probe;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CudaVerdict, a_build_without_cuda_says_so) {
  const CudaVerdict v = cuda_verdict(CudaProbe{});
  EXPECT_EQ(v.status, CudaStatus::NotCompiledIn);
  EXPECT_TRUE(has(v.reason, "no CUDA support")) << v.reason;
}

// With no driver at all the static runtime answers cudaErrorInsufficientDriver; the driver's
// version of 0 is what tells "absent" from "too old".
TEST(CudaVerdict, no_driver_is_not_reported_as_an_old_driver) {
  const CudaVerdict v = cuda_verdict(failed(answered(0), kCudaErrorInsufficientDriver,
                                            "cudaErrorInsufficientDriver: CUDA driver version is "
                                            "insufficient for CUDA runtime version"));
  EXPECT_EQ(v.status, CudaStatus::NoDriver);
  EXPECT_TRUE(has(v.reason, "no CUDA driver")) << v.reason;
  EXPECT_TRUE(has(v.reason, "cudaErrorInsufficientDriver")) << v.reason;
}

TEST(CudaVerdict, the_toolkits_stub_library_is_no_driver) {
  const CudaVerdict v =
      cuda_verdict(failed(answered(0), kCudaErrorStubLibrary, "cudaErrorStubLibrary: stub"));
  EXPECT_EQ(v.status, CudaStatus::NoDriver);
  EXPECT_TRUE(has(v.reason, "stub")) << v.reason;
}

TEST(CudaVerdict, an_older_major_driver_is_too_old_and_both_versions_are_named) {
  const CudaVerdict v = cuda_verdict(failed(answered(12040), kCudaErrorInsufficientDriver,
                                            "cudaErrorInsufficientDriver: insufficient"));
  EXPECT_EQ(v.status, CudaStatus::DriverTooOld);
  EXPECT_TRUE(has(v.reason, "12.4")) << v.reason;
  EXPECT_TRUE(has(v.reason, "13.0")) << v.reason;
}

TEST(CudaVerdict, an_older_major_driver_is_too_old_even_if_the_count_succeeded) {
  CudaProbe probe = answered(12080);
  probe.device_count = 1;
  EXPECT_EQ(cuda_verdict(probe).status, CudaStatus::DriverTooOld);
}

TEST(CudaVerdict, an_older_minor_of_the_same_major_runs_by_minor_version_compatibility) {
  CudaProbe probe = answered(13000, 13020);
  probe.device_count = 2;
  const CudaVerdict v = cuda_verdict(probe);
  EXPECT_EQ(v.status, CudaStatus::Usable);
  EXPECT_TRUE(has(v.reason, "2 devices")) << v.reason;
  EXPECT_TRUE(has(v.reason, "minor-version compatibility")) << v.reason;
}

TEST(CudaVerdict, a_driver_without_devices_is_no_device_and_names_cuda_visible_devices) {
  CudaProbe probe = failed(answered(13000), kCudaErrorNoDevice,
                           "cudaErrorNoDevice: no CUDA-capable device is detected");
  probe.visible_devices = "";
  const CudaVerdict v = cuda_verdict(probe);
  EXPECT_EQ(v.status, CudaStatus::NoDevice);
  EXPECT_TRUE(has(v.reason, "CUDA_VISIBLE_DEVICES=''")) << v.reason;
  EXPECT_EQ(cuda_verdict(answered(13000)).status, CudaStatus::NoDevice);  // count 0, success
}

TEST(CudaVerdict, other_failures_are_errors_with_a_hint) {
  const CudaVerdict busy = cuda_verdict(
      failed(answered(13000), kCudaErrorDevicesUnavailable, "cudaErrorDevicesUnavailable: busy"));
  EXPECT_EQ(busy.status, CudaStatus::Error);
  EXPECT_TRUE(has(busy.reason, "Compute Mode")) << busy.reason;
  const CudaVerdict fabric = cuda_verdict(
      failed(answered(13000), kCudaErrorSystemNotReady, "cudaErrorSystemNotReady: not ready"));
  EXPECT_TRUE(has(fabric.reason, "fabric manager")) << fabric.reason;
  const CudaVerdict mismatch = cuda_verdict(
      failed(answered(13000), kCudaErrorSystemDriverMismatch, "cudaErrorSystemDriverMismatch: x"));
  EXPECT_TRUE(has(mismatch.reason, "kernel module")) << mismatch.reason;
}

TEST(CudaVerdict, usable_names_the_count_and_the_versions) {
  CudaProbe probe = answered(13000);
  probe.device_count = 1;
  const CudaVerdict v = cuda_verdict(probe);
  EXPECT_EQ(v.status, CudaStatus::Usable);
  EXPECT_EQ(v.reason, "usable: 1 device, driver CUDA 13.0, runtime CUDA 13.0");
}

TEST(CudaVerdict, versions_and_status_names_print_as_documented) {
  EXPECT_EQ(format_cuda_version(13000), "13.0");
  EXPECT_EQ(format_cuda_version(12040), "12.4");
  EXPECT_EQ(format_cuda_version(0), "none");
  EXPECT_EQ(to_string(CudaStatus::DriverTooOld), "driver-too-old");
  EXPECT_EQ(to_string(CudaStatus::NotCompiledIn), "not-compiled-in");
}

}  // namespace
}  // namespace stload::detail
