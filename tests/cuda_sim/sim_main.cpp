// The cuda-sim binary's main: the simulated machine comes from the environment, so that ctest
// runs the same tests on 1, 2 and 8 devices (tests/cuda_sim/CMakeLists.txt).
//   STLOAD_SIM_DEVICES       simulated devices (default 2)
//   STLOAD_SIM_MAX_DELAY_US  longest random delay before each stream operation (default 100)

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sim_rules_listener.hpp"

namespace {

long from_environment(const char* name, long fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stol(value) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  stload_sim::SimConfig config;
  config.devices = static_cast<int>(from_environment("STLOAD_SIM_DEVICES", 2));
  config.max_delay = std::chrono::microseconds(from_environment("STLOAD_SIM_MAX_DELAY_US", 100));
  ::testing::UnitTest::GetInstance()->listeners().Append(new stload_sim::RulesListener(config));
  stload_sim::reset(config);
  return RUN_ALL_TESTS();
}
