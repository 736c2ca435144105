#pragma once
// A CopyEngine that forwards every call to the engine it wraps: the base of the tests' engine
// decorators, which override only what they change (a device list, a capability hidden, counts
// and injected faults). One place forwards everything, so a capability added to CopyEngine is
// passed on by every decorator instead of silently taking the base class's default.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "stload/engine.hpp"

namespace stload::testing {

class ForwardingEngine : public CopyEngine {
 public:
  explicit ForwardingEngine(std::shared_ptr<CopyEngine> inner) : inner_(std::move(inner)) {}
  ~ForwardingEngine() override = default;
  ForwardingEngine(const ForwardingEngine&) = delete;
  ForwardingEngine& operator=(const ForwardingEngine&) = delete;
  ForwardingEngine(ForwardingEngine&&) = delete;
  ForwardingEngine& operator=(ForwardingEngine&&) = delete;

  [[nodiscard]] CopyEngine& inner() const noexcept { return *inner_; }

  [[nodiscard]] std::string name() const override { return inner_->name(); }
  [[nodiscard]] EngineKind kind() const override { return inner_->kind(); }
  [[nodiscard]] std::vector<Device> devices() const override { return inner_->devices(); }
  [[nodiscard]] bool serves(Device device) const override { return inner_->serves(device); }
  [[nodiscard]] std::uint64_t free_memory(Device device) const override {
    return inner_->free_memory(device);
  }
  [[nodiscard]] bool host_addressable(Device device) const override {
    return inner_->host_addressable(device);
  }
  [[nodiscard]] bool converts_dtypes() const override { return inner_->converts_dtypes(); }
  [[nodiscard]] bool gathers_strided() const override { return inner_->gathers_strided(); }
  [[nodiscard]] std::unique_ptr<Buffer> allocate_arena(Device device,
                                                       std::uint64_t bytes) override {
    return inner_->allocate_arena(device, bytes);
  }
  [[nodiscard]] std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) override {
    return inner_->allocate_staging(bytes);
  }
  [[nodiscard]] std::unique_ptr<CopySession> begin(std::size_t slots, std::size_t streams,
                                                   std::span<const Device> devices) override {
    return inner_->begin(slots, streams, devices);
  }
  void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) override {
    inner_->read_back(arena, offset, out);
  }

 private:
  std::shared_ptr<CopyEngine> inner_;
};

}  // namespace stload::testing
