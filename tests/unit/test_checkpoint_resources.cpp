// A Checkpoint owns one fd and one mapping per file: it must give every one back when destroyed,
// moved from, or when open() fails half-way through a multi-file checkpoint.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::open_fd_count;
using testing::pattern_bytes;
using testing::TempDir;

std::size_t mappings_under(const std::filesystem::path& directory) {
  std::ifstream maps("/proc/self/maps");
  std::size_t count = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(directory.string()) != std::string::npos) ++count;
  }
  return count;
}

std::vector<std::byte> one_tensor(const std::string& name, std::uint32_t seed) {
  return make_safetensors({{name, "U8", {4}, pattern_bytes(4, seed)}});
}

class CheckpointResources : public ::testing::Test {
 protected:
  void SetUp() override {
    single_ = dir_.write("single/model.safetensors", one_tensor("t", 1));
    dir_.write("sharded/s1.safetensors", one_tensor("a", 2));
    dir_.write("sharded/s2.safetensors", one_tensor("b", 3));
    index_ = dir_.write_text("sharded/model.safetensors.index.json",
                             R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
    // Fails on the second file, after the first is already open and mapped (named as one shard
    // set, which a directory without an index loads).
    dir_.write("broken_dir/m-00001-of-00002.safetensors", one_tensor("a", 4));
    dir_.write("broken_dir/m-00002-of-00002.safetensors", std::vector<std::byte>(3, std::byte{0}));
    // Fails after every shard is open: the index puts "a" in the wrong shard.
    dir_.write("wrong_index/s1.safetensors", one_tensor("a", 5));
    dir_.write("wrong_index/s2.safetensors", one_tensor("b", 6));
    wrong_index_ = dir_.write_text("wrong_index/model.safetensors.index.json",
                                   R"({"weight_map":{"a":"s2.safetensors","b":"s2.safetensors"}})");
    // Fails in index_names(): the same tensor in two files.
    dir_.write("duplicate/m-00001-of-00002.safetensors", one_tensor("same", 7));
    dir_.write("duplicate/m-00002-of-00002.safetensors", one_tensor("same", 8));
  }

  TempDir dir_;
  std::filesystem::path single_;
  std::filesystem::path index_;
  std::filesystem::path wrong_index_;
};

TEST_F(CheckpointResources, two_hundred_open_close_cycles_leak_no_fd_or_mapping) {
  { const Checkpoint warm = Checkpoint::open(index_); }
  const std::size_t fds_before = open_fd_count();
  for (int i = 0; i < 200; ++i) {
    Checkpoint single = Checkpoint::open(single_);
    Checkpoint sharded = Checkpoint::open(index_);
    Checkpoint directory = Checkpoint::open(dir_.path() / "sharded");
    Checkpoint moved(std::move(single));
    sharded = std::move(directory);  // the assigned-over checkpoint must release its two shards
    ASSERT_EQ(moved.tensors().size(), 1U);
    ASSERT_EQ(sharded.tensors().size(), 2U);
  }
  EXPECT_EQ(open_fd_count(), fds_before);
  EXPECT_EQ(mappings_under(dir_.path()), 0U);
}

TEST_F(CheckpointResources, failed_opens_leak_no_fd_or_mapping) {
  const std::size_t fds_before = open_fd_count();
  for (int i = 0; i < 200; ++i) {
    EXPECT_THROW((void)Checkpoint::open(dir_.path() / "broken_dir"), Error);
    EXPECT_THROW((void)Checkpoint::open(wrong_index_), Error);
    EXPECT_THROW((void)Checkpoint::open(dir_.path() / "duplicate"), Error);
  }
  EXPECT_EQ(open_fd_count(), fds_before);
  EXPECT_EQ(mappings_under(dir_.path()), 0U);
}

TEST_F(CheckpointResources, open_checkpoint_holds_one_fd_per_file) {
  // Proves the counting above can see a leak: a live checkpoint shows its fds.
  const std::size_t fds_before = open_fd_count();
  const Checkpoint sharded = Checkpoint::open(index_);
  EXPECT_EQ(open_fd_count(), fds_before + 2);
  EXPECT_EQ(mappings_under(dir_.path()), 2U);
}

}  // namespace
}  // namespace stload
