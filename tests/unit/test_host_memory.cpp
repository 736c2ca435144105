// HostMemory: pre-faulted memory is resident when the constructor returns (faulted in by several
// threads when large), memory that is not pre-faulted is not, and the bytes read as zero. From
// 2 MiB on it starts on a 2 MiB boundary (for transparent huge pages) and maps no more than its own
// pages: the margin mapped to find the boundary is given back.

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/host_memory.hpp"

namespace stload {
namespace {

using detail::HostMemory;

double resident_fraction(const HostMemory& memory) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((memory.size() + page - 1) / page);
  EXPECT_EQ(::mincore(memory.data(), memory.size(), in_core.data()), 0);
  const auto resident = std::count_if(in_core.begin(), in_core.end(),
                                      [](unsigned char flags) { return (flags & 1U) != 0; });
  return static_cast<double>(resident) / static_cast<double>(in_core.size());
}

TEST(HostMemory, prefaulted_memory_is_resident_and_zero) {
  // 200 MiB: several populating threads, and a last slice shorter than the others.
  const HostMemory memory(std::uint64_t{200} << 20U, /*prefault=*/true, "a test");
  EXPECT_DOUBLE_EQ(resident_fraction(memory), 1.0);
  const auto* bytes = memory.data();
  EXPECT_TRUE(
      std::all_of(bytes, bytes + memory.size(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST(HostMemory, small_prefaulted_memory_is_resident) {
  const HostMemory memory(12345, /*prefault=*/true, "a test");
  EXPECT_DOUBLE_EQ(resident_fraction(memory), 1.0);
}

TEST(HostMemory, memory_not_prefaulted_is_not_resident_until_touched) {
  const HostMemory memory(std::uint64_t{8} << 20U, /*prefault=*/false, "a test");
  EXPECT_LT(resident_fraction(memory), 0.5);
}

// VmSize of /proc/self/status in bytes: every mapping of the process together.
std::uint64_t mapped_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return 0;
  std::array<char, 256> line{};
  std::uint64_t kb = 0;
  while (std::fgets(line.data(), line.size(), f) != nullptr) {
    if (std::strncmp(line.data(), "VmSize:", 7) == 0)
      kb = std::strtoull(line.data() + 7, nullptr, 10);
  }
  std::fclose(f);
  return kb * 1024;
}

TEST(HostMemory, large_memory_starts_on_a_huge_page_and_maps_only_its_own_pages) {
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  constexpr std::uint64_t kHuge = std::uint64_t{2} << 20U;
  static_cast<void>(mapped_bytes());  // the first read may grow the heap; later ones reuse it
  for (const std::uint64_t bytes : {kHuge, 2 * kHuge + 100, 3 * kHuge + 4096, 5 * kHuge - 1}) {
    const std::uint64_t before = mapped_bytes();
    {
      // Not pre-faulted: no populating threads, whose cached stacks would count in VmSize.
      const HostMemory memory(bytes, /*prefault=*/false, "a test");
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(memory.data()) % kHuge, 0U) << bytes;
      EXPECT_EQ(mapped_bytes(), before + (bytes + page - 1) / page * page) << bytes;
      memory.data()[0] = std::byte{1};
      memory.data()[bytes - 1] = std::byte{2};  // the last byte is ours to write
    }
    EXPECT_EQ(mapped_bytes(), before) << bytes << ": a margin was left mapped";
  }
}

TEST(HostMemory, zero_bytes_hold_nothing) {
  const HostMemory memory(0, /*prefault=*/true, "a test");
  EXPECT_EQ(memory.data(), nullptr);
  EXPECT_EQ(memory.size(), 0U);
}

// Anonymous and file-backed RSS are told apart: touching 32 MiB of anonymous memory moves
// RssAnon, not RssFile (the CLI test shows the other way round for a mapped file).
TEST(HostMemory, touched_anonymous_memory_counts_as_rss_anon_not_rss_file) {
  constexpr std::uint64_t kBytes = 32ULL << 20U;
  const std::uint64_t anon_before = detail::rss_anon_bytes();
  const std::uint64_t file_before = detail::rss_file_bytes();
  ASSERT_GT(file_before, 0U) << "the test binary itself is file-backed";
  const HostMemory memory(kBytes, true, "the test");
  const std::uint64_t anon_after = detail::rss_anon_bytes();
  const std::uint64_t file_after = detail::rss_file_bytes();
  EXPECT_GE(anon_after, anon_before + kBytes / 2);
  EXPECT_LT(file_after, file_before + kBytes / 2);
  // The one-read sample agrees with the two single reads (to within what this thread allocates
  // between them).
  const detail::ResidentMemory both = detail::resident_memory();
  EXPECT_NEAR(static_cast<double>(both.anon), static_cast<double>(anon_after), 4 << 20);
  EXPECT_NEAR(static_cast<double>(both.file), static_cast<double>(file_after), 4 << 20);
}

}  // namespace
}  // namespace stload
