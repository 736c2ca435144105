// `stload load|digest --tp RANK/WORLD --split RULES`: each rank loads (and digests) its part only;
// rule sets by name, JSON text or a file; malformed values are usage errors, uneven splits clear
// errors naming the tensor.

#include <gtest/gtest.h>

#include <string>

#include <rapidjson/document.h>

#include "cli_runner.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::run_cli;
using testing::TempDir;

class CliTensorParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.write("model.safetensors",
                       make_safetensors({{"lm_head.weight", "BF16", {8, 4}, pattern_bytes(64, 1)},
                                         {"w", "F32", {4, 8}, pattern_bytes(128, 2)},
                                         {"norm", "F32", {4}, pattern_bytes(16, 3)}}))
                .string();
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(CliTensorParallel, each_rank_loads_its_part_and_digests_differ_by_rank) {
  const auto rules = dir_.write_text("rules.json", R"({"w": 1})");
  for (const std::string& split :
       {std::string(R"({"lm_head": 0, "w": 1})"), std::string("llama")}) {
    const auto r =
        run_cli({"load", path_, "--engine", "cpu", "--tp", "1/2", "--split", split, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document doc;
    doc.Parse(r.out.c_str(), r.out.size());
    ASSERT_TRUE(doc.IsObject()) << r.out;
    // llama splits lm_head only: 32 + 128 + 16; the JSON rules split w too: 32 + 64 + 16.
    EXPECT_EQ(doc["bytes"].GetUint64(), split == "llama" ? 176U : 112U) << split;
  }
  const auto from_file = run_cli(
      {"load", path_, "--engine", "cpu", "--tp", "0/4", "--split", rules.string(), "--json"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  const auto zero =
      run_cli({"digest", path_, "--engine", "cpu", "--tp", "0/2", "--split", "llama"});
  const auto one = run_cli({"digest", path_, "--engine", "cpu", "--tp", "1/2", "--split", "llama"});
  const auto whole = run_cli({"digest", path_, "--engine", "cpu"});
  ASSERT_EQ(zero.exit_code, 0) << zero.err;
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(zero.out, one.out);
  EXPECT_NE(zero.out, whole.out);
  // Replicated tensors digest the same on every rank.
  const auto line = [](const std::string& out, const std::string& name) {
    const auto at = out.find("  " + name + "\n");
    return at == std::string::npos ? std::string() : out.substr(at - 64, 64);
  };
  EXPECT_EQ(line(zero.out, "norm"), line(whole.out, "norm"));
  EXPECT_FALSE(line(zero.out, "norm").empty()) << zero.out;
}

TEST_F(CliTensorParallel, bad_values_are_clear_errors) {
  const auto alone = run_cli({"load", path_, "--engine", "cpu", "--tp", "0/2"});
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("go together"), std::string::npos) << alone.err;
  const auto rank = run_cli({"load", path_, "--engine", "cpu", "--tp", "2/2", "--split", "llama"});
  EXPECT_NE(rank.exit_code, 0);
  EXPECT_NE(rank.err.find("RANK must be below WORLD"), std::string::npos) << rank.err;
  const auto uneven =
      run_cli({"load", path_, "--engine", "cpu", "--tp", "0/3", "--split", "llama"});
  EXPECT_NE(uneven.exit_code, 0);
  EXPECT_NE(uneven.err.find("lm_head.weight"), std::string::npos) << uneven.err;
  EXPECT_NE(uneven.err.find("3 equal parts"), std::string::npos) << uneven.err;
  const auto unknown =
      run_cli({"load", path_, "--engine", "cpu", "--tp", "0/2", "--split", "gpt9"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("known: llama"), std::string::npos) << unknown.err;
  const auto json =
      run_cli({"load", path_, "--engine", "cpu", "--tp", "0/2", "--split", "{\"w\": -1}"});
  EXPECT_NE(json.exit_code, 0);
  EXPECT_NE(json.err.find("whole number"), std::string::npos) << json.err;
}

}  // namespace
}  // namespace stload
