// The conformance suite on the CPU engine, in each way it can move bytes: straight into the arenas
// (direct), and through the staging ring, reading by pread, from the mapping or with O_DIRECT;
// with caller-owned memory, zero-copy views of the files and dtype conversion in each of those
// ways.

#include "conformance/caller_memory_suite.hpp"
#include "conformance/conformance_suite.hpp"
#include "conformance/dtype_suite.hpp"
#include "conformance/tensor_parallel_suite.hpp"
#include "conformance/zero_copy_suite.hpp"
#include "support/o_direct.hpp"

namespace stload::conformance {

// Configurations live in a named namespace, so that ctest names show them readably:
// Cpu.<test><stload::conformance::CpuDirect>.

struct CpuConfig {
  static constexpr bool kHasCapacity = true;
  static std::string unavailable() { return {}; }
  static std::shared_ptr<CopyEngine> engine(const std::map<Device, std::uint64_t>& capacity) {
    CpuEngineOptions options;
    options.capacity = capacity;
    return make_cpu_engine(options);
  }
  static Device first() { return Device{DeviceKind::Cpu, 0}; }
  static Device second() { return Device{DeviceKind::Cpu, 1}; }
  static Device unserved() { return Device{DeviceKind::Cuda, 0}; }
};

struct CpuDirect : CpuConfig {
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Pread;
  }
};

// The streaming copy out of the mapping straight into the arenas: the fastest warm path.
struct CpuDirectMmap : CpuConfig {
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Mmap;
  }
};

struct CpuStagedPread : CpuConfig {
  static void configure(LoadOptions& options) {
    options.direct = false;
    options.read_method = ReadMethod::Pread;
  }
};

struct CpuStagedMmap : CpuConfig {
  static void configure(LoadOptions& options) {
    options.direct = false;
    options.read_method = ReadMethod::Mmap;
  }
};

// O_DIRECT reads (io/direct_source.hpp), straight into the arenas (unaligned destinations, through
// the bounce buffer) and into the 4 KiB-aligned staging slots. Skipped where the temp directory's
// file system refuses O_DIRECT.
struct CpuODirectConfig : CpuConfig {
  static std::string unavailable() { return stload::testing::o_direct_refused(); }
};

struct CpuDirectODirect : CpuODirectConfig {
  static void configure(LoadOptions& options) {
    options.direct = true;
    options.read_method = ReadMethod::Direct;
  }
};

struct CpuStagedODirect : CpuODirectConfig {
  static void configure(LoadOptions& options) {
    options.direct = false;
    options.read_method = ReadMethod::Direct;
  }
};

using CpuConfigs = ::testing::Types<CpuDirect, CpuDirectMmap, CpuStagedPread, CpuStagedMmap,
                                    CpuDirectODirect, CpuStagedODirect>;

INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, Conformance, CpuConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, CallerMemory, CpuConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, ZeroCopy, CpuConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, TensorParallelParts, CpuConfigs);
INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, DtypeConversionLoads, CpuConfigs);

}  // namespace stload::conformance
