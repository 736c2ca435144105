#pragma once
/// @file placement.hpp
/// @brief Devices and the device_map that places tensors on them.

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stload/name_rules.hpp"

namespace stload {

/// @brief Where memory lives: host memory playing a device (`cpu`, `cpu:N`) or a CUDA GPU.
enum class DeviceKind : std::uint8_t { Cpu, Cuda };

/// @brief A device such as `cuda:0` or `cpu:1`.
struct Device {
  DeviceKind kind = DeviceKind::Cpu;  ///< host or GPU
  int index = 0;                      ///< ordinal within the kind

  /// @brief Parses "cpu", "cpu:N", "cuda", "cuda:N" (also a bare "N", meaning cuda:N, as in HF).
  /// @throws Error InvalidArgument naming the text
  static Device parse(std::string_view text);
  /// @brief "cpu:0", "cuda:1", ...
  [[nodiscard]] std::string to_string() const;
  /// @brief Orders by kind, then index (cpu before cuda).
  friend auto operator<=>(const Device&, const Device&) = default;
};

/// @brief Which device each tensor goes to: one device, name rules (exact names, dotted prefixes,
/// `*` globs: name_rules.hpp), or `auto` filling devices in file order within per-device memory
/// limits.
class DeviceMap {
 public:
  /// @brief Every tensor on cpu:0. A default-constructed map counts as "not chosen": the loader
  /// then uses the engine's first device (cuda:0 for the CUDA engine).
  DeviceMap() : DeviceMap(Device{}) { given_ = false; }
  /// @brief Every tensor on `device`.
  explicit DeviceMap(Device device) : fallback_(device) {}

  /// @brief Rules from name patterns to devices (name_rules.hpp), keeping Hugging Face semantics
  /// for plain keys: an exact name wins, else the longest key that is a dotted prefix of the name
  /// ("model.layers.1" matches "model.layers.1.mlp.w" but not "model.layers.10.w"). Globs add
  /// `model.layers.*.mlp`; they rank as name_rules.hpp says. "" matches every tensor, last.
  /// A rule that matches no tensor of a load is not an error (as in accelerate): the plan logs a
  /// warning naming it (log.hpp).
  /// @throws Error InvalidArgument when `rules` is empty, a key is not a valid pattern, or two
  ///         glob keys are ambiguous
  static DeviceMap from_rules(std::map<std::string, Device> rules);

  /// @brief Fills `devices` in order, tensor by tensor in file order, moving to the next device
  /// when the current one's limit would be exceeded. A device missing from `max_memory` gets the
  /// engine's free memory minus a margin.
  static DeviceMap automatic(std::vector<Device> devices,
                             std::map<Device, std::uint64_t> max_memory = {});

  /// @brief Parses a device string ("cuda:0"), "auto", or a JSON object of rules
  /// (`{"model.layers.0": "cuda:0", "lm_head": "cpu", "": 0}`).
  /// @throws Error InvalidArgument naming what is wrong
  static DeviceMap parse(std::string_view text);

  /// @brief True only for a default-constructed map (see DeviceMap()).
  [[nodiscard]] bool is_default() const noexcept { return !given_; }
  /// @brief True for `auto` maps.
  [[nodiscard]] bool is_automatic() const noexcept { return automatic_; }
  /// @brief The device a rule map sends `name` to, or nullopt when no rule matches.
  [[nodiscard]] std::optional<Device> lookup(std::string_view name) const;
  /// @brief Rule keys (not "") that match none of `names`.
  template <class Names>
  [[nodiscard]] std::vector<std::string> unmatched_rules(const Names& names) const {
    return rules_.unmatched(names);
  }
  /// @brief Devices named by the map (rules' targets, or the auto list).
  [[nodiscard]] std::vector<Device> devices() const;
  /// @brief Per-device limits of an `auto` map.
  [[nodiscard]] const std::map<Device, std::uint64_t>& max_memory() const noexcept {
    return max_memory_;
  }

 private:
  NameRules<Device> rules_;         // every key but ""
  std::optional<Device> fallback_;  // the "" key, or the single device
  bool given_ = true;
  bool automatic_ = false;
  std::vector<Device> auto_devices_;
  std::map<Device, std::uint64_t> max_memory_;
};

}  // namespace stload
