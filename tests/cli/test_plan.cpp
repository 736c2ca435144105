// `stload plan`: a plan for cuda:0..7 with stated capacities on this machine without them, as
// text and JSON, with a prefix map and an auto map; over capacity is OutOfMemory naming the device.

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
using testing::TestTensor;

constexpr const char* kEightGpus =
    "cuda:0=80GiB,cuda:1=80GiB,cuda:2=80GiB,cuda:3=80GiB,cuda:4=80GiB,cuda:5=80GiB,"
    "cuda:6=80GiB,cuda:7=80GiB";

constexpr const char* kLayerPerGpu =
    R"({"model.embed_tokens": 0, "model.layers.0": 0, "model.layers.1": 1, "model.layers.2": 2,)"
    R"( "model.layers.3": 3, "model.layers.4": 4, "model.layers.5": 5, "model.layers.6": 6,)"
    R"( "model.layers.7": "cuda:7", "lm_head": "cuda:7"})";

// Embeddings, 8 layers of 2 tensors, lm_head: 18 tensors of 1000 bytes.
std::string write_llama_shaped(const TempDir& dir) {
  std::vector<TestTensor> tensors;
  const auto add = [&](std::string name) {
    tensors.push_back({std::move(name), "U8", {1000}, pattern_bytes(1000, 5)});
  };
  add("model.embed_tokens.weight");
  for (int layer = 0; layer < 8; ++layer) {
    add("model.layers." + std::to_string(layer) + ".mlp.weight");
    add("model.layers." + std::to_string(layer) + ".attn.weight");
  }
  add("lm_head.weight");
  return dir.write("model.safetensors", make_safetensors(tensors)).string();
}

TEST(CliPlan, prefix_map_over_eight_absent_gpus_prints_each_device) {
  const TempDir dir;
  const std::string path = write_llama_shaped(dir);
  const auto r = run_cli({"plan", path, "--device-map", kLayerPerGpu, "--capacity", kEightGpus});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find(path + ": 18 tensors, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("on 8 device(s)"), std::string::npos) << r.out;
  for (int i = 0; i < 8; ++i)
    EXPECT_NE(r.out.find("cuda:" + std::to_string(i)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3048"), std::string::npos) << "cuda:7's arena\n" << r.out;
  EXPECT_EQ(r.out.find("auto:"), std::string::npos) << r.out;
}

TEST(CliPlan, auto_map_json_says_where_each_gpu_filled_up) {
  const TempDir dir;
  const std::string path = write_llama_shaped(dir);
  std::string capacity;
  for (int i = 0; i < 8; ++i) capacity += (i ? "," : "") + ("cuda:" + std::to_string(i) + "=5KiB");
  const auto r = run_cli({"plan", path, "--device-map", "auto", "--capacity", capacity, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  EXPECT_TRUE(doc["auto"].GetBool());
  EXPECT_EQ(doc["tensors"].GetUint64(), 18U);
  EXPECT_EQ(doc["bytes"].GetUint64(), 18000U);
  EXPECT_GT(doc["chunks"].GetUint64(), 0U);
  const auto& devices = doc["devices"];
  ASSERT_EQ(devices.Size(), 4U) << r.out;
  EXPECT_EQ(std::string(devices[0]["device"].GetString()), "cuda:0");
  EXPECT_EQ(devices[0]["tensors"].GetUint64(), 5U);
  EXPECT_EQ(devices[0]["capacity_bytes"].GetUint64(), 5120U);
  EXPECT_EQ(std::string(devices[1]["first_tensor"].GetString()), "model.layers.2.mlp.weight");
  EXPECT_EQ(std::string(devices[3]["last_tensor"].GetString()), "lm_head.weight");

  const auto text = run_cli({"plan", path, "--device-map", "auto", "--capacity", capacity});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("  cuda:1: model.layers.2.mlp.weight .. model.layers.4.mlp.weight"),
            std::string::npos)
      << text.out;
}

TEST(CliPlan, a_device_over_capacity_is_out_of_memory_naming_it_and_exits_1) {
  const TempDir dir;
  const std::string path = write_llama_shaped(dir);
  const auto r = run_cli({"plan", path, "--device-map", kLayerPerGpu, "--capacity",
                          std::string(kEightGpus) + ",cuda:7=2KiB"});
  EXPECT_EQ(r.exit_code, 2) << "cuda:7 twice is a usage error\n" << r.err;

  const auto over = run_cli({"plan", path, "--device-map", kLayerPerGpu, "--capacity",
                             "cuda:0=80GiB,cuda:1=80GiB,cuda:2=80GiB,cuda:3=80GiB,cuda:4=80GiB,"
                             "cuda:5=80GiB,cuda:6=80GiB,cuda:7=2KiB"});
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_TRUE(over.out.empty()) << over.out;
  EXPECT_EQ(over.err.rfind(path + ": OutOfMemory: cuda:7 ", 0), 0U) << over.err;
}

TEST(CliPlan, capacity_is_required_and_checked) {
  const TempDir dir;
  const std::string path = write_llama_shaped(dir);
  EXPECT_EQ(run_cli({"plan", path}).exit_code, 2);
  const auto bad = run_cli({"plan", path, "--capacity", "cuda:0=lots"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("cuda:0=lots"), std::string::npos) << bad.err;
  const auto missing =
      run_cli({"plan", path, "--device-map", "cuda:1", "--capacity", "cuda:0=1GiB"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("InvalidArgument: device_map names cuda:1"), std::string::npos)
      << missing.err;
}

}  // namespace
}  // namespace stload
