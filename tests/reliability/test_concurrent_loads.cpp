// Loads running at once must each get exactly their file's bytes, whether they share one engine or
// have their own, and read one file or different ones: a load's copy state lives in the session it
// opens (CopyEngine::begin), and engines allocate thread-safely. Eight threads start together on a
// latch; each compares what it loaded with the file and reports back, and the main thread asserts.

#include <gtest/gtest.h>

#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/concurrent_loads.hpp"
#include "support/counting_engine.hpp"

namespace stload {
namespace {

using conformance::kKiB;
using conformance::make_tensor;
using stload::testing::CountingEngine;
using stload::testing::differences;
using stload::testing::run_together;
using stload::testing::TestTensor;

constexpr int kThreads = 8;

// Tensors of uneven sizes, some smaller and some larger than a chunk, so that the loads' chunks
// and slot reuses interleave. `seed` makes each file's bytes its own.
std::vector<TestTensor> tensors(std::uint32_t seed) {
  std::vector<TestTensor> out;
  for (std::uint32_t i = 0; i < 12; ++i) {
    const std::uint64_t elements = (i % 3 == 0) ? 40'000 + i * 1'000 : 300 + i * 77;
    out.push_back(make_tensor("t" + std::to_string(i), i % 2 == 0 ? Dtype::F32 : Dtype::BF16,
                              {elements}, seed * 100 + i));
  }
  return out;
}

// Staged through a small ring (the path that uses sessions) unless `direct`.
LoadOptions options(ReadMethod method = ReadMethod::Pread, bool direct = false) {
  LoadOptions options;
  options.direct = direct;
  options.read_method = method;
  options.chunk_bytes = 64 * kKiB;
  options.staging_bytes = 256 * kKiB;
  options.reader_threads = 2;
  options.streams = 2;
  return options;
}

void expect_all_match(const std::vector<std::string>& results) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i], "") << "load " << i;
  }
}

class ConcurrentLoads : public ::testing::Test {
 protected:
  void SetUp() override {
    for (std::uint32_t f = 0; f < 4; ++f) {
      const auto path = dir_.write("f" + std::to_string(f) + ".safetensors",
                                   stload::testing::make_safetensors(tensors(f + 1)));
      files_.push_back(Checkpoint::open(path));
    }
  }

  stload::testing::TempDir dir_;
  std::vector<Checkpoint> files_;
};

TEST_F(ConcurrentLoads, eight_loads_of_one_file_on_one_engine_get_the_files_bytes) {
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine());
  const Checkpoint& checkpoint = files_[0];
  expect_all_match(run_together(
      kThreads, [&](int) { return differences(load(checkpoint, options(), engine), checkpoint); }));
  EXPECT_EQ(engine->sessions(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(engine->live_sessions(), 0);
  EXPECT_EQ(engine->live_buffers(), 0);
}

TEST_F(ConcurrentLoads, eight_loads_of_different_files_on_one_engine_get_their_files_bytes) {
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine());
  expect_all_match(run_together(kThreads, [&](int i) {
    const Checkpoint& checkpoint = files_[static_cast<std::size_t>(i) % files_.size()];
    return differences(load(checkpoint, options(ReadMethod::Mmap), engine), checkpoint);
  }));
  EXPECT_EQ(engine->live_sessions(), 0);
  EXPECT_EQ(engine->live_buffers(), 0);
}

TEST_F(ConcurrentLoads, eight_loads_on_engines_of_their_own_get_their_files_bytes) {
  // Half the threads read the same file, half read files of their own.
  expect_all_match(run_together(kThreads, [&](int i) {
    const Checkpoint& checkpoint =
        files_[i % 2 == 0 ? 0 : static_cast<std::size_t>(i / 2) % files_.size()];
    return differences(load(checkpoint, options(), make_cpu_engine()), checkpoint);
  }));
}

TEST_F(ConcurrentLoads, staged_and_direct_loads_mixed_on_one_engine_get_their_files_bytes) {
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine());
  expect_all_match(run_together(kThreads, [&](int i) {
    const Checkpoint& checkpoint = files_[static_cast<std::size_t>(i) % files_.size()];
    const LoadOptions mixed =
        options(i % 2 == 0 ? ReadMethod::Pread : ReadMethod::Mmap, /*direct=*/i % 3 == 0);
    // The model outlives the other loads' sessions for a while: read it after a second load.
    const LoadedModel first = load(checkpoint, mixed, engine);
    const LoadedModel second = load(checkpoint, mixed, engine);
    std::string result = differences(first, checkpoint);
    return result.empty() ? differences(second, checkpoint) : result;
  }));
  EXPECT_EQ(engine->live_sessions(), 0);
  EXPECT_EQ(engine->live_buffers(), 0);
}

// Capacity is checked and taken in one step: eight loads racing for a device that holds three
// models get three models and five OutOfMemory errors, never more models than fit.
TEST_F(ConcurrentLoads, concurrent_loads_never_overcommit_a_shared_device) {
  const Checkpoint& checkpoint = files_[0];
  LoadStats stats;
  static_cast<void>(load(checkpoint, options(), make_cpu_engine(), &stats));
  ASSERT_EQ(stats.device_bytes.size(), 1U);
  const std::uint64_t arena = stats.device_bytes[0].second;

  CpuEngineOptions engine_options;
  engine_options.capacity[Device{}] = 3 * arena + arena / 2;
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine(engine_options));
  std::latch loaded(kThreads);  // every model is held until every load has tried
  const auto results = run_together(kThreads, [&](int) {
    std::string result;
    std::optional<LoadedModel> model;
    try {
      model.emplace(load(checkpoint, options(), engine));
      result = differences(*model, checkpoint);
    } catch (const Error& e) {
      result = e.code() == ErrorCode::OutOfMemory ? "out of memory" : e.what();
    } catch (const std::exception& e) {
      result = e.what();
    }
    loaded.arrive_and_wait();
    return result;
  });
  const auto count = [&](const std::string& what) {
    return std::count(results.begin(), results.end(), what);
  };
  EXPECT_EQ(count(""), 3) << "loads that succeeded";
  EXPECT_EQ(count("out of memory"), kThreads - 3);
  EXPECT_EQ(engine->live_buffers(), 0);
  EXPECT_EQ(engine->inner().free_memory(Device{}), 3 * arena + arena / 2) << "capacity leaked";
}

}  // namespace
}  // namespace stload
