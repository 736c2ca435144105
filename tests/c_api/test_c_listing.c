/* The C API on a par with C++, from plain C (C11): listing a checkpoint's tensors, files,
 * metadata (per file and the index's) and notes before loading; a load with a progress callback,
 * cancelled from it; the read method and staging options; the rich stats, also into an older
 * caller's smaller struct. Exits non-zero when a check failed. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "c_test_support.h"
#include "stload/stload.h"

/* Two shards of a sharded checkpoint, with their index and a "metadata" object in it:
 *   model-00001-of-00002.safetensors: a (F32 [2,3], 24 bytes), b (U8 [1000]); __metadata__
 * format=pt model-00002-of-00002.safetensors: c (BF16 [4]) */
static void write_sharded(const char* dir) {
  mkdir(dir, 0755);
  char path[2048];
  static const char first[] =
      "{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"test\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[1000],\"data_offsets\":[24,1024]}}";
  static const char second[] = "{\"c\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}";
  snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", dir);
  write_safetensors_file(path, first, sizeof first - 1, 1024);
  snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
  write_safetensors_file(path, second, sizeof second - 1, 8);
  snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
  write_text_file(
      path,
      "{\"metadata\": {\"total_size\": 1032, \"note\": \"two shards\", \"nested\": {\"x\": 1}},"
      " \"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
      " \"b\": \"model-00001-of-00002.safetensors\","
      " \"c\": \"model-00002-of-00002.safetensors\"}}");
}

static int ends_with(const char* text, const char* suffix) {
  size_t n = strlen(text);
  size_t m = strlen(suffix);
  return n >= m && strcmp(text + n - m, suffix) == 0;
}

static void test_listing(const char* dir) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;
  CHECK(stload_checkpoint_tensor_count(checkpoint) == 3);
  CHECK(stload_checkpoint_file_count(checkpoint) == 2);
  CHECK(ends_with(stload_checkpoint_file_path(checkpoint, 0), "model-00001-of-00002.safetensors"));
  CHECK(ends_with(stload_checkpoint_file_path(checkpoint, 1), "model-00002-of-00002.safetensors"));
  CHECK(stload_checkpoint_file_path(checkpoint, 2) == NULL);

  stload_tensor_info info;
  stload_tensor_info_init(&info);
  CHECK_STATUS(stload_checkpoint_find(checkpoint, "a", &info), STLOAD_OK);
  CHECK(strcmp(info.name, "a") == 0);
  CHECK(info.dtype == STLOAD_DTYPE_F32 && strcmp(info.dtype_name, "F32") == 0);
  CHECK(info.ndim == 2 && info.shape != NULL && info.shape[0] == 2 && info.shape[1] == 3);
  CHECK(info.file == 0 && info.bytes == 24);
  stload_tensor_info b;
  stload_tensor_info_init(&b);
  CHECK_STATUS(stload_checkpoint_find(checkpoint, "b", &b), STLOAD_OK);
  CHECK(b.file_offset == info.file_offset + 24 && b.bytes == 1000 && b.file == 0);
  CHECK(info.file_offset % 8 == 0 && info.file_offset > 8);

  stload_tensor_info c;
  stload_tensor_info_init(&c);
  CHECK_STATUS(stload_checkpoint_tensor_at(checkpoint, 2, &c), STLOAD_OK);
  CHECK(strcmp(c.name, "c") == 0 && c.file == 1 && c.dtype == STLOAD_DTYPE_BF16 && c.bytes == 8);

  /* Out of range, unknown names, NULLs: errors, and `out` left as it was. */
  stload_tensor_info untouched;
  stload_tensor_info_init(&untouched);
  untouched.bytes = 777;
  CHECK_STATUS(stload_checkpoint_tensor_at(checkpoint, 3, &untouched),
               STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "3 tensors") != NULL);
  CHECK_STATUS(stload_checkpoint_find(checkpoint, "model.nope", &untouched),
               STLOAD_ERROR_TENSOR_NOT_FOUND);
  CHECK(strstr(stload_last_error(), "model.nope") != NULL);
  CHECK(untouched.bytes == 777 && untouched.name == NULL);
  CHECK_STATUS(stload_checkpoint_find(NULL, "a", &untouched), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(stload_checkpoint_tensor_at(checkpoint, 0, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  untouched.struct_size = 0;
  CHECK_STATUS(stload_checkpoint_tensor_at(checkpoint, 0, &untouched),
               STLOAD_ERROR_INVALID_ARGUMENT);

  /* An older caller's struct that ends before `file`: the library writes no byte past it. */
  unsigned char old[sizeof(stload_tensor_info) + 8];
  memset(old, 0xAB, sizeof old);
  stload_tensor_info* older = (stload_tensor_info*)(void*)old;
  older->struct_size = offsetof(stload_tensor_info, file);
  CHECK_STATUS(stload_checkpoint_tensor_at(checkpoint, 0, older), STLOAD_OK);
  CHECK(older->struct_size == offsetof(stload_tensor_info, file) && strcmp(older->name, "a") == 0);
  CHECK(old[offsetof(stload_tensor_info, file)] == 0xAB && old[sizeof old - 1] == 0xAB);

  /* Per-file metadata, and the index's scalar members (nested ones are left out). */
  CHECK(stload_checkpoint_metadata_count(checkpoint, 0) == 2);
  CHECK(stload_checkpoint_metadata_count(checkpoint, 1) == 0);
  CHECK(stload_checkpoint_metadata_count(checkpoint, 2) == 0);
  const char* key = NULL;
  const char* value = NULL;
  CHECK_STATUS(stload_checkpoint_metadata_at(checkpoint, 0, 1, &key, &value), STLOAD_OK);
  CHECK(key != NULL && strcmp(key, "producer") == 0 && strcmp(value, "test") == 0);
  CHECK(strcmp(stload_checkpoint_metadata_get(checkpoint, 0, "format"), "pt") == 0);
  CHECK(stload_checkpoint_metadata_get(checkpoint, 0, "absent") == NULL);
  CHECK(stload_checkpoint_metadata_count(checkpoint, STLOAD_INDEX_METADATA) == 2);
  CHECK(strcmp(stload_checkpoint_metadata_get(checkpoint, STLOAD_INDEX_METADATA, "total_size"),
               "1032") == 0);
  CHECK(strcmp(stload_checkpoint_metadata_get(checkpoint, STLOAD_INDEX_METADATA, "note"),
               "two shards") == 0);
  CHECK(stload_checkpoint_metadata_get(checkpoint, STLOAD_INDEX_METADATA, "nested") == NULL);
  CHECK_STATUS(stload_checkpoint_metadata_at(checkpoint, 0, 2, &key, &value),
               STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(stload_checkpoint_metadata_at(checkpoint, 5, 0, &key, &value),
               STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "2 files") != NULL);

  /* A complete index names every file: nothing to note. */
  CHECK(stload_checkpoint_note_count(checkpoint) == 0);
  CHECK(stload_checkpoint_note(checkpoint, 0) == NULL);
  stload_checkpoint_free(checkpoint);
}

/* A single file beside an index: the file wins, and the checkpoint says so in a note. */
static void test_notes(const char* dir) {
  mkdir(dir, 0755);
  char path[2048];
  static const char header[] = "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  write_safetensors_file(path, header, sizeof header - 1, 4);
  snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
  write_text_file(path, "{\"weight_map\": {\"x\": \"model-00001-of-00001.safetensors\"}}");
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK);
  CHECK(stload_checkpoint_note_count(checkpoint) == 1);
  CHECK(stload_checkpoint_note(checkpoint, 0) != NULL &&
        strstr(stload_checkpoint_note(checkpoint, 0), "model.safetensors") != NULL);
  CHECK(stload_checkpoint_note(checkpoint, 1) == NULL);
  CHECK(stload_checkpoint_metadata_count(checkpoint, STLOAD_INDEX_METADATA) == 0);
  stload_checkpoint_free(checkpoint);
}

/* What the progress callback saw. */
typedef struct seen {
  int calls;
  int cancel_at; /* cancel on this call (1-based); 0: never */
  int monotonic; /* bytes_done never went down */
  unsigned long long last_done;
  unsigned long long total;
  size_t struct_size;
} seen;

static int on_progress(const stload_progress* progress, void* user) {
  seen* s = (seen*)user;
  ++s->calls;
  if (progress->bytes_done < s->last_done) s->monotonic = 0;
  s->last_done = progress->bytes_done;
  s->total = progress->bytes_total;
  s->struct_size = progress->struct_size;
  return s->cancel_at != 0 && s->calls >= s->cancel_at;
}

static void test_progress_cancel_and_stats(const char* dir) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;

  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  options.device_map = "cpu";
  options.chunk_bytes = 256; /* b (1000 bytes) alone spans four chunks */
  options.staging_bytes = 4096;
  options.read_method = STLOAD_READ_PREAD;
  seen s;
  memset(&s, 0, sizeof s);
  s.monotonic = 1;
  options.progress = on_progress;
  options.progress_user = &s;
  stload_load_stats stats;
  stload_load_stats_init(&stats);
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  CHECK(s.calls >= 5 && (unsigned long long)s.calls == stats.chunks);
  CHECK(s.monotonic && s.last_done == 1032 && s.total == 1032);
  CHECK(s.struct_size == sizeof(stload_progress));
  CHECK(stats.tensors == 3 && stats.bytes == 1032 && strcmp(stats.engine, "cpu") == 0);
  CHECK(stats.files_read_by_pread == 2 && stats.files_read_by_mmap == 0);
  CHECK(stats.staging_bytes == 0); /* host arenas are written directly */
  CHECK(stats.total_seconds >= stats.copy_seconds && stats.plan_seconds >= 0);
  /* Every process maps its own binary: file-backed RSS is never 0 when read. */
  CHECK(stats.peak_rss_file_bytes >= stats.baseline_rss_file_bytes &&
        stats.baseline_rss_file_bytes > 0);
  CHECK(stats.peak_rss_anon_bytes >= stats.baseline_rss_anon_bytes &&
        stats.peak_rss_anon_bytes > 0);
  stload_model_free(model);

  /* Staged even into host memory, read from the mapping. */
  options.always_stage = 1;
  options.read_method = STLOAD_READ_MMAP;
  options.progress = NULL;
  stload_load_stats_init(&stats);
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  CHECK(stats.staging_bytes > 0 && stats.staging_bytes <= 4096);
  CHECK(stats.files_read_by_mmap == 2 && stats.files_read_by_pread == 0);
  unsigned char got[1000];
  CHECK_STATUS(stload_model_read(model, "b", got, sizeof got), STLOAD_OK);
  /* b starts 24 bytes into the first file's data section, whose bytes count from 0 mod 256. */
  CHECK(got[0] == 24 && got[999] == (unsigned char)((24 + 999) & 0xFF));
  stload_model_free(model);

  /* O_DIRECT, straight into host memory (the temp directory's file system takes O_DIRECT here;
     one that refuses it is INVALID_ARGUMENT, which this accepts as long as no model is made). */
  options.always_stage = 0;
  options.read_method = STLOAD_READ_DIRECT;
  stload_load_stats_init(&stats);
  model = NULL;
  const stload_status direct_status = stload_load(checkpoint, &options, &model, &stats);
  CHECK(direct_status == STLOAD_OK || (direct_status == STLOAD_ERROR_INVALID_ARGUMENT && !model));
  if (direct_status == STLOAD_OK) {
    CHECK(stats.files_read_by_direct == 2 && stats.files_read_by_pread == 0);
    CHECK(stats.files_direct_fallback == 0);
    memset(got, 0, sizeof got);
    CHECK_STATUS(stload_model_read(model, "b", got, sizeof got), STLOAD_OK);
    CHECK(got[0] == 24 && got[999] == (unsigned char)((24 + 999) & 0xFF));
    stload_model_free(model);
  }

  /* Cancelled from the callback on its second call: CANCELLED, no model, no call after it. */
  options.always_stage = 0;
  options.progress = on_progress;
  memset(&s, 0, sizeof s);
  s.monotonic = 1;
  s.cancel_at = 2;
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_CANCELLED);
  CHECK(model == NULL && s.calls == 2);
  CHECK(strstr(stload_last_error(), "cancelled") != NULL);

  /* Zero-copy: the CPU tensors view their files (3 here, all aligned), and a plan refuses the
     flag (a plan copies nothing either way). */
  options.progress = NULL; /* the cancelling callback above is done */
  options.flags = STLOAD_ZERO_COPY;
  stload_load_stats_init(&stats);
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  CHECK(stats.tensors_viewed + stats.tensors_copied_unaligned == 3);
  CHECK(stats.tensors_viewed >= 1 && stats.chunks == (stats.tensors_copied_unaligned ? 1u : 0u));
  memset(got, 0, sizeof got);
  CHECK_STATUS(stload_model_read(model, "b", got, sizeof got), STLOAD_OK);
  CHECK(got[0] == 24 && got[999] == (unsigned char)((24 + 999) & 0xFF));
  stload_tensor view;
  stload_tensor_init(&view);
  CHECK_STATUS(stload_model_find(model, "b", &view), STLOAD_OK);
  CHECK(((const unsigned char*)view.data)[0] == 24);
  stload_model_free(model);
  options.flags = 0;
  stload_device cpu;
  memset(&cpu, 0, sizeof cpu);
  cpu.kind = STLOAD_DEVICE_CPU;
  const uint64_t capacity = 1ULL << 30U;
  stload_plan_options plan_options;
  stload_plan_options_init(&plan_options);
  plan_options.device_map = "cpu";
  plan_options.devices = &cpu;
  plan_options.capacity_bytes = &capacity;
  plan_options.device_count = 1;
  plan_options.flags = STLOAD_ZERO_COPY;
  stload_plan* plan = NULL;
  CHECK_STATUS(stload_make_plan(checkpoint, &plan_options, &plan), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(plan == NULL && strstr(stload_last_error(), "unknown bits") != NULL);

  /* Tensor parallelism: rank 1 of 2 gets the second half of "c" (dim 0, 4 x BF16 -> 2) and the
     others whole (no rule names them); an uneven split and a split without a world are
     refused. */
  options.tp_rank = 1;
  options.tp_world = 2;
  options.split = "{\"c\": 0}";
  stload_load_stats_init(&stats);
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  stload_tensor part;
  stload_tensor_init(&part);
  CHECK_STATUS(stload_model_find(model, "c", &part), STLOAD_OK);
  CHECK(part.ndim == 1 && part.shape[0] == 2 && part.bytes == 4);
  CHECK(stats.bytes == 1032 - 4);
  stload_model_free(model);
  options.tp_world = 3;
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL && strstr(stload_last_error(), "3 equal parts") != NULL);
  options.tp_world = 0;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "go together") != NULL);
  options.tp_rank = 0;
  options.split = NULL;

  /* Dtype conversion: "c" (4 x BF16) loaded as F32 is 16 bytes; an integer target is refused
     naming the tensor. */
  options.dtype = "{\"c\": \"f32\"}";
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  stload_tensor wide;
  stload_tensor_init(&wide);
  CHECK_STATUS(stload_model_find(model, "c", &wide), STLOAD_OK);
  CHECK(wide.dtype == STLOAD_DTYPE_F32 && wide.ndim == 1 && wide.shape[0] == 4 &&
        wide.bytes == 16);
  stload_model_free(model);
  options.dtype = "{\"c\": \"i32\"}";
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL && strstr(stload_last_error(), "from BF16 to I32") != NULL);
  options.dtype = NULL;

  /* An unknown read method fails before anything loads. */
  options.progress = NULL;
  options.read_method = (stload_read_method)7;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "read method 7") != NULL);

  /* An older caller's options (before read_method) and stats (before chunks): defaults in, and
   * nothing written past the caller's struct. */
  stload_load_options older_options;
  stload_load_options_init(&older_options);
  older_options.struct_size = offsetof(stload_load_options, read_method);
  older_options.engine = STLOAD_ENGINE_CPU;
  older_options.device_map = "cpu";
  unsigned char old[sizeof(stload_load_stats)];
  memset(old, 0xCD, sizeof old);
  stload_load_stats* older_stats = (stload_load_stats*)(void*)old;
  older_stats->struct_size = offsetof(stload_load_stats, chunks);
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &older_options, &model, older_stats), STLOAD_OK);
  CHECK(older_stats->tensors == 3 && older_stats->bytes == 1032);
  CHECK(old[offsetof(stload_load_stats, chunks)] == 0xCD && old[sizeof old - 1] == 0xCD);
  stload_model_free(model);
  stload_checkpoint_free(checkpoint);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  char sharded[1024];
  char noted[1024];
  snprintf(sharded, sizeof sharded, "%s/listing_sharded", argv[1]);
  snprintf(noted, sizeof noted, "%s/listing_noted", argv[1]);
  write_sharded(sharded);
  test_listing(sharded);
  test_notes(noted);
  test_progress_cancel_and_stats(sharded);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("C API listing, progress and stats: all checks passed\n");
  return 0;
}
