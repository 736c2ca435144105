// Defect 1 of issue 13: slot events were all created after the per-device loop, so they belonged
// to the last device, and cudaEventRecord on a stream of any other device failed. An event must be
// recorded on a stream of its own device, and one staging slot may feed several devices in turn.

#include <gtest/gtest.h>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

TEST(SlotEvents, a_load_onto_the_first_of_several_devices_records_events_of_that_device) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "first.safetensors", stload::testing::make_safetensors(u8_tensors("t", 8, 60'000))));
  const LoadedModel model = load(checkpoint, staged(DeviceMap(gpu(0))), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
}

TEST(SlotEvents, one_slot_feeds_two_devices_in_turn) {
  if (simulated_devices() < 2) GTEST_SKIP() << "needs two simulated devices";
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("two.safetensors", stload::testing::make_safetensors(u8_tensors("t", 8, 60'000))));
  // Alternate devices through a ring of two slots and one reader: each slot carries chunks for
  // both devices.
  std::map<std::string, Device> rules{{"", gpu(0)}};
  for (int i = 1; i < 8; i += 2) rules.emplace("t" + std::to_string(i), last_gpu());
  const LoadedModel model =
      load(checkpoint, staged(DeviceMap::from_rules(rules), 2, 1), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  EXPECT_EQ(model.at("t1").device, last_gpu());
  EXPECT_EQ(model.at("t2").device, gpu(0));
}

}  // namespace
}  // namespace stload::sim_test
