// `stload load --map`: CPU tensors are views of the file (zero-copy). The JSON report counts the
// views and the unaligned tensors copied instead, no arena is allocated for the views, and the
// process's anonymous memory does not grow by the data; the text report says what was viewed.

#include <gtest/gtest.h>

#include <cstdint>
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

constexpr std::uint64_t kData = 32ULL << 20U;

rapidjson::Document load_json(const std::string& path, bool map) {
  std::vector<std::string> argv = {"load", path, "--engine", "cpu", "--json"};
  if (map) argv.emplace_back("--map");
  const auto r = run_cli(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str(), r.out.size());
  EXPECT_FALSE(doc.HasParseError()) << r.out;
  return doc;
}

TEST(CliLoadMap, views_allocate_nothing_and_count_in_the_json_report) {
  const TempDir dir;
  // "odd" (U8[3]) puts "f32" at an offset that is not a multiple of 4: it is copied.
  const auto path = dir.write("model.safetensors",
                              make_safetensors({{"big", "U8", {kData}, pattern_bytes(kData, 3)},
                                                {"odd", "U8", {3}, pattern_bytes(3, 4)},
                                                {"f32", "F32", {16}, pattern_bytes(64, 5)}}));
  const rapidjson::Document mapped = load_json(path.string(), true);
  ASSERT_TRUE(mapped.IsObject() && mapped.HasMember("tensors_viewed"));
  EXPECT_EQ(mapped["tensors"].GetUint64(), 3U);
  EXPECT_EQ(mapped["tensors_viewed"].GetUint64(), 2U);
  EXPECT_EQ(mapped["bytes_viewed"].GetUint64(), kData + 3);
  EXPECT_EQ(mapped["tensors_copied_unaligned"].GetUint64(), 1U);
  // The only arena is the copied tensor's: 64 bytes, not the 32 MiB the views are.
  ASSERT_TRUE(mapped["devices"].HasMember("cpu:0"));
  EXPECT_LT(mapped["devices"]["cpu:0"].GetUint64(), 4096U);
  const auto grown = [](const rapidjson::Document& d) {
    return static_cast<std::int64_t>(d["peak_rss_anon_bytes"].GetUint64()) -
           static_cast<std::int64_t>(d["baseline_rss_anon_bytes"].GetUint64());
  };
  EXPECT_LT(grown(mapped), static_cast<std::int64_t>(kData / 2)) << "views copied the data";

  const rapidjson::Document copied = load_json(path.string(), false);
  ASSERT_TRUE(copied.IsObject() && copied.HasMember("tensors_viewed"));
  EXPECT_EQ(copied["tensors_viewed"].GetUint64(), 0U);
  EXPECT_GE(copied["devices"]["cpu:0"].GetUint64(), kData);
}

TEST(CliLoadMap, the_text_report_says_what_was_viewed) {
  const TempDir dir;
  const auto path =
      dir.write("model.safetensors", make_safetensors({{"t", "U8", {64}, pattern_bytes(64, 1)}}));
  const auto r = run_cli({"load", path.string(), "--engine", "cpu", "--map"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("zero-copy (--map): 1 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 copied"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace stload
