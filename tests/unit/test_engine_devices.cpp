// The loader asks the engine which devices it has (CopyEngine::devices(), kind()): the CPU
// engine's are cpu:0 and the cpu:N of its capacity option, and a default or empty `auto` map
// follows whatever an engine reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "stload/loader.hpp"
#include "support/concurrent_loads.hpp"
#include "support/devices_engine.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::DevicesEngine;
using testing::TempDir;

constexpr Device kCpu0{DeviceKind::Cpu, 0};
constexpr Device kCpu1{DeviceKind::Cpu, 1};
constexpr Device kCpu2{DeviceKind::Cpu, 2};
constexpr Device kCpu3{DeviceKind::Cpu, 3};
constexpr std::uint64_t kKiB = 1024;

Checkpoint u8_checkpoint(TempDir& dir, std::size_t count, std::uint64_t bytes) {
  std::vector<testing::TestTensor> tensors;
  for (std::size_t i = 0; i < count; ++i) {
    tensors.push_back({"t" + std::to_string(i),
                       "U8",
                       {bytes},
                       testing::pattern_bytes(static_cast<std::size_t>(bytes),
                                              static_cast<std::uint32_t>(i + 1))});
  }
  return Checkpoint::open(dir.write("m.safetensors", testing::make_safetensors(tensors)));
}

LoadOptions with_map(DeviceMap map) {
  LoadOptions options;
  options.device_map = std::move(map);
  options.device_map_given = true;
  return options;
}

TEST(EngineDevices, cpu_engine_without_capacities_has_cpu0_only) {
  const auto engine = make_cpu_engine();
  EXPECT_EQ(engine->kind(), EngineKind::Cpu);
  EXPECT_EQ(engine->devices(), std::vector<Device>{kCpu0});
}

TEST(EngineDevices, cpu_engine_lists_cpu0_then_its_capacity_devices_in_index_order) {
  CpuEngineOptions options;
  options.capacity = {{kCpu2, 1 * kKiB}, {kCpu1, 1 * kKiB}};
  EXPECT_EQ(make_cpu_engine(options)->devices(), (std::vector<Device>{kCpu0, kCpu1, kCpu2}));
  options.capacity = {{kCpu0, 1 * kKiB}, {kCpu3, 1 * kKiB}};
  EXPECT_EQ(make_cpu_engine(options)->devices(), (std::vector<Device>{kCpu0, kCpu3}))
      << "cpu:0 with a capacity is listed once";
}

TEST(EngineDevices, empty_auto_map_on_small_cpu_devices_spills_over_the_engines_devices) {
  // 64 KiB of usable room per device (7/8 of 72 KiB) holds three 20 KiB tensors: nine
  // tensors need all three devices, in order. Before the engine was asked, an empty auto map on
  // the CPU engine meant cpu:0 alone, and this load was out of memory.
  CpuEngineOptions cpu;
  cpu.capacity = {{kCpu0, 72 * kKiB}, {kCpu1, 72 * kKiB}, {kCpu2, 72 * kKiB}};
  TempDir dir;
  const Checkpoint checkpoint = u8_checkpoint(dir, 9, 20 * kKiB);
  const LoadedModel model =
      load(checkpoint, with_map(DeviceMap::automatic({})), make_cpu_engine(cpu));
  EXPECT_EQ(testing::differences(model, checkpoint), "");
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(model.at("t" + std::to_string(i)).device, (Device{DeviceKind::Cpu, i / 3})) << i;
  }
}

TEST(EngineDevices, load_without_a_map_uses_the_engines_first_device) {
  TempDir dir;
  const Checkpoint checkpoint = u8_checkpoint(dir, 3, 1000);
  const auto engine = std::make_shared<DevicesEngine>(make_cpu_engine(), std::vector{kCpu3});
  const LoadedModel model = load(checkpoint, LoadOptions{}, engine);
  EXPECT_EQ(testing::differences(model, checkpoint), "");
  for (const TensorView& view : model.tensors()) EXPECT_EQ(view.device, kCpu3) << view.name;
}

TEST(EngineDevices, empty_auto_map_follows_the_devices_the_engine_reports) {
  TempDir dir;
  const Checkpoint checkpoint = u8_checkpoint(dir, 4, 1000);
  const auto engine = std::make_shared<DevicesEngine>(make_cpu_engine(), std::vector{kCpu2, kCpu1});
  const LoadedModel model = load(checkpoint, with_map(DeviceMap::automatic({})), engine);
  EXPECT_EQ(testing::differences(model, checkpoint), "");
  for (const TensorView& view : model.tensors()) EXPECT_EQ(view.device, kCpu2) << view.name;
}

TEST(EngineDevices, engine_with_no_devices_is_invalid_argument_naming_it) {
  TempDir dir;
  const Checkpoint checkpoint = u8_checkpoint(dir, 1, 10);
  const auto engine = std::make_shared<DevicesEngine>(make_cpu_engine(), std::vector<Device>{});
  try {
    static_cast<void>(load(checkpoint, LoadOptions{}, engine));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("cpu engine"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stload
