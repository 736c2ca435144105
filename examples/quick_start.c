/* The C quick start of docs/c-api.md: open, load with a device map, list the tensors.
 *   quick_start_c CHECKPOINT [DEVICE_MAP] */
#include <stdio.h>

#include "stload/stload.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s CHECKPOINT [DEVICE_MAP]\n", argv[0]);
    return 2;
  }
  stload_checkpoint* checkpoint = NULL;
  if (stload_checkpoint_open(argv[1], &checkpoint) != STLOAD_OK) {
    fprintf(stderr, "stload: %s\n", stload_last_error());
    return 1;
  }

  stload_load_options options;
  stload_load_options_init(&options);
  options.device_map = argc == 3 ? argv[2] : NULL; /* e.g. {"model.layers.0": "cuda:0", "": 1} */
  stload_model* model = NULL;
  stload_load_stats stats;
  stload_load_stats_init(&stats); /* every struct stload fills carries its size: init it */
  const stload_status status = stload_load(checkpoint, &options, &model, &stats);
  stload_checkpoint_free(checkpoint); /* the model does not need it */
  if (status != STLOAD_OK) {
    fprintf(stderr, "stload: %s: %s\n", stload_status_name(status), stload_last_error());
    return 1;
  }

  for (size_t i = 0; i < stload_model_tensor_count(model); ++i) {
    stload_tensor tensor;
    stload_tensor_init(&tensor);
    stload_model_tensor(model, i, &tensor);
    printf("%s %s [", tensor.name, tensor.dtype_name);
    for (size_t d = 0; d < tensor.ndim; ++d) {
      printf(d == 0 ? "%llu" : ", %llu", (unsigned long long)tensor.shape[d]);
    }
    printf("] on %s:%d\n", tensor.device.kind == STLOAD_DEVICE_CUDA ? "cuda" : "cpu",
           (int)tensor.device.index);
  }
  printf("%llu bytes in %.1f ms (%s engine)\n", (unsigned long long)stats.bytes,
         stats.total_seconds * 1e3, stats.engine);
  stload_model_free(model);
  return 0;
}
