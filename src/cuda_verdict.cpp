// cuda_report()'s verdict: status and one line of why, from what the runtime answered. The
// runtime's own messages mislead in the commonest case: with no driver installed at all,
// cudaGetDeviceCount says "CUDA driver version is insufficient for CUDA runtime version", so the
// driver's version (0 when absent) is asked first and decides between "no driver" and "too old".

#include "detail/cuda_verdict.hpp"

#include <string>

namespace stload {

std::string_view to_string(CudaStatus status) noexcept {
  switch (status) {
    case CudaStatus::Usable:
      return "usable";
    case CudaStatus::NotCompiledIn:
      return "not-compiled-in";
    case CudaStatus::NoDriver:
      return "no-driver";
    case CudaStatus::DriverTooOld:
      return "driver-too-old";
    case CudaStatus::NoDevice:
      return "no-device";
    case CudaStatus::Error:
      return "error";
  }
  return "error";
}

std::string format_cuda_version(int version) {
  if (version <= 0) return "none";
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

namespace detail {
namespace {

// What to check for the failures whose runtime message names no remedy.
std::string hint_for(int status) {
  switch (status) {
    case kCudaErrorDevicesUnavailable:
      return " (every device is busy or in a prohibited or exclusive compute mode: see 'Compute "
             "Mode' in nvidia-smi -q)";
    case kCudaErrorSystemNotReady:
      return " (the system is not ready: on NVSwitch machines the NVIDIA fabric manager must be "
             "running)";
    case kCudaErrorSystemDriverMismatch:
      return " (the driver library and the loaded kernel module are different versions: reload "
             "the module, reboot or reinstall the driver)";
    case kCudaErrorCompatNotSupportedOnDevice:
      return " (a CUDA forward-compatibility package is installed for a GPU it does not support)";
    case kCudaErrorInitializationError:
      return " (the driver failed to initialise: see nvidia-smi and the kernel log)";
    case kCudaErrorNotPermitted:
      return " (not permitted: check the permissions of /dev/nvidia*)";
    default:
      return "";
  }
}

}  // namespace

CudaVerdict cuda_verdict(const CudaProbe& probe) {
  if (!probe.compiled_in) {
    return {CudaStatus::NotCompiledIn,
            "this build of stload has no CUDA support (rebuild with the CUDA toolkit and "
            "-DSTLOAD_CUDA=ON)"};
  }
  const std::string runtime = format_cuda_version(probe.runtime_version);
  const std::string driver = format_cuda_version(probe.driver_version);
  const std::string said = probe.count_error.empty() ? "" : " [" + probe.count_error + "]";
  if (probe.count_status == kCudaErrorStubLibrary) {
    return {CudaStatus::NoDriver,
            "the libcuda.so found is the toolkit's stub library, not a driver (a stubs/ folder on "
            "the library path?)" +
                said};
  }
  if (probe.driver_version <= 0) {
    return {CudaStatus::NoDriver,
            "no CUDA driver is installed or loadable (libcuda.so.1 not found; the runtime reports "
            "this as an insufficient driver)" +
                said};
  }
  // Minor-version compatibility (CUDA 11+): a driver of the runtime's major version runs it.
  const bool older_major = probe.driver_version / 1000 < probe.runtime_version / 1000;
  if (probe.count_status == kCudaErrorInsufficientDriver || older_major) {
    return {CudaStatus::DriverTooOld,
            "the CUDA driver is too old: it supports CUDA " + driver +
                ", this build's runtime is CUDA " + runtime + " (install a driver for CUDA " +
                std::to_string(probe.runtime_version / 1000) + ".0 or newer)" + said};
  }
  const std::string visible = probe.visible_devices == "(unset)"
                                  ? ""
                                  : " (CUDA_VISIBLE_DEVICES='" + probe.visible_devices + "')";
  if (probe.count_status == kCudaErrorNoDevice ||
      (probe.count_status == 0 && probe.device_count <= 0)) {
    return {CudaStatus::NoDevice, "the CUDA driver answers (CUDA " + driver +
                                      ") but no device is visible" + visible + said};
  }
  if (probe.count_status != 0) {
    return {CudaStatus::Error, "the CUDA runtime fails to list devices: " + probe.count_error +
                                   hint_for(probe.count_status) + "; driver CUDA " + driver +
                                   ", runtime CUDA " + runtime + visible};
  }
  std::string reason = "usable: " + std::to_string(probe.device_count) +
                       (probe.device_count == 1 ? " device" : " devices") + ", driver CUDA " +
                       driver + ", runtime CUDA " + runtime + visible;
  if (probe.driver_version < probe.runtime_version) {
    reason +=
        " (driver older than the runtime within one major version: runs by minor-version "
        "compatibility)";
  }
  return {CudaStatus::Usable, reason};
}

}  // namespace detail
}  // namespace stload
