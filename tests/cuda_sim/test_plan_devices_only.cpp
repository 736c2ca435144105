// Defect 2 of issue 13: every load created streams (and so contexts) on every visible GPU,
// whatever its map named: memory and time on each, and a failure where another GPU is full or in
// exclusive mode. A load touches only the devices of its plan.

#include <gtest/gtest.h>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

TEST(PlanDevicesOnly, a_load_onto_one_device_creates_streams_and_events_there_only) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("one.safetensors", stload::testing::make_safetensors(u8_tensors("t", 6, 60'000))));
  const Device target = gpu(simulated_devices() / 2);
  {
    const LoadedModel model = load(checkpoint, staged(DeviceMap(target)), make_cuda_engine());
    EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  }
  const stload_sim::Counters counters = stload_sim::counters();
  for (int d = 0; d < simulated_devices(); ++d) {
    const auto i = static_cast<std::size_t>(d);
    if (d == target.index) {
      EXPECT_GT(counters.streams_created[i], 0U) << "cuda:" << d;
      EXPECT_GT(counters.events_created[i], 0U) << "cuda:" << d;
    } else {
      EXPECT_EQ(counters.streams_created[i], 0U) << "cuda:" << d << " is not in the plan";
      EXPECT_EQ(counters.events_created[i], 0U) << "cuda:" << d << " is not in the plan";
      EXPECT_EQ(counters.device_allocations[i], 0U) << "cuda:" << d << " is not in the plan";
    }
  }
}

TEST(PlanDevicesOnly, a_cpu_only_map_on_the_cuda_engine_creates_no_stream) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("cpu.safetensors", stload::testing::make_safetensors(u8_tensors("t", 4, 60'000))));
  const LoadedModel model =
      load(checkpoint, staged(DeviceMap(Device{DeviceKind::Cpu, 0})), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  for (const std::uint64_t created : stload_sim::counters().streams_created) EXPECT_EQ(created, 0U);
}

}  // namespace
}  // namespace stload::sim_test
