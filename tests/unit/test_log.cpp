// The log hook: a handler captures messages at and above the set level, nullptr restores the
// default (stderr, `stload: ` prefix), swapping handlers while threads log is safe and the old
// handler is never called after the swap returns; the library's own notices go through it.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "detail/log.hpp"
#include "stload/checkpoint.hpp"
#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "stload/log.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using Captured = std::vector<std::pair<LogLevel, std::string>>;

// Installs a capturing handler for one test and restores the default level and handler after.
class Log : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_handler([this](LogLevel level, std::string_view message) {
      const std::lock_guard lock(mutex_);
      captured_.emplace_back(level, std::string(message));
    });
  }
  void TearDown() override {
    set_log_handler(nullptr);
    set_log_level(LogLevel::Warning);
  }
  Captured captured() {
    const std::lock_guard lock(mutex_);
    return captured_;
  }

  std::mutex mutex_;
  Captured captured_;
};

TEST_F(Log, default_level_is_warning_and_filters_below_it) {
  EXPECT_EQ(log_level(), LogLevel::Warning);
  detail::log(LogLevel::Debug, "d");
  detail::log(LogLevel::Info, "i");
  detail::log(LogLevel::Warning, "w");
  detail::log(LogLevel::Error, "e");
  EXPECT_EQ(captured(), (Captured{{LogLevel::Warning, "w"}, {LogLevel::Error, "e"}}));
}

TEST_F(Log, set_log_level_lets_more_or_fewer_through) {
  set_log_level(LogLevel::Debug);
  detail::log(LogLevel::Debug, "d");
  set_log_level(LogLevel::Error);
  detail::log(LogLevel::Warning, "w");
  detail::log(LogLevel::Error, "e");
  EXPECT_EQ(captured(), (Captured{{LogLevel::Debug, "d"}, {LogLevel::Error, "e"}}));
}

TEST_F(Log, nullptr_restores_the_default_handler_on_stderr) {
  set_log_handler(nullptr);
  ::testing::internal::CaptureStderr();
  detail::log(LogLevel::Warning, "to stderr");
  detail::log(LogLevel::Info, "filtered");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "stload: to stderr\n");
  EXPECT_TRUE(captured().empty());
}

TEST_F(Log, a_handler_that_throws_does_not_fail_the_caller) {
  set_log_handler([](LogLevel, std::string_view) { throw std::runtime_error("handler broke"); });
  EXPECT_NO_THROW(detail::log(LogLevel::Error, "x"));
}

TEST_F(Log, a_handler_cannot_swap_handlers_and_its_own_notices_go_to_stderr) {
  std::atomic<int> code{-1};
  set_log_handler([&](LogLevel, std::string_view message) {
    if (message != "outer") return;
    try {
      set_log_handler(nullptr);
    } catch (const Error& e) {
      code = static_cast<int>(e.code());
    }
    detail::log(LogLevel::Warning, "inner");  // would deadlock if it took the lock again
  });
  ::testing::internal::CaptureStderr();
  detail::log(LogLevel::Warning, "outer");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "stload: inner\n");
  EXPECT_EQ(code.load(), static_cast<int>(ErrorCode::InvalidArgument));
}

TEST_F(Log, level_names) {
  EXPECT_EQ(to_string(LogLevel::Debug), "debug");
  EXPECT_EQ(to_string(LogLevel::Warning), "warning");
}

// Four threads log without pause while the main thread swaps handlers 200 times. Every message
// reaches exactly one handler, and a handler retired by set_log_handler() is never called again.
TEST(LogThreads,
     handlers_swapped_while_threads_log_see_each_message_once_and_never_after_retiring) {
  constexpr int kThreads = 4;
  constexpr int kSwaps = 200;
  std::atomic<bool> stop{false};
  std::atomic<long> delivered{0};
  std::atomic<long> after_retirement{0};
  std::vector<std::unique_ptr<std::atomic<bool>>> retired;
  for (int i = 0; i < kSwaps; ++i) retired.push_back(std::make_unique<std::atomic<bool>>(false));

  const auto handler = [&](int i) {
    std::atomic<bool>* mine = retired[static_cast<std::size_t>(i)].get();
    return [&, mine](LogLevel, std::string_view) {
      if (mine->load()) after_retirement.fetch_add(1);
      delivered.fetch_add(1);
    };
  };
  set_log_handler(handler(0));  // before any logger starts: no message goes to stderr
  std::atomic<long> sent{0};
  std::vector<std::jthread> loggers;
  for (int t = 0; t < kThreads; ++t) {
    loggers.emplace_back([&] {
      while (!stop.load()) {
        detail::log(LogLevel::Warning, "tick");
        sent.fetch_add(1);
      }
    });
  }
  // Each swap waits for a message sent since the last one, so the handlers really are swapped
  // under logging threads however the scheduler starts them (a busy machine once ran all 200 swaps
  // before any logger had begun).
  long seen = 0;
  for (int i = 1; i < kSwaps; ++i) {
    while (sent.load() == seen) std::this_thread::yield();
    seen = sent.load();
    set_log_handler(handler(i));
    retired[static_cast<std::size_t>(i - 1)]->store(true);
  }
  stop = true;
  loggers.clear();  // joins
  set_log_handler(nullptr);
  retired.back()->store(true);
  EXPECT_EQ(after_retirement.load(), 0);
  EXPECT_EQ(delivered.load(), sent.load()) << "every message to exactly one handler";
  EXPECT_GE(sent.load(), kSwaps - 1);
}

// The library's own notices: a checkpoint's choices are logged at info when it is opened (and
// stay in notes()), a CPU fallback of EngineKind::Auto at warning (and still in `note`).
TEST_F(Log, checkpoint_notes_are_logged_at_info_when_opened) {
  const testing::TempDir dir;
  const auto bytes = testing::make_safetensors({{"a", "U8", {4}, testing::pattern_bytes(4, 1)}});
  dir.write("model.safetensors", bytes);
  dir.write_text("model.safetensors.index.json",
                 R"({"weight_map": {"a": "model-00001-of-00001.safetensors"}})");
  set_log_level(LogLevel::Warning);
  const Checkpoint quiet = Checkpoint::open(dir.path());
  ASSERT_EQ(quiet.notes().size(), 1U);
  EXPECT_TRUE(captured().empty()) << "info is below the default level";

  set_log_level(LogLevel::Info);
  const Checkpoint heard = Checkpoint::open(dir.path());
  EXPECT_EQ(captured(), (Captured{{LogLevel::Info, heard.notes()[0]}}));
}

TEST_F(Log, auto_engine_fallback_is_a_warning_and_still_fills_the_note) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device answers: Auto does not fall back";
  std::string note;
  const auto engine = make_engine(EngineKind::Auto, &note);
  EXPECT_EQ(engine->name(), "cpu");
  const Captured got = captured();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].first, LogLevel::Warning);
  EXPECT_EQ(got[0].second.rfind("using the CPU engine: ", 0), 0U) << got[0].second;
  EXPECT_EQ(note, "stload: " + got[0].second);
}

}  // namespace
}  // namespace stload
