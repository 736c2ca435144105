#include "detail/rapidjson.hpp"

#include <cstring>

#include <rapidjson/encodings.h>

namespace stload::detail {

namespace {
struct DiscardingStream {
  void Put(char /*unused*/) noexcept {}
};
}  // namespace

std::size_t first_invalid_utf8(const char* data, std::size_t size) {
  rapidjson::MemoryStream stream(data, size);
  DiscardingStream sink;
  while (stream.Tell() < size) {
    const std::size_t start = stream.Tell();
    if (!rapidjson::UTF8<>::Validate(stream, sink)) return start;
  }
  return size;
}

bool is_valid_utf8(const char* data, std::size_t size) {
  return first_invalid_utf8(data, size) == size;
}

bool is_decoded_string_utf8(const char* data, std::size_t size) {
  return std::memchr(data, 0xED, size) == nullptr || is_valid_utf8(data, size);
}

bool is_json_whitespace(const char* data, std::size_t size) noexcept {
  for (std::size_t i = 0; i < size; ++i) {
    const char c = data[i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace stload::detail
