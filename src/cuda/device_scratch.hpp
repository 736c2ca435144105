#pragma once
// Device memory a converting chunk's staged bytes are copied into before the conversion kernels
// read them: the kernels read device memory, not the pinned staging slot. One per (device, slot)
// of a CUDA copy session, made on the first converting chunk of that slot there and grown (never
// shrunk) by powers of two, so a load of many converted tensors of different sizes reallocates a
// few times at most.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "cuda/cuda_check.hpp"
#include "cuda/device_guard.hpp"

namespace stload::detail {

class DeviceScratch {
 public:
  DeviceScratch() = default;
  /// Allocates `bytes` on `device`; the caller has made `device` current.
  /// @throws Error OutOfMemory naming the device and size
  DeviceScratch(int device, std::uint64_t bytes) : device_(device), size_(bytes) {
    STLOAD_CUDA_TRY_MSG(cudaMalloc(&data_, bytes), "conversion scratch of " +
                                                       std::to_string(bytes) +
                                                       " bytes on cuda:" + std::to_string(device));
  }
  DeviceScratch(DeviceScratch&& other) noexcept
      : device_(other.device_),
        size_(std::exchange(other.size_, 0)),
        data_(std::exchange(other.data_, nullptr)) {}
  DeviceScratch& operator=(DeviceScratch&& other) noexcept {
    if (this != &other) {
      release();
      device_ = other.device_;
      size_ = std::exchange(other.size_, 0);
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  /// The owner has drained the stream that used it (freeing memory a kernel still reads is a
  /// use after free on the device).
  ~DeviceScratch() { release(); }

  [[nodiscard]] std::byte* data() const noexcept { return static_cast<std::byte*>(data_); }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

 private:
  void release() noexcept {
    if (data_ == nullptr) return;
    const DeviceGuard on(device_, std::nothrow);
    STLOAD_CUDA_TRY_NOTHROW(cudaFree(data_));
    data_ = nullptr;
    size_ = 0;
  }

  int device_ = 0;
  std::uint64_t size_ = 0;
  void* data_ = nullptr;
};

}  // namespace stload::detail
