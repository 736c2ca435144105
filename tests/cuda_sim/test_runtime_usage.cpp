// Item 8 of issue 13, how the engine uses the runtime: staging slots on 4 KiB boundaries (for DMA
// and O_DIRECT), slot events that block instead of spinning a core, progress that counts bytes
// once they are on the device, read-back on a stream of the arena's own device instead of the
// legacy default stream, and no error printed for memory freed after the runtime unloaded.

#include <gtest/gtest.h>

#include <atomic>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

// 60000-byte tensors: one per 64 KiB chunk, so unrounded slots would start at multiples of 60000.
Checkpoint odd_sized(const stload::testing::TempDir& dir) {
  return Checkpoint::open(
      dir.write("odd.safetensors", stload::testing::make_safetensors(u8_tensors("t", 8, 60'000))));
}

TEST(RuntimeUsage, staging_slots_start_on_4_KiB_boundaries) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = odd_sized(dir);
  const LoadedModel model = load(checkpoint, staged(DeviceMap(gpu(0))), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  EXPECT_EQ(stload_sim::counters().unaligned_async_sources, 0U);
}

TEST(RuntimeUsage, slot_events_block_instead_of_spinning) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = odd_sized(dir);
  const LoadedModel model = load(checkpoint, staged(DeviceMap(gpu(0))), make_cuda_engine());
  const stload_sim::Counters counters = stload_sim::counters();
  EXPECT_GT(counters.events_created[0], 0U);
  EXPECT_EQ(counters.events_not_blocking_sync, 0U);
}

TEST(RuntimeUsage, progress_counts_bytes_once_they_are_on_the_device) {
  stload_sim::SimConfig slow = stload_sim::config();
  slow.max_delay = std::chrono::microseconds(3000);  // copies complete well after they are queued
  stload_sim::reset(slow);
  ASSERT_EQ(cudaSetDevice(slow.devices - 1), cudaSuccess);
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = odd_sized(dir);
  LoadOptions options = staged(DeviceMap(gpu(0)));
  std::atomic<int> early{0};
  std::atomic<std::uint64_t> last{0};
  options.progress = [&](const Progress& progress) {
    if (progress.bytes_done > stload_sim::bytes_copied_to_devices()) ++early;
    last = progress.bytes_done;
    return true;
  };
  const LoadedModel model = load(checkpoint, options, make_cuda_engine());
  EXPECT_EQ(early.load(), 0) << "progress reported bytes still being copied";
  EXPECT_EQ(last.load(), checkpoint.total_bytes());
}

TEST(RuntimeUsage, read_back_uses_no_legacy_default_stream) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = odd_sized(dir);
  const LoadedModel model = load(checkpoint, staged(DeviceMap(last_gpu())), make_cuda_engine());
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
  EXPECT_EQ(stload_sim::counters().legacy_stream_uses, 0U);
}

TEST(RuntimeUsage, memory_freed_after_the_runtime_unloaded_prints_nothing) {
  auto engine = make_cuda_engine();
  auto arena = engine->allocate_arena(gpu(0), 4096);
  auto staging = engine->allocate_staging(4096);
  stload_sim::unload_runtime();  // as at process exit, before static objects are destroyed
  ::testing::internal::CaptureStderr();
  arena.reset();
  staging.reset();
  engine.reset();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  stload_sim::reset(stload_sim::config());
  ASSERT_EQ(cudaSetDevice(simulated_devices() - 1), cudaSuccess);
}

}  // namespace
}  // namespace stload::sim_test
