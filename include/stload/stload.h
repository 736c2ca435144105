/**
 * @file stload.h
 * @brief The C API of stload: open a safetensors checkpoint, load it onto devices, reach each
 * tensor, hand tensors on through DLPack.
 *
 * Conventions. Every fallible function returns a ::stload_status; on failure it leaves its out
 * parameters untouched and stload_last_error() describes the failure. No C++ exception crosses
 * this boundary. Handles are opaque and released by their `*_free` function (NULL is accepted).
 * Strings and arrays returned by accessors live as long as the handle they came from.
 * Needs only the C standard library; link with `-lstload` (C++ runtime pulled in by the library).
 *
 * Versioned structs. Every struct passed to or filled by the library starts with `struct_size`,
 * the struct's size as the caller compiled it; its `*_init()` function (inline, so the size is the
 * caller's) zeroes it and sets that size. Zero means "default" in every field. Structs only grow
 * at their end, so the library takes an older caller's smaller struct (the fields it lacks keep
 * their defaults; for a struct the library fills, they are not written) and a newer caller's
 * larger one when the bytes it does not know are zero (for a struct the library fills: it zeroes
 * them); a non-zero unknown field, or a struct_size below sizeof(size_t), is
 * ::STLOAD_ERROR_INVALID_ARGUMENT. Callers without inline functions (FFI) zero the struct and set
 * struct_size themselves.
 *
 * Thread safety. Every function may be called from several threads at once. A handle passed as
 * `const` (a checkpoint to stload_load() or stload_make_plan(), a model to its accessors, read
 * and DLPack export, a plan to its accessors) may be used by several threads concurrently; only
 * its `*_free` must not overlap any other use of that handle. stload_last_error() is per thread.
 * A log callback may be called on any thread, several at once.
 */
#ifndef STLOAD_STLOAD_H_
#define STLOAD_STLOAD_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stload/version.h" /* STLOAD_VERSION_MAJOR, ... (generated at build time) */

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Outcome of a call. Values after ::STLOAD_OK mirror stload::ErrorCode (C++), in order. */
typedef enum stload_status {
  STLOAD_OK = 0,                                    ///< success
  STLOAD_ERROR_HEADER_TOO_SMALL = 1,                ///< file shorter than the 8-byte length prefix
  STLOAD_ERROR_HEADER_TOO_LARGE = 2,                ///< header length above 100,000,000 bytes
  STLOAD_ERROR_INVALID_HEADER_LENGTH = 3,           ///< header runs past the end of the file
  STLOAD_ERROR_INVALID_HEADER = 4,                  ///< header is not UTF-8
  STLOAD_ERROR_INVALID_HEADER_DESERIALIZATION = 5,  ///< header is not the JSON the format demands
  STLOAD_ERROR_INVALID_OFFSET = 6,                  ///< data_offsets leave a gap or overlap
  STLOAD_ERROR_VALIDATION_OVERFLOW = 7,             ///< element or bit count overflows 64 bits
  STLOAD_ERROR_MISALIGNED_SLICE = 8,                ///< bit count not a whole number of bytes
  STLOAD_ERROR_TENSOR_INVALID_INFO = 9,             ///< data_offsets disagree with dtype x shape
  STLOAD_ERROR_METADATA_INCOMPLETE_BUFFER = 10,  ///< data section shorter or longer than declared
  STLOAD_ERROR_TENSOR_NOT_FOUND = 11,            ///< a named tensor is not there
  STLOAD_ERROR_INVALID_INDEX = 12,               ///< a sharded index.json is malformed
  STLOAD_ERROR_IO = 13,                          ///< a system call failed
  STLOAD_ERROR_CUDA = 14,                        ///< a CUDA runtime call failed
  STLOAD_ERROR_OUT_OF_MEMORY = 15,               ///< host or device memory could not be had
  STLOAD_ERROR_NOT_FOUND = 16,                   ///< a path does not exist
  STLOAD_ERROR_INVALID_ARGUMENT = 17,  ///< a wrong argument (NULL handle, bad device map, ...)
  STLOAD_ERROR_CANCELLED = 18,         ///< the caller cancelled the operation
  STLOAD_ERROR_INTERNAL = 19,          ///< an unexpected failure (a bug, or std::bad_alloc)
} stload_status;

/** @brief Element type; values mirror stload::Dtype (C++), in order. */
typedef enum stload_dtype {
  STLOAD_DTYPE_BOOL = 0,          ///< 8-bit boolean
  STLOAD_DTYPE_F4 = 1,            ///< 4-bit float (e2m1)
  STLOAD_DTYPE_F6_E2M3 = 2,       ///< 6-bit float
  STLOAD_DTYPE_F6_E3M2 = 3,       ///< 6-bit float
  STLOAD_DTYPE_U8 = 4,            ///< uint8
  STLOAD_DTYPE_I8 = 5,            ///< int8
  STLOAD_DTYPE_F8_E5M2 = 6,       ///< float8 e5m2
  STLOAD_DTYPE_F8_E4M3 = 7,       ///< float8 e4m3 (fn)
  STLOAD_DTYPE_F8_E8M0 = 8,       ///< float8 e8m0 (scale)
  STLOAD_DTYPE_F8_E4M3FNUZ = 9,   ///< float8 e4m3 fnuz
  STLOAD_DTYPE_F8_E5M2FNUZ = 10,  ///< float8 e5m2 fnuz
  STLOAD_DTYPE_I16 = 11,          ///< int16
  STLOAD_DTYPE_U16 = 12,          ///< uint16
  STLOAD_DTYPE_F16 = 13,          ///< IEEE half
  STLOAD_DTYPE_BF16 = 14,         ///< bfloat16
  STLOAD_DTYPE_I32 = 15,          ///< int32
  STLOAD_DTYPE_U32 = 16,          ///< uint32
  STLOAD_DTYPE_F32 = 17,          ///< float
  STLOAD_DTYPE_C64 = 18,          ///< complex of two floats
  STLOAD_DTYPE_F64 = 19,          ///< double
  STLOAD_DTYPE_I64 = 20,          ///< int64
  STLOAD_DTYPE_U64 = 21,          ///< uint64
} stload_dtype;

/** @brief Kind of device; values mirror stload::DeviceKind (C++). */
typedef enum stload_device_kind {
  STLOAD_DEVICE_CPU = 0,   ///< host memory
  STLOAD_DEVICE_CUDA = 1,  ///< a CUDA GPU
} stload_device_kind;

/** @brief Which copy engine a load uses; values mirror stload::EngineKind (C++). */
typedef enum stload_engine {
  STLOAD_ENGINE_AUTO = 0,  ///< CUDA when compiled in and a GPU answers, else CPU
  STLOAD_ENGINE_CPU = 1,   ///< host memory plays every device
  STLOAD_ENGINE_CUDA = 2,  ///< the CUDA engine; fails when unavailable
} stload_engine;

/**
 * @brief Bits of stload_load_options.flags and stload_plan_options.flags.
 *
 * Unknown bits are refused (::STLOAD_ERROR_INVALID_ARGUMENT): a bit this library does not know
 * asks for something it cannot do.
 */
typedef enum stload_option_flag {
  /** An `only` pattern matching no tensor, or a selection of no tensor, is not an error. */
  STLOAD_ALLOW_UNMATCHED = 1,
  /**
   * stload_load() only: tensors on CPU devices are views of a private copy-on-write mapping of
   * their file instead of copies (C++ LoadOptions::zero_copy): the load reads nothing for them
   * and the model keeps the mapping. A tensor whose file offset is not a multiple of its element
   * size is copied instead (stload_load_stats.tensors_copied_unaligned).
   */
  STLOAD_ZERO_COPY = 2,
} stload_option_flag;

/** @brief How much a log message matters; values mirror stload::LogLevel (C++), in order. */
typedef enum stload_log_level {
  STLOAD_LOG_DEBUG = 0,    ///< detail for whoever debugs stload itself
  STLOAD_LOG_INFO = 1,     ///< a documented choice made (which files a directory loads)
  STLOAD_LOG_WARNING = 2,  ///< the caller may not get what they expected (a CPU fallback)
  STLOAD_LOG_ERROR = 3,    ///< a failure no status reports
} stload_log_level;

/**
 * @brief Receives a log message: its ::stload_log_level, one NUL-terminated line (valid only
 * during the call) and the `user` pointer given to stload_set_log_callback().
 */
typedef void (*stload_log_callback)(int level, const char* message, void* user);

/** @brief A device such as `cuda:1`. A value inside stload_tensor: frozen, never grows. */
typedef struct stload_device {
  stload_device_kind kind;  ///< host or GPU
  int32_t index;            ///< ordinal within the kind
} stload_device;

/** @brief A plan made for stated device capacities (stload_make_plan()), no hardware touched. */
typedef struct stload_plan stload_plan;

/** @brief Options of stload_make_plan(). Initialize with stload_plan_options_init(). */
typedef struct stload_plan_options {
  size_t struct_size;  ///< sizeof(stload_plan_options) as the caller compiled it (init sets it)
  /** @brief As stload_load_options.device_map; NULL for everything on cuda:0. "auto" without
   * devices of its own fills `devices` in order (cpu before cuda, by index). */
  const char* device_map;
  const stload_device* devices;    ///< the devices the plan may use (`device_count` of them)
  const uint64_t* capacity_bytes;  ///< bytes each of `devices` may hold, used as given
  size_t device_count;             ///< entries of `devices` and `capacity_bytes`
  uint64_t chunk_bytes;            ///< largest single copy; 0 keeps the library default
  const char* const* only;  ///< as stload_load_options.only: plan only what these patterns match
  size_t only_count;        ///< number of patterns in `only`
  uint64_t flags;           ///< ::stload_option_flag bits; 0: none
} stload_plan_options;

/** @brief One device of a plan. Initialize with stload_plan_device_init() before the call. */
typedef struct stload_plan_device {
  size_t struct_size;       ///< sizeof(stload_plan_device) as the caller compiled it (init sets it)
  stload_device device;     ///< the device
  uint64_t capacity_bytes;  ///< its stated capacity
  uint64_t arena_bytes;     ///< its arena: tensors and alignment padding
  uint64_t tensor_bytes;    ///< bytes of its tensors
  uint64_t tensors;         ///< how many tensors it holds
  const char* first_tensor;  ///< its first tensor in file order; lives as long as the plan
  const char* last_tensor;   ///< its last (for "auto" maps: where it spilled to the next device)
} stload_plan_device;

/** @brief An opened, validated checkpoint (headers read, data not). */
typedef struct stload_checkpoint stload_checkpoint;
/** @brief The result of a load: the tensors and the device memory holding them. */
typedef struct stload_model stload_model;
/** @brief DLPack's managed tensor; include <dlpack/dlpack.h> to use it. */
struct DLManagedTensor;

/** @brief How file bytes reach the copies (C++ stload::ReadMethod; zero is Auto here). */
typedef enum stload_read_method {
  STLOAD_READ_AUTO = 0,    ///< per file: the mapping when over 90% is in the page cache, O_DIRECT
                           ///< when under 10% (pread where refused), else pread
  STLOAD_READ_PREAD = 1,   ///< pread(2) with the kernel's readahead
  STLOAD_READ_MMAP = 2,    ///< a streaming copy from the file's mapping
  STLOAD_READ_DIRECT = 3,  ///< O_DIRECT, past the page cache; a file system that refuses it is
                           ///< STLOAD_ERROR_INVALID_ARGUMENT naming the file
} stload_read_method;

/**
 * @brief Where a load stands, passed to a ::stload_progress_callback after each chunk. Filled by
 * the library: `struct_size` is the library's size, so a caller built against a newer stload.h
 * checks it before reading a field this header added.
 */
typedef struct stload_progress {
  size_t struct_size;         ///< sizeof(stload_progress) as the library was built
  uint64_t bytes_done;        ///< tensor bytes copied so far, all files
  uint64_t bytes_total;       ///< tensor bytes of the whole load
  size_t file;                ///< the file the last chunk came from (stload_checkpoint_file_path())
  uint64_t file_bytes_done;   ///< of that file
  uint64_t file_bytes_total;  ///< of that file
} stload_progress;

/**
 * @brief Called after each chunk from a reader thread, one call at a time, with the `user` pointer
 * of stload_load_options.progress_user. Return 0 to go on; any other value cancels the load, which
 * then fails with ::STLOAD_ERROR_CANCELLED, everything released (no call follows a cancel).
 */
typedef int (*stload_progress_callback)(const stload_progress* progress, void* user);

/**
 * @brief Allocates one arena of a load from the caller's memory (a server's own pool), on the
 * loading thread, before any byte moves. Must not throw or longjmp.
 * @param device the arena's device as stload spells it ("cpu:0", "cuda:1"); valid during the call
 * @param bytes the arena's size (0 only for an arena of empty tensors: `*out` may stay NULL)
 * @param alignment what `*out` must be aligned to (a power of two, 256 today)
 * @param[out] out the memory (a device pointer of that GPU for cuda:N); NULL before the call
 * @param user the stload_allocator's `user`
 * @return 0 when `*out` holds the memory; any other value fails the load with
 *         ::STLOAD_ERROR_OUT_OF_MEMORY (the message names the device, size and value), arenas
 *         already allocated released
 */
typedef int (*stload_allocate_callback)(const char* device, uint64_t bytes, uint64_t alignment,
                                        void** out, void* user);

/**
 * @brief Hands back what a ::stload_allocate_callback returned 0 for: called exactly once per
 * such call, with its device, `*out` and `bytes`, when the arena is no longer used: when the
 * load fails, or when the model and every DLPack tensor exported from it are gone. May run on any
 * thread (the one freeing the last user). Must not throw or longjmp.
 */
typedef void (*stload_release_callback)(const char* device, void* data, uint64_t bytes, void* user);

/**
 * @brief The caller's allocator for one device (stload_load_options.allocators): every arena a
 * load places there comes from `allocate` instead of the engine. Initialize with
 * stload_allocator_init().
 */
typedef struct stload_allocator {
  size_t struct_size;  ///< sizeof(stload_allocator) as the caller compiled it (init sets it)
  const char* device;  ///< "cpu", "cpu:N", "cuda", "cuda:N" or "N" (cuda:N); required
  stload_allocate_callback allocate;  ///< required
  stload_release_callback release;    ///< NULL when the memory needs no handing back
  void* user;                         ///< passed to both callbacks as is
} stload_allocator;

/**
 * @brief Memory of the caller's that one tensor is loaded into (stload_load_options.destinations),
 * on `device` whatever the device map says. stload neither frees it nor keeps it alive: it must
 * outlive the model and every DLPack tensor exported from it. Initialize with
 * stload_destination_init().
 */
typedef struct stload_destination {
  size_t struct_size;  ///< sizeof(stload_destination) as the caller compiled it (init sets it)
  const char* name;    ///< the tensor's name; required
  const char* device;  ///< where `data` is, spelled as stload_allocator.device; required
  void* data;          ///< aligned to the tensor's element size at least (a device pointer for
                       ///< cuda:N)
  uint64_t bytes;      ///< at least the tensor's size
} stload_destination;

/** @brief Options of stload_load(). Initialize with stload_load_options_init(). */
typedef struct stload_load_options {
  size_t struct_size;    ///< sizeof(stload_load_options) as the caller compiled it (init sets it)
  stload_engine engine;  ///< which engine; default ::STLOAD_ENGINE_AUTO
  /**
   * @brief Device map: NULL for the default (everything on cuda:0, or cpu:0 with the CPU
   * engine), a device ("cuda:1"), "auto", or a JSON object of rules
   * (`{"model.layers.0": "cuda:0", "lm_head": "cpu", "": 0}`, Hugging Face semantics).
   */
  const char* device_map;
  /**
   * @brief When `only_count` > 0: load only the tensors these name patterns match, the C++
   * LoadOptions::only rules (stload/name_rules.hpp): an exact name, a dotted module prefix
   * ("model.layers.1" matches "model.layers.1.mlp.w", never "model.layers.10.w"), or a glob whose
   * `*` stays within one dotted segment ("model.layers.*.mlp"). An invalid pattern (empty,
   * leading/trailing dot, "..", "**") is ::STLOAD_ERROR_INVALID_ARGUMENT, and so, unless
   * ::STLOAD_ALLOW_UNMATCHED is set in `flags`, is a pattern that matches no tensor (the message
   * names it).
   */
  const char* const* only;
  size_t only_count;                  ///< number of patterns in `only`
  uint64_t staging_bytes;             ///< host staging budget; 0 keeps the library default
  uint64_t chunk_bytes;               ///< largest single copy; 0 keeps the library default
  uint32_t reader_threads;            ///< threads reading the files; 0 keeps the library default
  uint32_t streams;                   ///< copy queues (CUDA streams); 0 keeps the library default
  stload_read_method read_method;     ///< how bytes leave the files; default ::STLOAD_READ_AUTO
  int32_t always_stage;               ///< non-zero: copy through the staging ring even into host
                                      ///< memory (C++ LoadOptions::direct = false)
  stload_progress_callback progress;  ///< NULL, or called after each chunk (may cancel)
  void* progress_user;                ///< passed to `progress` as is
  uint64_t flags;                     ///< ::stload_option_flag bits; 0: none
  /**
   * @brief `allocator_count` allocators, at most one per device (an ordinary C array: element i
   * lies `allocators[0].struct_size` bytes after element i - 1, and every element has that
   * struct_size). Each device must be one the engine serves. Fields after `flags` are read only
   * when struct_size covers them, as always.
   */
  const stload_allocator* allocators;
  size_t allocator_count;  ///< number of entries in `allocators`
  /**
   * @brief `destination_count` destinations, at most one per tensor (an array laid out as
   * `allocators`). Every one is checked before anything is allocated: its tensor is in the
   * checkpoint and selected by `only`, its memory is large enough and aligned to the element
   * size, its device is one the engine serves; else ::STLOAD_ERROR_INVALID_ARGUMENT naming the
   * tensor. stload_model_tensor() then reports the destination's pointer.
   */
  const stload_destination* destinations;
  size_t destination_count;  ///< number of entries in `destinations`
  /**
   * @brief Tensor parallelism (C++ stload::TensorParallel): with `tp_world` > 1 and `split`
   * set, load only rank `tp_rank`'s part of the tensors `split` names; only their bytes are
   * read. `split` is a rule set's name ("llama": q/k/v/gate/up, embeddings and lm_head on dim 0,
   * o/down projection weights on dim 1) or a JSON object of name patterns to dimensions
   * (`{"lm_head": 0}`). A dimension `tp_world` does not divide, a rank not below the world, or
   * a `split` without a world (or the reverse) is ::STLOAD_ERROR_INVALID_ARGUMENT naming it.
   */
  uint64_t tp_rank;
  uint64_t tp_world;  ///< 0 or 1: no tensor parallelism
  const char* split;  ///< NULL: none
  /**
   * @brief Dtype conversion (C++ stload::DtypeConversion): NULL loads every tensor as stored; a
   * dtype name in any case ("bf16") loads every floating tensor as it (integers and bool stay);
   * a JSON object of name patterns to dtype names (`{"lm_head": "f32"}`) converts the tensors it
   * names. Supported: BF16, F16, F32, F64 to each other, F8_E4M3 and F8_E5M2 to BF16, F16, F32.
   * An unknown name or an unsupported conversion is ::STLOAD_ERROR_INVALID_ARGUMENT naming the
   * tensor and both dtypes, before anything is allocated. The CPU engine converts; the CUDA
   * engine refuses for now.
   */
  const char* dtype;
} stload_load_options;

/** @brief What a load did. Initialize with stload_load_stats_init() before stload_load(). */
typedef struct stload_load_stats {
  size_t struct_size;       ///< sizeof(stload_load_stats) as the caller compiled it (init sets it)
  uint64_t tensors;         ///< tensors loaded
  uint64_t bytes;           ///< tensor bytes loaded
  double total_seconds;     ///< the whole load, planning to last copy
  double copy_seconds;      ///< reading and copying
  char engine[16];          ///< "cpu" or "cuda"
  uint64_t chunks;          ///< chunks streamed
  double plan_seconds;      ///< planning
  double allocate_seconds;  ///< device arenas
  double setup_seconds;     ///< staging ring and copy queues (near 0 once the engine pools them)
  uint64_t staging_bytes;   ///< staging actually allocated (0 when every arena was written
                            ///< directly)
  uint64_t peak_rss_anon_bytes;       ///< peak anonymous RSS of the process during the load
  uint64_t baseline_rss_anon_bytes;   ///< anonymous RSS before the load began
  uint64_t files_read_by_mmap;        ///< files read from their mapping
  uint64_t files_read_by_pread;       ///< files read with pread
  uint64_t files_read_by_direct;      ///< files read with O_DIRECT
  uint64_t files_direct_fallback;     ///< cold files Auto read with pread: O_DIRECT refused
  uint64_t peak_rss_file_bytes;       ///< peak file-backed RSS (page-cache pages of mappings,
                                      ///< reclaimable; `top` adds them to RES)
  uint64_t baseline_rss_file_bytes;   ///< file-backed RSS before the load began
  uint64_t tensors_viewed;            ///< ::STLOAD_ZERO_COPY: tensors that view their file
  uint64_t bytes_viewed;              ///< their bytes (in `bytes`; nothing copied for them)
  uint64_t tensors_copied_unaligned;  ///< ::STLOAD_ZERO_COPY tensors copied: file offset not a
                                      ///< multiple of their element size
} stload_load_stats;

/**
 * @brief One loaded tensor, as stload_model_tensor() describes it. Initialize with
 * stload_tensor_init() before the call.
 */
typedef struct stload_tensor {
  size_t struct_size;      ///< sizeof(stload_tensor) as the caller compiled it (init sets it)
  const char* name;        ///< NUL-terminated; lives as long as the model
  stload_dtype dtype;      ///< element type
  const char* dtype_name;  ///< "BF16", ...; static storage
  size_t ndim;             ///< number of dimensions (0 for a scalar)
  const uint64_t* shape;   ///< `ndim` sizes; lives as long as the model (NULL when ndim is 0)
  stload_device device;    ///< where the bytes are
  void* data;              ///< device pointer for GPU tensors; NULL only for zero-byte tensors
  uint64_t bytes;          ///< size of the data
} stload_tensor;

/**
 * @brief One tensor of an opened checkpoint, before any load (stload_checkpoint_tensor_at(),
 * stload_checkpoint_find()). Initialize with stload_tensor_info_init() before the call.
 */
typedef struct stload_tensor_info {
  size_t struct_size;      ///< sizeof(stload_tensor_info) as the caller compiled it (init sets it)
  const char* name;        ///< NUL-terminated; lives as long as the checkpoint
  stload_dtype dtype;      ///< element type
  const char* dtype_name;  ///< "BF16", ...; static storage
  size_t ndim;             ///< number of dimensions (0 for a scalar)
  const uint64_t* shape;   ///< `ndim` sizes; lives as long as the checkpoint (NULL when ndim is 0)
  size_t file;             ///< the file holding it, an index for stload_checkpoint_file_path()
  uint64_t file_offset;    ///< absolute offset of its first byte in that file
  uint64_t bytes;          ///< size of its data
} stload_tensor_info;

/** @brief The `file` argument of the metadata functions that names the index's own metadata. */
#define STLOAD_INDEX_METADATA ((size_t)-1)

/**
 * @brief The running library's version, "major.minor.patch": what ::STLOAD_VERSION_STRING was
 * when it was built (a program may have been compiled against other headers).
 */
const char* stload_version(void);

/**
 * @brief What the last failed call on this thread failed with: what, where (file, tensor,
 * offset) and why. Successful calls leave it as it is; "" when nothing has failed yet.
 * The string stays valid until the next failing call on the same thread.
 */
const char* stload_last_error(void);

/** @brief The status's name, e.g. "InvalidOffset"; "Unknown" for a value outside the enum. */
const char* stload_status_name(stload_status status);

/** @brief The dtype's name as headers spell it, e.g. "BF16"; "?" for a value outside the enum. */
const char* stload_dtype_name(stload_dtype dtype);

/**
 * @brief Sends the library's log messages to `callback` (with `user`), or, for NULL, back to the
 * default: `stload: MESSAGE` lines on stderr. Thread-safe: the callback may run on several
 * threads at once (loads use reader threads); once this returns, the previous callback is not
 * running and is never called again, so its `user` data may be freed.
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT when called from inside a log callback
 */
stload_status stload_set_log_callback(stload_log_callback callback, void* user);

/**
 * @brief Delivers log messages at `level` and above (default ::STLOAD_LOG_WARNING). Thread-safe.
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT for a value outside ::stload_log_level
 */
stload_status stload_set_log_level(int level);

/**
 * @brief Opens and validates every header of a checkpoint.
 * @param path a .safetensors file, a directory of them, or a `*.index.json`
 * @param[out] out the checkpoint; free with stload_checkpoint_free()
 */
stload_status stload_checkpoint_open(const char* path, stload_checkpoint** out);

/**
 * @brief The snapshot directory of a repo id in the local Hugging Face hub cache (never the
 * network), as stload::resolve_repo finds it: HF_HUB_CACHE, else $HF_HOME/hub, else
 * ~/.cache/huggingface/hub.
 * @param repo_id "ORG/NAME"
 * @param revision a ref ("main", a branch, a tag) or a commit hash; NULL or "" for "main"
 * @param[out] buffer receives the NUL-terminated path, cut to `size - 1` bytes (may be NULL when
 *        `size` is 0)
 * @param size bytes of `buffer`
 * @param[out] length the path's full length without the NUL (may be NULL): when it is `size` or
 *        more, the path was cut; call again with a buffer of `length + 1` bytes
 * @return STLOAD_ERROR_NOT_FOUND when the repo or revision is not cached (stload_last_error()
 *         lists where it looked and how to download it)
 */
stload_status stload_resolve_repo(const char* repo_id, const char* revision, char* buffer,
                                  size_t size, size_t* length);

/** @brief Releases a checkpoint. Models loaded from it stay valid. */
void stload_checkpoint_free(stload_checkpoint* checkpoint);

/** @brief Number of tensors in the checkpoint (0 for NULL). */
size_t stload_checkpoint_tensor_count(const stload_checkpoint* checkpoint);

/** @brief Sum of all tensors' bytes (0 for NULL). */
uint64_t stload_checkpoint_total_bytes(const stload_checkpoint* checkpoint);

/** @brief Readies `info` for stload_checkpoint_tensor_at(), stload_checkpoint_find(): zeroes it
 * and sets its struct_size. */
static inline void stload_tensor_info_init(stload_tensor_info* info) {
  memset(info, 0, sizeof *info);
  info->struct_size = sizeof *info;
}

/**
 * @brief Describes tensor `index` of the checkpoint (its order: files in order, each by offset),
 * before anything is loaded.
 * @param[out] out initialized by stload_tensor_info_init(); its pointers live as long as the
 *        checkpoint
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT for an index out of range or a NULL argument
 */
stload_status stload_checkpoint_tensor_at(const stload_checkpoint* checkpoint, size_t index,
                                          stload_tensor_info* out);

/**
 * @brief Describes the tensor called `name`, before anything is loaded.
 * @return ::STLOAD_ERROR_TENSOR_NOT_FOUND when the checkpoint has no such tensor
 */
stload_status stload_checkpoint_find(const stload_checkpoint* checkpoint, const char* name,
                                     stload_tensor_info* out);

/** @brief Number of files the checkpoint reads (0 for NULL). */
size_t stload_checkpoint_file_count(const stload_checkpoint* checkpoint);

/** @brief Path of file `file` as opened (NUL-terminated, lives as long as the checkpoint); NULL
 * for NULL or an index out of range. */
const char* stload_checkpoint_file_path(const stload_checkpoint* checkpoint, size_t file);

/**
 * @brief Number of metadata entries: file `file`'s `__metadata__`, or with
 * ::STLOAD_INDEX_METADATA the scalar members of a sharded checkpoint's index "metadata" object
 * (each as its JSON text, strings decoded: `total_size` reads "1234"). 0 for NULL, an index out
 * of range, or none.
 */
size_t stload_checkpoint_metadata_count(const stload_checkpoint* checkpoint, size_t file);

/**
 * @brief Entry `index` (in key order) of the metadata stload_checkpoint_metadata_count() counts.
 * @param[out] key, value NUL-terminated; live as long as the checkpoint
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT for a file or index out of range or a NULL argument
 */
stload_status stload_checkpoint_metadata_at(const stload_checkpoint* checkpoint, size_t file,
                                            size_t index, const char** key, const char** value);

/** @brief The metadata value under `key` (see stload_checkpoint_metadata_count()), or NULL when
 * absent. Lives as long as the checkpoint. */
const char* stload_checkpoint_metadata_get(const stload_checkpoint* checkpoint, size_t file,
                                           const char* key);

/** @brief Number of notes stload_checkpoint_open() left: choices it made that the caller should
 * hear about (a single file preferred over an index beside it, ...). 0 for NULL. */
size_t stload_checkpoint_note_count(const stload_checkpoint* checkpoint);

/** @brief Note `index`, one sentence (lives as long as the checkpoint); NULL when out of range. */
const char* stload_checkpoint_note(const stload_checkpoint* checkpoint, size_t index);

/** @brief Fills `options` with the defaults (all zero) and sets its struct_size. */
static inline void stload_load_options_init(stload_load_options* options) {
  memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
}

/** @brief Readies `allocator` for stload_load_options.allocators: zeroes it and sets its
 * struct_size. */
static inline void stload_allocator_init(stload_allocator* allocator) {
  memset(allocator, 0, sizeof *allocator);
  allocator->struct_size = sizeof *allocator;
}

/** @brief Readies `destination` for stload_load_options.destinations: zeroes it and sets its
 * struct_size. */
static inline void stload_destination_init(stload_destination* destination) {
  memset(destination, 0, sizeof *destination);
  destination->struct_size = sizeof *destination;
}

/** @brief Readies `stats` for stload_load(): zeroes it and sets its struct_size. */
static inline void stload_load_stats_init(stload_load_stats* stats) {
  memset(stats, 0, sizeof *stats);
  stats->struct_size = sizeof *stats;
}

/** @brief Readies `tensor` for stload_model_tensor(), stload_model_find(): zeroes it and sets its
 * struct_size. */
static inline void stload_tensor_init(stload_tensor* tensor) {
  memset(tensor, 0, sizeof *tensor);
  tensor->struct_size = sizeof *tensor;
}

/** @brief Fills `options` with the defaults (all zero) and sets its struct_size. */
static inline void stload_plan_options_init(stload_plan_options* options) {
  memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
}

/** @brief Readies `device` for stload_plan_device_at(): zeroes it and sets its struct_size. */
static inline void stload_plan_device_init(stload_plan_device* device) {
  memset(device, 0, sizeof *device);
  device->struct_size = sizeof *device;
}

/**
 * @brief Plans a load onto devices of stated capacities (which need not be present: no engine
 * is made, no memory allocated), as stload::plan_for_devices does.
 * @param checkpoint an opened checkpoint
 * @param options the device map and the devices' capacities (required)
 * @param[out] out the plan; free with stload_plan_free()
 * @return ::STLOAD_ERROR_OUT_OF_MEMORY naming the device when a device's share exceeds its
 *         capacity (or, for "auto", naming the tensor that fits nowhere);
 *         ::STLOAD_ERROR_INVALID_ARGUMENT for a device the map needs and `devices` lacks
 */
stload_status stload_make_plan(const stload_checkpoint* checkpoint,
                               const stload_plan_options* options, stload_plan** out);

/** @brief Releases a plan (NULL is accepted). */
void stload_plan_free(stload_plan* plan);

/** @brief Devices the plan uses, i.e. arenas (0 for NULL). */
size_t stload_plan_device_count(const stload_plan* plan);

/** @brief Chunks the load would stream (0 for NULL). */
uint64_t stload_plan_chunk_count(const stload_plan* plan);

/** @brief Tensor bytes the plan loads (0 for NULL). */
uint64_t stload_plan_tensor_bytes(const stload_plan* plan);

/**
 * @brief Describes the plan's device `index` (arena order).
 * @param[out] out initialized by stload_plan_device_init(); its strings live as long as the plan
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT for an index out of range
 */
stload_status stload_plan_device_at(const stload_plan* plan, size_t index, stload_plan_device* out);

/**
 * @brief Loads a checkpoint onto the devices the options name.
 * @param checkpoint an opened checkpoint
 * @param options NULL for the defaults
 * @param[out] out the loaded model; free with stload_model_free()
 * @param[out] stats NULL, or (initialized by stload_load_stats_init()) receives what the load did
 */
stload_status stload_load(const stload_checkpoint* checkpoint, const stload_load_options* options,
                          stload_model** out, stload_load_stats* stats);

/** @brief Releases a model; its memory goes once every DLPack tensor exported from it is deleted.
 */
void stload_model_free(stload_model* model);

/** @brief Number of loaded tensors (0 for NULL). */
size_t stload_model_tensor_count(const stload_model* model);

/**
 * @brief Describes tensor `index` (checkpoint order).
 * @param model a loaded model
 * @param index from 0 to stload_model_tensor_count() - 1
 * @param[out] out the description (initialized by stload_tensor_init()); its pointers live as long
 * as the model
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT for an index out of range
 */
stload_status stload_model_tensor(const stload_model* model, size_t index, stload_tensor* out);

/**
 * @brief Describes the tensor called `name`.
 * @param model a loaded model
 * @param name the tensor's name
 * @param[out] out the description (initialized by stload_tensor_init()); its pointers live as long
 * as the model
 * @return ::STLOAD_ERROR_TENSOR_NOT_FOUND when no such tensor was loaded
 */
stload_status stload_model_find(const stload_model* model, const char* name, stload_tensor* out);

/**
 * @brief Copies the tensor called `name` back to host memory.
 * @param model a loaded model
 * @param name the tensor's name
 * @param out `bytes` bytes of host memory
 * @param bytes must equal the tensor's size
 */
stload_status stload_model_read(const stload_model* model, const char* name, void* out,
                                uint64_t bytes);

/**
 * @brief Exports the tensor called `name` as a DLPack tensor, without a copy. The tensor keeps the
 * model's memory alive: the model may be freed first.
 * @param model a loaded model
 * @param name the tensor's name
 * @param[out] out call `(*out)->deleter(*out)` exactly once when done
 * @return ::STLOAD_ERROR_INVALID_ARGUMENT for a dtype this DLPack version cannot express
 */
stload_status stload_model_to_dlpack(const stload_model* model, const char* name,
                                     struct DLManagedTensor** out);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // STLOAD_STLOAD_H_
