#pragma once
/// @file device_plan.hpp
/// @brief Planning for devices that are not here: a LoadPlan for stated device capacities, made
/// without an engine, so that a server can size its KV cache before any GPU is touched and a
/// CPU-only CI can test a production device map.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/placement.hpp"
#include "stload/plan.hpp"

namespace stload {

/// @brief What to plan, for which devices.
struct DevicePlanOptions {
  /// @brief Where tensors go: rules, one device, or `auto`. Default-constructed: every tensor on
  /// cuda:0, as a load with the CUDA engine does. An `auto` map without devices of its own fills
  /// the devices of `capacity` in order (cpu:N before cuda:N, by index).
  DeviceMap device_map;
  /// @brief Bytes each device may hold, used as given (no margin: the loader's margin applies
  /// only to the free memory it measures itself). Every device the plan uses must be here.
  std::map<Device, std::uint64_t> capacity;
  std::function<bool(std::string_view)> filter;  ///< plan only names it accepts (all when empty)
  std::vector<std::string> only;                 ///< name patterns, as PlanOptions::only (plan.hpp)
  bool allow_unmatched = false;                  ///< as PlanOptions::allow_unmatched
  std::uint64_t chunk_bytes =
      64ULL
      << 20U;  ///< largest chunk, as LoadOptions::chunk_bytes (0: as a load here would choose)
};

/// @brief One device of a DevicePlan.
struct DeviceUsage {
  Device device;                   ///< the device
  std::uint64_t capacity = 0;      ///< its stated capacity
  std::uint64_t arena_bytes = 0;   ///< its arena: tensors and alignment padding
  std::uint64_t tensor_bytes = 0;  ///< bytes of its tensors
  std::size_t tensors = 0;         ///< how many tensors it holds
  std::size_t first_tensor = 0;    ///< index into Checkpoint::tensors() of its first tensor
  std::size_t last_tensor = 0;     ///< ... and of its last; for `auto` maps, where it spilled
};

/// @brief A plan and what it puts on each device.
struct DevicePlan {
  LoadPlan plan;                     ///< the plan a load with these devices would run
  std::vector<DeviceUsage> devices;  ///< one per arena, in LoadPlan::arenas order
};

/// @brief Plans a load of `checkpoint` onto the devices `options.capacity` states, touching no
/// hardware: no engine is made, no memory allocated.
/// @throws Error InvalidArgument for a device the plan needs and `capacity` does not state, or a
///         tensor no rule maps; OutOfMemory naming the device (with what it needs and holds) when
///         a rule map's arena exceeds that device's capacity, or naming the tensor and every
///         device's capacity when an `auto` map cannot fit the model.
[[nodiscard]] DevicePlan plan_for_devices(const Checkpoint& checkpoint,
                                          const DevicePlanOptions& options);

}  // namespace stload
