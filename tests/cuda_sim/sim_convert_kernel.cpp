// The conversion kernel's stand-in in the cuda-sim build (which has no nvcc and runs no device
// code): the same refusals as src/cuda/convert_kernel.cu, then a simulated launch
// (stload_sim::launch_kernel, with the runtime's launch rules) whose work is the host loop over
// the same element functions (cpu/convert_elements.cpp over convert/float_bits.hpp). It proves
// the engine enqueues the right conversions in the right order on the right stream and device;
// nothing about the kernel on a GPU (tests/cuda/test_convert_kernel.cpp checks that, on a GPU).

#include "cpu/convert_elements.hpp"
#include "cuda/convert_kernel.hpp"
#include "stload_sim.hpp"

namespace stload::detail {

cudaError_t launch_convert(Dtype from, Dtype to, const void* in, void* out, std::uint64_t count,
                           cudaStream_t stream) noexcept {
  // As the kernel's dispatch: no launch (and no last error) for a pair it has no kernel for.
  if (from == to || !convertible(from, to)) return cudaErrorInvalidValue;
  if (count == 0) return cudaSuccess;
  const std::size_t in_size = bit_size(from) / 8;
  const std::size_t out_size = bit_size(to) / 8;
  try {
    return stload_sim::launch_kernel(
        stream, "convert", {{in, count * in_size, in_size}, {out, count * out_size, out_size}},
        [=] {
          convert_elements(from, to, static_cast<const std::byte*>(in),
                           static_cast<std::byte*>(out), count);
        });
  } catch (...) {  // the simulator's own allocations; a real launch reports resources so
    return cudaErrorLaunchOutOfResources;
  }
}

}  // namespace stload::detail
