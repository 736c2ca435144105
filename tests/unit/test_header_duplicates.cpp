// Format rule 3: a key twice is InvalidHeaderDeserialization in every object the header defines
// (root, tensor, __metadata__). Stricter than the reference code, whose maps keep the last value: a
// duplicate makes the file mean different things to different readers.
#include <gtest/gtest.h>

#include <string>

#include "header_test_util.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using testing::entry;
using testing::make_raw;
using testing::object;
using testing::rejects;

constexpr ErrorCode kBadJson = ErrorCode::InvalidHeaderDeserialization;

TEST(HeaderDuplicates, rejects_duplicate_tensor_names) {
  // Both declarations are valid on their own and tile the data, so only the duplicate is wrong.
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[2]", "[0,2]"), entry("a", "U8", "[2]", "[2,4]")}), 4),
      kBadJson, "duplicate key 'a'"));
}

TEST(HeaderDuplicates, rejects_duplicate_tensor_names_far_apart) {
  EXPECT_TRUE(
      rejects(make_raw(object({entry("w", "U8", "[1]", "[0,1]"), entry("b", "U8", "[1]", "[1,2]"),
                               entry("w", "U8", "[1]", "[2,3]")}),
                       3),
              kBadJson, "duplicate key 'w'"));
}

TEST(HeaderDuplicates, rejects_names_equal_after_unescaping) {
  // "a" and "\u0061" are the same key.
  EXPECT_TRUE(rejects(
      make_raw(object({entry("a", "U8", "[1]", "[0,1]"), entry(R"(\u0061)", "U8", "[1]", "[1,2]")}),
               2),
      kBadJson, "duplicate key 'a'"));
}

TEST(HeaderDuplicates, rejects_duplicate_dtype_field) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"dtype":"I8"}})", 1),
              kBadJson, "duplicate key 'dtype'"));
}

TEST(HeaderDuplicates, rejects_duplicate_shape_field) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"a":{"dtype":"U8","shape":[1],"shape":[1],"data_offsets":[0,1]}})", 1),
              kBadJson, "duplicate key 'shape'"));
}

TEST(HeaderDuplicates, rejects_duplicate_data_offsets_field) {
  EXPECT_TRUE(rejects(
      make_raw(R"({"a":{"data_offsets":[0,1],"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1),
      kBadJson, "duplicate key 'data_offsets'"));
}

TEST(HeaderDuplicates, duplicate_field_message_names_the_tensor) {
  EXPECT_TRUE(rejects(
      make_raw(R"({"emb":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1),
      kBadJson, "'emb'"));
}

TEST(HeaderDuplicates, rejects_duplicate_unknown_field_in_a_tensor) {
  EXPECT_TRUE(
      rejects(make_raw(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1,"x":2}})", 1),
              kBadJson, "duplicate key 'x'"));
}

TEST(HeaderDuplicates, rejects_two_metadata_objects) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":{"a":"1"},"__metadata__":{"b":"2"}})", 0),
                      kBadJson, "duplicate key '__metadata__'"));
}

TEST(HeaderDuplicates, rejects_null_metadata_followed_by_metadata) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":null,"__metadata__":{"b":"2"}})", 0), kBadJson,
                      "duplicate key '__metadata__'"));
}

TEST(HeaderDuplicates, rejects_duplicate_metadata_entry) {
  EXPECT_TRUE(rejects(make_raw(R"({"__metadata__":{"k":"1","j":"2","k":"1"}})", 0), kBadJson,
                      "duplicate key 'k'"));
}

TEST(HeaderDuplicates, accepts_the_same_key_in_different_objects) {
  // "dtype" as a metadata key, a tensor name and a field: three objects, no duplicate.
  EXPECT_NO_THROW((void)parse_header(make_raw(
      "{\"__metadata__\":{\"dtype\":\"x\"}," + entry("dtype", "U8", "[1]", "[0,1]") + "}", 1)));
}

}  // namespace
}  // namespace stload
