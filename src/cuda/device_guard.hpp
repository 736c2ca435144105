#pragma once
// The calling thread's current CUDA device is the caller's state: a server's next cudaMalloc must
// land where it expects. DeviceGuard switches it for one scope and puts it back on every path.

#include <cuda_runtime_api.h>

#include <new>

#include "cuda/cuda_check.hpp"

namespace stload::detail {

class DeviceGuard {
 public:
  /// Switches to `device`. @throws Error Cuda when the runtime refuses
  explicit DeviceGuard(int device) {
    STLOAD_CUDA_TRY(cudaGetDevice(&saved_));
    current_ = saved_;
    if (device != current_) {
      STLOAD_CUDA_TRY(cudaSetDevice(device));
      current_ = device;
    }
  }
  /// For destructors and cleanup: never throws, logs what fails (silently when the runtime is
  /// already unloading at exit).
  DeviceGuard(int device, std::nothrow_t /*unused*/) {
    if (cudaGetDevice(&saved_) != cudaSuccess) {
      static_cast<void>(cudaGetLastError());
      saved_ = -1;  // nothing to restore, and nothing to switch either: the runtime is gone
      return;
    }
    current_ = saved_;
    if (device != current_) {
      STLOAD_CUDA_TRY_NOTHROW(cudaSetDevice(device));
      current_ = device;
    }
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  ~DeviceGuard() {
    if (saved_ >= 0 && current_ != saved_) STLOAD_CUDA_TRY_NOTHROW(cudaSetDevice(saved_));
  }

 private:
  int saved_ = -1;
  int current_ = -1;
};

}  // namespace stload::detail
