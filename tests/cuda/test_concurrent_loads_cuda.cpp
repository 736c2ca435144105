// Concurrent loads on one CUDA engine: each opens its own session (streams and slot events), so
// eight loads sharing the engine each get exactly their file's bytes on the device. Skipped
// without a device.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/concurrent_loads.hpp"
#include "support/counting_engine.hpp"
#include "support/cuda_skip.hpp"

namespace stload {
namespace {

using conformance::kKiB;

TEST(CudaConcurrentLoads, eight_loads_sharing_one_engine_get_their_files_bytes) {
  STLOAD_SKIP_UNLESS_CUDA_USABLE();
  stload::testing::TempDir dir;
  std::vector<Checkpoint> files;
  for (std::uint32_t f = 0; f < 4; ++f) {
    files.push_back(
        Checkpoint::open(dir.write("f" + std::to_string(f) + ".safetensors",
                                   stload::testing::make_safetensors(conformance::u8_tensors(
                                       "t" + std::to_string(f) + ".", 12, 40'000 + f * 1'000)))));
  }
  auto engine = std::make_shared<stload::testing::CountingEngine>(make_cuda_engine());
  LoadOptions options;
  options.chunk_bytes = 64 * kKiB;
  options.staging_bytes = 256 * kKiB;

  constexpr int kThreads = 8;
  const auto results = stload::testing::run_together(kThreads, [&](int i) {
    const Checkpoint& checkpoint = files[static_cast<std::size_t>(i) % files.size()];
    return stload::testing::differences(load(checkpoint, options, engine), checkpoint);
  });
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], "") << "load " << i;
  EXPECT_EQ(engine->sessions(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(engine->live_sessions(), 0);
  EXPECT_EQ(engine->live_buffers(), 0);
}

}  // namespace
}  // namespace stload
