/* What the plain-C tests share: check macros that count failures instead of stopping, and a
 * writer of small safetensors files. Header-only, C11; the functions are static inline, so a test
 * that uses neither still builds warning-free. */
#ifndef STLOAD_TESTS_C_TEST_SUPPORT_H_
#define STLOAD_TESTS_C_TEST_SUPPORT_H_

#include <stdio.h>
#include <stdlib.h>

#include "stload/stload.h"

static int failures = 0;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

#define CHECK_STATUS(call, expected)                                                           \
  do {                                                                                         \
    stload_status status_ = (call);                                                            \
    if (status_ != (expected)) {                                                               \
      fprintf(stderr, "%s:%d: %s returned %s (%s), expected %s\n", __FILE__, __LINE__, #call,  \
              stload_status_name(status_), stload_last_error(), stload_status_name(expected)); \
      ++failures;                                                                              \
    }                                                                                          \
  } while (0)

/* Writes a safetensors file: the 8-byte length, `header` (a JSON object, padded with spaces to
 * a multiple of 8) and `data_bytes` bytes whose value is their offset modulo 256. Exits 2 when
 * the file cannot be written. */
static inline void write_safetensors_file(const char* path, const char* header, size_t header_length,
                                   unsigned long long data_bytes) {
  size_t padded = (header_length + 7) / 8 * 8;
  unsigned char prefix[8];
  for (int i = 0; i < 8; ++i)
    prefix[i] = (unsigned char)(((unsigned long long)padded >> (8 * i)) & 0xFF);
  FILE* file = fopen(path, "wb");
  if (file == NULL) {
    perror(path);
    exit(2);
  }
  fwrite(prefix, 1, 8, file);
  fwrite(header, 1, header_length, file);
  for (size_t i = header_length; i < padded; ++i) fputc(' ', file);
  for (unsigned long long i = 0; i < data_bytes; ++i) fputc((int)(i & 0xFF), file);
  fclose(file);
}

/* Writes `text` to `path`. Exits 2 when it cannot. */
static inline void write_text_file(const char* path, const char* text) {
  FILE* file = fopen(path, "wb");
  if (file == NULL) {
    perror(path);
    exit(2);
  }
  fputs(text, file);
  fclose(file);
}

#endif /* STLOAD_TESTS_C_TEST_SUPPORT_H_ */
