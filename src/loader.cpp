#include "stload/loader.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "caller_memory.hpp"
#include "checkpoint_impl.hpp"
#include "cpu/host_memory.hpp"
#include "detail/check.hpp"
#include "pipeline.hpp"
#include "tensor_map_state.hpp"

namespace stload {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Room left on a device for an `auto` map: its free memory less a margin for the caller's own
// allocations, as accelerate's infer_auto_device_map keeps headroom. The margin is 5%, at least
// 256 MiB, but never more than an eighth of the device: a flat 256 MiB floor would leave a small
// device (a 200 MiB GPU slice, a cpu:N test device of a few MiB) no room at all.
std::uint64_t usable(std::uint64_t free_bytes) {
  const std::uint64_t floor = std::min<std::uint64_t>(256ULL << 20U, free_bytes / 8);
  const std::uint64_t margin = std::max<std::uint64_t>(free_bytes / 20, floor);
  return free_bytes - margin;
}

// The engine says which devices it has: the first is the default, and an `auto` map that names
// none spreads over all of them.
DeviceMap resolve_device_map(const LoadOptions& options, const CopyEngine& engine) {
  std::vector<Device> devices = engine.devices();
  STLOAD_EXPECT(!devices.empty(), ErrorCode::InvalidArgument,
                "the " + engine.name() + " engine has no devices to load onto");
  // A map the caller built counts as given even when device_map_given was left false: silently
  // loading onto the default device instead would be worse than any reading of the flag.
  if (!options.device_map_given && options.device_map.is_default())
    return DeviceMap(devices.front());
  const DeviceMap& map = options.device_map;
  if (map.is_automatic() && map.devices().empty())
    return DeviceMap::automatic(std::move(devices), map.max_memory());
  return map;
}

void check_devices(const DeviceMap& map, const CopyEngine& engine) {
  for (const Device& device : map.devices()) {
    STLOAD_EXPECT(engine.serves(device), ErrorCode::InvalidArgument,
                  "device_map names " + device.to_string() + ", which the " + engine.name() +
                      " engine does not have");
  }
}

// The options a load runs with: those left at 0 from the machine, for the devices it stages to.
LoadOptions with_machine_defaults(const LoadOptions& options, const DeviceMap& map,
                                  const CopyEngine& engine) {
  std::size_t staged_devices = 0;
  for (const Device& device : map.devices())
    staged_devices += engine.host_addressable(device) ? 0 : 1;
  const LoadShape shape = default_load_shape(std::thread::hardware_concurrency(), staged_devices);
  LoadOptions resolved = options;
  if (resolved.reader_threads == 0) resolved.reader_threads = shape.reader_threads;
  if (resolved.chunk_bytes == 0) {
    resolved.chunk_bytes =
        resolved.staging_bytes == 0
            ? shape.chunk_bytes
            : std::max<std::uint64_t>(
                  std::min(shape.chunk_bytes,
                           resolved.staging_bytes / kArenaAlignment * kArenaAlignment),
                  kArenaAlignment);
  }
  if (resolved.staging_bytes == 0) {
    resolved.staging_bytes = shape.staging_bytes / shape.chunk_bytes * resolved.chunk_bytes;
  }
  return resolved;
}

}  // namespace

LoadShape default_load_shape(unsigned cores, std::size_t devices) noexcept {
  constexpr std::uint64_t kChunk = 64ULL << 20U;
  constexpr std::uint64_t kStagingCap = 2ULL << 30U;
  const std::size_t readers = std::clamp<std::size_t>(cores / 2, 2, 16);
  const std::uint64_t slots = std::max<std::uint64_t>({4, 2 * readers, 2 * devices});
  return LoadShape{readers, std::min(slots * kChunk, kStagingCap), kChunk};
}

LoadedModel load(const Checkpoint& checkpoint, const LoadOptions& given,
                 std::shared_ptr<CopyEngine> engine, LoadStats* stats) {
  const auto start = Clock::now();
  const std::uint64_t baseline_rss = detail::rss_anon_bytes();
  const std::uint64_t baseline_rss_file = detail::rss_file_bytes();
  // Both sizes the caller's: a bad pair fails before an engine is even made.
  if (given.staging_bytes != 0 && given.chunk_bytes != 0) detail::check_pipeline_options(given);
  if (!engine) engine = make_engine(given.engine);

  PlanOptions plan_options;
  plan_options.device_map = resolve_device_map(given, *engine);
  check_devices(plan_options.device_map, *engine);
  const LoadOptions options = with_machine_defaults(given, plan_options.device_map, *engine);
  detail::check_pipeline_options(options);
  plan_options.filter = options.filter;
  plan_options.only = options.only;
  plan_options.allow_unmatched = options.allow_unmatched;
  plan_options.chunk_bytes = options.chunk_bytes;
  plan_options.tensor_parallel = options.tensor_parallel;
  plan_options.dtype = options.dtype;
  if (plan_options.device_map.is_automatic()) {
    for (const Device& d : plan_options.device_map.devices()) {
      plan_options.available_memory[d] = usable(engine->free_memory(d));
    }
  }
  // Zero-copy: tensors on host devices become views of their files' private mappings.
  if (options.zero_copy) {
    for (const Device& device : plan_options.device_map.devices()) {
      if (device.kind == DeviceKind::Cpu && engine->host_addressable(device))
        plan_options.view_devices.push_back(device);
    }
  }
  // A tensor with a destination of the caller's gets an arena of its own there: the caller's
  // memory, outside the device map and any `auto` limit.
  for (const auto& [name, destination] : options.destinations)
    plan_options.own_arenas.emplace(name, destination.device);
  const LoadPlan plan = make_plan(checkpoint, plan_options);
  STLOAD_EXPECT(plan.converted_tensors == 0 || engine->converts_dtypes(),
                ErrorCode::InvalidArgument,
                "the " + engine->name() + " engine cannot convert dtypes yet (" +
                    std::to_string(plan.converted_tensors) +
                    " tensors would be converted); load with the cpu engine or without dtype");
  if (plan.gathered_tensors != 0 && !engine->gathers_strided()) {
    const auto strided = std::find_if(plan.tensors.begin(), plan.tensors.end(), [&](const auto& t) {
      return checkpoint.tensors()[t.tensor].info.strided();
    });
    STLOAD_FAIL(ErrorCode::InvalidArgument,
                "the " + engine->name() + " engine cannot copy strided tensors yet: tensor '" +
                    (strided != plan.tensors.end() ? strided->name : std::string("?")) + "' (and " +
                    std::to_string(plan.gathered_tensors - 1) +
                    " more) is not stored contiguously; load with the cpu engine, or save it "
                    "with .contiguous()");
  }
  detail::check_caller_memory(plan, checkpoint, options, *engine);
  const double plan_seconds = seconds_since(start);

  const auto allocate_start = Clock::now();
  std::vector<std::unique_ptr<Buffer>> arenas =
      detail::allocate_arenas(plan, checkpoint, options, *engine);
  const double allocate_seconds = seconds_since(allocate_start);

  const detail::PipelineFigures figures =
      detail::run_pipeline(checkpoint.impl(), plan, arenas, *engine, options);

  if (stats != nullptr) {
    stats->engine = engine->name();
    stats->tensors = plan.tensors.size();
    stats->bytes = plan.tensor_bytes;
    stats->chunks = plan.chunks.size();
    stats->plan_seconds = plan_seconds;
    stats->allocate_seconds = allocate_seconds;
    stats->setup_seconds = figures.setup_seconds;
    stats->copy_seconds = figures.copy_seconds;
    stats->staging_bytes = figures.staging_bytes;
    stats->files_read_by_mmap = figures.files_read_by_mmap;
    stats->files_read_by_pread = figures.files_read_by_pread;
    stats->files_read_by_direct = figures.files_read_by_direct;
    stats->files_direct_fallback = figures.files_direct_fallback;
    stats->baseline_rss_anon_bytes = baseline_rss;
    stats->peak_rss_anon_bytes = figures.peak_rss_anon_bytes;
    stats->baseline_rss_file_bytes = baseline_rss_file;
    stats->peak_rss_file_bytes = figures.peak_rss_file_bytes;
    stats->tensors_viewed = plan.viewed_tensors;
    stats->bytes_viewed = plan.viewed_bytes;
    stats->tensors_copied_unaligned = plan.unaligned_copies;
    stats->device_bytes.clear();
    for (const ArenaPlan& arena : plan.arenas) {  // a device's caller destinations count there too
      if (arena.file_view) continue;              // the file's pages: nothing was allocated
      auto entry = std::find_if(stats->device_bytes.begin(), stats->device_bytes.end(),
                                [&](const auto& e) { return e.first == arena.device; });
      if (entry == stats->device_bytes.end()) {
        stats->device_bytes.emplace_back(arena.device, arena.bytes);
      } else {
        entry->second += arena.bytes;
      }
    }
  }
  LoadedModel model(detail::make_model_state(plan, std::move(engine), std::move(arenas)));
  if (stats != nullptr) stats->total_seconds = seconds_since(start);
  return model;
}

}  // namespace stload
