#include "stload/dtype_rules.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "detail/check.hpp"

namespace stload {
namespace {

Dtype named(std::string_view name, std::string_view where) {
  const auto dtype = dtype_from_name(name);
  STLOAD_EXPECT(dtype.has_value(), ErrorCode::InvalidArgument,
                std::string(where) + "'" + std::string(name) +
                    "' is not a dtype (names as in safetensors headers: BF16, F16, F32, F64, "
                    "F8_E4M3, ...; any case)");
  return *dtype;
}

}  // namespace

std::optional<Dtype> dtype_from_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return dtype_from_string(upper);
}

DtypeConversion parse_dtype_conversion(std::string_view text) {
  DtypeConversion out;
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') {
    const std::size_t last = text.find_last_not_of(" \t\r\n");
    out.floats = named(
        first == std::string_view::npos ? text : text.substr(first, last - first + 1), "dtype: ");
    return out;
  }
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  STLOAD_EXPECT(!doc.HasParseError() && doc.IsObject(), ErrorCode::InvalidArgument,
                "dtype rules are not a JSON object of name patterns to dtype names: " +
                    std::string(text.substr(0, 80)));
  for (const auto& member : doc.GetObject()) {
    std::string pattern(member.name.GetString(), member.name.GetStringLength());
    STLOAD_EXPECT(member.value.IsString(), ErrorCode::InvalidArgument,
                  "dtype rules: the dtype of '" + pattern + "' must be a dtype name (a string)");
    const Dtype dtype =
        named(std::string_view(member.value.GetString(), member.value.GetStringLength()),
              "dtype rules: for '" + pattern + "', ");
    out.rules.emplace_back(std::move(pattern), dtype);
  }
  return out;
}

}  // namespace stload
