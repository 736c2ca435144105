#include "pipeline.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "cpu/guarded_copy.hpp"
#include "cpu/host_memory.hpp"
#include "detail/check.hpp"
#include "detail/nvtx.hpp"

namespace stload::detail {
namespace {

ssize_t system_pread(int fd, void* buffer, std::size_t bytes, off_t offset) {
  return ::pread(fd, buffer, bytes, offset);
}

std::atomic<PreadFunction> pread_function{&system_pread};

// MappedFile::read_at's loop, through the replaceable pread: a short read is continued, an error or
// an end of file inside the range is an Io error naming the file and offset.
void pread_exact(const MappedFile& mapping, std::byte* out, std::uint64_t bytes,
                 std::uint64_t offset) {
  const PreadFunction read = pread_function.load(std::memory_order_relaxed);
  std::uint64_t done = 0;
  while (done < bytes) {
    const ssize_t got = read(mapping.fd(), out + done, static_cast<std::size_t>(bytes - done),
                             static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    STLOAD_EXPECT(got >= 0, ErrorCode::Io,
                  errno_message(mapping.path().string() + ": read at offset " +
                                std::to_string(offset + done)));
    STLOAD_EXPECT(got > 0, ErrorCode::Io,
                  mapping.path().string() + ": unexpected end of file at offset " +
                      std::to_string(offset + done) + " (file truncated?)");
    done += static_cast<std::uint64_t>(got);
  }
}

// Auto reads a file from its mapping when more than this fraction of its data is cached; below it
// pread's readahead is in charge. Partly cached files are not measured yet: the value is a choice.
constexpr double kMmapWhenResident = 0.9;

constexpr std::uint64_t kSlotAlignment = 4096;

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
    figures.peak_rss_anon_bytes = rss_anon_bytes();
    peak_rss_ = figures.peak_rss_anon_bytes;
    size_ring();
    prepare_files();
    for (std::size_t f = 0; f < file_method_.size(); ++f) {
      if (file_total_[f] == 0) continue;
      ++(file_method_[f] == ReadMethod::Mmap ? figures.files_read_by_mmap
                                             : figures.files_read_by_pread);
    }
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
    figures.peak_rss_anon_bytes = std::max(peak_rss_.load(), rss_anon_bytes());
    if (error_) std::rethrow_exception(error_);
    return figures;
  }

 private:
  // A file that shrank since it was opened fails here, cleanly, naming the file (one truncated
  // while the load runs fails in pread, or in guarded_copy for the mapping). Opening read headers
  // with readahead off; streaming the data wants it on. Auto picks the read method per file: a
  // streaming copy from the mapping is the fastest way out of the page cache (0.95-1.0x the memcpy
  // ceiling against pread's 0.8x on the development VM), while pread's readahead serves a cold
  // file better (1.1-1.8x faster there).
  void prepare_files() {
    file_method_.assign(file_total_.size(), options_.read_method);
    for (std::size_t f = 0; f < file_total_.size(); ++f) {
      if (file_total_[f] == 0) continue;
      const FileInfo& info = checkpoint_.files[f];
      const MappedFile& mapping = checkpoint_.mappings[f];
      struct stat now {};
      STLOAD_EXPECT(::fstat(mapping.fd(), &now) == 0, ErrorCode::Io,
                    errno_message(info.path.string() + ": fstat"));
      STLOAD_EXPECT(static_cast<std::uint64_t>(now.st_size) >= info.size, ErrorCode::Io,
                    info.path.string() + ": the file is " + std::to_string(now.st_size) +
                        " bytes, but was " + std::to_string(info.size) +
                        " when the checkpoint was opened (truncated?)");
      if (options_.read_method == ReadMethod::Auto) {
        const double resident =
            mapping.resident_fraction(info.data_offset, info.size - info.data_offset);
        file_method_[f] = resident > kMmapWhenResident ? ReadMethod::Mmap : ReadMethod::Pread;
      }
      mapping.advise_sequential(info.data_offset, info.size - info.data_offset);
    }
  }

  // The devices staged chunks go to: the only ones the copy session may touch.
  [[nodiscard]] std::vector<Device> staged_devices() const {
    std::vector<Device> devices;
    for (const Chunk& chunk : plan_.chunks) {
      const Device device = arenas_[chunk.arena]->device();
      if (!direct_[chunk.arena] &&
          std::find(devices.begin(), devices.end(), device) == devices.end())
        devices.push_back(device);
    }
    return devices;
  }

  // Slots hold one chunk each; every reader owns the slots congruent to it, so slots never pass
  // between threads and a reader waits only on its own copies.
  void size_ring() {
    std::uint64_t largest = 0;
    for (const Chunk& chunk : plan_.chunks) {
      if (!direct_[chunk.arena]) largest = std::max(largest, chunk.bytes);
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
        if (direct_[chunk.arena]) {
          fill(chunk, arenas_[chunk.arena]->data() + chunk.arena_offset, true);
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
        session_->copy_async(slot, buffer, *arenas_[chunk.arena], chunk.arena_offset, chunk.bytes);
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
      read_run(pieces[i].file, pieces[i].file_offset, run, at, streaming);
      for (std::size_t k = j - 1; k > i; --k) {
        std::byte* to = destination + pieces[k].chunk_offset;
        const std::byte* from = at + (pieces[k].file_offset - pieces[i].file_offset);
        if (to != from) std::memmove(to, from, pieces[k].bytes);  // already in place when aligned
      }
      i = j;
    }
  }

  void read_run(std::size_t file, std::uint64_t offset, std::uint64_t bytes, std::byte* out,
                bool streaming) const {
    const MappedFile& mapping = checkpoint_.mappings[file];
    if (file_method_[file] == ReadMethod::Pread) {
      pread_exact(mapping, out, bytes, offset);
      return;
    }
    STLOAD_EXPECT(offset + bytes <= mapping.size(), ErrorCode::Io,
                  mapping.path().string() + ": range at offset " + std::to_string(offset) +
                      " is past the end of the mapping");
    STLOAD_EXPECT(guarded_copy(out, mapping.bytes().data() + offset, bytes, streaming),
                  ErrorCode::Io,
                  mapping.path().string() + ": range at offset " + std::to_string(offset) +
                      " vanished while being read (file truncated?)");
  }

  void report(const Chunk& chunk) {
    std::uint64_t rss = rss_anon_bytes();
    std::uint64_t seen = peak_rss_.load(std::memory_order_relaxed);
    while (rss > seen && !peak_rss_.compare_exchange_weak(seen, rss)) {
    }
    const std::lock_guard lock(progress_mutex_);
    Progress progress;
    for (std::size_t p = chunk.first_piece; p < chunk.first_piece + chunk.piece_count; ++p) {
      const Piece& piece = plan_.pieces[p];
      file_done_[piece.file] += piece.bytes;
      bytes_done_ += piece.bytes;
      progress.file = piece.file;  // every piece of a chunk is from one file
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
  std::vector<ReadMethod> file_method_;  // per file, Auto resolved
  std::vector<bool> direct_;             // per arena
  std::vector<bool> stream_staged_;      // per arena: fill its staging slots with streaming stores

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

  std::atomic<bool> stop_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace

void set_pread_for_testing(PreadFunction function) noexcept {
  pread_function.store(function != nullptr ? function : &system_pread);
}

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
