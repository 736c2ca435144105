#pragma once
// How every subcommand reports a failed path: `PATH: <ErrorCode>: <message>` on stderr.

#include <string_view>

namespace stload::cli {

/// Prints the exception in flight as `PATH: <ErrorCode>: <message>` and returns the exit code it
/// deserves: kExitUsage for a path that does not exist, kExitFailure for anything else.
/// Call only from inside a catch block; it never throws.
int report_current_exception(std::string_view path) noexcept;

}  // namespace stload::cli
