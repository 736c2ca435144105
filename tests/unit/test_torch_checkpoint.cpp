// Checkpoint::open on PyTorch zip checkpoints built by the test writer: tensors as byte ranges of
// their storage entries, nested state dicts, skipped entries, and the files refused with a reason.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"
#include "stload/tensor_map.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

using testing::PickleWriter;
using testing::row_major;
using testing::TempDir;
using testing::throws_error;
using testing::write_torch_zip;

std::filesystem::path write(const TempDir& dir, const std::string& name, const std::string& bytes) {
  return dir.write(name, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

std::string loaded_bytes(const LoadedModel& model, std::string_view name) {
  const TensorView& t = model.at(name);
  return {static_cast<const char*>(t.data), static_cast<std::size_t>(t.bytes)};
}

LoadOptions cpu() {
  LoadOptions o;
  o.engine = EngineKind::Cpu;
  return o;
}

TEST(TorchCheckpoint, tensors_are_byte_ranges_of_their_storage_entries_whatever_the_extension) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("w").tensor_v2("FloatStorage", "0", 6, 0, {2, 3}, row_major({2, 3}));
  w.str("b").parameter_v2("FloatStorage", "1", 2, 0, {2}, {1});
  w.op('u').stop();
  const std::string w_bytes = floats({1, 2, 3, 4, 5, 6});
  const std::string b_bytes = floats({7, 8});
  const auto zip = write_torch_zip(w.data(), {{"0", w_bytes}, {"1", b_bytes}});
  TempDir dir;
  for (const char* name : {"model.pt", "pytorch_model.bin", "weights.pth", "no_extension"}) {
    const Checkpoint c = Checkpoint::open(write(dir, name, zip.bytes));
    ASSERT_EQ(c.tensors().size(), 2U) << name;
    const TensorRecord& rec = c.at("w");
    EXPECT_EQ(rec.info.dtype, Dtype::F32);
    EXPECT_EQ(rec.info.shape, (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(rec.offset, zip.data_offsets[2]);  // data.pkl, byteorder, data/0, ...
    EXPECT_EQ(c.at("b").offset, zip.data_offsets[3]);
    const auto bytes = c.tensor_bytes(rec);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), w_bytes);
    EXPECT_TRUE(c.notes().empty());
    const LoadedModel model = load(c, cpu());
    EXPECT_EQ(loaded_bytes(model, "w"), w_bytes);
    EXPECT_EQ(loaded_bytes(model, "b"), b_bytes);
  }
}

TEST(TorchCheckpoint, views_of_one_storage_at_different_offsets_load_their_own_bytes) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("whole").tensor_v2("FloatStorage", "0", 6, 0, {6}, {1});
  w.str("tail").tensor_v2("FloatStorage", "0", 6, 2, {2, 2}, {2, 1});
  w.str("tied").tensor_v2("FloatStorage", "0", 6, 0, {6}, {1});
  w.op('u').stop();
  TempDir dir;
  const Checkpoint c = Checkpoint::open(
      write(dir, "m.pt", write_torch_zip(w.data(), {{"0", floats({1, 2, 3, 4, 5, 6})}}).bytes));
  EXPECT_EQ(c.at("tail").offset, c.at("whole").offset + 8);
  const LoadedModel model = load(c, cpu());
  EXPECT_EQ(loaded_bytes(model, "whole"), floats({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(loaded_bytes(model, "tail"), floats({3, 4, 5, 6}));
  EXPECT_EQ(loaded_bytes(model, "tied"), floats({1, 2, 3, 4, 5, 6}));
}

TEST(TorchCheckpoint, nested_state_dict_is_read_and_the_entries_beside_it_are_noted) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("epoch").integer(3);
  w.str("state_dict").op('}').op('(');
  w.str("w").tensor_v2("HalfStorage", "0", 2, 0, {2}, {1});
  w.str("step").integer(10);
  w.op('u');
  w.str("optimizer").op('}').str("lr").real(0.1).op('s');
  w.op('u').stop();
  TempDir dir;
  const Checkpoint c = Checkpoint::open(
      write(dir, "ckpt.pth", write_torch_zip(w.data(), {{"0", std::string(4, 'h')}}).bytes));
  ASSERT_EQ(c.tensors().size(), 1U);
  EXPECT_EQ(c.tensors()[0].info.name, "w");
  std::string notes;
  for (const std::string& n : c.notes()) notes += n + "\n";
  EXPECT_NE(notes.find("data.pkl['state_dict']"), std::string::npos) << notes;
  EXPECT_NE(notes.find("'epoch' (int)"), std::string::npos) << notes;
  EXPECT_NE(notes.find("'optimizer' (dict)"), std::string::npos) << notes;
  EXPECT_NE(notes.find("'step' (int)"), std::string::npos) << notes;
}

TEST(TorchCheckpoint, two_dicts_of_tensors_below_the_top_are_refused_rather_than_guessed) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("model").op('}').str("w").tensor_v2("HalfStorage", "0", 2, 0, {2}, {1}).op('s');
  w.str("ema").op('}').str("w").tensor_v2("HalfStorage", "0", 2, 0, {2}, {1}).op('s');
  w.op('u').stop();
  TempDir dir;
  const auto path = write(dir, "two.pt", write_torch_zip(w.data(), {{"0", "abcd"}}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"two.pt", "'model'", "'ema'"}));
}

TEST(TorchCheckpoint, dict_holding_itself_is_refused_after_a_bounded_descent) {
  PickleWriter w;  // d = {}; d['d'] = d
  w.proto(2).op('}').put(0).str("d").get(0).op('s').stop();
  TempDir dir;
  const auto path = write(dir, "cycle.pt", write_torch_zip(w.data(), {}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"cycle.pt", "nested dicts"}));
}

TEST(TorchCheckpoint, a_top_level_that_is_not_a_dict_is_refused) {
  PickleWriter w;
  w.proto(2).op(']').stop();
  TempDir dir;
  const auto path = write(dir, "list.pt", write_torch_zip(w.data(), {}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"list.pt", "is a list, not a dict of tensors"}));
}

TEST(TorchCheckpoint, storage_shorter_than_its_tensor_needs_is_refused_naming_both) {
  PickleWriter w;
  w.proto(2).op('}').str("w").tensor_v2("FloatStorage", "0", 6, 4, {2, 2}, {2, 1}).op('s').stop();
  TempDir dir;
  const auto path =
      write(dir, "short.pt", write_torch_zip(w.data(), {{"0", floats({1, 2, 3, 4, 5, 6})}}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidOffset,
                           {"short.pt", "tensor 'w'", "archive/data/0"}));
}

TEST(TorchCheckpoint, storage_entry_missing_from_the_archive_is_refused) {
  PickleWriter w;
  w.proto(2).op('}').str("w").tensor_v2("FloatStorage", "7", 1, 0, {1}, {1}).op('s').stop();
  TempDir dir;
  const auto path = write(dir, "missing.pt", write_torch_zip(w.data(), {}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"missing.pt", "archive/data/7"}));
}

TEST(TorchCheckpoint, compressed_storage_is_refused_naming_the_entry) {
  PickleWriter w;
  w.proto(2).op('}').str("w").tensor_v2("FloatStorage", "0", 1, 0, {1}, {1}).op('s').stop();
  auto zip = write_torch_zip(w.data(), {{"0", floats({1})}});
  testing::patch_le(zip.bytes, zip.local_offsets[2] + 8, 8, 2);
  testing::patch_le(zip.bytes, zip.central_offsets[2] + 10, 8, 2);
  TempDir dir;
  const auto path = write(dir, "deflated.pt", zip.bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"deflated.pt", "archive/data/0", "compressed"}));
}

TEST(TorchCheckpoint, non_contiguous_tensor_opens_with_its_strides_and_loads_compact) {
  PickleWriter w;  // a transposed 2x3 view (more layouts: test_torch_strided.cpp)
  w.proto(2).op('}').str("t").tensor_v2("FloatStorage", "0", 6, 0, {3, 2}, {1, 3}).op('s').stop();
  TempDir dir;
  const auto path =
      write(dir, "t.pt", write_torch_zip(w.data(), {{"0", floats({1, 2, 3, 4, 5, 6})}}).bytes);
  const Checkpoint c = Checkpoint::open(path);
  EXPECT_EQ(c.at("t").info.strides, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(loaded_bytes(load(c, cpu()), "t"), floats({1, 4, 2, 5, 3, 6}));
}

TEST(TorchCheckpoint, big_endian_checkpoint_is_refused_saying_what_to_do) {
  PickleWriter w;
  w.proto(2).op('}').str("w").tensor_v2("FloatStorage", "0", 1, 0, {1}, {1}).op('s').stop();
  TempDir dir;
  const auto path =
      write(dir, "be.pt", write_torch_zip(w.data(), {{"0", floats({1})}}, "big").bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"be.pt", "big-endian", "re-save"}));
}

TEST(TorchCheckpoint, hostile_pickle_inside_an_archive_is_refused_naming_file_and_global) {
  PickleWriter w;
  w.proto(2).global("posix", "system").str("rm -rf ~").op(static_cast<unsigned char>(0x85));
  w.op('R').stop();
  TempDir dir;
  const auto path = write(dir, "evil.bin", write_torch_zip(w.data(), {}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"evil.bin", "'posix system'"}));
}

TEST(TorchCheckpoint, archive_without_data_pkl_is_refused) {
  TempDir dir;
  const auto path = write(dir, "other.zip", testing::write_zip({{"readme.txt", "hi"}}).bytes);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::InvalidHeader,
                           {"other.zip", "data.pkl"}));
}

TEST(TorchCheckpoint, zip64_archive_is_read) {
  PickleWriter w;
  w.proto(2).op('}').str("w").tensor_v2("FloatStorage", "0", 2, 0, {2}, {1}).op('s').stop();
  TempDir dir;
  const auto zip = write_torch_zip(w.data(), {{"0", floats({1, 2})}}, "little", true);
  const Checkpoint c = Checkpoint::open(write(dir, "big.pt", zip.bytes));
  EXPECT_EQ(c.at("w").offset, zip.data_offsets[2]);
}

std::string one_tensor_archive(const std::string& name, const std::string& data) {
  PickleWriter w;
  w.proto(2).op('}').str(name);
  w.tensor_v2("FloatStorage", "0", data.size() / 4, 0, {data.size() / 4}, {1}).op('s').stop();
  return write_torch_zip(w.data(), {{"0", data}}).bytes;
}

TEST(TorchCheckpoint, directory_without_safetensors_loads_its_pytorch_model_bin_with_a_note) {
  TempDir dir;
  write(dir, "pytorch_model.bin", one_tensor_archive("w", floats({1, 2})));
  write(dir, "config.json", "{}");
  const Checkpoint c = Checkpoint::open(dir.path());
  ASSERT_EQ(c.tensors().size(), 1U);
  EXPECT_EQ(load(c, cpu()).at("w").bytes, 8U);
  ASSERT_EQ(c.notes().size(), 1U);
  EXPECT_NE(c.notes()[0].find("loading pytorch_model.bin"), std::string::npos) << c.notes()[0];
}

TEST(TorchCheckpoint, sharded_pytorch_model_bin_index_loads_every_shard) {
  TempDir dir;
  write(dir, "pytorch_model-00001-of-00002.bin", one_tensor_archive("a", floats({1, 2})));
  write(dir, "pytorch_model-00002-of-00002.bin", one_tensor_archive("b", floats({3})));
  write(
      dir, "pytorch_model.bin.index.json",
      R"({"metadata": {"total_size": 12}, "weight_map": {"a": "pytorch_model-00001-of-00002.bin",)"
      R"( "b": "pytorch_model-00002-of-00002.bin"}})");
  for (const auto& path : {dir.path(), dir.path() / "pytorch_model.bin.index.json"}) {
    const Checkpoint c = Checkpoint::open(path);
    ASSERT_EQ(c.files().size(), 2U);
    const LoadedModel model = load(c, cpu());
    EXPECT_EQ(loaded_bytes(model, "a"), floats({1, 2}));
    EXPECT_EQ(loaded_bytes(model, "b"), floats({3}));
  }
}

TEST(TorchCheckpoint, safetensors_beside_a_pytorch_model_bin_win_as_in_transformers) {
  TempDir dir;
  write(dir, "pytorch_model.bin", "not even a zip: never opened");
  const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string st(8, '\0');
  testing::patch_le(st, 0, header.size(), 8);
  write(dir, "model.safetensors", st + header + floats({5}));
  const Checkpoint c = Checkpoint::open(dir.path());
  EXPECT_EQ(c.files().front().path.filename(), "model.safetensors");
}

}  // namespace
}  // namespace stload
