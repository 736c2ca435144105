// MappedFile: exact reads, errors that name the file and offset, and ownership of fd and mapping.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cpu/mapped_file.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

using detail::MappedFile;
using testing::pattern_bytes;
using testing::TempDir;
using testing::throws_error;

bool fd_is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

// Lines of /proc/self/maps that map a file under `directory`.
std::size_t mappings_under(const std::filesystem::path& directory) {
  std::ifstream maps("/proc/self/maps");
  std::size_t count = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(directory.string()) != std::string::npos) ++count;
  }
  return count;
}

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.write("data.bin", content_); }

  TempDir dir_;
  std::vector<std::byte> content_ = pattern_bytes(10'000, 42);
  std::filesystem::path path_;
};

TEST_F(MappedFileTest, maps_the_whole_file) {
  const MappedFile file = MappedFile::open(path_);
  EXPECT_EQ(file.size(), content_.size());
  EXPECT_EQ(file.path(), path_);
  EXPECT_GE(file.fd(), 0);
  const auto bytes = file.bytes();
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), content_.begin(), content_.end()));
}

TEST_F(MappedFileTest, resident_fraction_counts_cached_pages_and_is_zero_out_of_range) {
  const MappedFile file = MappedFile::open(path_);
  std::vector<std::byte> sink(content_.size());
  file.read_at(sink.data(), sink.size(), 0);  // just read: every page is in the page cache
  EXPECT_DOUBLE_EQ(file.resident_fraction(0, file.size()), 1.0);
  EXPECT_DOUBLE_EQ(file.resident_fraction(5000, 1 << 30), 1.0) << "a range past the end is cut";
  EXPECT_DOUBLE_EQ(file.resident_fraction(file.size(), 10), 0.0);
  EXPECT_DOUBLE_EQ(file.resident_fraction(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(MappedFile().resident_fraction(0, 10), 0.0);
}

// A range larger than what resident_fraction asks about page by page is sampled: with every other
// 1 MiB of a 64 MiB file never read (holes of a sparse file: no page of them is cached), the
// estimate is within a few percent of the exact count.
TEST(MappedFileResidency, a_large_range_is_estimated_from_evenly_spaced_windows) {
  TempDir dir;
  constexpr std::size_t kMiB = std::size_t{1} << 20U;
  const auto path = dir.path() / "striped.bin";
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 64 * kMiB), 0);
    const auto stripe = pattern_bytes(kMiB, 5);
    for (std::size_t at = 0; at < 64 * kMiB; at += 2 * kMiB) {
      ASSERT_EQ(::pwrite(fd, stripe.data(), kMiB, static_cast<off_t>(at)),
                static_cast<ssize_t>(kMiB));
    }
    ::close(fd);
  }
  const MappedFile file = MappedFile::open(path);
  // The exact fraction, page by page.
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core(file.size() / page);
  ASSERT_EQ(::mincore(const_cast<std::byte*>(file.bytes().data()), file.size(), in_core.data()), 0);
  std::size_t resident = 0;
  for (const unsigned char flags : in_core) resident += flags & 1U;
  const double exact = static_cast<double>(resident) / static_cast<double>(in_core.size());
  if (exact > 0.9) GTEST_SKIP() << "this file system caches the holes of a sparse file";
  EXPECT_NEAR(exact, 0.5, 0.1);
  EXPECT_NEAR(file.resident_fraction(0, file.size()), exact, 0.05);
}

TEST(MappedFileResidency, counts_past_one_window_of_pages) {
  TempDir dir;
  // More than the 4096 pages resident_fraction asks mincore about at a time, and not a multiple.
  const auto path = dir.write("big.bin", pattern_bytes((std::size_t{17} << 20U) + 12'345, 3));
  const MappedFile file = MappedFile::open(path);
  std::vector<std::byte> sink(file.size());
  file.read_at(sink.data(), sink.size(), 0);
  EXPECT_DOUBLE_EQ(file.resident_fraction(0, file.size()), 1.0);
  EXPECT_DOUBLE_EQ(file.resident_fraction(4097, file.size() - 8000), 1.0);
}

TEST_F(MappedFileTest, read_at_reads_exactly_the_bytes_asked_for) {
  const MappedFile file = MappedFile::open(path_);
  // Guard bytes around the destination catch a read of more than asked.
  std::vector<std::byte> buffer(100 + 2, std::byte{0xEE});
  file.read_at(buffer.data() + 1, 100, 4'000);
  EXPECT_EQ(buffer.front(), std::byte{0xEE});
  EXPECT_EQ(buffer.back(), std::byte{0xEE});
  EXPECT_TRUE(std::equal(buffer.begin() + 1, buffer.end() - 1, content_.begin() + 4'000));

  std::vector<std::byte> tail(7);
  file.read_at(tail.data(), tail.size(), content_.size() - tail.size());
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), content_.end() - 7));

  std::vector<std::byte> whole(content_.size());
  file.read_at(whole.data(), whole.size(), 0);
  EXPECT_EQ(whole, content_);
}

TEST_F(MappedFileTest, read_at_of_nothing_at_the_end_succeeds) {
  const MappedFile file = MappedFile::open(path_);
  std::byte unused{};
  file.read_at(&unused, 0, content_.size());
  SUCCEED();
}

TEST_F(MappedFileTest, read_at_past_end_of_file_is_io_naming_file_and_offset) {
  const MappedFile file = MappedFile::open(path_);
  std::vector<std::byte> buffer(10);
  // Straddles the end: the first unread byte is at offset size().
  EXPECT_TRUE(throws_error([&] { file.read_at(buffer.data(), 10, content_.size() - 5); },
                           ErrorCode::Io, {path_.string(), std::to_string(content_.size())}));
  // Entirely beyond the end.
  EXPECT_TRUE(throws_error([&] { file.read_at(buffer.data(), 1, 123'456); }, ErrorCode::Io,
                           {path_.string(), "123456"}));
}

TEST_F(MappedFileTest, read_at_after_move_is_io_not_a_crash) {
  MappedFile file = MappedFile::open(path_);
  MappedFile other = std::move(file);
  std::byte b{};
  EXPECT_TRUE(throws_error([&] { file.read_at(&b, 1, 0); },
                           ErrorCode::Io));  // NOLINT(bugprone-use-after-move)
  other.read_at(&b, 1, 0);
  EXPECT_EQ(b, content_[0]);
}

TEST(MappedFileOpen, missing_file_is_not_found_naming_it) {
  TempDir dir;
  const auto path = dir.path() / "nope.bin";
  EXPECT_TRUE(
      throws_error([&] { (void)MappedFile::open(path); }, ErrorCode::NotFound, {path.string()}));
}

TEST(MappedFileOpen, directory_is_io_naming_it) {
  TempDir dir;
  EXPECT_TRUE(throws_error([&] { (void)MappedFile::open(dir.path()); }, ErrorCode::Io,
                           {dir.path().string(), "not a regular file"}));
}

TEST(MappedFileOpen, fifo_is_io_without_blocking) {
  TempDir dir;
  const auto fifo = dir.path() / "pipe";
  testing::make_fifo(fifo);
  EXPECT_TRUE(testing::completes_without_blocking_on_fifo(fifo, [&] {
    EXPECT_TRUE(
        throws_error([&] { (void)MappedFile::open(fifo); }, ErrorCode::Io, {fifo.string()}));
  }));
}

TEST(MappedFileOpen, character_device_is_io) {
  if (!std::filesystem::is_character_file("/dev/null")) GTEST_SKIP() << "no /dev/null here";
  EXPECT_TRUE(
      throws_error([&] { (void)MappedFile::open("/dev/null"); }, ErrorCode::Io, {"/dev/null"}));
}

TEST(MappedFileOpen, empty_file_maps_to_nothing) {
  TempDir dir;
  const auto path = dir.write("empty", std::vector<std::byte>{});
  const MappedFile file = MappedFile::open(path);
  EXPECT_EQ(file.size(), 0U);
  EXPECT_TRUE(file.bytes().empty());
  std::byte b{};
  EXPECT_TRUE(
      throws_error([&] { file.read_at(&b, 1, 0); }, ErrorCode::Io, {path.string(), "offset 0"}));
}

TEST(MappedFileOpen, file_opened_for_reading_is_not_left_non_blocking) {
  // open() must not block on a FIFO; the flag used for that must not leak into later reads.
  TempDir dir;
  const auto path = dir.write("data", pattern_bytes(16, 1));
  const MappedFile file = MappedFile::open(path);
  const int flags = ::fcntl(file.fd(), F_GETFL);
  ASSERT_NE(flags, -1);
  EXPECT_EQ(flags & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(file.fd(), F_GETFD) & FD_CLOEXEC, 0) << "fd must not leak into child processes";
}

TEST_F(MappedFileTest, move_construction_transfers_fd_and_mapping) {
  MappedFile first = MappedFile::open(path_);
  const int fd = first.fd();
  const std::byte* data = first.bytes().data();
  const MappedFile second(std::move(first));
  EXPECT_EQ(second.fd(), fd);
  EXPECT_EQ(second.bytes().data(), data);
  EXPECT_EQ(second.size(), content_.size());
  EXPECT_EQ(first.fd(), -1);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(first.bytes().empty());
  EXPECT_TRUE(fd_is_open(fd));
}

TEST_F(MappedFileTest, move_assignment_releases_the_previous_file) {
  const auto other_path = dir_.write("other.bin", pattern_bytes(64, 7));
  MappedFile target = MappedFile::open(other_path);
  const int old_fd = target.fd();
  MappedFile source = MappedFile::open(path_);
  const int new_fd = source.fd();
  target = std::move(source);
  EXPECT_EQ(target.fd(), new_fd);
  EXPECT_EQ(target.path(), path_);
  EXPECT_EQ(target.size(), content_.size());
  EXPECT_FALSE(fd_is_open(old_fd)) << "the replaced file's descriptor was not closed";
  EXPECT_EQ(mappings_under(other_path), 0U) << "the replaced file is still mapped";
}

TEST_F(MappedFileTest, self_move_assignment_keeps_the_file) {
  MappedFile file = MappedFile::open(path_);
  MappedFile& alias = file;
  file = std::move(alias);
  EXPECT_TRUE(fd_is_open(file.fd()));
  EXPECT_EQ(file.size(), content_.size());
  EXPECT_EQ(file.bytes()[9'999], content_[9'999]);
}

TEST_F(MappedFileTest, destruction_closes_the_fd_and_unmaps) {
  int fd = -1;
  {
    const MappedFile file = MappedFile::open(path_);
    fd = file.fd();
    ASSERT_GE(mappings_under(dir_.path()), 1U);
  }
  EXPECT_FALSE(fd_is_open(fd));
  EXPECT_EQ(mappings_under(dir_.path()), 0U);
}

TEST_F(MappedFileTest, two_hundred_open_close_cycles_leak_no_fd_or_mapping) {
  { const MappedFile warm = MappedFile::open(path_); }
  const std::size_t fds_before = testing::open_fd_count();
  for (int i = 0; i < 200; ++i) {
    MappedFile file = MappedFile::open(path_);
    MappedFile moved(std::move(file));
    MappedFile assigned;
    assigned = std::move(moved);
    assigned = MappedFile::open(path_);
    EXPECT_THROW((void)MappedFile::open(dir_.path()),
                 Error);  // fails after open(): must still close
  }
  EXPECT_EQ(testing::open_fd_count(), fds_before);
  EXPECT_EQ(mappings_under(dir_.path()), 0U);
}

}  // namespace
}  // namespace stload
