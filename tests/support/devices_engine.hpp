#pragma once
// A CopyEngine decorator for tests that reports a chosen device list and otherwise forwards
// everything to the engine it wraps (buffers and sessions are the inner engine's own). A load
// that places a default or empty `auto` map on the listed devices, and not on what the inner
// engine (or cuda_device_count()) would say, shows the loader asks CopyEngine::devices().

#include <memory>
#include <utility>
#include <vector>

#include "stload/engine.hpp"
#include "support/forwarding_engine.hpp"

namespace stload::testing {

class DevicesEngine final : public ForwardingEngine {
 public:
  DevicesEngine(std::shared_ptr<CopyEngine> inner, std::vector<Device> devices)
      : ForwardingEngine(std::move(inner)), devices_(std::move(devices)) {}

  [[nodiscard]] std::vector<Device> devices() const override { return devices_; }

 private:
  std::vector<Device> devices_;
};

}  // namespace stload::testing
