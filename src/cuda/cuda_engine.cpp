// The CUDA engine: pinned (cudaHostAlloc) staging, one cudaMalloc arena per device, a small pool of
// non-blocking streams per device of the load's plan, and per such device one event per staging
// slot so the pipeline can recycle a slot as soon as its host-to-device copy has finished. Staging,
// streams and events are pooled across loads (cuda_pool.hpp). Every call leaves the caller's
// current device and last error as it found them. `cpu` devices in a mixed map get plain host
// arenas, written directly by the readers. Dtype conversion (ChunkAction::Convert) runs on the
// slot's stream too: the staged chunk is copied into a device scratch buffer of the slot, and
// convert_kernel.cu's kernels write the arena from there (on the host for a `cpu` arena).

#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "cpu/host_memory.hpp"
#include "cuda/convert_kernel.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_pool.hpp"
#include "cuda/device_guard.hpp"
#include "cuda/device_scratch.hpp"
#include "detail/nvtx.hpp"
#include "stload/engine.hpp"

namespace stload {

namespace detail {
std::string cuda_unavailable_reason() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    clear_our_error();
    return std::string("no usable CUDA driver or device (") + cudaGetErrorString(status) + ")";
  }
  if (count == 0) return "no CUDA device found";
  return "CUDA devices are present";
}
}  // namespace detail

bool cuda_compiled_in() noexcept {
  return true;
}

int cuda_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    detail::clear_our_error();  // a machine without a GPU is no error of the caller's
    return 0;
  }
  return count;
}

namespace {

class DeviceArena final : public Buffer {
 public:
  DeviceArena(Device device, std::uint64_t bytes) : device_(device), size_(bytes) {
    if (bytes == 0) return;
    const detail::DeviceGuard on(device.index);
    STLOAD_CUDA_TRY_MSG(cudaMalloc(&data_, bytes),
                        "arena of " + std::to_string(bytes) + " bytes on " + device.to_string());
  }
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;
  ~DeviceArena() override {
    if (data_ == nullptr) return;
    const detail::DeviceGuard on(device_.index, std::nothrow);
    STLOAD_CUDA_TRY_NOTHROW(cudaFree(data_));
  }
  [[nodiscard]] std::byte* data() const noexcept override { return static_cast<std::byte*>(data_); }
  [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }
  [[nodiscard]] Device device() const noexcept override { return device_; }

 private:
  Device device_;
  std::uint64_t size_;
  void* data_ = nullptr;
};

// Pinned staging from the engine's pool: back to the pool when the load is done with it.
class PinnedBuffer final : public Buffer {
 public:
  PinnedBuffer(std::shared_ptr<detail::CudaPool> pool, std::uint64_t bytes)
      : pool_(std::move(pool)), size_(bytes) {
    if (bytes > 0) data_ = pool_->take_pinned(bytes, capacity_);
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() override {
    if (data_ != nullptr) pool_->give_pinned(data_, capacity_);
  }
  [[nodiscard]] std::byte* data() const noexcept override { return static_cast<std::byte*>(data_); }
  [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }
  [[nodiscard]] Device device() const noexcept override { return Device{}; }

 private:
  std::shared_ptr<detail::CudaPool> pool_;
  std::uint64_t size_;
  std::uint64_t capacity_ = 0;
  void* data_ = nullptr;
};

class HostArena final : public Buffer {
 public:
  HostArena(Device device, std::uint64_t bytes)
      : device_(device), memory_(bytes, true, "a cpu arena") {}
  [[nodiscard]] std::byte* data() const noexcept override { return memory_.data(); }
  [[nodiscard]] std::uint64_t size() const noexcept override { return memory_.size(); }
  [[nodiscard]] Device device() const noexcept override { return device_; }

 private:
  Device device_;
  detail::HostMemory memory_;
};

// One load's streams (a small pool per device of its plan, no other device touched) and, per
// device, one event per staging slot: an event may be recorded only on a stream of its own device,
// and a slot may feed several devices in turn. Copies need no current device (a copy may go to a
// stream of any device), so copy_async and wait leave it alone; kernel launches do (a kernel runs
// on the current device, and its stream must be that device's), so convert_async switches.
// create() is separate from the constructor so that a failure halfway through is cleaned up by
// the destructor.
class CudaSession final : public CopySession {
 public:
  explicit CudaSession(std::shared_ptr<detail::CudaPool> pool) : pool_(std::move(pool)) {}
  CudaSession(const CudaSession&) = delete;
  CudaSession& operator=(const CudaSession&) = delete;
  ~CudaSession() override {
    for (DeviceQueues& queues : queues_) {
      const detail::DeviceGuard on(queues.device, std::nothrow);
      for (cudaStream_t stream : queues.streams)
        STLOAD_CUDA_TRY_NOTHROW(cudaStreamSynchronize(stream));
      pool_->give_back(queues.device, queues.streams, queues.events);  // drained: reusable
    }
    // The scratch buffers go with queues_, after this body: their streams are drained now.
  }

  void create(std::span<const Device> devices, std::size_t slots, std::size_t streams) {
    streams_per_device_ = std::max<std::size_t>(streams, 1);
    recorded_on_.assign(slots, kNone);
    for (const Device& device : devices) {
      if (device.kind != DeviceKind::Cuda || index_of(device.index) != kNone) continue;
      if (static_cast<std::size_t>(device.index) >= queue_of_.size())
        queue_of_.resize(static_cast<std::size_t>(device.index) + 1, kNone);
      queue_of_[static_cast<std::size_t>(device.index)] = queues_.size();
      queues_.push_back(DeviceQueues{device.index, {}, {}, {}});
      DeviceQueues& queues = queues_.back();
      queues.scratch.resize(slots);  // empty until the slot's first conversion here
      // Streams and events belong to the device current when they are made.
      const detail::DeviceGuard on(device.index);
      for (std::size_t s = 0; s < streams_per_device_; ++s)
        queues.streams.push_back(pool_->take_stream(device.index));
      queues.events.reserve(slots);
      for (std::size_t e = 0; e < slots; ++e)
        queues.events.push_back(pool_->take_event(device.index));
    }
  }

  void copy_async(std::size_t slot, const std::byte* source, Buffer& arena, std::uint64_t offset,
                  std::uint64_t bytes) override {
    STLOAD_NVTX_RANGE("copy_async");
    STLOAD_EXPECT(offset <= arena.size() && bytes <= arena.size() - offset,
                  ErrorCode::InvalidArgument,
                  "copy of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                      " overruns an arena of " + std::to_string(arena.size()));
    const Device device = arena.device();
    if (device.kind == DeviceKind::Cpu) {
      std::memcpy(arena.data() + offset, source, bytes);
      recorded_on_.at(slot) = kNone;
      return;
    }
    const std::size_t q = index_of(device.index);
    STLOAD_EXPECT(q != kNone, ErrorCode::InvalidArgument,
                  "copy to " + device.to_string() + ", which this load's plan does not name");
    DeviceQueues& queues = queues_[q];
    cudaStream_t stream = queues.streams[slot % streams_per_device_];
    const std::string where =
        "copy of " + std::to_string(bytes) + " bytes to " + device.to_string();
    STLOAD_CUDA_TRY_MSG(
        cudaMemcpyAsync(arena.data() + offset, source, bytes, cudaMemcpyHostToDevice, stream),
        where);
    STLOAD_CUDA_TRY_MSG(cudaEventRecord(queues.events.at(slot), stream), where);
    recorded_on_.at(slot) = q;
  }

  // A converting chunk: one host-to-device copy of the staged chunk into the slot's scratch on
  // this device, one kernel per piece from there into the arena, then the slot's event, all on
  // the slot's stream, so the slot's wait covers copy and kernels. Why the scratch is free to be
  // overwritten: the scratch of (device, slot) is only ever used on stream slot % streams of
  // that device, so its previous kernels precede this copy in stream order; and one slot is used
  // by one thread at a time, so no other thread enqueues into it meanwhile (a scratch per stream
  // would not do: two slots sharing a stream are filled from different threads).
  void convert_async(std::size_t slot, const std::byte* source, Buffer& arena, const Chunk& chunk,
                     std::span<const Piece> pieces) override {
    STLOAD_NVTX_RANGE("convert_async");
    const Device device = arena.device();
    const std::string what = "conversion of " + std::to_string(chunk.bytes) + " bytes (" +
                             std::string(to_string(chunk.from)) + " to " +
                             std::string(to_string(chunk.to)) + ") to " + device.to_string();
    STLOAD_EXPECT(chunk.from != chunk.to && detail::convertible(chunk.from, chunk.to),
                  ErrorCode::InvalidArgument, what + ": not a conversion this engine runs");
    const std::uint64_t in = bit_size(chunk.from) / 8;
    const std::uint64_t out = bit_size(chunk.to) / 8;
    for (const Piece& piece : pieces) {
      const std::uint64_t landing = piece.bytes / in * out;
      STLOAD_EXPECT(piece.bytes % in == 0 && piece.chunk_offset <= chunk.bytes &&
                        piece.bytes <= chunk.bytes - piece.chunk_offset &&
                        piece.destination_offset <= arena.size() &&
                        landing <= arena.size() - piece.destination_offset,
                    ErrorCode::InvalidArgument,
                    what + ": a piece of " + std::to_string(piece.bytes) + " bytes at " +
                        std::to_string(piece.chunk_offset) + " to " +
                        std::to_string(piece.destination_offset) +
                        " leaves the chunk or an arena of " + std::to_string(arena.size()) +
                        " bytes, or splits an element");
    }
    if (device.kind == DeviceKind::Cpu) {
      for (const Piece& piece : pieces) {
        detail::convert_elements(chunk.from, chunk.to, source + piece.chunk_offset,
                                 arena.data() + piece.destination_offset, piece.bytes / in);
      }
      recorded_on_.at(slot) = kNone;
      return;
    }
    const std::size_t q = index_of(device.index);
    STLOAD_EXPECT(q != kNone, ErrorCode::InvalidArgument,
                  what + ", which this load's plan does not name");
    DeviceQueues& queues = queues_[q];
    cudaStream_t stream = queues.streams[slot % streams_per_device_];
    const detail::DeviceGuard on(device.index);
    detail::DeviceScratch& scratch = queues.scratch.at(slot);
    if (scratch.size() < chunk.bytes) {
      // The smaller buffer may still be read by kernels of an earlier chunk that failed before
      // its event (a waited slot has none left): they are on this stream.
      if (scratch.size() > 0) STLOAD_CUDA_TRY_MSG(cudaStreamSynchronize(stream), what);
      scratch = detail::DeviceScratch();  // freed before the larger one is allocated
      scratch = detail::DeviceScratch(device.index, std::bit_ceil(chunk.bytes));
    }
    STLOAD_CUDA_TRY_MSG(
        cudaMemcpyAsync(scratch.data(), source, chunk.bytes, cudaMemcpyHostToDevice, stream), what);
    for (const Piece& piece : pieces) {
      STLOAD_CUDA_TRY_MSG(
          detail::launch_convert(chunk.from, chunk.to, scratch.data() + piece.chunk_offset,
                                 arena.data() + piece.destination_offset, piece.bytes / in, stream),
          what);
    }
    STLOAD_CUDA_TRY_MSG(cudaEventRecord(queues.events.at(slot), stream), what);
    recorded_on_.at(slot) = q;
  }

  void wait(std::size_t slot) override {
    const std::size_t q = recorded_on_.at(slot);
    if (q == kNone) return;
    STLOAD_CUDA_TRY(cudaEventSynchronize(queues_[q].events[slot]));
    recorded_on_[slot] = kNone;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  struct DeviceQueues {
    int device;
    std::vector<cudaStream_t> streams;
    std::vector<cudaEvent_t> events;             // one per slot
    std::vector<detail::DeviceScratch> scratch;  // one per slot, allocated on first conversion
  };

  [[nodiscard]] std::size_t index_of(int device) const {
    const auto d = static_cast<std::size_t>(device);
    return device >= 0 && d < queue_of_.size() ? queue_of_[d] : kNone;
  }

  std::shared_ptr<detail::CudaPool> pool_;
  std::size_t streams_per_device_ = 1;
  std::vector<DeviceQueues> queues_;      // per device of the plan
  std::vector<std::size_t> queue_of_;     // device index: its entry in queues_, or kNone
  std::vector<std::size_t> recorded_on_;  // per slot: the queues of its last copy, or kNone
};

class CudaEngine final : public CopyEngine {
 public:
  CudaEngine() : device_count_(cuda_device_count()) {
    STLOAD_EXPECT(
        device_count_ > 0, ErrorCode::Cuda,
        "the CUDA engine was asked for, but there is " + detail::cuda_unavailable_reason());
    pool_ = std::make_shared<detail::CudaPool>(device_count_);
    for (int d = 0; d < device_count_; ++d) read_queues_.push_back(std::make_unique<ReadQueue>());
  }
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;
  ~CudaEngine() override {
    for (std::size_t d = 0; d < read_queues_.size(); ++d) {
      if (read_queues_[d]->stream == nullptr) continue;
      const detail::DeviceGuard on(static_cast<int>(d), std::nothrow);
      STLOAD_CUDA_TRY_NOTHROW(cudaStreamDestroy(read_queues_[d]->stream));
    }
  }

  [[nodiscard]] std::string name() const override { return "cuda"; }
  [[nodiscard]] EngineKind kind() const override { return EngineKind::Cuda; }
  [[nodiscard]] std::vector<Device> devices() const override {
    std::vector<Device> devices;
    for (int d = 0; d < device_count_; ++d) devices.push_back(Device{DeviceKind::Cuda, d});
    return devices;
  }
  [[nodiscard]] bool serves(Device device) const override {
    return device.kind == DeviceKind::Cpu || (device.index >= 0 && device.index < device_count_);
  }
  [[nodiscard]] bool host_addressable(Device device) const override {
    return device.kind == DeviceKind::Cpu;
  }
  [[nodiscard]] bool converts_dtypes() const override { return true; }

  [[nodiscard]] std::uint64_t free_memory(Device device) const override {
    if (device.kind == DeviceKind::Cpu) return detail::host_available_bytes();
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    const detail::DeviceGuard on(device.index);
    STLOAD_CUDA_TRY_MSG(cudaMemGetInfo(&free_bytes, &total_bytes), device.to_string());
    return free_bytes;
  }

  [[nodiscard]] std::unique_ptr<Buffer> allocate_arena(Device device,
                                                       std::uint64_t bytes) override {
    STLOAD_EXPECT(serves(device), ErrorCode::InvalidArgument,
                  "the cuda engine has no device " + device.to_string());
    if (device.kind == DeviceKind::Cpu) return std::make_unique<HostArena>(device, bytes);
    return std::make_unique<DeviceArena>(device, bytes);
  }

  [[nodiscard]] std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) override {
    return std::make_unique<PinnedBuffer>(pool_, bytes);
  }

  [[nodiscard]] std::unique_ptr<CopySession> begin(std::size_t slots, std::size_t streams,
                                                   std::span<const Device> devices) override {
    auto session = std::make_unique<CudaSession>(pool_);
    session->create(devices, slots, streams);
    return session;
  }

  void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) override {
    STLOAD_EXPECT(offset <= arena.size() && out.size() <= arena.size() - offset,
                  ErrorCode::InvalidArgument,
                  "read of " + std::to_string(out.size()) + " bytes at " + std::to_string(offset) +
                      " overruns an arena of " + std::to_string(arena.size()));
    if (out.empty()) return;
    if (arena.device().kind == DeviceKind::Cpu) {
      std::memcpy(out.data(), arena.data() + offset, out.size());
      return;
    }
    ReadQueue& queue = *read_queues_.at(static_cast<std::size_t>(arena.device().index));
    const std::lock_guard lock(queue.mutex);
    const detail::DeviceGuard on(arena.device().index);
    if (queue.stream == nullptr)
      STLOAD_CUDA_TRY(cudaStreamCreateWithFlags(&queue.stream, cudaStreamNonBlocking));
    STLOAD_CUDA_TRY(cudaMemcpyAsync(out.data(), arena.data() + offset, out.size(),
                                    cudaMemcpyDeviceToHost, queue.stream));
    STLOAD_CUDA_TRY(cudaStreamSynchronize(queue.stream));
  }

 private:
  // read_back's queue on one device: a non-blocking stream of that device, made on first use
  // (the legacy default stream would wait for, and hold up, the caller's own work there).
  struct ReadQueue {
    std::mutex mutex;
    cudaStream_t stream = nullptr;
  };

  int device_count_ = 0;
  std::shared_ptr<detail::CudaPool> pool_;  // staging, streams and events kept between loads
  std::vector<std::unique_ptr<ReadQueue>> read_queues_;  // per device
};

}  // namespace

std::shared_ptr<CopyEngine> make_cuda_engine() {
  return std::make_shared<CudaEngine>();
}

}  // namespace stload
