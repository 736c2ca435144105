// C API: the log hook (stload_set_log_callback, stload_set_log_level) over stload/log.hpp.
#include <string>

#include "c_api/guard.hpp"
#include "detail/check.hpp"
#include "stload/log.hpp"

namespace stload::c_api {
namespace {

static_assert(static_cast<int>(LogLevel::Debug) == STLOAD_LOG_DEBUG);
static_assert(static_cast<int>(LogLevel::Error) == STLOAD_LOG_ERROR);

}  // namespace
}  // namespace stload::c_api

extern "C" {

stload_status stload_set_log_callback(stload_log_callback callback, void* user) {
  using namespace stload;
  return c_api::guard([&] {
    if (callback == nullptr) {
      set_log_handler(nullptr);
      return;
    }
    // The C callback wants a NUL-terminated string; C++ messages are views.
    set_log_handler([callback, user](LogLevel level, std::string_view message) {
      const std::string line(message);
      callback(static_cast<int>(level), line.c_str(), user);
    });
  });
}

stload_status stload_set_log_level(int level) {
  using namespace stload;
  return c_api::guard([&] {
    STLOAD_EXPECT(level >= STLOAD_LOG_DEBUG && level <= STLOAD_LOG_ERROR,
                  ErrorCode::InvalidArgument,
                  "stload_set_log_level: unknown level " + std::to_string(level));
    set_log_level(static_cast<LogLevel>(level));
  });
}

}  // extern "C"
