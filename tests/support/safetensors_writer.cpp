#include "support/safetensors_writer.hpp"

#include <cstdio>

namespace stload::testing {

std::vector<std::byte> pattern_bytes(std::size_t size, std::uint32_t seed) {
  std::vector<std::byte> out(size);
  std::uint64_t state = 0x9E3779B97F4A7C15ULL ^ seed;
  for (auto& b : out) {  // splitmix64: fast, reproducible, every byte value appears
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    b = static_cast<std::byte>((z ^ (z >> 31U)) & 0xFFU);
  }
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::vector<std::byte> make_raw_with_length(std::uint64_t length, std::string_view header,
                                            std::size_t data_size) {
  std::vector<std::byte> out;
  out.reserve(8 + header.size() + data_size);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>((length >> (8U * i)) & 0xFFU));
  for (const char c : header) out.push_back(static_cast<std::byte>(c));
  const auto data = pattern_bytes(data_size, 7);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<std::byte> make_raw(std::string_view header, std::size_t data_size) {
  return make_raw_with_length(header.size(), header, data_size);
}

std::vector<std::byte> make_safetensors(const std::vector<TestTensor>& tensors,
                                        const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      header += json_quote(key) + ":" + json_quote(value);
    }
    header += "}";
    first = false;
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (!first) header += ',';
    first = false;
    header += json_quote(t.name) + ":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      header += (i ? "," : "") + std::to_string(t.shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + t.data.size()) + "]}";
    offset += t.data.size();
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::vector<std::byte> out = make_raw_with_length(header.size(), header, 0);
  for (const auto& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

}  // namespace stload::testing
