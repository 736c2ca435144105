#pragma once
/// @file plan.hpp
/// @brief A LoadPlan: which bytes of which file go where, in chunks the pipeline can stream.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/placement.hpp"

namespace stload {

/// @brief Tensor offsets inside an arena are aligned to this many bytes.
inline constexpr std::uint64_t kArenaAlignment = 256;

/// @brief One device allocation holding every planned tensor of that device.
struct ArenaPlan {
  Device device;            ///< where the arena lives
  std::uint64_t bytes = 0;  ///< arena size, tensors and alignment padding
};

/// @brief One tensor's destination.
struct PlannedTensor {
  std::size_t tensor = 0;          ///< index into Checkpoint::tensors()
  std::size_t arena = 0;           ///< index into LoadPlan::arenas
  std::uint64_t arena_offset = 0;  ///< aligned to kArenaAlignment
};

/// @brief A run of file bytes that lands at `chunk_offset` inside its chunk.
struct Piece {
  std::size_t file = 0;            ///< index into Checkpoint::files()
  std::uint64_t file_offset = 0;   ///< absolute offset in the file
  std::uint64_t bytes = 0;         ///< length of the run
  std::uint64_t chunk_offset = 0;  ///< where the bytes go inside the chunk's staging slot
};

/// @brief One unit of streaming: one staging slot's worth, copied to one arena range at once.
/// Small neighbouring tensors of one file and one arena share a chunk; a tensor larger than a
/// chunk spans several. Every piece of a chunk comes from the same file.
struct Chunk {
  std::size_t arena = 0;           ///< index into LoadPlan::arenas
  std::uint64_t arena_offset = 0;  ///< where the chunk's first byte lands in the arena
  std::uint64_t bytes = 0;         ///< bytes to copy, padding between pieces included
  std::size_t first_piece = 0;     ///< index into LoadPlan::pieces
  std::size_t piece_count = 0;     ///< pieces of this chunk, from first_piece on
};

/// @brief What to load and how to cut it.
struct PlanOptions {
  DeviceMap device_map;                          ///< where tensors go (default: cpu:0)
  std::function<bool(std::string_view)> filter;  ///< load only names it accepts (all when empty)
  std::uint64_t chunk_bytes = 64ULL << 20U;      ///< largest chunk; the staging slot size
  /// @brief Memory available per device, for `auto` maps (limits in the map itself win).
  std::map<Device, std::uint64_t> available_memory;
  /// @brief Name patterns (name_rules.hpp: exact name, dotted prefix, `*` within a segment): load
  /// only tensors matching one of them (every tensor when empty). Combined with `filter`: a tensor
  /// must pass both. Unless `allow_unmatched`, a pattern matching no tensor of the checkpoint, or a
  /// selection of no tensor at all, fails the plan with InvalidArgument before anything is
  /// allocated.
  std::vector<std::string> only;
  bool allow_unmatched = false;  ///< true: an `only` pattern or filter that selects nothing is fine
};

/// @brief The plan of a load, made before any byte is copied.
struct LoadPlan {
  std::vector<ArenaPlan> arenas;       ///< one per device used
  std::vector<PlannedTensor> tensors;  ///< selected tensors, in checkpoint order
  std::vector<Piece> pieces;           ///< every chunk's pieces, chunk after chunk
  std::vector<Chunk> chunks;       ///< in file order, so reading streams each file front to back
  std::uint64_t tensor_bytes = 0;  ///< bytes of tensor data to load
  std::uint64_t chunk_bytes = 0;   ///< the chunk size the plan was cut with
};

/// @brief Plans a load of `checkpoint` under `options`.
/// @throws Error InvalidArgument for a tensor no rule maps or a bad chunk size; OutOfMemory when an
///         `auto` map cannot fit the model in the devices' limits.
[[nodiscard]] LoadPlan make_plan(const Checkpoint& checkpoint, const PlanOptions& options);

}  // namespace stload
