#pragma once
// Helpers of the cuda-sim tests: checkpoints, loads with small chunks so the staging ring cycles,
// and the devices of the simulated machine.

#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "stload_sim.hpp"
#include "support/concurrent_loads.hpp"

namespace stload::sim_test {

using conformance::kKiB;
using conformance::u8_tensors;

inline int simulated_devices() {
  return stload_sim::config().devices;
}

inline Device gpu(int index) {
  return Device{DeviceKind::Cuda, index};
}

inline Device last_gpu() {
  return gpu(simulated_devices() - 1);
}

/// The calling thread's current device, as the runtime reports it.
inline int current_device() {
  int device = -1;
  static_cast<void>(cudaGetDevice(&device));
  return device;
}

/// Options that send every chunk through staging: 64 KiB chunks, `slots` slots, `readers` readers.
inline LoadOptions staged(DeviceMap map, std::size_t slots = 4, std::size_t readers = 2) {
  LoadOptions options;
  options.device_map = std::move(map);
  options.device_map_given = true;
  options.chunk_bytes = 64 * kKiB;
  options.staging_bytes = slots * 64 * kKiB;
  options.reader_threads = readers;
  options.streams = 2;
  options.direct = false;
  options.read_method = ReadMethod::Pread;
  return options;
}

}  // namespace stload::sim_test
