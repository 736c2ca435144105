#include "detail/check.hpp"
#include "detail/log.hpp"
#include "stload/cuda_info.hpp"
#include "stload/engine.hpp"

namespace stload {

// Cuda is strict: asked for and unavailable, it is an Error(Cuda) with the reason (the CUDA
// engine's constructor says why), never the CPU engine. Only Auto falls back, and says so.
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
  // The same verdict `stload doctor` prints: a missing driver, a too-old one and no device are
  // told apart, so a fallback never hides a broken setup. A warning, since a server that asked
  // for "whatever is best" may well have expected a GPU.
  const std::string message = "using the CPU engine: " + cuda_report().reason;
  detail::log(LogLevel::Warning, message);
  if (note != nullptr) *note = "stload: " + message;
  return make_cpu_engine();
}

}  // namespace stload
