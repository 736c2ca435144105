#include <gtest/gtest.h>

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

// 8-byte prefix + header length, read back from the bytes the writer produced.
std::uint64_t data_offset_of(const std::vector<std::byte>& file) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8U) | std::to_integer<std::uint64_t>(file[i]);
  return 8 + n;
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  EXPECT_TRUE(doc.IsObject()) << text;
  return doc;
}

TEST(CliInspect, json_reports_files_tensors_offsets_and_totals) {
  const TempDir dir;
  // Written out of offset order on purpose: inspect lists by offset.
  const auto file = make_safetensors({{"z.weight", "F32", {2, 3}, pattern_bytes(24, 1)},
                                      {"a.bias", "F16", {3}, pattern_bytes(6, 2)},
                                      {"scalar", "I64", {}, pattern_bytes(8, 3)},
                                      {"empty", "F32", {0, 4}, {}}},
                                     {{"format", "pt"}, {"note", "héllo"}});
  const auto path = dir.write("model.safetensors", file).string();
  const auto r = run_cli({"inspect", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parse_json(r.out);
  const std::uint64_t base = data_offset_of(file);

  ASSERT_EQ(doc["files"].Size(), 1U);
  const auto& f = doc["files"][0];
  EXPECT_EQ(std::string(f["path"].GetString()), path);
  EXPECT_EQ(f["size"].GetUint64(), file.size());
  EXPECT_EQ(f["data_offset"].GetUint64(), base);
  EXPECT_EQ(std::string(f["metadata"]["note"].GetString()), "héllo");

  const auto& tensors = doc["tensors"];
  ASSERT_EQ(tensors.Size(), 4U);
  const char* names[] = {"z.weight", "a.bias", "scalar", "empty"};
  const std::uint64_t begins[] = {0, 24, 30, 38};
  const std::uint64_t sizes[] = {24, 6, 8, 0};
  for (rapidjson::SizeType i = 0; i < 4; ++i) {
    const auto& t = tensors[i];
    EXPECT_EQ(std::string(t["name"].GetString()), names[i]);
    EXPECT_EQ(t["file"].GetUint64(), 0U);
    EXPECT_EQ(t["bytes"].GetUint64(), sizes[i]);
    EXPECT_EQ(t["data_offsets"][0].GetUint64(), begins[i]);
    EXPECT_EQ(t["data_offsets"][1].GetUint64(), begins[i] + sizes[i]);
    EXPECT_EQ(t["offset"].GetUint64(), base + begins[i]) << names[i];
  }
  EXPECT_EQ(std::string(tensors[0]["dtype"].GetString()), "F32");
  ASSERT_EQ(tensors[0]["shape"].Size(), 2U);
  EXPECT_EQ(tensors[0]["shape"][1].GetUint64(), 3U);
  EXPECT_EQ(tensors[2]["shape"].Size(), 0U);

  const auto& totals = doc["totals"];
  EXPECT_EQ(totals["tensors"].GetUint64(), 4U);
  EXPECT_EQ(totals["bytes"].GetUint64(), 38U);
  EXPECT_EQ(totals["by_dtype"]["F32"]["tensors"].GetUint64(), 2U);
  EXPECT_EQ(totals["by_dtype"]["F32"]["bytes"].GetUint64(), 24U);
  EXPECT_EQ(totals["by_dtype"]["I64"]["bytes"].GetUint64(), 8U);
}

TEST(CliInspect, json_of_a_shard_set_directory_lists_every_shard_and_says_it_merged) {
  const TempDir dir;
  dir.write("m-00001-of-00002.safetensors",
            make_safetensors({{"a", "U8", {4}, pattern_bytes(4, 1)}}, {{"shard", "1"}}));
  dir.write("m-00002-of-00002.safetensors",
            make_safetensors(
                {{"b", "U8", {2}, pattern_bytes(2, 2)}, {"c", "U8", {1}, pattern_bytes(1, 3)}},
                {{"shard", "2"}}));
  const auto r = run_cli({"inspect", "--json", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parse_json(r.out);
  ASSERT_EQ(doc["files"].Size(), 2U);
  EXPECT_EQ(std::string(doc["files"][1]["metadata"]["shard"].GetString()), "2");
  ASSERT_EQ(doc["tensors"].Size(), 3U);
  EXPECT_EQ(doc["tensors"][0]["file"].GetUint64(), 0U);
  EXPECT_EQ(doc["tensors"][2]["file"].GetUint64(), 1U);
  EXPECT_EQ(doc["totals"]["bytes"].GetUint64(), 7U);
  ASSERT_EQ(doc["notes"].Size(), 1U);
  EXPECT_NE(std::string(doc["notes"][0].GetString()).find("m-*-of-00002.safetensors"),
            std::string::npos);
  EXPECT_NE(r.err.find("note: "), std::string::npos) << r.err;
}

TEST(CliInspect, table_lists_tensors_in_offset_order_then_totals_and_metadata) {
  const TempDir dir;
  const auto file = make_safetensors({{"second_in_json", "F32", {2}, pattern_bytes(8, 1)},
                                      {"later", "BF16", {4, 2}, pattern_bytes(16, 2)}},
                                     {{"format", "pt"}});
  const auto path = dir.write("model.safetensors", file).string();
  const auto r = run_cli({"inspect", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto first = r.out.find("second_in_json");
  const auto second = r.out.find("later");
  ASSERT_NE(first, std::string::npos) << r.out;
  ASSERT_NE(second, std::string::npos) << r.out;
  EXPECT_LT(first, second);
  EXPECT_NE(r.out.find("[4, 2]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(data_offset_of(file) + 8)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total        2     24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("metadata:\n  format = pt\n"), std::string::npos) << r.out;
}

TEST(CliInspect, control_characters_in_names_are_escaped) {
  const TempDir dir;
  const auto path =
      dir.write("model.safetensors",
                make_safetensors({{"evil\x1b[2Jname", "U8", {1}, pattern_bytes(1, 1)}}))
          .string();
  const auto r = run_cli({"inspect", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_NE(r.out.find("evil\\x1b[2Jname"), std::string::npos) << r.out;
}

TEST(CliInspect, corrupt_file_reports_error_code_and_exits_1) {
  const TempDir dir;
  const auto path = dir.write("model.safetensors", pattern_bytes(64, 9)).string();
  const auto r = run_cli({"inspect", "--json", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind(path + ": ", 0), 0U) << r.err;
}

TEST(CliInspect, missing_file_exits_2) {
  const TempDir dir;
  const auto path = (dir.path() / "absent.safetensors").string();
  const auto r = run_cli({"inspect", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind(path + ": NotFound: ", 0), 0U) << r.err;
}

TEST(CliInspect, needs_exactly_one_path) {
  EXPECT_EQ(run_cli({"inspect"}).exit_code, 2);
  EXPECT_EQ(run_cli({"inspect", "a", "b"}).exit_code, 2);
}

}  // namespace
}  // namespace stload
