// cuda_report() for builds without the CUDA toolkit: says so, and asks nothing.

#include "detail/cuda_verdict.hpp"
#include "stload/cuda_info.hpp"

namespace stload {

CudaReport cuda_report(CudaDetail /*level*/) {
  const detail::CudaVerdict verdict = detail::cuda_verdict(detail::CudaProbe{});
  CudaReport report;
  report.status = verdict.status;
  report.reason = verdict.reason;
  return report;
}

}  // namespace stload
