#include "detail/rapidjson.hpp"

#include <rapidjson/encodings.h>

namespace stload::detail {

namespace {
struct DiscardingStream {
  void Put(char /*unused*/) noexcept {}
};
}  // namespace

bool is_valid_utf8(const char* data, std::size_t size) {
  rapidjson::MemoryStream stream(data, size);
  DiscardingStream sink;
  while (stream.Tell() < size) {
    if (!rapidjson::UTF8<>::Validate(stream, sink)) return false;
  }
  return true;
}

bool is_json_whitespace(const char* data, std::size_t size) noexcept {
  for (std::size_t i = 0; i < size; ++i) {
    const char c = data[i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace stload::detail
