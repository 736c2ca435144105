#pragma once
// What the reliability tests measure about this process (/proc/self) and how they compare what a
// load produced with what was on disk.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "stload/error.hpp"
#include "stload/loader.hpp"
#include "stload/tensor_map.hpp"
#include "support/o_direct.hpp"
#include "support/throws_error.hpp"

namespace stload::testing {

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STLOAD_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define STLOAD_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define STLOAD_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define STLOAD_TEST_TSAN 1
#endif

#if defined(STLOAD_TEST_TSAN)
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

/// AddressSanitizer's redzones and quarantine of freed blocks (up to 256 MB), and
/// ThreadSanitizer's shadow of every byte touched, are resident memory of the tool, not of the code
/// under test: RSS bounds are asserted only without them.
#if defined(STLOAD_TEST_ASAN) || defined(STLOAD_TEST_TSAN)
inline constexpr bool kRssIsOurs = false;
#else
inline constexpr bool kRssIsOurs = true;
#endif

/// ThreadSanitizer runs a background thread of its own, started when the process first creates a
/// thread: /proc/self/task counts it, so thread-leak checks hold only without it.
inline constexpr bool kThreadsAreOurs = !kUnderThreadSanitizer;

/// A field of /proc/self/status in bytes ("VmRSS", "RssAnon", "VmHWM"); 0 when absent.
inline std::uint64_t proc_status_bytes(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::stoull(line.substr(field.size() + 1)) * 1024;
    }
  }
  return 0;
}

/// Lines of /proc/self/maps: one per mapping of this process.
inline std::size_t mapping_count() {
  std::ifstream maps("/proc/self/maps");
  std::size_t lines = 0;
  for (std::string line; std::getline(maps, line);) ++lines;
  return lines;
}

/// Open file descriptors of this process.
inline std::size_t fd_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

/// Peak resident memory while `call` runs, above the resident memory when it starts. Exact where
/// the kernel lets the high-water mark be reset (writing 5 to /proc/self/clear_refs); otherwise
/// the process's lifetime peak, which can only overstate the growth (the assertion stays sound).
template <class Call>
std::uint64_t peak_rss_growth(Call&& call) {
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const std::uint64_t before = proc_status_bytes("VmRSS");
  std::forward<Call>(call)();
  const std::uint64_t peak = proc_status_bytes("VmHWM");
  return peak > before ? peak - before : 0;
}

/// FNV-1a of bytes: enough to tell two contents apart in a test.
inline std::uint64_t digest(const void* data, std::size_t size) {
  std::uint64_t hash = 14695981039346656037ULL;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash = (hash ^ bytes[i]) * 1099511628211ULL;
  }
  return hash;
}

/// A read method as a gtest parameter name.
inline std::string read_method_name(ReadMethod method) {
  switch (method) {
    case ReadMethod::Pread:
      return "pread";
    case ReadMethod::Mmap:
      return "mmap";
    case ReadMethod::Auto:
      return "auto";
    case ReadMethod::Direct:
      return "direct";
  }
  return "unknown";
}

/// Skips the running test when `method` is Direct and the temp directory refuses O_DIRECT.
#define STLOAD_SKIP_IF_NO_O_DIRECT(method)                                             \
  do {                                                                                 \
    if ((method) == ::stload::ReadMethod::Direct) {                                    \
      if (const std::string why = ::stload::testing::o_direct_refused(); !why.empty()) \
        GTEST_SKIP() << why;                                                           \
    }                                                                                  \
  } while (0)

/// Names the instances of a test parameterized by ReadMethod.
struct ReadMethodName {
  std::string operator()(const ::testing::TestParamInfo<ReadMethod>& info) const {
    return read_method_name(info.param);
  }
};

}  // namespace stload::testing
