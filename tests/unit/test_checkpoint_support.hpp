#pragma once
// Shared by the checkpoint, shard-index and mapped-file tests: small file-system helpers, and
// throws_error (support/throws_error.hpp).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stload/error.hpp"
#include "support/throws_error.hpp"

namespace stload::testing {

/// Runs `call` on another thread. Opening a FIFO for reading blocks until a writer appears: when
/// the call is still stuck after a generous grace period, a writer is opened to release it and the
/// call is reported as blocked (a deadlock guard, not a timing assertion).
template <class Call>
::testing::AssertionResult completes_without_blocking_on_fifo(const std::filesystem::path& fifo,
                                                              Call call) {
  auto done = std::async(std::launch::async, std::move(call));
  if (done.wait_for(std::chrono::seconds(20)) == std::future_status::ready) {
    done.get();
    return ::testing::AssertionSuccess();
  }
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  done.wait();
  if (writer >= 0) ::close(writer);
  return ::testing::AssertionFailure() << "open blocked on FIFO " << fifo;
}

/// Creates a FIFO at `path`.
inline void make_fifo(const std::filesystem::path& path) {
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << "mkfifo " << path;
}

/// Open file descriptors of this process.
inline std::size_t open_fd_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

}  // namespace stload::testing
