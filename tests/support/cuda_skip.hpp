#pragma once
// Why a gpu test skips, in its output: "not compiled in", "no driver", "driver too old (versions)"
// or "no device" are different findings, and a too-old driver must not pass for a GPU-less
// machine. The reason is cuda_report()'s, the same line `stload doctor` prints.

#include <gtest/gtest.h>

#include <string>

#include "stload/cuda_info.hpp"

namespace stload::testing {

/// Empty when the CUDA engine can run here, else why not (status and reason).
inline std::string cuda_unusable_reason() {
  const CudaReport report = cuda_report();
  if (report.usable()) return {};
  return "CUDA " + std::string(to_string(report.status)) + ": " + report.reason;
}

}  // namespace stload::testing

/// Skips the current test, printing the precise reason, unless a CUDA device is usable.
#define STLOAD_SKIP_UNLESS_CUDA_USABLE()                                            \
  do {                                                                              \
    const std::string stload_cuda_why_ = ::stload::testing::cuda_unusable_reason(); \
    if (!stload_cuda_why_.empty()) GTEST_SKIP() << stload_cuda_why_;                \
  } while (0)
