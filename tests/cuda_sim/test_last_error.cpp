// Defect 4 of issue 13: after a failed call (an arena out of memory) the runtime's last error
// stayed set, so the host program's next cudaGetLastError saw our failure as its own. The engine
// clears the errors it caused, and only those.

#include <gtest/gtest.h>

#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

TEST(LastError, a_failed_arena_allocation_leaves_no_cuda_error_behind) {
  const auto engine = make_cuda_engine();
  try {
    static_cast<void>(engine->allocate_arena(gpu(0), stload_sim::config().capacity_per_device + 1));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::OutOfMemory) << e.what();
  }
  EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess);
}

TEST(LastError, a_load_that_runs_out_of_device_memory_leaves_no_cuda_error_behind) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("oom.safetensors", stload::testing::make_safetensors(u8_tensors("t", 4, 60'000))));
  stload_sim::set_capacity(0, 64 * kKiB);
  EXPECT_THROW(static_cast<void>(load(checkpoint, staged(DeviceMap(gpu(0))), make_cuda_engine())),
               Error);
  EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess);
}

TEST(LastError, an_error_the_caller_caused_is_left_for_the_caller) {
  const auto engine = make_cuda_engine();
  ASSERT_EQ(cudaSetDevice(simulated_devices()), cudaErrorInvalidDevice);  // the caller's own
  static_cast<void>(engine->free_memory(gpu(0)));
  auto arena = engine->allocate_arena(gpu(0), 4096);
  arena.reset();
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
}

}  // namespace
}  // namespace stload::sim_test
