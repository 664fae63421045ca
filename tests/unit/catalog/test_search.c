/* test_search: local catalog search: Japanese one- and two-character words,
 * mixed scripts, full-width and half-width forms, English case and stems,
 * phrases, OR and exclusion, filters, sorting, facets, highlights, stable
 * paging and the index following updates and deletions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_db.h"
#include "tg_err.h"

static char dir[64], path[128];
static sqlite3 *db;
static struct tg_cat_store *store;

#define CTX                                                                                        \
  "\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\": "                              \
  "\"http://www.w3.org/ns/dcat#\", \"foaf\": \"http://xmlns.com/foaf/0.1/\", \"xsd\": "            \
  "\"http://www.w3.org/2001/XMLSchema#\"}, \"@type\": \"dcat:Dataset\""

static void put(const char *slug, const char *ja, const char *en, const char *desc,
                const char *extra) {
  char buf[8192];
  snprintf(buf, sizeof(buf),
           "{" CTX ", \"dct:title\": [{\"@value\": \"%s\", \"@language\": \"ja\"}%s%s%s],"
           " \"dct:description\": \"%s\"%s%s}",
           ja, en ? ", {\"@value\": \"" : "", en ? en : "", en ? "\", \"@language\": \"en\"}" : "",
           desc, extra ? ", " : "", extra ? extra : "");
  json_error_t je;
  json_t *in = json_loads(buf, 0, &je);
  if (in == NULL)
    fail_msg("bad fixture %s: %s", slug, je.text);
  char id[128];
  snprintf(id, sizeof(id), "urn:tsunagu:a-city:dataset:%s", slug);
  json_t *problems = NULL;
  int rc = tg_cat_dataset_put(store, id, in, -1, NULL, &problems, NULL);
  if (rc) {
    char *p = json_dumps(problems, 0);
    fail_msg("fixture %s: %s", slug, p);
  }
  json_decref(in);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/tg-cat-search-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/node.db", dir);
  if (tg_db_open(path, 1, &db, NULL) || tg_cat_store_open(db, "a-city", &store, NULL))
    return -1;
  put("river", "河川水位観測", "River water level observation",
      "A市の河川の水位を10分毎に観測しています",
      "\"dcat:keyword\": [\"水位\", \"河川\"], \"dcat:theme\": {\"@id\": "
      "\"urn:tsunagu:vocab:theme:water\"}, \"dct:publisher\": {\"foaf:name\": \"A市\"},"
      " \"dct:modified\": {\"@value\": \"2024-04-01\", \"@type\": \"xsd:date\"},"
      " \"dct:spatial\": {\"dcat:bbox\": \"POLYGON((141.2 43.0, 141.5 43.0, 141.5 43.2, 141.2 "
      "43.2, 141.2 43.0))\"},"
      " \"dcat:distribution\": {\"dcat:accessURL\": {\"@id\": \"https://a.example/r\"},"
      " \"dcat:mediaType\": \"application/json\"}");
  put("dam", "ダム放流情報", "Dam discharge information", "B町のダムの放流量",
      "\"dcat:keyword\": \"ダム\", \"dcat:theme\": {\"@id\": \"urn:tsunagu:vocab:theme:disaster\"},"
      " \"dct:publisher\": {\"@id\": \"urn:tsunagu:node:b-town\", \"foaf:name\": \"B町\"},"
      " \"dct:modified\": {\"@value\": \"2024-05-01T10:00:00+09:00\", \"@type\": "
      "\"xsd:dateTime\"}, \"dcat:distribution\": {\"dcat:accessURL\": {\"@id\": "
      "\"https://b.example/d\"}, \"dcat:mediaType\": \"text/csv\"}");
  put("rain", "雨量観測データ", "Rainfall observations", "Ｃ村の雨量計　２０２４年から",
      "\"dcat:keyword\": [\"雨量\", \"Rain\"], \"dcat:theme\": {\"@id\": "
      "\"urn:tsunagu:vocab:theme:water\"}, \"dct:publisher\": {\"foaf:name\": \"C村\"},"
      " \"dct:modified\": {\"@value\": \"2024-03-01\", \"@type\": \"xsd:date\"},"
      " \"dcat:distribution\": {\"dcat:accessURL\": {\"@id\": \"https://c.example/r\"},"
      " \"dcat:mediaType\": \"application/json\"}");
  put("kana", "ｶﾜﾃﾞｰﾀ 一覧", NULL, "半角カナの題名", NULL);
  put("traffic", "交通量", "Traffic counts", "Vehicles counted at <b>intersections</b> & more",
      "\"dcat:keyword\": \"traffic\"");
  put("desc-only", "観光案内", "Tourist guide", "水位の話はここでは説明だけに出てくる", NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tg_cat_store_free(store);
  tg_db_close(db);
  char p[256];
  static const char *const files[] = {"node.db", "node.db-wal", "node.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
  return 0;
}

/* Runs a query; returns the hit slugs, space separated, in result order. */
static char *search_q(const struct tg_cat_query *q, json_t **res_out) {
  json_t *res = NULL;
  struct tg_err err;
  int rc = tg_cat_search(store, q, &res, &err);
  if (rc)
    fail_msg("search %s: %s", q->q ? q->q : "", err.msg);
  struct tg_buf b;
  tg_buf_init(&b);
  tg_buf_puts(&b, "");
  json_t *items = json_object_get(res, "items");
  for (size_t i = 0; i < json_array_size(items); i++) {
    const char *id = json_string_value(json_object_get(json_array_get(items, i), "id"));
    const char *slug = strrchr(id, ':') + 1;
    tg_buf_printf(&b, "%s%s", i ? " " : "", slug);
  }
  if (res_out)
    *res_out = res;
  else
    json_decref(res);
  return tg_buf_take(&b);
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Writes the space-separated words of S, sorted, into OUT. */
static void sorted_words(const char *s, char *out, size_t n) {
  char buf[512], *w[64];
  size_t k = 0;
  snprintf(buf, sizeof(buf), "%s", s);
  for (char *p = buf; *p && k < 64;) {
    while (*p == ' ')
      *p++ = '\0';
    if (*p == '\0')
      break;
    w[k++] = p;
    while (*p && *p != ' ')
      p++;
  }
  qsort(w, k, sizeof(*w), cmp_str);
  out[0] = '\0';
  for (size_t i = 0; i < k; i++) {
    strncat(out, w[i], n - strlen(out) - 1);
    strncat(out, " ", n - strlen(out) - 1);
  }
}

/* Checks that query Q finds exactly WANT (slugs, space separated, sorted by relevance
 * then id when ORDERED, else compared as sets). */
static void expect(const char *qtext, const char *want, int ordered) {
  struct tg_cat_query q = {.q = qtext};
  char *got = search_q(&q, NULL);
  if (!ordered) {
    char a[512], b[512];
    sorted_words(got, a, sizeof(a));
    sorted_words(want, b, sizeof(b));
    if (strcmp(a, b) != 0)
      fail_msg("query [%s]: got [%s], want [%s]", qtext, got, want);
  } else if (strcmp(got, want) != 0) {
    fail_msg("query [%s]: got [%s], want [%s]", qtext, got, want);
  }
  free(got);
}

static void test_japanese_short_words(void **state) {
  (void)state;
  expect("水位", "river desc-only", 0);
  expect("雨量", "rain", 0);
  expect("ダム", "dam", 0);
  expect("水", "river desc-only", 0); /* one character */
  expect("観測", "river rain", 0);
  expect("河川水位観測", "river", 0); /* a longer run: a phrase of bigrams */
  expect("水位観河", "", 0);
  expect("データ", "rain kana", 0);
  expect("ﾀﾞﾑ", "dam", 0);      /* half-width katakana with a voiced mark */
  expect("カワデータ", "kana", 0); /* indexed from half-width */
}

static void test_english_and_widths(void **state) {
  (void)state;
  expect("RIVER", "river", 0);
  expect("rivers", "river", 0);       /* stemmed */
  expect("observ", "river rain", 0);  /* prefix */
  expect("ＲＩＶＥＲ", "river", 0);   /* full-width letters */
  expect("２０２４", "rain", 0);       /* full-width digits in the text and the query */
  expect("2024", "rain", 0);
  expect("water level", "river", 0);
  expect("\"water level\"", "river", 0);
  expect("\"level water\"", "", 0);
  expect("ダム discharge", "dam", 0); /* mixed scripts */
  expect("ダムdischarge", "dam", 0);
  expect("水位 OR 雨量", "river desc-only rain", 0);
  expect("観測 -雨量", "river", 0);
  expect("rain", "rain", 0);
}

static void test_ranking_and_exclusion_only(void **state) {
  (void)state;
  /* The title match ranks above the description-only match. */
  expect("水位", "river desc-only", 1);
  struct tg_cat_query q = {.q = "-雨量"};
  json_t *res = NULL;
  char *got = search_q(&q, &res);
  assert_int_equal(json_integer_value(json_object_get(res, "total")), 5);
  assert_null(strstr(got, "rain"));
  free(got);
  json_decref(res);
}

static void test_filters_and_sort(void **state) {
  (void)state;
  struct tg_cat_query q = {.theme = "urn:tsunagu:vocab:theme:water", .sort = TG_CAT_SORT_MODIFIED};
  char *got = search_q(&q, NULL);
  assert_string_equal(got, "river rain");
  free(got);
  struct tg_cat_query q2 = {.q = "観測", .keyword = "ＲＡＩＮ"};
  got = search_q(&q2, NULL);
  assert_string_equal(got, "rain");
  free(got);
  struct tg_cat_query q3 = {.publisher = "urn:tsunagu:node:b-town"};
  got = search_q(&q3, NULL);
  assert_string_equal(got, "dam");
  free(got);
  q3.publisher = "A市";
  got = search_q(&q3, NULL);
  assert_string_equal(got, "river");
  free(got);
  int64_t since;
  assert_int_equal(tg_cat_parse_time("2024-04-15", &since), 0);
  /* Datasets without dct:modified count from their record's time (now). */
  struct tg_cat_query q4 = {.q = "観測 OR ダム", .modified_since = since};
  got = search_q(&q4, NULL);
  assert_string_equal(got, "dam");
  free(got);
  struct tg_cat_query q5 = {.has_bbox = 1, .bbox = {141.4, 43.1, 142.0, 44.0}};
  got = search_q(&q5, NULL);
  assert_string_equal(got, "river");
  free(got);
  struct tg_cat_query q6 = {.has_bbox = 1, .bbox = {130.0, 33.0, 131.0, 34.0}};
  got = search_q(&q6, NULL);
  assert_string_equal(got, "");
  free(got);
  struct tg_cat_query q7 = {.q = "観測", .sort = TG_CAT_SORT_TITLE};
  got = search_q(&q7, NULL);
  assert_string_equal(got, "river rain"); /* 河 (U+6CB3) sorts before 雨 (U+96E8) */
  free(got);
  struct tg_cat_query bad = {.has_bbox = 1, .bbox = {10, 10, 0, 0}};
  json_t *res = NULL;
  assert_int_equal(tg_cat_search(store, &bad, &res, NULL), TG_EINVAL);
  assert_null(res);
  struct tg_cat_query bad2 = {.limit = 1000};
  assert_int_equal(tg_cat_search(store, &bad2, &res, NULL), TG_EINVAL);
}

static int64_t facet_count(json_t *res, const char *kind, const char *value) {
  json_t *arr = json_object_get(json_object_get(res, "facets"), kind);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *f = json_array_get(arr, i);
    if (strcmp(json_string_value(json_object_get(f, "value")), value) == 0)
      return json_integer_value(json_object_get(f, "count"));
  }
  return 0;
}

static void test_facets_and_highlight(void **state) {
  (void)state;
  struct tg_cat_query q = {.q = "観測 OR ダム", .facets = 1};
  json_t *res = NULL;
  char *got = search_q(&q, &res);
  free(got);
  assert_int_equal(json_integer_value(json_object_get(res, "total")), 3);
  assert_int_equal(facet_count(res, "theme", "urn:tsunagu:vocab:theme:water"), 2);
  assert_int_equal(facet_count(res, "theme", "urn:tsunagu:vocab:theme:disaster"), 1);
  assert_int_equal(facet_count(res, "publisher", "B町"), 1);
  assert_int_equal(facet_count(res, "format", "application/json"), 2);
  assert_int_equal(facet_count(res, "format", "text/csv"), 1);
  assert_int_equal(facet_count(res, "keyword", "rain"), 1);
  assert_false(json_is_true(json_object_get(res, "facets_partial")));
  json_decref(res);

  struct tg_cat_query h = {.q = "水位"};
  free(search_q(&h, &res));
  json_t *first = json_array_get(json_object_get(res, "items"), 0);
  json_t *hl = json_object_get(first, "highlight");
  assert_string_equal(json_string_value(json_object_get(hl, "title")),
                      "河川<mark>水位</mark>観測");
  assert_non_null(strstr(json_string_value(json_object_get(hl, "description")),
                         "<mark>水位</mark>"));
  /* The public document rides along. */
  assert_non_null(json_object_get(json_object_get(first, "dataset"), "dct:title"));
  json_decref(res);
  free(search_q(&h, NULL));

  /* Highlights are HTML-escaped around the marks; stems mark whole words. */
  struct tg_cat_query e = {.q = "intersection"};
  free(search_q(&e, &res));
  hl = json_object_get(json_array_get(json_object_get(res, "items"), 0), "highlight");
  assert_string_equal(json_string_value(json_object_get(hl, "description")),
                      "Vehicles counted at &lt;b&gt;<mark>intersections</mark>&lt;/b&gt; &amp; more");
  json_decref(res);
  struct tg_cat_query w = {.q = "ｶﾜ"};
  free(search_q(&w, &res));
  hl = json_object_get(json_array_get(json_object_get(res, "items"), 0), "highlight");
  /* the mark is placed on the original half-width text */
  assert_string_equal(json_string_value(json_object_get(hl, "title")), "<mark>ｶﾜ</mark>ﾃﾞｰﾀ 一覧");
  json_decref(res);
}

static void test_paging_stable(void **state) {
  (void)state;
  char slug[32];
  for (int i = 0; i < 23; i++) {
    snprintf(slug, sizeof(slug), "same-%02d", (i * 7) % 23);
    put(slug, "同一の題名", NULL, "同じ説明", NULL);
  }
  char seen[23] = {0};
  for (int64_t off = 0; off < 30; off += 5) {
    struct tg_cat_query q = {.q = "同一", .limit = 5, .offset = off};
    json_t *res = NULL;
    char *got = search_q(&q, &res);
    assert_int_equal(json_integer_value(json_object_get(res, "total")), 23);
    json_t *items = json_object_get(res, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
      const char *id = json_string_value(json_object_get(json_array_get(items, i), "id"));
      int n = (int)strtol(strrchr(id, '-') + 1, NULL, 10);
      assert_false(seen[n]);
      seen[n] = 1;
    }
    free(got);
    json_decref(res);
  }
  for (int i = 0; i < 23; i++)
    assert_true(seen[i]);
  /* Equal scores: the same query gives the same page every time, in
   * creation order (same-00, same-07, same-14, ... were put in that order). */
  struct tg_cat_query q = {.q = "同一", .limit = 3, .offset = 0};
  char *a = search_q(&q, NULL), *b = search_q(&q, NULL);
  assert_string_equal(a, b);
  assert_string_equal(a, "same-00 same-07 same-14");
  free(a);
  free(b);
}

static void test_index_follows_writes(void **state) {
  (void)state;
  assert_int_equal(tg_cat_store_optimize(store, NULL), 0);
  expect("水位", "river desc-only", 0);
  put("dam", "堰の放流情報", NULL, "B町の堰", NULL);
  expect("ダム", "", 0);
  expect("堰", "dam", 0);
  assert_int_equal(tg_cat_dataset_delete(store, "urn:tsunagu:a-city:dataset:rain", -1, NULL, NULL),
                   0);
  expect("雨量", "", 0);
  expect("観測", "river", 0);
  struct tg_cat_query q = {.keyword = "雨量"};
  char *got = search_q(&q, NULL);
  assert_string_equal(got, "");
  free(got);
}

static void test_hostile_queries(void **state) {
  (void)state;
  static const char *const qs[] = {
      "\"", "\"\"", "-", "--x", "OR", "OR OR", "a OR", "* NEAR(a b)", "col:x", "^x", "x AND",
      "\")(\" OR \"", "NOT", "'; DROP TABLE cat_dataset; --", "ｘ", "\xff\xfe", "水位 OR -ダム",
      "(((", "a\"b\"c", "+++"};
  for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
    struct tg_cat_query q = {.q = qs[i]};
    json_t *res = NULL;
    struct tg_err err;
    int rc = tg_cat_search(store, &q, &res, &err);
    if (rc != 0)
      fail_msg("query [%s]: %s", qs[i], err.msg);
    json_decref(res);
  }
  char *m = NULL, *x = NULL;
  assert_int_equal(tg_cat_query_compile("水位 -ダム river", 21, &m, &x, NULL), 0);
  assert_string_equal(m, "((\"水位\")) AND ((\"river\"*))");
  assert_string_equal(x, "(\"ダム\")");
  free(m);
  free(x);
  char big[2000];
  memset(big, 'a', sizeof(big));
  assert_int_equal(tg_cat_query_compile(big, sizeof(big), &m, &x, NULL), TG_EINVAL);
}

/* A search word with a single completion in the index runs as that exact
 * term; the list of completions must follow writes, or a new completion
 * would be missed. */
static void test_prefix_completions(void **state) {
  (void)state;
  put("wf1", "滝の散策路", "Waterfall walk", "Trails", NULL);
  put("wt1", "水道", "Water works", "Pipes", NULL);
  expect("waterf", "wf1", 0);
  expect("water", "river wf1 wt1", 0);
  expect("waterfall", "wf1", 0);
  put("wfr", "港の公園", "Waterfront park", "Benches", NULL);
  /* the write listed the new completion (so "waterf" is a prefix again) */
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FROM cat_term WHERE term >= 'waterf'"
                                      " AND term < 'waterg'",
                                      -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 2);
  sqlite3_finalize(st);
  expect("waterf", "wf1 wfr", 0);
  expect("waterfr", "wfr", 0);
  expect("waterfall -walk", "", 0);
  expect("waterf -park", "wf1", 0);
}

/* Scores of TEXT as tg_cat_search gives them (id -> score) in OUT. */
static json_t *scores_of(struct tg_cat_store *s, const char *text) {
  struct tg_cat_query q = {.q = text, .limit = 100};
  json_t *res = NULL, *out = json_object();
  assert_int_equal(tg_cat_search(s, &q, &res, NULL), 0);
  json_t *items = json_object_get(res, "items");
  for (size_t i = 0; i < json_array_size(items); i++) {
    json_t *it = json_array_get(items, i);
    json_object_set(out, json_string_value(json_object_get(it, "id")),
                    json_object_get(it, "score"));
  }
  json_decref(res);
  return out;
}

/* The same scores straight from FTS5's own bm25(), rounded as the API rounds. */
static json_t *bm25_of(const char *text) {
  char *m = NULL;
  assert_int_equal(tg_cat_query_compile(text, strlen(text), &m, NULL, NULL), 0);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT d.id, bm25(cat_fts, 5.0, 1.0, 3.0) FROM cat_fts"
                                      " JOIN cat_dataset d ON d.rid = cat_fts.rowid"
                                      " WHERE cat_fts MATCH ?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, m, -1, SQLITE_STATIC);
  json_t *out = json_object();
  while (sqlite3_step(st) == SQLITE_ROW) {
    double v = -sqlite3_column_double(st, 1);
    json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
                        json_real(round(v * 1e4) / 1e4 + 0.0));
  }
  sqlite3_finalize(st);
  free(m);
  return out;
}

/* Ranking keeps per-phrase row counts between searches: after writes the
 * scores must still be bm25's own, the same as a fresh store computes. */
static void test_rank_counts_follow_writes(void **state) {
  (void)state;
  put("g1", "氷河", "Glacier survey", "Ice", NULL);
  put("g2", "氷河湖", "Glacier lake glacier", "Lakes", NULL);
  put("g3", "山", "Mountain", "A glacier nearby", NULL);
  json_t *before = scores_of(store, "glacier 氷河");
  json_t *want = bm25_of("glacier 氷河");
  assert_true(json_equal(before, want));
  json_decref(want);
  for (int i = 0; i < 6; i++) {
    char slug[16];
    snprintf(slug, sizeof(slug), "gx%d", i);
    put(slug, "氷河と雪", "Glacier and snow", "Glacier data", NULL);
  }
  json_t *after = scores_of(store, "glacier 氷河");
  want = bm25_of("glacier 氷河");
  assert_true(json_equal(after, want));
  /* more rows with the words: every IDF, so every score, moved */
  assert_false(json_real_value(json_object_get(before, "urn:tsunagu:a-city:dataset:g1")) ==
               json_real_value(json_object_get(after, "urn:tsunagu:a-city:dataset:g1")));
  struct tg_cat_store *fresh = NULL;
  assert_int_equal(tg_cat_store_open(db, "a-city", &fresh, NULL), 0);
  json_t *again = scores_of(fresh, "glacier 氷河");
  assert_true(json_equal(after, again));
  tg_cat_store_free(fresh);
  /* inside a batch the store's own uncommitted rows count too */
  assert_int_equal(tg_cat_batch_begin(store, NULL), 0);
  put("gb", "氷河", "Glacier", "Glacier glacier", NULL);
  json_t *inside = scores_of(store, "glacier 氷河");
  json_t *want2 = bm25_of("glacier 氷河");
  assert_true(json_equal(inside, want2));
  assert_int_equal(tg_cat_batch_commit(store, NULL), 0);
  json_decref(before);
  json_decref(after);
  json_decref(again);
  json_decref(want);
  json_decref(inside);
  json_decref(want2);
}

static int64_t total_of(const char *text, int *partial) {
  struct tg_cat_query q = {.q = text};
  json_t *res = NULL;
  assert_int_equal(tg_cat_search(store, &q, &res, NULL), 0);
  int64_t n = json_integer_value(json_object_get(res, "total"));
  *partial = json_is_true(json_object_get(res, "ranked_partial"));
  json_decref(res);
  return n;
}

/* A one-word search over more than the ranked window takes its total from
 * the row count kept for ranking: it must follow writes too. */
static void test_kept_totals_follow_writes(void **state) {
  (void)state;
  assert_int_equal(tg_cat_batch_begin(store, NULL), 0);
  for (int i = 0; i < 1001; i++) {
    char slug[16];
    snprintf(slug, sizeof(slug), "zb%d", i);
    put(slug, "縞馬", "Zebra count", "Zebras", NULL);
  }
  assert_int_equal(tg_cat_batch_commit(store, NULL), 0);
  int partial = 0;
  assert_int_equal(total_of("zebra", &partial), 1001);
  assert_true(partial);
  assert_int_equal(total_of("zebra", &partial), 1001); /* now from the kept count */
  put("zb-new", "縞馬", "Zebra crossing", "Roads", NULL);
  assert_int_equal(total_of("zebra", &partial), 1002);
  assert_int_equal(tg_cat_dataset_delete(store, "urn:tsunagu:a-city:dataset:zb3", -1, NULL, NULL),
                   0);
  assert_int_equal(tg_cat_dataset_delete(store, "urn:tsunagu:a-city:dataset:zb4", -1, NULL, NULL),
                   0);
  assert_int_equal(total_of("zebra", &partial), 1000);
  assert_false(partial);
  assert_int_equal(total_of("縞馬", &partial), 1000);
}

/* A query may rank fewer of the newest matches (the federated search's
 * share for one part), the same ones on every page; and a size hint
 * follows the record numbers. */
static void test_rank_candidates(void **state) {
  (void)state;
  for (int i = 0; i < 6; i++) {
    char slug[16];
    snprintf(slug, sizeof(slug), "okapi%d", i);
    put(slug, "霍加狓", i == 0 ? "Okapi okapi okapi sighting" : "Okapi sighting", "Forest", NULL);
  }
  struct tg_cat_query q = {.q = "okapi", .limit = 1, .rank_candidates = 2};
  json_t *res = NULL;
  assert_int_equal(tg_cat_search(store, &q, &res, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(res, "total")), 6);
  assert_true(json_is_true(json_object_get(res, "ranked_partial")));
  /* okapi0, the best match, is the oldest: outside the newest two */
  const char *top = json_string_value(json_object_get(json_array_get(json_object_get(res, "items"), 0), "id"));
  assert_non_null(top);
  assert_null(strstr(top, "okapi0"));
  json_decref(res);
  q.rank_candidates = 0; /* the default window holds all six: okapi0 first */
  assert_int_equal(tg_cat_search(store, &q, &res, NULL), 0);
  assert_false(json_is_true(json_object_get(res, "ranked_partial")));
  top = json_string_value(json_object_get(json_array_get(json_object_get(res, "items"), 0), "id"));
  assert_non_null(strstr(top, "okapi0"));
  json_decref(res);
  /* every page ranks the same newest two: page 2 is the other of them, and
   * a page of 6 holds only those two */
  q.rank_candidates = 2;
  q.offset = 1;
  assert_int_equal(tg_cat_search(store, &q, &res, NULL), 0);
  const char *second = json_string_value(json_object_get(json_array_get(json_object_get(res, "items"), 0), "id"));
  assert_non_null(second);
  assert_true(strstr(second, "okapi4") != NULL || strstr(second, "okapi5") != NULL);
  json_decref(res);
  q.offset = 0;
  q.limit = 6;
  assert_int_equal(tg_cat_search(store, &q, &res, NULL), 0);
  assert_true(json_is_true(json_object_get(res, "ranked_partial")));
  assert_int_equal(json_array_size(json_object_get(res, "items")), 2);
  json_decref(res);
  int64_t n = tg_cat_size_hint(store);
  assert_true(n >= 6);
  put("okapi-new", "霍加狓", "Okapi", "Forest", NULL);
  assert_int_equal(tg_cat_size_hint(store), n + 1);
}

/* A catalog indexed before cat_term existed gets the list from its index. */
static void test_term_list_migration(void **state) {
  (void)state;
  assert_int_equal(tg_db_exec(db,
                              "DROP TABLE cat_term;"
                              " UPDATE tg_schema SET version = 1 WHERE component = 'catalog'",
                              NULL),
                   0);
  struct tg_cat_store *again = NULL;
  assert_int_equal(tg_cat_store_open(db, "a-city", &again, NULL), 0);
  tg_cat_store_free(again);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FROM cat_term WHERE term IN"
                                      " ('waterfall', 'waterfront', 'zebra', 'glacier')",
                                      -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 4);
  sqlite3_finalize(st);
  expect("waterf", "wf1 wfr", 0);
}

/* Makes the folded index look built by another folding: stale terms, term
 * list, title keys and keyword facets. */
static void stale_index(void) {
  assert_int_equal(tg_db_exec(db,
                              "INSERT INTO cat_fts(cat_fts) VALUES('delete-all');"
                              "INSERT INTO cat_fts(rowid, title, body, kw)"
                              " SELECT rid, 'stale', 'stale', 'stale' FROM cat_dataset"
                              " WHERE deleted = 0;"
                              "DELETE FROM cat_term;"
                              "UPDATE cat_dataset SET title_key = 'stale';"
                              "UPDATE cat_facet SET value = 'STALE:' || value"
                              " WHERE kind = 'keyword';",
                              NULL),
                   0);
}

/* The hits of the folded queries for datasets fold-a and fold-b,
 * "|"-separated: half-width kana (ranked), upper-case English, the keyword
 * filter in upper case, sorted by (Japanese) title. */
#define FOLD_HITS "fold-b fold-a|fold-a fold-b|fold-a|fold-b fold-a"
static char *fold_hits(void) {
  struct tg_cat_query q1 = {.q = "ｾﾞﾌｨﾙ"}; /* half-width */
  struct tg_cat_query q2 = {.q = "ZEPHYR"};
  struct tg_cat_query q3 = {.keyword = "ZEPHYRKW"};
  struct tg_cat_query q4 = {.q = "zephyr", .sort = TG_CAT_SORT_TITLE};
  char *a = search_q(&q1, NULL), *b = search_q(&q2, NULL), *c = search_q(&q3, NULL);
  char *d = search_q(&q4, NULL);
  char *out = malloc(512);
  assert_non_null(out);
  snprintf(out, 512, "%s|%s|%s|%s", a, b, c, d);
  free(a);
  free(b);
  free(c);
  free(d);
  return out;
}

static void reopen(void) {
  struct tg_cat_store *again = NULL;
  assert_int_equal(tg_cat_store_open(db, "a-city", &again, NULL), 0);
  tg_cat_store_free(again);
}

/* A store indexed with another text folding (no fold version, or another
 * one) is rebuilt on open: half-width kana and upper-case queries, the
 * keyword filter and title sorting find the dataset again; a store at the
 * current version is left alone. */
static void test_fold_reindex(void **state) {
  (void)state;
  put("fold-a", "ゼフィル貯水池", "Zephyr reservoir gauge", "ゼフィル湖の水位",
      "\"dcat:keyword\": \"Zephyrkw\"");
  put("fold-b", "ゼフィル観測所", "Zephyr station", "二つ目", NULL);
  char *h = fold_hits();
  assert_string_equal(h, FOLD_HITS);
  free(h);
  assert_true(tg_db_version(db, "catalog.fold") > 0);

  stale_index();
  assert_int_equal(tg_db_exec(db, "DELETE FROM tg_schema WHERE component = 'catalog.fold'", NULL), 0);
  h = fold_hits();
  assert_string_equal(h, "|||"); /* the stale index finds nothing */
  free(h);
  reopen();
  h = fold_hits();
  assert_string_equal(h, FOLD_HITS);
  free(h);
  int current = tg_db_version(db, "catalog.fold");
  assert_true(current > 0);

  stale_index(); /* at the current version: open does not rebuild */
  reopen();
  h = fold_hits();
  assert_string_equal(h, "|||");
  free(h);

  char sql[128]; /* another version number: rebuilt */
  snprintf(sql, sizeof(sql), "UPDATE tg_schema SET version = %d WHERE component = 'catalog.fold'",
           current + 1);
  assert_int_equal(tg_db_exec(db, sql, NULL), 0);
  reopen();
  h = fold_hits();
  assert_string_equal(h, FOLD_HITS);
  free(h);
  assert_int_equal(tg_db_version(db, "catalog.fold"), current);
  expect("waterf", "wf1 wfr", 0); /* the other datasets' terms are back too */
}

/* A deferred search gives the same hits in the same order without their
 * documents; filling them gives what the whole search gives; a dataset
 * deleted between the two is left unfilled. */
static void test_deferred_fill(void **state) {
  (void)state;
  put("deferred", "水位の一時データ", "Temporary water level", "消される水位", NULL);
  struct tg_cat_query q = {.q = "水位"}, dq = {.q = "水位", .deferred = 1};
  json_t *full = NULL, *light = NULL;
  free(search_q(&q, &full));
  free(search_q(&dq, &light));
  json_t *fi = json_object_get(full, "items"), *li = json_object_get(light, "items");
  size_t n = json_array_size(li);
  assert_true(n >= 3);
  assert_int_equal(json_array_size(fi), n);
  json_t *items[16];
  for (size_t i = 0; i < n && i < 16; i++) {
    items[i] = json_array_get(li, i);
    assert_null(json_object_get(items[i], "dataset"));
    assert_null(json_object_get(items[i], "highlight"));
    assert_string_equal(json_string_value(json_object_get(items[i], "id")),
                        json_string_value(json_object_get(json_array_get(fi, i), "id")));
    assert_true(json_equal(json_object_get(items[i], "score"),
                           json_object_get(json_array_get(fi, i), "score")));
  }
  assert_int_equal(tg_cat_dataset_delete(store, "urn:tsunagu:a-city:dataset:deferred", -1, NULL,
                                         NULL),
                   0);
  assert_int_equal(tg_cat_search_fill(store, "水位", items, n, NULL), 0);
  size_t filled = 0;
  for (size_t i = 0; i < n; i++) {
    const char *id = json_string_value(json_object_get(items[i], "id"));
    if (strcmp(id, "urn:tsunagu:a-city:dataset:deferred") == 0) {
      assert_null(json_object_get(items[i], "dataset"));
      continue;
    }
    filled++;
    json_t *whole = json_array_get(fi, i);
    assert_true(json_equal(json_object_get(items[i], "dataset"), json_object_get(whole, "dataset")));
    assert_true(json_equal(json_object_get(items[i], "highlight"),
                           json_object_get(whole, "highlight")));
  }
  assert_int_equal(filled, n - 1);
  json_decref(full);
  json_decref(light);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_japanese_short_words),
      cmocka_unit_test(test_english_and_widths),
      cmocka_unit_test(test_ranking_and_exclusion_only),
      cmocka_unit_test(test_filters_and_sort),
      cmocka_unit_test(test_facets_and_highlight),
      cmocka_unit_test(test_paging_stable),
      cmocka_unit_test(test_index_follows_writes),
      cmocka_unit_test(test_hostile_queries),
      cmocka_unit_test(test_prefix_completions),
      cmocka_unit_test(test_rank_counts_follow_writes),
      cmocka_unit_test(test_kept_totals_follow_writes),
      cmocka_unit_test(test_rank_candidates),
      cmocka_unit_test(test_term_list_migration),
      cmocka_unit_test(test_fold_reindex),
      cmocka_unit_test(test_deferred_fill),
  };
  return cmocka_run_group_tests_name("catalog_search", tests, setup, teardown);
}
