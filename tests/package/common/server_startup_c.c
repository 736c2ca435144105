/* A server's whole startup through the installed package, in C: a log callback first, then a
 * sharded checkpoint opened (a note heard through the callback), listed (names, dtypes, shapes,
 * files, offsets, the index's metadata), planned for eight GPUs that are not here, and loaded on
 * the CPU engine with progress: the first load cancelled from the callback, the second to the end
 * with two tensors in the caller's own memory (destinations), every tensor read back and checked.
 * Exits non-zero at the first failed check. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../c_api/c_test_support.h"
#include "stload/stload.h"

static int notices = 0;
static void on_log(int level, const char* message, void* user) {
  (void)message;
  if (level >= STLOAD_LOG_INFO && user == &notices) ++notices;
}

typedef struct progress_seen {
  int calls;
  int cancel;
  uint64_t done;
} progress_seen;

static int on_progress(const stload_progress* progress, void* user) {
  progress_seen* seen = (progress_seen*)user;
  ++seen->calls;
  seen->done = progress->bytes_done;
  return seen->cancel;
}

/* Two shards of 4 U8 tensors of 4096 bytes, an index naming them and a stray file beside them,
 * which the checkpoint leaves out with a note. */
static void write_checkpoint(const char* dir) {
  mkdir(dir, 0755);
  char path[2048];
  for (int shard = 0; shard < 2; ++shard) {
    char header[1024];
    size_t length = (size_t)snprintf(header, sizeof header, "{");
    for (int t = 0; t < 2; ++t) {
      length += (size_t)snprintf(header + length, sizeof header - length,
                                 "%s\"layers.%d.weight\":{\"dtype\":\"U8\",\"shape\":[64,64],"
                                 "\"data_offsets\":[%d,%d]}",
                                 t == 0 ? "" : ",", 2 * shard + t, 4096 * t, 4096 * (t + 1));
    }
    length += (size_t)snprintf(header + length, sizeof header - length, "}");
    snprintf(path, sizeof path, "%s/model-0000%d-of-00002.safetensors", dir, shard + 1);
    write_safetensors_file(path, header, length, 8192);
  }
  snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
  write_text_file(path,
                  "{\"metadata\":{\"total_size\":16384},\"weight_map\":{"
                  "\"layers.0.weight\":\"model-00001-of-00002.safetensors\","
                  "\"layers.1.weight\":\"model-00001-of-00002.safetensors\","
                  "\"layers.2.weight\":\"model-00002-of-00002.safetensors\","
                  "\"layers.3.weight\":\"model-00002-of-00002.safetensors\"}}");
  static const char stray[] = "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  snprintf(path, sizeof path, "%s/stray.safetensors", dir);
  write_safetensors_file(path, stray, sizeof stray - 1, 1);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  char dir[1024];
  mkdir(argv[1], 0755);
  snprintf(dir, sizeof dir, "%s/server_startup_c", argv[1]);
  write_checkpoint(dir);

  CHECK_STATUS(stload_set_log_callback(on_log, &notices), STLOAD_OK);
  CHECK_STATUS(stload_set_log_level(STLOAD_LOG_INFO), STLOAD_OK);
  stload_checkpoint* checkpoint = NULL;
  CHECK_STATUS(stload_checkpoint_open(dir, &checkpoint), STLOAD_OK);
  if (checkpoint == NULL) return 1;
  CHECK(notices == 1 && stload_checkpoint_note_count(checkpoint) == 1);

  /* List. */
  CHECK(stload_checkpoint_tensor_count(checkpoint) == 4);
  CHECK(stload_checkpoint_file_count(checkpoint) == 2);
  CHECK(strcmp(stload_checkpoint_metadata_get(checkpoint, STLOAD_INDEX_METADATA, "total_size"),
               "16384") == 0);
  uint64_t listed = 0;
  for (size_t i = 0; i < stload_checkpoint_tensor_count(checkpoint); ++i) {
    stload_tensor_info info;
    stload_tensor_info_init(&info);
    CHECK_STATUS(stload_checkpoint_tensor_at(checkpoint, i, &info), STLOAD_OK);
    CHECK(info.ndim == 2 && info.shape[0] == 64 && info.dtype == STLOAD_DTYPE_U8);
    CHECK(info.file == i / 2 && stload_checkpoint_file_path(checkpoint, info.file) != NULL);
    listed += info.bytes;
  }
  CHECK(listed == stload_checkpoint_total_bytes(checkpoint) && listed == 16384);

  /* Plan for eight GPUs that are not here: two tensors per 10,000-byte GPU. */
  stload_device devices[8];
  uint64_t capacity[8];
  for (int i = 0; i < 8; ++i) {
    devices[i].kind = STLOAD_DEVICE_CUDA;
    devices[i].index = i;
    capacity[i] = 10000;
  }
  stload_plan_options plan_options;
  stload_plan_options_init(&plan_options);
  plan_options.device_map = "auto";
  plan_options.devices = devices;
  plan_options.capacity_bytes = capacity;
  plan_options.device_count = 8;
  stload_plan* plan = NULL;
  CHECK_STATUS(stload_make_plan(checkpoint, &plan_options, &plan), STLOAD_OK);
  CHECK(stload_plan_device_count(plan) == 2 && stload_plan_tensor_bytes(plan) == 16384);
  stload_plan_free(plan);

  /* Load with progress: cancelled on the first call, then to the end. */
  stload_load_options options;
  stload_load_options_init(&options);
  options.engine = STLOAD_ENGINE_CPU;
  options.device_map = "cpu";
  options.chunk_bytes = 4096;
  progress_seen seen = {0, 1, 0};
  options.progress = on_progress;
  options.progress_user = &seen;
  stload_model* model = NULL;
  CHECK_STATUS(stload_load(checkpoint, &options, &model, NULL), STLOAD_ERROR_CANCELLED);
  CHECK(model == NULL && seen.calls == 1);

  /* Then to the end, layers.1 and layers.2 into the server's own memory: a destination each. */
  static unsigned char owned[2][4096];
  stload_destination destinations[2];
  for (int i = 0; i < 2; ++i) {
    stload_destination_init(&destinations[i]);
    destinations[i].name = i == 0 ? "layers.1.weight" : "layers.2.weight";
    destinations[i].device = "cpu";
    destinations[i].data = owned[i];
    destinations[i].bytes = sizeof owned[i];
  }
  options.destinations = destinations;
  options.destination_count = 2;
  seen.calls = 0;
  seen.cancel = 0;
  stload_load_stats stats;
  stload_load_stats_init(&stats);
  CHECK_STATUS(stload_load(checkpoint, &options, &model, &stats), STLOAD_OK);
  CHECK(seen.done == 16384 && stats.bytes == 16384 && (uint64_t)seen.calls == stats.chunks);
  unsigned char bytes[4096];
  for (int t = 0; t < 4; ++t) {
    char name[64];
    snprintf(name, sizeof name, "layers.%d.weight", t);
    CHECK_STATUS(stload_model_read(model, name, bytes, sizeof bytes), STLOAD_OK);
    /* Each shard's data bytes count from 0 mod 256; tensors start at 0 and 4096 of it. */
    CHECK(bytes[0] == 0 && bytes[4095] == 255 && bytes[1000] == (1000 & 0xFF));
  }
  for (int i = 0; i < 2; ++i) {
    stload_tensor tensor;
    stload_tensor_init(&tensor);
    CHECK_STATUS(stload_model_find(model, destinations[i].name, &tensor), STLOAD_OK);
    CHECK(tensor.data == owned[i] && owned[i][4095] == 255 && owned[i][1000] == (1000 & 0xFF));
  }
  stload_model_free(model);
  stload_checkpoint_free(checkpoint);
  CHECK_STATUS(stload_set_log_callback(NULL, NULL), STLOAD_OK);
  if (failures != 0) {
    fprintf(stderr, "server_startup_c: %d check(s) failed\n", failures);
    return 1;
  }
  printf(
      "server_startup_c: listed, planned on 2 of 8 GPUs, cancelled, loaded (2 tensors into "
      "caller memory) and verified\n");
  return 0;
}
