#pragma once
// NVTX ranges in the "stload" domain around read, copy and wait, so Nsight Systems shows where a
// load spends its time. Compiles to nothing in builds without the CUDA toolkit.

#if defined(STLOAD_HAVE_NVTX)
#include <nvtx3/nvtx3.hpp>

namespace stload::detail {
struct NvtxDomain {
  static constexpr const char* name{"stload"};
};
}  // namespace stload::detail

#define STLOAD_NVTX_CONCAT_(a, b) a##b
#define STLOAD_NVTX_CONCAT(a, b) STLOAD_NVTX_CONCAT_(a, b)
#define STLOAD_NVTX_RANGE(label)                                                                 \
  const ::nvtx3::scoped_range_in<::stload::detail::NvtxDomain> STLOAD_NVTX_CONCAT(stload_range_, \
                                                                                  __LINE__) {    \
    label                                                                                        \
  }
#else
#define STLOAD_NVTX_RANGE(label) static_cast<void>(0)
#endif
