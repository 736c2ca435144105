#pragma once
// What the CUDA engine keeps between loads, so that a load does not pay for pinned staging,
// streams and events every time (cudaHostAlloc of a 256 MiB ring alone takes tens of
// milliseconds). Bounded: what comes back past the bounds is freed. Shared with what it hands
// out, so the last of the engine and its buffers frees it; idle items go with the engine.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "cuda/cuda_check.hpp"
#include "cuda/device_guard.hpp"

namespace stload::detail {

class CudaPool {
 public:
  static constexpr std::size_t kPinnedBuffers = 4;            // idle pinned buffers kept
  static constexpr std::uint64_t kPinnedBytes = 2ULL << 30U;  // ... and their bytes
  static constexpr std::size_t kStreamsPerDevice = 16;        // idle streams kept per device
  static constexpr std::size_t kEventsPerDevice = 1024;       // idle events kept per device

  explicit CudaPool(int devices) : idle_(static_cast<std::size_t>(devices)) {}
  CudaPool(const CudaPool&) = delete;
  CudaPool& operator=(const CudaPool&) = delete;
  ~CudaPool() {
    for (const auto& [pointer, bytes] : pinned_) STLOAD_CUDA_TRY_NOTHROW(cudaFreeHost(pointer));
    for (std::size_t d = 0; d < idle_.size(); ++d) {
      if (idle_[d].streams.empty() && idle_[d].events.empty()) continue;
      const DeviceGuard on(static_cast<int>(d), std::nothrow);
      for (cudaStream_t stream : idle_[d].streams)
        STLOAD_CUDA_TRY_NOTHROW(cudaStreamDestroy(stream));
      for (cudaEvent_t event : idle_[d].events) STLOAD_CUDA_TRY_NOTHROW(cudaEventDestroy(event));
    }
  }

  /// The smallest idle pinned buffer of at least `bytes` (its capacity in `capacity`), or a new
  /// one. @throws Error OutOfMemory
  void* take_pinned(std::uint64_t bytes, std::uint64_t& capacity) {
    {
      const std::lock_guard lock(mutex_);
      auto best = pinned_.end();
      for (auto it = pinned_.begin(); it != pinned_.end(); ++it) {
        if (it->second >= bytes && (best == pinned_.end() || it->second < best->second)) best = it;
      }
      if (best != pinned_.end()) {
        void* pointer = best->first;
        capacity = best->second;
        pinned_.erase(best);
        return pointer;
      }
    }
    void* pointer = nullptr;
    STLOAD_CUDA_TRY_MSG(cudaHostAlloc(&pointer, bytes, cudaHostAllocPortable),
                        "pinned staging of " + std::to_string(bytes) + " bytes");
    capacity = bytes;
    return pointer;
  }

  void give_pinned(void* pointer, std::uint64_t capacity) noexcept {
    {
      const std::lock_guard lock(mutex_);
      std::uint64_t kept = capacity;
      for (const auto& entry : pinned_) kept += entry.second;
      if (pinned_.size() < kPinnedBuffers && kept <= kPinnedBytes) {
        pinned_.emplace_back(pointer, capacity);
        return;
      }
    }
    STLOAD_CUDA_TRY_NOTHROW(cudaFreeHost(pointer));
  }

  /// An idle stream of `device`, or a new non-blocking one; the caller has made `device` current.
  cudaStream_t take_stream(int device) {
    if (cudaStream_t stream = pop(idle_.at(static_cast<std::size_t>(device)).streams))
      return stream;
    cudaStream_t stream = nullptr;
    STLOAD_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    return stream;
  }

  /// An idle event of `device`, or a new one that blocks its waiter instead of spinning a core;
  /// the caller has made `device` current.
  cudaEvent_t take_event(int device) {
    if (cudaEvent_t event = pop(idle_.at(static_cast<std::size_t>(device)).events)) return event;
    cudaEvent_t event = nullptr;
    STLOAD_CUDA_TRY(
        cudaEventCreateWithFlags(&event, cudaEventDisableTiming | cudaEventBlockingSync));
    return event;
  }

  /// Takes back a synchronized stream and completed events of `device`; the caller has made
  /// `device` current. What does not fit the bounds is destroyed.
  void give_back(int device, std::vector<cudaStream_t>& streams,
                 std::vector<cudaEvent_t>& events) noexcept {
    Idle& idle = idle_[static_cast<std::size_t>(device)];
    const std::lock_guard lock(mutex_);
    for (cudaStream_t stream : streams) {
      if (idle.streams.size() < kStreamsPerDevice) {
        idle.streams.push_back(stream);
      } else {
        STLOAD_CUDA_TRY_NOTHROW(cudaStreamDestroy(stream));
      }
    }
    for (cudaEvent_t event : events) {
      if (event == nullptr) continue;
      if (idle.events.size() < kEventsPerDevice) {
        idle.events.push_back(event);
      } else {
        STLOAD_CUDA_TRY_NOTHROW(cudaEventDestroy(event));
      }
    }
    streams.clear();
    events.clear();
  }

 private:
  struct Idle {
    std::vector<cudaStream_t> streams;
    std::vector<cudaEvent_t> events;
  };

  template <class T>
  T pop(std::vector<T>& items) {
    const std::lock_guard lock(mutex_);
    if (items.empty()) return nullptr;
    T item = items.back();
    items.pop_back();
    return item;
  }

  std::mutex mutex_;
  std::vector<std::pair<void*, std::uint64_t>> pinned_;  // idle pinned buffers: pointer, capacity
  std::vector<Idle> idle_;                               // per device
};

}  // namespace stload::detail
