// Legal but hostile sizes: a header just under the 100 MB limit holding a million tensors, and an
// index whose weight_map has a million entries. Both must open, with peak memory a small multiple
// of what was read (measured, printed and recorded: time is reported, never asserted).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "checkpoint_impl.hpp"
#include "reliability_support.hpp"
#include "stload/checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::kRssIsOurs;
using testing::peak_rss_growth;
using testing::TempDir;

constexpr std::size_t kMillion = 1'000'000;
constexpr std::uint64_t kHeaderLimit = 100'000'000;

// Writes the 8-byte length, `header`, then `data_bytes` of (sparse) zeros.
void write_safetensors(const fs::path& path, const std::string& header, std::uint64_t data_bytes) {
  {
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t n = header.size();
    for (unsigned shift = 0; shift < 64; shift += 8) {
      out.put(static_cast<char>((n >> shift) & 0xFFU));
    }
    out << header;
  }
  fs::resize_file(path, 8 + header.size() + data_bytes);
}

// `count` one-byte U8 tensors named by `name(i)`, the header padded with spaces to `pad_to`.
template <class Name>
std::string u8_header(std::size_t first, std::size_t count, Name name, std::size_t pad_to = 0) {
  std::string header = "{";
  header.reserve(pad_to);
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) header += ',';
    header += '"';
    header += name(first + i);
    header += R"(":{"dtype":"U8","shape":[1],"data_offsets":[)";
    header += std::to_string(i);
    header += ',';
    header += std::to_string(i + 1);
    header += "]}";
  }
  header += '}';
  if (header.size() < pad_to) header.append(pad_to - header.size(), ' ');
  return header;
}

struct Measured {
  double seconds;      // wall clock
  double cpu_seconds;  // this process's CPU time: what the shared CI machines' load cannot inflate
  std::uint64_t peak_growth;
};

template <class Call>
Measured measure(Call&& call) {
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const std::uint64_t growth = peak_rss_growth(std::forward<Call>(call));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  return {took.count(), cpu, growth};
}

void report(const char* what, std::uint64_t input_bytes, const Measured& m) {
  std::cout << what << ": " << static_cast<double>(input_bytes) / 1e6 << " MB read in " << m.seconds
            << " s (" << m.cpu_seconds << " s CPU), peak RSS growth "
            << static_cast<double>(m.peak_growth) / 1e6 << " MB ("
            << static_cast<double>(m.peak_growth) / static_cast<double>(input_bytes)
            << "x the input)\n";
  ::testing::Test::RecordProperty(std::string(what) + "_input_bytes", std::to_string(input_bytes));
  ::testing::Test::RecordProperty(std::string(what) + "_seconds", std::to_string(m.seconds));
  ::testing::Test::RecordProperty(std::string(what) + "_cpu_seconds",
                                  std::to_string(m.cpu_seconds));
  ::testing::Test::RecordProperty(std::string(what) + "_peak_rss_growth_bytes",
                                  std::to_string(m.peak_growth));
}

// Per tensor, a Checkpoint holds a record (name, dtype, shape, offsets) and a name-index entry:
// a few hundred bytes, about three times a header entry's ~100 bytes of JSON. The parse adds the
// header buffer itself. Seven times the input leaves room for allocator rounding, not for a
// second copy of every record or a DOM of the whole JSON.
constexpr std::uint64_t kGrowthPerInputByte = 7;

void expect_bounded(const Measured& m, std::uint64_t input_bytes) {
  if (!kRssIsOurs) return;
  EXPECT_LE(m.peak_growth, kGrowthPerInputByte * input_bytes)
      << "peak RSS grew " << m.peak_growth << " bytes for " << input_bytes << " bytes of input";
}

std::string long_name(std::size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model.layers.%07zu.attn.q_proj.weight", i);
  return buf;
}

TEST(HostileSizes, header_near_the_limit_with_a_million_tensors_opens_in_bounded_memory) {
  // Sizes, not threads: nothing here for ThreadSanitizer to find, and it runs them 20x slower.
  if (testing::kUnderThreadSanitizer)
    GTEST_SKIP() << "single-threaded size test; skipped under TSan";
  TempDir dir;
  const fs::path path = dir.path() / "huge_header.safetensors";
  std::uint64_t header_bytes = 0;
  {
    const std::string header = u8_header(0, kMillion, long_name, kHeaderLimit - 8);
    ASSERT_LE(header.size(), kHeaderLimit);
    header_bytes = header.size();
    write_safetensors(path, header, kMillion);
  }

  std::size_t tensors = 0;
  std::uint64_t total = 0;
  const Measured m = measure([&] {
    const Checkpoint ckpt = Checkpoint::open(path);
    tensors = ckpt.tensors().size();
    total = ckpt.total_bytes();
    ASSERT_NE(ckpt.find(long_name(kMillion - 1)), nullptr);
  });
  report("header", header_bytes, m);
  EXPECT_EQ(tensors, kMillion);
  EXPECT_EQ(total, kMillion);
  EXPECT_GT(header_bytes, 99'000'000U);
  expect_bounded(m, header_bytes);
}

constexpr std::size_t kShards = 4;
std::string shard_name(std::size_t shard) {
  return "model-0000" + std::to_string(shard + 1) + "-of-0000" + std::to_string(kShards) +
         ".safetensors";
}
std::string short_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "w.%07zu", i);
  return buf;
}

// The files are written once for the suite: a million-entry index and four 250k-tensor shards.
class MillionEntryIndex : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Sizes, not threads: nothing here for ThreadSanitizer to find, and it runs them 20x slower.
    if (testing::kUnderThreadSanitizer)
      GTEST_SKIP() << "single-threaded size test; skipped under TSan";
    dir_ = new TempDir;
    constexpr std::size_t per_shard = kMillion / kShards;
    for (std::size_t s = 0; s < kShards; ++s) {
      const std::string header = u8_header(s * per_shard, per_shard, short_name);
      headers_bytes_ += header.size();
      write_safetensors(dir_->path() / shard_name(s), header, per_shard);
    }
    std::string index = R"({"metadata":{"total_size":1000000},"weight_map":{)";
    for (std::size_t i = 0; i < kMillion; ++i) {
      if (i != 0) index += ',';
      index += '"' + short_name(i) + "\":\"" + shard_name(i / per_shard) + '"';
    }
    index += "}}";
    index_bytes_ = index.size();
    index_ = dir_->write_text("model.safetensors.index.json", index);
  }
  void SetUp() override {
    if (testing::kUnderThreadSanitizer)
      GTEST_SKIP() << "single-threaded size test; skipped under TSan";
  }
  static void TearDownTestSuite() {
    delete dir_;  // removes the files
    dir_ = nullptr;
  }
  static inline TempDir* dir_ = nullptr;
  static inline fs::path index_;
  static inline std::uint64_t index_bytes_ = 0;
  static inline std::uint64_t headers_bytes_ = 0;
};

TEST_F(MillionEntryIndex, index_alone_parses_in_bounded_memory) {
  std::size_t entries = 0;
  const Measured m = measure([&] {
    const detail::ShardIndex index = detail::read_shard_index(index_);
    for (const auto& names : index.tensors) entries += names.size();
    ASSERT_EQ(index.shards.size(), kShards);
  });
  report("index", index_bytes_, m);
  EXPECT_EQ(entries, kMillion);
  expect_bounded(m, index_bytes_);
}

TEST_F(MillionEntryIndex, checkpoint_through_the_index_opens_in_bounded_memory) {
  std::size_t tensors = 0;
  const Measured m = measure([&] {
    const Checkpoint ckpt = Checkpoint::open(index_);
    tensors = ckpt.tensors().size();
    ASSERT_EQ(ckpt.files().size(), kShards);
  });
  report("index_and_shards", index_bytes_ + headers_bytes_, m);
  EXPECT_EQ(tensors, kMillion);
  expect_bounded(m, index_bytes_ + headers_bytes_);
}

}  // namespace
}  // namespace stload
