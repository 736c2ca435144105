#pragma once
/// @file engine.hpp
/// @brief CopyEngine: the seam between the engine-agnostic pipeline and the hardware.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "stload/placement.hpp"
#include "stload/plan.hpp"

namespace stload {

/// @brief Memory an engine allocated: a device arena or a staging slot. Freed by its destructor.
class Buffer {
 public:
  virtual ~Buffer() = default;
  /// @brief First byte (a device pointer for GPU arenas); nullptr for a zero-byte buffer.
  [[nodiscard]] virtual std::byte* data() const noexcept = 0;
  /// @brief Size in bytes.
  [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;
  /// @brief Where the memory is (cpu:0 for staging).
  [[nodiscard]] virtual Device device() const noexcept = 0;
};

/// @brief One load's copies: a completion tracker per staging slot and the load's copy queues
/// (CUDA streams, worker threads). Made by CopyEngine::begin() for one load and used by that load
/// only, so loads sharing an engine never see each other's slots. Different slots may be used from
/// different threads at once; one slot from one thread at a time.
class CopySession {
 public:
  /// @brief Waits for every outstanding copy, then releases the queues and trackers. Never throws:
  /// error paths destroy sessions too. Destroy it before the staging memory its copies read.
  virtual ~CopySession() = default;
  CopySession() = default;
  CopySession(const CopySession&) = delete;
  CopySession& operator=(const CopySession&) = delete;

  /// @brief Starts copying `bytes` from `source` (inside a staging buffer) to `arena` at `offset`.
  /// The slot's previous copy must have been waited for.
  virtual void copy_async(std::size_t slot, const std::byte* source, Buffer& arena,
                          std::uint64_t offset, std::uint64_t bytes) = 0;
  /// @brief Starts converting a ChunkAction::Convert chunk staged at `source` into `arena`: each
  /// of `pieces` (the chunk's, in LoadPlan::pieces) holds bytes / size(chunk.from) elements at
  /// source + chunk_offset, landing as chunk.to at destination_offset. Same ordering and wait
  /// rules as copy_async (the slot's wait covers it).
  /// @throws Error InvalidArgument by default: an engine that converts overrides it (and
  ///         CopyEngine::converts_dtypes)
  virtual void convert_async(std::size_t slot, const std::byte* source, Buffer& arena,
                             const Chunk& chunk, std::span<const Piece> pieces);
  /// @brief Starts a ChunkAction::Gather chunk staged at `source`: the elements of `box` (of a
  /// tensor laid out as `layout`) are copied from their staged places to their compact row-major
  /// places in `arena`, from `piece.destination_offset` on (plan.hpp, GatherBox). Same ordering
  /// and wait rules as copy_async.
  /// @throws Error InvalidArgument by default: an engine that gathers overrides it (and
  ///         CopyEngine::gathers_strided)
  virtual void gather_async(std::size_t slot, const std::byte* source, Buffer& arena,
                            const Piece& piece, const StridedLayout& layout, const GatherBox& box);
  /// @brief Blocks until the slot's last copy is complete. @throws Error if that copy failed
  virtual void wait(std::size_t slot) = 0;
};

/// @brief Which engine a load uses; an engine's own kind() is Cpu or Cuda, never Auto.
enum class EngineKind : std::uint8_t { Auto, Cpu, Cuda };

/// @brief Allocates arenas and staging memory and opens copy sessions. Every member may be called
/// from several threads at once, so one engine serves concurrent loads; the per-load copy state
/// lives in the CopySession each load opens.
class CopyEngine {
 public:
  virtual ~CopyEngine() = default;

  /// @brief "cpu" or "cuda", for messages and stats; decisions ask kind().
  [[nodiscard]] virtual std::string name() const = 0;
  /// @brief EngineKind::Cpu or EngineKind::Cuda.
  [[nodiscard]] virtual EngineKind kind() const = 0;
  /// @brief The devices this engine loads onto, first the one a load with no device map uses;
  /// an empty `auto` map spreads over them in this order. The CPU engine: cpu:0, then each
  /// cpu:N of its capacity option; the CUDA engine: cuda:0 to cuda:N-1 (it also serves cpu:N
  /// arenas, which a map must name). Never empty.
  [[nodiscard]] virtual std::vector<Device> devices() const = 0;
  /// @brief Whether this engine can place memory on `device`.
  [[nodiscard]] virtual bool serves(Device device) const = 0;
  /// @brief Free memory on `device` (0 when unknown), for `auto` device maps.
  [[nodiscard]] virtual std::uint64_t free_memory(Device device) const = 0;
  /// @brief True when arenas on `device` are plain host memory that readers may write directly,
  /// skipping staging (the CPU engine's direct mode).
  [[nodiscard]] virtual bool host_addressable(Device device) const = 0;

  /// @brief True when this engine's sessions implement CopySession::convert_async: a load that
  /// converts dtypes on an engine that does not is refused before anything is allocated.
  [[nodiscard]] virtual bool converts_dtypes() const { return false; }
  /// @brief True when this engine's sessions implement CopySession::gather_async: a load of a
  /// strided tensor on an engine that does not is refused before anything is allocated.
  [[nodiscard]] virtual bool gathers_strided() const { return false; }

  /// @brief One arena. @throws Error OutOfMemory naming the device and size
  [[nodiscard]] virtual std::unique_ptr<Buffer> allocate_arena(Device device,
                                                               std::uint64_t bytes) = 0;
  /// @brief Host memory the engine copies from fastest (pinned for CUDA). @throws Error OutOfMemory
  [[nodiscard]] virtual std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) = 0;

  /// @brief Opens one load's session with `slots` copy trackers and `streams` queues per device,
  /// for copies to `devices` only (the devices of the load's plan): no other device is touched.
  /// @throws Error (Cuda, OutOfMemory) when its streams or trackers cannot be made; nothing leaks
  [[nodiscard]] virtual std::unique_ptr<CopySession> begin(std::size_t slots, std::size_t streams,
                                                           std::span<const Device> devices) = 0;

  /// @brief Copies arena bytes back to host memory (verification, digests, save).
  virtual void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) = 0;
};

/// @brief Settings of the CPU engine.
struct CpuEngineOptions {
  /// @brief Memory each `cpu:N` device may hand out (unset: the host's MemAvailable). Lets tests
  /// and `auto` maps treat host memory as several small devices.
  std::map<Device, std::uint64_t> capacity;
  /// @brief Touch arena pages when allocating, outside the timed copy, as cudaMalloc'd memory is
  /// ready to use; off, first-touch page faults land inside the copy.
  bool prefault_arenas = true;
};

/// @brief Host memory plays every device (`cpu:N`); worker threads play streams.
[[nodiscard]] std::shared_ptr<CopyEngine> make_cpu_engine(const CpuEngineOptions& options = {});

/// @brief The CUDA engine. @throws Error Cuda when CUDA is not compiled in or no device answers
[[nodiscard]] std::shared_ptr<CopyEngine> make_cuda_engine();

/// @brief True when this build has the CUDA engine compiled in.
[[nodiscard]] bool cuda_compiled_in() noexcept;

/// @brief Number of CUDA devices that answer (0 without a driver or GPU, or without CUDA support).
[[nodiscard]] int cuda_device_count() noexcept;

/// @brief Engine by kind. Auto: CUDA when compiled in and a device answers, else CPU; `note`
/// (when given) receives one line saying why the CPU engine was chosen.
/// @throws Error Cuda when Cuda is asked for and unavailable
[[nodiscard]] std::shared_ptr<CopyEngine> make_engine(EngineKind kind, std::string* note = nullptr);

}  // namespace stload
