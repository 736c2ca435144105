#pragma once
// A CopyEngine decorator for tests. It wraps a real engine, counts the buffers and copy sessions it
// hands out that are still alive and the calls the pipeline makes, and can throw at the Nth
// allocation, session, copy_async or wait, so that every error path of a load can be checked for
// leaks: after a failed load, live_buffers() and live_sessions() must be 0. Thread-safe, like the
// engines it wraps: concurrent loads may share one.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "support/forwarding_engine.hpp"

namespace stload::testing {

/// Which call fails, counting from 1 over the engine's life; 0: none.
struct Faults {
  std::size_t allocation = 0;  // allocate_arena and allocate_staging together
  std::size_t copy = 0;
  std::size_t wait = 0;
  std::size_t session = 0;  // begin()
};

class CountingEngine final : public ForwardingEngine {
 public:
  explicit CountingEngine(std::shared_ptr<CopyEngine> inner, Faults faults = {})
      : ForwardingEngine(std::move(inner)), faults_(faults) {}
  ~CountingEngine() override = default;
  CountingEngine(const CountingEngine&) = delete;
  CountingEngine& operator=(const CountingEngine&) = delete;
  CountingEngine(CountingEngine&&) = delete;
  CountingEngine& operator=(CountingEngine&&) = delete;

  [[nodiscard]] std::int64_t live_buffers() const noexcept { return live_->load(); }
  [[nodiscard]] std::int64_t live_sessions() const noexcept { return live_sessions_->load(); }
  [[nodiscard]] std::size_t sessions() const noexcept { return sessions_.load(); }
  [[nodiscard]] std::size_t allocations() const noexcept { return allocations_.load(); }
  [[nodiscard]] std::size_t copies() const noexcept { return copies_.load(); }
  [[nodiscard]] std::size_t waits() const noexcept { return waits_.load(); }
  [[nodiscard]] std::uint64_t bytes_copied() const noexcept { return bytes_copied_.load(); }
  /// True while a session is alive: a load that returned must never leave one open.
  [[nodiscard]] bool open() const noexcept { return live_sessions() != 0; }

  [[nodiscard]] std::unique_ptr<Buffer> allocate_arena(Device device,
                                                       std::uint64_t bytes) override {
    inject(allocations_, faults_.allocation, "allocation", ErrorCode::OutOfMemory);
    return std::make_unique<Counted>(inner().allocate_arena(device, bytes), live_);
  }
  [[nodiscard]] std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) override {
    inject(allocations_, faults_.allocation, "allocation", ErrorCode::OutOfMemory);
    return std::make_unique<Counted>(inner().allocate_staging(bytes), live_);
  }

  [[nodiscard]] std::unique_ptr<CopySession> begin(std::size_t slots, std::size_t streams,
                                                   std::span<const Device> devices) override {
    inject(sessions_, faults_.session, "session", ErrorCode::OutOfMemory);
    return std::make_unique<Session>(*this, inner().begin(slots, streams, devices));
  }
  void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) override {
    inner().read_back(unwrap(arena), offset, out);
  }

  /// The message an injected failure carries.
  static std::string injected(const char* what, std::size_t n) {
    return "injected " + std::string(what) + " failure #" + std::to_string(n);
  }

 private:
  // Forwards to the inner engine's session, injecting copy and wait failures. A failing wait
  // throws before waiting, leaving the copy in flight: the pipeline must still drain it (by
  // destroying the session) before it frees the staging memory the copy reads.
  class Session final : public CopySession {
   public:
    Session(CountingEngine& engine, std::unique_ptr<CopySession> inner)
        : engine_(engine), inner_(std::move(inner)), live_(engine.live_sessions_) {
      live_->fetch_add(1);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() override {
      inner_.reset();
      live_->fetch_sub(1);
    }
    void copy_async(std::size_t slot, const std::byte* source, Buffer& arena, std::uint64_t offset,
                    std::uint64_t bytes) override {
      inject(engine_.copies_, engine_.faults_.copy, "copy", ErrorCode::Io);
      inner_->copy_async(slot, source, unwrap(arena), offset, bytes);
      engine_.bytes_copied_.fetch_add(bytes);
    }
    // Counted and failed like a copy: a conversion is the copy step of a Convert chunk.
    void convert_async(std::size_t slot, const std::byte* source, Buffer& arena, const Chunk& chunk,
                       std::span<const Piece> pieces) override {
      inject(engine_.copies_, engine_.faults_.copy, "copy", ErrorCode::Io);
      inner_->convert_async(slot, source, unwrap(arena), chunk, pieces);
      engine_.bytes_copied_.fetch_add(chunk.bytes);
    }
    // Counted and failed like a copy too: the copy step of a Gather chunk.
    void gather_async(std::size_t slot, const std::byte* source, Buffer& arena, const Piece& piece,
                      const StridedLayout& layout, const GatherBox& box) override {
      inject(engine_.copies_, engine_.faults_.copy, "copy", ErrorCode::Io);
      inner_->gather_async(slot, source, unwrap(arena), piece, layout, box);
      engine_.bytes_copied_.fetch_add(piece.bytes);
    }
    void wait(std::size_t slot) override {
      inject(engine_.waits_, engine_.faults_.wait, "wait", ErrorCode::Io);
      inner_->wait(slot);
    }

   private:
    CountingEngine& engine_;
    std::unique_ptr<CopySession> inner_;
    std::shared_ptr<std::atomic<std::int64_t>> live_;
  };

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

  // A buffer this engine did not allocate (a caller's destination, a zero-copy view of a file) is
  // passed on as it is: the real engines accept such buffers too.
  static Buffer& unwrap(const Buffer& buffer) {
    const auto* counted = dynamic_cast<const Counted*>(&buffer);
    if (counted == nullptr) return const_cast<Buffer&>(buffer);  // NOLINT: the engines' signature
    return counted->inner();
  }

  static void inject(std::atomic<std::size_t>& counter, std::size_t fail_at, const char* what,
                     ErrorCode code) {
    const std::size_t n = counter.fetch_add(1) + 1;
    if (n == fail_at) throw Error(code, injected(what, n));
  }

  Faults faults_;
  // Shared with the buffers, which may outlive a moved-from engine handle in a LoadedModel.
  std::shared_ptr<std::atomic<std::int64_t>> live_ = std::make_shared<std::atomic<std::int64_t>>(0);
  std::atomic<std::size_t> allocations_{0};
  std::atomic<std::size_t> copies_{0};
  std::atomic<std::size_t> waits_{0};
  std::atomic<std::uint64_t> bytes_copied_{0};
  std::shared_ptr<std::atomic<std::int64_t>> live_sessions_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::atomic<std::size_t> sessions_{0};
};

}  // namespace stload::testing
