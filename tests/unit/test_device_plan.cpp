// Planning for devices that are not here: plan_for_devices() plans cuda:0..7 on this CPU-only
// machine from stated capacities, with a prefix map and an auto map, and a plan that does not fit
// is OutOfMemory naming the device.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/device_plan.hpp"
#include "stload/engine.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;
using testing::throws_error;

constexpr std::uint64_t kGiB = 1ULL << 30U;
constexpr int kGpus = 8;
constexpr std::uint64_t kTensorBytes = 1000;  // 1024 with the arena's alignment

Device cuda(int index) {
  return Device{DeviceKind::Cuda, index};
}

// A Llama-shaped layout: embeddings, 8 layers of 2 tensors, lm_head; 18 tensors in file order.
std::vector<TestTensor> llama_shaped() {
  std::vector<TestTensor> tensors;
  const auto add = [&](std::string name) {
    tensors.push_back({std::move(name), "U8", {kTensorBytes}, pattern_bytes(kTensorBytes, 3)});
  };
  add("model.embed_tokens.weight");
  for (int layer = 0; layer < kGpus; ++layer) {
    add("model.layers." + std::to_string(layer) + ".mlp.weight");
    add("model.layers." + std::to_string(layer) + ".attn.weight");
  }
  add("lm_head.weight");
  return tensors;
}

std::map<Device, std::uint64_t> eight_gpus(std::uint64_t each) {
  std::map<Device, std::uint64_t> capacity;
  for (int i = 0; i < kGpus; ++i) capacity[cuda(i)] = each;
  return capacity;
}

// One layer per GPU; the embeddings with layer 0 and lm_head with layer 7, as a server would.
DeviceMap layer_per_gpu() {
  std::map<std::string, Device> rules{{"model.embed_tokens", cuda(0)}, {"lm_head", cuda(7)}};
  for (int layer = 0; layer < kGpus; ++layer)
    rules["model.layers." + std::to_string(layer)] = cuda(layer);
  return DeviceMap::from_rules(rules);
}

class DevicePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    checkpoint_.emplace(
        Checkpoint::open(dir_.write("model.safetensors", make_safetensors(llama_shaped()))));
  }
  const Checkpoint& checkpoint() const { return *checkpoint_; }

  TempDir dir_;
  std::optional<Checkpoint> checkpoint_;
};

TEST_F(DevicePlanTest, prefix_map_plans_eight_gpus_on_a_machine_without_them) {
  ASSERT_EQ(cuda_device_count(), 0) << "this test is about GPUs that are not here";
  DevicePlanOptions options;
  options.device_map = layer_per_gpu();
  options.capacity = eight_gpus(80 * kGiB);
  const DevicePlan result = plan_for_devices(checkpoint(), options);

  ASSERT_EQ(result.devices.size(), static_cast<std::size_t>(kGpus));
  EXPECT_EQ(result.plan.tensors.size(), 18U);
  EXPECT_EQ(result.plan.tensor_bytes, 18 * kTensorBytes);
  EXPECT_GT(result.plan.chunks.size(), 0U);
  for (const DeviceUsage& usage : result.devices) {
    const bool end = usage.device == cuda(0) || usage.device == cuda(7);
    EXPECT_EQ(usage.device.kind, DeviceKind::Cuda);
    EXPECT_EQ(usage.capacity, 80 * kGiB);
    EXPECT_EQ(usage.tensors, end ? 3U : 2U) << usage.device.to_string();
    EXPECT_EQ(usage.tensor_bytes, usage.tensors * kTensorBytes);
    // Tensors 256-byte aligned: each but the last is padded to 1024 bytes.
    EXPECT_EQ(usage.arena_bytes, (usage.tensors - 1) * 1024 + kTensorBytes);
  }
  EXPECT_EQ(checkpoint().tensors()[result.devices[0].first_tensor].info.name,
            "model.embed_tokens.weight");
}

TEST_F(DevicePlanTest, auto_map_fills_the_stated_gpus_in_order_and_says_where_it_spilled) {
  DevicePlanOptions options;
  options.device_map = DeviceMap::parse("auto");
  options.capacity = eight_gpus(5 * 1024);  // five aligned tensors per GPU
  const DevicePlan result = plan_for_devices(checkpoint(), options);

  ASSERT_EQ(result.devices.size(), 4U) << "18 tensors at 5 per GPU";
  const std::vector<std::size_t> expected_tensors{5, 5, 5, 3};
  for (std::size_t i = 0; i < result.devices.size(); ++i) {
    const DeviceUsage& usage = result.devices[i];
    EXPECT_EQ(usage.device, cuda(static_cast<int>(i)));
    EXPECT_EQ(usage.tensors, expected_tensors[i]);
    EXPECT_EQ(usage.first_tensor, 5 * i) << "filled in file order";
    EXPECT_EQ(usage.last_tensor, usage.first_tensor + usage.tensors - 1);
    EXPECT_LE(usage.arena_bytes, usage.capacity);
  }
  EXPECT_EQ(checkpoint().tensors()[result.devices[3].last_tensor].info.name, "lm_head.weight");
}

TEST_F(DevicePlanTest, a_device_over_its_capacity_is_out_of_memory_naming_it) {
  DevicePlanOptions options;
  options.device_map = layer_per_gpu();
  options.capacity = eight_gpus(80 * kGiB);
  options.capacity[cuda(7)] = 2048;  // lm_head and layer 7 need 3000 bytes and padding
  EXPECT_TRUE(throws_error([&] { static_cast<void>(plan_for_devices(checkpoint(), options)); },
                           ErrorCode::OutOfMemory, {"cuda:7", "3048 bytes", "2048 bytes"}));
}

TEST_F(DevicePlanTest, an_auto_map_that_does_not_fit_is_out_of_memory_naming_the_tensor) {
  DevicePlanOptions options;
  options.device_map = DeviceMap::parse("auto");
  options.capacity = {{cuda(0), 4096}, {cuda(1), 4096}};
  EXPECT_TRUE(throws_error([&] { static_cast<void>(plan_for_devices(checkpoint(), options)); },
                           ErrorCode::OutOfMemory, {"does not fit", "cuda:1"}));
}

TEST_F(DevicePlanTest, a_device_without_a_stated_capacity_is_invalid_argument_naming_it) {
  DevicePlanOptions options;
  options.device_map = layer_per_gpu();
  options.capacity = eight_gpus(80 * kGiB);
  options.capacity.erase(cuda(3));
  EXPECT_TRUE(throws_error([&] { static_cast<void>(plan_for_devices(checkpoint(), options)); },
                           ErrorCode::InvalidArgument, {"cuda:3", "capacity"}));
}

TEST_F(DevicePlanTest, the_default_map_puts_everything_on_cuda_0) {
  DevicePlanOptions options;
  options.capacity = {{cuda(0), 80 * kGiB}};
  const DevicePlan result = plan_for_devices(checkpoint(), options);
  ASSERT_EQ(result.devices.size(), 1U);
  EXPECT_EQ(result.devices[0].device, cuda(0));
  EXPECT_EQ(result.devices[0].tensors, 18U);
}

}  // namespace
}  // namespace stload
