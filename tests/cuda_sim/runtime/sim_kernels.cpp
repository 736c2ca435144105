// Kernel launches on the simulated runtime. No device code runs here: a stand-in of one of
// stload's kernels hands launch_kernel the device memory it touches and its work as a host
// function, and the stream's worker runs that after the stream's earlier operations. The rules of
// a launch the real runtime has (the stream must belong to the current device; "Stream and Event
// Behavior" in the CUDA Programming Guide) fail the call here; memory a real kernel would fault
// on later, asynchronously (outside a live allocation of the device, misaligned), fails it at the
// launch instead, so the test names the launch that did it.

#include <exception>
#include <string>
#include <utility>

#include "sim_state.hpp"

namespace stload_sim::detail {

cudaError_t World::launch_kernel(cudaStream_t stream, const char* name,
                                 std::vector<KernelRange> ranges, std::function<void()> body) {
  const std::string kernel = std::string("kernel ") + name;
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) {
    note_legacy_stream();
    violation(kernel +
              ": launched on a default stream, which the simulator does not run kernels "
              "on (stload uses its own streams)");
    return fail(cudaErrorInvalidResourceHandle);
  }
  auto queue = find_stream(stream, kernel.c_str());
  if (!queue) return fail(cudaErrorInvalidResourceHandle);
  const int device = current_device();
  if (queue->device != device) {
    violation(kernel + ": launched on a stream of cuda:" + std::to_string(queue->device) +
              " while cuda:" + std::to_string(device) + " is current");
    return fail(cudaErrorInvalidResourceHandle);
  }
  for (const KernelRange& range : ranges) {
    const std::optional<int> owner = device_of(range.pointer, range.bytes);
    if (!owner || *owner != device) {
      violation(kernel + ": " + std::to_string(range.bytes) +
                " bytes outside any live allocation of cuda:" + std::to_string(device));
      return fail(cudaErrorInvalidValue);
    }
    if (range.alignment > 1 && reinterpret_cast<std::uintptr_t>(range.pointer) % range.alignment) {
      violation(kernel + ": an address not aligned to its " + std::to_string(range.alignment) +
                "-byte elements");
      return fail(cudaErrorInvalidValue);
    }
  }
  Op op;
  op.kind = Op::Kind::Kernel;
  op.name = kernel;
  op.body = std::move(body);
  {
    const std::lock_guard lock(mutex_);
    ++counters_.kernels_launched.at(static_cast<std::size_t>(device));
    for (const KernelRange& range : ranges) {
      const std::uint64_t id = ++ops_;
      pending_[id] = Pending{range.pointer, const_cast<void*>(range.pointer), range.bytes};
      op.pending.push_back(id);
    }
  }
  {
    const std::lock_guard lock(queue->mutex);
    queue->queue.push_back(std::move(op));
  }
  queue->cv.notify_all();
  return cudaSuccess;
}

void World::run_kernel(const Op& op) {
  try {
    op.body();
  } catch (const std::exception& e) {
    violation(op.name + " threw on the host: " + e.what());
  }
  const std::lock_guard lock(mutex_);
  for (const std::uint64_t id : op.pending) pending_.erase(id);
}

}  // namespace stload_sim::detail
