#pragma once
// The one way the CLI writes a string into JSON output: paths and file names are bytes, not
// text, and RapidJSON's writer copies invalid UTF-8 through as it is, which strict parsers refuse.

#include <string>
#include <string_view>

#include "detail/rapidjson.hpp"  // first: RapidJSON's asserts throw instead of aborting
#include "text.hpp"

#include <rapidjson/rapidjson.h>

namespace stload::cli {

/// Writes `text` as a JSON string, each invalid UTF-8 sequence replaced by U+FFFD.
template <class Writer>
void write_json_string(Writer& json, std::string_view text) {
  const std::string valid = valid_utf8(text);
  json.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

}  // namespace stload::cli
