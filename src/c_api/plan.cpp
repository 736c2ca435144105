// C API: planning for stated device capacities (stload_make_plan and the plan's accessors).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "c_api/guard.hpp"
#include "c_api/only.hpp"
#include "c_api/struct_size.hpp"
#include "detail/check.hpp"
#include "stload/device_plan.hpp"

struct stload_plan {
  stload::DevicePlan plan;
  std::vector<std::string> first_names;  // per device: what stload_plan_device.first_tensor shows
  std::vector<std::string> last_names;
};

namespace stload::c_api {
namespace {

// Structs end at their last field (stload.h: they grow at their end, never into tail padding).
static_assert(sizeof(stload_plan_options) ==
              offsetof(stload_plan_options, flags) + sizeof(stload_plan_options::flags));
static_assert(sizeof(stload_plan_device) ==
              offsetof(stload_plan_device, last_tensor) + sizeof(stload_plan_device::last_tensor));

DevicePlanOptions to_cpp(const stload_plan_options& caller) {
  const stload_plan_options in = from_caller(caller, "stload_plan_options");
  STLOAD_EXPECT(in.device_count == 0 || (in.devices != nullptr && in.capacity_bytes != nullptr),
                ErrorCode::InvalidArgument,
                "stload_plan_options: devices and capacity_bytes must not be NULL with "
                "device_count " +
                    std::to_string(in.device_count));
  DevicePlanOptions out;
  if (in.device_map != nullptr) out.device_map = DeviceMap::parse(in.device_map);
  for (std::size_t i = 0; i < in.device_count; ++i) {
    const stload_device& d = in.devices[i];
    const int kind = raw_value(d.kind);
    STLOAD_EXPECT((kind == STLOAD_DEVICE_CPU || kind == STLOAD_DEVICE_CUDA) && d.index >= 0,
                  ErrorCode::InvalidArgument,
                  "stload_plan_options.devices[" + std::to_string(i) + "] is not a device");
    const Device device{static_cast<DeviceKind>(kind), static_cast<int>(d.index)};
    STLOAD_EXPECT(out.capacity.emplace(device, in.capacity_bytes[i]).second,
                  ErrorCode::InvalidArgument,
                  "stload_plan_options.devices names " + device.to_string() + " twice");
  }
  if (in.chunk_bytes != 0) out.chunk_bytes = in.chunk_bytes;
  out.only = only_patterns(in.only, in.only_count, "stload_plan_options");
  out.allow_unmatched = allow_unmatched(in.flags, "stload_plan_options");
  return out;
}

}  // namespace
}  // namespace stload::c_api

extern "C" {

stload_status stload_make_plan(const stload_checkpoint* checkpoint,
                               const stload_plan_options* options, stload_plan** out) {
  using namespace stload;
  return c_api::guard([&] {
    STLOAD_EXPECT(checkpoint != nullptr && options != nullptr && out != nullptr,
                  ErrorCode::InvalidArgument,
                  "stload_make_plan: checkpoint, options and out must not be NULL");
    const Checkpoint& opened = checkpoint->checkpoint;
    auto plan = std::make_unique<stload_plan>();
    plan->plan = plan_for_devices(opened, c_api::to_cpp(*options));
    for (const DeviceUsage& usage : plan->plan.devices) {
      plan->first_names.push_back(opened.tensors()[usage.first_tensor].info.name);
      plan->last_names.push_back(opened.tensors()[usage.last_tensor].info.name);
    }
    *out = plan.release();
  });
}

void stload_plan_free(stload_plan* plan) {
  const std::unique_ptr<stload_plan> owned(plan);
}

size_t stload_plan_device_count(const stload_plan* plan) {
  return plan == nullptr ? 0 : plan->plan.devices.size();
}

uint64_t stload_plan_chunk_count(const stload_plan* plan) {
  return plan == nullptr ? 0 : plan->plan.plan.chunks.size();
}

uint64_t stload_plan_tensor_bytes(const stload_plan* plan) {
  return plan == nullptr ? 0 : plan->plan.plan.tensor_bytes;
}

stload_status stload_plan_device_at(const stload_plan* plan, size_t index,
                                    stload_plan_device* out) {
  using namespace stload;
  return c_api::guard([&] {
    STLOAD_EXPECT(plan != nullptr && out != nullptr, ErrorCode::InvalidArgument,
                  "stload_plan_device_at: plan and out must not be NULL");
    const auto& devices = plan->plan.devices;
    STLOAD_EXPECT(index < devices.size(), ErrorCode::InvalidArgument,
                  "stload_plan_device_at: index " + std::to_string(index) + " of " +
                      std::to_string(devices.size()) + " devices");
    c_api::check_struct_size(out->struct_size, "stload_plan_device");
    const DeviceUsage& usage = devices[index];
    stload_plan_device filled{};
    filled.device = stload_device{static_cast<stload_device_kind>(usage.device.kind),
                                  static_cast<std::int32_t>(usage.device.index)};
    filled.capacity_bytes = usage.capacity;
    filled.arena_bytes = usage.arena_bytes;
    filled.tensor_bytes = usage.tensor_bytes;
    filled.tensors = usage.tensors;
    filled.first_tensor = plan->first_names[index].c_str();
    filled.last_tensor = plan->last_names[index].c_str();
    c_api::to_caller(filled, *out);
  });
}

}  // extern "C"
