// cuda_report() for builds with the CUDA engine: asks the runtime for its version, the driver's,
// the device count and (CudaDetail::Devices) each device's properties and free memory, then hands
// the answers to cuda_verdict(). Only the calls a simulated runtime for tests must also provide:
// cudaRuntimeGetVersion, cudaDriverGetVersion, cudaGetDeviceCount, cudaGetDeviceProperties,
// cudaMemGetInfo, cudaGetDevice, cudaSetDevice, cudaGetErrorName, cudaGetErrorString,
// cudaGetLastError.

#include <cuda_runtime_api.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "detail/cuda_verdict.hpp"
#include "detail/pci_link.hpp"
#include "stload/cuda_info.hpp"

namespace stload {
namespace {

static_assert(detail::kCudaErrorInitializationError == cudaErrorInitializationError);
static_assert(detail::kCudaErrorStubLibrary == cudaErrorStubLibrary);
static_assert(detail::kCudaErrorInsufficientDriver == cudaErrorInsufficientDriver);
static_assert(detail::kCudaErrorDevicesUnavailable == cudaErrorDevicesUnavailable);
static_assert(detail::kCudaErrorNoDevice == cudaErrorNoDevice);
static_assert(detail::kCudaErrorNotPermitted == cudaErrorNotPermitted);
static_assert(detail::kCudaErrorSystemNotReady == cudaErrorSystemNotReady);
static_assert(detail::kCudaErrorSystemDriverMismatch == cudaErrorSystemDriverMismatch);
static_assert(detail::kCudaErrorCompatNotSupportedOnDevice == cudaErrorCompatNotSupportedOnDevice);

std::string describe(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
}

// Remembers whether any call failed: the runtime's last error is then ours, and is cleared on
// the way out so the caller's next cudaGetLastError() does not see it. When nothing failed the
// last error is left alone (it may be the caller's).
class Calls {
 public:
  Calls() = default;
  Calls(const Calls&) = delete;
  Calls& operator=(const Calls&) = delete;
  ~Calls() {
    if (failed_) static_cast<void>(cudaGetLastError());
  }
  bool ok(cudaError_t status, std::string* error = nullptr, const char* call = "") {
    if (status == cudaSuccess) return true;
    failed_ = true;
    if (error != nullptr) *error = std::string(call) + " failed: " + describe(status);
    return false;
  }
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  bool failed_ = false;
};

std::string bus_id(const cudaDeviceProp& props) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%04x:%02x:%02x.0",
                static_cast<unsigned>(props.pciDomainID), static_cast<unsigned>(props.pciBusID),
                static_cast<unsigned>(props.pciDeviceID));
  return text.data();
}

CudaDeviceInfo query_device(Calls& calls, int index) {
  CudaDeviceInfo info;
  info.index = index;
  cudaDeviceProp props{};
  if (!calls.ok(cudaGetDeviceProperties(&props, index), &info.error, "cudaGetDeviceProperties")) {
    return info;
  }
  info.name = props.name;
  info.compute_major = props.major;
  info.compute_minor = props.minor;
  info.multiprocessors = props.multiProcessorCount;
  info.total_bytes = props.totalGlobalMem;
  info.pci_bus_id = bus_id(props);
  info.link = detail::read_pcie_link(detail::kSysfsPciDevices, info.pci_bus_id);
  // Free memory needs the device's context: cudaSetDevice creates it (the caller's device is
  // restored by cuda_report).
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  if (calls.ok(cudaSetDevice(index), &info.memory_error, "cudaSetDevice") &&
      calls.ok(cudaMemGetInfo(&free_bytes, &total_bytes), &info.memory_error, "cudaMemGetInfo")) {
    info.free_bytes = free_bytes;
  }
  return info;
}

// The driver's release is not in the runtime API (NVML has it); the kernel module says it here.
std::string kernel_module_line() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  return line;
}

}  // namespace

CudaReport cuda_report(CudaDetail level) {
  Calls calls;
  detail::CudaProbe probe;
  probe.compiled_in = true;
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) probe.visible_devices = visible;
  // Both version queries succeed without a driver: the driver's is then 0.
  calls.ok(cudaRuntimeGetVersion(&probe.runtime_version));
  calls.ok(cudaDriverGetVersion(&probe.driver_version));
  int count = 0;
  const cudaError_t count_status = cudaGetDeviceCount(&count);
  if (calls.ok(count_status)) {
    probe.device_count = count;
  } else {
    probe.count_status = static_cast<int>(count_status);
    probe.count_error = describe(count_status);
  }

  const detail::CudaVerdict verdict = detail::cuda_verdict(probe);
  CudaReport report;
  report.compiled_in = true;
  report.runtime_version = probe.runtime_version;
  report.driver_version = probe.driver_version;
  report.kernel_module = kernel_module_line();
  report.device_count = probe.device_count;
  report.visible_devices = probe.visible_devices;
  report.status = verdict.status;
  report.reason = verdict.reason;
  if (level != CudaDetail::Devices || probe.device_count <= 0) return report;

  int caller_device = 0;
  const bool have_caller = calls.ok(cudaGetDevice(&caller_device));
  for (int index = 0; index < probe.device_count; ++index) {
    report.devices.push_back(query_device(calls, index));
  }
  if (have_caller) calls.ok(cudaSetDevice(caller_device));
  return report;
}

}  // namespace stload
