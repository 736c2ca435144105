// Streams, events and copies of the simulated runtime. Each stream is a worker thread that runs
// its queue in order, sleeping a random delay before its operations (each of the first
// SimConfig::delayed_operations, one in 16 after), so a copy completes long after cudaMemcpyAsync
// returned and the caller must wait on an event before touching its source. The rules of the CUDA
// Programming Guide's "Stream and Event Behavior" are checked here: cudaEventRecord fails for an
// event and a stream of different devices; a copy may go to a stream of any device. A
// host-to-device copy's source is checksummed at enqueue and again (in the destination) once
// executed, so a source changed before its copy completed is caught.

#include <chrono>
#include <cstring>

#include "sim_state.hpp"

namespace stload_sim::detail {
namespace {

std::string name_of(std::uintptr_t handle) {
  return "handle " + std::to_string(handle);
}

bool legacy(cudaStream_t stream) {
  return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
}

}  // namespace

std::uintptr_t World::next_handle() {
  // Caller holds mutex_. Never reused, never dereferenced.
  return 0x10000 + (++handles_) * 64;
}

std::shared_ptr<StreamState> World::find_stream(cudaStream_t stream, const char* call) {
  const auto handle = reinterpret_cast<std::uintptr_t>(stream);
  bool destroyed = false;
  {
    const std::lock_guard lock(mutex_);
    const auto found = streams_.find(handle);
    if (found != streams_.end()) return found->second;
    destroyed = destroyed_.contains(handle);
  }
  violation(std::string(call) + ": stream " + name_of(handle) +
            (destroyed ? " used after cudaStreamDestroy" : " was never created"));
  return nullptr;
}

std::shared_ptr<EventState> World::find_event(cudaEvent_t event, const char* call) {
  const auto handle = reinterpret_cast<std::uintptr_t>(event);
  bool destroyed = false;
  {
    const std::lock_guard lock(mutex_);
    const auto found = events_.find(handle);
    if (found != events_.end()) return found->second;
    destroyed = destroyed_.contains(handle);
  }
  violation(std::string(call) + ": event " + name_of(handle) +
            (destroyed ? " used after cudaEventDestroy" : " was never created"));
  return nullptr;
}

cudaError_t World::create_stream(cudaStream_t* out, unsigned flags) {
  if (out == nullptr) return fail(cudaErrorInvalidValue);
  auto stream = std::make_shared<StreamState>();
  std::uint64_t seed = 0;
  {
    const std::lock_guard lock(mutex_);
    stream->handle = next_handle();
    stream->device = current_device();
    ++counters_.streams_created.at(static_cast<std::size_t>(stream->device));
    seed = config_.seed * 1000003ULL + stream->handle;
    streams_[stream->handle] = stream;
  }
  static_cast<void>(flags);
  stream->worker = std::thread([this, stream, seed] { run_stream(stream, seed); });
  *out = reinterpret_cast<cudaStream_t>(stream->handle);
  return cudaSuccess;
}

void World::run_stream(const std::shared_ptr<StreamState>& stream, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  const auto max_delay = config().max_delay.count();
  const std::uint64_t delayed_operations = config().delayed_operations;
  std::uint64_t executed = 0;
  std::unique_lock lock(stream->mutex);
  for (;;) {
    stream->cv.wait(lock, [&] { return stream->closing || !stream->queue.empty(); });
    if (stream->queue.empty()) return;  // closing, and drained
    Op op = std::move(stream->queue.front());
    stream->queue.pop_front();
    stream->busy = true;
    lock.unlock();
    const std::uint64_t draw = random();
    const bool delayed = executed < delayed_operations || draw % 16 == 0;
    ++executed;
    if (max_delay > 0 && delayed) {
      std::this_thread::sleep_for(std::chrono::microseconds(
          static_cast<std::int64_t>((draw >> 4U) % static_cast<std::uint64_t>(max_delay))));
    }
    execute(op);
    lock.lock();
    stream->busy = false;
    stream->cv.notify_all();
  }
}

void World::execute(const Op& op) {
  if (op.kind == Op::Kind::Kernel) {
    run_kernel(op);
    return;
  }
  if (op.kind == Op::Kind::Record) {
    {
      const std::lock_guard lock(op.event->mutex);
      op.event->completed = std::max(op.event->completed, op.generation);
    }
    op.event->cv.notify_all();
    return;
  }
  std::memcpy(op.dst, op.src, op.bytes);
  if (op.to_device && checksum(op.dst, op.bytes) != op.checksum) {
    violation("the host source of a " + std::to_string(op.bytes) +
              "-byte cudaMemcpyAsync changed between enqueue and completion");
  }
  const std::lock_guard lock(mutex_);
  pending_.erase(op.id);
  if (op.to_device) bytes_copied_ += op.bytes;
}

cudaError_t World::destroy_stream(cudaStream_t stream) {
  auto state = find_stream(stream, "cudaStreamDestroy");
  if (!state) return fail(cudaErrorInvalidResourceHandle);
  {
    const std::lock_guard lock(mutex_);
    streams_.erase(state->handle);
    destroyed_.insert(state->handle);
  }
  // The real runtime returns at once and releases the stream once its work is done; waiting
  // here is the same to the caller, apart from time.
  {
    const std::lock_guard lock(state->mutex);
    state->closing = true;
  }
  state->cv.notify_all();
  state->worker.join();
  return cudaSuccess;
}

cudaError_t World::synchronize_stream(cudaStream_t stream) {
  if (legacy(stream)) {
    note_legacy_stream();
    return cudaSuccess;  // work on it ran synchronously
  }
  auto state = find_stream(stream, "cudaStreamSynchronize");
  if (!state) return fail(cudaErrorInvalidResourceHandle);
  std::unique_lock lock(state->mutex);
  state->cv.wait(lock, [&] { return state->queue.empty() && !state->busy; });
  return cudaSuccess;
}

cudaError_t World::query_stream(cudaStream_t stream) {
  if (legacy(stream)) return cudaSuccess;
  auto state = find_stream(stream, "cudaStreamQuery");
  if (!state) return fail(cudaErrorInvalidResourceHandle);
  const std::lock_guard lock(state->mutex);
  return state->queue.empty() && !state->busy ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t World::create_event(cudaEvent_t* out, unsigned flags) {
  if (out == nullptr) return fail(cudaErrorInvalidValue);
  auto event = std::make_shared<EventState>();
  const std::lock_guard lock(mutex_);
  event->handle = next_handle();
  event->device = current_device();  // an event belongs to the device current at creation
  ++counters_.events_created.at(static_cast<std::size_t>(event->device));
  if ((flags & cudaEventBlockingSync) == 0 || (flags & cudaEventDisableTiming) == 0) {
    ++counters_.events_not_blocking_sync;
  }
  events_[event->handle] = event;
  *out = reinterpret_cast<cudaEvent_t>(event->handle);
  return cudaSuccess;
}

cudaError_t World::destroy_event(cudaEvent_t event) {
  auto state = find_event(event, "cudaEventDestroy");
  if (!state) return fail(cudaErrorInvalidResourceHandle);
  // A record still queued keeps the state alive (shared_ptr), as the runtime defers the release.
  const std::lock_guard lock(mutex_);
  events_.erase(state->handle);
  destroyed_.insert(state->handle);
  return cudaSuccess;
}

cudaError_t World::record_event(cudaEvent_t event, cudaStream_t stream) {
  auto target = find_event(event, "cudaEventRecord");
  if (!target) return fail(cudaErrorInvalidResourceHandle);
  std::uint64_t generation = 0;
  if (legacy(stream)) {
    note_legacy_stream();
    if (target->device != current_device()) {
      violation("cudaEventRecord: event of cuda:" + std::to_string(target->device) +
                " recorded on the default stream of cuda:" + std::to_string(current_device()));
      return fail(cudaErrorInvalidResourceHandle);
    }
    const std::lock_guard lock(target->mutex);
    target->completed = ++target->recorded;  // the default stream's work here is synchronous
    return cudaSuccess;
  }
  auto queue = find_stream(stream, "cudaEventRecord");
  if (!queue) return fail(cudaErrorInvalidResourceHandle);
  if (target->device != queue->device) {
    violation("cudaEventRecord: event of cuda:" + std::to_string(target->device) +
              " recorded on a stream of cuda:" + std::to_string(queue->device));
    return fail(cudaErrorInvalidResourceHandle);
  }
  {
    const std::lock_guard lock(target->mutex);
    generation = ++target->recorded;
  }
  Op op;
  op.kind = Op::Kind::Record;
  op.event = target;
  op.generation = generation;
  {
    const std::lock_guard lock(queue->mutex);
    queue->queue.push_back(std::move(op));
  }
  queue->cv.notify_all();
  return cudaSuccess;
}

cudaError_t World::synchronize_event(cudaEvent_t event) {
  auto state = find_event(event, "cudaEventSynchronize");
  if (!state) return fail(cudaErrorInvalidResourceHandle);
  std::unique_lock lock(state->mutex);
  const std::uint64_t target = state->recorded;
  state->cv.wait(lock, [&] { return state->completed >= target; });
  return cudaSuccess;
}

cudaError_t World::query_event(cudaEvent_t event) {
  auto state = find_event(event, "cudaEventQuery");
  if (!state) return fail(cudaErrorInvalidResourceHandle);
  const std::lock_guard lock(state->mutex);
  return state->completed >= state->recorded ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t World::copy_async(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                              cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  const bool to_device = kind == cudaMemcpyHostToDevice;
  if (!to_device && kind != cudaMemcpyDeviceToHost) {
    violation("cudaMemcpyAsync: only host-to-device and device-to-host copies are simulated");
    return fail(cudaErrorInvalidValue);
  }
  const void* device_side = to_device ? static_cast<const void*>(dst) : src;
  if (!device_of(device_side, bytes)) {
    violation("cudaMemcpyAsync of " + std::to_string(bytes) + " bytes " +
              (to_device ? "to" : "from") + " memory that is not a live device allocation");
    return fail(cudaErrorInvalidValue);
  }
  const void* host_side = to_device ? src : static_cast<const void*>(dst);
  const bool is_pinned = pinned(host_side, bytes);
  if (legacy(stream)) {
    note_legacy_stream();
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
  }
  auto queue = find_stream(stream, "cudaMemcpyAsync");
  if (!queue) return fail(cudaErrorInvalidResourceHandle);
  Op op;
  op.kind = Op::Kind::Copy;
  op.dst = dst;
  op.src = src;
  op.bytes = bytes;
  op.to_device = to_device;
  {
    const std::lock_guard lock(mutex_);
    op.id = ++ops_;
    if (!is_pinned) ++counters_.pageable_async_copies;
    if (to_device) {
      if (reinterpret_cast<std::uintptr_t>(src) % 4096 != 0) ++counters_.unaligned_async_sources;
      if (counters_.copy_devices.size() < 4096) counters_.copy_devices.push_back(queue->device);
    }
    pending_[op.id] = Pending{src, dst, bytes};
  }
  if (to_device) op.checksum = checksum(src, bytes);
  {
    const std::lock_guard lock(queue->mutex);
    queue->queue.push_back(op);
  }
  queue->cv.notify_all();
  if (!is_pinned) {
    // Pageable memory: the real runtime returns only once the bytes have left (or, for
    // device-to-host, reached) the caller's buffer.
    std::unique_lock lock(queue->mutex);
    queue->cv.wait(lock, [&] { return queue->queue.empty() && !queue->busy; });
  }
  return cudaSuccess;
}

cudaError_t World::copy_sync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  note_legacy_stream();
  if (bytes == 0) return cudaSuccess;
  const bool to_device = kind == cudaMemcpyHostToDevice;
  const void* device_side = to_device ? static_cast<const void*>(dst) : src;
  if ((!to_device && kind != cudaMemcpyDeviceToHost) || !device_of(device_side, bytes)) {
    violation("cudaMemcpy of " + std::to_string(bytes) +
              " bytes with no live device allocation on its device side");
    return fail(cudaErrorInvalidValue);
  }
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

}  // namespace stload_sim::detail
