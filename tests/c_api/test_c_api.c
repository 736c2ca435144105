/* The C API from plain C (compiled as C11): success paths, error paths with their statuses and
 * messages, and a DLPack tensor outliving the model it came from. Exits non-zero on the first
 * failed check, printing it. */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdir */
#include <dlpack/dlpack.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "c_test_support.h"
#include "stload/stload.h"

/* Writes a safetensors file with "a": F32 [2,2] = 1..4 and "b": I64 [3] = 10,20,30. */
static void write_checkpoint(const char* path) {
  const char* header =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
      "\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[16,40]},"
      "\"__metadata__\":{\"format\":\"pt\"}}";
  char padded[256];
  size_t length = strlen(header);
  memcpy(padded, header, length);
  while (length % 8 != 0) padded[length++] = ' ';
  unsigned char prefix[8];
  for (int i = 0; i < 8; ++i)
    prefix[i] = (unsigned char)(((unsigned long long)length >> (8 * i)) & 0xFF);
  const float a[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  const long long b[3] = {10, 20, 30};
  FILE* file = fopen(path, "wb");
  if (file == NULL) {
    perror(path);
    exit(2);
  }
  fwrite(prefix, 1, 8, file);
  fwrite(padded, 1, length, file);
  fwrite(a, sizeof a, 1, file);
  fwrite(b, sizeof b, 1, file);
  fclose(file);
}

static void write_bytes(const char* path, const char* bytes) {
  FILE* file = fopen(path, "wb");
  if (file == NULL) {
    perror(path);
    exit(2);
  }
  fputs(bytes, file);
  fclose(file);
}

/* The headers' version macros agree with each other and with the library this program runs on. */
static void test_version(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "%d.%d.%d", STLOAD_VERSION_MAJOR, STLOAD_VERSION_MINOR,
           STLOAD_VERSION_PATCH);
  CHECK(strcmp(STLOAD_VERSION_STRING, expected) == 0);
  CHECK(strcmp(stload_version(), STLOAD_VERSION_STRING) == 0);
}

static void test_load_and_access(const char* path) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;
  CHECK(stload_checkpoint_tensor_count(checkpoint) == 2);
  CHECK(stload_checkpoint_total_bytes(checkpoint) == 40);

  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  options.device_map = "{\"a\": \"cpu:0\", \"\": \"cpu:1\"}";
  stload_model* model = NULL;
  stload_load_stats stats;
  stload_load_stats_init(&stats);
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  stload_checkpoint_free(checkpoint); /* the model does not need it */
  if (model == NULL) return;
  CHECK(stats.tensors == 2);
  CHECK(stats.bytes == 40);
  CHECK(strcmp(stats.engine, "cpu") == 0);
  CHECK(stload_model_tensor_count(model) == 2);

  stload_tensor tensor;
  stload_tensor_init(&tensor);
  CHECK_STATUS(stload_model_tensor(model, 0, &tensor), STLOAD_OK);
  CHECK(strcmp(tensor.name, "a") == 0);
  CHECK(tensor.dtype == STLOAD_DTYPE_F32);
  CHECK(strcmp(tensor.dtype_name, "F32") == 0);
  CHECK(tensor.ndim == 2 && tensor.shape[0] == 2 && tensor.shape[1] == 2);
  CHECK(tensor.device.kind == STLOAD_DEVICE_CPU && tensor.device.index == 0);
  CHECK(tensor.bytes == 16);
  CHECK(tensor.data != NULL && ((const float*)tensor.data)[3] == 4.0f);

  CHECK_STATUS(stload_model_find(model, "b", &tensor), STLOAD_OK);
  CHECK(tensor.dtype == STLOAD_DTYPE_I64);
  CHECK(tensor.ndim == 1 && tensor.shape[0] == 3);
  CHECK(tensor.device.kind == STLOAD_DEVICE_CPU && tensor.device.index == 1);
  long long b[3] = {0, 0, 0};
  CHECK_STATUS(stload_model_read(model, "b", b, sizeof b), STLOAD_OK);
  CHECK(b[0] == 10 && b[1] == 20 && b[2] == 30);

  /* Error paths on a live model. */
  CHECK_STATUS(stload_model_tensor(model, 2, &tensor), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "index 2") != NULL);
  CHECK_STATUS(stload_model_find(model, "missing", &tensor), STLOAD_ERROR_TENSOR_NOT_FOUND);
  CHECK(strstr(stload_last_error(), "missing") != NULL);
  CHECK_STATUS(stload_model_read(model, "b", b, 8), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(stload_model_find(NULL, "a", &tensor), STLOAD_ERROR_INVALID_ARGUMENT);

  /* DLPack: the tensor keeps the memory after the model is freed. */
  DLManagedTensor* managed = NULL;
  CHECK_STATUS(stload_model_to_dlpack(model, "a", &managed), STLOAD_OK);
  stload_model_free(model);
  if (managed == NULL) return;
  CHECK(managed->dl_tensor.ndim == 2);
  CHECK(managed->dl_tensor.dtype.code == kDLFloat && managed->dl_tensor.dtype.bits == 32);
  CHECK(managed->dl_tensor.device.device_type == kDLCPU);
  CHECK(((const float*)managed->dl_tensor.data)[0] == 1.0f);
  CHECK(((const float*)managed->dl_tensor.data)[3] == 4.0f);
  managed->deleter(managed);
}

static void test_only_filter(const char* path) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  const char* only[] = {"b"};
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  options.only = only;
  options.only_count = 1;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  CHECK(stload_model_tensor_count(model) == 1);
  stload_model_free(model);
  stload_checkpoint_free(checkpoint);
}

/* What a caller compiled against an older stload.h passes: options that ended at device_map,
 * stats that ended at bytes, tensors that ended at dtype. The memory after each is garbage (0xA5),
 * as it would be in that caller; the library must neither read nor write it. */
typedef struct older_load_options {
  size_t struct_size;
  stload_engine engine;
  const char* device_map;
} older_load_options;
typedef struct older_load_stats {
  size_t struct_size;
  uint64_t tensors;
  uint64_t bytes;
} older_load_stats;
typedef struct older_tensor {
  size_t struct_size;
  const char* name;
  stload_dtype dtype;
} older_tensor;

static void test_older_structs(const char* path) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;

  stload_load_options options;
  memset(&options, 0xA5, sizeof options);
  older_load_options older = {sizeof(older_load_options), STLOAD_ENGINE_CPU, "cpu:1"};
  CHECK(sizeof older == offsetof(stload_load_options, only));
  memcpy(&options, &older, sizeof older);
  stload_load_stats stats;
  memset(&stats, 0xA5, sizeof stats);
  stats.struct_size = sizeof(older_load_stats);
  CHECK(sizeof(older_load_stats) == offsetof(stload_load_stats, total_seconds));
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  stload_checkpoint_free(checkpoint);
  if (model == NULL) return;
  /* The fields it lacks took their defaults: every tensor (no `only`), default staging. */
  CHECK(stload_model_tensor_count(model) == 2);
  CHECK(stats.struct_size == sizeof(older_load_stats));
  CHECK(stats.tensors == 2 && stats.bytes == 40);
  CHECK(((const unsigned char*)&stats)[offsetof(stload_load_stats, total_seconds)] == 0xA5);
  CHECK(((const unsigned char*)&stats)[sizeof stats - 1] == 0xA5);

  stload_tensor tensor;
  memset(&tensor, 0xA5, sizeof tensor);
  tensor.struct_size = sizeof(older_tensor);
  CHECK_STATUS(stload_model_find(model, "b", &tensor), STLOAD_OK);
  CHECK(strcmp(tensor.name, "b") == 0 && tensor.dtype == STLOAD_DTYPE_I64);
  CHECK(((const unsigned char*)&tensor)[sizeof(older_tensor)] == 0xA5);
  CHECK(((const unsigned char*)&tensor)[sizeof tensor - 1] == 0xA5);
  stload_tensor device_check;
  stload_tensor_init(&device_check);
  CHECK_STATUS(stload_model_find(model, "b", &device_check), STLOAD_OK);
  CHECK(device_check.device.kind == STLOAD_DEVICE_CPU && device_check.device.index == 1);
  stload_model_free(model);
}

/* What a caller compiled against a newer stload.h passes: larger structs. Unknown input bytes are
 * accepted when zero (a new field left at its default) and refused otherwise; unknown output
 * bytes are zeroed. A struct_size too small to be one is refused before anything is done. */
typedef struct newer_load_options {
  stload_load_options known;
  uint64_t future_field;
} newer_load_options;
typedef struct newer_tensor {
  stload_tensor known;
  uint64_t future_field;
} newer_tensor;

static void test_newer_structs(const char* path) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;
  newer_load_options options;
  memset(&options, 0, sizeof options);
  options.known.struct_size = sizeof options;
  options.known.engine = STLOAD_ENGINE_CPU;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options.known, &model, NULL), STLOAD_OK);
  options.future_field = 1;
  stload_model* refused = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options.known, &refused, NULL),
               STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(refused == NULL);
  CHECK(strstr(stload_last_error(), "non-zero byte") != NULL);
  options.future_field = 0;

  stload_load_stats stats;
  stload_load_stats_init(&stats);
  stats.struct_size = 4; /* smaller than struct_size itself */
  CHECK_STATUS(stload_load(checkpoint, &options.known, &refused, &stats),
               STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(refused == NULL);
  CHECK(strstr(stload_last_error(), "stload_load_stats.struct_size") != NULL);
  stload_checkpoint_free(checkpoint);
  if (model == NULL) return;

  newer_tensor tensor;
  memset(&tensor, 0xA5, sizeof tensor);
  tensor.known.struct_size = sizeof tensor;
  CHECK_STATUS(stload_model_find(model, "a", &tensor.known), STLOAD_OK);
  CHECK(tensor.known.struct_size == sizeof tensor);
  CHECK(tensor.known.bytes == 16 && tensor.future_field == 0);
  stload_tensor uninitialized;
  memset(&uninitialized, 0, sizeof uninitialized);
  CHECK_STATUS(stload_model_find(model, "a", &uninitialized), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(uninitialized.name == NULL);
  stload_model_free(model);
}

static void test_errors(const char* dir, const char* good) {
  stload_checkpoint* checkpoint = NULL;
  char path[4096];

  snprintf(path, sizeof path, "%s/does-not-exist.safetensors", dir);
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_ERROR_NOT_FOUND);
  CHECK(checkpoint == NULL);
  CHECK(strstr(stload_last_error(), "does-not-exist") != NULL);

  snprintf(path, sizeof path, "%s/short.safetensors", dir);
  write_bytes(path, "abc");
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_ERROR_HEADER_TOO_SMALL);
  CHECK(strcmp(stload_status_name(STLOAD_ERROR_HEADER_TOO_SMALL), "HeaderTooSmall") == 0);

  CHECK_STATUS(stload_checkpoint_open(NULL, &checkpoint), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(stload_load(NULL, NULL, NULL, NULL), STLOAD_ERROR_INVALID_ARGUMENT);

  CHECK_STATUS(stload_checkpoint_open(good, &checkpoint), STLOAD_OK);
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  stload_model* model = NULL;
  options.device_map = "{\"a\": ";
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL);
  options.device_map = "{\"a\": \"tpu:0\"}";
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "tpu:0") != NULL);
  options.device_map = NULL;
  options.struct_size = 0; /* not initialized by stload_load_options_init */
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  stload_checkpoint_free(checkpoint);

  /* Successful calls leave the last error alone; freeing NULL is allowed. */
  CHECK(stload_last_error()[0] != '\0');
  stload_checkpoint_free(NULL);
  stload_model_free(NULL);
  CHECK(strcmp(stload_status_name((stload_status)999), "Unknown") == 0);
}

/* A hub cache in the scratch directory: models--acme--c with refs/main naming a snapshot. */
static void test_resolve_repo(const char* dir) {
  static const char commit[] = "0123456789abcdef0123456789abcdef01234567";
  char path[4096];
  char want[4096];
  snprintf(path, sizeof path, "%s/hub", dir);
  mkdir(path, 0700);
  CHECK(setenv("HF_HUB_CACHE", path, 1) == 0);
  snprintf(path, sizeof path, "%s/hub/models--acme--c", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/hub/models--acme--c/refs", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/hub/models--acme--c/snapshots", dir);
  mkdir(path, 0700);
  snprintf(want, sizeof want, "%s/hub/models--acme--c/snapshots/%s", dir, commit);
  mkdir(want, 0700);
  snprintf(path, sizeof path, "%s/hub/models--acme--c/refs/main", dir);
  write_bytes(path, commit);

  char out[4096];
  size_t length = 0;
  CHECK_STATUS(stload_resolve_repo("acme/c", NULL, out, sizeof out, &length), STLOAD_OK);
  CHECK(strcmp(out, want) == 0);
  CHECK(length == strlen(want));
  char small[8];
  CHECK_STATUS(stload_resolve_repo("acme/c", "main", small, sizeof small, &length), STLOAD_OK);
  CHECK(strlen(small) == sizeof small - 1 && length == strlen(want)); /* cut, full length told */
  CHECK_STATUS(stload_resolve_repo("acme/c", commit, NULL, 0, &length), STLOAD_OK);
  CHECK_STATUS(stload_resolve_repo("acme/absent", NULL, out, sizeof out, NULL),
               STLOAD_ERROR_NOT_FOUND);
  CHECK(strstr(stload_last_error(), "huggingface-cli download acme/absent") != NULL);
  CHECK_STATUS(stload_resolve_repo("../x", NULL, out, sizeof out, NULL),
               STLOAD_ERROR_INVALID_ARGUMENT);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  char good[4096];
  snprintf(good, sizeof good, "%s/c_api.safetensors", argv[1]);
  write_checkpoint(good);
  printf("stload %s\n", stload_version());
  test_version();
  test_load_and_access(good);
  test_only_filter(good);
  test_older_structs(good);
  test_newer_structs(good);
  test_errors(argv[1], good);
  test_resolve_repo(argv[1]);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all C API checks passed\n");
  return 0;
}
