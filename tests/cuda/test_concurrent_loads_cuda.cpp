// Concurrent loads on one CUDA engine: each opens its own session (streams and slot events), so
// eight loads sharing the engine each get exactly their file's bytes on the device. Skipped
// without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/counting_engine.hpp"

namespace stload {
namespace {

using conformance::kKiB;

TEST(CudaConcurrentLoads, eight_loads_sharing_one_engine_get_their_files_bytes) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device answers";
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
  std::vector<std::string> results(kThreads);
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        std::string& result = results[static_cast<std::size_t>(i)];
        try {
          const Checkpoint& checkpoint = files[static_cast<std::size_t>(i) % files.size()];
          const LoadedModel model = load(checkpoint, options, engine);
          std::vector<std::byte> out;
          for (const TensorView& view : model.tensors()) {
            out.assign(view.bytes, std::byte{0});
            model.read(view, out);
            const auto expected = checkpoint.tensor_bytes(*checkpoint.find(view.name));
            if (!std::equal(out.begin(), out.end(), expected.begin(), expected.end())) {
              result = view.name + ": bytes differ from the file's";
            }
          }
        } catch (const std::exception& e) {
          result = std::string("threw: ") + e.what();
        }
      });
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], "") << "load " << i;
  EXPECT_EQ(engine->sessions(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(engine->live_sessions(), 0);
  EXPECT_EQ(engine->live_buffers(), 0);
}

}  // namespace
}  // namespace stload
