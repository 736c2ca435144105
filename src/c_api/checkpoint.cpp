// C API: opening checkpoints and loading them.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "c_api/caller_memory.hpp"
#include "c_api/guard.hpp"
#include "c_api/only.hpp"
#include "c_api/struct_size.hpp"
#include "detail/check.hpp"
#include "stload/checkpoint.hpp"
#include "stload/dtype_rules.hpp"
#include "stload/hub.hpp"
#include "stload/loader.hpp"
#include "stload/tensor_parallel.hpp"

namespace stload::c_api {
namespace {

// An older caller's struct ends at its last field, so a field appended later never lies in its
// tail padding (stload.h: structs grow at their end). Appending a field? Name it here.
static_assert(sizeof(stload_load_options) ==
              offsetof(stload_load_options, dtype) + sizeof(stload_load_options::dtype));
static_assert(sizeof(stload_load_stats) == offsetof(stload_load_stats, tensors_copied_unaligned) +
                                               sizeof(stload_load_stats::tensors_copied_unaligned));

ReadMethod read_method_of(int method) {
  switch (method) {
    case STLOAD_READ_AUTO:
      return ReadMethod::Auto;
    case STLOAD_READ_PREAD:
      return ReadMethod::Pread;
    case STLOAD_READ_MMAP:
      return ReadMethod::Mmap;
    case STLOAD_READ_DIRECT:
      return ReadMethod::Direct;
  }
  STLOAD_FAIL(ErrorCode::InvalidArgument, "unknown read method " + std::to_string(method));
}

// The C callback behind LoadOptions::progress: the C++ side asks "go on?", C answers 0 for yes.
std::function<bool(const Progress&)> progress_of(stload_progress_callback callback, void* user) {
  if (callback == nullptr) return {};
  return [callback, user](const Progress& in) {
    stload_progress out{};
    out.struct_size = sizeof out;
    out.bytes_done = in.bytes_done;
    out.bytes_total = in.bytes_total;
    out.file = in.file;
    out.file_bytes_done = in.file_bytes_done;
    out.file_bytes_total = in.file_bytes_total;
    return callback(&out, user) == 0;
  };
}

LoadOptions to_cpp(const stload_load_options& caller) {
  const stload_load_options in = from_caller(caller, "stload_load_options");
  const int engine = raw_value(in.engine);
  STLOAD_EXPECT(engine >= STLOAD_ENGINE_AUTO && engine <= STLOAD_ENGINE_CUDA,
                ErrorCode::InvalidArgument, "unknown engine " + std::to_string(engine));
  LoadOptions out;
  out.engine = static_cast<EngineKind>(engine);
  if (in.device_map != nullptr) {
    out.device_map = DeviceMap::parse(in.device_map);
    out.device_map_given = true;
  }
  out.only = only_patterns(in.only, in.only_count, "stload_load_options");
  out.allow_unmatched = allow_unmatched(in.flags, "stload_load_options", STLOAD_ZERO_COPY);
  out.zero_copy = (in.flags & STLOAD_ZERO_COPY) != 0;
  if (in.staging_bytes != 0) out.staging_bytes = in.staging_bytes;
  if (in.chunk_bytes != 0) out.chunk_bytes = in.chunk_bytes;
  if (in.reader_threads != 0) out.reader_threads = in.reader_threads;
  if (in.streams != 0) out.streams = in.streams;
  out.read_method = read_method_of(raw_value(in.read_method));
  out.direct = in.always_stage == 0;
  out.progress = progress_of(in.progress, in.progress_user);
  add_caller_memory(in, out);
  // A rank past the world is the plan's to refuse ("rank R of world W"), like C++'s.
  const bool split_given = in.split != nullptr;
  STLOAD_EXPECT((in.tp_world > 1) == split_given, ErrorCode::InvalidArgument,
                "stload_load_options: tp_world > 1 and split go together (tp_world " +
                    std::to_string(in.tp_world) + ", split " + (split_given ? "given" : "NULL") +
                    ")");
  out.tensor_parallel.rank = in.tp_rank;
  out.tensor_parallel.world = std::max<std::uint64_t>(in.tp_world, 1);
  if (split_given) out.tensor_parallel.split = parse_split_rules(in.split);
  if (in.dtype != nullptr) out.dtype = parse_dtype_conversion(in.dtype);
  return out;
}

stload_load_stats to_c(const LoadStats& in) {
  stload_load_stats out{};
  out.tensors = in.tensors;
  out.bytes = in.bytes;
  out.total_seconds = in.total_seconds;
  out.copy_seconds = in.copy_seconds;
  const std::size_t n = std::min(in.engine.size(), sizeof(out.engine) - 1);
  std::memcpy(out.engine, in.engine.data(), n);
  out.chunks = in.chunks;
  out.plan_seconds = in.plan_seconds;
  out.allocate_seconds = in.allocate_seconds;
  out.setup_seconds = in.setup_seconds;
  out.staging_bytes = in.staging_bytes;
  out.peak_rss_anon_bytes = in.peak_rss_anon_bytes;
  out.baseline_rss_anon_bytes = in.baseline_rss_anon_bytes;
  out.peak_rss_file_bytes = in.peak_rss_file_bytes;
  out.baseline_rss_file_bytes = in.baseline_rss_file_bytes;
  out.files_read_by_mmap = in.files_read_by_mmap;
  out.files_read_by_pread = in.files_read_by_pread;
  out.files_read_by_direct = in.files_read_by_direct;
  out.files_direct_fallback = in.files_direct_fallback;
  out.tensors_viewed = in.tensors_viewed;
  out.bytes_viewed = in.bytes_viewed;
  out.tensors_copied_unaligned = in.tensors_copied_unaligned;
  return out;
}

}  // namespace
}  // namespace stload::c_api

extern "C" {

stload_status stload_checkpoint_open(const char* path, stload_checkpoint** out) {
  using namespace stload;
  return c_api::guard([&] {
    STLOAD_EXPECT(path != nullptr && out != nullptr, ErrorCode::InvalidArgument,
                  "stload_checkpoint_open: path and out must not be NULL");
    // Braces, not parentheses: clang before 16 has no parenthesized aggregate initialization.
    *out = std::make_unique<stload_checkpoint>(stload_checkpoint{Checkpoint::open(path)}).release();
  });
}

stload_status stload_resolve_repo(const char* repo_id, const char* revision, char* buffer,
                                  size_t size, size_t* length) {
  using namespace stload;
  return c_api::guard([&] {
    STLOAD_EXPECT(repo_id != nullptr && (buffer != nullptr || size == 0),
                  ErrorCode::InvalidArgument,
                  "stload_resolve_repo: repo_id must not be NULL, nor buffer with a size");
    const std::string path =
        resolve_repo(repo_id, revision == nullptr ? std::string_view() : revision).string();
    if (length != nullptr) *length = path.size();
    if (size == 0) return;
    const std::size_t n = std::min(path.size(), size - 1);
    std::memcpy(buffer, path.data(), n);
    buffer[n] = '\0';
  });
}

void stload_checkpoint_free(stload_checkpoint* checkpoint) {
  const std::unique_ptr<stload_checkpoint> owned(checkpoint);
}

size_t stload_checkpoint_tensor_count(const stload_checkpoint* checkpoint) {
  return checkpoint == nullptr ? 0 : checkpoint->checkpoint.tensors().size();
}

uint64_t stload_checkpoint_total_bytes(const stload_checkpoint* checkpoint) {
  return checkpoint == nullptr ? 0 : checkpoint->checkpoint.total_bytes();
}

stload_status stload_load(const stload_checkpoint* checkpoint, const stload_load_options* options,
                          stload_model** out, stload_load_stats* stats) {
  using namespace stload;
  return c_api::guard([&] {
    STLOAD_EXPECT(checkpoint != nullptr && out != nullptr, ErrorCode::InvalidArgument,
                  "stload_load: checkpoint and out must not be NULL");
    stload_load_options defaults;
    stload_load_options_init(&defaults);
    const LoadOptions cpp_options = c_api::to_cpp(options != nullptr ? *options : defaults);
    if (stats != nullptr) c_api::check_struct_size(stats->struct_size, "stload_load_stats");
    LoadStats cpp_stats;
    auto model = std::make_unique<stload_model>(
        stload_model{load(checkpoint->checkpoint, cpp_options, nullptr, &cpp_stats)});
    if (stats != nullptr) c_api::to_caller(c_api::to_c(cpp_stats), *stats);
    *out = model.release();
  });
}

}  // extern "C"
