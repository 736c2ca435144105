// A sharded Checkpoint opened through model.safetensors.index.json: the weight_map must agree with
// the shards, each shard is named by a plain file name beside the index, and what that name is on
// disk (a symlink to anywhere, as in a Hugging Face hub cache) is followed.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::json_quote;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;
using testing::throws_error;

using WeightMap =
    std::vector<std::pair<std::string, std::string>>;  // in JSON order, repeats allowed

const std::string kShard1 = "model-00001-of-00002.safetensors";
const std::string kShard2 = "model-00002-of-00002.safetensors";
const std::string kIndex = "model.safetensors.index.json";

std::string index_json(const WeightMap& map, std::uint64_t total_size) {
  std::string text = "{\n  \"metadata\": {\"total_size\": " + std::to_string(total_size) +
                     "},\n  \"weight_map\": {";
  for (std::size_t i = 0; i < map.size(); ++i) {
    text +=
        (i ? ",\n    " : "\n    ") + json_quote(map[i].first) + ": " + json_quote(map[i].second);
  }
  return text + "\n  }\n}\n";
}

class CheckpointIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    shard1_ = {{"a", "F32", {1}, pattern_bytes(4, 1)}, {"b", "U8", {8}, pattern_bytes(8, 2)}};
    shard2_ = {{"c", "BF16", {1}, pattern_bytes(2, 3)}};
    dir_.write(kShard1, make_safetensors(shard1_));
    dir_.write(kShard2, make_safetensors(shard2_));
  }

  fs::path write_index(const WeightMap& map, const std::string& name = kIndex) const {
    return dir_.write_text(name, index_json(map, 14));
  }
  static WeightMap standard_map() { return {{"a", kShard1}, {"b", kShard1}, {"c", kShard2}}; }
  // A shard's path as the user sees it: the index's directory joined with the shard's name.
  fs::path shard_path(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
  std::vector<TestTensor> shard1_;
  std::vector<TestTensor> shard2_;
};

TEST_F(CheckpointIndex, opens_the_index_file_and_every_shard) {
  const fs::path index = write_index(standard_map());
  const Checkpoint ckpt = Checkpoint::open(index);
  ASSERT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.files()[0].path, shard_path(kShard1));
  EXPECT_EQ(ckpt.files()[1].path, shard_path(kShard2));
  EXPECT_TRUE(ckpt.files()[0].path.is_absolute());
  ASSERT_EQ(ckpt.tensors().size(), 3U);
  EXPECT_EQ(ckpt.at("a").file, 0U);
  EXPECT_EQ(ckpt.at("b").file, 0U);
  EXPECT_EQ(ckpt.at("c").file, 1U);
  EXPECT_EQ(ckpt.total_bytes(), 14U);
  for (const auto* tensors : {&shard1_, &shard2_}) {
    for (const TestTensor& t : *tensors) {
      const auto bytes = ckpt.tensor_bytes(ckpt.at(t.name));
      EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), t.data.begin(), t.data.end())) << t.name;
    }
  }
}

TEST_F(CheckpointIndex, opening_the_directory_uses_its_index) {
  write_index(standard_map());
  // Not in the weight_map: a directory scan would load it, the index does not.
  dir_.write("stray.safetensors", make_safetensors({{"z", "U8", {1}, pattern_bytes(1, 9)}}));
  const Checkpoint ckpt = Checkpoint::open(dir_.path());
  EXPECT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.tensors().size(), 3U);
  EXPECT_EQ(ckpt.find("z"), nullptr);
  EXPECT_NE(ckpt.find("c"), nullptr);
}

TEST_F(CheckpointIndex, shards_are_in_file_name_order_whatever_the_weight_map_order) {
  const fs::path index = write_index({{"c", kShard2}, {"a", kShard1}, {"b", kShard1}});
  const Checkpoint ckpt = Checkpoint::open(index);
  ASSERT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.files()[0].path, shard_path(kShard1));
  EXPECT_EQ(ckpt.files()[1].path, shard_path(kShard2));
  EXPECT_EQ(ckpt.tensors()[0].info.name, "a");
  EXPECT_EQ(ckpt.at("c").file, 1U);
}

TEST_F(CheckpointIndex, accepts_a_relative_index_path_with_absolute_shard_paths) {
  write_index(standard_map());
  const fs::path relative = fs::relative(dir_.path() / kIndex);
  ASSERT_TRUE(relative.is_relative());
  const Checkpoint ckpt = Checkpoint::open(relative);
  EXPECT_TRUE(ckpt.files()[ckpt.at("c").file].path.is_absolute());
  EXPECT_TRUE(fs::equivalent(ckpt.files()[ckpt.at("c").file].path, shard_path(kShard2)));
}

TEST_F(CheckpointIndex, shard_name_with_a_subdirectory_is_invalid_index) {
  // The name is the boundary: a plain file name beside the index, never a path.
  dir_.write("shards/" + kShard2, make_safetensors(shard2_));
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "shards/" + kShard2}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {"shards/" + kShard2, "plain file name", index.string()}));
}

TEST_F(CheckpointIndex, shard_name_with_a_backslash_is_invalid_index) {
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "shards\\" + kShard2}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {"plain file name", index.string()}));
}

TEST_F(CheckpointIndex, mapped_tensor_absent_from_every_shard_is_invalid_index) {
  WeightMap map = standard_map();
  map.emplace_back("ghost", kShard1);
  const fs::path index = write_index(map);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {"ghost", index.string(), kShard1}));
}

TEST_F(CheckpointIndex, tensor_mapped_to_the_wrong_shard_is_invalid_index) {
  const fs::path index = write_index({{"a", kShard2}, {"b", kShard1}, {"c", kShard2}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {"'a'", index.string(), kShard2}));
}

TEST_F(CheckpointIndex, tensor_in_two_shards_is_invalid_index_naming_both) {
  dir_.write(kShard2, make_safetensors({shard2_[0], {"a", "F32", {1}, pattern_bytes(4, 5)}}));
  const fs::path index = write_index(standard_map());
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {"'a'", kShard1, kShard2}));
}

TEST_F(CheckpointIndex, tensor_listed_twice_in_weight_map_is_invalid_index) {
  const fs::path index =
      write_index({{"a", kShard1}, {"b", kShard1}, {"c", kShard2}, {"a", kShard1}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {"'a'", "twice", index.string()}));
}

TEST_F(CheckpointIndex, missing_shard_is_not_found_naming_it) {
  const fs::path index =
      write_index({{"a", kShard1}, {"b", kShard1}, {"c", "model-00003.safetensors"}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::NotFound,
                           {"model-00003.safetensors", index.string()}));
}

TEST_F(CheckpointIndex, shard_that_is_a_directory_is_io_error) {
  fs::create_directory(dir_.path() / "folder.safetensors");
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "folder.safetensors"}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::Io,
                           {"folder.safetensors", index.string()}));
}

TEST_F(CheckpointIndex, shard_that_is_a_fifo_is_io_error_without_blocking) {
  const fs::path fifo = dir_.path() / "pipe.safetensors";
  testing::make_fifo(fifo);
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "pipe.safetensors"}});
  EXPECT_TRUE(testing::completes_without_blocking_on_fifo(fifo, [&] {
    EXPECT_TRUE(
        throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::Io, {"pipe.safetensors"}));
  }));
}

TEST_F(CheckpointIndex, index_that_is_a_fifo_is_io_error_without_blocking) {
  const fs::path fifo = dir_.path() / "pipe.safetensors.index.json";
  testing::make_fifo(fifo);
  EXPECT_TRUE(testing::completes_without_blocking_on_fifo(fifo, [&] {
    EXPECT_TRUE(
        throws_error([&] { (void)Checkpoint::open(fifo); }, ErrorCode::Io, {fifo.string()}));
  }));
}

TEST_F(CheckpointIndex, shard_symlink_leading_outside_the_directory_loads) {
  // A symlink the user's directory holds may point anywhere: the index only chose the name.
  TempDir outside;
  const fs::path target = outside.write("elsewhere.safetensors", make_safetensors(shard2_));
  fs::create_symlink(target, dir_.path() / "link.safetensors");
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "link.safetensors"}});
  const Checkpoint ckpt = Checkpoint::open(index);
  const FileInfo& file = ckpt.files()[ckpt.at("c").file];
  EXPECT_EQ(file.path, shard_path("link.safetensors"));
  EXPECT_EQ(file.target, fs::canonical(target));
  const auto bytes = ckpt.tensor_bytes(ckpt.at("c"));
  EXPECT_TRUE(
      std::equal(bytes.begin(), bytes.end(), shard2_[0].data.begin(), shard2_[0].data.end()));
}

TEST_F(CheckpointIndex, relative_symlink_climbing_out_of_the_directory_loads) {
  // The checkpoint lives in a subdirectory; the link climbs to its parent, as a hub snapshot's
  // ../../blobs/<sha256> links do.
  dir_.write("model/" + kShard1, make_safetensors(shard1_));
  fs::create_symlink("../" + kShard2, dir_.path() / "model" / kShard2);
  const fs::path index = dir_.write_text("model/" + kIndex, index_json(standard_map(), 14));
  const Checkpoint ckpt = Checkpoint::open(index);
  EXPECT_EQ(ckpt.files()[ckpt.at("c").file].path, dir_.path() / "model" / kShard2);
  EXPECT_EQ(ckpt.files()[ckpt.at("c").file].target, fs::canonical(dir_.path() / kShard2));
  EXPECT_TRUE(ckpt.files()[ckpt.at("a").file].target.empty());
}

TEST_F(CheckpointIndex, symlink_to_a_file_inside_the_directory_keeps_the_linked_name) {
  dir_.write("blobs/real-shard", make_safetensors(shard2_));
  fs::create_symlink("blobs/real-shard", dir_.path() / "linked.safetensors");
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "linked.safetensors"}});
  const Checkpoint ckpt = Checkpoint::open(index);
  ASSERT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.files()[ckpt.at("c").file].path, shard_path("linked.safetensors"));
  EXPECT_EQ(ckpt.files()[ckpt.at("c").file].target,
            fs::canonical(dir_.path() / "blobs/real-shard"));
  const auto bytes = ckpt.tensor_bytes(ckpt.at("c"));
  EXPECT_TRUE(
      std::equal(bytes.begin(), bytes.end(), shard2_[0].data.begin(), shard2_[0].data.end()));
}

TEST_F(CheckpointIndex, bad_header_behind_a_symlink_names_the_link_and_its_target) {
  TempDir blobs;
  const fs::path blob = blobs.write("0123abcd", std::vector<std::byte>(4, std::byte{0}));
  fs::create_symlink(blob, dir_.path() / "linked.safetensors");
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "linked.safetensors"}});
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::HeaderTooSmall,
                   {shard_path("linked.safetensors").string(), fs::canonical(blob).string()}));
}

TEST_F(CheckpointIndex, dangling_shard_symlink_is_not_found_naming_link_and_target) {
  fs::create_symlink("../../blobs/feedbeef", dir_.path() / "gone.safetensors");
  const fs::path index = write_index({{"a", kShard1}, {"b", kShard1}, {"c", "gone.safetensors"}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::NotFound,
                           {"gone.safetensors", "dangling symlink", "../../blobs/feedbeef"}));
}

TEST_F(CheckpointIndex, index_that_is_a_symlink_describes_the_shards_beside_the_link) {
  // A Hugging Face cache snapshot: the index is a link into a blob store, the shards sit beside
  // the link, not beside its target.
  TempDir blobs;
  const fs::path target = blobs.write_text("index-blob", index_json(standard_map(), 14));
  fs::create_symlink(target, dir_.path() / kIndex);
  const Checkpoint ckpt = Checkpoint::open(dir_.path() / kIndex);
  ASSERT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.files()[0].path, shard_path(kShard1));
  EXPECT_EQ(ckpt.files()[1].path, shard_path(kShard2));
}

TEST_F(CheckpointIndex, two_names_for_one_file_are_invalid_index) {
  const fs::path index = write_index({{"a", kShard1}, {"b", "./" + kShard1}, {"c", kShard2}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {kShard1, index.string()}));
}

TEST_F(CheckpointIndex, symlink_alias_of_another_shard_is_invalid_index) {
  fs::create_symlink(kShard1, dir_.path() / "alias.safetensors");
  const fs::path index = write_index({{"a", kShard1}, {"b", "alias.safetensors"}, {"c", kShard2}});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex,
                           {kShard1, "alias.safetensors", "named twice", index.string()}));
}

TEST_F(CheckpointIndex, bad_shard_header_fails_with_its_format_code_naming_the_shard) {
  dir_.write(kShard2, std::vector<std::byte>(4, std::byte{0}));
  const fs::path index = write_index(standard_map());
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::HeaderTooSmall, {kShard2}));
}

TEST_F(CheckpointIndex, index_without_metadata_is_accepted) {
  const fs::path index = dir_.write_text(kIndex, "{\"weight_map\":{\"a\":" + json_quote(kShard1) +
                                                     ",\"b\":" + json_quote(kShard1) +
                                                     ",\"c\":" + json_quote(kShard2) + "}}");
  EXPECT_EQ(Checkpoint::open(index).tensors().size(), 3U);
}

TEST_F(CheckpointIndex, index_with_any_name_ending_in_index_json_is_an_index) {
  const fs::path index = write_index(standard_map(), "weights.index.json");
  EXPECT_EQ(Checkpoint::open(index).files().size(), 2U);
}

}  // namespace
}  // namespace stload
