// The 22 dtypes: header names, bit sizes (DESIGN.md format rule 7), and name parsing.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "stload/dtype.hpp"

namespace stload {
namespace {

// Rule 7, written out independently of the library's switch so that a wrong entry there shows.
const std::map<std::string, std::uint32_t> kRuleSevenBits = {
    {"BOOL", 8},        {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},
    {"I8", 8},          {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
    {"F8_E5M2FNUZ", 8}, {"I16", 16},    {"U16", 16},    {"F16", 16},    {"BF16", 16},
    {"I32", 32},        {"U32", 32},    {"F32", 32},    {"C64", 64},    {"F64", 64},
    {"I64", 64},        {"U64", 64}};

TEST(Dtype, all_dtypes_lists_22_distinct_dtypes) {
  const std::set<Dtype> distinct(kAllDtypes.begin(), kAllDtypes.end());
  EXPECT_EQ(distinct.size(), 22U);
}

TEST(Dtype, names_are_the_format_spellings) {
  std::set<std::string> names;
  for (const Dtype dtype : kAllDtypes) names.emplace(to_string(dtype));
  std::set<std::string> expected;
  for (const auto& [name, bits] : kRuleSevenBits) expected.insert(name);
  EXPECT_EQ(names, expected);
}

TEST(Dtype, names_round_trip) {
  for (const Dtype dtype : kAllDtypes) {
    EXPECT_EQ(dtype_from_string(to_string(dtype)), dtype) << to_string(dtype);
  }
}

TEST(Dtype, bit_sizes_follow_format_rule_7) {
  for (const Dtype dtype : kAllDtypes) {
    const std::string name(to_string(dtype));
    ASSERT_TRUE(kRuleSevenBits.contains(name)) << name;
    EXPECT_EQ(bit_size(dtype), kRuleSevenBits.at(name)) << name;
  }
}

TEST(Dtype, rejects_unknown_names) {
  for (const char* name : {"", "F128", "FP32", "f32", "bf16", "Bool", "F8", "F6", "C128", "U8 ",
                           " U8", "F8_E4M3FN", "I4", "U1"}) {
    EXPECT_EQ(dtype_from_string(name), std::nullopt) << '"' << name << '"';
  }
}

TEST(Dtype, rejects_names_with_embedded_nul) {
  EXPECT_EQ(dtype_from_string(std::string_view("U8\0", 3)), std::nullopt);
  EXPECT_EQ(dtype_from_string(std::string_view("F16\0x", 5)), std::nullopt);
}

}  // namespace
}  // namespace stload
