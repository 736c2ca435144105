// `stload convert` end to end: a torch.save fixture to one file and to shards, what it prints,
// --dedupe-tied, and failures (bad input, unwritable output, bad --shard-size) that leave nothing.

#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.hpp"
#include "stload/checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const std::string kFixture =
    (fs::path(STLOAD_TEST_DATA_DIR) / "pt" / "state_dict_dtypes.pt").string();

TEST(CliConvert, torch_checkpoint_to_one_file_prints_what_it_wrote_and_how_fast) {
  const testing::TempDir dir;
  const fs::path out = dir.path() / "model.safetensors";
  const auto r = run_cli({"convert", kFixture, out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 24 tensors, 480 B in 1 file in "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" GB/s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(out.string()), std::string::npos) << r.out;
  const Checkpoint converted = Checkpoint::open(out);
  EXPECT_EQ(converted.tensors().size(), 24U);
  EXPECT_EQ(converted.metadata().at("format"), "pt");
  const auto d1 = run_cli({"digest", kFixture});
  const auto d2 = run_cli({"digest", out.string()});
  // digest lists file order, which differs; the same set of lines is the same tensors.
  auto sorted_lines = [](const std::string& text) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
      lines.push_back(text.substr(at, nl - at));
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  EXPECT_EQ(sorted_lines(d1.out), sorted_lines(d2.out));
}

TEST(CliConvert, shard_size_writes_shards_and_an_index_that_load_reads) {
  const testing::TempDir dir;
  const fs::path out = dir.path() / "shards";
  const auto r = run_cli({"convert", kFixture, out.string(), "--shard-size", "100B"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("model-00001-of-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.safetensors.index.json"), std::string::npos) << r.out;
  const auto l = run_cli({"load", out.string(), "--engine", "cpu"});
  EXPECT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("loaded 24 tensors"), std::string::npos) << l.out;
}

TEST(CliConvert, dedupe_tied_lists_what_it_dropped) {
  const testing::TempDir dir;
  testing::PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("model.embed.weight").tensor_v2("FloatStorage", "0", 2, 0, {2}, {1});
  w.str("lm_head.weight").tensor_v2("FloatStorage", "0", 2, 0, {2}, {1});
  w.op('u').stop();
  const std::string zip = testing::write_torch_zip(w.data(), {{"0", std::string(8, 'x')}}).bytes;
  const auto in = dir.write("tied.bin", std::as_bytes(std::span(zip.data(), zip.size())));
  const fs::path out = dir.path() / "m.safetensors";
  const auto r = run_cli({"convert", in.string(), out.string(), "--dedupe-tied"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 1 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dropped 1 tied duplicate (metadata \"stload.tied\"):\n"
                       "  model.embed.weight = lm_head.weight\n"),
            std::string::npos)
      << r.out;
}

TEST(CliConvert, failures_name_the_path_and_leave_no_output) {
  const testing::TempDir dir;
  const fs::path junk = dir.write_text("junk.pt", "definitely not a checkpoint");
  const fs::path out = dir.path() / "out.safetensors";
  const auto bad = run_cli({"convert", junk.string(), out.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(junk.string() + ": "), std::string::npos) << bad.err;
  const auto missing = run_cli({"convert", (dir.path() / "nope.pt").string(), out.string()});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  const auto unwritable = run_cli({"convert", kFixture, (junk / "x.safetensors").string()});
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_NE(unwritable.err.find("Io: "), std::string::npos) << unwritable.err;
  const auto size = run_cli({"convert", kFixture, out.string(), "--shard-size", "lots"});
  EXPECT_EQ(size.exit_code, 2);
  EXPECT_NE(size.err.find("--shard-size needs a size"), std::string::npos) << size.err;
  EXPECT_EQ(run_cli({"convert", kFixture}).exit_code, 2);
  std::vector<fs::path> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<fs::path>{"junk.pt"});
}

}  // namespace
}  // namespace stload
