// Checkpoint::open on paths that are not checkpoints: missing, special files, empty files.

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

using testing::completes_without_blocking_on_fifo;
using testing::make_fifo;
using testing::TempDir;
using testing::throws_error;

TEST(CheckpointOpen, missing_file_is_not_found_naming_the_path) {
  TempDir dir;
  const auto path = dir.path() / "absent.safetensors";
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::NotFound, {path.string()}));
}

TEST(CheckpointOpen, missing_directory_is_not_found) {
  TempDir dir;
  const auto path = dir.path() / "no" / "such" / "model.safetensors.index.json";
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::NotFound, {path.string()}));
}

TEST(CheckpointOpen, dangling_symlink_is_not_found) {
  TempDir dir;
  const auto link = dir.path() / "model.safetensors";
  std::filesystem::create_symlink(dir.path() / "gone.safetensors", link);
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(link); }, ErrorCode::NotFound, {link.string()}));
}

TEST(CheckpointOpen, path_through_a_regular_file_is_an_error_not_a_crash) {
  TempDir dir;
  const auto file = dir.write_text("plain", "x");
  const auto path = file / "model.safetensors";  // ENOTDIR: a component is not a directory
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::NotFound, {path.string()}));
}

TEST(CheckpointOpen, fifo_is_io_error_without_blocking) {
  TempDir dir;
  const auto fifo = dir.path() / "model.safetensors";
  make_fifo(fifo);
  EXPECT_TRUE(completes_without_blocking_on_fifo(fifo, [&] {
    EXPECT_TRUE(
        throws_error([&] { (void)Checkpoint::open(fifo); }, ErrorCode::Io, {fifo.string()}));
  }));
}

TEST(CheckpointOpen, character_device_is_io_error) {
  const std::filesystem::path null_device = "/dev/null";
  if (!std::filesystem::is_character_file(null_device)) GTEST_SKIP() << "no /dev/null here";
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(null_device); }, ErrorCode::Io, {"/dev/null"}));
}

TEST(CheckpointOpen, zero_byte_file_is_header_too_small_naming_the_file) {
  TempDir dir;
  const auto path = dir.write("empty.safetensors", std::vector<std::byte>{});
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::HeaderTooSmall,
                           {path.string()}));
}

TEST(CheckpointOpen, seven_byte_file_is_header_too_small_naming_the_file) {
  TempDir dir;
  const auto path = dir.write("short.safetensors", std::vector<std::byte>(7, std::byte{1}));
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::HeaderTooSmall,
                           {path.string()}));
}

TEST(CheckpointOpen, index_that_is_a_directory_is_opened_as_a_directory) {
  // A directory whose name looks like an index is still a directory: its files are loaded.
  TempDir dir;
  const auto inner = dir.path() / "model.safetensors.index.json";
  std::filesystem::create_directory(inner);
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(inner); }, ErrorCode::NotFound, {inner.string()}));
}

}  // namespace
}  // namespace stload
