#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/generate.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::TempDir;

std::vector<char> slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

GenerateOptions tiny(std::uint32_t seed, std::uint32_t shards = 1) {
  GenerateOptions options;
  options.preset = "tiny-llama";
  options.seed = seed;
  options.shards = shards;
  return options;
}

ErrorCode code_of(const std::filesystem::path& path, const GenerateOptions& options) {
  try {
    static_cast<void>(generate(path, options));
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no stload::Error";
  return ErrorCode::Io;
}

TEST(Generate, same_seed_gives_identical_bytes) {
  TempDir dir;
  const auto a = generate(dir.path() / "a.safetensors", tiny(3));
  const auto b = generate(dir.path() / "b.safetensors", tiny(3));
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(slurp(a.path), slurp(b.path));
}

TEST(Generate, different_seeds_give_different_data_with_the_same_layout) {
  TempDir dir;
  const auto a = generate(dir.path() / "a.safetensors", tiny(1));
  const auto b = generate(dir.path() / "b.safetensors", tiny(2));
  const Checkpoint ca = Checkpoint::open(a.path);
  const Checkpoint cb = Checkpoint::open(b.path);
  ASSERT_EQ(ca.tensors().size(), cb.tensors().size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < ca.tensors().size(); ++i) {
    const TensorRecord& ra = ca.tensors()[i];
    const TensorRecord& rb = cb.tensors()[i];
    ASSERT_EQ(ra.info.name, rb.info.name);
    ASSERT_EQ(ra.offset, rb.offset);
    const auto da = ca.tensor_bytes(ra);
    const auto db = cb.tensor_bytes(rb);
    if (!std::equal(da.begin(), da.end(), db.begin(), db.end())) ++differing;
  }
  EXPECT_EQ(differing, ca.tensors().size()) << "some tensor ignores the seed";
}

TEST(Generate, tensors_differ_from_each_other) {
  TempDir dir;
  const Checkpoint c = Checkpoint::open(generate(dir.path() / "a.safetensors", tiny(1)).path);
  const auto q = c.tensor_bytes(c.at("model.layers.0.self_attn.q_proj.weight"));
  const auto o = c.tensor_bytes(c.at("model.layers.0.self_attn.o_proj.weight"));
  ASSERT_EQ(q.size(), o.size());
  EXPECT_FALSE(std::equal(q.begin(), q.end(), o.begin()));
}

TEST(Generate, reports_what_it_wrote) {
  TempDir dir;
  const auto generated = generate(dir.path() / "a.safetensors", tiny(0));
  const Checkpoint c = Checkpoint::open(generated.path);
  EXPECT_EQ(generated.tensors, c.tensors().size());
  EXPECT_EQ(generated.bytes, c.total_bytes());
  EXPECT_EQ(c.metadata().at("preset"), "tiny-llama");
  EXPECT_NE(c.find("lm_head.weight"), nullptr);
  EXPECT_NE(c.find("model.layers.3.mlp.down_proj.weight"), nullptr);
}

TEST(Generate, sharded_output_opens_through_its_index_with_the_same_tensors) {
  TempDir dir;
  const auto whole = generate(dir.path() / "whole.safetensors", tiny(5));
  const auto sharded = generate(dir.path() / "sharded", tiny(5, 3));
  EXPECT_EQ(sharded.path.filename(), "model.safetensors.index.json");
  const Checkpoint a = Checkpoint::open(whole.path);
  const Checkpoint b = Checkpoint::open(sharded.path);
  EXPECT_EQ(b.files().size(), 3U);
  EXPECT_EQ(sharded.tensors, whole.tensors);
  EXPECT_EQ(b.total_bytes(), a.total_bytes());
  EXPECT_EQ(sharded.bytes, b.total_bytes());
  for (const TensorRecord& ra : a.tensors()) {
    const TensorRecord& rb = b.at(ra.info.name);
    EXPECT_EQ(rb.info.dtype, ra.info.dtype);
    EXPECT_EQ(rb.info.shape, ra.info.shape);
    const auto da = a.tensor_bytes(ra);
    const auto db = b.tensor_bytes(rb);
    EXPECT_TRUE(std::equal(da.begin(), da.end(), db.begin(), db.end()))
        << ra.info.name << " differs between the sharded and the single file";
  }
  // The directory opens too (through the index it holds).
  EXPECT_EQ(Checkpoint::open(dir.path() / "sharded").tensors().size(), whole.tensors);
}

TEST(Generate, presets_are_listed) {
  const auto presets = generate_presets();
  for (const char* name : {"tiny-llama", "llama", "many-small"}) {
    EXPECT_NE(std::find(presets.begin(), presets.end(), name), presets.end()) << name;
  }
}

TEST(Generate, many_small_has_fifty_thousand_tensors) {
  TempDir dir;
  GenerateOptions options;
  options.preset = "many-small";
  const auto generated = generate(dir.path() / "many.safetensors", options);
  EXPECT_EQ(generated.tensors, 50'000U);
  EXPECT_EQ(Checkpoint::open(generated.path).tensors().size(), 50'000U);
}

TEST(Generate, unknown_preset_is_invalid_argument_naming_it) {
  TempDir dir;
  GenerateOptions options;
  options.preset = "gpt-17";
  try {
    static_cast<void>(generate(dir.path() / "x.safetensors", options));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("gpt-17"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.safetensors"));
}

TEST(Generate, rejects_bad_sizes_and_shard_counts) {
  TempDir dir;
  GenerateOptions llama;
  llama.preset = "llama";
  for (const double size : {0.0, -1.0, 2000.0}) {
    llama.size_gib = size;
    EXPECT_EQ(code_of(dir.path() / "l.safetensors", llama), ErrorCode::InvalidArgument) << size;
  }
  EXPECT_EQ(code_of(dir.path() / "s0", tiny(0, 0)), ErrorCode::InvalidArgument);
  EXPECT_EQ(code_of(dir.path() / "s1000", tiny(0, 1000)), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace stload
