#include "stload/device_plan.hpp"

#include <iterator>
#include <string>
#include <thread>

#include "detail/check.hpp"
#include "stload/loader.hpp"

namespace stload {
namespace {

// "80.00 GiB", "3.00 MiB", "512 B": the unit that keeps the number readable.
std::string readable(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  std::string text = std::to_string(value);
  return text.substr(0, text.find('.') + 3) + " " + kUnits[unit];
}

// The map to plan with: the default one means cuda:0, an empty `auto` one the stated devices.
DeviceMap resolve(const DevicePlanOptions& options) {
  const DeviceMap& map = options.device_map;
  if (map.is_default()) return DeviceMap(Device{DeviceKind::Cuda, 0});
  if (map.is_automatic() && map.devices().empty()) {
    std::vector<Device> devices;
    for (const auto& [device, bytes] : options.capacity) devices.push_back(device);
    STLOAD_EXPECT(!devices.empty(), ErrorCode::InvalidArgument,
                  "an auto device_map needs the devices' capacities");
    return DeviceMap::automatic(std::move(devices), map.max_memory());
  }
  return map;
}

std::uint64_t capacity_of(const DevicePlanOptions& options, Device device) {
  const auto it = options.capacity.find(device);
  STLOAD_EXPECT(it != options.capacity.end(), ErrorCode::InvalidArgument,
                "device_map names " + device.to_string() + ", whose capacity is not stated");
  return it->second;
}

}  // namespace

DevicePlan plan_for_devices(const Checkpoint& checkpoint, const DevicePlanOptions& options) {
  PlanOptions plan_options;
  plan_options.device_map = resolve(options);
  plan_options.filter = options.filter;
  plan_options.only = options.only;
  plan_options.allow_unmatched = options.allow_unmatched;
  // 0 (what LoadOptions leaves for "from the machine", as the CLI's --chunk-mib default does):
  // the chunk size a load on this machine would use, so the plan matches the load.
  plan_options.chunk_bytes =
      options.chunk_bytes != 0
          ? options.chunk_bytes
          : default_load_shape(std::thread::hardware_concurrency(), options.capacity.size())
                .chunk_bytes;
  // Before planning: a device without a capacity is the caller's mistake, not a full device.
  for (const Device& device : plan_options.device_map.devices())
    plan_options.available_memory[device] = capacity_of(options, device);

  DevicePlan result{make_plan(checkpoint, plan_options), {}};
  const LoadPlan& plan = result.plan;
  for (const ArenaPlan& arena : plan.arenas)
    result.devices.push_back(
        DeviceUsage{arena.device, capacity_of(options, arena.device), arena.bytes, 0, 0, 0, 0});
  for (const PlannedTensor& placed : plan.tensors) {
    DeviceUsage& usage = result.devices[placed.arena];
    if (usage.tensors == 0) usage.first_tensor = placed.tensor;
    usage.last_tensor = placed.tensor;
    ++usage.tensors;
    usage.tensor_bytes += placed.output.bytes;
  }
  // An `auto` map fits by construction; a rule map may put more on a device than it holds.
  for (const DeviceUsage& usage : result.devices) {
    STLOAD_EXPECT(usage.arena_bytes <= usage.capacity, ErrorCode::OutOfMemory,
                  usage.device.to_string() +
                      " does not hold its share of the plan: " + std::to_string(usage.tensors) +
                      " tensors need " + std::to_string(usage.arena_bytes) + " bytes (" +
                      readable(usage.arena_bytes) + "), its capacity is " +
                      std::to_string(usage.capacity) + " bytes (" + readable(usage.capacity) + ")");
  }
  return result;
}

}  // namespace stload
