#include "export.hpp"

#include <atomic>
#include <memory>

#include "stload/error.hpp"

namespace nb = nanobind;

namespace stload::python {
namespace {

std::atomic<long> g_live_owners{0};

using SharedState = std::shared_ptr<LoadedModel::State>;

void release_owner(void* state) noexcept {
  delete static_cast<SharedState*>(state);
  g_live_owners.fetch_sub(1, std::memory_order_relaxed);
}

// DLPack wants a non-null pointer even for an empty tensor; an empty arena has none to give.
alignas(256) std::byte g_empty[256];

template <typename Framework>
nb::object wrap(void* data, const std::vector<std::size_t>& shape, nb::handle owner,
                nb::dlpack::dtype dtype, int device_type, int device_id) {
  nb::ndarray<Framework> array(data, shape.size(), shape.data(), owner, nullptr, dtype, device_type,
                               device_id);
  return nb::cast(std::move(array));
}

}  // namespace

nb::object make_owner(const LoadedModel& model) {
  auto state = std::make_unique<SharedState>(model.state());
  nb::capsule owner(state.get(), "stload.LoadedModel", &release_owner);
  state.release();  // NOLINT(bugprone-unused-return-value): the capsule owns it now
  g_live_owners.fetch_add(1, std::memory_order_relaxed);
  return owner;
}

nb::object export_view(const TensorView& view, nb::handle owner, Framework framework) {
  const Carrier carrier = carrier_for(view.dtype, view.shape, framework);
  const std::vector<std::size_t> shape = carrier_shape(carrier, view.shape, view.bytes);
  void* data = view.data != nullptr ? view.data : static_cast<void*>(g_empty);
  const bool cuda = view.device.kind == DeviceKind::Cuda;
  const int device_type = cuda ? nb::device::cuda::value : nb::device::cpu::value;
  const int device_id = cuda ? view.device.index : 0;
  if (framework == Framework::Torch)
    return wrap<nb::pytorch>(data, shape, owner, carrier.dtype, device_type, device_id);
  if (cuda) {
    throw Error(ErrorCode::InvalidArgument,
                "tensor '" + view.name + "' is on " + view.device.to_string() +
                    ": numpy arrays live in host memory (use framework=\"pt\" or device=\"cpu\")");
  }
  return wrap<nb::numpy>(data, shape, owner, carrier.dtype, device_type, device_id);
}

long live_owners() noexcept { return g_live_owners.load(std::memory_order_relaxed); }

}  // namespace stload::python
