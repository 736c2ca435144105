// A server that loads and releases models for days must not leak: 1000 open/load/release cycles of
// a small checkpoint through the CPU engine leave open fds, mappings and resident memory where the
// first few cycles put them.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "reliability_support.hpp"
#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::digest;
using testing::fd_count;
using testing::make_safetensors;
using testing::mapping_count;
using testing::pattern_bytes;
using testing::proc_status_bytes;
using testing::TempDir;
using testing::TestTensor;

constexpr int kCycles = 1000;
constexpr int kWarmUp = 20;  // thread stacks, malloc arenas and caches settle in these
// Slack for what the C library may still create lazily (a malloc arena is one or two mappings).
constexpr std::size_t kMappingSlack = 4;
constexpr std::uint64_t kRssSlack = 4ULL << 20U;

struct Usage {
  std::size_t fds;
  std::size_t mappings;
  std::uint64_t rss;
};

Usage usage() {
  return {fd_count(), mapping_count(), proc_status_bytes("VmRSS")};
}

class ManyCycles : public ::testing::TestWithParam<ReadMethod> {};

TEST_P(ManyCycles, leave_fds_mappings_and_memory_unchanged) {
  STLOAD_SKIP_IF_NO_O_DIRECT(GetParam());
  TempDir dir;
  const std::vector<TestTensor> tensors = {{"embed", "F32", {64, 64}, pattern_bytes(16384, 1)},
                                           {"bias", "BF16", {64}, pattern_bytes(128, 2)},
                                           {"head", "U8", {3000}, pattern_bytes(3000, 3)}};
  const fs::path path = dir.write("small.safetensors", make_safetensors(tensors));
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  options.read_method = GetParam();
  options.staging_bytes = 1U << 20U;
  options.chunk_bytes = 64U << 10U;

  std::uint64_t loaded_digest = 0;
  const auto cycle = [&] {
    const Checkpoint ckpt = Checkpoint::open(path);
    const LoadedModel model = load(ckpt, options);
    const TensorView& head = model.at("head");
    loaded_digest = digest(head.data, head.bytes);
  };
  for (int i = 0; i < kWarmUp; ++i) cycle();
  const Usage before = usage();
  for (int i = 0; i < kCycles; ++i) cycle();
  const Usage after = usage();

  std::cout << "after " << kCycles << " cycles: fds " << before.fds << " -> " << after.fds
            << ", mappings " << before.mappings << " -> " << after.mappings << ", VmRSS "
            << before.rss / 1024 << " -> " << after.rss / 1024 << " KiB\n";
  RecordProperty("fd_growth", static_cast<int>(after.fds) - static_cast<int>(before.fds));
  RecordProperty("mapping_growth",
                 static_cast<int>(after.mappings) - static_cast<int>(before.mappings));
  RecordProperty("rss_growth_kib", static_cast<int>((static_cast<std::int64_t>(after.rss) -
                                                     static_cast<std::int64_t>(before.rss)) /
                                                    1024));
  EXPECT_EQ(loaded_digest, digest(tensors[2].data.data(), tensors[2].data.size()));
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_LE(after.mappings, before.mappings + kMappingSlack);
  if (testing::kRssIsOurs) {
    EXPECT_LE(after.rss, before.rss + kRssSlack);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryReadMethod, ManyCycles,
                         ::testing::Values(ReadMethod::Pread, ReadMethod::Mmap, ReadMethod::Auto,
                                           ReadMethod::Direct),
                         testing::ReadMethodName());

}  // namespace
}  // namespace stload
