#pragma once
// Enforces the simulated runtime's rules around every test of the cuda-sim binary: a fresh
// simulated machine before each test, with the test thread's current device set to the last
// device (so that a stray cudaSetDevice(0) shows); after it, a failure for every rule broken,
// every allocation, stream or event left alive, a changed current device, and a last error left
// set. Appended after gtest's printer, so its failures are counted before the result is printed.

#include <gtest/gtest.h>

#include "stload_sim.hpp"

namespace stload_sim {

class RulesListener final : public ::testing::EmptyTestEventListener {
 public:
  explicit RulesListener(SimConfig config) : config_(config) {}
  void OnTestStart(const ::testing::TestInfo& test) override;
  void OnTestEnd(const ::testing::TestInfo& test) override;

 private:
  SimConfig config_;
  int caller_device_ = 0;
};

}  // namespace stload_sim
