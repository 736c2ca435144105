#pragma once
// Check macros in the kvikio style: the message expression is evaluated only when the check fails,
// so building a detailed message (file, tensor, offset) costs nothing on the hot path.

#include <cerrno>
#include <cstring>
#include <string>

#include "stload/error.hpp"

#define STLOAD_EXPECT(condition, code, message)            \
  do {                                                     \
    if (!(condition)) [[unlikely]] {                       \
      throw ::stload::Error((code), std::string(message)); \
    }                                                      \
  } while (0)

#define STLOAD_FAIL(code, message) throw ::stload::Error((code), std::string(message))

namespace stload::detail {

/// "what: strerror(errno)" for a failed system call; read errno before anything else can change it.
inline std::string errno_message(const std::string& what, int err = errno) {
  return what + ": " + std::strerror(err);
}

}  // namespace stload::detail
