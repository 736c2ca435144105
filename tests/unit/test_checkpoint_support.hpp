#pragma once
// Shared by the checkpoint, shard-index and mapped-file tests: an assertion that a call throws the
// stload::Error we expect, with a message naming what it must name, and small file-system helpers.

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

namespace stload::testing {

/// Success when `call` throws stload::Error with `code` and a message holding every needle.
template <class Call>
::testing::AssertionResult throws_error(Call&& call, ErrorCode code,
                                        std::initializer_list<std::string_view> needles = {}) {
  try {
    std::forward<Call>(call)();
  } catch (const Error& e) {
    if (e.code() != code) {
      return ::testing::AssertionFailure() << "threw " << to_string(e.code()) << " instead of "
                                           << to_string(code) << ": " << e.what();
    }
    const std::string_view message = e.what();
    for (const std::string_view needle : needles) {
      if (message.find(needle) == std::string_view::npos) {
        return ::testing::AssertionFailure()
               << "message \"" << message << "\" does not name \"" << needle << "\"";
      }
    }
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-stload exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "threw nothing; expected " << to_string(code);
}

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
