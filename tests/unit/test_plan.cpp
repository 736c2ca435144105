#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/plan.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;

constexpr Device kCpu0{DeviceKind::Cpu, 0};
constexpr Device kCpu1{DeviceKind::Cpu, 1};

TestTensor u8(std::string name, std::uint64_t bytes) {
  return {std::move(name), "U8", {bytes}, pattern_bytes(static_cast<std::size_t>(bytes), 1)};
}

std::vector<TestTensor> u8_many(const std::string& prefix, std::size_t count, std::uint64_t bytes) {
  std::vector<TestTensor> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(u8(prefix + std::to_string(i), bytes));
  return out;
}

class Plan : public ::testing::Test {
 protected:
  Checkpoint open(const std::vector<TestTensor>& tensors) {
    return Checkpoint::open(
        dir_.write("m" + std::to_string(files_++) + ".safetensors", make_safetensors(tensors)));
  }

  // Two files and the index that joins them.
  Checkpoint open_sharded(const std::vector<TestTensor>& first,
                          const std::vector<TestTensor>& second) {
    dir_.write("a.safetensors", make_safetensors(first));
    dir_.write("b.safetensors", make_safetensors(second));
    std::string map;
    for (const auto& t : first)
      map += (map.empty() ? "" : ",") + ("\"" + t.name + "\":\"a.safetensors\"");
    for (const auto& t : second) map += ",\"" + t.name + "\":\"b.safetensors\"";
    return Checkpoint::open(
        dir_.write_text("model.safetensors.index.json", "{\"weight_map\":{" + map + "}}"));
  }

  static PlanOptions options(std::uint64_t chunk_bytes, DeviceMap map = DeviceMap(kCpu0)) {
    PlanOptions options;
    options.device_map = std::move(map);
    options.chunk_bytes = chunk_bytes;
    return options;
  }

  TempDir dir_;
  int files_ = 0;
};

// Everything a plan promises, checked on any plan: aligned disjoint tensors inside their arenas;
// chunks no larger than the chunk size, from one file, each arena's in file order (arenas take
// turns: chunks_alternate_between_arenas_in_turn); pieces sorted, disjoint and
// inside their chunk; and every byte of every planned tensor covered once, landing where the
// tensor's arena offset says.
void expect_plan_invariants(const LoadPlan& plan, const Checkpoint& checkpoint) {
  const auto records = checkpoint.tensors();
  std::uint64_t total = 0;
  std::map<std::pair<std::size_t, std::uint64_t>, const PlannedTensor*> by_file_offset;
  std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges(plan.arenas.size());
  std::uint64_t source_total = 0;
  for (const PlannedTensor& t : plan.tensors) {
    const TensorRecord& record = records[t.tensor];
    ASSERT_LT(t.arena, plan.arenas.size());
    // The output spec is the record as stored (no slicing or conversion yet), and the sources
    // are exactly the record's file bytes, landing contiguously from output byte 0.
    EXPECT_EQ(t.name, record.info.name);
    EXPECT_EQ(t.output.dtype, record.info.dtype) << record.info.name;
    EXPECT_EQ(t.output.shape, record.info.shape) << record.info.name;
    EXPECT_EQ(t.output.bytes, record.bytes()) << record.info.name;
    std::uint64_t covered_output = 0;
    for (const SourceRange& source : t.sources) {
      EXPECT_EQ(source.file, record.file) << record.info.name;
      EXPECT_EQ(source.file_offset, record.offset + covered_output) << record.info.name;
      EXPECT_EQ(source.output_offset, covered_output) << record.info.name;
      EXPECT_GT(source.bytes, 0U) << record.info.name << ": an empty source range";
      covered_output += source.bytes;
      source_total += source.bytes;
    }
    EXPECT_EQ(covered_output, record.bytes()) << record.info.name << ": sources do not cover it";
    EXPECT_EQ(t.arena_offset % kArenaAlignment, 0U) << record.info.name;
    EXPECT_LE(t.arena_offset + record.bytes(), plan.arenas[t.arena].bytes) << record.info.name;
    ranges[t.arena].emplace_back(t.arena_offset, t.arena_offset + record.bytes());
    total += record.bytes();
    if (record.bytes() > 0) by_file_offset[{record.file, record.offset}] = &t;
  }
  EXPECT_EQ(plan.tensor_bytes, total);
  EXPECT_EQ(plan.source_bytes, source_total);
  for (auto& arena : ranges) {
    std::sort(arena.begin(), arena.end());
    for (std::size_t i = 1; i < arena.size(); ++i)
      EXPECT_LE(arena[i - 1].second, arena[i].first) << "tensors overlap in an arena";
  }

  std::map<const PlannedTensor*, std::uint64_t> covered;
  std::map<std::size_t, std::tuple<std::size_t, std::uint64_t>> previous;  // per arena
  std::uint64_t piece_total = 0;
  for (const Chunk& chunk : plan.chunks) {
    ASSERT_GT(chunk.piece_count, 0U);
    ASSERT_LE(chunk.first_piece + chunk.piece_count, plan.pieces.size());
    EXPECT_LE(chunk.bytes, plan.chunk_bytes);
    EXPECT_EQ(chunk.action, ChunkAction::Copy);
    const Piece* pieces = plan.pieces.data() + chunk.first_piece;
    const std::tuple<std::size_t, std::uint64_t> here{pieces[0].file, pieces[0].file_offset};
    EXPECT_LE(previous[chunk.arena], here) << "an arena's chunks are out of file order";
    previous[chunk.arena] = here;
    for (std::size_t p = 0; p < chunk.piece_count; ++p) {
      const Piece& piece = pieces[p];
      piece_total += piece.bytes;
      EXPECT_EQ(piece.file, pieces[0].file) << "a chunk reads from two files";
      EXPECT_LE(piece.chunk_offset + piece.bytes, chunk.bytes);
      if (p > 0) {
        EXPECT_LE(pieces[p - 1].chunk_offset + pieces[p - 1].bytes, piece.chunk_offset)
            << "pieces overlap or are out of order";
      }
      // The tensor this piece belongs to: the last one starting at or before it in its file.
      auto it = by_file_offset.upper_bound({piece.file, piece.file_offset});
      ASSERT_NE(it, by_file_offset.begin());
      --it;
      const PlannedTensor& owner = *it->second;
      const TensorRecord& record = records[owner.tensor];
      ASSERT_EQ(record.file, piece.file);
      ASSERT_LE(piece.file_offset + piece.bytes, record.offset + record.bytes())
          << "piece runs past its tensor " << record.info.name;
      EXPECT_EQ(chunk.arena, owner.arena) << record.info.name;
      EXPECT_EQ(chunk.arena_offset + piece.chunk_offset,
                owner.arena_offset + (piece.file_offset - record.offset))
          << record.info.name << " lands in the wrong place";
      EXPECT_EQ(piece.destination_offset, chunk.arena_offset + piece.chunk_offset)
          << record.info.name << ": a copied piece's destination is not its staging position";
      covered[&owner] += piece.bytes;
    }
    const Piece& last = pieces[chunk.piece_count - 1];
    EXPECT_EQ(last.chunk_offset + last.bytes, chunk.bytes) << "a chunk copies trailing padding";
  }
  EXPECT_EQ(piece_total, total) << "some bytes are read twice or never";
  for (const auto& [start, owner] : by_file_offset) {
    EXPECT_EQ(covered[owner], records[owner->tensor].bytes()) << records[owner->tensor].info.name;
  }
}

TEST_F(Plan, arena_offsets_are_aligned_to_256) {
  const Checkpoint checkpoint =
      open({u8("a", 1), u8("b", 3), u8("c", 255), u8("d", 257), u8("e", 256), u8("f", 1000)});
  const LoadPlan plan = make_plan(checkpoint, options(4096));
  ASSERT_EQ(plan.arenas.size(), 1U);
  std::vector<std::uint64_t> offsets;
  for (const auto& t : plan.tensors) offsets.push_back(t.arena_offset);
  EXPECT_EQ(offsets, (std::vector<std::uint64_t>{0, 256, 512, 768, 1280, 1536}));
  EXPECT_EQ(plan.arenas[0].bytes, 1536U + 1000U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, small_neighbours_share_a_chunk) {
  const Checkpoint checkpoint = open(u8_many("t", 100, 100));
  const LoadPlan plan = make_plan(checkpoint, options(4096));
  // Each tensor takes a 256-byte slot: sixteen fit in 4096 bytes (the last ends at 3940).
  EXPECT_EQ(plan.chunks.size(), 7U);
  EXPECT_EQ(plan.pieces.size(), 100U);
  EXPECT_EQ(plan.chunks.front().piece_count, 16U);
  EXPECT_EQ(plan.chunks.front().bytes, 15U * 256U + 100U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, one_huge_tensor_takes_ceil_of_bytes_over_chunk_chunks) {
  for (const std::uint64_t bytes : {10U * 4096U + 17U, 8U * 4096U, 4096U, 4097U, 1U}) {
    const Checkpoint checkpoint = open({u8("huge", bytes)});
    const LoadPlan plan = make_plan(checkpoint, options(4096));
    EXPECT_EQ(plan.chunks.size(), (bytes + 4095) / 4096) << bytes;
    EXPECT_EQ(plan.chunks.back().bytes, bytes % 4096 == 0 ? 4096 : bytes % 4096) << bytes;
    expect_plan_invariants(plan, checkpoint);
  }
}

TEST_F(Plan, huge_tensor_between_small_ones_keeps_its_neighbours_intact) {
  const Checkpoint checkpoint =
      open({u8("a", 10), u8("b", 20), u8("huge", 3 * 4096 + 5), u8("c", 30), u8("d", 40)});
  const LoadPlan plan = make_plan(checkpoint, options(4096));
  EXPECT_EQ(plan.chunks.size(), 1U + 4U + 1U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, chunks_are_in_file_order_across_files_and_arenas) {
  const Checkpoint checkpoint =
      open_sharded({u8("x.0", 3000), u8("y.0", 5000), u8("x.1", 100), u8("y.1", 100)},
                   {u8("x.2", 100), u8("y.2", 9000), u8("x.3", 2000), u8("y.3", 10)});
  ASSERT_EQ(checkpoint.files().size(), 2U);
  const LoadPlan plan =
      make_plan(checkpoint, options(4096, DeviceMap::from_rules({{"x", kCpu0}, {"y", kCpu1}})));
  ASSERT_EQ(plan.arenas.size(), 2U);
  expect_plan_invariants(plan, checkpoint);
}

// With a contiguous map the devices' chunks would otherwise come one device after the other,
// leaving all links but one idle (issue 13, defect 6).
TEST_F(Plan, chunks_alternate_between_arenas_in_turn) {
  const Checkpoint checkpoint = open(u8_many("t", 9, 4096));
  const LoadPlan plan =
      make_plan(checkpoint,
                options(4096, DeviceMap::from_rules({{"", kCpu0}, {"t6", kCpu1}, {"t7", kCpu1}})));
  ASSERT_EQ(plan.chunks.size(), 9U);
  std::vector<std::size_t> arenas;
  for (const Chunk& chunk : plan.chunks) arenas.push_back(chunk.arena);
  EXPECT_EQ(arenas, (std::vector<std::size_t>{0, 1, 0, 1, 0, 0, 0, 0, 0}));
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, a_chunk_never_spans_two_files) {
  // Tiny tensors in two files, contiguous in one arena: they would fit one chunk.
  const Checkpoint checkpoint = open_sharded(u8_many("a", 3, 10), u8_many("b", 3, 10));
  const LoadPlan plan = make_plan(checkpoint, options(1 << 20));
  EXPECT_EQ(plan.chunks.size(), 2U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, interleaved_devices_still_coalesce_per_arena) {
  std::vector<TestTensor> tensors;
  for (int i = 0; i < 10; ++i)
    tensors.push_back(u8((i % 2 ? "odd." : "even.") + std::to_string(i), 50));
  const Checkpoint checkpoint = open(tensors);
  const LoadPlan plan = make_plan(
      checkpoint, options(1 << 20, DeviceMap::from_rules({{"even", kCpu0}, {"odd", kCpu1}})));
  EXPECT_EQ(plan.chunks.size(), 2U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, arenas_are_one_per_device_in_first_use_order) {
  const Checkpoint checkpoint = open({u8("b.0", 10), u8("a.0", 10), u8("b.1", 10)});
  const LoadPlan plan =
      make_plan(checkpoint, options(4096, DeviceMap::from_rules({{"a", kCpu0}, {"b", kCpu1}})));
  ASSERT_EQ(plan.arenas.size(), 2U);
  EXPECT_EQ(plan.arenas[0].device, kCpu1);
  EXPECT_EQ(plan.arenas[1].device, kCpu0);
  EXPECT_EQ(plan.tensors[2].arena, 0U);
  EXPECT_EQ(plan.tensors[2].arena_offset, 256U);
}

TEST_F(Plan, filter_plans_only_accepted_tensors) {
  const Checkpoint checkpoint = open({u8("keep.a", 10), u8("drop.b", 99), u8("keep.c", 30)});
  // The map names only kept tensors: a filtered-out tensor needs no rule.
  PlanOptions opts = options(4096, DeviceMap::from_rules({{"keep", kCpu0}}));
  opts.filter = [](std::string_view name) { return name.starts_with("keep."); };
  const LoadPlan plan = make_plan(checkpoint, opts);
  ASSERT_EQ(plan.tensors.size(), 2U);
  EXPECT_EQ(checkpoint.tensors()[plan.tensors[0].tensor].info.name, "keep.a");
  EXPECT_EQ(checkpoint.tensors()[plan.tensors[1].tensor].info.name, "keep.c");
  EXPECT_EQ(plan.tensor_bytes, 40U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, zero_byte_tensors_get_offsets_and_no_pieces) {
  const Checkpoint checkpoint = open({u8("a", 10), {"empty", "F32", {0}, {}}, u8("b", 10)});
  const LoadPlan plan = make_plan(checkpoint, options(4096));
  ASSERT_EQ(plan.tensors.size(), 3U);
  EXPECT_EQ(plan.pieces.size(), 2U);
  EXPECT_EQ(plan.tensors[1].arena_offset % kArenaAlignment, 0U);
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, unmapped_tensor_is_invalid_argument_naming_it) {
  const Checkpoint checkpoint = open({u8("a.x", 10), u8("b.x", 10)});
  try {
    static_cast<void>(make_plan(checkpoint, options(4096, DeviceMap::from_rules({{"a", kCpu0}}))));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'b.x'"), std::string::npos) << e.what();
  }
}

TEST_F(Plan, rejects_chunk_sizes_that_are_not_positive_multiples_of_256) {
  const Checkpoint checkpoint = open({u8("a", 10)});
  for (const std::uint64_t chunk : {0U, 100U, 257U, 1000U}) {
    try {
      static_cast<void>(make_plan(checkpoint, options(chunk)));
      ADD_FAILURE() << chunk << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << chunk;
    }
  }
  EXPECT_NO_THROW(static_cast<void>(make_plan(checkpoint, options(256))));
}

TEST_F(Plan, auto_fills_devices_in_file_order_without_going_back) {
  const Checkpoint checkpoint = open({u8("a", 512), u8("b", 768), u8("c", 256)});
  const LoadPlan plan = make_plan(
      checkpoint,
      options(4096, DeviceMap::automatic({kCpu0, kCpu1}, {{kCpu0, 1024}, {kCpu1, 4096}})));
  ASSERT_EQ(plan.arenas.size(), 2U);
  const auto device_of = [&](std::size_t i) { return plan.arenas[plan.tensors[i].arena].device; };
  EXPECT_EQ(device_of(0), kCpu0);
  EXPECT_EQ(device_of(1), kCpu1);
  EXPECT_EQ(device_of(2), kCpu1) << "c would fit cpu:0 but auto never goes back";
  expect_plan_invariants(plan, checkpoint);
}

TEST_F(Plan, auto_limits_from_the_map_win_over_available_memory) {
  const Checkpoint checkpoint = open({u8("a", 512), u8("b", 768)});
  PlanOptions opts = options(4096, DeviceMap::automatic({kCpu0, kCpu1}, {{kCpu0, 512}}));
  opts.available_memory = {{kCpu0, 1 << 20}, {kCpu1, 1024}};
  const LoadPlan plan = make_plan(checkpoint, opts);
  ASSERT_EQ(plan.arenas.size(), 2U);
  EXPECT_EQ(plan.arenas[plan.tensors[0].arena].device, kCpu0);
  EXPECT_EQ(plan.arenas[plan.tensors[1].arena].device, kCpu1) << "cpu:1's limit came from "
                                                                 "available_memory";
}

TEST_F(Plan, auto_counts_alignment_padding_against_the_limit) {
  // Two 200-byte tensors take 2 x 256 bytes of arena: 400 bytes of limit is not enough.
  const Checkpoint checkpoint = open({u8("a", 200), u8("b", 200)});
  const LoadPlan plan =
      make_plan(checkpoint,
                options(4096, DeviceMap::automatic({kCpu0, kCpu1}, {{kCpu0, 400}, {kCpu1, 4096}})));
  ASSERT_EQ(plan.arenas.size(), 2U);
  EXPECT_LE(plan.arenas[0].bytes, 400U);
}

TEST_F(Plan, auto_that_cannot_fit_is_out_of_memory_naming_the_tensor) {
  const Checkpoint checkpoint = open({u8("small", 100), u8("big", 5000)});
  try {
    static_cast<void>(make_plan(
        checkpoint,
        options(4096, DeviceMap::automatic({kCpu0, kCpu1}, {{kCpu0, 1024}, {kCpu1, 1024}}))));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("'big'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cpu:1"), std::string::npos) << e.what();
  }
}

TEST_F(Plan, auto_with_no_devices_is_invalid_argument) {
  const Checkpoint checkpoint = open({u8("a", 10)});
  try {
    static_cast<void>(make_plan(checkpoint, options(4096, DeviceMap::automatic({}))));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  }
}

TEST_F(Plan, own_arena_tensors_get_one_arena_each_outside_the_map_and_auto_limits) {
  const Checkpoint checkpoint = open({u8("a", 300), u8("mine", 1000), u8("b", 300), u8("c", 10)});
  PlanOptions opts = options(4096, DeviceMap::automatic({kCpu0}, {{kCpu0, 1280}}));
  opts.own_arenas = {{"mine", kCpu1}};
  // a, b and c take 512 + 512 + 256 bytes of cpu:0, all its limit: the 1000 bytes of "mine" fit
  // only because, as its own arena on cpu:1 (the caller's memory), they count against no limit.
  const LoadPlan plan = make_plan(checkpoint, opts);
  expect_plan_invariants(plan, checkpoint);
  ASSERT_EQ(plan.arenas.size(), 2U);
  const PlannedTensor& mine = plan.tensors[1];
  ASSERT_EQ(mine.name, "mine");
  EXPECT_TRUE(plan.arenas[mine.arena].own);
  EXPECT_EQ(plan.arenas[mine.arena].device, kCpu1);
  EXPECT_EQ(plan.arenas[mine.arena].bytes, 1000U);
  EXPECT_EQ(mine.arena_offset, 0U);
  for (const std::size_t i : {0U, 2U, 3U}) {
    EXPECT_FALSE(plan.arenas[plan.tensors[i].arena].own) << plan.tensors[i].name;
    EXPECT_EQ(plan.arenas[plan.tensors[i].arena].device, kCpu0) << plan.tensors[i].name;
  }
}

// Random checkpoints (one or two files; mixed dtypes, scalars, empty and multi-dimensional
// tensors), random chunk sizes and device maps: every plan keeps its invariants, and each planned
// tensor's output spec is what the writer wrote (dtype, shape, size), not just what the checkpoint
// parsed.
TEST_F(Plan, random_checkpoints_plan_output_specs_equal_to_the_written_tensors) {
  struct Kind {
    const char* header;
    Dtype dtype;
    std::uint64_t size;
  };
  const std::vector<Kind> kinds = {{"U8", Dtype::U8, 1},   {"BOOL", Dtype::BOOL, 1},
                                   {"F16", Dtype::F16, 2}, {"BF16", Dtype::BF16, 2},
                                   {"F32", Dtype::F32, 4}, {"I64", Dtype::I64, 8},
                                   {"F64", Dtype::F64, 8}};
  std::mt19937 random(20261203);
  const auto below = [&](std::uint32_t n) { return static_cast<std::uint32_t>(random() % n); };
  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<TestTensor> written;
    std::map<std::string, std::pair<Dtype, std::vector<std::uint64_t>>> expected;
    const std::uint32_t count = 1 + below(10);
    for (std::uint32_t i = 0; i < count; ++i) {
      const Kind& kind = kinds[below(static_cast<std::uint32_t>(kinds.size()))];
      std::vector<std::uint64_t> shape(below(4));
      std::uint64_t elements = 1;
      for (std::size_t d = 0; d < shape.size(); ++d) {
        // The first tensor's first dimension may be long: it spans several chunks.
        shape[d] = below(5) == 0 ? 0 : 1 + below(i == 0 && d == 0 ? 3000 : 12);
        elements *= shape[d];
      }
      const std::string name = (below(2) == 0 ? "a." : "b.") + std::to_string(i);
      written.push_back({name, kind.header, shape,
                         pattern_bytes(static_cast<std::size_t>(elements * kind.size), i)});
      expected[name] = {kind.dtype, shape};
    }
    const bool sharded = count > 1 && below(2) == 0;
    const std::size_t split = sharded ? 1 + below(count - 1) : count;
    const Checkpoint checkpoint =
        sharded
            ? open_sharded({written.begin(), written.begin() + static_cast<std::ptrdiff_t>(split)},
                           {written.begin() + static_cast<std::ptrdiff_t>(split), written.end()})
            : open(written);
    const std::uint64_t chunk = 256ULL * (1 + below(32));
    DeviceMap map(kCpu0);
    if (below(3) == 1) map = DeviceMap::from_rules({{"a", kCpu0}, {"b", kCpu1}});
    if (below(3) == 2)
      map = DeviceMap::automatic({kCpu0, kCpu1}, {{kCpu0, 4096}, {kCpu1, 1ULL << 30U}});
    const LoadPlan plan = make_plan(checkpoint, options(chunk, map));
    expect_plan_invariants(plan, checkpoint);
    ASSERT_EQ(plan.tensors.size(), written.size());
    for (const PlannedTensor& t : plan.tensors) {
      const auto& [dtype, shape] = expected.at(t.name);
      EXPECT_EQ(t.output.dtype, dtype) << t.name;
      EXPECT_EQ(t.output.shape, shape) << t.name;
      std::uint64_t elements = 1;
      for (const auto dim : shape) elements *= dim;
      EXPECT_EQ(t.output.bytes, elements * bit_size(dtype) / 8) << t.name;
      EXPECT_LE(t.arena_offset + t.output.bytes, plan.arenas[t.arena].bytes) << t.name;
    }
  }
}

}  // namespace
}  // namespace stload
