#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>

#include "stload/error.hpp"
#include "stload/placement.hpp"

namespace stload {

inline void PrintTo(const Device& device, std::ostream* out) {
  *out << device.to_string();
}

namespace {

constexpr Device kCpu0{DeviceKind::Cpu, 0};
constexpr Device kCpu1{DeviceKind::Cpu, 1};
constexpr Device kCuda0{DeviceKind::Cuda, 0};
constexpr Device kCuda1{DeviceKind::Cuda, 1};

// The code of the Error `text` provokes, and that its message quotes the text.
void expect_parse_error(std::string_view text, bool map) {
  try {
    if (map) {
      static_cast<void>(DeviceMap::parse(text));
    } else {
      static_cast<void>(Device::parse(text));
    }
    ADD_FAILURE() << "'" << text << "' was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << text << ": " << e.what();
  }
}

TEST(DeviceParse, accepts_every_documented_form) {
  EXPECT_EQ(Device::parse("cpu"), kCpu0);
  EXPECT_EQ(Device::parse("cpu:1"), kCpu1);
  EXPECT_EQ(Device::parse("cuda"), kCuda0);
  EXPECT_EQ(Device::parse("cuda:1"), kCuda1);
  EXPECT_EQ(Device::parse("1"), kCuda1) << "a bare ordinal is a GPU, as in Hugging Face maps";
  EXPECT_EQ(Device::parse("cuda:12"), (Device{DeviceKind::Cuda, 12}));
  EXPECT_EQ(Device::parse("  cuda:1\t"), kCuda1) << "surrounding whitespace";
}

TEST(DeviceParse, rejects_malformed_text_naming_it) {
  for (const char* text : {"", "gpu", "cuda:", "cpu:", "cuda:-1", "-1", "cuda:1x", "cuda:1:2",
                           "CUDA:0", "cuda 0", "cpu:99999999999999999999", "cuda:+1", "1.0"}) {
    expect_parse_error(text, false);
  }
  try {
    static_cast<void>(Device::parse("tpu:3"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tpu:3"), std::string::npos) << e.what();
  }
}

TEST(DeviceParse, to_string_round_trips) {
  for (const Device d : {kCpu0, kCpu1, kCuda0, kCuda1, Device{DeviceKind::Cuda, 7}}) {
    EXPECT_EQ(Device::parse(d.to_string()), d);
  }
  EXPECT_EQ(kCuda1.to_string(), "cuda:1");
  EXPECT_EQ(kCpu0.to_string(), "cpu:0");
}

TEST(DeviceMapParse, a_device_string_sends_everything_there) {
  const DeviceMap map = DeviceMap::parse("cuda:1");
  EXPECT_FALSE(map.is_automatic());
  EXPECT_FALSE(map.is_default());
  EXPECT_EQ(map.lookup("anything.at.all"), kCuda1);
  EXPECT_EQ(map.lookup(""), kCuda1);
  EXPECT_EQ(map.devices(), std::vector<Device>{kCuda1});
}

TEST(DeviceMapParse, auto_is_automatic_with_no_rules) {
  const DeviceMap map = DeviceMap::parse(" auto ");
  EXPECT_TRUE(map.is_automatic());
  EXPECT_FALSE(map.is_default());
  EXPECT_EQ(map.lookup("x"), std::nullopt) << "auto maps place tensors in the planner";
  EXPECT_TRUE(map.devices().empty());
}

TEST(DeviceMapParse, json_rules_with_strings_and_ordinals) {
  const DeviceMap map =
      DeviceMap::parse(R"({"model.layers.0": "cuda:0", "lm_head": "cpu", "": 1})");
  EXPECT_FALSE(map.is_automatic());
  EXPECT_EQ(map.lookup("model.layers.0.mlp.w"), kCuda0);
  EXPECT_EQ(map.lookup("lm_head"), kCpu0);
  EXPECT_EQ(map.lookup("lm_head.weight"), kCpu0);
  EXPECT_EQ(map.lookup("model.norm.weight"), kCuda1);
  const auto devices = map.devices();
  EXPECT_EQ(devices.size(), 3U);
}

TEST(DeviceMapParse, rejects_bad_json_and_bad_entries) {
  for (const char* text : {
           "{",                               // not JSON
           "[\"cpu\"]",                       // not an object
           "{} trailing",                     // junk after the object
           "{}",                              // no entries
           R"({"a": true})",                  // not a device
           R"({"a": -1})",                    // negative ordinal
           R"({"a": 1.5})",                   // fractional ordinal
           R"({"a": {"b": "cpu"}})",          // nested
           R"({"a": "tpu"})",                 // unknown device
           R"({"a": "cpu", "a": "cuda:0"})",  // a key twice
           "nonsense",                        // neither device, auto nor JSON
       }) {
    expect_parse_error(text, true);
  }
}

TEST(DeviceMapLookup, dotted_prefix_matches_whole_components_only) {
  const DeviceMap map = DeviceMap::from_rules({{"model.layers.1", kCuda1}, {"", kCpu0}});
  EXPECT_EQ(map.lookup("model.layers.1.mlp.w"), kCuda1);
  EXPECT_EQ(map.lookup("model.layers.1"), kCuda1);
  EXPECT_EQ(map.lookup("model.layers.10.mlp.w"), kCpu0);
  EXPECT_EQ(map.lookup("model.layers.1x"), kCpu0);
  EXPECT_EQ(map.lookup("model.layers"), kCpu0);
}

TEST(DeviceMapLookup, exact_name_beats_prefix_and_longest_prefix_wins) {
  const DeviceMap map = DeviceMap::from_rules(
      {{"model", kCuda0}, {"model.layers.1", kCuda1}, {"model.layers.1.mlp.w", kCpu1}});
  EXPECT_EQ(map.lookup("model.layers.1.mlp.w"), kCpu1);
  EXPECT_EQ(map.lookup("model.layers.1.mlp.b"), kCuda1);
  EXPECT_EQ(map.lookup("model.layers.2.w"), kCuda0);
  EXPECT_EQ(map.lookup("lm_head.weight"), std::nullopt) << "no rule and no \"\" default";
}

TEST(DeviceMapLookup, empty_key_is_the_default) {
  const DeviceMap map = DeviceMap::from_rules({{"", kCuda1}});
  EXPECT_EQ(map.lookup("a"), kCuda1);
  EXPECT_EQ(map.lookup("a.b.c"), kCuda1);
  EXPECT_EQ(map.lookup(""), kCuda1);
}

TEST(DeviceMapLookup, names_with_empty_components_are_reached_by_a_prefix_or_a_glob) {
  const DeviceMap map = DeviceMap::from_rules({{"a.*.b", kCuda1}, {"a", kCuda0}});
  EXPECT_EQ(map.lookup("a..b"), kCuda1);  // `*` matches the empty segment
  EXPECT_EQ(map.lookup("a..c"), kCuda0);
  EXPECT_EQ(map.lookup(".x"), std::nullopt);
}

TEST(DeviceMapLookup, key_with_a_trailing_dot_is_refused_naming_it) {
  try {
    static_cast<void>(DeviceMap::from_rules({{"a.", kCuda1}, {"a", kCuda0}}));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'a.'"), std::string::npos) << e.what();
  }
}

TEST(DeviceMapLookup, glob_keys_place_every_layer_and_exact_names_still_win) {
  const DeviceMap map = DeviceMap::parse(
      R"({"model.layers.*.mlp": "cuda:1", "model.layers.3.mlp.up": "cpu", "": "cuda:0"})");
  EXPECT_EQ(map.lookup("model.layers.7.mlp.up.weight"), kCuda1);
  EXPECT_EQ(map.lookup("model.layers.3.mlp.up.weight"), kCpu0);   // deeper literal prefix
  EXPECT_EQ(map.lookup("model.layers.7.attn.q.weight"), kCuda0);  // "" last
}

TEST(DeviceMapParse, ambiguous_glob_keys_are_refused_naming_both) {
  try {
    static_cast<void>(DeviceMap::parse(R"({"a.*.c": "cuda:0", "*.b.c": "cuda:1"})"));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'a.*.c'"), std::string::npos) << message;
    EXPECT_NE(message.find("'*.b.c'"), std::string::npos) << message;
    EXPECT_NE(message.find("device_map"), std::string::npos) << message;
  }
}

TEST(DeviceMap, default_map_is_cpu0_and_marked_default) {
  const DeviceMap map;
  EXPECT_TRUE(map.is_default());
  EXPECT_FALSE(map.is_automatic());
  EXPECT_EQ(map.lookup("x"), kCpu0);
  EXPECT_FALSE(DeviceMap(kCpu0).is_default()) << "an explicit cpu:0 is a choice";
  EXPECT_FALSE(DeviceMap::from_rules({{"", kCpu0}}).is_default());
}

TEST(DeviceMap, from_rules_requires_an_entry) {
  EXPECT_THROW(static_cast<void>(DeviceMap::from_rules({})), Error);
}

TEST(DeviceMap, devices_lists_each_target_once) {
  const DeviceMap map =
      DeviceMap::from_rules({{"a", kCuda0}, {"b", kCuda0}, {"c", kCpu0}, {"", kCuda0}});
  const auto devices = map.devices();
  EXPECT_EQ(devices.size(), 2U);
  EXPECT_NE(std::find(devices.begin(), devices.end(), kCuda0), devices.end());
  EXPECT_NE(std::find(devices.begin(), devices.end(), kCpu0), devices.end());
}

TEST(DeviceMap, automatic_keeps_devices_in_order_and_limits) {
  const DeviceMap map = DeviceMap::automatic({kCuda1, kCuda0, kCpu0}, {{kCuda1, 1000}});
  EXPECT_TRUE(map.is_automatic());
  EXPECT_EQ(map.devices(), (std::vector<Device>{kCuda1, kCuda0, kCpu0}));
  EXPECT_EQ(map.max_memory().at(kCuda1), 1000U);
  EXPECT_EQ(map.max_memory().count(kCuda0), 0U);
}

TEST(Device, orders_cpu_before_cuda_then_by_index) {
  EXPECT_LT(kCpu0, kCpu1);
  EXPECT_LT(kCpu1, kCuda0);
  EXPECT_LT(kCuda0, kCuda1);
  EXPECT_NE(kCpu0, kCuda0);
}

}  // namespace
}  // namespace stload
