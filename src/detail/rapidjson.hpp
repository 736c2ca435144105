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

/// Deepest JSON nesting accepted, as the reference reader's serde_json: its recursion limit of 128
/// counts down on entering each array or object and fails on reaching 0, i.e. on the 128th level.
inline constexpr int kMaxJsonDepth = 127;

/// RapidJSON parse flags for untrusted input: iterative (no recursion on the C++ stack), stop after
/// the root value so that whatever follows can be checked to be whitespace only, and numbers as
/// text. The last matters for safety: RapidJSON 1.1.0's double conversion overflows an int on
/// inputs like 0.000...1e-2147483639 (CVE-2024-38517), then indexes its power-of-ten table out of
/// range; with numbers as text that code never runs, and integers are parsed by the caller.
inline constexpr unsigned kUntrustedParseFlags = rapidjson::kParseIterativeFlag |
                                                 rapidjson::kParseStopWhenDoneFlag |
                                                 rapidjson::kParseNumbersAsStringsFlag;

/// True when every byte is valid UTF-8 (no overlongs, no surrogates), by RapidJSON's validator.
bool is_valid_utf8(const char* data, std::size_t size);

/// Where the first ill-formed UTF-8 sequence starts; `size` when there is none.
std::size_t first_invalid_utf8(const char* data, std::size_t size);

/// True when a string RapidJSON decoded from valid UTF-8 input is still valid UTF-8. Its escape
/// decoder rejects a lone high surrogate (\ud800) but encodes a lone low one (\udc00) as the
/// ill-formed bytes ED B0 80, which serde_json refuses; every surrogate encoding starts with 0xED.
bool is_decoded_string_utf8(const char* data, std::size_t size);

/// True when [data, data + size) holds only JSON whitespace.
bool is_json_whitespace(const char* data, std::size_t size) noexcept;

}  // namespace stload::detail
