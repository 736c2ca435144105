#pragma once
// A CopyEngine decorator for tests. It wraps a real engine, counts the buffers it hands out that
// are still alive and the calls the pipeline makes, and can throw at the Nth allocation,
// copy_async or wait, so that every error path of a load can be checked for leaks: after a failed
// load, live_buffers() must be 0 and no load may be left open (begin without end).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "stload/engine.hpp"
#include "stload/error.hpp"

namespace stload::testing {

/// Which call fails, counting from 1 over the engine's life; 0: none.
struct Faults {
  std::size_t allocation = 0;  // allocate_arena and allocate_staging together
  std::size_t copy = 0;
  std::size_t wait = 0;
};

class CountingEngine final : public CopyEngine {
 public:
  explicit CountingEngine(std::shared_ptr<CopyEngine> inner, Faults faults = {})
      : inner_(std::move(inner)), faults_(faults) {}
  ~CountingEngine() override = default;
  CountingEngine(const CountingEngine&) = delete;
  CountingEngine& operator=(const CountingEngine&) = delete;

  [[nodiscard]] std::int64_t live_buffers() const noexcept { return live_->load(); }
  [[nodiscard]] std::size_t allocations() const noexcept { return allocations_.load(); }
  [[nodiscard]] std::size_t copies() const noexcept { return copies_.load(); }
  [[nodiscard]] std::size_t waits() const noexcept { return waits_.load(); }
  [[nodiscard]] std::uint64_t bytes_copied() const noexcept { return bytes_copied_.load(); }
  /// True between begin() and end(): a load that returned must never leave one open.
  [[nodiscard]] bool open() const noexcept { return open_.load(); }
  [[nodiscard]] CopyEngine& inner() const noexcept { return *inner_; }

  [[nodiscard]] std::string name() const override { return inner_->name(); }
  [[nodiscard]] bool serves(Device device) const override { return inner_->serves(device); }
  [[nodiscard]] std::uint64_t free_memory(Device device) const override {
    return inner_->free_memory(device);
  }
  [[nodiscard]] bool host_addressable(Device device) const override {
    return inner_->host_addressable(device);
  }

  [[nodiscard]] std::unique_ptr<Buffer> allocate_arena(Device device,
                                                       std::uint64_t bytes) override {
    inject(allocations_, faults_.allocation, "allocation", ErrorCode::OutOfMemory);
    return std::make_unique<Counted>(inner_->allocate_arena(device, bytes), live_);
  }
  [[nodiscard]] std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) override {
    inject(allocations_, faults_.allocation, "allocation", ErrorCode::OutOfMemory);
    return std::make_unique<Counted>(inner_->allocate_staging(bytes), live_);
  }

  void begin(std::size_t slots, std::size_t streams) override {
    inner_->begin(slots, streams);
    open_.store(true);
  }
  void copy_async(std::size_t slot, const std::byte* source, Buffer& arena, std::uint64_t offset,
                  std::uint64_t bytes) override {
    inject(copies_, faults_.copy, "copy", ErrorCode::Io);
    inner_->copy_async(slot, source, unwrap(arena), offset, bytes);
    bytes_copied_.fetch_add(bytes);
  }
  // A failing wait throws before waiting, leaving the copy in flight: the pipeline must still
  // drain it (end()) before it frees the staging memory the copy reads.
  void wait(std::size_t slot) override {
    inject(waits_, faults_.wait, "wait", ErrorCode::Io);
    inner_->wait(slot);
  }
  void end() noexcept override {
    inner_->end();
    open_.store(false);
  }
  void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) override {
    inner_->read_back(unwrap(arena), offset, out);
  }

  /// The message an injected failure carries.
  static std::string injected(const char* what, std::size_t n) {
    return "injected " + std::string(what) + " failure #" + std::to_string(n);
  }

 private:
  class Counted final : public Buffer {
   public:
    Counted(std::unique_ptr<Buffer> inner, std::shared_ptr<std::atomic<std::int64_t>> live)
        : inner_(std::move(inner)), live_(std::move(live)) {
      live_->fetch_add(1);
    }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;
    ~Counted() override { live_->fetch_sub(1); }
    [[nodiscard]] std::byte* data() const noexcept override { return inner_->data(); }
    [[nodiscard]] std::uint64_t size() const noexcept override { return inner_->size(); }
    [[nodiscard]] Device device() const noexcept override { return inner_->device(); }
    [[nodiscard]] Buffer& inner() const noexcept { return *inner_; }

   private:
    std::unique_ptr<Buffer> inner_;
    std::shared_ptr<std::atomic<std::int64_t>> live_;
  };

  static Buffer& unwrap(const Buffer& buffer) {
    const auto* counted = dynamic_cast<const Counted*>(&buffer);
    if (counted == nullptr) throw Error(ErrorCode::InvalidArgument, "buffer from another engine");
    return counted->inner();
  }

  static void inject(std::atomic<std::size_t>& counter, std::size_t fail_at, const char* what,
                     ErrorCode code) {
    const std::size_t n = counter.fetch_add(1) + 1;
    if (n == fail_at) throw Error(code, injected(what, n));
  }

  std::shared_ptr<CopyEngine> inner_;
  Faults faults_;
  // Shared with the buffers, which may outlive a moved-from engine handle in a LoadedModel.
  std::shared_ptr<std::atomic<std::int64_t>> live_ = std::make_shared<std::atomic<std::int64_t>>(0);
  std::atomic<std::size_t> allocations_{0};
  std::atomic<std::size_t> copies_{0};
  std::atomic<std::size_t> waits_{0};
  std::atomic<std::uint64_t> bytes_copied_{0};
  std::atomic<bool> open_{false};
};

}  // namespace stload::testing
