/* fuzz_profile: conversion profile documents and the streaming converter. Input is
 * "PROFILE\n===\nDATA": the profile is loaded and, if valid, DATA is converted in both
 * formats and in two chunks. Without the separator the whole input is tried as a
 * profile and as data for a built-in profile. */
#include "tg_buf.h"
#include "tg_voc_conv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char builtin[] =
    "{\"id\":\"fuzz\",\"mode\":\"strict\",\"tables\":{\"s\":{\"A\":\"1\"}},\"fields\":["
    "{\"from\":\"l\",\"to\":\"/w/level\",\"unit\":{\"from\":\"cm\",\"to\":\"m\"}},"
    "{\"from\":\"t\",\"to\":\"C\",\"unit\":{\"from\":\"[degF]\",\"to\":\"Cel\"}},"
    "{\"from\":\"d\",\"date\":{\"from\":\"any\",\"to\":\"iso\",\"tz\":\"+09:00\"}},"
    "{\"from\":\"e\",\"date\":{\"from\":\"iso\",\"to\":\"era\",\"tz\":\"+09:00\"}},"
    "{\"from\":\"s\",\"code\":{\"table\":\"s\"}},{\"from\":\"c\",\"code\":{\"lgcode\":true}},"
    "{\"from\":\"x\",\"drop\":true},{\"to\":\"type\",\"const\":\"T\"}]}";

static size_t written;

static int sink(void *ud, const char *d, size_t n) {
  (void)ud;
  (void)d;
  written += n;
  return 0;
}

static void report(void *ud, const struct tg_voc_conv_issue *is) {
  (void)ud;
  if (is->pointer == NULL || is->pointer[0] != '/' || is->reason == NULL)
    abort();
}

static void convert(const struct tg_voc_profile *p, const char *d, size_t n) {
  for (int fmt = 0; fmt <= 1; fmt++) {
    struct tg_voc_conv *c;
    if (tg_voc_conv_new(p, fmt, 4096, sink, report, NULL, &c, NULL) != 0)
      return;
    if (tg_voc_conv_feed(c, d, n / 2, NULL) == 0 &&
        tg_voc_conv_feed(c, d + n / 2, n - n / 2, NULL) == 0)
      tg_voc_conv_finish(c, NULL);
    struct tg_voc_conv_stats st;
    tg_voc_conv_stats(c, &st);
    if (st.written + st.skipped > st.records)
      abort();
    tg_voc_conv_free(c);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  const char *sep = NULL;
  struct tg_voc_profile *p = NULL;
  for (size_t i = 0; i + 5 <= size; i++)
    if (memcmp(s + i, "\n===\n", 5) == 0) {
      sep = s + i;
      break;
    }
  if (sep != NULL) {
    if (tg_voc_profile_load(s, (size_t)(sep - s), &p, NULL) == 0)
      convert(p, sep + 5, size - (size_t)(sep - s) - 5);
    tg_voc_profile_free(p);
    return 0;
  }
  if (tg_voc_profile_load(s, size, &p, NULL) == 0)
    tg_voc_profile_free(p);
  if (tg_voc_profile_load(builtin, strlen(builtin), &p, NULL) != 0)
    abort();
  convert(p, s, size);
  tg_voc_profile_free(p);
  return 0;
}
