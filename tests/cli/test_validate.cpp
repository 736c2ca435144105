#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_raw;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::run_cli;
using testing::TempDir;

std::vector<std::byte> two_tensor_file() {
  return make_safetensors(
      {{"a", "F32", {2, 2}, pattern_bytes(16, 1)}, {"b", "BF16", {3}, pattern_bytes(6, 2)}},
      {{"format", "pt"}});
}

TEST(CliValidate, valid_file_prints_ok_with_counts_and_exits_0) {
  const TempDir dir;
  const auto path = dir.write("model.safetensors", two_tensor_file()).string();
  const auto r = run_cli({"validate", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, path + ": OK (2 tensors, 22 bytes)\n");
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CliValidate, truncated_file_reports_error_code_and_exits_1) {
  const TempDir dir;
  auto bytes = two_tensor_file();
  bytes.pop_back();
  const auto path = dir.write("model.safetensors", bytes).string();
  const auto r = run_cli({"validate", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind(path + ": MetadataIncompleteBuffer: ", 0), 0U) << r.err;
}

TEST(CliValidate, overlapping_offsets_report_invalid_offset) {
  const TempDir dir;
  const auto path = dir.write("bad.safetensors",
                              make_raw(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                       R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                                       6))
                        .string();
  const auto r = run_cli({"validate", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(path + ": InvalidOffset: ", 0), 0U) << r.err;
}

TEST(CliValidate, missing_file_is_not_found_and_exits_2) {
  const TempDir dir;
  const auto path = (dir.path() / "absent.safetensors").string();
  const auto r = run_cli({"validate", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind(path + ": NotFound: ", 0), 0U) << r.err;
}

TEST(CliValidate, no_paths_is_a_usage_error) {
  const auto r = run_cli({"validate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: stload validate"), std::string::npos) << r.err;
}

TEST(CliValidate, keeps_going_after_a_bad_path_and_exits_1) {
  const TempDir dir;
  const auto good1 = dir.write("one.safetensors", two_tensor_file()).string();
  const auto bad = dir.write("bad.safetensors", pattern_bytes(5, 3)).string();
  const auto good2 = dir.write("two.safetensors", two_tensor_file()).string();
  const auto r = run_cli({"validate", good1, bad, good2});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, good1 + ": OK (2 tensors, 22 bytes)\n" + good2 + ": OK (2 tensors, 22 bytes)\n");
  EXPECT_EQ(r.err.rfind(bad + ": HeaderTooSmall: ", 0), 0U) << r.err;
}

TEST(CliValidate, missing_path_among_bad_ones_exits_2) {
  const TempDir dir;
  const auto bad = dir.write("bad.safetensors", pattern_bytes(5, 3)).string();
  const auto r = run_cli({"validate", bad, (dir.path() / "absent").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("HeaderTooSmall"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
}

// Every prefix and every single-byte corruption of a small file: the CLI answers 0 or 1, never a
// crash or a hang, and says why whenever it answers 1.
TEST(CliValidate, never_crashes_on_truncated_or_corrupted_bytes) {
  const TempDir dir;
  const auto file = two_tensor_file();
  std::vector<std::vector<std::byte>> cases;
  for (std::size_t size = 0; size < file.size(); size += 3) {
    cases.emplace_back(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(size));
  }
  for (std::size_t at = 0; at < file.size(); at += 2) {
    auto corrupted = file;
    corrupted[at] = std::byte{0xFF};
    cases.push_back(std::move(corrupted));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto path = dir.write("case.safetensors", cases[i]).string();
    const auto r = run_cli({"validate", path});
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "case " << i << " exit " << r.exit_code;
    if (r.exit_code == 1) {
      EXPECT_EQ(r.err.rfind(path + ": ", 0), 0U) << "case " << i << ": " << r.err;
    }
  }
}

}  // namespace
}  // namespace stload
