/* fuzz_obs_split: feeds untrusted bytes to the accumulated-mode record
 * splitter (JSON array / object and NDJSON, in two pieces at a point the
 * input picks) and checks every record it hands over: within the size limit,
 * never empty, and (JSON) starting with a value's first byte; each record is
 * then parsed and checked as ingest does (entity, time, a Smart Data Model). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cat_obs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REC 256

static int on_rec(void *ud, size_t index, const char *rec, size_t len, int too_big, int top) {
  (void)index;
  (void)top;
  int fmt = *(int *)ud;
  if (too_big)
    return 0;
  if (len == 0 || len > MAX_REC)
    abort();
  if (fmt == TG_OBS_FMT_JSON && strchr(" \t\r\n,]", rec[0]) != NULL)
    abort();
  json_t *j = json_loadb(rec, len, JSON_DECODE_ANY, NULL), *errs = json_array();
  const char *e;
  int64_t ms;
  if (j != NULL)
    tg_cat_obs_check(j, (enum tg_cat_obs_model)(len % 4), "/0", errs, &e, &ms);
  json_decref(j);
  json_decref(errs);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int fmt = data[0] & 1 ? TG_OBS_FMT_NDJSON : TG_OBS_FMT_JSON;
  size_t cut = size > 1 ? (data[0] >> 1) % size : 0;
  const char *in = (const char *)data + 1;
  size_t n = size - 1;
  if (cut > n)
    cut = n;
  struct tg_cat_obs_split *s;
  if (tg_cat_obs_split_new(fmt, MAX_REC, on_rec, &fmt, &s) != 0)
    return 0;
  int rc = tg_cat_obs_split_feed(s, in, cut, NULL);
  if (rc == 0)
    rc = tg_cat_obs_split_feed(s, in + cut, n - cut, NULL);
  if (rc == 0)
    rc = tg_cat_obs_split_finish(s, NULL);
  if (tg_cat_obs_split_offset(s) > n)
    abort();
  tg_cat_obs_split_free(s);
  int64_t ms;
  char t[64];
  size_t k = n < sizeof(t) - 1 ? n : sizeof(t) - 1;
  memcpy(t, in, k);
  t[k] = '\0';
  tg_cat_obs_parse_time(t, &ms);
  return 0;
}
