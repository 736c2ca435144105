// The simulated machine: configuration, rules broken, leaks, counters, and device and pinned
// memory (plain host memory; a device's bytes count against its capacity).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sim_state.hpp"

namespace stload_sim::detail {

int& current_device() {
  thread_local int device = 0;
  return device;
}

cudaError_t& last_error() {
  thread_local cudaError_t status = cudaSuccess;
  return status;
}

cudaError_t fail(cudaError_t status) {
  if (status != cudaSuccess) last_error() = status;
  return status;
}

std::uint64_t checksum(const void* data, std::size_t bytes) {
  // FNV-1a: any change to the bytes shows, cheaply enough to run over every copy.
  std::uint64_t hash = 1469598103934665603ULL;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 1099511628211ULL;
  return hash;
}

World& world() {
  // Never destroyed: objects freed during static destruction may still call in.
  static World* const instance = new World;
  return *instance;
}

void World::reset(const SimConfig& config) {
  stop_all_streams();
  const std::lock_guard lock(mutex_);
  for (const auto& [base, owner] : device_memory_) std::free(reinterpret_cast<void*>(base));
  for (const auto& [base, bytes] : pinned_memory_) std::free(reinterpret_cast<void*>(base));
  for (void* pointer : quarantine_) std::free(pointer);
  quarantine_.clear();
  device_memory_.clear();
  pinned_memory_.clear();
  streams_.clear();
  events_.clear();
  destroyed_.clear();
  pending_.clear();
  violations_.clear();
  config_ = config;
  unloaded_ = false;
  const auto n = static_cast<std::size_t>(config.devices > 0 ? config.devices : 0);
  capacity_.assign(n, config.capacity_per_device);
  used_.assign(n, 0);
  counters_ = Counters{};
  counters_.streams_created.assign(n, 0);
  counters_.events_created.assign(n, 0);
  counters_.device_allocations.assign(n, 0);
  counters_.kernels_launched.assign(n, 0);
  bytes_copied_ = 0;
  current_device() = 0;
  last_error() = cudaSuccess;
}

void World::stop_all_streams() {
  std::map<std::uintptr_t, std::shared_ptr<StreamState>> streams;
  {
    const std::lock_guard lock(mutex_);
    streams = streams_;
  }
  for (const auto& [handle, stream] : streams) {
    {
      const std::lock_guard lock(stream->mutex);
      stream->closing = true;
    }
    stream->cv.notify_all();
    if (stream->worker.joinable()) stream->worker.join();
  }
}

SimConfig World::config() {
  const std::lock_guard lock(mutex_);
  return config_;
}

void World::set_capacity(int device, std::uint64_t bytes) {
  const std::lock_guard lock(mutex_);
  capacity_.at(static_cast<std::size_t>(device)) = bytes;
}

bool World::unloaded() {
  const std::lock_guard lock(mutex_);
  return unloaded_;
}

void World::unload() {
  const std::lock_guard lock(mutex_);
  unloaded_ = true;
}

int World::devices() {
  const std::lock_guard lock(mutex_);
  return config_.devices;
}

bool World::valid_device(int device) {
  return device >= 0 && device < devices();
}

void World::violation(const std::string& what) {
  std::fprintf(stderr, "stload_sim: RULE BROKEN: %s\n", what.c_str());
  const std::lock_guard lock(mutex_);
  violations_.push_back(what);
}

std::vector<std::string> World::violations(bool take) {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> out = violations_;
  if (take) violations_.clear();
  return out;
}

std::vector<std::string> World::leaks() {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  if (unloaded_) return out;  // at exit, the driver reclaims everything
  for (const auto& [base, owner] : device_memory_) {
    out.push_back("device allocation of " + std::to_string(owner.second) +
                  " bytes on cuda:" + std::to_string(owner.first) + " never freed");
  }
  for (const auto& [base, bytes] : pinned_memory_)
    out.push_back("pinned buffer of " + std::to_string(bytes) + " bytes never freed");
  for (const auto& [handle, stream] : streams_)
    out.push_back("stream on cuda:" + std::to_string(stream->device) + " never destroyed");
  for (const auto& [handle, event] : events_)
    out.push_back("event on cuda:" + std::to_string(event->device) + " never destroyed");
  return out;
}

Counters World::counters() {
  const std::lock_guard lock(mutex_);
  return counters_;
}

std::uint64_t World::bytes_copied_to_devices() {
  const std::lock_guard lock(mutex_);
  return bytes_copied_;
}

cudaError_t World::malloc_device(void** out, std::size_t bytes) {
  if (out == nullptr) return fail(cudaErrorInvalidValue);
  const int device = current_device();
  const std::lock_guard lock(mutex_);
  const auto d = static_cast<std::size_t>(device);
  ++counters_.device_allocations.at(d);
  if (bytes == 0) {
    *out = nullptr;
    return cudaSuccess;
  }
  if (bytes > capacity_[d] - std::min(capacity_[d], used_[d])) {
    return fail(cudaErrorMemoryAllocation);
  }
  void* memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (memory == nullptr) return fail(cudaErrorMemoryAllocation);
  used_[d] += bytes;
  device_memory_[reinterpret_cast<std::uintptr_t>(memory)] = {device, bytes};
  *out = memory;
  return cudaSuccess;
}

cudaError_t World::free_device(void* pointer) {
  if (pointer == nullptr) return cudaSuccess;
  std::size_t bytes = 0;
  {
    const std::lock_guard lock(mutex_);
    const auto found = device_memory_.find(reinterpret_cast<std::uintptr_t>(pointer));
    if (found != device_memory_.end()) bytes = found->second.second;
  }
  if (bytes == 0) {
    violation("cudaFree of a pointer that is not a live device allocation (freed twice?)");
    return fail(cudaErrorInvalidValue);
  }
  const bool in_use = pending_overlaps(pointer, bytes, "cudaFree");
  const std::lock_guard lock(mutex_);
  const auto found = device_memory_.find(reinterpret_cast<std::uintptr_t>(pointer));
  used_[static_cast<std::size_t>(found->second.first)] -= bytes;
  device_memory_.erase(found);
  // Memory a queued copy or kernel still touches stays allocated until reset (the rule broken is
  // recorded; the simulator itself must not write freed memory).
  if (in_use) {
    quarantine_.push_back(pointer);
  } else {
    std::free(pointer);
  }
  return cudaSuccess;
}

cudaError_t World::alloc_pinned(void** out, std::size_t bytes) {
  if (out == nullptr) return fail(cudaErrorInvalidValue);
  const std::lock_guard lock(mutex_);
  ++counters_.pinned_allocations;
  // Page-aligned, as the real allocator's are.
  void* memory = std::aligned_alloc(4096, (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096);
  if (memory == nullptr) return fail(cudaErrorMemoryAllocation);
  pinned_memory_[reinterpret_cast<std::uintptr_t>(memory)] = bytes;
  *out = memory;
  return cudaSuccess;
}

cudaError_t World::free_pinned(void* pointer) {
  if (pointer == nullptr) return cudaSuccess;
  std::size_t bytes = 0;
  bool live = false;
  {
    const std::lock_guard lock(mutex_);
    const auto found = pinned_memory_.find(reinterpret_cast<std::uintptr_t>(pointer));
    live = found != pinned_memory_.end();
    if (live) bytes = found->second;
  }
  if (!live) {
    violation("cudaFreeHost of a pointer that is not a live pinned buffer (freed twice?)");
    return fail(cudaErrorInvalidValue);
  }
  const bool in_use = pending_overlaps(pointer, bytes, "cudaFreeHost");
  const std::lock_guard lock(mutex_);
  pinned_memory_.erase(reinterpret_cast<std::uintptr_t>(pointer));
  if (in_use) {
    quarantine_.push_back(pointer);
  } else {
    std::free(pointer);
  }
  return cudaSuccess;
}

bool World::pending_overlaps(const void* begin, std::size_t bytes, const char* call) {
  const auto lo = reinterpret_cast<std::uintptr_t>(begin);
  const std::uintptr_t hi = lo + bytes;
  bool overlap = false;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [id, copy] : pending_) {
      for (const void* end : {static_cast<const void*>(copy.dst), copy.src}) {
        const auto at = reinterpret_cast<std::uintptr_t>(end);
        if (at < hi && at + copy.bytes > lo) overlap = true;
      }
    }
  }
  if (overlap) {
    violation(std::string(call) +
              " of memory that a copy or kernel still in flight reads or writes");
  }
  return overlap;
}

cudaError_t World::mem_info(std::size_t* free_bytes, std::size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return fail(cudaErrorInvalidValue);
  const auto d = static_cast<std::size_t>(current_device());
  const std::lock_guard lock(mutex_);
  *total_bytes = capacity_.at(d);
  *free_bytes = capacity_[d] - std::min(capacity_[d], used_[d]);
  return cudaSuccess;
}

std::optional<int> World::device_of(const void* pointer, std::size_t bytes) {
  const auto at = reinterpret_cast<std::uintptr_t>(pointer);
  const std::lock_guard lock(mutex_);
  auto found = device_memory_.upper_bound(at);
  if (found == device_memory_.begin()) return std::nullopt;
  --found;
  if (at + bytes > found->first + found->second.second) return std::nullopt;
  return found->second.first;
}

bool World::pinned(const void* pointer, std::size_t bytes) {
  const auto at = reinterpret_cast<std::uintptr_t>(pointer);
  const std::lock_guard lock(mutex_);
  auto found = pinned_memory_.upper_bound(at);
  if (found == pinned_memory_.begin()) return false;
  --found;
  return at + bytes <= found->first + found->second;
}

void World::note_legacy_stream() {
  const std::lock_guard lock(mutex_);
  ++counters_.legacy_stream_uses;
}

}  // namespace stload_sim::detail

namespace stload_sim {

void reset(const SimConfig& config) {
  detail::world().reset(config);
}
SimConfig config() {
  return detail::world().config();
}
void set_capacity(int device, std::uint64_t bytes) {
  detail::world().set_capacity(device, bytes);
}
std::vector<std::string> violations() {
  return detail::world().violations(false);
}
std::vector<std::string> take_violations() {
  return detail::world().violations(true);
}
std::vector<std::string> leaks() {
  return detail::world().leaks();
}
Counters counters() {
  return detail::world().counters();
}
std::uint64_t bytes_copied_to_devices() {
  return detail::world().bytes_copied_to_devices();
}
void unload_runtime() {
  detail::world().unload();
}
cudaError_t launch_kernel(cudaStream_t stream, const char* name, std::vector<KernelRange> ranges,
                          std::function<void()> body) {
  if (detail::world().unloaded()) return detail::fail(cudaErrorCudartUnloading);
  return detail::world().launch_kernel(stream, name, std::move(ranges), std::move(body));
}

}  // namespace stload_sim
