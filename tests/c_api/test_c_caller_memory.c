/* Caller-owned memory from plain C (C11): tensors loaded into the caller's destinations (bytes
 * checked against the file), arenas from the caller's allocator (sizes, alignment, one release
 * per allocation when the model goes), every error the C side can make (a failing or misaligned
 * allocator, a destination too small, misaligned, unknown or on an unparsable device) failing
 * cleanly with nothing leaked, and an older caller's options without these fields. Exits
 * non-zero when a check failed. */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_support.h"
#include "stload/stload.h"

/* a (F32 [2,3], 24 bytes), b (U8 [1000]), c (BF16 [4], 8 bytes), d (F32 [16], 64 bytes). */
static void write_checkpoint(const char* path) {
  static const char header[] =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[1000],\"data_offsets\":[24,1024]},"
      "\"c\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[1024,1032]},"
      "\"d\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[1032,1096]}}";
  write_safetensors_file(path, header, sizeof header - 1, 1096);
}

/* Whether `bytes` bytes at `data` are the tensor's bytes as its file holds them. */
static int matches_file(const stload_checkpoint* checkpoint, const char* name, const void* data,
                        uint64_t bytes) {
  stload_tensor_info info;
  stload_tensor_info_init(&info);
  if (stload_checkpoint_find(checkpoint, name, &info) != STLOAD_OK || info.bytes != bytes) return 0;
  FILE* file = fopen(stload_checkpoint_file_path(checkpoint, info.file), "rb");
  if (file == NULL) return 0;
  unsigned char expected[1024];
  int same = bytes <= sizeof expected && fseek(file, (long)info.file_offset, SEEK_SET) == 0 &&
             fread(expected, 1, (size_t)bytes, file) == bytes &&
             memcmp(expected, data, (size_t)bytes) == 0;
  fclose(file);
  return same;
}

/* An allocator that counts: posix_memalign'd memory, `misalign` bytes past what it got, or a
 * failure when `fail_with` is not 0. */
typedef struct tracker {
  int allocations;
  int releases;
  int fail_with;
  size_t misalign;
  uint64_t bytes;
  uint64_t alignment;
  char device[32];
  unsigned char* base;
  void* given;
  void* released;
  uint64_t released_bytes;
} tracker;

static int track_allocate(const char* device, uint64_t bytes, uint64_t alignment, void** out,
                          void* user) {
  tracker* t = (tracker*)user;
  ++t->allocations;
  t->bytes = bytes;
  t->alignment = alignment;
  snprintf(t->device, sizeof t->device, "%s", device);
  if (t->fail_with != 0) return t->fail_with;
  void* memory = NULL;
  if (posix_memalign(&memory, (size_t)alignment, (size_t)bytes + t->misalign) != 0) return 12;
  t->base = (unsigned char*)memory;
  t->given = t->base + t->misalign;
  *out = t->given;
  return 0;
}

static void track_release(const char* device, void* data, uint64_t bytes, void* user) {
  tracker* t = (tracker*)user;
  ++t->releases;
  CHECK(strcmp(device, t->device) == 0);
  t->released = data;
  t->released_bytes = bytes;
  free(t->base);
  t->base = NULL;
}

static _Alignas(256) unsigned char pool[4096];

static int pool_allocate(const char* device, uint64_t bytes, uint64_t alignment, void** out,
                         void* user) {
  (void)device;
  (void)alignment;
  (void)user;
  if (bytes > sizeof pool) return 1;
  *out = pool;
  return 0;
}

static int cancel_at_once(const stload_progress* progress, void* user) {
  (void)progress;
  (void)user;
  return 1;
}

static void init_allocator(stload_allocator* allocator, const char* device, tracker* t) {
  stload_allocator_init(allocator);
  allocator->device = device;
  allocator->allocate = track_allocate;
  allocator->release = track_release;
  allocator->user = t;
}

static stload_load_options cpu_options(void) {
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  options.device_map = "cpu";
  return options;
}

static void test_destinations(const stload_checkpoint* checkpoint) {
  /* malloc's memory is aligned for any element type. */
  unsigned char* for_a = (unsigned char*)malloc(24);
  unsigned char* for_c = (unsigned char*)malloc(100); /* larger than the tensor is fine */
  if (for_a == NULL || for_c == NULL) exit(2);
  memset(for_c, 0xEE, 100);
  stload_destination destinations[2];
  stload_destination_init(&destinations[0]);
  destinations[0].name = "a";
  destinations[0].device = "cpu";
  destinations[0].data = for_a;
  destinations[0].bytes = 24;
  stload_destination_init(&destinations[1]);
  destinations[1].name = "c";
  destinations[1].device = "cpu:0";
  destinations[1].data = for_c;
  destinations[1].bytes = 100;
  stload_load_options options = cpu_options();
  options.destinations = destinations;
  options.destination_count = 2;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  if (model == NULL) return;
  CHECK(stload_model_tensor_count(model) == 4);
  stload_tensor tensor;
  stload_tensor_init(&tensor);
  CHECK_STATUS(stload_model_find(model, "a", &tensor), STLOAD_OK);
  CHECK(tensor.data == for_a && tensor.bytes == 24);
  CHECK_STATUS(stload_model_find(model, "c", &tensor), STLOAD_OK);
  CHECK(tensor.data == for_c && tensor.bytes == 8);
  CHECK(matches_file(checkpoint, "a", for_a, 24));
  CHECK(matches_file(checkpoint, "c", for_c, 8));
  CHECK(for_c[8] == 0xEE && for_c[99] == 0xEE); /* nothing past the tensor written */
  /* The other tensors went to the engine's own arena, and read back right too. */
  unsigned char b[1000];
  CHECK_STATUS(stload_model_read(model, "b", b, sizeof b), STLOAD_OK);
  CHECK(matches_file(checkpoint, "b", b, sizeof b));
  CHECK_STATUS(stload_model_find(model, "d", &tensor), STLOAD_OK);
  CHECK(tensor.data != NULL && matches_file(checkpoint, "d", tensor.data, 64));
  stload_model_free(model);
  /* The caller's memory is the caller's: still there, still the tensor's, after the model. */
  CHECK(matches_file(checkpoint, "a", for_a, 24));
  free(for_a);
  free(for_c);
}

static void test_allocator(const stload_checkpoint* checkpoint) {
  tracker t;
  memset(&t, 0, sizeof t);
  stload_allocator allocator;
  init_allocator(&allocator, "cpu", &t);
  /* With a destination too: its tensor is not in the allocator's arena. */
  unsigned char for_b[1000];
  stload_destination destination;
  stload_destination_init(&destination);
  destination.name = "b";
  destination.device = "cpu";
  destination.data = for_b;
  destination.bytes = sizeof for_b;
  stload_load_options options = cpu_options();
  options.allocators = &allocator;
  options.allocator_count = 1;
  options.destinations = &destination;
  options.destination_count = 1;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  if (model == NULL) return;
  CHECK(t.allocations == 1 && t.releases == 0);
  CHECK(strcmp(t.device, "cpu:0") == 0);
  CHECK(t.alignment == 256);
  /* a, c and d, each at an aligned offset: at least their bytes, at most that plus padding. */
  CHECK(t.bytes >= 24 + 8 + 64 && t.bytes <= 24 + 8 + 64 + 3 * 256);
  const char* in_arena[] = {"a", "c", "d"};
  for (int i = 0; i < 3; ++i) {
    stload_tensor tensor;
    stload_tensor_init(&tensor);
    CHECK_STATUS(stload_model_find(model, in_arena[i], &tensor), STLOAD_OK);
    unsigned char* data = (unsigned char*)tensor.data;
    CHECK(data >= t.base && data + tensor.bytes <= t.base + t.bytes);
    CHECK(matches_file(checkpoint, in_arena[i], data, tensor.bytes));
  }
  CHECK(matches_file(checkpoint, "b", for_b, sizeof for_b));
  stload_model_free(model);
  CHECK(t.allocations == 1 && t.releases == 1);
  CHECK(t.released == t.given && t.released_bytes == t.bytes);

  /* No release callback: the allocator's memory is its own business (here: a static pool). */
  stload_allocator pooled;
  stload_allocator_init(&pooled);
  pooled.device = "cpu";
  pooled.allocate = pool_allocate;
  options.allocators = &pooled;
  options.destination_count = 0;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  stload_tensor tensor;
  stload_tensor_init(&tensor);
  CHECK_STATUS(stload_model_find(model, "b", &tensor), STLOAD_OK);
  CHECK((unsigned char*)tensor.data >= pool && (unsigned char*)tensor.data < pool + sizeof pool);
  CHECK(matches_file(checkpoint, "b", tensor.data, 1000));
  stload_model_free(model);
}

static void test_allocator_errors(const stload_checkpoint* checkpoint) {
  stload_model* model = NULL;
  tracker t;
  memset(&t, 0, sizeof t);
  t.fail_with = 7;
  stload_allocator allocator;
  init_allocator(&allocator, "cpu", &t);
  stload_load_options options = cpu_options();
  options.allocators = &allocator;
  options.allocator_count = 1;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_OUT_OF_MEMORY);
  CHECK(model == NULL && t.allocations == 1 && t.releases == 0);
  CHECK(strstr(stload_last_error(), "cpu:0") != NULL);
  CHECK(strstr(stload_last_error(), "returned 7") != NULL);

  /* Misaligned memory is refused, and handed back. */
  memset(&t, 0, sizeof t);
  t.misalign = 8;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL && t.allocations == 1 && t.releases == 1 && t.released == t.given);
  CHECK(strstr(stload_last_error(), "aligned") != NULL);

  /* Two devices: the second allocator fails, the first one's arena goes back. */
  tracker first;
  tracker second;
  memset(&first, 0, sizeof first);
  memset(&second, 0, sizeof second);
  second.fail_with = 1;
  stload_allocator two[2];
  init_allocator(&two[0], "cpu:0", &first);
  init_allocator(&two[1], "cpu:1", &second);
  options.device_map = "{\"a\": \"cpu:0\", \"\": \"cpu:1\"}";
  options.allocators = two;
  options.allocator_count = 2;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_OUT_OF_MEMORY);
  CHECK(model == NULL && first.allocations == 1 && first.releases == 1);
  CHECK(second.allocations == 1 && second.releases == 0);
  CHECK(strstr(stload_last_error(), "cpu:1") != NULL);

  /* A load cancelled after allocating hands everything back. */
  memset(&first, 0, sizeof first);
  memset(&second, 0, sizeof second);
  options.chunk_bytes = 256;
  options.progress = cancel_at_once;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_CANCELLED);
  CHECK(model == NULL && first.allocations == 1 && second.allocations == 1);
  CHECK(first.releases == 1 && second.releases == 1);
  options.progress = NULL;

  /* Both allocators used, both arenas released once, when the model goes. */
  memset(&first, 0, sizeof first);
  memset(&second, 0, sizeof second);
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  CHECK(first.allocations == 1 && second.allocations == 1 && first.releases == 0);
  CHECK(strcmp(first.device, "cpu:0") == 0 && strcmp(second.device, "cpu:1") == 0);
  stload_model_free(model);
  model = NULL;
  CHECK(first.releases == 1 && second.releases == 1);

  /* What the C side can get wrong, each named. */
  options.device_map = "cpu";
  options.allocator_count = 1;
  allocator.device = "gpu:0";
  options.allocators = &allocator;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "allocators[0]") != NULL);
  CHECK(strstr(stload_last_error(), "gpu:0") != NULL);
  allocator.device = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  allocator.device = "cpu";
  allocator.allocate = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "allocate") != NULL);
  init_allocator(&two[0], "cpu", &first);
  init_allocator(&two[1], "cpu:0", &first);
  options.allocators = two;
  options.allocator_count = 2;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "second allocator for cpu:0") != NULL);
  /* A device this engine does not have. */
  init_allocator(&allocator, "cuda:0", &first);
  options.allocators = &allocator;
  options.allocator_count = 1;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "cuda:0") != NULL);
  options.allocators = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL);
}

/* Loads with one destination for tensor `name` and expects `status` with `needle` (and the
 * tensor's name) in the message; the allocator given alongside must be called as often as
 * released. */
static void expect_destination_error(const stload_checkpoint* checkpoint, const char* name,
                                     const char* device, void* data, uint64_t bytes,
                                     const char* needle) {
  tracker t;
  memset(&t, 0, sizeof t);
  stload_allocator allocator;
  init_allocator(&allocator, "cpu", &t);
  stload_destination destination;
  stload_destination_init(&destination);
  destination.name = name;
  destination.device = device;
  destination.data = data;
  destination.bytes = bytes;
  stload_load_options options = cpu_options();
  options.allocators = &allocator;
  options.allocator_count = 1;
  options.destinations = &destination;
  options.destination_count = 1;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL && t.allocations == t.releases);
  if (name != NULL) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", name);
    CHECK(strstr(stload_last_error(), quoted) != NULL);
  }
  if (strstr(stload_last_error(), needle) == NULL) {
    fprintf(stderr, "expected '%s' in: %s\n", needle, stload_last_error());
    ++failures;
  }
}

static void test_destination_errors(const stload_checkpoint* checkpoint) {
  static _Alignas(8) unsigned char memory[128];
  expect_destination_error(checkpoint, "d", "cpu", memory, 63, "needs 64");
  expect_destination_error(checkpoint, "d", "cpu", memory + 2, 100, "not aligned");
  expect_destination_error(checkpoint, "nope", "cpu", memory, 128, "no such tensor");
  expect_destination_error(checkpoint, "a", "gpu:0", memory, 128, "unknown device 'gpu:0'");
  expect_destination_error(checkpoint, "a", NULL, memory, 128, "device is NULL");
  expect_destination_error(checkpoint, "a", "cuda:0", memory, 128, "cuda:0");
  expect_destination_error(checkpoint, "a", "cpu", NULL, 128, "null pointer");
  expect_destination_error(checkpoint, NULL, "cpu", memory, 128, "name is NULL");

  /* One tensor named twice; an array whose elements disagree on struct_size. */
  stload_destination two[2];
  for (int i = 0; i < 2; ++i) {
    stload_destination_init(&two[i]);
    two[i].name = "a";
    two[i].device = "cpu";
    two[i].data = memory;
    two[i].bytes = 24;
  }
  stload_load_options options = cpu_options();
  options.destinations = two;
  options.destination_count = 2;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "second destination") != NULL);
  two[1].name = "c";
  two[1].struct_size = 8;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "destinations[1].struct_size") != NULL);
  two[0].struct_size = sizeof two[0] + 1; /* no array has that stride */
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "destinations[0].struct_size") != NULL);
  options.destinations = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL);
}

/* A newer caller's destination, one field longer: read with its stride, its zero field
 * accepted, a non-zero one refused. */
typedef struct newer_destination {
  stload_destination known;
  uint64_t newer_field;
} newer_destination;

static void test_versions(const stload_checkpoint* checkpoint) {
  static _Alignas(8) unsigned char for_a[24];
  static _Alignas(8) unsigned char for_d[64];
  newer_destination newer[2];
  memset(newer, 0, sizeof newer);
  for (int i = 0; i < 2; ++i) newer[i].known.struct_size = sizeof newer[0];
  newer[0].known.name = "a";
  newer[0].known.device = "cpu";
  newer[0].known.data = for_a;
  newer[0].known.bytes = sizeof for_a;
  newer[1].known.name = "d";
  newer[1].known.device = "cpu";
  newer[1].known.data = for_d;
  newer[1].known.bytes = sizeof for_d;
  stload_load_options options = cpu_options();
  options.destinations = &newer[0].known;
  options.destination_count = 2;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  stload_model_free(model);
  CHECK(matches_file(checkpoint, "a", for_a, sizeof for_a));
  CHECK(matches_file(checkpoint, "d", for_d, sizeof for_d));
  newer[1].newer_field = 1;
  model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL && strstr(stload_last_error(), "destinations[1]") != NULL);

  /* An older caller's options end at `flags`: whatever lies after is not theirs, never read. */
  stload_load_options older = cpu_options();
  older.struct_size = offsetof(stload_load_options, flags) + sizeof older.flags;
  older.allocators = (const stload_allocator*)&older; /* garbage the library must not see */
  older.allocator_count = 3;
  older.destinations = (const stload_destination*)&older;
  older.destination_count = 5;
  CHECK_STATUS(stload_load(checkpoint, &older, &model, NULL), STLOAD_OK);
  CHECK(stload_model_tensor_count(model) == 4);
  stload_model_free(model);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/caller_memory.safetensors", argv[1]);
  write_checkpoint(path);
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return 1;
  test_destinations(checkpoint);
  test_allocator(checkpoint);
  test_allocator_errors(checkpoint);
  test_destination_errors(checkpoint);
  test_versions(checkpoint);
  stload_checkpoint_free(checkpoint);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("C API caller memory: all checks passed\n");
  return 0;
}
