// Host memory in use during a load is bounded by the staging budget, whatever the model size
// (DESIGN.md). Measured as the peak anonymous RSS the load reports (RssAnon of /proc/self/status:
// the file's page cache is not ours) above the RSS before it began.
//
// The CPU engine's arenas are host memory, pre-faulted at allocation, so they count in RssAnon and
// are subtracted: what remains is staging plus the pipeline's own overhead. The slack covers what
// is not staging but is real and bounded: the stacks and glibc per-thread malloc arenas of the
// reader and stream threads (a few pages each, up to 64 KiB of heap per new arena), the plan's
// vectors, and RSS being sampled in whole pages at chunk boundaries. It is 16 MiB, a quarter of
// the checkpoint: a pipeline that buffered the file, or a chunk per tensor beyond the budget,
// would exceed it.

#include <gtest/gtest.h>

#include <vector>

#include "conformance/conformance_support.hpp"
#include "support/o_direct.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STLOAD_TEST_SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STLOAD_TEST_SHADOW_MEMORY 1
#endif
#endif

namespace stload::conformance {
namespace {

constexpr std::uint64_t kCheckpointBytes = 64 * kMiB;
constexpr std::uint64_t kSlack = 16 * kMiB;

// 16 tensors of 4 MiB, written block by block so the test itself never holds the model.
std::filesystem::path write_big_checkpoint(const std::filesystem::path& path) {
  std::vector<TensorSpec> specs;
  for (int i = 0; i < 16; ++i) {
    specs.push_back(TensorSpec{"w" + std::to_string(i), Dtype::F32, {kCheckpointBytes / 16 / 4}});
  }
  save(path, specs, {}, [](std::size_t index, std::uint64_t offset, std::span<std::byte> out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<std::byte>((index * 131 + offset + i) * 2654435761U >> 24U);
    }
  });
  return path;
}

class HostMemoryBound : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef STLOAD_TEST_SHADOW_MEMORY
    GTEST_SKIP() << "sanitizer shadow memory is anonymous RSS too; the bound is checked in "
                    "unsanitized builds";
#endif
    checkpoint_.emplace(Checkpoint::open(write_big_checkpoint(dir_.path() / "big.safetensors")));
  }

  // RSS above the baseline that is neither an arena nor accounted staging.
  static std::uint64_t overhead(const LoadStats& stats) {
    std::uint64_t arenas = 0;
    for (const auto& [device, bytes] : stats.device_bytes) arenas += bytes;
    const std::uint64_t grown = stats.peak_rss_anon_bytes > stats.baseline_rss_anon_bytes
                                    ? stats.peak_rss_anon_bytes - stats.baseline_rss_anon_bytes
                                    : 0;
    return grown > arenas ? grown - arenas : 0;
  }

  stload::testing::TempDir dir_;
  std::optional<Checkpoint> checkpoint_;
};

TEST_F(HostMemoryBound, staged_load_stays_within_the_staging_budget) {
  for (const ReadMethod method : {ReadMethod::Pread, ReadMethod::Mmap}) {
    LoadOptions options;
    options.direct = false;
    options.staging_bytes = 8 * kMiB;
    options.chunk_bytes = 1 * kMiB;
    options.read_method = method;
    LoadStats stats;
    const LoadedModel model = load(*checkpoint_, options, make_cpu_engine(), &stats);
    ASSERT_EQ(stats.bytes, kCheckpointBytes);
    EXPECT_GT(stats.staging_bytes, 0U);
    EXPECT_LE(stats.staging_bytes, options.staging_bytes);
    EXPECT_GT(stats.peak_rss_anon_bytes, 0U) << "RssAnon was not measured";
    EXPECT_LE(overhead(stats), options.staging_bytes + kSlack)
        << "peak " << stats.peak_rss_anon_bytes << ", baseline " << stats.baseline_rss_anon_bytes;
    expect_matches_file(model, *checkpoint_);
  }
}

TEST_F(HostMemoryBound, direct_load_needs_no_host_memory_beyond_the_arenas) {
  LoadOptions options;
  options.direct = true;
  options.staging_bytes = 8 * kMiB;
  options.chunk_bytes = 1 * kMiB;
  LoadStats stats;
  const LoadedModel model = load(*checkpoint_, options, make_cpu_engine(), &stats);
  EXPECT_EQ(stats.staging_bytes, 0U);
  EXPECT_LE(overhead(stats), kSlack)
      << "peak " << stats.peak_rss_anon_bytes << ", baseline " << stats.baseline_rss_anon_bytes;
  expect_matches_file(model, *checkpoint_);
}

// A direct converted load converts on the reader threads through cache-sized blocks: no staging
// slot, nothing but the arenas and the slack, and the same bytes as the staged conversion (which
// the dtype suite checks against numpy). An O_DIRECT file is still staged.
TEST_F(HostMemoryBound, direct_converted_load_needs_no_staging_and_lands_the_staged_bytes) {
  LoadOptions options;
  options.staging_bytes = 8 * kMiB;
  options.chunk_bytes = 1 * kMiB;
  options.dtype.floats = Dtype::BF16;
  options.direct = false;
  LoadStats staged_stats;
  const LoadedModel staged = load(*checkpoint_, options, make_cpu_engine(), &staged_stats);
  EXPECT_GT(staged_stats.staging_bytes, 0U);
  for (const ReadMethod method : {ReadMethod::Pread, ReadMethod::Mmap}) {
    options.direct = true;
    options.read_method = method;
    LoadStats stats;
    const LoadedModel model = load(*checkpoint_, options, make_cpu_engine(), &stats);
    ASSERT_EQ(stats.bytes, kCheckpointBytes / 2);
    EXPECT_EQ(stats.staging_bytes, 0U);
    EXPECT_LE(overhead(stats), kSlack)
        << "peak " << stats.peak_rss_anon_bytes << ", baseline " << stats.baseline_rss_anon_bytes;
    std::vector<std::byte> want;
    std::vector<std::byte> got;
    for (const TensorView& view : staged.tensors()) {
      const TensorView* other = model.find(view.name);
      ASSERT_NE(other, nullptr) << view.name;
      EXPECT_EQ(other->dtype, Dtype::BF16) << view.name;
      want.assign(view.bytes, std::byte{0});
      got.assign(other->bytes, std::byte{0x5A});
      staged.read(view, want);
      model.read(*other, got);
      EXPECT_EQ(got, want) << view.name << " differs from its staged conversion";
    }
  }
  if (stload::testing::o_direct_refused().empty()) {
    options.read_method = ReadMethod::Direct;
    LoadStats stats;
    const LoadedModel model = load(*checkpoint_, options, make_cpu_engine(), &stats);
    EXPECT_GT(stats.staging_bytes, 0U) << "O_DIRECT reads want the chunk's size: staged";
  }
}

}  // namespace
}  // namespace stload::conformance
