// A Checkpoint opened from one .safetensors file: what it exposes, and how bad headers fail.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

using testing::make_raw;
using testing::make_raw_with_length;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;
using testing::throws_error;

std::uint64_t length_prefix(const std::vector<std::byte>& file) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8U) | std::to_integer<std::uint64_t>(file[static_cast<std::size_t>(i)]);
  return n;
}

bool same_bytes(std::span<const std::byte> got, const std::vector<std::byte>& want) {
  return std::equal(got.begin(), got.end(), want.begin(), want.end());
}

class CheckpointSingleFile : public ::testing::Test {
 protected:
  void SetUp() override {
    tensors_ = {{"embed.weight", "F32", {2, 2}, pattern_bytes(16, 1)},
                {"norm.bias", "BF16", {3}, pattern_bytes(6, 2)},
                {"empty", "U8", {0}, {}},
                {"head.weight", "U8", {5}, pattern_bytes(5, 3)}};
    bytes_ = make_safetensors(tensors_, {{"format", "pt"}, {"note", "single"}});
    path_ = dir_.write("model.safetensors", bytes_);
  }

  TempDir dir_;
  std::vector<TestTensor> tensors_;
  std::vector<std::byte> bytes_;
  std::filesystem::path path_;
};

TEST_F(CheckpointSingleFile, lists_every_tensor_in_data_offset_order) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  const auto tensors = ckpt.tensors();
  ASSERT_EQ(tensors.size(), tensors_.size());
  const std::uint64_t data_offset = 8 + length_prefix(bytes_);
  std::uint64_t expected_begin = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    // The empty tensor sits at the same offset as its successor; sorting by (begin, end) puts it
    // first.
    SCOPED_TRACE(tensors[i].info.name);
    EXPECT_EQ(tensors[i].file, 0U);
    EXPECT_EQ(tensors[i].info.begin, expected_begin);
    EXPECT_EQ(tensors[i].offset, data_offset + tensors[i].info.begin);
    expected_begin = tensors[i].info.end;
  }
  EXPECT_EQ(expected_begin, bytes_.size() - data_offset);
}

TEST_F(CheckpointSingleFile, find_returns_the_record_or_null) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  for (const TestTensor& t : tensors_) {
    const TensorRecord* record = ckpt.find(t.name);
    ASSERT_NE(record, nullptr) << t.name;
    EXPECT_EQ(record->info.name, t.name);
    EXPECT_EQ(record->info.shape, t.shape);
    EXPECT_EQ(record->bytes(), t.data.size());
  }
  EXPECT_EQ(ckpt.find("missing"), nullptr);
  EXPECT_EQ(ckpt.find(""), nullptr);
  EXPECT_EQ(ckpt.find("embed.weigh"), nullptr);
  EXPECT_EQ(ckpt.find("__metadata__"), nullptr);
}

TEST_F(CheckpointSingleFile, at_returns_the_same_record_as_find) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  EXPECT_EQ(&ckpt.at("norm.bias"), ckpt.find("norm.bias"));
  EXPECT_EQ(ckpt.at("norm.bias").info.dtype, Dtype::BF16);
}

TEST_F(CheckpointSingleFile, at_throws_tensor_not_found_naming_the_tensor) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  EXPECT_TRUE(throws_error([&] { (void)ckpt.at("lm_head.weight"); }, ErrorCode::TensorNotFound,
                           {"lm_head.weight", path_.string()}));
}

TEST_F(CheckpointSingleFile, total_bytes_sums_every_tensor) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  std::uint64_t sum = 0;
  for (const TestTensor& t : tensors_) sum += t.data.size();
  EXPECT_EQ(ckpt.total_bytes(), sum);
}

TEST_F(CheckpointSingleFile, metadata_is_the_files_metadata) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  const std::map<std::string, std::string> want{{"format", "pt"}, {"note", "single"}};
  EXPECT_EQ(ckpt.metadata(), want);
}

TEST_F(CheckpointSingleFile, tensor_bytes_equal_the_bytes_written) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  for (const TestTensor& t : tensors_) {
    EXPECT_TRUE(same_bytes(ckpt.tensor_bytes(ckpt.at(t.name)), t.data)) << t.name;
  }
}

TEST_F(CheckpointSingleFile, file_bytes_are_the_whole_file) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  EXPECT_TRUE(same_bytes(ckpt.file_bytes(0), bytes_));
  EXPECT_TRUE(throws_error([&] { (void)ckpt.file_bytes(1); }, ErrorCode::InvalidArgument, {"1"}));
}

TEST_F(CheckpointSingleFile, tensor_bytes_refuses_a_record_outside_the_file) {
  const Checkpoint ckpt = Checkpoint::open(path_);
  TensorRecord foreign = ckpt.at("head.weight");
  foreign.offset = bytes_.size() - 2;  // runs 3 bytes past the end of the mapping
  EXPECT_TRUE(throws_error([&] { (void)ckpt.tensor_bytes(foreign); }, ErrorCode::InvalidArgument,
                           {"head.weight"}));
}

TEST_F(CheckpointSingleFile, file_info_describes_the_file_as_opened) {
  // A path with a "." component: FileInfo keeps it as given, not canonicalized.
  const std::filesystem::path as_given = dir_.path() / "." / "model.safetensors";
  const Checkpoint ckpt = Checkpoint::open(as_given);
  ASSERT_EQ(ckpt.files().size(), 1U);
  const FileInfo& info = ckpt.files()[0];
  EXPECT_EQ(info.path, as_given);
  EXPECT_EQ(info.size, std::filesystem::file_size(path_));
  EXPECT_EQ(info.size, bytes_.size());
  EXPECT_EQ(info.data_offset, 8 + length_prefix(bytes_));
  EXPECT_EQ(info.metadata.at("format"), "pt");
}

TEST_F(CheckpointSingleFile, survives_being_moved) {
  Checkpoint first = Checkpoint::open(path_);
  Checkpoint second = std::move(first);
  EXPECT_TRUE(same_bytes(second.tensor_bytes(second.at("embed.weight")), tensors_[0].data));
  Checkpoint third = Checkpoint::open(path_);
  third = std::move(second);
  EXPECT_EQ(third.find("norm.bias")->info.name, "norm.bias");
}

TEST(CheckpointSingleFileAccepts, header_without_tensors) {
  TempDir dir;
  const auto path = dir.write("empty.safetensors", make_raw("{}      ", 0));
  const Checkpoint ckpt = Checkpoint::open(path);
  EXPECT_TRUE(ckpt.tensors().empty());
  EXPECT_EQ(ckpt.total_bytes(), 0U);
  EXPECT_TRUE(ckpt.metadata().empty());
  ASSERT_EQ(ckpt.files().size(), 1U);
  EXPECT_EQ(ckpt.files()[0].data_offset, 16U);
}

// Each bad header must fail with the parser's format code, and the message must say which file.
struct BadHeader {
  const char* name;
  std::vector<std::byte> bytes;
  ErrorCode code;
};
void PrintTo(const BadHeader& bad, std::ostream* out) {
  *out << bad.name;
}

class CheckpointSingleFileRejects : public ::testing::TestWithParam<BadHeader> {};

TEST_P(CheckpointSingleFileRejects, with_format_code_naming_the_file) {
  TempDir dir;
  const auto path = dir.write(std::string(GetParam().name) + ".safetensors", GetParam().bytes);
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(path); }, GetParam().code, {path.string()}));
}

const std::string kOneTensor = R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";

INSTANTIATE_TEST_SUITE_P(
    BadHeaders, CheckpointSingleFileRejects,
    ::testing::Values(
        BadHeader{"too_small", std::vector<std::byte>(5, std::byte{0}), ErrorCode::HeaderTooSmall},
        BadHeader{"too_large", make_raw_with_length(200'000'000, "{}", 0),
                  ErrorCode::HeaderTooLarge},
        BadHeader{"length_past_end", make_raw_with_length(4096, "{}", 0),
                  ErrorCode::InvalidHeaderLength},
        BadHeader{"not_utf8", make_raw("{\"\xff\":1}", 0), ErrorCode::InvalidHeader},
        BadHeader{"not_json", make_raw("{not json", 0), ErrorCode::InvalidHeaderDeserialization},
        BadHeader{"gap", make_raw(R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[1,5]}})", 5),
                  ErrorCode::InvalidOffset},
        BadHeader{"wrong_span",
                  make_raw(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
                  ErrorCode::TensorInvalidInfo},
        BadHeader{"data_too_long", make_raw(kOneTensor, 5), ErrorCode::MetadataIncompleteBuffer},
        BadHeader{"data_too_short", make_raw(kOneTensor, 3), ErrorCode::MetadataIncompleteBuffer}),
    [](const ::testing::TestParamInfo<BadHeader>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace stload
