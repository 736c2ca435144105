// A binary built with the CUDA engine must still run where no GPU or driver answers: Auto falls
// back to the CPU engine and says why; asking for CUDA explicitly is a clear Cuda error.

#include <gtest/gtest.h>

#include <string>

#include "stload/engine.hpp"
#include "stload/error.hpp"

namespace stload {
namespace {

TEST(CudaBuild, engine_is_compiled_in) {
  EXPECT_TRUE(cuda_compiled_in());
  EXPECT_GE(cuda_device_count(), 0);
}

TEST(CudaBuild, auto_picks_cuda_when_a_device_answers_else_cpu_with_a_reason) {
  std::string note;
  const auto engine = make_engine(EngineKind::Auto, &note);
  if (cuda_device_count() > 0) {
    EXPECT_EQ(engine->name(), "cuda");
  } else {
    EXPECT_EQ(engine->name(), "cpu");
    EXPECT_NE(note.find("CPU engine"), std::string::npos) << note;
  }
}

TEST(CudaBuild, explicit_cuda_without_a_device_is_a_cuda_error) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device answers on this machine";
  try {
    static_cast<void>(make_engine(EngineKind::Cuda));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Cuda) << e.what();
  }
}

TEST(CudaBuild, cuda_engine_serves_its_devices_and_host_memory) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device answers";
  const auto engine = make_cuda_engine();
  EXPECT_TRUE(engine->serves(Device{DeviceKind::Cuda, 0}));
  EXPECT_TRUE(engine->serves(Device{DeviceKind::Cpu, 0}));
  EXPECT_FALSE(engine->serves(Device{DeviceKind::Cuda, cuda_device_count()}));
  EXPECT_FALSE(engine->host_addressable(Device{DeviceKind::Cuda, 0}));
  EXPECT_GT(engine->free_memory(Device{DeviceKind::Cuda, 0}), 0U);
}

}  // namespace
}  // namespace stload
