#pragma once
// The verdict of cuda_report(): from what the runtime answered to a status and one line saying
// why. Pure (no CUDA calls) so that every branch is unit-tested on a machine without a GPU, and
// shared by the builds with and without CUDA.

#include <string>

#include "stload/cuda_info.hpp"

namespace stload::detail {

/// What the runtime answered; cuda_info.cpp fills it (cuda_info_absent.cpp leaves it empty).
struct CudaProbe {
  bool compiled_in = false;
  int runtime_version = 0;  ///< cudaRuntimeGetVersion
  int driver_version = 0;   ///< cudaDriverGetVersion: 0 when no driver is installed
  int count_status = 0;     ///< cudaGetDeviceCount's cudaError_t, 0 on success
  std::string count_error;  ///< "cudaErrorNoDevice: no CUDA-capable device is detected"
  int device_count = 0;     ///< what cudaGetDeviceCount gave on success
  std::string visible_devices = "(unset)";  ///< CUDA_VISIBLE_DEVICES
};

struct CudaVerdict {
  CudaStatus status = CudaStatus::NotCompiledIn;
  std::string reason;
};

[[nodiscard]] CudaVerdict cuda_verdict(const CudaProbe& probe);

// cudaError_t values the verdict tells apart, as in the toolkit's driver_types.h (cuda_info.cpp
// checks them against the header with static_assert; this file must build without CUDA).
inline constexpr int kCudaErrorInitializationError = 3;
inline constexpr int kCudaErrorStubLibrary = 34;
inline constexpr int kCudaErrorInsufficientDriver = 35;
inline constexpr int kCudaErrorDevicesUnavailable = 46;
inline constexpr int kCudaErrorNoDevice = 100;
inline constexpr int kCudaErrorNotPermitted = 800;
inline constexpr int kCudaErrorSystemNotReady = 802;
inline constexpr int kCudaErrorSystemDriverMismatch = 803;
inline constexpr int kCudaErrorCompatNotSupportedOnDevice = 804;

}  // namespace stload::detail
