/* The C API's hooks from plain C (C11): the log callback (capture, level filter, restore), the
 * strict engine choice (STLOAD_ENGINE_CUDA never falls back) and planning for devices that are
 * not here (stload_make_plan for cuda:0..7). Exits non-zero on the first failed check. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "c_test_support.h"
#include "stload/stload.h"

/* What the callback saw: the count, the last level and message, and the user pointer. */
typedef struct captured {
  int count;
  int level;
  char message[512];
  void* user_seen;
} captured;

static void capture(int level, const char* message, void* user) {
  captured* c = (captured*)user;
  ++c->count;
  c->level = level;
  c->user_seen = user;
  snprintf(c->message, sizeof c->message, "%s", message);
}

/* A file of 18 tensors of 1000 bytes named as a Llama's: embeddings, 8 layers of 2, lm_head. */
static void write_llama_shaped(const char* path) {
  char header[4096];
  size_t length = 0;
  unsigned long long offset = 0;
  length += (size_t)snprintf(header + length, sizeof header - length, "{");
  for (int i = 0; i < 18; ++i) {
    char name[64];
    if (i == 0) {
      snprintf(name, sizeof name, "model.embed_tokens.weight");
    } else if (i == 17) {
      snprintf(name, sizeof name, "lm_head.weight");
    } else {
      snprintf(name, sizeof name, "model.layers.%d.%s.weight", (i - 1) / 2,
               (i - 1) % 2 == 0 ? "mlp" : "attn");
    }
    length += (size_t)snprintf(header + length, sizeof header - length,
                               "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[1000],"
                               "\"data_offsets\":[%llu,%llu]}",
                               i == 0 ? "" : ",", name, offset, offset + 1000);
    offset += 1000;
  }
  length += (size_t)snprintf(header + length, sizeof header - length, "}");
  write_safetensors_file(path, header, length, offset);
}

/* A directory holding model.safetensors beside its index: opening it notes the choice (info). */
static void write_dir_with_a_note(const char* dir) {
  mkdir(dir, 0755);
  char path[2048];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  write_llama_shaped(path);
  snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
  write_text_file(path, "{\"weight_map\": {}}");
}

static void test_log_callback(const char* dir) {
  captured c;
  memset(&c, 0, sizeof c);
  CHECK_STATUS(stload_set_log_callback(capture, &c), STLOAD_OK);

  /* Info is below the default level (warning): the checkpoint's note is not delivered. */
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK);
  stload_checkpoint_free(checkpoint);
  CHECK(c.count == 0);

  CHECK_STATUS(stload_set_log_level(STLOAD_LOG_INFO), STLOAD_OK);
  checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK);
  CHECK(c.count == 1);
  CHECK(c.level == STLOAD_LOG_INFO);
  CHECK(c.user_seen == &c);
  CHECK(strstr(c.message, "as transformers does") != NULL);

  /* Auto on a machine without a GPU: a warning naming the fallback, and the load succeeds. */
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_AUTO;
  stload_model* model = NULL;
  c.count = 0;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  stload_model_free(model);
  /* (With a GPU, Auto picks CUDA and logs nothing.) */
  CHECK(c.count == 0 ||
        (c.level == STLOAD_LOG_WARNING && strstr(c.message, "using the CPU engine") != NULL));

  /* Strict: asking for CUDA where it is unusable is STLOAD_ERROR_CUDA, never the CPU. */
  options.engine = STLOAD_ENGINE_CUDA;
  model = NULL;
  const stload_status cuda = stload_load(checkpoint, &options, &model, NULL);
  if (cuda != STLOAD_OK) {
    CHECK(cuda == STLOAD_ERROR_CUDA);
    CHECK(strstr(stload_last_error(), "CUDA engine was asked for") != NULL);
    CHECK(model == NULL);
  }
  stload_model_free(model);
  stload_checkpoint_free(checkpoint);

  /* A level outside the enum is refused; NULL restores the default: the callback hears nothing. */
  CHECK_STATUS(stload_set_log_level(7), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(stload_set_log_callback(NULL, NULL), STLOAD_OK);
  c.count = 0;
  checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK); /* note on stderr */
  stload_checkpoint_free(checkpoint);
  CHECK(c.count == 0);
  CHECK_STATUS(stload_set_log_level(STLOAD_LOG_WARNING), STLOAD_OK);
}

static void test_plan_for_eight_gpus(const char* path) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;
  stload_device devices[8];
  uint64_t capacity[8];
  for (int i = 0; i < 8; ++i) {
    devices[i].kind = STLOAD_DEVICE_CUDA;
    devices[i].index = i;
    capacity[i] = 80ULL << 30U;
  }
  stload_plan_options options;
  stload_plan_options_init(&options);
  options.device_map =
      "{\"model.embed_tokens\": 0, \"model.layers.0\": 0, \"model.layers.1\": 1, "
      "\"model.layers.2\": 2, \"model.layers.3\": 3, \"model.layers.4\": 4, "
      "\"model.layers.5\": 5, \"model.layers.6\": 6, \"model.layers.7\": 7, \"lm_head\": 7}";
  options.devices = devices;
  options.capacity_bytes = capacity;
  options.device_count = 8;
  stload_plan* plan = NULL;
  CHECK_STATUS(stload_make_plan(checkpoint, &options, &plan), STLOAD_OK);
  CHECK(stload_plan_device_count(plan) == 8);
  CHECK(stload_plan_tensor_bytes(plan) == 18000);
  CHECK(stload_plan_chunk_count(plan) > 0);
  stload_plan_device device;
  stload_plan_device_init(&device);
  CHECK_STATUS(stload_plan_device_at(plan, 7, &device), STLOAD_OK);
  CHECK(device.device.kind == STLOAD_DEVICE_CUDA && device.device.index == 7);
  CHECK(device.tensors == 3 && device.tensor_bytes == 3000 && device.arena_bytes == 3048);
  CHECK(device.capacity_bytes == 80ULL << 30U);
  CHECK(strcmp(device.last_tensor, "lm_head.weight") == 0);
  CHECK_STATUS(stload_plan_device_at(plan, 8, &device), STLOAD_ERROR_INVALID_ARGUMENT);
  stload_plan_free(plan);

  /* auto: five aligned tensors per GPU, so 18 tensors spill over four GPUs. */
  for (int i = 0; i < 8; ++i) capacity[i] = 5 * 1024;
  options.device_map = "auto";
  plan = NULL;
  CHECK_STATUS(stload_make_plan(checkpoint, &options, &plan), STLOAD_OK);
  CHECK(stload_plan_device_count(plan) == 4);
  CHECK_STATUS(stload_plan_device_at(plan, 1, &device), STLOAD_OK);
  CHECK(device.device.index == 1 && device.tensors == 5);
  CHECK(strcmp(device.first_tensor, "model.layers.2.mlp.weight") == 0);
  stload_plan_free(plan);

  /* Over capacity: OutOfMemory naming the device; out left untouched. */
  options.device_map = "cuda:3";
  plan = NULL;
  CHECK_STATUS(stload_make_plan(checkpoint, &options, &plan), STLOAD_ERROR_OUT_OF_MEMORY);
  CHECK(strstr(stload_last_error(), "cuda:3") != NULL);
  CHECK(plan == NULL);
  /* A device the map needs without a stated capacity. */
  options.device_map = "cuda:9";
  CHECK_STATUS(stload_make_plan(checkpoint, &options, &plan), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "cuda:9") != NULL);
  options.struct_size = 0;
  CHECK_STATUS(stload_make_plan(checkpoint, &options, &plan), STLOAD_ERROR_INVALID_ARGUMENT);
  stload_checkpoint_free(checkpoint);
}

/* `only` is the C++ name rules: a dotted prefix stops at dots, a glob stays within a segment, and
 * a pattern matching nothing fails naming itself and the checkpoint unless asked for. */
static void test_only_patterns(const char* path) {
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(path, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return;
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  stload_model* model = NULL;

  const char* prefix[] = {"model.layers.1"}; /* layers.1's two tensors, nothing of a layer 1x */
  options.only = prefix;
  options.only_count = 1;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  CHECK(stload_model_tensor_count(model) == 2);
  stload_model_free(model);
  model = NULL;

  const char* glob[] = {"model.layers.*.mlp", "lm_head.weight"}; /* 8 mlp + lm_head */
  options.only = glob;
  options.only_count = 2;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  CHECK(stload_model_tensor_count(model) == 9);
  stload_model_free(model);
  model = NULL;

  const char* typo[] = {"lm_head", "model.layrs.1"};
  options.only = typo;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "'model.layrs.1'") != NULL);
  CHECK(strstr(stload_last_error(), "hooks_llama.safetensors") != NULL);
  CHECK(strstr(stload_last_error(), "'lm_head'") == NULL); /* only the one that matched nothing */
  CHECK(model == NULL);
  options.flags = STLOAD_ALLOW_UNMATCHED;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_OK);
  CHECK(stload_model_tensor_count(model) == 1);
  stload_model_free(model);
  model = NULL;

  options.flags = (uint64_t)1 << 40U; /* a bit this library does not know */
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "flags") != NULL);
  options.flags = 0;
  const char* invalid[] = {"model.layers."};
  options.only = invalid;
  options.only_count = 1;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "'model.layers.'") != NULL);

  /* Planning reads the same patterns. */
  stload_device device = {STLOAD_DEVICE_CUDA, 0};
  uint64_t capacity = 1ULL << 30U;
  stload_plan_options plan_options;
  stload_plan_options_init(&plan_options);
  plan_options.devices = &device;
  plan_options.capacity_bytes = &capacity;
  plan_options.device_count = 1;
  plan_options.only = glob;
  plan_options.only_count = 2;
  stload_plan* plan = NULL;
  CHECK_STATUS(stload_make_plan(checkpoint, &plan_options, &plan), STLOAD_OK);
  CHECK(stload_plan_tensor_bytes(plan) == 9000);
  stload_plan_free(plan);
  plan = NULL;
  plan_options.only = typo;
  CHECK_STATUS(stload_make_plan(checkpoint, &plan_options, &plan), STLOAD_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(stload_last_error(), "'model.layrs.1'") != NULL);
  CHECK(plan == NULL);
  stload_checkpoint_free(checkpoint);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  char file[1024];
  char dir[1024];
  snprintf(file, sizeof file, "%s/hooks_llama.safetensors", argv[1]);
  snprintf(dir, sizeof dir, "%s/hooks_dir", argv[1]);
  write_llama_shaped(file);
  write_dir_with_a_note(dir);
  test_log_callback(dir);
  test_plan_for_eight_gpus(file);
  test_only_patterns(file);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("C API hooks: all checks passed\n");
  return 0;
}
