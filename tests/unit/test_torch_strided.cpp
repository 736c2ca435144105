// Strided tensors of PyTorch checkpoints (views torch.save writes as they are: transposes,
// permutes, slices with gaps, expand's stride 0, views at a storage offset) load compact, row by
// row as torch's .contiguous() would make them. Every expected tensor is computed here, element
// by element from the storage and the strides, independently of the plan's boxes.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/convert.hpp"
#include "stload/loader.hpp"
#include "stload/plan.hpp"
#include "stload/tensor_map.hpp"
#include "support/counting_engine.hpp"
#include "support/forwarding_engine.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

using testing::PickleWriter;
using testing::TempDir;
using testing::throws_error;
using testing::write_torch_zip;

struct View {
  std::string name;
  std::string storage_type;  // torch.<Type>Storage
  Dtype dtype;
  std::uint64_t element;  // bytes
  std::uint64_t numel;    // storage elements
  std::uint64_t offset;   // storage offset, elements
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> stride;
};

// Distinct bytes per storage, so that a misplaced element shows.
std::string storage_bytes(const View& v, unsigned seed) {
  std::string s(v.numel * v.element, '\0');
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<char>((i * 131 + seed * 29 + 7) % 251);
  return s;
}

// The reference: each row-major index unravelled, its storage element found from the strides.
std::string expected(const View& v, const std::string& storage) {
  std::uint64_t count = 1;
  for (const std::uint64_t d : v.shape) count *= d;
  std::string out;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t rest = i;
    std::uint64_t at = v.offset;
    for (std::size_t d = v.shape.size(); d-- > 0;) {
      at += (rest % v.shape[d]) * v.stride[d];
      rest /= v.shape[d];
    }
    out.append(storage, at * v.element, v.element);
  }
  return out;
}

struct Written {
  std::filesystem::path path;
  std::vector<std::string> storages;  // per view
};

// Each view in a storage of its own (key = its index), plus a compact tensor "plain" after them.
Written write_views(const TempDir& dir, const std::vector<View>& views,
                    const std::string& file = "views.pt") {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  std::vector<std::pair<std::string, std::string>> entries;
  Written out;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const View& v = views[i];
    w.str(v.name).tensor_v2(v.storage_type, std::to_string(i), v.numel, v.offset, v.shape,
                            v.stride);
    out.storages.push_back(storage_bytes(v, static_cast<unsigned>(i)));
    entries.emplace_back(std::to_string(i), out.storages.back());
  }
  w.str("plain").tensor_v2("FloatStorage", "plain", 3, 0, {3}, {1});
  entries.emplace_back("plain", std::string("abcdefghijkl"));
  w.op('u').stop();
  const std::string zip = write_torch_zip(w.data(), entries).bytes;
  out.path = dir.write(file, std::as_bytes(std::span(zip.data(), zip.size())));
  return out;
}

std::string loaded(const LoadedModel& model, std::string_view name) {
  const TensorView& t = model.at(name);
  return {static_cast<const char*>(t.data), static_cast<std::size_t>(t.bytes)};
}

std::vector<View> every_layout() {
  return {
      {"t_f32", "FloatStorage", Dtype::F32, 4, 12, 0, {4, 3}, {1, 4}},  // (3, 4).T
      {"t_bf16", "BFloat16Storage", Dtype::BF16, 2, 35, 0, {7, 5}, {1, 7}},
      {"t_f16", "HalfStorage", Dtype::F16, 2, 35, 0, {5, 7}, {1, 5}},
      {"t_i64", "LongStorage", Dtype::I64, 8, 6, 0, {3, 2}, {1, 3}},
      {"t_u8", "ByteStorage", Dtype::U8, 1, 36, 0, {9, 4}, {1, 9}},
      {"permute3", "FloatStorage", Dtype::F32, 4, 24, 0, {4, 2, 3}, {1, 12, 4}},  // (2,0,1)
      {"permute4", "DoubleStorage", Dtype::F64, 8, 120, 0, {5, 3, 2, 4}, {1, 20, 60, 5}},
      {"gaps", "FloatStorage", Dtype::F32, 4, 24, 0, {4, 3}, {6, 2}},       // x[:, ::2]
      {"corner", "IntStorage", Dtype::I32, 4, 20, 6, {3, 4}, {5, 1}},       // x[1:, 1:]
      {"steps", "ShortStorage", Dtype::I16, 2, 54, 11, {3, 3}, {18, 3}},    // x[1::2, 2::3]
      {"expand_row", "FloatStorage", Dtype::F32, 4, 5, 0, {4, 5}, {0, 1}},  // (1, 5) expanded
      {"expand_col", "HalfStorage", Dtype::F16, 2, 3, 0, {3, 6}, {1, 0}},   // (3, 1) expanded
      {"expand_two", "FloatStorage", Dtype::F32, 4, 4, 0, {2, 3, 4}, {0, 0, 1}},
      {"overlap", "ByteStorage", Dtype::U8, 1, 5, 0, {3, 3}, {1, 1}},  // as_strided windows
  };
}

void expect_views(const LoadedModel& model, const std::vector<View>& views, const Written& w,
                  const std::string& config) {
  for (std::size_t i = 0; i < views.size(); ++i) {
    const View& v = views[i];
    const TensorView& t = model.at(v.name);
    EXPECT_EQ(t.dtype, v.dtype) << v.name << config;
    EXPECT_EQ(t.shape, v.shape) << v.name << config;
    EXPECT_EQ(loaded(model, v.name), expected(v, w.storages[i])) << v.name << config;
  }
  EXPECT_EQ(loaded(model, "plain"), "abcdefghijkl") << config;
}

TEST(TorchStrided, every_layout_loads_as_its_row_major_copy_in_every_cpu_mode) {
  TempDir dir;
  const auto views = every_layout();
  const Written w = write_views(dir, views);
  const Checkpoint checkpoint = Checkpoint::open(w.path);
  EXPECT_TRUE(checkpoint.at("t_f32").info.strided());
  EXPECT_EQ(checkpoint.at("t_f32").info.strides, (std::vector<std::uint64_t>{1, 4}));
  EXPECT_FALSE(checkpoint.at("plain").info.strided());
  // The record covers the storage span the elements reach: 2 + 3 * 6 + ... for x[1::2, 2::3].
  EXPECT_EQ(checkpoint.at("steps").bytes(), (1 + 2 * 18 + 2 * 3) * 2U);
  EXPECT_EQ(checkpoint.at("expand_row").bytes(), 5 * 4U);
  for (const bool direct : {true, false}) {
    for (const std::uint64_t chunk : {std::uint64_t{256}, std::uint64_t{1} << 20}) {
      LoadOptions options;
      options.engine = EngineKind::Cpu;
      options.direct = direct;
      options.chunk_bytes = chunk;
      options.staging_bytes = chunk * 4;
      options.reader_threads = 2;
      options.streams = 2;
      const std::string config =
          " direct=" + std::to_string(direct) + " chunk=" + std::to_string(chunk);
      expect_views(load(checkpoint, options), views, w, config);
    }
  }
}

TEST(TorchStrided, tensors_larger_than_a_chunk_span_many_chunks_none_over_the_chunk_size) {
  TempDir dir;
  const std::vector<View> views = {
      // (96, 64).T: a storage row of 64 floats fills a 256-byte chunk exactly.
      {"wide", "FloatStorage", Dtype::F32, 4, 96 * 64, 0, {64, 96}, {1, 64}},
      // (8, 200).T: one storage row (800 bytes) is more than a chunk, so boxes take part of it.
      {"long_rows", "FloatStorage", Dtype::F32, 4, 8 * 200, 0, {200, 8}, {1, 200}},
      // A permute of (6, 50, 7) whose middle dimension is split across chunks.
      {"permuted", "DoubleStorage", Dtype::F64, 8, 6 * 50 * 7, 0, {7, 6, 50}, {1, 350, 7}},
      // Every other row of (40, 30): the gaps are staged too, and still bounded.
      {"gaps", "FloatStorage", Dtype::F32, 4, 40 * 30, 0, {20, 30}, {60, 1}},
  };
  const Written w = write_views(dir, views);
  const Checkpoint checkpoint = Checkpoint::open(w.path);
  PlanOptions plan_options;
  plan_options.chunk_bytes = 256;
  const LoadPlan plan = make_plan(checkpoint, plan_options);
  EXPECT_EQ(plan.gathered_tensors, views.size());
  EXPECT_EQ(plan.layouts.size(), views.size());
  std::vector<std::uint64_t> elements(plan.layouts.size(), 0);
  std::uint64_t gather_chunks = 0;
  for (const Chunk& chunk : plan.chunks) {
    EXPECT_LE(chunk.bytes, 256U);
    if (chunk.action != ChunkAction::Gather) continue;
    ++gather_chunks;
    ASSERT_EQ(chunk.piece_count, 1U);
    EXPECT_EQ(plan.pieces[chunk.first_piece].bytes, chunk.bytes);
    const GatherBox& box = plan.gathers[chunk.gather];
    elements[box.layout] += box.elements;
  }
  for (std::size_t i = 0; i < views.size(); ++i) {
    std::uint64_t count = 1;
    for (const std::uint64_t d : plan.layouts[i].shape) count *= d;
    EXPECT_EQ(elements[i], count) << "the boxes of layout " << i << " cover every element once";
  }
  // Bounded plan: about one chunk per chunk of storage span, never one per element.
  std::uint64_t span_chunks = 0;
  for (const View& v : views) span_chunks += (checkpoint.at(v.name).bytes() + 255) / 256;
  EXPECT_LE(gather_chunks, 3 * span_chunks);
  std::uint64_t all_elements = 0;
  for (const View& v : views) all_elements += v.numel;
  EXPECT_LT(gather_chunks, all_elements / 8);

  for (const bool direct : {true, false}) {
    LoadOptions options;
    options.engine = EngineKind::Cpu;
    options.direct = direct;
    options.chunk_bytes = 256;
    options.staging_bytes = 256 * 3;
    options.reader_threads = 3;
    expect_views(load(checkpoint, options), views, w, direct ? " direct" : " staged");
  }
}

TEST(TorchStrided, strides_reaching_past_the_storage_are_refused_naming_tensor_and_stride) {
  TempDir dir;
  // (3, 2) with stride (1, 4) reaches element 1 * 2 + 4 = 6 of a storage of 6.
  const Written w =
      write_views(dir, {{"t", "FloatStorage", Dtype::F32, 4, 6, 0, {3, 2}, {1, 4}}}, "past.pt");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(w.path); }, ErrorCode::InvalidOffset,
                           {"past.pt", "tensor 't'", "stride (1, 4)", "archive/data/0"}));
  // Within the storage from element 0 (1 + 2 * 2 + 3 = 8 of 12), not from element 6.
  const Written o =
      write_views(dir, {{"t", "FloatStorage", Dtype::F32, 4, 12, 6, {3, 2}, {2, 3}}}, "offset.pt");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(o.path); }, ErrorCode::InvalidOffset,
                           {"tensor 't'", "at element 6"}));
}

TEST(TorchStrided, overflowing_strides_and_sizes_are_refused_not_wrapped) {
  TempDir dir;
  const std::uint64_t big = std::uint64_t{1} << 62;
  // (5 - 1) * 2^62 does not fit 64 bits.
  const Written span =
      write_views(dir, {{"t", "FloatStorage", Dtype::F32, 4, 6, 0, {5, 2}, {big, big}}}, "span.pt");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(span.path); },
                           ErrorCode::ValidationOverflow, {"tensor 't'", "storage span"}));
  // The span fits 64 bits as elements, not as bytes: refused as past the storage.
  const Written bytes =
      write_views(dir, {{"t", "FloatStorage", Dtype::F32, 4, 6, 0, {3, 2}, {big, 1}}}, "bytes.pt");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(bytes.path); }, ErrorCode::InvalidOffset,
                           {"tensor 't'"}));
  // Stride 0 over 2^62 elements: a storage of one float, an output of 2^64 bytes.
  const Written wide = write_views(dir,
                                   {{"t",
                                     "FloatStorage",
                                     Dtype::F32,
                                     4,
                                     1,
                                     0,
                                     {std::uint64_t{1} << 31, std::uint64_t{1} << 31},
                                     {0, 0}}},
                                   "wide.pt");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(wide.path); },
                           ErrorCode::ValidationOverflow, {"tensor 't'", "size of shape"}));
}

TEST(TorchStrided, a_negative_stride_is_refused_by_the_pickle_reader) {
  TempDir dir;
  const std::uint64_t minus_one = ~std::uint64_t{0};  // written as the int -1
  const Written w = write_views(
      dir, {{"t", "FloatStorage", Dtype::F32, 4, 6, 0, {3, 2}, {minus_one, 3}}}, "neg.pt");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(w.path); }, ErrorCode::InvalidHeader,
                           {"stride", "non-negative"}));
}

TEST(TorchStrided, a_strided_tensor_is_not_converted_and_says_so_before_allocating) {
  TempDir dir;
  const auto views = every_layout();
  const Written w = write_views(dir, views);
  const Checkpoint checkpoint = Checkpoint::open(w.path);
  auto engine = std::make_shared<testing::CountingEngine>(make_cpu_engine());
  LoadOptions options;
  options.dtype.rules = {{"t_bf16", Dtype::F32}};
  EXPECT_TRUE(throws_error([&] { (void)load(checkpoint, options, engine); },
                           ErrorCode::InvalidArgument,
                           {"tensor 't_bf16'", "strided", "stride (1, 7)", ".contiguous()"}));
  EXPECT_EQ(engine->allocations(), 0U);
  // A conversion rule that leaves the strided tensors alone still loads them gathered.
  options.dtype.rules = {{"plain", Dtype::F64}};
  const LoadedModel model = load(checkpoint, options, engine);
  EXPECT_EQ(loaded(model, "t_bf16"), expected(views[1], w.storages[1]));
  EXPECT_EQ(model.at("plain").dtype, Dtype::F64);
}

// An engine with its strided copy hidden: what an engine without gathers_strided (the CUDA
// engine today) gets.
class NoGather final : public testing::ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;
  [[nodiscard]] std::string name() const override { return "nogather"; }
  [[nodiscard]] bool gathers_strided() const override { return false; }
};

TEST(TorchStrided, an_engine_that_cannot_gather_is_refused_naming_the_tensor) {
  TempDir dir;
  const Written w = write_views(dir, {every_layout()[0], every_layout()[5]});
  const Checkpoint checkpoint = Checkpoint::open(w.path);
  auto counting = std::make_shared<testing::CountingEngine>(make_cpu_engine());
  auto engine = std::make_shared<NoGather>(counting);
  EXPECT_TRUE(throws_error([&] { (void)load(checkpoint, LoadOptions{}, engine); },
                           ErrorCode::InvalidArgument,
                           {"the nogather engine cannot copy strided tensors", "tensor 't_f32'",
                            "(and 1 more)", "cpu engine", ".contiguous()"}));
  EXPECT_EQ(counting->allocations(), 0U);
  // Without the strided tensors the same engine loads.
  LoadOptions only;
  only.only = {"plain"};
  EXPECT_EQ(loaded(load(checkpoint, only, engine), "plain"), "abcdefghijkl");
}

TEST(TorchStrided, tensor_parallel_parts_of_a_strided_tensor_are_its_sub_boxes) {
  TempDir dir;
  // (6, 4).T: shape (4, 6), stride (1, 4); the split dimension 1 cuts storage rows apart.
  const View v{"t", "FloatStorage", Dtype::F32, 4, 24, 0, {4, 6}, {1, 4}};
  const Written w = write_views(dir, {v});
  const Checkpoint checkpoint = Checkpoint::open(w.path);
  for (const std::size_t dim : {0U, 1U}) {
    for (std::uint64_t rank = 0; rank < 2; ++rank) {
      LoadOptions options;
      options.engine = EngineKind::Cpu;
      options.chunk_bytes = 256;
      options.staging_bytes = 1024;
      options.tensor_parallel.world = 2;
      options.tensor_parallel.rank = rank;
      options.tensor_parallel.split = {{"t", dim}};
      View part = v;
      part.shape[dim] /= 2;
      part.offset += rank * part.shape[dim] * v.stride[dim];
      const LoadedModel model = load(checkpoint, options);
      EXPECT_EQ(model.at("t").shape, part.shape) << dim << " " << rank;
      EXPECT_EQ(loaded(model, "t"), expected(part, w.storages[0])) << dim << " " << rank;
    }
  }
}

TEST(TorchStrided, zero_copy_copies_a_strided_tensor_instead_of_viewing_its_storage) {
  TempDir dir;
  const auto views = every_layout();
  const Written w = write_views(dir, views);
  const Checkpoint checkpoint = Checkpoint::open(w.path);
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  options.zero_copy = true;
  expect_views(load(checkpoint, options), views, w, " zero_copy");
  PlanOptions plan_options;
  plan_options.view_devices = {Device{}};
  const LoadPlan plan = make_plan(checkpoint, plan_options);
  EXPECT_EQ(plan.viewed_tensors, 1U);  // "plain" only
  EXPECT_EQ(plan.gathered_tensors, views.size());
}

TEST(TorchStrided, convert_writes_the_contiguous_bytes_of_a_strided_tensor) {
  TempDir dir;
  const auto views = every_layout();
  const Written w = write_views(dir, views);
  for (const std::uint64_t shard : {std::uint64_t{0}, std::uint64_t{200}}) {
    const auto out = dir.path() / ("out" + std::to_string(shard));
    ConvertOptions options;
    options.shard_bytes = shard;
    const std::filesystem::path target =
        shard == 0 ? std::filesystem::path(out.string() + ".safetensors") : out;
    const ConvertResult result = convert(w.path, target, options);
    const Checkpoint converted = Checkpoint::open(target);
    std::uint64_t total = 12;  // "plain"
    for (std::size_t i = 0; i < views.size(); ++i) {
      const TensorRecord& r = converted.at(views[i].name);
      EXPECT_FALSE(r.info.strided());
      EXPECT_EQ(r.info.dtype, views[i].dtype);
      EXPECT_EQ(r.info.shape, views[i].shape);
      const auto bytes = converted.tensor_bytes(r);
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                expected(views[i], w.storages[i]))
          << views[i].name << " shard " << shard;
      total += bytes.size();
    }
    const auto plain = converted.tensor_bytes(converted.at("plain"));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(plain.data()), plain.size()),
              "abcdefghijkl");
    EXPECT_EQ(result.bytes, total);
  }
}

}  // namespace
}  // namespace stload
