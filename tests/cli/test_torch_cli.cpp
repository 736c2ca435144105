// `stload inspect|validate|digest|load` on PyTorch zip checkpoints (tests/data/pt, written by
// torch.save), and on one whose pickle would call os.system.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "cli_runner.hpp"
#include "support/temp_dir.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

using testing::run_cli;

const std::string kFixture =
    (std::filesystem::path(STLOAD_TEST_DATA_DIR) / "pt" / "state_dict_dtypes.pt").string();

TEST(CliTorch, validate_and_inspect_a_torch_save_checkpoint) {
  const auto v = run_cli({"validate", kFixture});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find(": OK (24 tensors"), std::string::npos) << v.out;
  const auto i = run_cli({"inspect", kFixture});
  EXPECT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("shared.view"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("F8_E4M3"), std::string::npos) << i.out;
}

TEST(CliTorch, digest_and_load_a_torch_save_checkpoint_on_the_cpu) {
  const auto d = run_cli({"digest", kFixture});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("  all.bf16\n"), std::string::npos) << d.out;
  const auto l = run_cli({"load", kFixture, "--engine", "cpu"});
  EXPECT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("loaded 24 tensors"), std::string::npos) << l.out;
}

TEST(CliTorch, checkpoint_whose_pickle_calls_os_system_fails_naming_it_and_runs_nothing) {
  const testing::TempDir dir;
  const auto marker = dir.path() / "pwned";
  testing::PickleWriter w;
  w.proto(2).global("posix", "system").str("touch " + marker.string());
  w.op(static_cast<unsigned char>(0x85)).op('R').stop();
  const std::string bytes = testing::write_torch_zip(w.data(), {}).bytes;
  const auto path = dir.write("evil.pt", std::as_bytes(std::span(bytes.data(), bytes.size())));
  const auto r = run_cli({"load", path.string(), "--engine", "cpu"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("InvalidHeader"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'posix system'"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// A transposed view "t" of (1..6 as 2x3) and a compact "c" holding its row-major values: the
// digest of the loaded "t" must equal c's, and inspect shows t's stride.
TEST(CliTorch, a_strided_tensor_is_inspected_with_its_stride_and_digested_compact) {
  const testing::TempDir dir;
  testing::PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("t").tensor_v2("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  w.str("c").tensor_v2("FloatStorage", "1", 6, 0, {3, 2}, {2, 1});
  w.op('u').stop();
  const auto floats = [](std::initializer_list<float> v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), std::data(v), s.size());
    return s;
  };
  const std::string bytes = testing::write_torch_zip(w.data(), {{"0", floats({1, 2, 3, 4, 5, 6})},
                                                                {"1", floats({1, 4, 2, 5, 3, 6})}})
                                .bytes;
  const auto path = dir.write("t.pt", std::as_bytes(std::span(bytes.data(), bytes.size())));
  const auto i = run_cli({"inspect", path.string()});
  EXPECT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("[3, 2] stride [1, 3]"), std::string::npos) << i.out;
  const auto j = run_cli({"inspect", "--json", path.string()});
  EXPECT_NE(j.out.find("\"strides\":[1,3]"), std::string::npos) << j.out;
  const auto d = run_cli({"digest", path.string(), "--engine", "cpu"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const auto line = [&](const std::string& name) {
    const std::size_t at = d.out.find("  " + name + "\n");
    return at == std::string::npos || at < 64 ? std::string() : d.out.substr(at - 64, 64);
  };
  EXPECT_FALSE(line("t").empty()) << d.out;
  EXPECT_EQ(line("t"), line("c")) << d.out;
}

}  // namespace
}  // namespace stload
