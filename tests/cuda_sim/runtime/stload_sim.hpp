#pragma once
// Test control of the simulated CUDA runtime (tests/cuda_sim/runtime): the runtime functions the
// CUDA engine calls, implemented over host memory, with the documented rules enforced. Tests set
// the simulated machine with reset() and read back what the engine did and which rules it broke.
// A test tool only: passing on it says the engine's logic keeps the rules as simulated here, and
// nothing about how it behaves on a GPU.

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace stload_sim {

/// The simulated machine.
struct SimConfig {
  int devices = 1;                                  ///< cudaGetDeviceCount; 0: cudaErrorNoDevice
  std::uint64_t capacity_per_device = 1ULL << 30U;  ///< cudaMalloc fails past it
  std::chrono::microseconds max_delay{200};         ///< each stream operation waits [0, max) first
  /// Every one of a stream's first `delayed_operations` operations waits; later ones only one in
  /// 16 does. The first thousands are where the engine's slot reuse and event waits are exercised;
  /// delaying each of a 50,000-tensor load's operations only made the test slow (seconds a load).
  std::uint64_t delayed_operations = 4096;
  std::uint64_t seed = 1;  ///< of the delays
};

/// What the engine asked of the runtime since the last reset().
struct Counters {
  std::vector<std::uint64_t> streams_created;     ///< per device
  std::vector<std::uint64_t> events_created;      ///< per device
  std::vector<std::uint64_t> device_allocations;  ///< cudaMalloc calls per device
  std::uint64_t pinned_allocations = 0;           ///< cudaHostAlloc calls
  std::uint64_t events_not_blocking_sync = 0;     ///< events made without BlockingSync or
                                                  ///< with timing on
  std::uint64_t legacy_stream_uses = 0;           ///< cudaMemcpy, or work on stream 0
  std::uint64_t unaligned_async_sources = 0;      ///< host-to-device copies from an address not
                                                  ///< 4 KiB aligned
  std::uint64_t pageable_async_copies = 0;        ///< cudaMemcpyAsync from pageable memory
  std::vector<int> copy_devices;  ///< target device of each host-to-device cudaMemcpyAsync, in the
                                  ///< order they were enqueued (the first 4096)
  std::vector<std::uint64_t> kernels_launched;  ///< launch_kernel calls enqueued, per device
};

/// Device memory a simulated kernel reads or writes, and the alignment its accesses need.
struct KernelRange {
  const void* pointer = nullptr;
  std::size_t bytes = 0;
  std::size_t alignment = 1;
};

/// A kernel launch on the simulated machine, for the host stand-ins of stload's kernels (the
/// simulator runs no device code). Checks, as violations with the runtime's error: `stream` is a
/// live stream of the current device (cudaErrorInvalidResourceHandle), each range lies inside
/// one live allocation of that device and is aligned (cudaErrorInvalidValue; a GPU would fault
/// later instead). Then `body` runs on the host, on the stream's worker after the stream's
/// earlier operations, and the ranges count as in use until it has: freeing them before is a
/// violation. A failure is also the thread's last error, as a failed launch's is.
cudaError_t launch_kernel(cudaStream_t stream, const char* name, std::vector<KernelRange> ranges,
                          std::function<void()> body);

/// Drops everything left by the last test (joining its stream workers) and starts a fresh machine.
/// The calling thread's current device becomes 0 and its last error cudaSuccess.
void reset(const SimConfig& config);

/// The configuration reset() set.
[[nodiscard]] SimConfig config();

/// Lowers one device's capacity (conformance tests that need a small device).
void set_capacity(int device, std::uint64_t bytes);

/// Rules broken since the last reset or take, each one line naming the call and the handles.
[[nodiscard]] std::vector<std::string> violations();
/// violations(), clearing them: for tests that break a rule on purpose.
[[nodiscard]] std::vector<std::string> take_violations();

/// Allocations, pinned buffers, streams and events still alive: at the end of a test, leaks.
[[nodiscard]] std::vector<std::string> leaks();

[[nodiscard]] Counters counters();

/// Bytes of host-to-device copies that have completed (readable while a load runs).
[[nodiscard]] std::uint64_t bytes_copied_to_devices();

/// From now on every call fails with cudaErrorCudartUnloading, as in static destructors at exit;
/// leaks() then reports nothing. reset() ends it.
void unload_runtime();

}  // namespace stload_sim
