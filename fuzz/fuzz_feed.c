/* fuzz_feed: untrusted bytes from peers into the two readers of other
 * nodes' catalog answers: a change feed's pages applied to the harvested
 * index (tg_cat_index_apply) and peers' search answers merged into one page
 * (tg_cat_merge). The first byte picks the case: even, feed pages (a page
 * object, or an array of pages applied in order, as peer "p" of node
 * "h"); odd, merge input (an array of {"source", "answer"}); 2 mod 4, a
 * page's text applied twice, once as a tree and once prepared with its
 * text (datasets stored as their bytes came), into two indexes that must
 * end the same (the same outcome, the same documents). Checks: the
 * index never holds a dataset outside p's id space, a refused page writes
 * nothing, last_seq only grows; a merged page is at most its limit, with
 * no dataset twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cat.h"
#include "tg_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SOURCE "p"
#define MAX_PAGES 8
#define MAX_ANSWERS 16

static sqlite3 *db;
static struct tg_cat_store *ix;

static int64_t count_rows(const char *where) {
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  char sql[200];
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM cat_dataset%s", where);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static void feed_case(const json_t *in) {
  /* A fresh index for every input: no state carried between them. */
  if (tg_db_open(":memory:", 1, &db, NULL) != 0 || tg_cat_index_open(db, "h", &ix, NULL) != 0)
    abort();
  size_t n = json_is_array(in) ? json_array_size(in) : 1;
  for (size_t i = 0; i < n && i < MAX_PAGES; i++) {
    const json_t *page = json_is_array(in) ? json_array_get(in, i) : in;
    int64_t before = 0, after = 0, rows = count_rows("");
    json_t *refused = NULL;
    if (tg_cat_index_last_seq(ix, SOURCE, &before, NULL) != 0)
      abort();
    int rc = tg_cat_index_apply(ix, SOURCE, page, NULL, &refused, NULL);
    if (tg_cat_index_last_seq(ix, SOURCE, &after, NULL) != 0)
      abort();
    if (rc != 0 && (after != before || count_rows("") != rows))
      abort(); /* a refused page writes nothing */
    if (rc == 0 && (after < before || !json_is_array(refused)))
      abort(); /* the feed only goes forward; refusals are listed */
    json_decref(refused);
  }
  /* Only p's own ids: urn:tsunagu:p:dataset:<local>. */
  if (count_rows(" WHERE id NOT LIKE 'urn:tsunagu:" SOURCE ":dataset:_%'") != 0)
    abort();
  tg_cat_store_free(ix);
  tg_db_close(db);
  ix = NULL;
  db = NULL;
}

/* The documents of IX's live datasets, by id (a new object). */
static json_t *docs_of(sqlite3 *d) {
  json_t *out = json_object();
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(d, "SELECT id, doc FROM cat_dataset WHERE deleted = 0", -1, &st, NULL) !=
      SQLITE_OK)
    abort();
  while (sqlite3_step(st) == SQLITE_ROW) {
    json_t *doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
    if (doc == NULL)
      abort(); /* stored text that does not parse */
    json_object_set_new(out, (const char *)sqlite3_column_text(st, 0), doc);
  }
  sqlite3_finalize(st);
  return out;
}

static void text_case(const char *t, size_t n) {
  json_t *page = json_loadb(t, n, JSON_REJECT_DUPLICATES, NULL);
  if (page == NULL)
    return;
  sqlite3 *d1 = NULL, *d2 = NULL;
  struct tg_cat_store *x1 = NULL, *x2 = NULL;
  if (tg_db_open(":memory:", 1, &d1, NULL) != 0 || tg_cat_index_open(d1, "h", &x1, NULL) != 0 ||
      tg_db_open(":memory:", 1, &d2, NULL) != 0 || tg_cat_index_open(d2, "h", &x2, NULL) != 0)
    abort();
  int rc1 = tg_cat_index_apply(x1, SOURCE, page, NULL, NULL, NULL);
  struct tg_cat_index_page *pp = NULL;
  int rc2 = tg_cat_index_prepare(SOURCE, page, t, n, &pp, NULL);
  if (rc2 == 0)
    rc2 = tg_cat_index_apply_page(x2, -1, pp, NULL, NULL, NULL);
  tg_cat_index_page_free(pp);
  if (rc1 != rc2)
    abort();
  json_t *a = docs_of(d1), *b = docs_of(d2);
  if (!json_equal(a, b))
    abort(); /* the bytes as they came hold what the tree holds */
  json_decref(a);
  json_decref(b);
  tg_cat_store_free(x1);
  tg_cat_store_free(x2);
  tg_db_close(d1);
  tg_db_close(d2);
  json_decref(page);
}

static void merge_case(const json_t *in) {
  struct tg_cat_merge_in m[MAX_ANSWERS];
  size_t n = 0;
  for (size_t i = 0; i < json_array_size(in) && n < MAX_ANSWERS; i++) {
    const json_t *a = json_array_get(in, i);
    m[n].source = json_string_value(json_object_get(a, "source"));
    m[n].answer = json_object_get(a, "answer");
    if (m[n].source != NULL)
      n++;
  }
  static const enum tg_cat_sort sorts[] = {TG_CAT_SORT_RELEVANCE, TG_CAT_SORT_MODIFIED,
                                           TG_CAT_SORT_TITLE};
  for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
    json_t *out = NULL;
    if (tg_cat_merge(m, n, sorts[s], 1, 5, &out, NULL) != 0)
      continue;
    const json_t *items = json_object_get(out, "items");
    if (!json_is_array(items) || json_array_size(items) > 5)
      abort();
    for (size_t i = 0; i < json_array_size(items); i++)
      for (size_t k = i + 1; k < json_array_size(items); k++) {
        const char *a = json_string_value(json_object_get(json_array_get(items, i), "id"));
        const char *b = json_string_value(json_object_get(json_array_get(items, k), "id"));
        if (a != NULL && b != NULL && strcmp(a, b) == 0)
          abort(); /* one dataset once */
      }
    json_decref(out);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1 << 20)
    return 0;
  if (data[0] % 4 == 2) {
    text_case((const char *)data + 1, size - 1);
    return 0;
  }
  json_t *in = json_loadb((const char *)data + 1, size - 1, 0, NULL);
  if (in == NULL)
    return 0;
  if (data[0] % 2 == 0)
    feed_case(in);
  else if (json_is_array(in))
    merge_case(in);
  json_decref(in);
  return 0;
}
