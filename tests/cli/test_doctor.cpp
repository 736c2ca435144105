// `stload doctor`: the report prints in every build and on every machine, and its verdict and
// exit status are cuda_report()'s (0 usable, 1 not). Without a GPU (CI) it must say why not.

#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "detail/rapidjson.hpp"  // first: RapidJSON's asserts throw instead of aborting
#include "stload/cuda_info.hpp"
#include "stload/engine.hpp"

#include <rapidjson/document.h>

namespace stload {
namespace {

using testing::run_cli;

TEST(CliDoctor, prints_the_verdict_and_exits_0_only_when_cuda_is_usable) {
  const CudaReport expected = cuda_report();
  const auto r = run_cli({"doctor"});
  EXPECT_EQ(r.exit_code, expected.usable() ? 0 : 1) << r.out << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const std::string verdict =
      expected.usable()
          ? "CUDA engine: usable: "
          : "CUDA engine: NOT usable (" + std::string(to_string(expected.status)) + "): ";
  EXPECT_NE(r.out.find(verdict), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(expected.reason), std::string::npos) << r.out;
  if (cuda_compiled_in()) {
    EXPECT_NE(r.out.find("CUDA runtime (compiled in): "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CUDA driver: "), std::string::npos) << r.out;
  } else {
    EXPECT_NE(r.out.find("CUDA runtime: not compiled in"), std::string::npos) << r.out;
  }
}

TEST(CliDoctor, json_is_one_strict_object_with_the_same_verdict) {
  const CudaReport expected = cuda_report();
  const auto r = run_cli({"doctor", "--json"});
  EXPECT_EQ(r.exit_code, expected.usable() ? 0 : 1) << r.err;
  rapidjson::Document json;
  json.Parse<rapidjson::kParseDefaultFlags>(r.out.c_str());
  ASSERT_FALSE(json.HasParseError()) << r.out;
  ASSERT_TRUE(json.IsObject());
  EXPECT_EQ(json["compiled_in"].GetBool(), cuda_compiled_in());
  EXPECT_EQ(json["usable"].GetBool(), expected.usable());
  EXPECT_EQ(std::string(json["status"].GetString()), to_string(expected.status));
  EXPECT_EQ(std::string(json["reason"].GetString()), expected.reason);
  EXPECT_EQ(json["device_count"].GetInt(), expected.device_count);
  ASSERT_TRUE(json["devices"].IsArray());
  EXPECT_EQ(json["devices"].Size(), static_cast<rapidjson::SizeType>(expected.device_count));
  for (const auto& device : json["devices"].GetArray()) {
    EXPECT_TRUE(device["name"].IsString());
    EXPECT_TRUE(device["pcie_link"].IsObject());
    EXPECT_TRUE(device["total_bytes"].IsUint64());
  }
}

// Here (no GPU in CI) the reason is one of the precise ones, never a bare "unavailable".
TEST(CliDoctor, without_a_gpu_names_the_precise_reason) {
  const CudaReport expected = cuda_report();
  if (expected.usable()) GTEST_SKIP() << "CUDA is usable here: " << expected.reason;
  const auto r = run_cli({"doctor", "--json"});
  rapidjson::Document json;
  json.Parse(r.out.c_str());
  ASSERT_FALSE(json.HasParseError()) << r.out;
  const std::string status = json["status"].GetString();
  EXPECT_TRUE(status == "not-compiled-in" || status == "no-driver" || status == "driver-too-old" ||
              status == "no-device" || status == "error")
      << status;
  EXPECT_FALSE(std::string(json["reason"].GetString()).empty());
}

TEST(CliDoctor, takes_no_path) {
  const auto r = run_cli({"doctor", "model.safetensors"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("doctor takes no PATH"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stload
