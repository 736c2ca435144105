// Defect 3 of issue 13: the engine called cudaSetDevice and never restored the caller's device
// (arenas, sessions, free_memory, read_back), so a server's later allocations landed on another
// GPU. Every public call leaves the calling thread's current device as it found it, on success
// and on failure. The caller here sits on the last device; the work goes to the others.

#include <gtest/gtest.h>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

class CurrentDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (simulated_devices() < 2) GTEST_SKIP() << "needs two simulated devices";
    caller_ = current_device();
    ASSERT_EQ(caller_, simulated_devices() - 1);
  }
  int caller_ = 0;
};

TEST_F(CurrentDevice, engine_calls_leave_the_callers_device_as_they_found_it) {
  const auto engine = make_cuda_engine();
  EXPECT_EQ(current_device(), caller_) << "make_cuda_engine";
  static_cast<void>(engine->free_memory(gpu(0)));
  EXPECT_EQ(current_device(), caller_) << "free_memory";
  auto arena = engine->allocate_arena(gpu(0), 4096);
  EXPECT_EQ(current_device(), caller_) << "allocate_arena";
  std::vector<std::byte> out(4096);
  engine->read_back(*arena, 0, out);
  EXPECT_EQ(current_device(), caller_) << "read_back";
  arena.reset();
  EXPECT_EQ(current_device(), caller_) << "the arena's destructor";
}

TEST_F(CurrentDevice, a_failed_arena_allocation_leaves_the_callers_device) {
  const auto engine = make_cuda_engine();
  EXPECT_THROW(static_cast<void>(engine->allocate_arena(gpu(0), 1ULL << 40U)), Error);
  EXPECT_EQ(current_device(), caller_);
  static_cast<void>(cudaGetLastError());  // defect 4 has its own test
}

TEST_F(CurrentDevice, loading_reading_and_freeing_a_model_leave_the_callers_device) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("dev.safetensors", stload::testing::make_safetensors(u8_tensors("t", 6, 60'000))));
  std::optional<LoadedModel> model(
      load(checkpoint, staged(DeviceMap::from_rules({{"", gpu(0)}, {"t5", gpu(caller_ - 1)}})),
           make_cuda_engine()));
  EXPECT_EQ(current_device(), caller_) << "load";
  EXPECT_EQ(stload::testing::differences(*model, checkpoint), "");
  EXPECT_EQ(current_device(), caller_) << "LoadedModel::read";
  model.reset();
  EXPECT_EQ(current_device(), caller_) << "the model's destructor";
}

}  // namespace
}  // namespace stload::sim_test
