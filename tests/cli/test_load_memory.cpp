// `stload load` reports file-backed RSS apart from anonymous RSS: a load read from the mapping
// maps the file's pages into the process (RssFile grows by about the data), a load read with
// pread does not; `top`'s RES adds both, which is why it shows a CPU load about twice.

#include <gtest/gtest.h>
#include <sys/vfs.h>

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

// RssFile growth of one `load --json` with `read` as the read method.
std::int64_t rss_file_growth(const std::string& path, const char* read) {
  const auto r = run_cli({"load", path, "--engine", "cpu", "--read", read, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str(), r.out.size());
  EXPECT_FALSE(doc.HasParseError()) << r.out;
  EXPECT_TRUE(doc.HasMember("peak_rss_file_bytes") && doc.HasMember("baseline_rss_file_bytes"))
      << r.out;
  EXPECT_TRUE(doc.HasMember("setup_seconds")) << r.out;
  if (doc.HasParseError() || !doc.HasMember("peak_rss_file_bytes")) return 0;
  return static_cast<std::int64_t>(doc["peak_rss_file_bytes"].GetUint64()) -
         static_cast<std::int64_t>(doc["baseline_rss_file_bytes"].GetUint64());
}

TEST(CliLoadMemory, a_load_from_the_mapping_shows_its_pages_as_file_backed_rss_and_pread_does_not) {
  const TempDir dir;
  const auto path = dir.write("model.safetensors",
                              make_safetensors({{"t", "U8", {kData}, pattern_bytes(kData, 3)}}));
  struct statfs fs {};
  ASSERT_EQ(statfs(path.c_str(), &fs), 0);
  if (fs.f_type == 0x01021994) GTEST_SKIP() << "tmpfs pages count as RssShmem, not RssFile";
  EXPECT_GT(rss_file_growth(path.string(), "mmap"), static_cast<std::int64_t>(kData / 2))
      << "the mapping's pages were not counted";
  EXPECT_LT(rss_file_growth(path.string(), "pread"), static_cast<std::int64_t>(kData / 2))
      << "pread does not map the file's pages";
}

TEST(CliLoadMemory, the_text_report_names_file_backed_rss_apart) {
  const TempDir dir;
  const auto path =
      dir.write("model.safetensors", make_safetensors({{"t", "U8", {64}, pattern_bytes(64, 1)}}));
  const auto r = run_cli({"load", path.string(), "--engine", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(RssAnon)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(RssFile)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace stload
