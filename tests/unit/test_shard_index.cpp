// The index file itself: its JSON must be exactly a weight_map object of tensor -> shard file name,
// and each name must be a plain file name beside the index.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "checkpoint_impl.hpp"
#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::throws_error;

// Two shards on disk: s1.safetensors holds a and b, s2.safetensors holds c.
class ShardIndexFixture {
 protected:
  ShardIndexFixture() {
    dir_.write("s1.safetensors", make_safetensors({{"a", "U8", {1}, pattern_bytes(1, 1)},
                                                   {"b", "U8", {2}, pattern_bytes(2, 2)}}));
    dir_.write("s2.safetensors", make_safetensors({{"c", "U8", {3}, pattern_bytes(3, 3)}}));
  }
  fs::path write_index(const std::string& text) const {
    return dir_.write_text("model.safetensors.index.json", text);
  }
  TempDir dir_;
};

class ShardIndex : public ShardIndexFixture, public ::testing::Test {};

TEST_F(ShardIndex, lists_shards_in_name_order_with_their_tensors) {
  const auto index = write_index(
      R"({"metadata":{"total_size":6},"weight_map":{"c":"s2.safetensors","b":"s1.safetensors","a":"s1.safetensors"}})");
  const detail::ShardIndex parsed = detail::read_shard_index(index);
  ASSERT_EQ(parsed.shards.size(), 2U);
  ASSERT_EQ(parsed.tensors.size(), 2U);
  EXPECT_EQ(parsed.shards[0], dir_.path() / "s1.safetensors");  // as named, not resolved
  EXPECT_EQ(parsed.shards[1], dir_.path() / "s2.safetensors");
  EXPECT_EQ(parsed.tensors[0], (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(parsed.tensors[1], (std::vector<std::string>{"c"}));
}

TEST_F(ShardIndex, keeps_the_scalar_members_of_metadata_as_their_text) {
  const auto index = write_index(
      R"({"metadata":{"total_size":6,"note":"caf\u00e9","ok":true,"none":null,"neg":-1.5e3,)"
      R"("nested":{"x":1},"list":[1,2]},)"
      R"("weight_map":{"c":"s2.safetensors","b":"s1.safetensors","a":"s1.safetensors"}})");
  const Checkpoint checkpoint = Checkpoint::open(index);
  const std::map<std::string, std::string> expected{{"total_size", "6"},
                                                    {"note", "caf\xc3\xa9"},
                                                    {"ok", "true"},
                                                    {"none", "null"},
                                                    {"neg", "-1.5e3"}};
  EXPECT_EQ(checkpoint.index_metadata(), expected);
  EXPECT_TRUE(Checkpoint::open(dir_.path() / "s1.safetensors").index_metadata().empty());
}

TEST_F(ShardIndex, tolerates_whitespace_around_the_object) {
  const auto index = write_index(
      " \r\n\t{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2."
      "safetensors\"}} \n\n");
  EXPECT_EQ(Checkpoint::open(index).tensors().size(), 3U);
}

TEST_F(ShardIndex, survives_deeply_nested_metadata) {
  // The index is parsed iteratively: depth costs heap, never C++ stack.
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  const auto index =
      write_index("{\"metadata\":" + deep +
                  ",\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\","
                  "\"c\":\"s2.safetensors\"}}");
  EXPECT_EQ(Checkpoint::open(index).tensors().size(), 3U);
}

// Each malformed index must be refused as InvalidIndex, naming the index file.
struct BadIndex {
  const char* name;
  std::string text;
};
void PrintTo(const BadIndex& bad, std::ostream* out) {
  *out << bad.name;
}

class ShardIndexRejects : public ShardIndexFixture, public ::testing::TestWithParam<BadIndex> {};

TEST_P(ShardIndexRejects, as_invalid_index_naming_the_index) {
  const auto index = write_index(GetParam().text);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {index.string()}));
}

const std::string kGoodMap = R"({"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"})";
std::string with_map(const std::string& map) {
  return "{\"weight_map\":" + map + "}";
}

INSTANTIATE_TEST_SUITE_P(
    MalformedJson, ShardIndexRejects,
    ::testing::Values(BadIndex{"empty_file", ""}, BadIndex{"whitespace_only", "  \n"},
                      BadIndex{"truncated", R"({"weight_map":{"a":"s1.safetensors")"},
                      BadIndex{"single_quotes", R"({'weight_map':{}})"},
                      BadIndex{"trailing_comma", R"({"weight_map":{"a":"s1.safetensors",}})"},
                      BadIndex{"comment", "// index\n" + with_map(kGoodMap)},
                      BadIndex{"trailing_garbage", with_map(kGoodMap) + " x"},
                      BadIndex{"second_object", with_map(kGoodMap) + "{}"},
                      BadIndex{"trailing_comma_after_root", with_map(kGoodMap) + ","},
                      BadIndex{"trailing_nul", with_map(kGoodMap) + std::string(1, '\0')}),
    [](const ::testing::TestParamInfo<BadIndex>& param) { return std::string(param.param.name); });

INSTANTIATE_TEST_SUITE_P(
    WrongShape, ShardIndexRejects,
    ::testing::Values(
        BadIndex{"array_root", "[" + with_map(kGoodMap) + "]"},
        BadIndex{"string_root", R"("s1.safetensors")"}, BadIndex{"number_root", "42"},
        BadIndex{"null_root", "null"},
        BadIndex{"no_weight_map", R"({"metadata":{"total_size":6}})"},
        BadIndex{"misspelled_weight_map", R"({"weightmap":{"a":"s1.safetensors"}})"},
        BadIndex{"weight_map_array", with_map(R"(["s1.safetensors"])")},
        BadIndex{"weight_map_string", with_map(R"("s1.safetensors")")},
        BadIndex{"weight_map_null", with_map("null")}, BadIndex{"empty_weight_map", with_map("{}")},
        BadIndex{"metadata_key_twice",
                 R"({"metadata":{"total_size":6,"total_size":7},)" + with_map(kGoodMap).substr(1)},
        BadIndex{"weight_map_twice", R"({"weight_map":{"a":"s1.safetensors"},)"
                                     R"("weight_map":{"c":"s2.safetensors"}})"},
        BadIndex{"value_number", with_map(R"({"a":1})")},
        BadIndex{"value_null", with_map(R"({"a":null})")},
        BadIndex{"value_bool", with_map(R"({"a":true})")},
        BadIndex{"value_array", with_map(R"({"a":["s1.safetensors"]})")},
        BadIndex{"value_object", with_map(R"({"a":{"file":"s1.safetensors"}})")},
        BadIndex{"duplicate_tensor", with_map(R"({"a":"s1.safetensors","b":"s1.safetensors",)"
                                              R"("c":"s2.safetensors","a":"s1.safetensors"})")}),
    [](const ::testing::TestParamInfo<BadIndex>& param) { return std::string(param.param.name); });

INSTANTIATE_TEST_SUITE_P(
    NotUtf8, ShardIndexRejects,
    ::testing::Values(BadIndex{"invalid_byte_in_key", with_map("{\"a\xff\":\"s1.safetensors\"}")},
                      BadIndex{"invalid_byte_in_metadata",
                               "{\"metadata\":{\"note\":\"\xc3\"}," + with_map(kGoodMap).substr(1)},
                      BadIndex{"overlong_slash", with_map("{\"a\":\"\xc0\xafs1.safetensors\"}")},
                      BadIndex{"surrogate", with_map("{\"a\xed\xa0\x80\":\"s1.safetensors\"}")},
                      BadIndex{"latin1_name", with_map("{\"caf\xe9\":\"s1.safetensors\"}")}),
    [](const ::testing::TestParamInfo<BadIndex>& param) { return std::string(param.param.name); });

INSTANTIATE_TEST_SUITE_P(
    ShardNames, ShardIndexRejects,
    ::testing::Values(
        BadIndex{"empty_name", with_map(R"({"a":"","b":"s1.safetensors","c":"s2.safetensors"})")},
        BadIndex{"parent_directory", with_map(R"({"a":"../s1.safetensors"})")},
        BadIndex{"parent_inside_path",
                 with_map(R"({"a":"sub/../s1.safetensors","b":"s1.safetensors"})")},
        BadIndex{"dot_dot_alone", with_map(R"({"a":".."})")},
        BadIndex{"absolute_etc", with_map(R"({"a":"/etc/passwd"})")},
        BadIndex{"absolute_root", with_map(R"({"a":"/"})")},
        BadIndex{"nul_in_name", with_map(R"({"a":"s1.safetensors\u0000x","b":"s1.safetensors",)"
                                         R"("c":"s2.safetensors"})")},
        BadIndex{"directory_itself", with_map(R"({"a":"."})")},
        BadIndex{"same_file_twice", with_map(R"({"a":"s1.safetensors","b":"./s1.safetensors",)"
                                             R"("c":"s2.safetensors"})")},
        BadIndex{"same_file_via_double_slash",
                 with_map(R"({"a":"s1.safetensors","b":".//s1.safetensors",)"
                          R"("c":"s2.safetensors"})")}),
    [](const ::testing::TestParamInfo<BadIndex>& param) { return std::string(param.param.name); });

TEST_F(ShardIndex, absolute_path_to_a_real_shard_is_invalid_index) {
  // Even pointing at the right file: the index must not choose where files come from.
  const std::string absolute = fs::canonical(dir_.path() / "s1.safetensors").string();
  const auto index = write_index(with_map(R"({"a":)" + testing::json_quote(absolute) +
                                          R"(,"b":"s1.safetensors","c":"s2.safetensors"})"));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {absolute, "relative"}));
}

TEST_F(ShardIndex, parent_reference_is_refused_before_touching_the_file_system) {
  // "../" names a file that exists: the refusal must come from the name, not from a failed lookup.
  TempDir outer;
  const auto nested = outer.path() / "model";
  fs::create_directory(nested);
  outer.write("s1.safetensors", make_safetensors({{"a", "U8", {1}, pattern_bytes(1, 1)}}));
  const auto index = outer.write_text("model/model.safetensors.index.json",
                                      with_map(R"({"a":"../s1.safetensors"})"));
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex, {"'..'"}));
}

TEST_F(ShardIndex, index_over_the_size_limit_is_refused_without_reading_it) {
  // A sparse file: the size check must come before any parsing.
  const auto index = dir_.path() / "model.safetensors.index.json";
  dir_.write_text("model.safetensors.index.json", "{");
  fs::resize_file(index, (1ULL << 30U) + 1);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {index.string(), "limit"}));
}

}  // namespace
}  // namespace stload
