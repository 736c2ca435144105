// Which files a directory stands for (DESIGN rule 9): never a silent choice of data. A single file
// beside its index wins, as in transformers, and says so; unrelated files are refused unless a
// merge is asked for; one complete shard set merges without an index; dangling links are named.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

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

std::vector<std::byte> one_tensor(const std::string& name, std::uint32_t seed) {
  return make_safetensors({{name, "U8", {4}, pattern_bytes(4, seed)}});
}

bool any_note_says(const Checkpoint& ckpt, const std::vector<std::string>& needles) {
  for (const std::string& note : ckpt.notes()) {
    bool all = true;
    for (const std::string& needle : needles) all = all && note.find(needle) != std::string::npos;
    if (all) return true;
  }
  return false;
}

Checkpoint open_merged(const fs::path& path) {
  OpenOptions options;
  options.merge = true;
  return Checkpoint::open(path, options);
}

class CheckpointChoice : public ::testing::Test {
 protected:
  void write_sharded() const {
    dir_.write("model-00001-of-00002.safetensors", one_tensor("sharded.a", 1));
    dir_.write("model-00002-of-00002.safetensors", one_tensor("sharded.b", 2));
    dir_.write_text("model.safetensors.index.json",
                    R"({"weight_map":{"sharded.a":"model-00001-of-00002.safetensors",)"
                    R"("sharded.b":"model-00002-of-00002.safetensors"}})");
  }
  TempDir dir_;
};

TEST_F(CheckpointChoice, single_file_beside_its_index_wins_and_says_so) {
  write_sharded();
  dir_.write("model.safetensors", one_tensor("single", 3));
  const Checkpoint ckpt = Checkpoint::open(dir_.path());
  ASSERT_EQ(ckpt.files().size(), 1U);
  EXPECT_EQ(ckpt.files()[0].path, dir_.path() / "model.safetensors");
  EXPECT_NE(ckpt.find("single"), nullptr);
  EXPECT_EQ(ckpt.find("sharded.a"), nullptr);
  EXPECT_TRUE(any_note_says(ckpt, {"model.safetensors", "model.safetensors.index.json",
                                   "transformers", dir_.path().string()}));
}

TEST_F(CheckpointChoice, the_index_opened_by_name_loads_its_shards_without_a_note) {
  write_sharded();
  dir_.write("model.safetensors", one_tensor("single", 3));
  const Checkpoint ckpt = Checkpoint::open(dir_.path() / "model.safetensors.index.json");
  EXPECT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.find("single"), nullptr);
  EXPECT_TRUE(ckpt.notes().empty());
}

TEST_F(CheckpointChoice, files_the_index_leaves_out_are_named_in_a_note) {
  write_sharded();
  dir_.write("consolidated.safetensors", one_tensor("other", 4));
  const Checkpoint ckpt = Checkpoint::open(dir_.path());
  EXPECT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.find("other"), nullptr);
  EXPECT_TRUE(any_note_says(ckpt, {"not loading consolidated.safetensors", "index"}));
}

TEST_F(CheckpointChoice, unrelated_files_without_an_index_are_refused_naming_them) {
  dir_.write("model.safetensors", one_tensor("base", 1));
  dir_.write("adapter_model.safetensors", one_tensor("lora", 2));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::InvalidArgument,
                           {dir_.path().string(), "model.safetensors", "adapter_model.safetensors",
                            "open one of the files", "--merge"}));
}

TEST_F(CheckpointChoice, unrelated_files_merge_when_asked_and_say_so) {
  dir_.write("model.safetensors", one_tensor("base", 1));
  dir_.write("adapter_model.safetensors", one_tensor("lora", 2));
  const Checkpoint ckpt = open_merged(dir_.path());
  EXPECT_EQ(ckpt.files().size(), 2U);
  EXPECT_NE(ckpt.find("base"), nullptr);
  EXPECT_NE(ckpt.find("lora"), nullptr);
  EXPECT_TRUE(any_note_says(ckpt, {"merging 2 files as asked", "adapter_model.safetensors"}));
}

TEST_F(CheckpointChoice, one_complete_shard_set_without_an_index_merges_with_a_note) {
  for (int i = 1; i <= 3; ++i) {
    dir_.write("model.fp16-0000" + std::to_string(i) + "-of-00003.safetensors",
               one_tensor("t" + std::to_string(i), static_cast<std::uint32_t>(i)));
  }
  const Checkpoint ckpt = Checkpoint::open(dir_.path());
  EXPECT_EQ(ckpt.files().size(), 3U);
  EXPECT_EQ(ckpt.tensors().size(), 3U);
  EXPECT_TRUE(any_note_says(ckpt, {"no index", "model.fp16-*-of-00003.safetensors"}));
}

TEST_F(CheckpointChoice, incomplete_shard_set_is_refused_naming_the_missing_shard) {
  dir_.write("model-00001-of-00003.safetensors", one_tensor("a", 1));
  dir_.write("model-00003-of-00003.safetensors", one_tensor("c", 3));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::InvalidArgument,
                           {"incomplete", "no shard 2", "--merge"}));
  EXPECT_EQ(open_merged(dir_.path()).files().size(), 2U);
}

TEST_F(CheckpointChoice, lone_shard_of_a_larger_set_is_refused) {
  dir_.write("model-00001-of-00002.safetensors", one_tensor("a", 1));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::InvalidArgument,
                           {"incomplete", "no shard 2"}));
  // The file itself, named by the caller, is no choice of stload's.
  EXPECT_EQ(Checkpoint::open(dir_.path() / "model-00001-of-00002.safetensors").files().size(), 1U);
}

TEST_F(CheckpointChoice, two_shard_sets_are_not_one) {
  dir_.write("model-00001-of-00001.safetensors", one_tensor("a", 1));
  dir_.write("other-00001-of-00001.safetensors", one_tensor("b", 2));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::InvalidArgument,
                           {"not one shard set"}));
}

TEST_F(CheckpointChoice, shard_names_with_different_totals_are_not_one_set) {
  dir_.write("model-00001-of-00002.safetensors", one_tensor("a", 1));
  dir_.write("model-00002-of-00003.safetensors", one_tensor("b", 2));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::InvalidArgument,
                           {"not one shard set"}));
}

TEST_F(CheckpointChoice, hostile_shard_total_is_not_a_shard_set) {
  // "-of-999999999" must not size a table of missing shards: such names are no shard set.
  dir_.write("model-00001-of-999999999.safetensors", one_tensor("a", 1));
  dir_.write("model-00002-of-999999999.safetensors", one_tensor("b", 2));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::InvalidArgument,
                           {"not one shard set"}));
}

TEST_F(CheckpointChoice, dangling_symlink_in_a_directory_names_link_and_target) {
  dir_.write("model-00001-of-00002.safetensors", one_tensor("a", 1));
  const fs::path link = dir_.path() / "model-00002-of-00002.safetensors";
  fs::create_symlink("../../blobs/0badc0de", link);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::NotFound,
                           {link.string(), "dangling symlink", "../../blobs/0badc0de"}));
}

TEST_F(CheckpointChoice, directory_of_only_a_dangling_symlink_is_not_no_files) {
  const fs::path link = dir_.path() / "model.safetensors";
  fs::create_symlink("gone-blob", link);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::NotFound,
                           {link.string(), "dangling symlink", "gone-blob"}));
}

TEST_F(CheckpointChoice, dangling_index_symlink_is_reported_as_such) {
  dir_.write("model-00001-of-00001.safetensors", one_tensor("a", 1));
  const fs::path link = dir_.path() / "model.safetensors.index.json";
  fs::create_symlink("../../blobs/1ndex", link);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir_.path()); }, ErrorCode::NotFound,
                           {link.string(), "dangling symlink"}));
}

TEST_F(CheckpointChoice, dangling_symlink_given_as_the_path_names_its_target) {
  const fs::path link = dir_.path() / "model.safetensors";
  fs::create_symlink(dir_.path() / "gone.safetensors", link);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(link); }, ErrorCode::NotFound,
                           {link.string(), "dangling symlink", "gone.safetensors"}));
}

}  // namespace
}  // namespace stload
