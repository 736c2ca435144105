// Engine choice is strict where asked: EngineKind::Cuda never falls back to the CPU, on this
// machine without a GPU it is Error(Cuda) with the reason, from make_engine() and from load();
// EngineKind::Cpu never logs a fallback.

#include <gtest/gtest.h>

#include <string>

#include "stload/checkpoint.hpp"
#include "stload/engine.hpp"
#include "stload/loader.hpp"
#include "stload/log.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

using testing::throws_error;

class EngineChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device answers on this machine";
    set_log_handler([this](LogLevel, std::string_view) { ++logged_; });
  }
  void TearDown() override { set_log_handler(nullptr); }
  int logged_ = 0;
};

TEST_F(EngineChoice, cuda_asked_for_without_a_gpu_is_a_cuda_error_with_the_reason) {
  EXPECT_TRUE(throws_error([] { static_cast<void>(make_engine(EngineKind::Cuda)); },
                           ErrorCode::Cuda, {"the CUDA engine was asked for, but"}));
  EXPECT_EQ(logged_, 0) << "no fallback, so nothing to warn about";
}

TEST_F(EngineChoice, a_load_asking_for_cuda_fails_rather_than_loading_on_the_cpu) {
  const testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("m.safetensors",
                testing::make_safetensors({{"a", "U8", {4}, testing::pattern_bytes(4, 1)}})));
  LoadOptions options;
  options.engine = EngineKind::Cuda;
  EXPECT_TRUE(throws_error([&] { static_cast<void>(load(checkpoint, options)); }, ErrorCode::Cuda,
                           {"CUDA"}));
}

TEST_F(EngineChoice, cpu_asked_for_is_the_cpu_engine_without_a_warning) {
  std::string note;
  EXPECT_EQ(make_engine(EngineKind::Cpu, &note)->name(), "cpu");
  EXPECT_TRUE(note.empty());
  EXPECT_EQ(logged_, 0);
}

}  // namespace
}  // namespace stload
