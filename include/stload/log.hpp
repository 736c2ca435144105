#pragma once
/// @file log.hpp
/// @brief The log hook: where the library's notices go (a CPU fallback, a file choice), so that a
/// server can route them into its own log instead of stderr.

#include <cstdint>
#include <functional>
#include <string_view>

namespace stload {

/// @brief How much a notice matters, from least to most.
enum class LogLevel : std::uint8_t {
  Debug,    ///< detail for whoever debugs stload itself
  Info,     ///< a documented choice the library made (Checkpoint::notes(): which files it loads)
  Warning,  ///< the caller may not get what they expected (EngineKind::Auto fell back to the CPU)
  Error,    ///< something failed that no exception reports
};

/// @brief "debug", "info", "warning" or "error"; "unknown" for a value outside the enum.
[[nodiscard]] std::string_view to_string(LogLevel level) noexcept;

/// @brief Receives each notice at or above the level set by set_log_level(). The message is one
/// line without a trailing newline, valid only during the call.
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

/// @brief Sends notices to `handler`; an empty handler (nullptr) restores the default, which
/// writes `stload: MESSAGE` lines to stderr.
///
/// Thread safety: any thread may log, and any thread may swap the handler, at any time. The
/// handler may be called from several threads at once (loads run reader threads) and must be
/// thread-safe itself. Once set_log_handler() returns, the previous handler is not running and
/// is never called again, so whatever it captured may be released. A handler must not call
/// set_log_handler() (InvalidArgument); a notice the handler itself causes goes to the default
/// handler. An exception a handler throws is swallowed: logging never fails a load.
/// @throws Error InvalidArgument when called from inside a handler
void set_log_handler(LogHandler handler);

/// @brief Delivers notices at `level` and above (default: LogLevel::Warning). Thread-safe.
void set_log_level(LogLevel level) noexcept;

/// @brief The level set by set_log_level().
[[nodiscard]] LogLevel log_level() noexcept;

}  // namespace stload
