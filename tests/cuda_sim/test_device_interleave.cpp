// Defect 6 of issue 13: chunks were taken in file order, so with a contiguous or `auto` map the
// first device's chunks all came before the second's and one link was busy at a time. Chunks are
// interleaved across the target devices, so every device has copies in flight from the start.

#include <gtest/gtest.h>

#include <set>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

TEST(DeviceInterleave, a_contiguous_two_device_map_keeps_both_devices_copying_from_the_start) {
  if (simulated_devices() < 2) GTEST_SKIP() << "needs two simulated devices";
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "halves.safetensors", stload::testing::make_safetensors(u8_tensors("t", 16, 60'000))));
  // An `auto` map that fills the first device with the first half of the file.
  const DeviceMap map = DeviceMap::automatic({gpu(0), last_gpu()}, {{gpu(0), 8 * 60'160}});
  const LoadedModel model = load(checkpoint, staged(map), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  EXPECT_EQ(model.at("t7").device, gpu(0));
  EXPECT_EQ(model.at("t8").device, last_gpu());
  const std::vector<int> order = stload_sim::counters().copy_devices;
  ASSERT_EQ(order.size(), 16U);
  const std::set<int> first_four(order.begin(), order.begin() + 4);
  EXPECT_EQ(first_four.size(), 2U) << "the first four copies all went to cuda:" << order[0];
}

}  // namespace
}  // namespace stload::sim_test
