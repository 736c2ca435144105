// The CPU engine: host memory plays every `cpu:N` device and worker threads play streams, so the
// whole pipeline (staging ring, slot recycling, errors) runs and is tested on machines with no GPU.

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "cpu/gather_elements.hpp"
#include "cpu/host_memory.hpp"
#include "detail/check.hpp"
#include "stload/engine.hpp"

namespace stload {
namespace {

class HostBuffer final : public Buffer {
 public:
  HostBuffer(Device device, std::uint64_t bytes, bool prefault, const char* what)
      : device_(device), memory_(bytes, prefault, what) {}
  [[nodiscard]] std::byte* data() const noexcept override { return memory_.data(); }
  [[nodiscard]] std::uint64_t size() const noexcept override { return memory_.size(); }
  [[nodiscard]] Device device() const noexcept override { return device_; }

 private:
  Device device_;
  detail::HostMemory memory_;
};

// One worker thread with a FIFO of copies: the CPU counterpart of a CUDA stream.
class Stream {
 public:
  Stream() : thread_([this] { run(); }) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }

  void push(std::function<void()> task) {
    {
      const std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and every queued copy has run
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

// Completion of a slot's last copy: the CPU counterpart of a CUDA event.
struct SlotEvent {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = true;
  std::exception_ptr error;
};

// One load's streams and slot events. Streams are declared last so that they are destroyed first:
// each drains its queue and joins before the events its copies signal go away.
class CpuSession final : public CopySession {
 public:
  CpuSession(std::size_t slots, std::size_t streams) : events_(slots) {
    for (std::size_t i = 0; i < std::max<std::size_t>(streams, 1); ++i) {
      streams_.push_back(std::make_unique<Stream>());
    }
  }
  CpuSession(const CpuSession&) = delete;
  CpuSession& operator=(const CpuSession&) = delete;
  ~CpuSession() override = default;

  void copy_async(std::size_t slot, const std::byte* source, Buffer& arena, std::uint64_t offset,
                  std::uint64_t bytes) override {
    STLOAD_EXPECT(slot < events_.size(), ErrorCode::InvalidArgument, "slot out of range");
    STLOAD_EXPECT(offset <= arena.size() && bytes <= arena.size() - offset,
                  ErrorCode::InvalidArgument,
                  "copy of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                      " overruns an arena of " + std::to_string(arena.size()));
    SlotEvent& event = events_[slot];
    {
      const std::lock_guard lock(event.mutex);
      event.done = false;
      event.error = nullptr;
    }
    std::byte* destination = arena.data() + offset;
    streams_[slot % streams_.size()]->push([&event, destination, source, bytes] {
      std::memcpy(destination, source, bytes);
      {
        const std::lock_guard lock(event.mutex);
        event.done = true;
      }
      event.done_cv.notify_all();
    });
  }

  // Converts on the slot's stream like a copy: the slot's wait covers it, and a failure reaches
  // the caller through that wait.
  void convert_async(std::size_t slot, const std::byte* source, Buffer& arena, const Chunk& chunk,
                     std::span<const Piece> pieces) override {
    STLOAD_EXPECT(slot < events_.size(), ErrorCode::InvalidArgument, "slot out of range");
    STLOAD_EXPECT(detail::convertible(chunk.from, chunk.to), ErrorCode::InvalidArgument,
                  "no conversion from " + std::string(to_string(chunk.from)) + " to " +
                      std::string(to_string(chunk.to)));
    const std::uint64_t in = bit_size(chunk.from) / 8;
    for (const Piece& piece : pieces)
      detail::expect_piece_lands(piece, chunk.from, chunk.to, arena.size());
    SlotEvent& event = events_[slot];
    {
      const std::lock_guard lock(event.mutex);
      event.done = false;
      event.error = nullptr;
    }
    std::byte* base = arena.data();
    const Dtype from = chunk.from;
    const Dtype to = chunk.to;
    streams_[slot % streams_.size()]->push([&event, base, source, pieces, from, to, in] {
      std::exception_ptr error;
      try {
        for (const Piece& piece : pieces) {
          detail::convert_elements(from, to, source + piece.chunk_offset,
                                   base + piece.destination_offset, piece.bytes / in);
        }
      } catch (...) {
        error = std::current_exception();
      }
      {
        const std::lock_guard lock(event.mutex);
        event.done = true;
        event.error = error;
      }
      event.done_cv.notify_all();
    });
  }

  // Gathers on the slot's stream like a copy. The box's last element (its output index and its
  // staged place) is checked against the arena and the staged run before anything is queued.
  void gather_async(std::size_t slot, const std::byte* source, Buffer& arena, const Piece& piece,
                    const StridedLayout& layout, const GatherBox& box) override {
    STLOAD_EXPECT(slot < events_.size(), ErrorCode::InvalidArgument, "slot out of range");
    const std::size_t rank = layout.shape.size();
    STLOAD_EXPECT(
        layout.stride.size() == rank && box.begin.size() == rank && box.end.size() == rank,
        ErrorCode::InvalidArgument, "gather box and layout of different ranks");
    std::uint64_t output_elements = 1;
    std::uint64_t last_output = 0;  // row-major index of the box's last element
    std::uint64_t last_staged = 0;  // its staged element
    for (std::size_t d = 0; d < rank; ++d) {
      STLOAD_EXPECT(box.begin[d] < box.end[d] && box.end[d] <= layout.shape[d],
                    ErrorCode::InvalidArgument, "gather box outside its tensor");
      last_output = last_output * layout.shape[d] + (box.end[d] - 1);
      last_staged += (box.end[d] - 1 - box.begin[d]) * layout.stride[d];
      output_elements *= layout.shape[d];
    }
    const std::uint64_t element = layout.element_bytes;
    STLOAD_EXPECT((last_staged + 1) * element <= piece.bytes &&
                      piece.destination_offset <= arena.size() &&
                      output_elements * element <= arena.size() - piece.destination_offset &&
                      last_output < output_elements,
                  ErrorCode::InvalidArgument,
                  "gather of " + std::to_string(box.elements) + " elements to " +
                      std::to_string(piece.destination_offset) + " overruns an arena of " +
                      std::to_string(arena.size()) + " or its staged run");
    SlotEvent& event = events_[slot];
    {
      const std::lock_guard lock(event.mutex);
      event.done = false;
      event.error = nullptr;
    }
    std::byte* output = arena.data() + piece.destination_offset;
    streams_[slot % streams_.size()]->push([&event, &layout, &box, source, output] {
      detail::gather_box(layout, box, source, output);
      {
        const std::lock_guard lock(event.mutex);
        event.done = true;
      }
      event.done_cv.notify_all();
    });
  }

  void wait(std::size_t slot) override {
    STLOAD_EXPECT(slot < events_.size(), ErrorCode::InvalidArgument, "slot out of range");
    SlotEvent& event = events_[slot];
    std::unique_lock lock(event.mutex);
    event.done_cv.wait(lock, [&] { return event.done; });
    if (event.error) std::rethrow_exception(event.error);
  }

 private:
  std::vector<SlotEvent> events_;
  std::vector<std::unique_ptr<Stream>> streams_;
};

class CpuEngine final : public CopyEngine {
 public:
  explicit CpuEngine(CpuEngineOptions options) : options_(std::move(options)) {}

  [[nodiscard]] std::string name() const override { return "cpu"; }
  [[nodiscard]] EngineKind kind() const override { return EngineKind::Cpu; }
  [[nodiscard]] std::vector<Device> devices() const override {
    std::vector<Device> devices{Device{DeviceKind::Cpu, 0}};
    for (const auto& [device, bytes] : options_.capacity) {  // a std::map: in index order
      if (serves(device) && device != devices.front()) devices.push_back(device);
    }
    return devices;
  }
  [[nodiscard]] bool serves(Device device) const override { return device.kind == DeviceKind::Cpu; }
  [[nodiscard]] bool host_addressable(Device device) const override { return serves(device); }
  [[nodiscard]] bool converts_dtypes() const override { return true; }
  [[nodiscard]] bool gathers_strided() const override { return true; }

  [[nodiscard]] std::uint64_t free_memory(Device device) const override {
    const auto it = options_.capacity.find(device);
    if (it == options_.capacity.end()) return detail::host_available_bytes();
    const std::lock_guard lock(allocated_mutex_);
    const auto used = allocated_.find(device);
    const std::uint64_t in_use = used == allocated_.end() ? 0 : used->second;
    return it->second > in_use ? it->second - in_use : 0;
  }

  [[nodiscard]] std::unique_ptr<Buffer> allocate_arena(Device device,
                                                       std::uint64_t bytes) override {
    STLOAD_EXPECT(serves(device), ErrorCode::InvalidArgument,
                  "the cpu engine cannot place memory on " + device.to_string());
    reserve(device, bytes);
    try {
      return std::make_unique<TrackedBuffer>(*this, device, bytes, options_.prefault_arenas);
    } catch (...) {
      release(device, bytes);
      throw;
    }
  }

  [[nodiscard]] std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) override {
    return std::make_unique<HostBuffer>(Device{}, bytes, true, "staging");
  }

  [[nodiscard]] std::unique_ptr<CopySession> begin(std::size_t slots, std::size_t streams,
                                                   std::span<const Device> /*devices*/) override {
    return std::make_unique<CpuSession>(slots, streams);
  }

  void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) override {
    STLOAD_EXPECT(offset <= arena.size() && out.size() <= arena.size() - offset,
                  ErrorCode::InvalidArgument,
                  "read of " + std::to_string(out.size()) + " bytes at " + std::to_string(offset) +
                      " overruns an arena of " + std::to_string(arena.size()));
    if (!out.empty()) std::memcpy(out.data(), arena.data() + offset, out.size());
  }

 private:
  // Arenas count against a device's capacity while they live.
  class TrackedBuffer final : public Buffer {
   public:
    // Takes over the reservation allocate_arena made.
    TrackedBuffer(CpuEngine& engine, Device device, std::uint64_t bytes, bool prefault)
        : engine_(engine), buffer_(device, bytes, prefault, "an arena") {}
    TrackedBuffer(const TrackedBuffer&) = delete;
    TrackedBuffer& operator=(const TrackedBuffer&) = delete;
    ~TrackedBuffer() override { engine_.release(buffer_.device(), buffer_.size()); }
    [[nodiscard]] std::byte* data() const noexcept override { return buffer_.data(); }
    [[nodiscard]] std::uint64_t size() const noexcept override { return buffer_.size(); }
    [[nodiscard]] Device device() const noexcept override { return buffer_.device(); }

   private:
    CpuEngine& engine_;
    HostBuffer buffer_;
  };

  // Checks capacity and counts the arena in one step, so that concurrent loads sharing the engine
  // cannot all pass the check and together overcommit a device.
  void reserve(Device device, std::uint64_t bytes) {
    const std::lock_guard lock(allocated_mutex_);
    std::uint64_t& in_use = allocated_[device];
    const auto it = options_.capacity.find(device);
    if (it != options_.capacity.end()) {
      const std::uint64_t free = it->second > in_use ? it->second - in_use : 0;
      STLOAD_EXPECT(bytes <= free, ErrorCode::OutOfMemory,
                    "out of memory on " + device.to_string() + ": arena of " +
                        std::to_string(bytes) + " bytes, " + std::to_string(free) + " free");
    }
    in_use += bytes;
  }

  void release(Device device, std::uint64_t bytes) noexcept {
    const std::lock_guard lock(allocated_mutex_);
    allocated_[device] -= bytes;
  }

  CpuEngineOptions options_;
  mutable std::mutex allocated_mutex_;
  std::map<Device, std::uint64_t> allocated_;
};

}  // namespace

std::shared_ptr<CopyEngine> make_cpu_engine(const CpuEngineOptions& options) {
  return std::make_shared<CpuEngine>(options);
}

}  // namespace stload
