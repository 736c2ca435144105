#pragma once
// A string as JSON text, for the files stload writes itself (safetensors headers, index.json):
// names were validated as UTF-8 when read, so only quotes, backslashes and control characters
// need escaping.

#include <string>
#include <string_view>

namespace stload::detail {

/// `text` quoted and escaped as a JSON string.
inline std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(static_cast<unsigned char>(c) >> 4U) & 0xFU];
      out += kHex[static_cast<unsigned char>(c) & 0xFU];
    } else {
      out += c;
    }
  }
  return out + '"';
}

}  // namespace stload::detail
