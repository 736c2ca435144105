// The conformance suite once more on the simulated runtime, with a second GPU instead of host
// memory as the second device (cpu:0 when only one device is simulated), and with per-device
// capacity, so the multi-device maps, `auto` spills and out-of-memory paths run on the CUDA engine;
// dtype conversion included (the conversion kernel played by its host stand-in).

#include "conformance/caller_memory_suite.hpp"
#include "conformance/conformance_suite.hpp"
#include "conformance/dtype_suite.hpp"
#include "conformance/tensor_parallel_suite.hpp"
#include "stload_sim.hpp"
#include "support/o_direct.hpp"

namespace stload::conformance {

struct SimGpus {
  static constexpr bool kHasCapacity = true;
  static std::string unavailable() { return {}; }
  static std::shared_ptr<CopyEngine> engine(const std::map<Device, std::uint64_t>& capacity) {
    for (const auto& [device, bytes] : capacity) {
      if (device.kind == DeviceKind::Cuda) stload_sim::set_capacity(device.index, bytes);
    }
    return make_cuda_engine();
  }
  static Device first() { return Device{DeviceKind::Cuda, 0}; }
  static Device second() {
    const int devices = stload_sim::config().devices;
    return devices > 1 ? Device{DeviceKind::Cuda, devices - 1} : Device{DeviceKind::Cpu, 0};
  }
  static Device unserved() { return Device{DeviceKind::Cuda, stload_sim::config().devices}; }
};

struct SimGpusPread : SimGpus {
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Pread;
  }
};

struct SimGpusStagedMmap : SimGpus {
  static void configure(LoadOptions& options) {
    options.direct = false;
    options.read_method = ReadMethod::Mmap;
  }
};

// O_DIRECT reads into the 4 KiB-aligned staging slots the simulated DMA engine reads.
struct SimGpusODirect : SimGpus {
  static std::string unavailable() { return stload::testing::o_direct_refused(); }
  static void configure(LoadOptions& options) {
    options.direct = false;
    options.read_method = ReadMethod::Direct;
  }
};

using SimConfigs = ::testing::Types<SimGpusPread, SimGpusStagedMmap, SimGpusODirect>;

INSTANTIATE_TYPED_TEST_SUITE_P(CudaSim, Conformance, SimConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(CudaSim, CallerMemory, SimConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(CudaSim, TensorParallelParts, SimConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(CudaSim, DtypeConversionLoads, SimConfigs);

}  // namespace stload::conformance
