/* fuzz_profile: conversion profile documents and the streaming converter. Input is
 * "PROFILE\n===\nDATA": the profile is loaded and, if valid, DATA is converted in both
 * formats and in two chunks. Without the separator the whole input is tried as a
 * profile and as data for a built-in profile. The fast path and the jansson path must
 * produce the same JSON values and the same issues. */
#include "tg_buf.h"
#include "tg_voc_conv.h"
#include "tg_voc_prof.h"

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

struct sink {
  struct tg_buf out, issues;
};

static int sink(void *ud, const char *d, size_t n) {
  return tg_buf_append(&((struct sink *)ud)->out, d, n);
}

static void report(void *ud, const struct tg_voc_conv_issue *is) {
  if (is->pointer == NULL || is->pointer[0] != '/' || is->reason == NULL)
    abort();
  tg_buf_printf(&((struct sink *)ud)->issues, "%s %d %s\n", is->pointer, is->skipped,
                is->reason);
}

/* 1 if A and B (NUL-terminated) hold the same JSON values, line by line or as one text. */
static int same_json(const char *a, const char *b) {
  json_t *x = json_loads(a, JSON_DECODE_ANY, NULL), *y = json_loads(b, JSON_DECODE_ANY, NULL);
  int eq;
  if (x || y) {
    eq = x && y && json_equal(x, y);
  } else {
    eq = 1;
    while (eq && (*a || *b)) {
      const char *ae = strchr(a, '\n'), *be = strchr(b, '\n');
      if (!ae || !be)
        return strcmp(a, b) == 0;
      json_t *u = json_loadb(a, (size_t)(ae - a), JSON_DECODE_ANY, NULL);
      json_t *v = json_loadb(b, (size_t)(be - b), JSON_DECODE_ANY, NULL);
      eq = (u == NULL && v == NULL) ? (ae - a == be - b && memcmp(a, b, (size_t)(ae - a)) == 0)
                                    : (u && v && json_equal(u, v));
      json_decref(u);
      json_decref(v);
      a = ae + 1;
      b = be + 1;
    }
  }
  json_decref(x);
  json_decref(y);
  return eq;
}

static void run(const struct tg_voc_profile *p, int fmt, const char *d, size_t n, struct sink *s) {
  struct tg_voc_conv *c;
  tg_buf_init(&s->out);
  tg_buf_init(&s->issues);
  if (tg_voc_conv_new(p, fmt, 4096, sink, report, s, &c, NULL) != 0)
    abort();
  if (tg_voc_conv_feed(c, d, n / 2, NULL) == 0 && tg_voc_conv_feed(c, d + n / 2, n - n / 2, NULL) == 0)
    tg_voc_conv_finish(c, NULL);
  struct tg_voc_conv_stats st;
  tg_voc_conv_stats(c, &st);
  if (st.written + st.skipped > st.records)
    abort();
  tg_voc_conv_free(c);
  tg_buf_append(&s->out, "", 0);
  tg_buf_append(&s->issues, "", 0);
}

static void convert(struct tg_voc_profile *p, const char *d, size_t n) {
  for (int fmt = 0; fmt <= 1; fmt++) {
    struct sink fast, slow;
    tg__voc_profile_set_fast(p, 1);
    run(p, fmt, d, n, &fast);
    tg__voc_profile_set_fast(p, 0);
    run(p, fmt, d, n, &slow);
    if (strcmp(fast.issues.data, slow.issues.data) != 0 || !same_json(fast.out.data, slow.out.data))
      abort();
    tg_buf_close(&fast.out);
    tg_buf_close(&fast.issues);
    tg_buf_close(&slow.out);
    tg_buf_close(&slow.issues);
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
