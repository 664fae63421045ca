/* test_obs: the observation store on a real SQLite file (insert, ordered
 * range reads, cursor paging, latest per entity, retention by count and age
 * keeping latest right), the record splitter (arrays, objects, NDJSON, every
 * body split at every byte, records over the limit, structural errors) and
 * the record checks (entity, ISO 8601 times, Smart Data Models). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cat_obs.h"
#include "tg_buf.h"
#include "tg_db.h"
#include "tg_err.h"

/* ---- store ---- */

struct fx {
  char dir[64], path[128];
  sqlite3 *db;
  struct tg_cat_obs *s;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/tg-obs-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/node.db", f->dir);
  if (tg_db_open(f->path, 1, &f->db, NULL) != 0 || tg_cat_obs_open(f->db, &f->s, NULL) != 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  tg_cat_obs_free(f->s);
  tg_db_close(f->db);
  unlink(f->path);
  char p[160];
  snprintf(p, sizeof(p), "%s-wal", f->path);
  unlink(p);
  snprintf(p, sizeof(p), "%s-shm", f->path);
  unlink(p);
  rmdir(f->dir);
  free(f);
  return 0;
}

static void put(struct fx *f, const char *ds, const char *entity, int64_t ms, int v) {
  char body[96];
  int n = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"v\":%d}", entity, v);
  struct tg_cat_obs_rec r = {entity, ms, body, (size_t)n};
  int64_t a, b;
  assert_int_equal(tg_cat_obs_insert(f->s, ds, &r, 1, &a, &b, NULL), 0);
  assert_int_equal(a, b);
}

struct got {
  char text[4096];
  int n;
  int64_t last_ms, last_seq;
};

static int collect(void *ud, int64_t seq, int64_t ms, const char *entity, const char *body,
                   size_t len) {
  struct got *g = ud;
  size_t used = strlen(g->text);
  (void)body;
  (void)len;
  snprintf(g->text + used, sizeof(g->text) - used, "%s%s@%lld", g->n ? " " : "", entity,
           (long long)ms);
  g->n++;
  g->last_ms = ms;
  g->last_seq = seq;
  return 0;
}

static struct tg_cat_obs_query all(void) {
  struct tg_cat_obs_query q = {INT64_MIN, INT64_MAX, 0, 0, 0, 1000, 0};
  return q;
}

static const char *read_s(struct fx *f, const char *ds, struct tg_cat_obs_query q, int *more,
                          struct got *g) {
  memset(g, 0, sizeof(*g));
  assert_int_equal(tg_cat_obs_read(f->s, ds, &q, collect, g, more, NULL), 0);
  return g->text;
}

static void test_store_reads(void **state) {
  struct fx *f = *state;
  struct got g;
  int more;
  put(f, "A", "s1", 300, 1);
  put(f, "A", "s2", 100, 2);
  put(f, "A", "s1", 200, 3);
  put(f, "B", "s1", 150, 4);
  put(f, "A", "s2", 300, 5);
  struct tg_cat_obs_query q = all();
  assert_string_equal(read_s(f, "A", q, &more, &g), "s2@100 s1@200 s1@300 s2@300");
  assert_int_equal(more, 0);
  assert_string_equal(read_s(f, "B", q, &more, &g), "s1@150");
  assert_string_equal(read_s(f, "nosuch", q, &more, &g), "");
  q.since_ms = 200;
  q.until_ms = 299;
  assert_string_equal(read_s(f, "A", q, &more, &g), "s1@200");
  /* paging: limit 2 then resume after the last row */
  q = all();
  q.limit = 2;
  int64_t lms, lseq;
  assert_int_equal(tg_cat_obs_page_end(f->s, "A", &q, &lms, &lseq, &more, NULL), 0);
  assert_int_equal(more, 1);
  assert_string_equal(read_s(f, "A", q, &more, &g), "s2@100 s1@200");
  assert_int_equal(more, 1);
  assert_int_equal(g.last_ms, lms);
  assert_int_equal(g.last_seq, lseq);
  q.has_after = 1;
  q.after_ms = lms;
  q.after_seq = lseq;
  assert_string_equal(read_s(f, "A", q, &more, &g), "s1@300 s2@300");
  assert_int_equal(more, 0);
  assert_int_equal(tg_cat_obs_page_end(f->s, "A", &q, &lms, &lseq, &more, NULL), 0);
  assert_int_equal(more, 0);
  /* latest: by observation time, not arrival */
  q = all();
  q.latest = 1;
  put(f, "A", "s1", 50, 6); /* older than s1's latest: latest stays */
  assert_string_equal(read_s(f, "A", q, &more, &g), "s1@300 s2@300");
}

static void test_store_retention(void **state) {
  struct fx *f = *state;
  struct got g;
  int more;
  int64_t del;
  for (int i = 1; i <= 6; i++)
    put(f, "A", i % 2 ? "odd" : "even", i * 100, i);
  put(f, "A", "old", 50, 0);
  assert_int_equal(tg_cat_obs_retain(f->s, "A", 0, 3, 1000, &del, NULL), 0);
  assert_int_equal(del, 4);
  struct tg_cat_obs_query q = all();
  assert_string_equal(read_s(f, "A", q, &more, &g), "even@400 odd@500 even@600");
  q.latest = 1;
  assert_string_equal(read_s(f, "A", q, &more, &g), "odd@500 even@600");
  /* by age, in batches of 1 */
  assert_int_equal(tg_cat_obs_retain(f->s, "A", 550, 0, 1, &del, NULL), 0);
  assert_int_equal(del, 1);
  assert_int_equal(tg_cat_obs_retain(f->s, "A", 550, 0, 1, &del, NULL), 0);
  assert_int_equal(del, 1);
  assert_int_equal(tg_cat_obs_retain(f->s, "A", 550, 0, 1, &del, NULL), 0);
  assert_int_equal(del, 0);
  assert_string_equal(read_s(f, "A", q, &more, &g), "even@600");
  assert_int_equal(tg_cat_obs_retain(f->s, "nosuch", 550, 5, 1, &del, NULL), 0);
  /* seq is never reused after the newest rows went */
  int64_t a, b;
  struct tg_cat_obs_rec r = {"x", 700, "{}", 2};
  assert_int_equal(tg_cat_obs_insert(f->s, "A", &r, 1, &a, &b, NULL), 0);
  assert_int_equal(a, 8);
}

/* ---- splitter ---- */

struct cut {
  char out[4096];
  int top;
};

static int on_rec(void *ud, size_t index, const char *rec, size_t len, int too_big, int top) {
  struct cut *c = ud;
  size_t used = strlen(c->out);
  c->top = top;
  if (too_big)
    snprintf(c->out + used, sizeof(c->out) - used, "%zu:BIG|", index);
  else
    snprintf(c->out + used, sizeof(c->out) - used, "%zu:%.*s|", index, (int)len, rec);
  return 0;
}

/* Splits IN fed in pieces of STEP bytes (0: at once); the result in C. */
static int split(enum tg_cat_obs_fmt fmt, const char *in, size_t step, size_t max, struct cut *c) {
  struct tg_cat_obs_split *s;
  memset(c, 0, sizeof(*c));
  assert_int_equal(tg_cat_obs_split_new(fmt, max, on_rec, c, &s), 0);
  size_t n = strlen(in), i = 0;
  int rc = 0;
  if (step == 0)
    step = n ? n : 1;
  while (rc == 0 && i < n) {
    size_t k = n - i < step ? n - i : step;
    rc = tg_cat_obs_split_feed(s, in + i, k, NULL);
    i += k;
  }
  if (rc == 0)
    rc = tg_cat_obs_split_finish(s, NULL);
  tg_cat_obs_split_free(s);
  return rc;
}

struct scase {
  enum tg_cat_obs_fmt fmt;
  const char *in;
  int rc;
  const char *out;
};

static const struct scase scases[] = {
    {TG_OBS_FMT_JSON, "[{\"a\":1}, {\"b\":[1,{\"c\":\"]}\"}]} ,{}]", 0,
     "0:{\"a\":1}|1:{\"b\":[1,{\"c\":\"]}\"}]}|2:{}|"},
    {TG_OBS_FMT_JSON, " {\"a\":\"x\\\"}\"} \n", 0, "0:{\"a\":\"x\\\"}\"}|"},
    {TG_OBS_FMT_JSON, "[]", 0, ""},
    {TG_OBS_FMT_JSON, "[1, \"s\",true]", 0, "0:1|1:\"s\"|2:true|"},
    {TG_OBS_FMT_JSON, "", TG_EINVAL, ""},
    {TG_OBS_FMT_JSON, "[{}", TG_EINVAL, "0:{}|"},
    {TG_OBS_FMT_JSON, "[{},]", TG_EINVAL, "0:{}|"},
    {TG_OBS_FMT_JSON, "[,{}]", TG_EINVAL, ""},
    {TG_OBS_FMT_JSON, "[{} {}]", TG_EINVAL, "0:{}|"},
    {TG_OBS_FMT_JSON, "{} x", TG_EINVAL, "0:{}|"},
    {TG_OBS_FMT_JSON, "nope", TG_EINVAL, ""},
    {TG_OBS_FMT_JSON, "[{\"a\":\"0123456789012345678901234567890123456789\"},{}]", 0, "0:BIG|1:{}|"},
    {TG_OBS_FMT_NDJSON, "{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\":3}", 0,
     "0:{\"a\":1}|1:{\"b\":2}|2:{\"c\":3}|"},
    {TG_OBS_FMT_NDJSON, "x\n{\"a\":\"0123456789012345678901234567890123456789\"}\n{}\n", 0,
     "0:x|1:BIG|2:{}|"},
    {TG_OBS_FMT_NDJSON, "", 0, ""},
};

static void test_split_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
    const struct scase *k = &scases[i];
    /* at once and at every split point: the same records */
    for (size_t step = 0; step <= strlen(k->in); step++) {
      struct cut c;
      int rc = split(k->fmt, k->in, step, 32, &c);
      if (rc != k->rc || strcmp(c.out, k->out) != 0)
        fail_msg("case %zu step %zu: rc %d, got \"%s\", want %d \"%s\"", i, step, rc, c.out, k->rc,
                 k->out);
    }
  }
  struct cut c;
  assert_int_equal(split(TG_OBS_FMT_JSON, "{\"id\":1}", 0, 64, &c), 0);
  assert_int_equal(c.top, 1);
  assert_int_equal(split(TG_OBS_FMT_JSON, "[{\"id\":1}]", 0, 64, &c), 0);
  assert_int_equal(c.top, 0);
}

/* ---- checks ---- */

static void test_time(void **state) {
  (void)state;
  int64_t ms;
  assert_int_equal(tg_cat_obs_parse_time("1970-01-01T00:00:00Z", &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(tg_cat_obs_parse_time("2026-05-01T09:00:00.5+09:00", &ms), 0);
  assert_int_equal(ms, 1777593600500LL);
  assert_int_equal(tg_cat_obs_parse_time("2026-05-01", &ms), 0);
  assert_int_equal(ms, 1777593600000LL);
  assert_int_equal(tg_cat_obs_parse_time("2026-05-01T00:00Z", &ms), 0);
  static const char *const bad[] = {"", "2026-02-30T00:00:00Z", "2026-05-01T24:00:00Z",
                                    "2026-05-01T09:00:00", "2026-05-01T09:00:00+9",
                                    "yesterday", "2026-05-01T09:00:00.Z", "2026-5-1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (tg_cat_obs_parse_time(bad[i], &ms) == 0)
      fail_msg("accepted %s", bad[i]);
}

static int nerr(const char *rec, enum tg_cat_obs_model m, const char *want_ptrs) {
  json_t *j = json_loads(rec, JSON_DECODE_ANY, NULL), *errs = json_array();
  const char *e = NULL;
  int64_t ms = 0;
  int n = tg_cat_obs_check(j, m, "/7", errs, &e, &ms);
  char got[512] = "";
  size_t i;
  json_t *it;
  json_array_foreach(errs, i, it) {
    size_t u = strlen(got);
    snprintf(got + u, sizeof(got) - u, "%s ", json_string_value(json_object_get(it, "pointer")));
  }
  if (strcmp(got, want_ptrs) != 0)
    fail_msg("%s: got pointers \"%s\", want \"%s\"", rec, got, want_ptrs);
  json_decref(j);
  json_decref(errs);
  return n;
}

static void test_check(void **state) {
  (void)state;
  assert_int_equal(nerr("{\"id\":\"a\",\"observedAt\":\"2026-05-01T00:00:00Z\"}", TG_OBS_MODEL_NONE, ""), 0);
  assert_int_equal(nerr("{\"observedAt\":\"2026-05-01T00:00:00Z\"}", TG_OBS_MODEL_NONE, "/7/id "), 1);
  assert_int_equal(nerr("{\"id\":\"a\"}", TG_OBS_MODEL_NONE, "/7/dateObserved "), 1);
  assert_int_equal(nerr("[1]", TG_OBS_MODEL_NONE, "/7 "), 1);
  /* WaterObserved: observedAt is not its time; types and required members */
  assert_int_equal(nerr("{\"id\":\"a\",\"type\":\"WaterObserved\",\"observedAt\":\"2026-05-01T00:00:00Z\","
                        "\"location\":{}}", TG_OBS_MODEL_WATER_OBSERVED, "/7/dateObserved "), 1);
  assert_int_equal(nerr("{\"id\":\"a\",\"type\":\"Other\",\"dateObserved\":\"2026-05-01T00:00:00Z\","
                        "\"flow\":\"1\",\"a/b\":1}", TG_OBS_MODEL_WATER_OBSERVED,
                        "/7/location /7/flow /7/type "), 3);
  assert_int_equal(nerr("{\"id\":\"a\",\"type\":\"WeatherObserved\",\"dateObserved\":\"2026-05-01T00:00:00Z\","
                        "\"location\":{\"type\":\"Point\"},\"precipitation\":1.5}",
                        TG_OBS_MODEL_WEATHER_OBSERVED, ""), 0);
  assert_int_equal(nerr("{\"id\":\"a\",\"type\":\"FloodMonitoring\",\"observationDateTime\":\"2026-05-01T00:00:00Z\","
                        "\"currentLevel\":null}", TG_OBS_MODEL_FLOOD_MONITORING, "/7/currentLevel "), 1);
  json_t *doc = json_pack("{s:[{s:s}], s:{s:s}}", "dcat:distribution", "tsunagu:mode",
                          "accumulated", "dct:conformsTo", "@id",
                          "https://smart-data-models.github.io/dataModel.Weather/WeatherObserved/schema.json");
  assert_int_equal(tg_cat_obs_model_of(doc), TG_OBS_MODEL_WEATHER_OBSERVED);
  assert_int_equal(tg_cat_obs_is_accumulated(doc), 1);
  json_object_set_new(doc, "dct:conformsTo", json_string("https://example.org/WeatherObserved"));
  assert_int_equal(tg_cat_obs_model_of(doc), TG_OBS_MODEL_NONE);
  json_decref(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_store_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_store_retention, setup, teardown),
      cmocka_unit_test(test_split_cases),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
