// The thread-safety docs/cpp.md states, tested: one Checkpoint used from many threads at once
// (loads and lookups), one LoadedModel read and copied from many threads, and the same through
// the C handles, where each thread also keeps its own stload_last_error().

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "stload/stload.h"
#include "support/concurrent_loads.hpp"

namespace stload {
namespace {

using conformance::make_tensor;
using stload::testing::differences;
using stload::testing::run_together;
using stload::testing::TestTensor;

constexpr int kThreads = 8;

void expect_all(const std::vector<std::string>& results) {
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], "") << "thread " << i;
}

std::vector<TestTensor> tensors() {
  std::vector<TestTensor> out;
  for (std::uint32_t i = 0; i < 10; ++i)
    out.push_back(make_tensor("t" + std::to_string(i), Dtype::F32, {3'000 + i * 100}, i + 7));
  return out;
}

LoadOptions cpu_options() {
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  options.chunk_bytes = 16 << 10;
  options.staging_bytes = 64 << 10;
  return options;
}

class SharedHandles : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.write("m.safetensors", stload::testing::make_safetensors(tensors())).string();
  }
  stload::testing::TempDir dir_;
  std::string path_;
};

TEST_F(SharedHandles, one_checkpoint_serves_concurrent_loads_and_lookups) {
  const Checkpoint checkpoint = Checkpoint::open(path_);
  expect_all(run_together(kThreads, [&](int i) -> std::string {
    // Lookups while other threads load from the same checkpoint.
    const std::string name = "t" + std::to_string(i % 10);
    if (checkpoint.find(name) == nullptr || checkpoint.at(name).info.name != name)
      return "lookup of " + name;
    if (checkpoint.tensor_bytes(checkpoint.at(name)).size() != checkpoint.at(name).bytes())
      return "tensor_bytes of " + name;
    LoadOptions options = cpu_options();
    options.read_method = i % 2 == 0 ? ReadMethod::Pread : ReadMethod::Mmap;
    return differences(load(checkpoint, options), checkpoint);
  }));
}

TEST_F(SharedHandles, one_loaded_model_is_read_and_copied_from_many_threads) {
  const Checkpoint checkpoint = Checkpoint::open(path_);
  const LoadedModel model = load(checkpoint, cpu_options());
  expect_all(run_together(kThreads, [&](int) {
    const LoadedModel copy = model;  // copies share the arenas
    return differences(copy, checkpoint);
  }));
}

// C: one stload_checkpoint loaded by every thread, one stload_model read by every thread, and a
// failure on each thread whose message is that thread's own.
TEST_F(SharedHandles, c_handles_serve_concurrent_loads_and_reads_with_per_thread_errors) {
  stload_checkpoint* checkpoint = nullptr;
  ASSERT_EQ(stload_checkpoint_open(path_.c_str(), &checkpoint), STLOAD_OK) << stload_last_error();
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  stload_model* shared = nullptr;
  ASSERT_EQ(stload_load(checkpoint, &options, &shared, nullptr), STLOAD_OK);

  expect_all(run_together(kThreads, [&](int i) -> std::string {
    stload_model* own = nullptr;
    if (stload_load(checkpoint, &options, &own, nullptr) != STLOAD_OK)
      return std::string("load: ") + stload_last_error();
    const std::unique_ptr<stload_model, void (*)(stload_model*)> owned(own, stload_model_free);
    for (stload_model* model : {own, shared}) {
      for (std::size_t t = 0; t < stload_model_tensor_count(model); ++t) {
        stload_tensor tensor;
        stload_tensor_init(&tensor);
        if (stload_model_tensor(model, t, &tensor) != STLOAD_OK) return "tensor";
        std::vector<std::byte> bytes(tensor.bytes);
        if (stload_model_read(model, tensor.name, bytes.data(), tensor.bytes) != STLOAD_OK)
          return std::string("read: ") + stload_last_error();
      }
    }
    const std::string missing = "missing-" + std::to_string(i);
    stload_tensor tensor;
    stload_tensor_init(&tensor);
    if (stload_model_find(shared, missing.c_str(), &tensor) != STLOAD_ERROR_TENSOR_NOT_FOUND)
      return "found " + missing;
    // Other threads fail at the same time with their own names: this one's message is its own.
    if (std::string(stload_last_error()).find(missing) == std::string::npos)
      return std::string("last error is another thread's: ") + stload_last_error();
    return "";
  }));
  stload_model_free(shared);
  stload_checkpoint_free(checkpoint);
}

}  // namespace
}  // namespace stload
