#include "pipeline.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <span>
#include <thread>

#include "cpu/convert_elements.hpp"
#include "cpu/host_memory.hpp"
#include "cpu/streaming_copy.hpp"
#include "detail/check.hpp"
#include "detail/nvtx.hpp"
#include "io/file_source.hpp"

namespace stload::detail {
namespace {

constexpr std::uint64_t kSlotAlignment = 4096;

// A direct converting chunk is read, converted and written out a block at a time, through two
// buffers of the reader's: its input (the file's dtype) and its output (the arena's), each at most
// kBlockBytes, small enough to stay in the core's cache from the read that fills the one to the
// streaming copy that empties the other, large enough that a pread per block costs little. The
// conversion writes into cache, and only the streaming copy writes the arena: converting straight
// into the arena cost a read-for-ownership of every line, which held BF16 -> F16 to 0.36x of a
// plain load's rate.
constexpr std::uint64_t kBlockBytes = std::uint64_t{128} << 10U;
// Shorter outputs (a small tensor, a piece's last block) are written by memcpy.
constexpr std::size_t kStreamedBlockMinBytes = 4096;

class Pipeline {
 public:
  Pipeline(const Checkpoint::Impl& checkpoint, const LoadPlan& plan,
           std::vector<std::unique_ptr<Buffer>>& arenas, CopyEngine& engine,
           const LoadOptions& options)
      : checkpoint_(checkpoint), plan_(plan), arenas_(arenas), engine_(engine), options_(options) {
    for (const auto& arena : arenas_) {
      const bool host = engine_.host_addressable(arena->device());
      direct_.push_back(options_.direct && host);
      // A slot bound for a device is read by its DMA engine, not this CPU; a slot bound for host
      // memory is read by the CPU engine's copy right away, so caching it pays there.
      stream_staged_.push_back(!host);
    }
    file_total_.assign(checkpoint_.files.size(), 0);
    file_done_.assign(checkpoint_.files.size(), 0);
    for (const Piece& piece : plan_.pieces) file_total_[piece.file] += piece.bytes;
  }

  PipelineFigures run() {
    PipelineFigures figures;
    const ResidentMemory before = resident_memory();
    figures.peak_rss_anon_bytes = before.anon;
    peak_rss_ = before.anon;
    peak_rss_file_ = before.file;
    SourceCounts counts;
    sources_ = make_sources(checkpoint_, file_total_, options_.read_method, counts);
    size_ring();  // after the sources: whether a converting chunk is staged depends on them
    figures.files_read_by_mmap = counts.mmap;
    figures.files_read_by_pread = counts.pread;
    figures.files_read_by_direct = counts.direct;
    figures.files_direct_fallback = counts.direct_fallback;
    // Declared after the staging it reads, so that on every path the session (draining its copies)
    // is destroyed before the staging memory is freed.
    std::unique_ptr<Buffer> staging;
    std::unique_ptr<CopySession> session;
    const auto setup_start = std::chrono::steady_clock::now();
    if (slots_ > 0) {
      staging = engine_.allocate_staging(slots_ * slot_bytes_);
      staging_ = staging->data();
      figures.staging_bytes = staging->size();
      session = engine_.begin(slots_, std::max<std::size_t>(options_.streams, 1), staged_devices());
      session_ = session.get();
    }
    const auto start = std::chrono::steady_clock::now();
    figures.setup_seconds = std::chrono::duration<double>(start - setup_start).count();
    {
      std::vector<std::jthread> readers;
      readers.reserve(readers_);
      for (std::size_t r = 0; r < readers_; ++r) readers.emplace_back([this, r] { read_loop(r); });
    }                 // jthreads join here
    session.reset();  // every copy has completed
    session_ = nullptr;
    figures.copy_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const ResidentMemory end = resident_memory();
    figures.peak_rss_anon_bytes = std::max(peak_rss_.load(), end.anon);
    figures.peak_rss_file_bytes = std::max(peak_rss_file_.load(), end.file);
    if (error_) std::rethrow_exception(error_);
    return figures;
  }

 private:
  // Whether a chunk is read straight into its host-addressable arena, without a slot. A copying
  // chunk is; a converting one too, block by block through the reader's cached blocks
  // (convert_directly), unless its file is read by O_DIRECT, whose reads want the chunk's size to
  // be fast. A gathering chunk never is: its storage run is staged and the engine copies its box
  // out. Every piece of a chunk is from one file, so its first piece's source decides.
  [[nodiscard]] bool direct(const Chunk& chunk) const {
    if (!direct_[chunk.arena]) return false;
    if (chunk.action == ChunkAction::Copy) return true;
    if (chunk.action != ChunkAction::Convert || chunk.piece_count == 0) return false;
    return sources_[plan_.pieces[chunk.first_piece].file]->method() != ReadMethod::Direct;
  }

  // The devices staged chunks go to: the only ones the copy session may touch.
  [[nodiscard]] std::vector<Device> staged_devices() const {
    std::vector<Device> devices;
    for (const Chunk& chunk : plan_.chunks) {
      const Device device = arenas_[chunk.arena]->device();
      if (!direct(chunk) && std::find(devices.begin(), devices.end(), device) == devices.end())
        devices.push_back(device);
    }
    return devices;
  }

  // Slots hold one chunk each; every reader owns the slots congruent to it, so slots never pass
  // between threads and a reader waits only on its own copies.
  void size_ring() {
    std::uint64_t largest = 0;
    for (const Chunk& chunk : plan_.chunks) {
      if (!direct(chunk)) largest = std::max(largest, chunk.bytes);
    }
    readers_ = std::clamp<std::size_t>(options_.reader_threads, 1,
                                       std::max<std::size_t>(plan_.chunks.size(), 1));
    if (largest == 0) return;  // every chunk goes straight into host-addressable arenas
    // Slots start on 4 KiB boundaries (the staging itself is page-aligned), so DMA engines and
    // O_DIRECT reads can use them; a budget too small for that keeps unrounded slots.
    slot_bytes_ = (largest + kSlotAlignment - 1) / kSlotAlignment * kSlotAlignment;
    if (options_.staging_bytes < slot_bytes_) slot_bytes_ = largest;
    const std::uint64_t fit = options_.staging_bytes / slot_bytes_;
    STLOAD_EXPECT(fit >= 1, ErrorCode::InvalidArgument,
                  "staging budget of " + std::to_string(options_.staging_bytes) +
                      " bytes is smaller than one chunk of " + std::to_string(slot_bytes_) +
                      " (raise the budget or lower the chunk size)");
    readers_ = std::min<std::size_t>(readers_, fit);
    slots_ = fit / readers_ * readers_;
  }

  // A staged chunk counts as done, for progress, once its copy has completed: the slot's wait
  // (before the slot is reused, or at the end) reports it, not the enqueue.
  void read_loop(std::size_t reader) noexcept {
    std::vector<const Chunk*> in_flight(slots_, nullptr);  // per slot: the chunk its copy carries
    std::unique_ptr<std::byte[]> blocks;  // a direct conversion's input and output blocks
    const auto complete = [&](std::size_t slot) {
      STLOAD_NVTX_RANGE("wait slot");
      session_->wait(slot);
      const Chunk* done = in_flight[slot];
      in_flight[slot] = nullptr;
      report(*done);
    };
    try {
      for (std::size_t c = reader; c < plan_.chunks.size(); c += readers_) {
        if (stop_.load(std::memory_order_relaxed)) break;
        const Chunk& chunk = plan_.chunks[c];
        if (direct(chunk)) {
          if (chunk.action == ChunkAction::Convert) {
            if (!blocks) blocks = std::make_unique<std::byte[]>(2 * kBlockBytes);
            convert_directly(chunk, blocks.get(), blocks.get() + kBlockBytes);
          } else {
            fill(chunk, arenas_[chunk.arena]->data() + chunk.arena_offset, true);
          }
          report(chunk);
          continue;
        }
        const std::size_t slot = c % slots_;
        if (in_flight[slot] != nullptr) {
          complete(slot);
          if (stop_.load(std::memory_order_relaxed)) break;  // cancelled or failed meanwhile
        }
        std::byte* buffer = staging_ + slot * slot_bytes_;
        fill(chunk, buffer, stream_staged_[chunk.arena]);
        if (chunk.action == ChunkAction::Gather) {
          const GatherBox& box = plan_.gathers[chunk.gather];
          session_->gather_async(slot, buffer, *arenas_[chunk.arena],
                                 plan_.pieces[chunk.first_piece], plan_.layouts[box.layout], box);
        } else if (chunk.action == ChunkAction::Convert) {
          session_->convert_async(
              slot, buffer, *arenas_[chunk.arena], chunk,
              std::span<const Piece>(plan_.pieces.data() + chunk.first_piece, chunk.piece_count));
        } else {
          session_->copy_async(slot, buffer, *arenas_[chunk.arena], chunk.arena_offset,
                               chunk.bytes);
        }
        in_flight[slot] = &chunk;
      }
      // The rest in the order they were queued, so each file's progress still grows in order.
      for (std::size_t c = reader; c < plan_.chunks.size(); c += readers_) {
        const std::size_t slot = slots_ > 0 ? c % slots_ : 0;
        if (slots_ > 0 && in_flight[slot] == &plan_.chunks[c]) complete(slot);
      }
    } catch (...) {
      fail(std::current_exception());
    }
    // After a failure: drain whatever is still in flight before the staging can be freed.
    for (std::size_t slot = 0; slot < slots_; ++slot) {
      if (in_flight[slot] == nullptr) continue;
      try {
        session_->wait(slot);
      } catch (...) {
        fail(std::current_exception());
      }
    }
  }

  // Pieces that follow each other in a file are read with one call, then spread backwards to their
  // aligned places (destinations never precede their sources, so back to front is safe).
  // `streaming`: the destination is not read back by this CPU soon (an arena, or a slot that a
  // device's DMA engine reads), so its stores bypass the cache (cpu/streaming_copy.hpp).
  void fill(const Chunk& chunk, std::byte* destination, bool streaming) {
    STLOAD_NVTX_RANGE("read chunk");
    const Piece* pieces = plan_.pieces.data() + chunk.first_piece;
    std::size_t i = 0;
    while (i < chunk.piece_count) {
      std::size_t j = i + 1;
      std::uint64_t run = pieces[i].bytes;
      while (j < chunk.piece_count && pieces[j].file == pieces[i].file &&
             pieces[j].file_offset == pieces[i].file_offset + run) {
        run += pieces[j].bytes;
        ++j;
      }
      std::byte* at = destination + pieces[i].chunk_offset;
      sources_[pieces[i].file]->read(at, run, pieces[i].file_offset, streaming);
      for (std::size_t k = j - 1; k > i; --k) {
        std::byte* to = destination + pieces[k].chunk_offset;
        const std::byte* from = at + (pieces[k].file_offset - pieces[i].file_offset);
        if (to != from) std::memmove(to, from, pieces[k].bytes);  // already in place when aligned
      }
      i = j;
    }
  }

  // A converting chunk straight into its host-addressable arena, a block at a time: converted
  // from the file's bytes in place where the source allows it (the mapping), else from `input`
  // (the block read), into `output` (kBlockBytes each), then streamed to its place; with the
  // checks the CPU engine's convert_async makes of a staged one.
  void convert_directly(const Chunk& chunk, std::byte* input, std::byte* output) {
    STLOAD_NVTX_RANGE("convert chunk");
    const std::uint64_t in = bit_size(chunk.from) / 8;
    const std::uint64_t out = bit_size(chunk.to) / 8;
    const std::uint64_t step = kBlockBytes / std::max(in, out) * in;  // input bytes per block
    // Once outside the guarded region: throws for a pair that does not convert, and builds a
    // pair's lookup table, so the guarded conversions below neither throw nor allocate.
    {
      const std::array<std::byte, 8> one{};
      std::array<std::byte, 8> landed{};
      convert_elements(chunk.from, chunk.to, one.data(), landed.data(), 1);
    }
    const Buffer& arena_buffer = *arenas_[chunk.arena];
    std::byte* arena = arena_buffer.data();
    for (std::size_t p = chunk.first_piece; p < chunk.first_piece + chunk.piece_count; ++p) {
      const Piece& piece = plan_.pieces[p];
      expect_piece_lands(piece, chunk.from, chunk.to, arena_buffer.size());
      for (std::uint64_t done = 0; done < piece.bytes; done += step) {
        const std::uint64_t bytes = std::min(step, piece.bytes - done);
        BlockConversion block{chunk.from, chunk.to, output, bytes / in};
        if (!sources_[piece.file]->read_in_place(piece.file_offset + done, bytes,
                                                 BlockConversion::run, &block)) {
          sources_[piece.file]->read(input, bytes, piece.file_offset + done, false);
          BlockConversion::run(input, &block);
        }
        streaming_copy(arena + piece.destination_offset + done / in * out, output, bytes / in * out,
                       kStreamedBlockMinBytes);
      }
    }
  }

  // One block's conversion, in the form FileSource::read_in_place calls. It cannot throw: the
  // pair converts (convert_directly tried it before any block), and a throw would end the process.
  struct BlockConversion {
    Dtype from;
    Dtype to;
    std::byte* output;
    std::uint64_t count;
    static void run(const std::byte* data, void* context) noexcept {
      const auto& block = *static_cast<const BlockConversion*>(context);
      convert_elements(block.from, block.to, data, block.output, block.count);
    }
  };

  static void raise_to(std::atomic<std::uint64_t>& peak, std::uint64_t now) noexcept {
    std::uint64_t seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
  }

  void report(const Chunk& chunk) {
    const ResidentMemory now = resident_memory();
    raise_to(peak_rss_, now.anon);
    raise_to(peak_rss_file_, now.file);
    const std::lock_guard lock(progress_mutex_);
    Progress progress;
    // Files count the bytes read, the load its output bytes (bytes_total is the tensors' output
    // sizes): a converted piece lands as a different number of bytes than it reads.
    // A gathered chunk reads a storage run and lands its box's elements.
    const std::uint64_t in = chunk.action == ChunkAction::Convert ? bit_size(chunk.from) / 8 : 1;
    const std::uint64_t out = chunk.action == ChunkAction::Convert ? bit_size(chunk.to) / 8 : 1;
    for (std::size_t p = chunk.first_piece; p < chunk.first_piece + chunk.piece_count; ++p) {
      const Piece& piece = plan_.pieces[p];
      file_done_[piece.file] += piece.bytes;
      if (chunk.action != ChunkAction::Gather) bytes_done_ += piece.bytes / in * out;
      progress.file = piece.file;  // every piece of a chunk is from one file
    }
    if (chunk.action == ChunkAction::Gather) {
      const GatherBox& box = plan_.gathers[chunk.gather];
      bytes_done_ += box.elements * plan_.layouts[box.layout].element_bytes;
    }
    // Once the load is cancelled or failed the caller hears nothing more: the stop flag is read
    // and (on cancel) set under the lock, so no other reader can call back in between.
    if (!options_.progress || stop_.load()) return;
    progress.bytes_done = bytes_done_;
    progress.bytes_total = plan_.tensor_bytes;
    progress.file_bytes_done = file_done_[progress.file];
    progress.file_bytes_total = file_total_[progress.file];
    if (!options_.progress(progress)) {
      stop_.store(true);
      STLOAD_FAIL(ErrorCode::Cancelled, "load cancelled by the progress callback after " +
                                            std::to_string(bytes_done_) + " of " +
                                            std::to_string(plan_.tensor_bytes) + " bytes");
    }
  }

  void fail(std::exception_ptr error) noexcept {
    const std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::move(error);
    stop_.store(true);
  }

  const Checkpoint::Impl& checkpoint_;
  const LoadPlan& plan_;
  std::vector<std::unique_ptr<Buffer>>& arenas_;
  CopyEngine& engine_;
  const LoadOptions& options_;
  std::vector<std::unique_ptr<FileSource>> sources_;  // per file; null for files not read
  std::vector<bool> direct_;                          // per arena
  std::vector<bool> stream_staged_;  // per arena: fill its staging slots with streaming stores

  std::size_t readers_ = 1;
  std::size_t slots_ = 0;
  std::uint64_t slot_bytes_ = 0;
  std::byte* staging_ = nullptr;
  CopySession* session_ = nullptr;

  std::mutex progress_mutex_;
  std::uint64_t bytes_done_ = 0;
  std::vector<std::uint64_t> file_done_;
  std::vector<std::uint64_t> file_total_;
  std::atomic<std::uint64_t> peak_rss_{0};
  std::atomic<std::uint64_t> peak_rss_file_{0};

  std::atomic<bool> stop_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace

void check_pipeline_options(const LoadOptions& options) {
  STLOAD_EXPECT(options.staging_bytes >= options.chunk_bytes, ErrorCode::InvalidArgument,
                "staging budget of " + std::to_string(options.staging_bytes) +
                    " bytes is smaller than one chunk of " + std::to_string(options.chunk_bytes) +
                    " (raise the budget or lower the chunk size)");
}

PipelineFigures run_pipeline(const Checkpoint::Impl& checkpoint, const LoadPlan& plan,
                             std::vector<std::unique_ptr<Buffer>>& arenas, CopyEngine& engine,
                             const LoadOptions& options) {
  Pipeline pipeline(checkpoint, plan, arenas, engine, options);
  return pipeline.run();
}

}  // namespace stload::detail
