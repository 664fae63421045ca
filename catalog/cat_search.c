/* cat_search: local catalog search: the compiled query runs on FTS5 with
 * bm25 (title over keywords over description), filters on the indexed facet
 * table and columns, stable paging, facet counts and highlighted snippets. */
#include "cat_int.h"
#include "cat_store.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FACET_CAP 1000        /* facets count at most this many matches */
#define COUNT_CAP 10000       /* totals are exact up to this */
#define RANK_CANDIDATES 1000  /* relevance ranks at most the newest this many matches */
#define FACET_TOP 20
#define SNIPPET_CP 160

/* Bound parameters, in the order the SQL text refers to them. */
struct binds {
  const char *text[12];
  double num[12];
  int64_t i64[12];
  char kind[12]; /* 't', 'd', 'i' */
  int n;
};

static int add_text(struct binds *b, const char *s) {
  b->kind[b->n] = 't';
  b->text[b->n] = s;
  return ++b->n;
}
static int add_num(struct binds *b, double v) {
  b->kind[b->n] = 'd';
  b->num[b->n] = v;
  return ++b->n;
}
static int add_int(struct binds *b, int64_t v) {
  b->kind[b->n] = 'i';
  b->i64[b->n] = v;
  return ++b->n;
}

static void bind_all(sqlite3_stmt *st, const struct binds *b) {
  for (int i = 0; i < b->n; i++) {
    if (b->kind[i] == 't')
      sqlite3_bind_text(st, i + 1, b->text[i], -1, SQLITE_STATIC);
    else if (b->kind[i] == 'd')
      sqlite3_bind_double(st, i + 1, b->num[i]);
    else
      sqlite3_bind_int64(st, i + 1, b->i64[i]);
  }
}

/* Builds "FROM ... WHERE ..." for query Q into SQL, with its parameters. */
static int build_from(struct tg_buf *sql, struct binds *b, const struct tg_cat_query *q,
                      const char *match, const char *exclude, const char *keyword) {
  int rc = 0;
  if (match != NULL) {
    rc |= tg_buf_printf(sql,
                        /* CROSS JOIN keeps FTS5 as the outer loop: the other
                         * order would run the MATCH once per dataset row. */
                        " FROM cat_fts CROSS JOIN cat_dataset d ON d.rid = cat_fts.rowid"
                        " WHERE cat_fts MATCH ?%d AND d.deleted = 0",
                        add_text(b, match));
  } else {
    rc |= tg_buf_puts(sql, " FROM cat_dataset d WHERE d.deleted = 0");
  }
  if (exclude != NULL)
    rc |= tg_buf_printf(sql,
                        " AND d.rid NOT IN (SELECT rowid FROM cat_fts WHERE cat_fts MATCH ?%d)",
                        add_text(b, exclude));
  if (q->theme != NULL)
    rc |= tg_buf_printf(sql,
                        " AND EXISTS (SELECT 1 FROM cat_facet f WHERE f.kind = 'theme'"
                        " AND f.value = ?%d AND f.rid = d.rid)",
                        add_text(b, q->theme));
  if (keyword != NULL)
    rc |= tg_buf_printf(sql,
                        " AND EXISTS (SELECT 1 FROM cat_facet f WHERE f.kind = 'keyword'"
                        " AND f.value = ?%d AND f.rid = d.rid)",
                        add_text(b, keyword));
  if (q->publisher != NULL) {
    int p = add_text(b, q->publisher);
    rc |= tg_buf_printf(sql,
                        " AND (EXISTS (SELECT 1 FROM cat_facet f WHERE f.kind = 'publisher'"
                        " AND f.value = ?%d AND f.rid = d.rid) OR EXISTS (SELECT 1 FROM"
                        " cat_facet f WHERE f.kind = 'publisher_id' AND f.value = ?%d"
                        " AND f.rid = d.rid))",
                        p, p);
  }
  if (q->spatial != NULL)
    rc |= tg_buf_printf(sql,
                        " AND EXISTS (SELECT 1 FROM cat_facet f WHERE f.kind = 'spatial'"
                        " AND f.value = ?%d AND f.rid = d.rid)",
                        add_text(b, q->spatial));
  if (q->has_bbox) {
    int a = add_num(b, q->bbox[0]), c = add_num(b, q->bbox[1]);
    int e = add_num(b, q->bbox[2]), g = add_num(b, q->bbox[3]);
    rc |= tg_buf_printf(sql,
                        " AND d.minx <= ?%d AND d.maxx >= ?%d AND d.miny <= ?%d"
                        " AND d.maxy >= ?%d",
                        e, a, g, c);
  }
  if (q->modified_since > 0)
    rc |= tg_buf_printf(sql, " AND d.dmod >= ?%d", add_int(b, q->modified_since));
  return rc ? TG_ENOMEM : 0;
}

/* Counts matches up to COUNT_CAP (a count over a huge match set would cost
 * as much as the search itself); *TOTAL is then COUNT_CAP + 1. */
static int count_total(sqlite3 *db, const char *from, const struct binds *b, int64_t *total) {
  struct tg_buf sql;
  sqlite3_stmt *st = NULL;
  tg_buf_init(&sql);
  int rc = tg_buf_printf(&sql, "SELECT count(*) FROM (SELECT 1%s LIMIT %d)", from, COUNT_CAP + 1)
               ? TG_ENOMEM
               : 0;
  if (rc == 0 && sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK)
    rc = TG_EDB;
  if (rc == 0) {
    bind_all(st, b);
    if (sqlite3_step(st) == SQLITE_ROW)
      *total = sqlite3_column_int64(st, 0);
    else
      rc = TG_EDB;
  }
  sqlite3_finalize(st);
  tg_buf_close(&sql);
  return rc;
}

/* The rowid of the RANK_CANDIDATES-th newest match of MATCH (0 if fewer). */
static int64_t rank_floor(sqlite3 *db, const char *match) {
  sqlite3_stmt *st = NULL;
  int64_t floor = 0;
  if (sqlite3_prepare_v2(db,
                         "SELECT rowid FROM cat_fts WHERE cat_fts MATCH ?1 ORDER BY rowid DESC"
                         " LIMIT 1 OFFSET ?2",
                         -1, &st, NULL) != SQLITE_OK)
    return 0;
  sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, RANK_CANDIDATES - 1);
  if (sqlite3_step(st) == SQLITE_ROW)
    floor = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return floor;
}

static int facets(sqlite3 *db, const char *from, const struct binds *b, json_t *out,
                  const char *ridcol) {
  struct tg_buf sql;
  sqlite3_stmt *st = NULL;
  tg_buf_init(&sql);
  int rc = tg_buf_printf(&sql,
                         "WITH m AS (SELECT %s AS rid%s LIMIT %d)"
                         " SELECT f.kind, f.value, count(*) AS n FROM m"
                         " JOIN cat_facet f ON f.rid = m.rid"
                         " WHERE f.kind IN ('theme', 'publisher', 'format', 'keyword')"
                         " GROUP BY f.kind, f.value ORDER BY f.kind, n DESC, f.value",
                         ridcol, from, FACET_CAP)
               ? TG_ENOMEM
               : 0;
  if (rc == 0 && sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK)
    rc = TG_EDB;
  static const char *const kinds[] = {"theme", "publisher", "format", "keyword"};
  for (size_t i = 0; i < 4; i++)
    json_object_set_new(out, kinds[i], json_array());
  if (rc == 0) {
    bind_all(st, b);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      json_t *arr = json_object_get(out, (const char *)sqlite3_column_text(st, 0));
      if (arr == NULL || json_array_size(arr) >= FACET_TOP)
        continue;
      json_array_append_new(arr, json_pack("{s:s, s:I}", "value",
                                           (const char *)sqlite3_column_text(st, 1), "count",
                                           (json_int_t)sqlite3_column_int64(st, 2)));
    }
    if (step != SQLITE_DONE)
      rc = TG_EDB;
  }
  sqlite3_finalize(st);
  tg_buf_close(&sql);
  return rc;
}

static const char *lit_text(const json_t *j) {
  return json_is_string(j) ? json_string_value(j) : json_string_value(json_object_get(j, "@value"));
}

/* Highlights the value of KEY in DOC that contains a match (else the first). */
static json_t *highlight(const json_t *doc, const char *key, const char *words, size_t nwords) {
  const json_t *v = json_object_get(doc, key);
  size_t n = json_is_array(v) ? json_array_size(v) : v ? 1 : 0;
  json_t *best = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *t = lit_text(json_is_array(v) ? json_array_get(v, i) : v);
    if (t == NULL)
      continue;
    struct tg_buf b;
    tg_buf_init(&b);
    if (tg__cat_highlight(&b, t, words, nwords, SNIPPET_CP) == 0 && b.data != NULL) {
      int hit = strstr(b.data, "<mark>") != NULL;
      if (best == NULL || hit) {
        json_decref(best);
        best = json_string(b.data);
      }
      tg_buf_close(&b);
      if (hit)
        break;
    } else {
      tg_buf_close(&b);
    }
  }
  return best;
}

static const char *order_by(const struct tg_cat_query *q, int has_match) {
  switch (q->sort) {
  case TG_CAT_SORT_MODIFIED: return " ORDER BY d.dmod DESC, d.rid";
  case TG_CAT_SORT_TITLE: return " ORDER BY d.title_key, d.rid";
  default: return has_match ? " ORDER BY score, d.rid" : " ORDER BY d.dmod DESC, d.rid";
  }
}

/* Appends one result row to ITEMS. */
static void add_item(sqlite3_stmt *st, const char *words, size_t nwords, json_t *items) {
  json_t *doc = tg__cat_load_view((const char *)sqlite3_column_text(st, 2), TG_CAT_VIEW_PUBLIC);
  if (doc == NULL)
    return;
  json_t *hl = json_object();
  if (nwords > 0) {
    json_t *t = highlight(doc, "dct:title", words, nwords);
    json_t *d = highlight(doc, "dct:description", words, nwords);
    if (t)
      json_object_set_new(hl, "title", t);
    if (d)
      json_object_set_new(hl, "description", d);
  }
  double score = -sqlite3_column_double(st, 3);
  json_array_append_new(
      items, json_pack("{s:s, s:I, s:f, s:o, s:o}", "id", (const char *)sqlite3_column_text(st, 0),
                       "version", (json_int_t)sqlite3_column_int64(st, 1), "score",
                       round(score * 1e4) / 1e4 + 0.0, "highlight", hl, "dataset", doc));
}

/* Runs SQL (a page query) and adds its rows. */
static int run_page(struct tg_cat_store *s, const char *sql, const struct binds *b,
                    const char *words, size_t nwords, json_t *items, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  bind_all(st, b);
  int step, rc = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW)
    add_item(st, words, nwords, items);
  if (step != SQLITE_DONE)
    rc = tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  sqlite3_finalize(st);
  return rc;
}

static int fetch_items(struct tg_cat_store *s, const struct tg_cat_query *q, const char *from,
                       const struct binds *b0, int has_match, const char *words, size_t nwords,
                       int64_t limit, json_t *items, struct tg_err *err) {
  struct binds b = *b0;
  struct tg_buf sql;
  tg_buf_init(&sql);
  int lim = add_int(&b, limit), off = add_int(&b, q->offset);
  int rc = tg_buf_printf(&sql, "SELECT d.id, d.version, d.doc, %s AS score%s%s LIMIT ?%d OFFSET ?%d",
                         has_match ? "bm25(cat_fts, 5.0, 1.0, 3.0)" : "0.0", from,
                         order_by(q, has_match), lim, off)
               ? TG_ENOMEM
               : 0;
  if (rc == 0)
    rc = run_page(s, sql.data, &b, words, nwords, items, err);
  tg_buf_close(&sql);
  return rc;
}

/* The common case, words and nothing else: rank inside FTS5 alone (over the
 * newest RANK_CANDIDATES matches at most), then join only the page's rows. */
static int fetch_ranked(struct tg_cat_store *s, const struct tg_cat_query *q, const char *match,
                        int64_t floor, const char *words, size_t nwords, int64_t limit,
                        json_t *items, struct tg_err *err) {
  struct binds b;
  memset(&b, 0, sizeof(b));
  add_text(&b, match);
  add_int(&b, floor);
  add_int(&b, limit);
  add_int(&b, q->offset);
  return run_page(s,
                  "SELECT d.id, d.version, d.doc, m.score FROM"
                  " (SELECT rowid AS rid, rank AS score FROM cat_fts WHERE cat_fts MATCH ?1"
                  "  AND rowid >= ?2 ORDER BY rank, rowid LIMIT ?3 OFFSET ?4) m"
                  " CROSS JOIN cat_dataset d ON d.rid = m.rid ORDER BY m.score, m.rid",
                  &b, words, nwords, items, err);
}

int tg_cat_search(struct tg_cat_store *s, const struct tg_cat_query *q, json_t **out,
                  struct tg_err *err) {
  char *match = NULL, *exclude = NULL, *keyword = NULL;
  struct tg_buf from, words;
  struct binds b;
  size_t nwords = 0;
  int64_t total = 0, limit = q->limit == 0 ? 20 : q->limit;
  *out = NULL;
  if (limit < 1 || limit > 100 || q->offset < 0)
    return tg_err_set(err, TG_EINVAL, "limit must be 1-100 and offset >= 0");
  if (q->has_bbox && !(q->bbox[0] <= q->bbox[2] && q->bbox[1] <= q->bbox[3]))
    return tg_err_set(err, TG_EINVAL, "bbox must be min lon, min lat, max lon, max lat");
  const char *qt = q->q ? q->q : "";
  int rc = tg_cat_query_compile(qt, strlen(qt), &match, &exclude, err);
  if (rc)
    return rc;
  if (match != NULL && exclude != NULL) {
    /* FTS5 excludes inside the index: far cheaper than NOT IN over rows. */
    struct tg_buf m;
    tg_buf_init(&m);
    if (tg_buf_printf(&m, "(%s) NOT (%s)", match, exclude) == 0) {
      free(match);
      free(exclude);
      exclude = NULL;
      match = tg_buf_take(&m);
    }
    tg_buf_close(&m);
    if (match == NULL) {
      free(exclude);
      return tg_err_set(err, TG_ENOMEM, "out of memory");
    }
  }
  memset(&b, 0, sizeof(b));
  tg_buf_init(&from);
  tg_buf_init(&words);
  if (q->keyword != NULL && (keyword = tg__cat_norm_keyword(q->keyword)) == NULL)
    rc = TG_ENOMEM;
  if (rc == 0)
    rc = build_from(&from, &b, q, match, exclude, keyword);
  if (rc == 0)
    rc = tg__cat_query_words(qt, &words, &nwords);
  json_t *res = json_object(), *items = json_array(), *fac = json_object();
  if (rc == 0 && (res == NULL || items == NULL || fac == NULL))
    rc = TG_ENOMEM;
  int fast = match != NULL && exclude == NULL && q->sort == TG_CAT_SORT_RELEVANCE &&
             q->theme == NULL && keyword == NULL && q->publisher == NULL && q->spatial == NULL &&
             !q->has_bbox && q->modified_since <= 0;
  int64_t floor = 0;
  if (rc == 0 && count_total(s->db, fast ? " FROM cat_fts WHERE cat_fts MATCH ?1" : from.data, &b,
                             &total) != 0)
    rc = tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  if (rc == 0 && fast && total > RANK_CANDIDATES)
    floor = rank_floor(s->db, match);
  if (rc == 0 && fast)
    rc = fetch_ranked(s, q, match, floor, words.data, nwords, limit, items, err);
  else if (rc == 0)
    rc = fetch_items(s, q, from.data, &b, match != NULL, words.data, nwords, limit, items, err);
  /* Facet rows exist only for live datasets, so plain word queries count
   * them straight from the index without joining the dataset rows. */
  if (rc == 0 && q->facets &&
      facets(s->db, fast ? " FROM cat_fts WHERE cat_fts MATCH ?1 ORDER BY rowid DESC" : from.data,
             &b, fac, fast ? "rowid" : "d.rid") != 0)
    rc = tg_err_set(err, TG_EDB, "catalog facets: %s", sqlite3_errmsg(s->db));
  if (rc == 0) {
    json_object_set_new(res, "total", json_integer(total > COUNT_CAP ? COUNT_CAP : total));
    json_object_set_new(res, "total_exact", json_boolean(total <= COUNT_CAP));
    json_object_set_new(res, "ranked_partial", json_boolean(floor > 0));
    json_object_set_new(res, "offset", json_integer(q->offset));
    json_object_set_new(res, "limit", json_integer(limit));
    json_object_set(res, "items", items);
    if (q->facets) {
      json_object_set(res, "facets", fac);
      json_object_set_new(res, "facets_partial", json_boolean(total > FACET_CAP));
    }
    *out = res;
    res = NULL;
  } else if (rc == TG_ENOMEM) {
    tg_err_set(err, rc, "out of memory");
  }
  json_decref(res);
  json_decref(items);
  json_decref(fac);
  free(match);
  free(exclude);
  free(keyword);
  tg_buf_close(&from);
  tg_buf_close(&words);
  return rc;
}
