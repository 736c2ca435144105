#pragma once
// How the library logs: detail::log(level, message) hands the notice to the handler the program
// set (stload/log.hpp), or to the default one (stderr, warning and above).

#include <string_view>

#include "stload/log.hpp"

namespace stload::detail {

/// Delivers `message` when `level` is at or above the set level. Never throws.
void log(LogLevel level, std::string_view message) noexcept;

}  // namespace stload::detail
