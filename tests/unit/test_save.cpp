#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/loader.hpp"
#include "stload/save.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::pattern_bytes;
using testing::TempDir;

// Owns the bytes a TensorData points to.
struct Owned {
  std::string name;
  Dtype dtype;
  std::vector<std::uint64_t> shape;
  std::vector<std::byte> bytes;
};

std::vector<Owned> sample(std::uint32_t seed = 1) {
  return {
      {"z.weight", Dtype::BF16, {3, 5}, pattern_bytes(30, seed)},
      {"a.bias", Dtype::F32, {7}, pattern_bytes(28, seed + 1)},
      {"m.scalar", Dtype::F64, {}, pattern_bytes(8, seed + 2)},
      {"b.flags", Dtype::BOOL, {9}, pattern_bytes(9, seed + 3)},
      {"c.empty", Dtype::I32, {0, 4}, {}},
      {"d.f4", Dtype::F4, {2, 3}, pattern_bytes(3, seed + 4)},
      {"e.f6", Dtype::F6_E2M3, {4}, pattern_bytes(3, seed + 5)},
      {"k.i64", Dtype::I64, {2}, pattern_bytes(16, seed + 6)},
      {"q.c64", Dtype::C64, {1}, pattern_bytes(8, seed + 7)},
  };
}

std::vector<TensorData> views(const std::vector<Owned>& owned) {
  std::vector<TensorData> out;
  for (const Owned& t : owned) out.push_back({t.name, t.dtype, t.shape, t.bytes});
  return out;
}

std::vector<char> slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Names in the directory, to catch a temporary file left behind.
std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

template <class F>
ErrorCode code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no stload::Error";
  return ErrorCode::Io;
}

TEST(Save, round_trips_names_dtypes_shapes_and_bytes) {
  TempDir dir;
  const auto tensors = sample();
  const auto path = dir.path() / "out.safetensors";
  save(path, views(tensors));
  const Checkpoint checkpoint = Checkpoint::open(path);
  ASSERT_EQ(checkpoint.tensors().size(), tensors.size());
  for (const Owned& t : tensors) {
    const TensorRecord& record = checkpoint.at(t.name);
    EXPECT_EQ(record.info.dtype, t.dtype) << t.name;
    EXPECT_EQ(record.info.shape, t.shape) << t.name;
    const auto bytes = checkpoint.tensor_bytes(record);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), t.bytes.begin(), t.bytes.end())) << t.name;
  }
}

TEST(Save, orders_by_dtype_alignment_then_name) {
  TempDir dir;
  const auto path = dir.path() / "out.safetensors";
  save(path, views(sample()));
  const Checkpoint checkpoint = Checkpoint::open(path);
  std::vector<std::string> order;
  for (const TensorRecord& t : checkpoint.tensors()) order.push_back(t.info.name);  // file order
  // 64-bit (C64, F64, I64 by name), 32 (F32, I32), 16, 8 (BOOL), 6 (F6), 4 (F4).
  EXPECT_EQ(order, (std::vector<std::string>{"k.i64", "m.scalar", "q.c64", "a.bias", "c.empty",
                                             "z.weight", "b.flags", "e.f6", "d.f4"}));
  // Largest alignment first keeps every tensor aligned to its element size in the data section.
  for (const TensorRecord& t : checkpoint.tensors()) {
    const std::uint64_t element = std::max<std::uint64_t>(bit_size(t.info.dtype) / 8, 1);
    EXPECT_EQ(t.info.begin % element, 0U) << t.info.name;
  }
}

TEST(Save, pads_the_header_to_eight_bytes_with_spaces) {
  TempDir dir;
  for (std::size_t extra = 0; extra < 8; ++extra) {  // names of every length mod 8
    const auto path = dir.path() / ("p" + std::to_string(extra) + ".safetensors");
    const std::vector<std::byte> one(1);
    const TensorData t{"t" + std::string(extra, 'x'), Dtype::U8, {1}, one};
    save(path, std::span(&t, 1));
    const auto bytes = slurp(path);
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ(n % 8, 0U) << extra;
    EXPECT_EQ(bytes.size(), 8 + n + 1);
    const std::string header(bytes.data() + 8, n);
    const auto close = header.rfind('}');
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << header;
    EXPECT_LT(header.size() - close - 1, 8U) << "more padding than needed";
  }
}

TEST(Save, writes_metadata_with_escapes) {
  TempDir dir;
  const auto path = dir.path() / "meta.safetensors";
  const std::map<std::string, std::string> metadata{{"format", "pt"},
                                                    {"quote\"d", "back\\slash"},
                                                    {"ctl", "line\nbreak\ttab\x01"},
                                                    {"utf8", "h\xc3\xa9llo"}};
  save(path, views(sample()), metadata);
  const Checkpoint checkpoint = Checkpoint::open(path);
  EXPECT_EQ(checkpoint.metadata(), metadata);
}

TEST(Save, rejects_duplicate_names_and_leaves_nothing) {
  TempDir dir;
  auto tensors = sample();
  tensors.push_back(tensors.front());
  const auto path = dir.path() / "dup.safetensors";
  EXPECT_EQ(code_of([&] { save(path, views(tensors)); }), ErrorCode::InvalidArgument);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(Save, rejects_byte_count_that_disagrees_with_dtype_and_shape) {
  TempDir dir;
  auto tensors = sample();
  tensors[1].bytes.pop_back();  // F32 [7] needs 28 bytes, not 27
  const auto path = dir.path() / "size.safetensors";
  EXPECT_EQ(code_of([&] { save(path, views(tensors)); }), ErrorCode::InvalidArgument);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(Save, rejects_a_tensor_called_metadata) {
  TempDir dir;
  const std::vector<std::byte> one(1);
  const TensorData t{"__metadata__", Dtype::U8, {1}, one};
  EXPECT_EQ(code_of([&] { save(dir.path() / "m.safetensors", std::span(&t, 1)); }),
            ErrorCode::InvalidArgument);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(Save, rejects_a_shape_that_is_not_whole_bytes) {
  TempDir dir;
  const TensorSpec spec{"odd", Dtype::F4, {3}};  // 12 bits
  EXPECT_EQ(code_of([&] {
              save(dir.path() / "f4.safetensors", std::span(&spec, 1), {},
                   [](std::size_t, std::uint64_t, std::span<std::byte>) {});
            }),
            ErrorCode::MisalignedSlice);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(Save, failure_while_writing_leaves_no_temporary_and_keeps_the_old_file) {
  TempDir dir;
  const auto path = dir.path() / "keep.safetensors";
  save(path, views(sample(1)));
  const auto before = slurp(path);
  const std::vector<TensorSpec> specs{{"a", Dtype::U8, {100}}, {"b", Dtype::U8, {100}}};
  EXPECT_THROW(save(path, specs, {},
                    [](std::size_t index, std::uint64_t, std::span<std::byte> out) {
                      if (index == 1) throw Error(ErrorCode::Io, "source went away");
                      std::fill(out.begin(), out.end(), std::byte{1});
                    }),
               Error);
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"keep.safetensors"});
  EXPECT_EQ(slurp(path), before) << "a failed save replaced the file";
}

TEST(Save, missing_directory_is_an_io_error) {
  TempDir dir;
  EXPECT_EQ(code_of([&] { save(dir.path() / "no" / "such.safetensors", views(sample())); }),
            ErrorCode::Io);
}

TEST(Save, streams_large_tensors_through_the_fill_callback_in_blocks) {
  TempDir dir;
  const std::uint64_t bytes = (8ULL << 20U) + 123;  // more than one write block
  const TensorSpec spec{"big", Dtype::U8, {bytes}};
  std::uint64_t asked = 0;
  const auto pattern = [](std::uint64_t i) { return static_cast<std::byte>((i * 7 + 3) & 0xFFU); };
  save(dir.path() / "big.safetensors", std::span(&spec, 1), {},
       [&](std::size_t, std::uint64_t offset, std::span<std::byte> out) {
         EXPECT_EQ(offset, asked) << "blocks out of order";
         for (std::size_t i = 0; i < out.size(); ++i) out[i] = pattern(offset + i);
         asked += out.size();
       });
  EXPECT_EQ(asked, bytes);
  const Checkpoint checkpoint = Checkpoint::open(dir.path() / "big.safetensors");
  const auto data = checkpoint.tensor_bytes(checkpoint.at("big"));
  bool same = data.size() == bytes;
  for (std::uint64_t i = 0; same && i < bytes; i += 4093) same = data[i] == pattern(i);
  EXPECT_TRUE(same && data[bytes - 1] == pattern(bytes - 1));
}

TEST(Save, loaded_model_saves_back_to_an_identical_file) {
  TempDir dir;
  const auto original = dir.path() / "original.safetensors";
  const std::map<std::string, std::string> metadata{{"format", "pt"}};
  save(original, views(sample(9)), metadata);
  const Checkpoint checkpoint = Checkpoint::open(original);
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  const LoadedModel model = load(checkpoint, options);
  const auto copy = dir.path() / "copy.safetensors";
  save(copy, model, metadata);
  EXPECT_EQ(slurp(copy), slurp(original));
}

}  // namespace
}  // namespace stload
