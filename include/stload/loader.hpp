#pragma once
/// @file loader.hpp
/// @brief load(): streams a checkpoint into device arenas through a bounded staging ring.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/engine.hpp"
#include "stload/plan.hpp"
#include "stload/tensor_map.hpp"

namespace stload {

/// @brief Where a load stands; passed to the progress callback after every chunk.
struct Progress {
  std::uint64_t bytes_done = 0;        ///< tensor bytes copied so far, all files
  std::uint64_t bytes_total = 0;       ///< tensor bytes of the whole load
  std::size_t file = 0;                ///< the file the last chunk came from
  std::uint64_t file_bytes_done = 0;   ///< of that file
  std::uint64_t file_bytes_total = 0;  ///< of that file
};

/// @brief How file bytes reach the staging slots.
enum class ReadMethod : std::uint8_t {
  Pread,  ///< pread(2) with the kernel's readahead: a file partly in the page cache
  Mmap,   ///< a streaming copy from the mapping: fastest when the file is in the page cache
  /// Per file, by how much of its data is in the page cache (mincore): Mmap over 90%, Direct
  /// under 10% (Pread where the file system refuses O_DIRECT, counted in
  /// LoadStats::files_direct_fallback), Pread in between.
  Auto,
  /// O_DIRECT: the file opened again with O_DIRECT and read in aligned blocks, past the page
  /// cache (a cold file is neither cached nor does it evict others). Unaligned ranges go through
  /// an 8 MiB bounce buffer per reader. A file system that refuses O_DIRECT (EINVAL on open) is an
  /// InvalidArgument error naming the file; read such files with Pread or Mmap.
  Direct,
};
// Every way, a file truncated while it loads is a clean Io error naming the file and offset.

/// @brief Readers, staging budget and chunk size for a machine: what a load uses for the options
/// left at 0. With c cores (0: unknown, taken as 2) and d devices the load stages to (at least 1):
///   reader_threads = clamp(c / 2, 2, 16)       half the cores read, the rest copy and serve
///   chunk_bytes    = 64 MiB                     the best slot size measured (bench/RESULTS.md)
///   slots          = max(4, 2 * readers, 2 * d) two copies in flight per reader and per link
///   staging_bytes  = min(slots * chunk, 2 GiB)
/// On the 2-core development VM: 2 readers, 4 slots of 64 MiB, the defaults measured best there.
/// The 16-core figures are a formula, not yet a measurement.
struct LoadShape {
  std::size_t reader_threads = 0;
  std::uint64_t staging_bytes = 0;
  std::uint64_t chunk_bytes = 0;
};

/// @brief The shape above for `cores` cores and `devices` staged devices.
[[nodiscard]] LoadShape default_load_shape(unsigned cores, std::size_t devices) noexcept;

/// @brief Memory a caller's allocator handed out for one arena.
struct CallerAllocation {
  void* data = nullptr;           ///< aligned as asked; a device pointer for cuda:N
  std::function<void()> release;  ///< called once, when the arena is no longer used (may be empty)
};

/// @brief Allocates a load's arena on one device from the caller's memory (a server's own pool):
/// called with the arena's size and alignment (kArenaAlignment) on the loading thread, before
/// any byte moves. It may throw (the load then fails; what was already allocated is released)
/// and returns nullptr only for 0 bytes.
using ArenaAllocator =
    std::function<CallerAllocation(std::uint64_t bytes, std::uint64_t alignment)>;

/// @brief Memory of the caller's that one tensor is loaded into; the load neither frees it nor
/// keeps it alive: it must outlive the LoadedModel (and any DLPack export of the tensor).
struct TensorDestination {
  Device device;            ///< where `data` is (cuda:N: a device pointer of that GPU)
  void* data = nullptr;     ///< aligned to the tensor's element size at least
  std::uint64_t bytes = 0;  ///< at least the tensor's size (its output spec's bytes)
};

/// @brief Knobs of a load. The sizes and reader count left at 0 come from the machine
/// (default_load_shape); set ones win. With only chunk_bytes set, staging is slots of that chunk;
/// with only staging_bytes set, chunks are 64 MiB or the budget, whichever is smaller.
struct LoadOptions {
  EngineKind engine = EngineKind::Auto;  ///< used when load() is given no engine
  DeviceMap device_map;                  ///< default: every tensor on the engine's first device
                                         ///< (CopyEngine::devices(): cpu:0 or cuda:0)
  bool device_map_given = false;         ///< true: device_map applies even if default-constructed;
                                         ///< any map built otherwise applies regardless
  std::function<bool(std::string_view)> filter;  ///< load only the names it accepts
  /// @brief Name patterns (name_rules.hpp: exact name, dotted prefix, `*` within a segment): load
  /// only tensors matching one of them (every tensor when empty). Combined with `filter`: a tensor
  /// must pass both. Unless `allow_unmatched`, a pattern matching no tensor of the checkpoint, or a
  /// selection of no tensor at all, fails the plan with InvalidArgument before anything is
  /// allocated.
  std::vector<std::string> only;
  bool allow_unmatched = false;  ///< true: an `only` pattern or filter that selects nothing is fine
  std::uint64_t staging_bytes = 0;  ///< host staging budget, all slots together; at least
                                    ///< chunk_bytes, in every mode (0: from the machine)
  std::uint64_t chunk_bytes = 0;    ///< one slot; the largest single copy (0: from the machine)
  std::size_t reader_threads = 0;   ///< threads reading the files (0: from the machine)
  std::size_t streams = 2;          ///< copy queues per load (CUDA streams)
  ReadMethod read_method = ReadMethod::Auto;  ///< how bytes leave the files
  bool direct = true;  ///< write straight into host-addressable arenas, skipping staging
  /// @brief Called after each chunk from a reader thread (serialized); return false to cancel.
  std::function<bool(const Progress&)> progress;
  /// @brief Per device: arenas there come from the caller's allocator instead of the engine.
  std::map<Device, ArenaAllocator> allocators;
  /// @brief Tensor name → the caller's memory it is loaded into, on the destination's device
  /// whatever device_map says. Each is checked (tensor planned, memory large enough and aligned
  /// to the element size, device served by the engine) before anything is allocated.
  std::map<std::string, TensorDestination, std::less<>> destinations;
  /// @brief Zero-copy CPU tensors: each tensor placed on a CPU device is a view of a private
  /// copy-on-write mapping of its file instead of a copy (as the reference safetensors and
  /// llama.cpp load on the CPU): nothing is read during the load, pages come in from the page
  /// cache when first touched, and the LoadedModel (and any DLPack export) keeps the mapping.
  /// Writing into a view changes this process's copy of that page only, never the file.
  /// Rule for alignment: a tensor whose file offset is not a multiple of its element size (a file
  /// written without the reference writer's padding) is copied into an arena as without this
  /// option, so every view is aligned to its element type; LoadStats::tensors_copied_unaligned
  /// counts them. Tensors with a caller destination, and on GPUs, are copied as always.
  /// Caveat of every mapping: truncating the file while its views live makes touching them fault
  /// (SIGBUS); the load itself refuses a file whose size changed since it was opened (Io).
  bool zero_copy = false;
  /// @brief Tensor parallelism: load only this rank's part of the tensors the split rules name
  /// (tensor_parallel.hpp; `split_rule_set("llama")` for Llama-style names). Output shapes,
  /// arena sizes and `auto` placement follow the parts; only their bytes are read. A dim-0 part
  /// of a CPU tensor can still be a zero-copy view.
  TensorParallel tensor_parallel;
  /// @brief Dtype conversion (dtype_rules.hpp): tensors loaded as another dtype than the file's,
  /// converted as their chunks land (always through staging). The loaded model's dtypes and
  /// sizes are the targets'. Refused conversions fail before anything is allocated. Converted
  /// tensors are never zero-copy views.
  DtypeConversion dtype;
};

/// @brief What a load did.
struct LoadStats {
  std::string engine;           ///< "cpu" or "cuda"
  std::uint64_t tensors = 0;    ///< tensors loaded
  std::uint64_t bytes = 0;      ///< tensor bytes loaded
  std::uint64_t chunks = 0;     ///< chunks streamed
  double plan_seconds = 0;      ///< planning
  double allocate_seconds = 0;  ///< arenas
  double setup_seconds = 0;     ///< staging ring and copy queues (pinned memory, streams, events):
                                ///< near 0 once the engine pools them, from its second load on
  double copy_seconds = 0;      ///< reading and copying, until the last copy completed
  double total_seconds = 0;     ///< the whole load()
  std::uint64_t peak_rss_anon_bytes = 0;      ///< peak anonymous RSS of the process during the load
  std::uint64_t baseline_rss_anon_bytes = 0;  ///< anonymous RSS before the load began
  /// @brief Peak and baseline file-backed RSS (RssFile): page-cache pages of the process's
  /// mappings, a checkpoint's among them. `top`'s RES adds these to the anonymous figure, so a CPU
  /// load read from the mapping shows about twice the model there; these pages are the kernel's
  /// cache, shared and reclaimable, not memory the load holds.
  std::uint64_t peak_rss_file_bytes = 0;
  std::uint64_t baseline_rss_file_bytes = 0;
  std::uint64_t staging_bytes = 0;         ///< staging actually allocated (0 in direct mode)
  std::uint64_t files_read_by_mmap = 0;    ///< files read from their mapping
  std::uint64_t files_read_by_pread = 0;   ///< files read with pread
  std::uint64_t files_read_by_direct = 0;  ///< files read with O_DIRECT
  /// Files Auto chose to read with O_DIRECT (cold ones) whose file system refused it: read with
  /// pread instead (and counted in files_read_by_pread too).
  std::uint64_t files_direct_fallback = 0;
  std::uint64_t tensors_viewed = 0;  ///< tensors that are views of their file (zero_copy)
  std::uint64_t bytes_viewed = 0;    ///< their bytes (in `bytes`; nothing was copied for them)
  std::uint64_t tensors_copied_unaligned = 0;  ///< zero_copy tensors copied instead: file offset
                                               ///< not a multiple of their element size
  std::vector<std::pair<Device, std::uint64_t>> device_bytes;  ///< arena bytes per device
                                                               ///< (caller destinations included,
                                                               ///< file views not: not allocated)
  /// @brief Bytes copied (bytes less bytes_viewed) / copy_seconds, in GB/s (10^9 bytes); 0
  /// before a copy. Output bytes: a converted tensor counts its loaded size, not its file's.
  [[nodiscard]] double gigabytes_per_second() const noexcept {
    return copy_seconds > 0 ? static_cast<double>(bytes - bytes_viewed) / copy_seconds / 1e9 : 0.0;
  }
};

/// @brief Loads `checkpoint` as `options` say.
/// @param checkpoint an opened checkpoint; it may be destroyed once load() returns
/// @param options device map, filter, staging and threading knobs
/// @param engine the engine to use; when null one is made from options.engine
/// @param stats when given, receives what the load did
/// @throws Error InvalidArgument for a bad device map or option (before anything is allocated),
///         OutOfMemory, Io, Cuda or Cancelled; everything allocated is released first.
[[nodiscard]] LoadedModel load(const Checkpoint& checkpoint, const LoadOptions& options = {},
                               std::shared_ptr<CopyEngine> engine = nullptr,
                               LoadStats* stats = nullptr);

}  // namespace stload
