#pragma once
// CUDA runtime calls, wrapped: a throwing form for normal paths, a logging no-throw form for
// destructors and cleanup (where a second exception would terminate the process). A failed call
// leaves its error as the thread's last error, which the host program's next cudaGetLastError
// would read as its own: every form clears it (only after a failure, so an error the caller caused
// before calling us stays theirs). The no-throw form is silent about cudaErrorCudartUnloading:
// memory freed by static destructors after the runtime unloaded is reclaimed with the process.

#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

#include "detail/check.hpp"

namespace stload::detail {

/// Clears the last error a failed call of ours left.
inline void clear_our_error() noexcept {
  static_cast<void>(cudaGetLastError());
}

inline std::string cuda_message(cudaError_t status, const char* call) {
  return std::string(call) + " failed: " + cudaGetErrorName(status) + ": " +
         cudaGetErrorString(status);
}

}  // namespace stload::detail

#define STLOAD_CUDA_TRY(call)                                                       \
  do {                                                                              \
    const cudaError_t stload_status_ = (call);                                      \
    if (stload_status_ != cudaSuccess) [[unlikely]] {                               \
      ::stload::detail::clear_our_error();                                          \
      throw ::stload::Error(stload_status_ == cudaErrorMemoryAllocation             \
                                ? ::stload::ErrorCode::OutOfMemory                  \
                                : ::stload::ErrorCode::Cuda,                        \
                            ::stload::detail::cuda_message(stload_status_, #call)); \
    }                                                                               \
  } while (0)

#define STLOAD_CUDA_TRY_MSG(call, context)                                                      \
  do {                                                                                          \
    const cudaError_t stload_status_ = (call);                                                  \
    if (stload_status_ != cudaSuccess) [[unlikely]] {                                           \
      ::stload::detail::clear_our_error();                                                      \
      throw ::stload::Error(                                                                    \
          stload_status_ == cudaErrorMemoryAllocation ? ::stload::ErrorCode::OutOfMemory        \
                                                      : ::stload::ErrorCode::Cuda,              \
          std::string(context) + ": " + ::stload::detail::cuda_message(stload_status_, #call)); \
    }                                                                                           \
  } while (0)

#define STLOAD_CUDA_TRY_NOTHROW(call)                                                  \
  do {                                                                                 \
    const cudaError_t stload_status_ = (call);                                         \
    if (stload_status_ != cudaSuccess) {                                               \
      ::stload::detail::clear_our_error();                                             \
    }                                                                                  \
    if (stload_status_ != cudaSuccess && stload_status_ != cudaErrorCudartUnloading) { \
      std::fprintf(stderr, "stload: %s\n",                                             \
                   ::stload::detail::cuda_message(stload_status_, #call).c_str());     \
    }                                                                                  \
  } while (0)
