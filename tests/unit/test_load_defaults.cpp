// Issue 13, defect 5: readers, staging and chunk size were fixed for a 2-core VM (2 readers, 4
// slots), which leaves the host-side copy the bottleneck on a 16-core GPU server. Options left at 0
// are derived from the machine by default_load_shape (formulas in loader.hpp); explicit ones win.

#include <gtest/gtest.h>

#include "stload/loader.hpp"

namespace stload {
namespace {

constexpr std::uint64_t kMiB = 1ULL << 20U;

TEST(LoadDefaults, the_two_core_development_vm_keeps_its_measured_defaults) {
  const LoadShape shape = default_load_shape(2, 1);
  EXPECT_EQ(shape.reader_threads, 2U);
  EXPECT_EQ(shape.chunk_bytes, 64 * kMiB);
  EXPECT_EQ(shape.staging_bytes, 4 * 64 * kMiB);
}

TEST(LoadDefaults, a_sixteen_core_server_reads_with_half_its_cores_two_slots_each) {
  const LoadShape shape = default_load_shape(16, 1);
  EXPECT_EQ(shape.reader_threads, 8U);
  EXPECT_EQ(shape.staging_bytes, 16 * 64 * kMiB);
}

TEST(LoadDefaults, many_devices_get_two_slots_each_within_the_staging_cap) {
  EXPECT_EQ(default_load_shape(4, 8).staging_bytes, 16 * 64 * kMiB);
  EXPECT_EQ(default_load_shape(256, 8).reader_threads, 16U);
  EXPECT_EQ(default_load_shape(256, 8).staging_bytes, 2048 * kMiB);  // the cap
}

TEST(LoadDefaults, an_unknown_core_count_counts_as_two) {
  EXPECT_EQ(default_load_shape(0, 0).reader_threads, 2U);
  EXPECT_EQ(default_load_shape(0, 0).staging_bytes, 4 * 64 * kMiB);
}

TEST(LoadDefaults, load_options_leave_them_to_the_machine) {
  const LoadOptions options;
  EXPECT_EQ(options.reader_threads, 0U);
  EXPECT_EQ(options.staging_bytes, 0U);
  EXPECT_EQ(options.chunk_bytes, 0U);
}

}  // namespace
}  // namespace stload
