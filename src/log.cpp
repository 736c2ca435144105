// The log hook (stload/log.hpp). The level is an atomic read on every notice. The handler sits in
// a slot that counts the calls running it; set_log_handler() swaps the slot under a mutex and
// waits until the old one's count is zero, so it returns only once no call of the old handler is
// running: a C caller may free the `user` pointer of its old callback as soon as it swapped it.
// (A plain mutex and a count rather than a reader-writer lock: glibc's rwlock prefers readers,
// and threads that log without pause could starve the swap.)

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <utility>

#include "detail/check.hpp"
#include "detail/log.hpp"

namespace stload {
namespace {

struct HandlerSlot {
  explicit HandlerSlot(LogHandler fn) : handler(std::move(fn)) {}
  LogHandler handler;
  int running = 0;  // calls inside `handler` now; guarded by the registry's mutex
};

struct Registry {
  std::atomic<LogLevel> level{LogLevel::Warning};
  std::mutex mutex;
  std::condition_variable idle;       // a slot's `running` fell to zero
  std::shared_ptr<HandlerSlot> slot;  // null: the default handler
};

Registry& registry() {
  static Registry instance;  // made on first use, so a static initializer may log
  return instance;
}

// True on a thread while it runs the program's handler: a notice the handler causes goes to
// stderr, and the handler may not swap handlers (it would wait for itself).
thread_local bool in_handler = false;

void write_to_stderr(std::string_view message) noexcept {
  // One fprintf per line: stdio locks the stream, so lines of concurrent threads never interleave.
  std::fprintf(stderr, "stload: %.*s\n", static_cast<int>(message.size()), message.data());
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warning:
      return "warning";
    case LogLevel::Error:
      return "error";
  }
  return "unknown";
}

void set_log_handler(LogHandler handler) {
  STLOAD_EXPECT(!in_handler, ErrorCode::InvalidArgument,
                "set_log_handler called from inside a log handler");
  std::shared_ptr<HandlerSlot> fresh;
  if (handler) fresh = std::make_shared<HandlerSlot>(std::move(handler));
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  std::shared_ptr<HandlerSlot> old = std::exchange(r.slot, std::move(fresh));
  if (old) r.idle.wait(lock, [&] { return old->running == 0; });
  lock.unlock();
  // `old` (and what its handler captured) is destroyed here, outside the lock.
}

void set_log_level(LogLevel level) noexcept {
  registry().level.store(level, std::memory_order_relaxed);
}

LogLevel log_level() noexcept {
  return registry().level.load(std::memory_order_relaxed);
}

namespace detail {

void log(LogLevel level, std::string_view message) noexcept {
  Registry& r = registry();
  if (level < r.level.load(std::memory_order_relaxed)) return;
  if (in_handler) {
    write_to_stderr(message);
    return;
  }
  try {
    std::shared_ptr<HandlerSlot> slot;
    {
      const std::lock_guard lock(r.mutex);
      slot = r.slot;
      if (slot) ++slot->running;
    }
    if (!slot) {
      write_to_stderr(message);
      return;
    }
    in_handler = true;
    try {
      slot->handler(level, message);
    } catch (...) {  // a handler's failure must not become the load's failure
    }
    in_handler = false;
    {
      const std::lock_guard lock(r.mutex);
      --slot->running;
    }
    r.idle.notify_all();
  } catch (...) {  // the mutex itself failed (std::system_error): still say it somewhere
    in_handler = false;
    write_to_stderr(message);
  }
}

}  // namespace detail
}  // namespace stload
