#pragma once
// The simulated runtime's state, shared by the files implementing its API: devices and their
// memory, pinned buffers, streams (each a worker thread running its queue after random delays),
// events, and the rules broken. Handles are numbers that are never reused and never dereferenced,
// so a destroyed or foreign handle is recognised instead of crashing.
// Lock order: World::mutex_, then a stream's mutex, then an event's mutex.

#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stload_sim.hpp"

namespace stload_sim::detail {

struct EventState {
  std::uintptr_t handle = 0;
  int device = 0;
  std::mutex mutex;
  std::condition_variable cv;
  std::uint64_t recorded = 0;   // generation of the last record
  std::uint64_t completed = 0;  // generation the stream has reached
};

struct Op {
  enum class Kind : std::uint8_t { Copy, Record, Kernel };
  Kind kind = Kind::Copy;
  std::uint64_t id = 0;
  void* dst = nullptr;
  const void* src = nullptr;
  std::size_t bytes = 0;
  bool to_device = false;
  std::uint64_t checksum = 0;  // of the source at enqueue (host-to-device)
  std::shared_ptr<EventState> event;
  std::uint64_t generation = 0;
  std::string name;                    // a kernel's, for messages
  std::function<void()> body;          // a kernel's work, on the host
  std::vector<std::uint64_t> pending;  // a kernel's entries in World::pending_
};

struct StreamState {
  std::uintptr_t handle = 0;
  int device = 0;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Op> queue;
  bool busy = false;
  bool closing = false;
  std::thread worker;
};

/// This thread's runtime state, as the real runtime keeps it per host thread.
int& current_device();
cudaError_t& last_error();

/// Records `status` as this thread's last error (unless success) and returns it.
cudaError_t fail(cudaError_t status);

std::uint64_t checksum(const void* data, std::size_t bytes);

class World {
 public:
  void reset(const SimConfig& config);
  [[nodiscard]] SimConfig config();
  void set_capacity(int device, std::uint64_t bytes);
  [[nodiscard]] bool unloaded();
  void unload();
  [[nodiscard]] int devices();
  [[nodiscard]] bool valid_device(int device);

  void violation(const std::string& what);
  std::vector<std::string> violations(bool take);
  std::vector<std::string> leaks();
  Counters counters();
  std::uint64_t bytes_copied_to_devices();

  // Memory.
  cudaError_t malloc_device(void** out, std::size_t bytes);
  cudaError_t free_device(void* pointer);
  cudaError_t alloc_pinned(void** out, std::size_t bytes);
  cudaError_t free_pinned(void* pointer);
  cudaError_t mem_info(std::size_t* free_bytes, std::size_t* total_bytes);
  /// The device of the live allocation holding [pointer, pointer + bytes), if any.
  std::optional<int> device_of(const void* pointer, std::size_t bytes);
  bool pinned(const void* pointer, std::size_t bytes);
  void note_legacy_stream();

  // Streams and events.
  cudaError_t create_stream(cudaStream_t* out, unsigned flags);
  cudaError_t destroy_stream(cudaStream_t stream);
  cudaError_t synchronize_stream(cudaStream_t stream);
  cudaError_t query_stream(cudaStream_t stream);
  cudaError_t create_event(cudaEvent_t* out, unsigned flags);
  cudaError_t destroy_event(cudaEvent_t event);
  cudaError_t record_event(cudaEvent_t event, cudaStream_t stream);
  cudaError_t synchronize_event(cudaEvent_t event);
  cudaError_t query_event(cudaEvent_t event);
  cudaError_t copy_async(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                         cudaStream_t stream);
  cudaError_t copy_sync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
  cudaError_t launch_kernel(cudaStream_t stream, const char* name, std::vector<KernelRange> ranges,
                            std::function<void()> body);

 private:
  std::shared_ptr<StreamState> find_stream(cudaStream_t stream, const char* call);
  std::shared_ptr<EventState> find_event(cudaEvent_t event, const char* call);
  std::uintptr_t next_handle();
  void run_stream(const std::shared_ptr<StreamState>& stream, std::uint64_t seed);
  void execute(const Op& op);
  void run_kernel(const Op& op);
  bool pending_overlaps(const void* begin, std::size_t bytes, const char* call);
  void stop_all_streams();

  std::mutex mutex_;
  SimConfig config_;
  bool unloaded_ = false;
  std::vector<std::uint64_t> capacity_;
  std::vector<std::uint64_t> used_;
  std::map<std::uintptr_t, std::pair<int, std::size_t>> device_memory_;  // base: device, bytes
  std::map<std::uintptr_t, std::size_t> pinned_memory_;                  // base: bytes
  std::vector<void*> quarantine_;  // freed while a queued operation used it: released at reset
  std::map<std::uintptr_t, std::shared_ptr<StreamState>> streams_;
  std::map<std::uintptr_t, std::shared_ptr<EventState>> events_;
  std::set<std::uintptr_t> destroyed_;
  struct Pending {
    const void* src;
    void* dst;
    std::size_t bytes;
  };
  // Copies and kernel ranges enqueued and not yet executed, by id (a kernel's range: src = dst).
  std::map<std::uint64_t, Pending> pending_;
  std::uintptr_t handles_ = 0;
  std::uint64_t ops_ = 0;
  std::vector<std::string> violations_;
  Counters counters_;
  std::uint64_t bytes_copied_ = 0;
};

World& world();

}  // namespace stload_sim::detail
