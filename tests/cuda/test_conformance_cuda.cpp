// The conformance suite on the CUDA engine: cuda:0 as the main device, host memory (cpu:0) as the
// second one of mixed maps. Without a device every test skips, saying why. (The cuda-sim build
// runs this file too, on the simulated runtime.)

#include "conformance/caller_memory_suite.hpp"
#include "conformance/conformance_suite.hpp"
#include "conformance/dtype_suite.hpp"
#include "support/cuda_skip.hpp"
#include "support/o_direct.hpp"

#ifndef STLOAD_HAVE_CUDA
#error "tests/cuda is built only with the CUDA engine (CMake passes STLOAD_HAVE_CUDA)"
#endif

namespace stload::conformance {

// Configurations live in a named namespace, so that ctest names show them readably:
// Cpu.<test><stload::conformance::CpuDirect>.

struct CudaConfig {
  // cudaMalloc'd arenas have no capacity knob: tests that need a small device skip, and the
  // oversized-arena test uses a sparse file larger than the GPU's free memory instead.
  static constexpr bool kHasCapacity = false;
  static std::string unavailable() { return stload::testing::cuda_unusable_reason(); }
  static std::shared_ptr<CopyEngine> engine(const std::map<Device, std::uint64_t>& /*capacity*/) {
    return make_cuda_engine();
  }
  static Device first() { return Device{DeviceKind::Cuda, 0}; }
  static Device second() { return Device{DeviceKind::Cpu, 0}; }
  static Device unserved() { return Device{DeviceKind::Cuda, 1000}; }
};

// Host arenas of mixed maps written directly; the readers fill staging by pread or from the map.
struct CudaPread : CudaConfig {
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Pread;
  }
};

struct CudaMmap : CudaConfig {
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Mmap;
  }
};

// O_DIRECT reads into the pinned, 4 KiB-aligned staging slots (and straight into host arenas of
// mixed maps). Skips without a device, or where the temp directory refuses O_DIRECT.
struct CudaODirect : CudaConfig {
  static std::string unavailable() {
    const std::string why = CudaConfig::unavailable();
    return why.empty() ? stload::testing::o_direct_refused() : why;
  }
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Direct;
  }
};

using CudaConfigs = ::testing::Types<CudaPread, CudaMmap, CudaODirect>;

INSTANTIATE_TYPED_TEST_SUITE_P(Cuda, Conformance, CudaConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(Cuda, CallerMemory, CudaConfigs);
// Conversion on the device (convert_kernel.cu), each tensor against the host conversion of its
// file bytes; with host memory as the second device, the host path of a mixed map too.
INSTANTIATE_TYPED_TEST_SUITE_P(Cuda, DtypeConversionLoads, CudaConfigs);

}  // namespace stload::conformance
