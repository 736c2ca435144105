#pragma once
// The CUDA engine's dtype conversion: a grid-stride kernel over convert/float_bits.hpp, the same
// element functions the CPU engine runs (cpu/convert_elements.cpp), launched on a copy stream
// from a device scratch slot into the arena. Plain C++ declarations, so host code compiled
// without nvcc can launch it.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "stload/dtype.hpp"

namespace stload::detail {

/// Enqueues the conversion of `count` elements of `from` at device memory `in` into `to` at
/// `out` on `stream`, which must belong to the current device. `in` and `out` must be aligned to
/// their element sizes. Returns cudaErrorInvalidValue for a pair detail::convertible() refuses
/// or from == to (checked before: this is the last line of defence), else the launch's own
/// error; on success the thread's last error is left as it was. The cuda-sim build links a
/// host stand-in instead (tests/cuda_sim/sim_convert_kernel.cpp).
cudaError_t launch_convert(Dtype from, Dtype to, const void* in, void* out, std::uint64_t count,
                           cudaStream_t stream) noexcept;

}  // namespace stload::detail
