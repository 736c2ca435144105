// A checkpoint file replaced (renamed over) between Checkpoint::open and load: the load reads the
// file that was opened, through its fd and mapping, whole; never the new file, never a mix.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "reliability_support.hpp"
#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::digest;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;

constexpr std::size_t kTensorBytes = 512 * 1024;

// Same names, dtypes and shapes for both versions; `seed` picks the contents.
std::vector<TestTensor> version(std::uint32_t seed) {
  std::vector<TestTensor> tensors;
  for (std::uint32_t i = 0; i < 8; ++i) {
    tensors.push_back({"layer." + std::to_string(i),
                       "U8",
                       {kTensorBytes},
                       pattern_bytes(kTensorBytes, seed * 100 + i)});
  }
  return tensors;
}

std::map<std::string, std::uint64_t> digests_of(const std::vector<TestTensor>& tensors) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& t : tensors) out[t.name] = digest(t.data.data(), t.data.size());
  return out;
}

std::map<std::string, std::uint64_t> digests_of(const LoadedModel& model) {
  std::map<std::string, std::uint64_t> out;
  for (const TensorView& t : model.tensors()) out[t.name] = digest(t.data, t.bytes);
  return out;
}

class ReplacedAfterOpen : public ::testing::TestWithParam<ReadMethod> {};

TEST_P(ReplacedAfterOpen, loads_the_opened_file_whole) {
  STLOAD_SKIP_IF_NO_O_DIRECT(GetParam());
  TempDir dir;
  const auto old_tensors = version(1);
  const auto new_tensors = version(2);
  const fs::path path = dir.write("model.safetensors", make_safetensors(old_tensors));
  const Checkpoint ckpt = Checkpoint::open(path);

  // The usual atomic update: write a new file beside it, rename it over the old name.
  const fs::path staged = dir.write("model.safetensors.tmp", make_safetensors(new_tensors));
  fs::rename(staged, path);

  LoadOptions options;
  options.engine = EngineKind::Cpu;
  options.read_method = GetParam();
  options.chunk_bytes = 256 * 1024;
  options.staging_bytes = 1024 * 1024;
  const LoadedModel model = load(ckpt, options);

  const auto expected = digests_of(old_tensors);
  const auto replaced = digests_of(new_tensors);
  const auto loaded = digests_of(model);
  ASSERT_EQ(loaded.size(), expected.size());
  for (const auto& [name, value] : expected) {
    ASSERT_NE(value, replaced.at(name)) << "the two versions must differ for the test to mean "
                                           "anything";
    EXPECT_EQ(loaded.at(name), value)
        << name << " is not the opened file's content"
        << (loaded.at(name) == replaced.at(name) ? " (it is the replacement's)"
                                                 : " (it is neither)");
  }
  // And a fresh open sees the new file: the test did replace it.
  EXPECT_EQ(digests_of(load(Checkpoint::open(path), options)), replaced);
}

INSTANTIATE_TEST_SUITE_P(EveryReadMethod, ReplacedAfterOpen,
                         ::testing::Values(ReadMethod::Pread, ReadMethod::Mmap, ReadMethod::Auto,
                                           ReadMethod::Direct),
                         testing::ReadMethodName());

}  // namespace
}  // namespace stload
