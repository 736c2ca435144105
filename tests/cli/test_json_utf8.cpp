// --json output stays strict JSON when paths are not UTF-8 (a file name is bytes): invalid bytes
// become U+FFFD, checked with RapidJSON's encoding validation and, where present, Python's parser.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
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

constexpr const char* kReplacement = "\xEF\xBF\xBD";

void expect_strict_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << "RapidJSON refuses: " << text;
  if (std::system("python3 -c '' >/dev/null 2>&1") != 0) return;  // no Python: RapidJSON alone
  const TempDir scratch;
  const auto file = scratch.write_text("out.json", text);
  const std::string command =
      "python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding=\"utf-8\", "
      "errors=\"strict\"))' '" +
      file.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << "Python's json refuses: " << text;
}

TEST(CliJsonUtf8, inspect_json_of_a_latin1_file_name_is_strict_json) {
  const TempDir dir;
  // "café" in Latin-1, a lone continuation byte and a cut 3-byte sequence.
  const std::string name = "caf\xe9-\x80-\xe2\x82.safetensors";
  const auto path = dir.write(name, make_safetensors({{"t", "U8", {2}, pattern_bytes(2, 1)}}));
  const auto r = run_cli({"inspect", "--json", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_strict_json(r.out);
  EXPECT_NE(r.out.find(std::string("caf") + kReplacement + "-" + kReplacement + "-" + kReplacement +
                       ".safetensors"),
            std::string::npos)
      << r.out;
}

TEST(CliJsonUtf8, load_json_of_a_non_utf8_directory_is_strict_json) {
  const TempDir dir;
  const auto path = dir.write("bad\xff\xfe/model.safetensors",
                              make_safetensors({{"t", "U8", {2}, pattern_bytes(2, 1)}}))
                        .parent_path();
  const auto r = run_cli({"load", path.string(), "--engine", "cpu", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_strict_json(r.out);
  EXPECT_NE(r.out.find(std::string("bad") + kReplacement + kReplacement), std::string::npos)
      << r.out;
}

TEST(CliJsonUtf8, valid_utf8_passes_through_unchanged) {
  const TempDir dir;
  const std::string name = "mod\xc3\xa8le-\xf0\x9f\xa6\x99.safetensors";  // "modèle-🦙"
  const auto path = dir.write(name, make_safetensors({{"t", "U8", {2}, pattern_bytes(2, 1)}}));
  const auto r = run_cli({"inspect", "--json", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_strict_json(r.out);
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

}  // namespace
}  // namespace stload
