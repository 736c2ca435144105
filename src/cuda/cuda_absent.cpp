// Stand-in for builds without the CUDA toolkit: the CUDA engine is reported missing, never faked.

#include <string>

#include "detail/check.hpp"
#include "stload/engine.hpp"

namespace stload {

namespace detail {
std::string cuda_unavailable_reason() {
  return "this build of stload has no CUDA support";
}
}  // namespace detail

bool cuda_compiled_in() noexcept {
  return false;
}
int cuda_device_count() noexcept {
  return 0;
}

std::shared_ptr<CopyEngine> make_cuda_engine() {
  STLOAD_FAIL(ErrorCode::Cuda, "the CUDA engine was asked for, but " +
                                   detail::cuda_unavailable_reason() +
                                   " (rebuild with the CUDA toolkit and -DSTLOAD_CUDA=ON)");
}

}  // namespace stload
