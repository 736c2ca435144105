#include "detail/check.hpp"
#include "stload/cuda_info.hpp"
#include "stload/engine.hpp"

namespace stload {

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
    // The same verdict `stload doctor` prints: a missing driver, a too-old one and no device are
    // told apart, so a fallback never hides a broken setup.
    *note = "stload: using the CPU engine: " + cuda_report().reason;
  }
  return make_cpu_engine();
}

}  // namespace stload
