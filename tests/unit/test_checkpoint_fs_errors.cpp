// Failures of the file system itself (loops, over-long names, permissions) while opening a
// checkpoint surface as stload::Error, never as std::filesystem::filesystem_error: throws_error
// fails on any exception that is not a stload::Error.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

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

const std::string kTooLong(300, 'x');  // NAME_MAX is 255 on Linux file systems

void write_shard(const TempDir& dir, const std::string& name) {
  dir.write(name, make_safetensors({{"a", "U8", {4}, pattern_bytes(4, 7)}}));
}

TEST(CheckpointFsErrors, symlink_loop_is_io_naming_the_path) {
  TempDir dir;
  const auto a = dir.path() / "a.safetensors";
  const auto b = dir.path() / "b.safetensors";
  fs::create_symlink(b, a);
  fs::create_symlink(a, b);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(a); }, ErrorCode::Io, {a.string()}));
}

TEST(CheckpointFsErrors, over_long_file_name_is_io_naming_the_path) {
  TempDir dir;
  const auto path = dir.path() / (kTooLong + ".safetensors");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::Io, {kTooLong}));
}

TEST(CheckpointFsErrors, directory_holding_a_symlink_loop_skips_it) {
  // The loop ends in .safetensors but is no regular file: listing must not throw on its status.
  TempDir dir;
  write_shard(dir, "real.safetensors");
  fs::create_symlink(dir.path() / "loop.safetensors", dir.path() / "loop.safetensors");
  const Checkpoint ckpt = Checkpoint::open(dir.path());
  ASSERT_EQ(ckpt.files().size(), 1U);
  EXPECT_EQ(ckpt.files()[0].path.filename(), "real.safetensors");
}

TEST(CheckpointFsErrors, shard_through_a_symlink_loop_is_io_naming_the_index) {
  TempDir dir;
  write_shard(dir, "s1.safetensors");
  fs::create_symlink(dir.path() / "loop.safetensors", dir.path() / "loop.safetensors");
  const auto index =
      dir.write_text("model.safetensors.index.json",
                     R"({"weight_map":{"a":"s1.safetensors","b":"loop.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::Io,
                           {index.string(), "loop.safetensors"}));
}

TEST(CheckpointFsErrors, shard_with_an_over_long_name_is_io_naming_the_index) {
  TempDir dir;
  write_shard(dir, "s1.safetensors");
  const auto index = dir.write_text(
      "model.safetensors.index.json",
      R"({"weight_map":{"a":"s1.safetensors","b":")" + kTooLong + R"(.safetensors"}})");
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::Io, {index.string()}));
}

// Permission failures need a process that permissions apply to: root bypasses them, so the call
// runs in a child that gives up root first (when it has it). The child's exit status says what
// happened: 0 the expected stload::Error, 1 another stload code, 2 a foreign exception, 3 no
// exception, 77 privileges could not be dropped.
enum : int { kExpected = 0, kOtherCode = 1, kForeign = 2, kNoThrow = 3, kCannotDrop = 77 };

template <class Call>
int run_unprivileged(ErrorCode expected, Call call) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(kCannotDrop);
    int status = kNoThrow;
    try {
      call();
    } catch (const Error& e) {
      status = e.code() == expected ? kExpected : kOtherCode;
    } catch (...) {
      status = kForeign;
    }
    ::_exit(status);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// A world-traversable tree (TempDir is private to its owner) so the unprivileged child reaches it.
class CheckpointPermissions : public ::testing::Test {
 protected:
  CheckpointPermissions() {
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_exec |
                                     fs::perms::others_exec | fs::perms::group_read |
                                     fs::perms::others_read);
  }
  static void expect(int status) {
    if (status == kCannotDrop) GTEST_SKIP() << "cannot drop root privileges here";
    EXPECT_EQ(status, kExpected)
        << "1: another stload code, 2: a non-stload exception, 3: nothing thrown";
  }
  TempDir dir_;
};

TEST_F(CheckpointPermissions, unlistable_directory_is_io) {
  const auto sub = dir_.path() / "model";
  fs::create_directory(sub);
  dir_.write("model/a.safetensors", make_safetensors({{"a", "U8", {1}, pattern_bytes(1, 1)}}));
  fs::permissions(sub, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  expect(run_unprivileged(ErrorCode::Io, [&] { (void)Checkpoint::open(sub); }));
}

TEST_F(CheckpointPermissions, path_under_an_unsearchable_directory_is_io) {
  const auto sub = dir_.path() / "model";
  fs::create_directory(sub);
  const auto file =
      dir_.write("model/a.safetensors", make_safetensors({{"a", "U8", {1}, pattern_bytes(1, 1)}}));
  fs::permissions(sub, fs::perms::owner_all);
  expect(run_unprivileged(ErrorCode::Io, [&] { (void)Checkpoint::open(file); }));
}

TEST_F(CheckpointPermissions, shard_linked_under_an_unsearchable_directory_is_io) {
  // The name is plain; the link it is leads into a directory the user may not search.
  fs::create_directory(dir_.path() / "shards");
  dir_.write("shards/s1.safetensors", make_safetensors({{"a", "U8", {1}, pattern_bytes(1, 1)}}));
  fs::create_symlink("shards/s1.safetensors", dir_.path() / "s1.safetensors");
  fs::permissions(dir_.path() / "shards", fs::perms::owner_all);
  const auto index =
      dir_.write_text("model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors"}})");
  fs::permissions(index, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  expect(run_unprivileged(ErrorCode::Io, [&] { (void)Checkpoint::open(index); }));
}

}  // namespace
}  // namespace stload
