// The Sources seam (src/io/): every FileSource reads back exactly the file's bytes for ranges of
// every alignment (the O_DIRECT source's fast path, bounce buffer and partial tail block
// included), a range past the end of the file is an Io error naming the file and offset, and
// make_source counts its choices and refuses (or, for Auto, replaces) O_DIRECT where the file
// system does.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cpu/mapped_file.hpp"
#include "io/direct_source.hpp"
#include "io/file_source.hpp"
#include "io/mapping_source.hpp"
#include "io/pread_source.hpp"
#include "support/o_direct.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

using detail::DirectSource;
using detail::FileSource;
using detail::MappedFile;
using testing::pattern_bytes;
using testing::TempDir;
using testing::throws_error;

// Bigger than one bounce buffer, and not a whole number of 4 KiB blocks.
constexpr std::size_t kFileBytes = DirectSource::kBounceBytes + 3 * 4096 + 1234;

struct Range {
  const char* name;
  std::uint64_t offset;
  std::uint64_t bytes;
  std::size_t out_shift;  // bytes past a 4 KiB boundary that the destination starts
};

const Range kRanges[] = {
    {"whole_file_aligned", 0, kFileBytes, 0},
    {"whole_blocks_aligned", 4096, 8 * 4096, 0},
    {"same_shift_in_file_and_memory", 100, 3 * 4096 + 5, 100},
    {"shifts_differ", 100, 3 * 4096 + 5, 256},
    {"inside_one_block", 10, 20, 0},
    {"crosses_the_bounce_buffer", 7, DirectSource::kBounceBytes + 10, 0},
    {"ends_at_the_partial_last_block", kFileBytes - 5000, 5000, 64},
    {"same_shift_ends_at_the_partial_last_block", kFileBytes - 5000, 5000,
     (kFileBytes - 5000) % 4096},
    {"same_shift_whole_blocks_then_the_partial_last_block", 100, kFileBytes - 100, 100},
    {"last_byte", kFileBytes - 1, 1, 0},
    {"nothing", 77, 0, 0},
};

class Sources : public ::testing::TestWithParam<Range> {
 protected:
  void SetUp() override {
    expected_ = pattern_bytes(kFileBytes, 7);
    path_ = dir_.write("data.bin", expected_);
    file_ = MappedFile::open(path_);
  }

  // Reads the range into a 4 KiB-aligned buffer at out_shift and checks it, and that nothing
  // around it was written.
  void expect_reads(FileSource& source, bool streaming) const {
    const Range& range = GetParam();
    const std::size_t size = (range.out_shift + range.bytes + 2 * 4096) / 4096 * 4096;
    std::unique_ptr<std::byte, decltype(&std::free)> memory(
        static_cast<std::byte*>(std::aligned_alloc(4096, size)), &std::free);
    std::memset(memory.get(), 0xA5, size);
    source.read(memory.get() + range.out_shift, range.bytes, range.offset, streaming);
    EXPECT_EQ(
        std::memcmp(memory.get() + range.out_shift, expected_.data() + range.offset, range.bytes),
        0)
        << "the bytes read are not the file's";
    for (std::size_t i = 0; i < size; ++i) {
      if (i >= range.out_shift && i < range.out_shift + range.bytes) continue;
      ASSERT_EQ(memory.get()[i], std::byte{0xA5}) << "wrote outside the range at " << i;
    }
  }

  TempDir dir_;
  std::filesystem::path path_;
  std::vector<std::byte> expected_;
  MappedFile file_;
};

TEST_P(Sources, pread_source_reads_exactly_the_range) {
  detail::PreadSource source(file_);
  expect_reads(source, false);
}

TEST_P(Sources, mapping_source_reads_exactly_the_range_with_either_store) {
  detail::MappingSource source(file_);
  expect_reads(source, false);
  expect_reads(source, true);
}

TEST_P(Sources, direct_source_reads_exactly_the_range_with_either_store) {
  if (const std::string why = testing::o_direct_refused(); !why.empty()) GTEST_SKIP() << why;
  const auto source = DirectSource::open(file_);
  ASSERT_NE(source, nullptr);
  EXPECT_GE(source->block(), 4096U);
  EXPECT_EQ(source->block() % 4096, 0U);
  expect_reads(*source, false);
  expect_reads(*source, true);
}

// read_in_place: the mapping hands over the range itself (the very bytes of the mapping, at the
// range's offset); the other sources decline without calling anything.
struct Seen {
  const std::byte* data = nullptr;
  int calls = 0;
};
void remember(const std::byte* data, void* context) noexcept {
  auto& seen = *static_cast<Seen*>(context);
  seen.data = data;
  ++seen.calls;
}

TEST_P(Sources, only_the_mapping_source_reads_in_place) {
  const Range& range = GetParam();
  detail::MappingSource mapping(file_);
  Seen seen;
  ASSERT_TRUE(mapping.read_in_place(range.offset, range.bytes, remember, &seen));
  EXPECT_EQ(seen.calls, 1);
  EXPECT_EQ(seen.data, file_.bytes().data() + range.offset);
  EXPECT_EQ(std::memcmp(seen.data, expected_.data() + range.offset, range.bytes), 0);
  detail::PreadSource pread(file_);
  Seen none;
  EXPECT_FALSE(pread.read_in_place(range.offset, range.bytes, remember, &none));
  EXPECT_EQ(none.calls, 0);
}

INSTANTIATE_TEST_SUITE_P(EveryAlignment, Sources, ::testing::ValuesIn(kRanges),
                         [](const ::testing::TestParamInfo<Range>& param_info) {
                           return std::string(param_info.param.name);
                         });

class SourceErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.write("short.bin", pattern_bytes(10'000, 3));
    file_ = MappedFile::open(path_);
  }
  TempDir dir_;
  std::filesystem::path path_;
  MappedFile file_;
};

TEST_F(SourceErrors, range_past_the_end_is_io_naming_the_file_for_every_source) {
  std::vector<std::byte> out(8192);
  detail::PreadSource pread(file_);
  EXPECT_TRUE(throws_error([&] { pread.read(out.data(), 4000, 8000, false); }, ErrorCode::Io,
                           {path_.string(), "end of file", "10000"}));
  detail::MappingSource mapping(file_);
  EXPECT_TRUE(throws_error([&] { mapping.read(out.data(), 4000, 8000, false); }, ErrorCode::Io,
                           {path_.string(), "past the end", "8000"}));
  Seen seen;
  EXPECT_TRUE(throws_error([&] { (void)mapping.read_in_place(8000, 4000, remember, &seen); },
                           ErrorCode::Io, {path_.string(), "past the end", "8000"}));
  EXPECT_EQ(seen.calls, 0) << "a range past the end was handed over";
  if (!testing::o_direct_refused().empty()) return;
  const auto direct = DirectSource::open(file_);
  ASSERT_NE(direct, nullptr);
  EXPECT_TRUE(throws_error([&] { direct->read(out.data(), 4000, 8000, false); }, ErrorCode::Io,
                           {path_.string(), "end of file", "10000"}));
}

int open_refusing_o_direct(const char* /*path*/, int /*flags*/) {
  errno = EINVAL;
  return -1;
}

int open_denied(const char* /*path*/, int /*flags*/) {
  errno = EACCES;
  return -1;
}

class OpenHook {
 public:
  explicit OpenHook(detail::OpenFunction function) { detail::set_open_for_testing(function); }
  OpenHook(const OpenHook&) = delete;
  OpenHook& operator=(const OpenHook&) = delete;
  ~OpenHook() { detail::set_open_for_testing(nullptr); }
};

TEST_F(SourceErrors, make_source_makes_what_it_is_asked_and_counts_it) {
  detail::SourceCounts counts;
  EXPECT_EQ(detail::make_source(file_, ReadMethod::Pread, false, counts)->method(),
            ReadMethod::Pread);
  EXPECT_EQ(detail::make_source(file_, ReadMethod::Mmap, false, counts)->method(),
            ReadMethod::Mmap);
  EXPECT_EQ(counts.pread, 1U);
  EXPECT_EQ(counts.mmap, 1U);
  if (!testing::o_direct_refused().empty()) return;
  EXPECT_EQ(detail::make_source(file_, ReadMethod::Direct, false, counts)->method(),
            ReadMethod::Direct);
  EXPECT_EQ(counts.direct, 1U);
  EXPECT_EQ(counts.direct_fallback, 0U);
}

TEST_F(SourceErrors, refused_o_direct_is_invalid_argument_when_asked_and_pread_for_auto) {
  const OpenHook hook(&open_refusing_o_direct);
  detail::SourceCounts counts;
  EXPECT_TRUE(throws_error(
      [&] { static_cast<void>(detail::make_source(file_, ReadMethod::Direct, false, counts)); },
      ErrorCode::InvalidArgument, {path_.string(), "refuses O_DIRECT", "pread", "mmap"}));
  EXPECT_EQ(counts.pread + counts.direct + counts.direct_fallback, 0U);
  const auto fallback = detail::make_source(file_, ReadMethod::Direct, true, counts);
  EXPECT_EQ(fallback->method(), ReadMethod::Pread);
  EXPECT_EQ(counts.direct_fallback, 1U);
  EXPECT_EQ(counts.pread, 1U);
  EXPECT_EQ(counts.direct, 0U);
}

TEST_F(SourceErrors, o_direct_open_failing_otherwise_is_io_naming_the_file) {
  const OpenHook hook(&open_denied);
  EXPECT_TRUE(throws_error([&] { static_cast<void>(DirectSource::open(file_)); }, ErrorCode::Io,
                           {path_.string(), "O_DIRECT", "Permission denied"}));
}

}  // namespace
}  // namespace stload
