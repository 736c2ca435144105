#include "stload/placement.hpp"

#include <algorithm>
#include <charconv>

#include <rapidjson/document.h>

#include "detail/check.hpp"
#include "detail/rapidjson.hpp"

namespace stload {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool parse_index(std::string_view digits, int& out) {
  if (digits.empty()) return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc{} && end == digits.data() + digits.size() && out >= 0;
}

Device device_from_json(const rapidjson::Value& value, const std::string& key) {
  if (value.IsString())
    return Device::parse(std::string_view(value.GetString(), value.GetStringLength()));
  STLOAD_EXPECT(value.IsUint() && value.GetUint() <= 1'000'000, ErrorCode::InvalidArgument,
                "device_map entry '" + key + "' must be a device string or a GPU ordinal");
  return Device{DeviceKind::Cuda, static_cast<int>(value.GetUint())};
}

}  // namespace

Device Device::parse(std::string_view text) {
  const std::string_view t = trim(text);
  int index = 0;
  if (t == "cpu") return {DeviceKind::Cpu, 0};
  if (t == "cuda") return {DeviceKind::Cuda, 0};
  if (t.starts_with("cpu:") && parse_index(t.substr(4), index)) return {DeviceKind::Cpu, index};
  if (t.starts_with("cuda:") && parse_index(t.substr(5), index)) return {DeviceKind::Cuda, index};
  if (parse_index(t, index)) return {DeviceKind::Cuda, index};
  STLOAD_FAIL(ErrorCode::InvalidArgument, "unknown device '" + std::string(text) +
                                              "' (expected cpu, cpu:N, cuda, cuda:N or N)");
}

std::string Device::to_string() const {
  return (kind == DeviceKind::Cpu ? "cpu:" : "cuda:") + std::to_string(index);
}

DeviceMap DeviceMap::from_rules(std::map<std::string, Device> rules) {
  STLOAD_EXPECT(!rules.empty(), ErrorCode::InvalidArgument, "device_map has no entries");
  DeviceMap map;
  map.given_ = true;
  map.fallback_.reset();
  std::vector<std::pair<std::string, Device>> patterns;
  for (auto& [key, device] : rules) {
    if (key.empty()) {
      map.fallback_ = device;
    } else {
      patterns.emplace_back(key, device);
    }
  }
  try {
    map.rules_ = NameRules<Device>(std::move(patterns));
  } catch (const Error& e) {
    throw Error(e.code(), std::string("device_map: ") + e.what());
  }
  return map;
}

DeviceMap DeviceMap::automatic(std::vector<Device> devices,
                               std::map<Device, std::uint64_t> max_memory) {
  DeviceMap map;
  map.given_ = true;
  map.fallback_.reset();
  map.automatic_ = true;
  map.auto_devices_ = std::move(devices);
  map.max_memory_ = std::move(max_memory);
  return map;
}

DeviceMap DeviceMap::parse(std::string_view text) {
  const std::string_view t = trim(text);
  if (t == "auto") return automatic({});
  if (!t.starts_with('{')) return DeviceMap(Device::parse(t));
  rapidjson::Document doc;
  rapidjson::MemoryStream stream(t.data(), t.size());
  doc.ParseStream<detail::kUntrustedParseFlags>(stream);
  STLOAD_EXPECT(!doc.HasParseError() && doc.IsObject() &&
                    detail::is_json_whitespace(t.data() + stream.Tell(), t.size() - stream.Tell()),
                ErrorCode::InvalidArgument,
                "device_map is not a JSON object: " + std::string(t.substr(0, 200)));
  std::map<std::string, Device> rules;
  for (const auto& member : doc.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    const Device device = device_from_json(member.value, key);
    STLOAD_EXPECT(rules.emplace(key, device).second, ErrorCode::InvalidArgument,
                  "device_map names '" + key + "' twice");
  }
  return from_rules(std::move(rules));
}

std::optional<Device> DeviceMap::lookup(std::string_view name) const {
  if (automatic_) return std::nullopt;
  if (const Device* device = rules_.find(name)) return *device;
  return fallback_;
}

std::vector<Device> DeviceMap::devices() const {
  if (automatic_) return auto_devices_;
  // In key order ("" first): from_rules kept its std::map's order.
  std::vector<Device> out;
  if (fallback_) out.push_back(*fallback_);
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const Device& device = rules_.value(i);
    if (std::find(out.begin(), out.end(), device) == out.end()) out.push_back(device);
  }
  return out;
}

}  // namespace stload
