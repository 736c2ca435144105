// `stload load|digest --dtype DTYPE|RULES`: every floating tensor, or the tensors rules name, are
// loaded as another dtype (bytes follow the new element size); unknown names and unsupported
// conversions are clear errors.

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

class CliDtype : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.write("model.safetensors",
                       make_safetensors({{"lm_head.weight", "BF16", {8, 4}, pattern_bytes(64, 1)},
                                         {"w", "F32", {4, 8}, pattern_bytes(128, 2)},
                                         {"ids", "I32", {4}, pattern_bytes(16, 3)}}))
                .string();
  }
  std::uint64_t loaded_bytes(const std::string& dtype) {
    const auto r = run_cli({"load", path_, "--engine", "cpu", "--dtype", dtype, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document doc;
    doc.Parse(r.out.c_str(), r.out.size());
    EXPECT_TRUE(doc.IsObject()) << r.out;
    return doc.IsObject() ? doc["bytes"].GetUint64() : 0;
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(CliDtype, a_dtype_name_converts_every_floating_tensor_and_rules_name_tensors) {
  EXPECT_EQ(loaded_bytes("f32"), 128U + 128U + 16U);  // lm_head doubles, ids stay
  EXPECT_EQ(loaded_bytes("BF16"), 64U + 64U + 16U);   // w halves
  EXPECT_EQ(loaded_bytes(R"({"lm_head": "f64"})"), 256U + 128U + 16U);
  const auto rules = dir_.write_text("dtype.json", R"({"w": "F16"})");
  EXPECT_EQ(loaded_bytes(rules.string()), 64U + 64U + 16U);

  const auto as_is = run_cli({"digest", path_, "--engine", "cpu"});
  const auto same = run_cli({"digest", path_, "--engine", "cpu", "--dtype", R"({"w": "f32"})"});
  const auto converted = run_cli({"digest", path_, "--engine", "cpu", "--dtype", "f16"});
  ASSERT_EQ(as_is.exit_code, 0) << as_is.err;
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  EXPECT_EQ(as_is.out, same.out) << "a tensor converted to its own dtype is a plain copy";
  EXPECT_NE(as_is.out, converted.out);
}

TEST_F(CliDtype, bad_values_are_clear_errors) {
  const auto unknown = run_cli({"load", path_, "--engine", "cpu", "--dtype", "f33"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("'f33' is not a dtype"), std::string::npos) << unknown.err;
  const auto refused = run_cli({"load", path_, "--engine", "cpu", "--dtype", R"({"ids": "f32"})"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("'ids'"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("from I32 to F32"), std::string::npos) << refused.err;
  const auto json = run_cli({"load", path_, "--engine", "cpu", "--dtype", R"({"w": 3})"});
  EXPECT_NE(json.exit_code, 0);
  EXPECT_NE(json.err.find("must be a dtype name"), std::string::npos) << json.err;
}

}  // namespace
}  // namespace stload
