// Item 7 of issue 13: pinned staging, streams and events were made (and freed) by every load, at a
// cost outside every reported phase. The engine pools them across loads, within bounds, and
// releases them when it is destroyed; a second load of the same shape makes none.

#include <gtest/gtest.h>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

TEST(EnginePool, a_second_load_reuses_the_first_loads_staging_streams_and_events) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("pool.safetensors", stload::testing::make_safetensors(u8_tensors("t", 8, 60'000))));
  const auto engine = make_cuda_engine();
  const LoadOptions options = staged(DeviceMap(gpu(0)));
  { const LoadedModel first = load(checkpoint, options, engine); }
  const stload_sim::Counters after_first = stload_sim::counters();
  LoadStats stats;
  const LoadedModel second = load(checkpoint, options, engine, &stats);
  EXPECT_GE(stats.setup_seconds, 0.0);
  EXPECT_LE(stats.setup_seconds, stats.total_seconds);
  const stload_sim::Counters after_second = stload_sim::counters();
  EXPECT_EQ(stload::testing::differences(second, checkpoint), "");
  EXPECT_EQ(after_second.pinned_allocations, after_first.pinned_allocations);
  EXPECT_EQ(after_second.streams_created[0], after_first.streams_created[0]);
  EXPECT_EQ(after_second.events_created[0], after_first.events_created[0]);
}

TEST(EnginePool, the_engine_releases_what_it_pooled_when_destroyed) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("pool.safetensors", stload::testing::make_safetensors(u8_tensors("t", 4, 60'000))));
  auto engine = make_cuda_engine();
  static_cast<void>(load(checkpoint, staged(DeviceMap(gpu(0))), engine));
  engine.reset();
  EXPECT_EQ(stload_sim::leaks(), std::vector<std::string>{});
}

}  // namespace
}  // namespace stload::sim_test
