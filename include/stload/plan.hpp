#pragma once
/// @file plan.hpp
/// @brief A LoadPlan: which bytes of which file go where, in chunks the pipeline can stream.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/dtype.hpp"
#include "stload/dtype_rules.hpp"
#include "stload/placement.hpp"
#include "stload/tensor_parallel.hpp"

namespace stload {

/// @brief Tensor offsets inside an arena are aligned to this many bytes.
inline constexpr std::uint64_t kArenaAlignment = 256;

/// @brief One device allocation holding every planned tensor of that device, or (for a tensor
/// given an arena of its own, PlanOptions::own_arenas) that one tensor.
struct ArenaPlan {
  Device device;            ///< where the arena lives
  std::uint64_t bytes = 0;  ///< arena size, tensors and alignment padding
  bool own = false;         ///< an arena of one tensor, at offset 0 (a caller's destination)
  /// @brief A view of file `file` itself (PlanOptions::view_devices): the loader maps the file
  /// privately instead of allocating, its tensors sit at their file offsets, no chunk copies into
  /// it, and `bytes` is the file's size.
  bool file_view = false;
  std::size_t file = 0;  ///< with file_view: index into Checkpoint::files()
};

/// @brief A run of one file's bytes that a planned tensor is built from.
struct SourceRange {
  std::size_t file = 0;             ///< index into Checkpoint::files()
  std::uint64_t file_offset = 0;    ///< absolute offset in the file
  std::uint64_t bytes = 0;          ///< length of the run in the file
  std::uint64_t output_offset = 0;  ///< where the run's bytes go inside the tensor's output
};

/// @brief What a planned tensor is once loaded: the checkpoint's record, unless the plan slices
/// it (tensor parallelism) or converts it (PlanOptions::dtype); and everything after planning
/// (arena sizes, `auto` placement, the loaded model's views) reads it from here.
struct OutputSpec {
  Dtype dtype = Dtype::U8;           ///< element type of the loaded tensor
  std::vector<std::uint64_t> shape;  ///< dimensions, row-major and compact; empty for a scalar
  std::uint64_t bytes = 0;           ///< size of the loaded tensor
};

/// @brief One tensor of the plan: what it becomes, where it comes from and where it lands.
struct PlannedTensor {
  std::size_t tensor = 0;            ///< index into Checkpoint::tensors()
  std::string name;                  ///< the name the loaded model shows
  OutputSpec output;                 ///< the loaded tensor's dtype, shape and size
  std::vector<SourceRange> sources;  ///< file runs it is built from; none for a 0-byte tensor
  std::size_t arena = 0;             ///< index into LoadPlan::arenas
  std::uint64_t arena_offset = 0;    ///< destination of output byte 0; aligned to kArenaAlignment
};

/// @brief A run of file bytes. It is staged at `chunk_offset` inside its chunk's slot (or inside
/// the chunk's arena range when the chunk is read directly into the arena) and lands at
/// `destination_offset` in the arena. With ChunkAction::Copy the two agree:
/// destination_offset == Chunk::arena_offset + chunk_offset. With ChunkAction::Convert,
/// `bytes` and `chunk_offset` count source (file) bytes and `destination_offset` output bytes:
/// the piece lands as bytes / size(from) * size(to) bytes there.
struct Piece {
  std::size_t file = 0;                  ///< index into Checkpoint::files()
  std::uint64_t file_offset = 0;         ///< absolute offset in the file
  std::uint64_t bytes = 0;               ///< length of the run
  std::uint64_t chunk_offset = 0;        ///< staging position: offset inside the chunk's slot
  std::uint64_t destination_offset = 0;  ///< where the run's bytes land, from the arena's start
};

/// @brief What the copy step does with a chunk's staged bytes.
enum class ChunkAction : std::uint8_t {
  Copy,     ///< the staged bytes land as they are, `bytes` of them at `arena_offset`
  Convert,  ///< each piece's elements are converted from Chunk::from to Chunk::to as they land
  /// A run of a strided tensor's storage (TensorInfo::strides) is staged, and the elements of
  /// one box of the tensor (LoadPlan::gathers[Chunk::gather]) are copied out of it to their
  /// compact row-major places in the output.
  Gather,
};

/// @brief How a strided tensor's elements sit in its storage (TensorInfo::strides), for the
/// copy step of its Gather chunks.
struct StridedLayout {
  std::vector<std::uint64_t> shape;   ///< the tensor's dimensions (its output's too)
  std::vector<std::uint64_t> stride;  ///< per dimension, in elements of the storage
  std::uint64_t element_bytes = 1;    ///< size of one element
};

/// @brief The elements one Gather chunk copies: a box of index ranges [begin[d], end[d]) of a
/// strided tensor. The chunk's one piece stages the storage run from the box's first element
/// (index `begin`) to its last, so the element at index i is staged at
/// sum_d (i[d] - begin[d]) * stride[d] * element_bytes; it lands at the piece's
/// destination_offset (the tensor's output byte 0) + its row-major index * element_bytes. A
/// tensor's boxes partition its elements, and each box's storage run fits one chunk, so staging
/// stays within the chunk size however large the tensor (the boxes follow the storage order:
/// whole dimensions of small strides, a range of one, single indices of the larger ones).
struct GatherBox {
  std::size_t layout = 0;            ///< index into LoadPlan::layouts
  std::vector<std::uint64_t> begin;  ///< first index of the box, per dimension
  std::vector<std::uint64_t> end;    ///< one past its last index, per dimension
  std::uint64_t elements = 0;        ///< elements in the box: the product of end - begin
};

/// @brief One unit of streaming: one staging slot's worth, copied to one arena range at once.
/// Small neighbouring tensors of one file and one arena share a chunk; a tensor larger than a
/// chunk spans several. Every piece of a chunk comes from the same file.
struct Chunk {
  std::size_t arena = 0;           ///< index into LoadPlan::arenas
  std::uint64_t arena_offset = 0;  ///< where the chunk's first byte lands in the arena
  std::uint64_t bytes = 0;         ///< bytes staged and copied, padding between pieces included
  std::size_t first_piece = 0;     ///< index into LoadPlan::pieces
  std::size_t piece_count = 0;     ///< pieces of this chunk, from first_piece on
  ChunkAction action = ChunkAction::Copy;  ///< what the copy step does with the staged bytes
  /// @brief With ChunkAction::Convert: the dtype staged (the file's) and the one landing (the
  /// output's). A converting chunk holds pieces of one tensor only. It is staged, or, in a direct
  /// load into a host-addressable arena, read and converted by the pipeline a block at a time.
  Dtype from = Dtype::U8;
  Dtype to = Dtype::U8;  ///< see `from`
  /// @brief With ChunkAction::Gather: index into LoadPlan::gathers. Such a chunk holds one piece
  /// (`bytes` of storage, at most the chunk size), is always staged, and `arena_offset` is its
  /// tensor's output byte 0.
  std::size_t gather = 0;
};

/// @brief What to load and how to cut it.
struct PlanOptions {
  DeviceMap device_map;                          ///< where tensors go (default: cpu:0)
  std::function<bool(std::string_view)> filter;  ///< load only names it accepts (all when empty)
  std::uint64_t chunk_bytes = 64ULL << 20U;      ///< largest chunk; the staging slot size
  /// @brief Memory available per device, for `auto` maps (limits in the map itself win).
  std::map<Device, std::uint64_t> available_memory;
  /// @brief Tensors that get an arena of their own on the given device, whatever the device map
  /// says, outside any `auto` limit (memory the caller already has: a destination of its own).
  std::map<std::string, Device, std::less<>> own_arenas;
  /// @brief Name patterns (name_rules.hpp: exact name, dotted prefix, `*` within a segment): load
  /// only tensors matching one of them (every tensor when empty). Combined with `filter`: a tensor
  /// must pass both. Unless `allow_unmatched`, a pattern matching no tensor of the checkpoint, or a
  /// selection of no tensor at all, fails the plan with InvalidArgument before anything is
  /// allocated.
  std::vector<std::string> only;
  bool allow_unmatched = false;  ///< true: an `only` pattern or filter that selects nothing is fine
  /// @brief Host devices whose tensors become views of their file (zero-copy, LoadOptions::
  /// zero_copy) instead of copies: each such tensor whose absolute file offset is a multiple of
  /// its element size is placed in a file_view arena at that offset. A tensor whose offset is not
  /// (a file written without alignment padding) is copied as usual, so that every view stays
  /// aligned to its element type, and counted in LoadPlan::unaligned_copies.
  std::vector<Device> view_devices;
  /// @brief This rank's part of the tensors its split rules name (tensor_parallel.hpp): each
  /// planned tensor's output spec is the part, its sources only the file bytes of the part.
  TensorParallel tensor_parallel;
  /// @brief Dtypes to load tensors as (dtype_rules.hpp): a converted tensor's output dtype and
  /// bytes are the target's, and its chunks convert (ChunkAction::Convert).
  DtypeConversion dtype;
};

/// @brief The plan of a load, made before any byte is copied.
struct LoadPlan {
  std::vector<ArenaPlan> arenas;       ///< one per device used
  std::vector<PlannedTensor> tensors;  ///< selected tensors, in checkpoint order
  std::vector<Piece> pieces;           ///< every chunk's pieces, chunk after chunk
  std::vector<Chunk> chunks;  ///< in file order, so reading streams each file front to back
  std::vector<StridedLayout> layouts;   ///< one per strided tensor planned (Gather chunks)
  std::vector<GatherBox> gathers;       ///< one per Gather chunk
  std::uint64_t tensor_bytes = 0;       ///< bytes of the loaded tensors: their output sizes summed
  std::uint64_t source_bytes = 0;       ///< bytes read from the files: the source ranges summed
  std::uint64_t chunk_bytes = 0;        ///< the chunk size the plan was cut with
  std::uint64_t viewed_tensors = 0;     ///< tensors that are views of their file (file_view arenas)
  std::uint64_t viewed_bytes = 0;       ///< their bytes (in tensor_bytes, not in source_bytes)
  std::uint64_t unaligned_copies = 0;   ///< tensors on a view device copied instead: their file
                                        ///< offset is not a multiple of their element size
  std::uint64_t converted_tensors = 0;  ///< tensors whose output dtype differs from the file's
  std::uint64_t gathered_tensors = 0;   ///< strided tensors made compact by Gather chunks
};

/// @brief Plans a load of `checkpoint` under `options`.
/// @throws Error InvalidArgument for a tensor no rule maps, a bad chunk size, a dtype
///         conversion that is not supported, or a strided tensor asked to convert or to be
///         sliced (tensor parallelism), or whose layout scatters its elements too thinly for
///         Gather chunks; OutOfMemory when an
///         `auto` map cannot fit the model in the devices' limits.
[[nodiscard]] LoadPlan make_plan(const Checkpoint& checkpoint, const PlanOptions& options);

}  // namespace stload
