/* fuzz_json_scan: tg_json_scan against jansson. On any bytes the scanner
 * stays inside them (the sanitizers watch). On bytes jansson parses
 * (rejecting duplicate keys, as the harvester does), every member the
 * scanner finds in an object, and every element it walks in an array,
 * parses to the value jansson has there; it walks as many elements as
 * there are. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tg_json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct tg_json_span *m, const json_t *want) {
  json_t *got = json_loadb(m->b, (size_t)(m->e - m->b), JSON_DECODE_ANY, NULL);
  int eq = got != NULL && json_equal(got, want);
  json_decref(got);
  return eq;
}

static void check(const char *t, const char *end, const json_t *v, int depth) {
  struct tg_json_span m;
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      int r = tg_json_member(t, end, k, &m);
      if (r < 0 || (r == 0 && !same(&m, x)))
        abort();
      if (r == 0 && depth < 8)
        check(m.b, m.e, x, depth + 1);
    }
  } else if (json_is_array(v)) {
    const char *it = t;
    size_t i = 0;
    int r;
    while ((r = tg_json_next(&it, end, &m)) == 1) {
      if (i >= json_array_size(v) || !same(&m, json_array_get(v, i)))
        abort();
      if (depth < 8)
        check(m.b, m.e, json_array_get(v, i), depth + 1);
      i++;
    }
    if (r != 0 || i != json_array_size(v))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16)
    return 0;
  /* A copy of exactly SIZE bytes, so the sanitizers see a read past them. */
  char *t = malloc(size ? size : 1);
  if (t == NULL)
    return 0;
  memcpy(t, data, size);
  const char *end = t + size;
  struct tg_json_span m;
  const char *it = t;
  (void)tg_json_value_end(t, end);
  (void)tg_json_member(t, end, "a", &m);
  for (int i = 0; i < 64 && tg_json_next(&it, end, &m) == 1; i++)
    ;
  (void)tg_json_compact(t, end);
  json_t *v = json_loadb(t, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
  if (v != NULL) {
    const char *e = tg_json_value_end(t, end);
    if (e == NULL)
      abort();
    check(t, end, v, 0);
    json_decref(v);
  }
  free(t);
  return 0;
}
