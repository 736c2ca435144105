// stload::convert: every converted tensor equals its source (bytes, dtype, shape), for torch.save
// fixtures and safetensors sources; views of one storage, tied weights and --dedupe-tied; sharded
// output whose index Checkpoint::open reads; and failures that leave no output behind.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/convert.hpp"
#include "stload/save.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::PickleWriter;
using testing::TempDir;
using testing::throws_error;

const fs::path kData = fs::path(STLOAD_TEST_DATA_DIR) / "pt";

std::string bytes_of(const Checkpoint& c, const TensorRecord& t) {
  const auto b = c.tensor_bytes(t);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Every tensor of `converted` is in `source` with the same dtype, shape and bytes; `expected`
// tensors in all (source tensors minus any dropped).
void expect_same_tensors(const Checkpoint& source, const Checkpoint& converted,
                         std::size_t expected) {
  EXPECT_EQ(converted.tensors().size(), expected);
  for (const TensorRecord& t : converted.tensors()) {
    SCOPED_TRACE(t.info.name);
    const TensorRecord* s = source.find(t.info.name);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(t.info.dtype, s->info.dtype);
    EXPECT_EQ(t.info.shape, s->info.shape);
    EXPECT_EQ(bytes_of(converted, t), bytes_of(source, *s));
  }
}

std::vector<fs::path> entries(const fs::path& directory) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(directory)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

// "whole" and "tied" are one tensor under two names (tied weights); "tail" a view into it.
fs::path write_tied_checkpoint(const TempDir& dir) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("whole").tensor_v2("FloatStorage", "0", 6, 0, {6}, {1});
  w.str("tail").tensor_v2("FloatStorage", "0", 6, 2, {2, 2}, {2, 1});
  w.str("tied").tensor_v2("FloatStorage", "0", 6, 0, {6}, {1});
  w.str("alias").tensor_v2("FloatStorage", "0", 6, 0, {6}, {1});
  w.op('u').stop();
  const std::string zip =
      testing::write_torch_zip(w.data(), {{"0", floats({1, 2, 3, 4, 5, 6})}}).bytes;
  return dir.write("tied.pt", std::as_bytes(std::span(zip.data(), zip.size())));
}

TEST(Convert, torch_save_fixture_converts_tensor_by_tensor_with_format_pt) {
  const TempDir dir;
  for (const char* fixture : {"state_dict_dtypes.pt", "nested_checkpoint.pth"}) {
    SCOPED_TRACE(fixture);
    const Checkpoint source = Checkpoint::open(kData / fixture);
    const fs::path out = dir.path() / (std::string(fixture) + ".safetensors");
    const ConvertResult r = convert(kData / fixture, out);
    EXPECT_EQ(r.files, std::vector<fs::path>{out});
    EXPECT_TRUE(r.index.empty());
    EXPECT_EQ(r.tensors, source.tensors().size());
    EXPECT_EQ(r.bytes, source.total_bytes());
    const Checkpoint converted = Checkpoint::open(out);
    expect_same_tensors(source, converted, source.tensors().size());
    EXPECT_EQ(converted.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  }
}

TEST(Convert, views_of_one_storage_each_get_their_own_bytes_by_default) {
  const TempDir dir;
  const Checkpoint source = Checkpoint::open(kData / "state_dict_dtypes.pt");
  ASSERT_NE(source.at("shared.view").offset, source.at("shared.whole").offset);
  const fs::path out = dir.path() / "m.safetensors";
  (void)convert(source, out);
  const Checkpoint converted = Checkpoint::open(out);
  // Safetensors forbids shared ranges, so both are present with their own bytes.
  EXPECT_EQ(bytes_of(converted, converted.at("shared.view")),
            bytes_of(source, source.at("shared.view")));
  EXPECT_EQ(bytes_of(converted, converted.at("shared.whole")),
            bytes_of(source, source.at("shared.whole")));
}

TEST(Convert, tied_weights_are_written_under_every_name_unless_deduped) {
  const TempDir dir;
  const fs::path in = write_tied_checkpoint(dir);
  const Checkpoint source = Checkpoint::open(in);

  const ConvertResult all = convert(source, dir.path() / "all.safetensors");
  EXPECT_TRUE(all.tied.empty());
  const Checkpoint every = Checkpoint::open(dir.path() / "all.safetensors");
  expect_same_tensors(source, every, 4);
  EXPECT_FALSE(every.metadata().contains(kTiedMetadataKey));

  ConvertOptions options;
  options.dedupe_tied = true;
  const ConvertResult deduped = convert(source, dir.path() / "dedup.safetensors", options);
  // The first name of the group in sorted order is kept, as safetensors' save_model keeps it.
  const std::map<std::string, std::string> tied{{"tied", "alias"}, {"whole", "alias"}};
  EXPECT_EQ(deduped.tied, tied);
  EXPECT_EQ(deduped.tensors, 2U);
  const Checkpoint converted = Checkpoint::open(dir.path() / "dedup.safetensors");
  expect_same_tensors(source, converted, 2);
  EXPECT_NE(converted.find("tail"), nullptr);  // a view, not a duplicate: kept
  EXPECT_EQ(converted.metadata().at("format"), "pt");
  EXPECT_EQ(converted.metadata().at(kTiedMetadataKey), R"({"tied":"alias","whole":"alias"})");
}

TEST(Convert, safetensors_source_keeps_its_metadata_and_streams_tensors_larger_than_a_block) {
  const TempDir dir;
  // 20 MiB + 3 bytes: several of the writer's 8 MiB pieces, the last a short one.
  const std::vector<std::byte> big = testing::pattern_bytes((20U << 20U) + 3, 7);
  const std::vector<std::byte> small = testing::pattern_bytes(12, 8);
  const std::vector<TensorData> tensors{{"big", Dtype::U8, {big.size()}, big},
                                        {"small", Dtype::F32, {3}, small}};
  const fs::path in = dir.path() / "in.safetensors";
  save(in, tensors, {{"format", "np"}, {"note", "kept"}});
  const fs::path out = dir.path() / "out.safetensors";
  std::uint64_t last = 0;
  ConvertOptions options;
  options.progress = [&](const Progress& p) {
    EXPECT_GE(p.bytes_done, last);
    last = p.bytes_done;
    return true;
  };
  (void)convert(in, out, options);
  EXPECT_EQ(last, big.size() + small.size());
  const Checkpoint source = Checkpoint::open(in);
  const Checkpoint converted = Checkpoint::open(out);
  expect_same_tensors(source, converted, 2);
  EXPECT_EQ(converted.metadata(), source.metadata());
}

TEST(Convert, sharded_output_has_hugging_face_names_and_an_index_checkpoint_open_reads) {
  const TempDir dir;
  const Checkpoint source = Checkpoint::open(kData / "state_dict_dtypes.pt");
  ConvertOptions options;
  options.shard_bytes = 64;  // a few tensors per shard
  const fs::path out = dir.path() / "sharded";
  const ConvertResult r = convert(source, out, options);
  ASSERT_GT(r.files.size(), 2U);
  const std::string n = std::to_string(r.files.size());
  EXPECT_EQ(r.files.front().filename(),
            "model-00001-of-" + std::string(5 - n.size(), '0') + n + ".safetensors");
  EXPECT_EQ(r.index, out / "model.safetensors.index.json");
  for (const fs::path& file : r.files) {
    const Checkpoint shard = Checkpoint::open(file);
    std::uint64_t bytes = 0;
    for (const TensorRecord& t : shard.tensors()) bytes += t.bytes();
    // Over the limit only when one tensor alone is larger.
    EXPECT_TRUE(bytes <= 64 || shard.tensors().size() == 1) << file;
    EXPECT_EQ(shard.metadata().at("format"), "pt");
  }
  for (const fs::path& opened : {r.index, out}) {
    const Checkpoint converted = Checkpoint::open(opened);
    expect_same_tensors(source, converted, source.tensors().size());
    EXPECT_EQ(converted.index_metadata().at("total_size"), std::to_string(source.total_bytes()));
    EXPECT_EQ(converted.files().size(), r.files.size());
  }
  EXPECT_EQ(entries(out).size(), r.files.size() + 1);  // no temporaries left
}

TEST(Convert, sharded_output_that_fits_one_shard_is_model_safetensors_alone) {
  const TempDir dir;
  ConvertOptions options;
  options.shard_bytes = 5ULL << 30U;
  const fs::path out = dir.path() / "a" / "b";
  const ConvertResult r = convert(kData / "nested_checkpoint.pth", out, options);
  EXPECT_EQ(r.files, std::vector<fs::path>{out / "model.safetensors"});
  EXPECT_TRUE(r.index.empty());
  EXPECT_EQ(entries(out), std::vector<fs::path>{"model.safetensors"});
  EXPECT_EQ(Checkpoint::open(out).tensors().size(), 2U);
}

TEST(Convert, an_existing_directory_gets_model_safetensors) {
  const TempDir dir;
  (void)convert(kData / "nested_checkpoint.pth", dir.path());
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "model.safetensors"));
}

TEST(Convert, bad_input_fails_naming_it_and_writes_nothing) {
  const TempDir dir;
  const fs::path in = dir.write_text("junk.bin", "not a checkpoint at all");
  const fs::path out = dir.path() / "out";
  const auto fails_naming_input = [&](const ConvertOptions& options) {
    try {
      (void)convert(in, out, options);
    } catch (const Error& e) {
      return std::string_view(e.what()).find("junk.bin") != std::string_view::npos;
    }
    return false;
  };
  EXPECT_TRUE(fails_naming_input({}));
  ConvertOptions sharded;
  sharded.shard_bytes = 1;
  EXPECT_TRUE(fails_naming_input(sharded));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(throws_error([&] { (void)convert(dir.path() / "missing.pt", out / "x"); },
                           ErrorCode::NotFound, {"missing.pt"}));
  EXPECT_EQ(entries(dir.path()), std::vector<fs::path>{"junk.bin"});
}

TEST(Convert, unwritable_output_fails_naming_it_and_leaves_nothing) {
  const TempDir dir;
  const fs::path blocker = dir.write_text("file", "x");
  // A path under a regular file can be neither a file nor a directory (root included).
  EXPECT_TRUE(throws_error(
      [&] { (void)convert(kData / "nested_checkpoint.pth", blocker / "m.safetensors"); },
      ErrorCode::Io, {"m.safetensors"}));
  ConvertOptions sharded;
  sharded.shard_bytes = 16;
  EXPECT_TRUE(throws_error(
      [&] { (void)convert(kData / "nested_checkpoint.pth", blocker / "shards", sharded); },
      ErrorCode::Io, {"shards"}));
  EXPECT_EQ(entries(dir.path()), std::vector<fs::path>{"file"});
}

TEST(Convert, a_failure_after_some_shards_removes_every_shard_and_the_directory_made) {
  const TempDir dir;
  ConvertOptions options;
  options.shard_bytes = 64;
  options.progress = [](const Progress& p) { return p.file < 2; };  // stop in the third shard
  const fs::path out = dir.path() / "new" / "shards";
  EXPECT_TRUE(throws_error([&] { (void)convert(kData / "state_dict_dtypes.pt", out, options); },
                           ErrorCode::Cancelled));
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(Convert, a_failed_write_keeps_the_file_that_was_at_the_output_path) {
  const TempDir dir;
  const fs::path out = dir.write_text("m.safetensors", "previous");
  ConvertOptions options;
  options.progress = [](const Progress&) { return false; };
  EXPECT_TRUE(throws_error([&] { (void)convert(kData / "state_dict_dtypes.pt", out, options); },
                           ErrorCode::Cancelled));
  EXPECT_EQ(entries(dir.path()), std::vector<fs::path>{"m.safetensors"});
  EXPECT_EQ(fs::file_size(out), 8U);
}

}  // namespace
}  // namespace stload
