// A Checkpoint opened from a directory that holds no index: its one *.safetensors, or one shard
// set's files in name order, or (only when a merge is asked for) every *.safetensors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;
using testing::throws_error;

std::vector<std::byte> one_tensor_file(const std::string& name, std::size_t size,
                                       std::uint32_t seed) {
  return make_safetensors({{name, "U8", {size}, pattern_bytes(size, seed)}});
}

std::string part_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "part-%02zu.safetensors", i);
  return buf;
}

Checkpoint open_merged(const std::filesystem::path& path) {
  OpenOptions options;
  options.merge = true;
  return Checkpoint::open(path, options);
}

TEST(CheckpointDirectory, merge_loads_every_safetensors_file_in_name_order) {
  // Twenty files written in a scrambled order: directory order (hash or creation order) is then
  // name order only by a 1-in-20! chance.
  constexpr std::size_t kFiles = 20;
  TempDir dir;
  for (std::size_t k = 0; k < kFiles; ++k) {
    const std::size_t i = (k * 7 + 3) % kFiles;
    dir.write(part_name(i),
              one_tensor_file("t" + std::to_string(i), i + 1, static_cast<std::uint32_t>(i)));
  }

  const Checkpoint ckpt = open_merged(dir.path());
  ASSERT_EQ(ckpt.files().size(), kFiles);
  ASSERT_EQ(ckpt.tensors().size(), kFiles);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kFiles; ++i) {
    EXPECT_EQ(ckpt.files()[i].path.filename(), part_name(i));
    const TensorRecord& record = ckpt.tensors()[i];
    EXPECT_EQ(record.info.name, "t" + std::to_string(i));
    EXPECT_EQ(record.file, i);
    const auto bytes = ckpt.tensor_bytes(record);
    const auto want = pattern_bytes(i + 1, static_cast<std::uint32_t>(i));
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), want.begin(), want.end()))
        << record.info.name;
    total += i + 1;
  }
  EXPECT_EQ(ckpt.total_bytes(), total);
  ASSERT_EQ(ckpt.notes().size(), 1U);
  EXPECT_NE(ckpt.notes()[0].find("merging 20 files as asked"), std::string::npos)
      << ckpt.notes()[0];
}

TEST(CheckpointDirectory, file_paths_are_inside_the_directory_as_given) {
  TempDir dir;
  dir.write("a.safetensors", one_tensor_file("t", 1, 1));
  const Checkpoint ckpt = Checkpoint::open(dir.path());
  ASSERT_EQ(ckpt.files().size(), 1U);
  EXPECT_EQ(ckpt.files()[0].path, dir.path() / "a.safetensors");
}

TEST(CheckpointDirectory, ignores_other_files_and_subdirectories) {
  TempDir dir;
  dir.write("model.safetensors", one_tensor_file("kept", 4, 1));
  dir.write_text("config.json", "{}");
  dir.write_text("README.md", "not a checkpoint");
  dir.write("model.safetensors.bak", one_tensor_file("backup", 4, 2));
  dir.write("model.safetensorsx", one_tensor_file("suffix", 4, 3));
  dir.write("nested/inner.safetensors", one_tensor_file("nested", 4, 4));
  std::filesystem::create_directory(dir.path() / "folder.safetensors");

  const Checkpoint ckpt = Checkpoint::open(dir.path());
  ASSERT_EQ(ckpt.files().size(), 1U);
  ASSERT_EQ(ckpt.tensors().size(), 1U);
  EXPECT_EQ(ckpt.tensors()[0].info.name, "kept");
}

TEST(CheckpointDirectory, empty_directory_is_not_found_naming_it) {
  TempDir dir;
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir.path()); }, ErrorCode::NotFound,
                           {dir.path().string()}));
}

TEST(CheckpointDirectory, directory_without_safetensors_or_pytorch_model_bin_is_not_found) {
  TempDir dir;
  dir.write_text("config.json", "{}");
  dir.write_text("model.ckpt", "pickle");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir.path()); }, ErrorCode::NotFound,
                           {dir.path().string()}));
}

// Without safetensors, transformers' pytorch_model.bin is opened (tests/unit/test_torch_*.cpp);
// one that is no checkpoint at all fails as a bad file, naming it.
TEST(CheckpointDirectory, pytorch_model_bin_that_is_not_a_checkpoint_is_a_format_error_naming_it) {
  TempDir dir;
  dir.write_text("pytorch_model.bin", "pickle");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir.path()); }, ErrorCode::HeaderTooSmall,
                           {"pytorch_model.bin"}));
}

TEST(CheckpointDirectory, tensor_in_two_files_is_invalid_index_naming_both) {
  TempDir dir;
  const auto first = dir.write("part1.safetensors",
                               make_safetensors({{"only1", "U8", {1}, pattern_bytes(1, 1)},
                                                 {"shared", "U8", {2}, pattern_bytes(2, 2)}}));
  const auto second = dir.write("part2.safetensors", one_tensor_file("shared", 2, 3));
  EXPECT_TRUE(throws_error([&] { (void)open_merged(dir.path()); }, ErrorCode::InvalidIndex,
                           {"shared", first.string(), second.string()}));
}

TEST(CheckpointDirectory, bad_file_fails_with_its_format_code_naming_it) {
  TempDir dir;
  dir.write("a.safetensors", one_tensor_file("fine", 1, 1));
  const auto bad = dir.write("b.safetensors", std::vector<std::byte>(3, std::byte{0}));
  EXPECT_TRUE(throws_error([&] { (void)open_merged(dir.path()); }, ErrorCode::HeaderTooSmall,
                           {bad.string()}));
}

TEST(CheckpointDirectory, two_index_files_are_invalid_argument) {
  TempDir dir;
  dir.write("a.safetensors", one_tensor_file("t", 1, 1));
  const std::string index = R"({"weight_map":{"t":"a.safetensors"}})";
  dir.write_text("model.safetensors.index.json", index);
  dir.write_text("other.safetensors.index.json", index);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(dir.path()); }, ErrorCode::InvalidArgument,
                           {dir.path().string()}));
}

TEST(CheckpointDirectory, fifo_named_safetensors_is_skipped_without_blocking) {
  TempDir dir;
  dir.write("a.safetensors", one_tensor_file("t", 1, 1));
  const auto fifo = dir.path() / "b.safetensors";
  testing::make_fifo(fifo);
  EXPECT_TRUE(testing::completes_without_blocking_on_fifo(fifo, [&] {
    const Checkpoint ckpt = Checkpoint::open(dir.path());
    EXPECT_EQ(ckpt.files().size(), 1U);
  }));
}

}  // namespace
}  // namespace stload
