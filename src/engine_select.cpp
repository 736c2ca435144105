#include "detail/check.hpp"
#include "stload/engine.hpp"

namespace stload {

namespace detail {
std::string cuda_unavailable_reason();  // defined by the CUDA engine (or its absent stand-in)
}  // namespace detail

std::shared_ptr<CopyEngine> make_engine(EngineKind kind, std::string* note) {
  switch (kind) {
    case EngineKind::Cpu:
      return make_cpu_engine();
    case EngineKind::Cuda:
      return make_cuda_engine();
    case EngineKind::Auto:
      break;
  }
  if (cuda_device_count() > 0) return make_cuda_engine();
  if (note != nullptr) {
    *note = "stload: using the CPU engine: " + detail::cuda_unavailable_reason();
  }
  return make_cpu_engine();
}

}  // namespace stload
