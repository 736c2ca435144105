#pragma once
// A CopyEngine decorator for tests that reports a chosen device list and otherwise forwards
// everything to the engine it wraps (buffers and sessions are the inner engine's own). A load
// that places a default or empty `auto` map on the listed devices, and not on what the inner
// engine (or cuda_device_count()) would say, shows the loader asks CopyEngine::devices().

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "stload/engine.hpp"

namespace stload::testing {

class DevicesEngine final : public CopyEngine {
 public:
  DevicesEngine(std::shared_ptr<CopyEngine> inner, std::vector<Device> devices)
      : inner_(std::move(inner)), devices_(std::move(devices)) {}

  [[nodiscard]] std::string name() const override { return inner_->name(); }
  [[nodiscard]] EngineKind kind() const override { return inner_->kind(); }
  [[nodiscard]] std::vector<Device> devices() const override { return devices_; }
  [[nodiscard]] bool serves(Device device) const override { return inner_->serves(device); }
  [[nodiscard]] std::uint64_t free_memory(Device device) const override {
    return inner_->free_memory(device);
  }
  [[nodiscard]] bool converts_dtypes() const override { return inner_->converts_dtypes(); }
  [[nodiscard]] bool host_addressable(Device device) const override {
    return inner_->host_addressable(device);
  }
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
  std::vector<Device> devices_;
};

}  // namespace stload::testing
