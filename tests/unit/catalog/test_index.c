/* test_index: the harvested index on a real SQLite file: a peer's feed pages
 * applied (upserts, deletions), foreign ids and malformed entries refused,
 * a feed that goes backwards refused whole, a page asked from the wrong
 * since refused, refused ids kept short, dropping a source, locating a
 * dataset, and search over the index finding a peer's dataset in Japanese. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_cat.h"
#include "tg_db.h"
#include "tg_err.h"

static char dir[64];
static sqlite3 *adb, *cdb;
static struct tg_cat_store *a;  /* the peer a-city's own catalog */
static struct tg_cat_store *ix; /* c-village's harvested index */

#define CTX                                                                                        \
  "\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\": "                              \
  "\"http://www.w3.org/ns/dcat#\"}, \"@type\": \"dcat:Dataset\""

static void put(const char *slug, const char *title, const char *desc) {
  char buf[2048], id[128];
  snprintf(buf, sizeof(buf),
           "{" CTX ", \"dct:title\": {\"@value\": \"%s\", \"@language\": \"ja\"},"
           " \"dct:description\": \"%s\"}",
           title, desc);
  snprintf(id, sizeof(id), "urn:tsunagu:a-city:dataset:%s", slug);
  json_t *in = json_loads(buf, 0, NULL), *problems = NULL;
  assert_non_null(in);
  assert_int_equal(tg_cat_dataset_put(a, id, in, -1, NULL, &problems, NULL), 0);
  json_decref(in);
}

static json_t *feed(int64_t since) {
  json_t *page = NULL;
  assert_int_equal(tg_cat_changes(a, since, 1000, &page, NULL), 0);
  return page;
}

static int64_t total(const char *q) {
  struct tg_cat_query query = {.q = q};
  json_t *out = NULL;
  assert_int_equal(tg_cat_search(ix, &query, &out, NULL), 0);
  int64_t n = json_integer_value(json_object_get(out, "total"));
  json_decref(out);
  return n;
}

static int setup(void **state) {
  (void)state;
  char p[128];
  snprintf(dir, sizeof(dir), "/tmp/tg-cat-index-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return 1;
  snprintf(p, sizeof(p), "%s/a.db", dir);
  if (tg_db_open(p, 1, &adb, NULL) || tg_cat_store_open(adb, "a-city", &a, NULL))
    return 1;
  snprintf(p, sizeof(p), "%s/harvest.db", dir);
  if (tg_db_open(p, 1, &cdb, NULL) || tg_cat_index_open(cdb, "c-village", &ix, NULL))
    return 1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tg_cat_store_free(a);
  tg_cat_store_free(ix);
  tg_db_close(adb);
  tg_db_close(cdb);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : 1;
}

static void test_apply(void **state) {
  (void)state;
  put("river", "河川水位観測", "A市の河川の水位");
  put("dam", "ダム放流情報", "B町のダムの放流量");
  json_t *page = feed(0), *refused = NULL;
  int64_t last = 0;
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, &last, &refused, NULL), 0);
  assert_int_equal(last, 2);
  assert_int_equal(json_array_size(refused), 0);
  json_decref(refused);
  json_decref(page);
  /* search over the index: a Japanese word, ranked like a local search */
  assert_int_equal(total("水位"), 1);
  assert_int_equal(total("ダム"), 1);
  char owner[64];
  int64_t at = 0;
  assert_int_equal(
      tg_cat_index_locate(ix, "urn:tsunagu:a-city:dataset:river", owner, sizeof(owner), &at, NULL),
      0);
  assert_string_equal(owner, "a-city");
  assert_true(at > 0);
  /* the owner's version is kept */
  json_t *doc = NULL;
  int64_t v = 0;
  assert_int_equal(
      tg_cat_dataset_get(ix, "urn:tsunagu:a-city:dataset:dam", TG_CAT_VIEW_PUBLIC, &doc, &v, NULL),
      0);
  assert_int_equal(v, 1);
  json_decref(doc);
  /* an update and a deletion propagate */
  put("river", "河川水位観測（改）", "更新しました");
  assert_int_equal(tg_cat_dataset_delete(a, "urn:tsunagu:a-city:dataset:dam", -1, NULL, NULL), 0);
  page = feed(last);
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, &last, NULL, NULL), 0);
  json_decref(page);
  assert_int_equal(total("ダム"), 0);
  assert_int_equal(total("更新"), 1);
  assert_int_equal(
      tg_cat_index_locate(ix, "urn:tsunagu:a-city:dataset:dam", owner, sizeof(owner), NULL, NULL),
      TG_ENOENT);
  /* the index refuses local writes */
  json_t *in = json_loads("{" CTX ", \"dct:title\": \"x\", \"dct:description\": \"y\"}", 0, NULL);
  assert_int_equal(tg_cat_dataset_create(ix, in, "x", NULL, NULL, NULL), TG_EPERM);
  json_decref(in);
}

static void test_refusals(void **state) {
  (void)state;
  int64_t last = 0;
  assert_int_equal(tg_cat_index_last_seq(ix, "a-city", &last, NULL), 0);
  put("rain", "雨量観測", "C村の雨量計");
  json_t *page = feed(last);
  /* b-town's page carries a-city's dataset: refused, the page still applies */
  json_t *refused = NULL;
  assert_int_equal(tg_cat_index_apply(ix, "b-town", page, NULL, &refused, NULL), 0);
  assert_int_equal(json_array_size(refused), 1);
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(refused, 0), "reason")),
                         "may publish only urn:tsunagu:b-town:"));
  json_decref(refused);
  assert_int_equal(total("雨量"), 0);
  /* a malformed entry is refused, the good one applied */
  json_t *bad = json_pack("{s:I, s:s, s:s, s:I, s:{s:s}}", "seq", (json_int_t)(last + 100), "op",
                          "upsert", "id", "urn:tsunagu:a-city:dataset:junk", "version",
                          (json_int_t)1, "dataset", "@id", "urn:tsunagu:a-city:dataset:junk");
  json_array_append_new(json_object_get(page, "changes"), bad);
  json_object_set_new(page, "last_seq", json_integer(last + 100));
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, &last, &refused, NULL), 0);
  assert_int_equal(json_array_size(refused), 1);
  json_decref(refused);
  assert_int_equal(total("雨量"), 1);
  /* the same page again goes backwards: refused whole */
  struct tg_err err;
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, NULL, NULL, &err), TG_EPROTO);
  assert_non_null(strstr(err.msg, "backwards"));
  json_decref(page);
  page = json_pack("{s:[], s:I, s:b}", "changes", "last_seq", (json_int_t)1, "more", 0);
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, NULL, NULL, NULL), TG_EPROTO);
  json_decref(page);
  page = json_pack("{s:s}", "changes", "garbage");
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, NULL, NULL, NULL), TG_EPROTO);
  json_decref(page);
  assert_int_equal(tg_cat_index_fail(ix, "a-city", "garbage", NULL), 0);
  json_t *src = NULL;
  assert_int_equal(tg_cat_index_sources(ix, &src, NULL), 0);
  json_t *s0 = json_array_get(src, 0);
  assert_string_equal(json_string_value(json_object_get(s0, "node")), "a-city");
  assert_string_equal(json_string_value(json_object_get(s0, "status")), "failing");
  assert_int_equal(json_integer_value(json_object_get(s0, "datasets")), 2);
  assert_int_equal(json_integer_value(json_object_get(s0, "refused")), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(src, 1), "refused")), 1);
  json_decref(src);
}

static void test_drop(void **state) {
  (void)state;
  int64_t n = 0;
  assert_int_equal(tg_cat_index_drop_source(ix, "a-city", &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_int_equal(total("雨量"), 0);
  assert_int_equal(total("水位"), 0);
  int64_t last = -1;
  assert_int_equal(tg_cat_index_last_seq(ix, "a-city", &last, NULL), 0);
  assert_int_equal(last, 0);
  char owner[8];
  assert_int_equal(tg_cat_dataset_owner("urn:tsunagu:a-city:dataset:x", owner, sizeof(owner)), 0);
  assert_string_equal(owner, "a-city");
  assert_int_equal(tg_cat_dataset_owner("urn:tsunagu:A:dataset:x", owner, sizeof(owner)),
                   TG_EINVAL);
}

/* The feed and the list as a peer sees them: a dataset whose policy names
 * only b-town is a delete in c-village's feed and absent from its list. */
static void test_feed_for_viewer(void **state) {
  (void)state;
  json_t *in = json_loads(
      "{" CTX ", \"dct:title\": \"secret\", \"dct:description\": \"b only\","
      " \"odrl:hasPolicy\": {\"@type\": \"odrl:Offer\", \"odrl:permission\": {\"odrl:action\":"
      " {\"@id\": \"odrl:use\"}, \"odrl:assignee\": {\"@id\": \"urn:tsunagu:node:b-town\"}}},"
      " \"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\":"
      " \"http://www.w3.org/ns/dcat#\", \"odrl\": \"http://www.w3.org/ns/odrl/2/\"}}",
      0, NULL);
  assert_non_null(in);
  struct tg_cat_write w;
  assert_int_equal(tg_cat_dataset_create(a, in, "secret", &w, NULL, NULL), 0);
  json_decref(in);
  struct tg_cat_access c = {
      .node_id = "c-village", .action = "use", .now = 1800000000, .is_federation_member = 1};
  struct tg_cat_access b = c;
  b.node_id = "b-town";
  json_t *page = NULL;
  assert_int_equal(tg_cat_changes_for(a, w.seq - 1, 10, &c, &page, NULL), 0);
  json_t *e = json_array_get(json_object_get(page, "changes"), 0);
  assert_string_equal(json_string_value(json_object_get(e, "op")), "delete");
  assert_null(json_object_get(e, "dataset"));
  json_decref(page);
  assert_int_equal(tg_cat_changes_for(a, w.seq - 1, 10, &b, &page, NULL), 0);
  e = json_array_get(json_object_get(page, "changes"), 0);
  assert_string_equal(json_string_value(json_object_get(e, "op")), "upsert");
  json_decref(page);
  json_t *all = NULL, *seen = NULL;
  assert_int_equal(tg_cat_dataset_list(a, TG_CAT_VIEW_PUBLIC, 0, 100, &all, NULL), 0);
  assert_int_equal(tg_cat_dataset_list_for(a, TG_CAT_VIEW_PUBLIC, &c, 0, 100, &seen, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(seen, "total")),
                   json_integer_value(json_object_get(all, "total")) - 1);
  json_decref(all);
  json_decref(seen);
  tg_cat_write_clear(&w);
}

/* Applies CHANGE (stolen) alone as a page of a-city after LAST; returns the
 * refusal reason, or NULL when it was accepted (a static buffer). */
static const char *apply_alone(json_t *change, int64_t last) {
  static char why[400];
  json_object_set_new(change, "seq", json_integer(last + 1));
  json_t *page = json_pack("{s:[o], s:I, s:b}", "changes", change, "last_seq", (json_int_t)(last + 1),
                           "more", 0),
         *refused = NULL;
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, NULL, &refused, NULL), 0);
  json_decref(page);
  const char *r = json_string_value(json_object_get(json_array_get(refused, 0), "reason"));
  snprintf(why, sizeof(why), "%s", r ? r : "");
  json_decref(refused);
  return r ? why : NULL;
}

/* A peer's dataset in the canonical shape takes the fast path (stored as it
 * came); the same shape with something the validator refuses is refused as
 * before: the fast path only ever accepts. */
static void test_canonical_shape(void **state) {
  (void)state;
  int64_t last = 0;
  assert_int_equal(tg_cat_index_last_seq(ix, "a-city", &last, NULL), 0);
  put("shape", "形状検査", "正準形のまま");
  json_t *page = feed(0), *ch = json_object_get(page, "changes");
  json_t *good = json_deep_copy(json_array_get(ch, json_array_size(ch) - 1));
  json_decref(page);
  assert_non_null(json_object_get(json_object_get(good, "dataset"), "@context"));
  const char *why = apply_alone(json_deep_copy(good), last++);
  assert_null(why);
  assert_int_equal(total("形状検査"), 1);
  char big[2100];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  struct {
    const char *key;
    json_t *value; /* NULL: the key removed */
    const char *reason;
  } bad[] = {
      {"dct:title", json_pack("[{s:s, s:s}]", "@value", big, "@language", "ja"), "does not validate"},
      {"dct:description", NULL, "does not validate"},
      {"dct:modified", json_pack("{s:s, s:s}", "@value", "2024-02-30", "@type", "xsd:date"),
       "does not validate"},
      {"dct:title", json_pack("[{s:s, s:s}]", "@value", "t", "@language", "not a tag!"),
       "does not validate"},
      {"tsunagu:backend", json_string("http://10.0.0.1/"), "does not validate"},
      {"@id", json_string("urn:tsunagu:a-city:dataset:other"), "is not the change's id"},
      /* distributions the fast path took as they were */
      {"dcat:distribution", json_string("http://example.org/data.csv"), "does not validate"},
      {"dcat:distribution",
       json_pack("[{s:s, s:s}]", "@type", "dcat:Distribution", "dcat:accessURL",
                 "http://example.org/data.csv"),
       "does not validate"},
      {"dcat:distribution", json_pack("[{s:s, s:s}]", "@type", "dcat:Distribution", "dct:title", "x"),
       "does not validate"},
      {"dcat:distribution",
       json_pack("[{s:s, s:{s:s}, s:s}]", "@type", "dcat:Distribution", "dcat:accessURL", "@id",
                 "http://example.org/d", "dct:license", "CC-BY 4.0"),
       "does not validate"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *c = json_deep_copy(good);
    json_t *ds = json_object_get(c, "dataset");
    json_object_set_new(ds, "dct:title", json_pack("[{s:s, s:s}]", "@value", "形状違反",
                                                   "@language", "ja"));
    if (bad[i].value != NULL)
      json_object_set_new(ds, bad[i].key, bad[i].value);
    else
      json_object_del(ds, bad[i].key);
    why = apply_alone(c, last++);
    assert_non_null(why);
    assert_non_null(strstr(why, bad[i].reason));
  }
  assert_int_equal(total("形状違反"), 0);
  assert_int_equal(total("形状検査"), 1); /* the good version stays */
  json_decref(good);
}

static char *sql_text(sqlite3 *db, const char *sql, const char *arg) {
  sqlite3_stmt *st = NULL;
  char *out = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
    out = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return out;
}

/* A page parsed from its text keeps each canonical dataset's bytes as they
 * came, without its @context wherever that stands (first, in the middle,
 * last): a\/b stays escaped as sent, where a dump would write a/b. A page
 * with whitespace between tokens, or given without its text, is dumped as
 * before. Either way the index holds the same document. */
static void test_raw_text(void **state) {
  (void)state;
  const char *id = "urn:tsunagu:a-city:dataset:raw";
  put("raw", "原文保存", "a/b \\\"q\\\" é");
  char *stored = sql_text(adb, "SELECT doc FROM cat_dataset WHERE id = ?1", id);
  assert_non_null(stored);
  json_t *cj = tg_cat_context();
  char *ctx = json_dumps(cj, JSON_COMPACT);
  json_decref(cj);
  size_t n = strlen(stored);
  char *slash = strstr(stored, "a/b"), *after_id = strstr(stored, "\",\"");
  assert_non_null(slash);
  assert_non_null(after_id);
  int64_t last = 0;
  assert_int_equal(tg_cat_index_last_seq(ix, "a-city", &last, NULL), 0);
  for (int v = 0; v < 5; v++) {
    /* the dataset with a\/b for a/b, the context placed per V */
    char ds[8192], esc[4096], page[16384];
    snprintf(esc, sizeof(esc), "%.*sa\\/b%s", (int)(slash - stored), stored, slash + 3);
    size_t en = strlen(esc), at = (size_t)(after_id - stored) + 1; /* after @id's value */
    if (v == 0)
      snprintf(ds, sizeof(ds), "{\"@context\":%s,%s", ctx, esc + 1);
    else if (v == 1)
      snprintf(ds, sizeof(ds), "%.*s,\"@context\":%s%s", (int)at, esc, ctx, esc + at);
    else
      snprintf(ds, sizeof(ds), "%.*s,\"@context\":%s}", (int)(en - 1), esc, ctx);
    snprintf(page, sizeof(page),
             "{\"changes\":[{\"seq\":%lld,\"op\":\"upsert\",\"id\":\"%s\",\"version\":%d,"
             "\"dataset\":%s}],\"last_seq\":%lld,\"more\":false}",
             (long long)last + 1, id, v + 1, ds, (long long)last + 1);
    if (v == 3) { /* whitespace between tokens: dumped */
      char *c = strstr(page, "\"dataset\":{");
      memmove(c + 12, c + 11, strlen(c + 11) + 1);
      c[11] = ' ';
    }
    json_error_t je;
    json_t *pj = json_loads(page, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(pj);
    struct tg_cat_index_page *pp = NULL;
    assert_int_equal(tg_cat_index_prepare("a-city", pj, v == 4 ? NULL : page,
                                          v == 4 ? 0 : strlen(page), &pp, NULL),
                     0);
    json_t *refused = NULL;
    assert_int_equal(tg_cat_index_apply_page(ix, last, pp, &last, &refused, NULL), 0);
    assert_int_equal(json_array_size(refused), 0);
    json_decref(refused);
    tg_cat_index_page_free(pp);
    char *got = sql_text(cdb, "SELECT doc FROM cat_dataset WHERE id = ?1", id);
    assert_non_null(got);
    if (v < 3)
      assert_string_equal(got, esc); /* as sent, without the context */
    else
      assert_string_equal(got, stored); /* dumped */
    json_t *gd = json_loads(got, 0, NULL), *want = json_deep_copy(json_object_get(
                                                json_array_get(json_object_get(pj, "changes"), 0),
                                                "dataset"));
    json_object_del(want, "@context");
    assert_true(json_equal(gd, want));
    json_decref(gd);
    json_decref(want);
    json_decref(pj);
    free(got);
  }
  assert_int_equal(total("原文保存"), 1);
  free(ctx);
  free(stored);
  (void)n;
}

/* A page of SOURCE with one delete at SEQ, its last_seq SEQ. */
static json_t *delete_page(const char *source, int64_t seq) {
  char id[128];
  snprintf(id, sizeof(id), "urn:tsunagu:%s:dataset:gone", source);
  return json_pack("{s:[{s:I, s:s, s:s, s:I}], s:I, s:b}", "changes", "seq", (json_int_t)seq, "op",
                   "delete", "id", id, "version", (json_int_t)1, "last_seq", (json_int_t)seq,
                   "more", 0);
}

/* A page asked from a since that is not the source's last seq (the fetch
 * read it before a drop reset it) is refused whole, TG_ECONFLICT, with the
 * last seq to fetch from again; asked from the right since it applies. */
static void test_since(void **state) {
  (void)state;
  json_t *page = delete_page("e-town", 5000);
  int64_t last = -1;
  assert_int_equal(tg_cat_index_apply_from(ix, "e-town", 0, page, &last, NULL, NULL), 0);
  assert_int_equal(last, 5000);
  json_decref(page);
  assert_int_equal(tg_cat_index_drop_source(ix, "e-town", NULL, NULL), 0);
  /* the next page, asked from 5000 before the drop ran */
  page = delete_page("e-town", 5001);
  struct tg_err err;
  tg_err_clear(&err);
  last = -1;
  assert_int_equal(tg_cat_index_apply_from(ix, "e-town", 5000, page, &last, NULL, &err),
                   TG_ECONFLICT);
  assert_int_equal(last, 0);
  assert_non_null(strstr(err.msg, "asked from seq 5000"));
  assert_int_equal(tg_cat_index_last_seq(ix, "e-town", &last, NULL), 0);
  assert_int_equal(last, 0); /* nothing written */
  json_t *src = NULL;
  assert_int_equal(tg_cat_index_sources(ix, &src, NULL), 0);
  for (size_t i = 0; i < json_array_size(src); i++)
    assert_string_not_equal(json_string_value(json_object_get(json_array_get(src, i), "node")),
                            "e-town");
  json_decref(src);
  /* from the stored last seq it applies; tg_cat_index_apply does not check */
  assert_int_equal(tg_cat_index_apply_from(ix, "e-town", 0, page, &last, NULL, NULL), 0);
  assert_int_equal(last, 5001);
  json_decref(page);
  page = delete_page("e-town", 5002);
  assert_int_equal(tg_cat_index_apply_from(ix, "e-town", 5000, page, NULL, NULL, NULL),
                   TG_ECONFLICT);
  assert_int_equal(tg_cat_index_apply(ix, "e-town", page, &last, NULL, NULL), 0);
  assert_int_equal(last, 5002);
  json_decref(page);
}

/* A refused change's id is the peer's to choose: the refusal keeps at most
 * about 200 bytes of it, cut at a character boundary and marked. */
static void test_long_refused_id(void **state) {
  (void)state;
  const size_t n = 50000; /* "é" is two bytes: 100 KB */
  const char *prefix = "urn:tsunagu:a-city:dataset:";
  char *id = malloc(strlen(prefix) + 2 * n + 1);
  assert_non_null(id);
  strcpy(id, prefix);
  char *q = id + strlen(prefix);
  for (size_t i = 0; i < n; i++, q += 2)
    memcpy(q, "\xc3\xa9", 2);
  *q = '\0';
  int64_t last = 0;
  assert_int_equal(tg_cat_index_last_seq(ix, "a-city", &last, NULL), 0);
  json_t *page = json_pack("{s:[{s:I, s:s, s:s, s:I}], s:I, s:b}", "changes", "seq",
                           (json_int_t)(last + 1), "op", "delete", "id", id, "version",
                           (json_int_t)1, "last_seq", (json_int_t)(last + 1), "more", 0);
  free(id);
  assert_non_null(page);
  json_t *refused = NULL;
  assert_int_equal(tg_cat_index_apply(ix, "a-city", page, NULL, &refused, NULL), 0);
  json_decref(page);
  assert_int_equal(json_array_size(refused), 1);
  const char *got = json_string_value(json_object_get(json_array_get(refused, 0), "id"));
  assert_non_null(got); /* jansson took it: still UTF-8 */
  assert_true(strlen(got) <= 203);
  assert_int_equal(strncmp(got, prefix, strlen(prefix)), 0);
  assert_string_equal(got + strlen(got) - 3, "\xe2\x80\xa6");
  assert_int_equal(strncmp(got + strlen(got) - 5, "\xc3\xa9", 2), 0); /* a whole "é" last */
  json_decref(refused);
  json_t *src = NULL;
  int found = 0;
  assert_int_equal(tg_cat_index_sources(ix, &src, NULL), 0);
  for (size_t i = 0; i < json_array_size(src); i++) {
    json_t *s = json_array_get(src, i);
    if (strcmp(json_string_value(json_object_get(s, "node")), "a-city") != 0)
      continue;
    found = 1;
    char *lr = json_dumps(json_object_get(s, "last_refused"), JSON_COMPACT);
    assert_non_null(strstr(lr, "\xe2\x80\xa6"));
    assert_true(strlen(lr) < 600);
    free(lr);
  }
  assert_true(found);
  json_decref(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apply),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_drop),
      cmocka_unit_test(test_feed_for_viewer),
      cmocka_unit_test(test_canonical_shape),
      cmocka_unit_test(test_since),
      cmocka_unit_test(test_long_refused_id),
      cmocka_unit_test(test_raw_text),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
