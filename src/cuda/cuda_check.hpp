#pragma once
// CUDA runtime calls, wrapped: a throwing form for normal paths, a logging no-throw form for
// destructors and cleanup (where a second exception would terminate the process).

#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

#include "detail/check.hpp"

namespace stload::detail {

inline std::string cuda_message(cudaError_t status, const char* call) {
  return std::string(call) + " failed: " + cudaGetErrorName(status) + ": " +
         cudaGetErrorString(status);
}

}  // namespace stload::detail

#define STLOAD_CUDA_TRY(call)                                                       \
  do {                                                                              \
    const cudaError_t stload_status_ = (call);                                      \
    if (stload_status_ != cudaSuccess) [[unlikely]] {                               \
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
      throw ::stload::Error(                                                                    \
          stload_status_ == cudaErrorMemoryAllocation ? ::stload::ErrorCode::OutOfMemory        \
                                                      : ::stload::ErrorCode::Cuda,              \
          std::string(context) + ": " + ::stload::detail::cuda_message(stload_status_, #call)); \
    }                                                                                           \
  } while (0)

#define STLOAD_CUDA_TRY_NOTHROW(call)                                              \
  do {                                                                             \
    const cudaError_t stload_status_ = (call);                                     \
    if (stload_status_ != cudaSuccess) {                                           \
      std::fprintf(stderr, "stload: %s\n",                                         \
                   ::stload::detail::cuda_message(stload_status_, #call).c_str()); \
    }                                                                              \
  } while (0)
