// The CUDA engine reports its simulated GPUs as its devices (kind Cuda, cuda:0..N-1), and the
// loader places default and empty `auto` maps over what the engine reports: on 1, 2 and 8
// simulated devices, and with an engine that reports fewer than the runtime has.

#include <gtest/gtest.h>

#include "sim_support.hpp"
#include "support/devices_engine.hpp"

namespace stload::sim_test {
namespace {

TEST(EngineDevices, cuda_engine_reports_every_simulated_gpu_in_order) {
  const auto engine = make_cuda_engine();
  EXPECT_EQ(engine->kind(), EngineKind::Cuda);
  std::vector<Device> expected;
  for (int d = 0; d < simulated_devices(); ++d) expected.push_back(gpu(d));
  EXPECT_EQ(engine->devices(), expected);
}

TEST(EngineDevices, empty_auto_map_spreads_over_every_gpu_the_engine_has) {
  // 1 MiB devices leave 896 KiB usable each: four 200 KiB tensors fit, a fifth does not.
  for (int d = 0; d < simulated_devices(); ++d) stload_sim::set_capacity(d, 1 << 20U);
  stload::testing::TempDir dir;
  const auto count = static_cast<std::size_t>(4 * simulated_devices());
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "auto.safetensors", stload::testing::make_safetensors(u8_tensors("t", count, 200 * kKiB))));
  const LoadedModel model = load(checkpoint, staged(DeviceMap::automatic({})), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  for (std::size_t i = 0; i < count; ++i) {
    EXPECT_EQ(model.at("t" + std::to_string(i)).device, gpu(static_cast<int>(i / 4))) << i;
  }
}

TEST(EngineDevices, default_and_empty_auto_maps_use_only_what_the_engine_reports) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "few.safetensors", stload::testing::make_safetensors(u8_tensors("t", 3, 70 * kKiB))));
  const auto engine = std::make_shared<stload::testing::DevicesEngine>(
      make_cuda_engine(), std::vector<Device>{last_gpu()});
  LoadOptions no_map = staged(DeviceMap{});
  no_map.device_map_given = false;
  for (const LoadOptions& options : {no_map, staged(DeviceMap::automatic({}))}) {
    const LoadedModel model = load(checkpoint, options, engine);
    EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
    for (const TensorView& view : model.tensors()) EXPECT_EQ(view.device, last_gpu()) << view.name;
  }
}

}  // namespace
}  // namespace stload::sim_test
