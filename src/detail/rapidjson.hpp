#pragma once
// The one way stload includes RapidJSON: its assertions throw instead of aborting, so a hostile
// header can never take the process down through a library assert.

#include <stdexcept>

#ifndef RAPIDJSON_ASSERT
#define RAPIDJSON_ASSERT(x)                                              \
  do {                                                                   \
    if (!(x)) throw std::logic_error("RapidJSON assertion failed: " #x); \
  } while (0)
#endif

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace stload::detail {

/// JSON nesting deeper than this is rejected, as serde_json does for the reference reader.
inline constexpr int kMaxJsonDepth = 128;

/// RapidJSON parse flags for untrusted input: iterative (no recursion on the C++ stack), and stop
/// after the root value so that whatever follows can be checked to be whitespace only.
inline constexpr unsigned kUntrustedParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag;

/// True when every byte is valid UTF-8 (no overlongs, no surrogates), by RapidJSON's validator.
bool is_valid_utf8(const char* data, std::size_t size);

/// True when [data, data + size) holds only JSON whitespace.
bool is_json_whitespace(const char* data, std::size_t size) noexcept;

}  // namespace stload::detail
