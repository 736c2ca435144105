// `--only` takes name patterns (exact name, dotted prefix, `*` within a segment) for load, digest
// and plan alike; a pattern matching nothing fails naming it unless --allow-unmatched.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::run_cli;
using testing::TempDir;
using testing::TestTensor;

std::string write_model(const TempDir& dir) {
  std::vector<TestTensor> tensors;
  for (const char* name : {"model.embed.weight", "model.layers.1.mlp.w", "model.layers.1.attn.w",
                           "model.layers.10.mlp.w", "model.layers.2.mlp.w", "lm_head.weight"}) {
    tensors.push_back({name, "U8", {16}, pattern_bytes(16, 3)});
  }
  return dir.write("model.safetensors", make_safetensors(tensors)).string();
}

// The tensor names `stload digest` printed ("<sha256>  <name>" lines), in order.
std::vector<std::string> digested_names(const std::string& out) {
  std::vector<std::string> names;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto gap = line.find("  ");
    if (gap != std::string::npos) names.push_back(line.substr(gap + 2));
  }
  return names;
}

TEST(CliOnly, prefix_stops_at_a_dot_and_glob_stays_within_a_segment) {
  const TempDir dir;
  const std::string path = write_model(dir);
  auto r = run_cli({"digest", path, "--engine", "cpu", "--only", "model.layers.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(digested_names(r.out),
            (std::vector<std::string>{"model.layers.1.mlp.w", "model.layers.1.attn.w"}));
  r = run_cli({"digest", path, "--engine", "cpu", "--only", "model.layers.*.mlp,lm_head"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(digested_names(r.out),
            (std::vector<std::string>{"model.layers.1.mlp.w", "model.layers.10.mlp.w",
                                      "model.layers.2.mlp.w", "lm_head.weight"}));
}

TEST(CliOnly, typo_among_patterns_fails_naming_it_and_the_file) {
  const TempDir dir;
  const std::string path = write_model(dir);
  for (const char* command : {"load", "digest"}) {
    const auto r = run_cli({command, path, "--engine", "cpu", "--only", "lm_head,model.layrs.1"});
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
    EXPECT_NE(r.err.find("'model.layrs.1'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("'lm_head'"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(CliOnly, allow_unmatched_loads_what_the_other_patterns_select) {
  const TempDir dir;
  const std::string path = write_model(dir);
  const auto r = run_cli(
      {"digest", path, "--engine", "cpu", "--only", "lm_head,model.layrs.1", "--allow-unmatched"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(digested_names(r.out), (std::vector<std::string>{"lm_head.weight"}));
}

TEST(CliOnly, invalid_pattern_is_refused_naming_it) {
  const TempDir dir;
  const std::string path = write_model(dir);
  for (const char* bad : {"model.layers.", "model.**.w", ".x"}) {
    const auto r = run_cli({"load", path, "--engine", "cpu", "--only", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find(std::string("'") + bad + "'"), std::string::npos) << r.err;
  }
}

TEST(CliOnly, plan_reads_the_same_patterns) {
  const TempDir dir;
  const std::string path = write_model(dir);
  auto r = run_cli(
      {"plan", path, "--capacity", "cuda:0=1GiB", "--only", "model.layers.*.mlp", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"tensors\":3"), std::string::npos) << r.out;
  r = run_cli({"plan", path, "--capacity", "cuda:0=1GiB", "--only", "model.layrs"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("'model.layrs'"), std::string::npos) << r.err;
}

TEST(CliOnly, device_map_rule_placing_nothing_is_warned_about_on_stderr) {
  const TempDir dir;
  const std::string path = write_model(dir);
  const auto r = run_cli(
      {"digest", path, "--engine", "cpu", "--device-map", R"({"lm_hed": "cpu", "": "cpu"})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("'lm_hed'"), std::string::npos) << r.err;
  EXPECT_EQ(digested_names(r.out).size(), 6U);
}

}  // namespace
}  // namespace stload
