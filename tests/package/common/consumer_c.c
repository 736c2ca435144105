/* A C program against the installed C API: open a checkpoint that does not exist and report
 * the failure, then check the library's version against the headers'. Proves stload.h compiles
 * as C and links from C. */
#include <stdio.h>
#include <string.h>

#include "stload/stload.h"

int main(void) {
  stload_checkpoint* checkpoint = NULL;
  const stload_status status = stload_checkpoint_open("/nonexistent/x.safetensors", &checkpoint);
  if (status != STLOAD_ERROR_NOT_FOUND || checkpoint != NULL ||
      strstr(stload_last_error(), "/nonexistent/x.safetensors") == NULL) {
    fprintf(stderr, "unexpected: %s: %s\n", stload_status_name(status), stload_last_error());
    return 1;
  }
  if (strcmp(stload_version(), STLOAD_VERSION_STRING) != 0) {
    fprintf(stderr, "library %s, headers %s\n", stload_version(), STLOAD_VERSION_STRING);
    return 1;
  }
  printf("consumer_c: stload %s reports %s\n", stload_version(), stload_status_name(status));
  return 0;
}
