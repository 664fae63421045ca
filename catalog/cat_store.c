/* cat_store: the dataset store on SQLite: schema migrations for component
 * "catalog", versioned writes (If-Match), one durable transaction per write,
 * the change feed with tombstones, and the search index rows kept in step. */
#include "cat_int.h"
#include "cat_plain.h"
#include "cat_store.h"
#include "tg_buf.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_json_scan.h"
#include "tg_log.h"
#include "tg_text.h"
#include "tg_util.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct tg_db_migration migrations[] = {
    {1,
     "CREATE TABLE cat_dataset("
     " rid INTEGER PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " local_id TEXT NOT NULL,"
     " version INTEGER NOT NULL,"
     " seq INTEGER NOT NULL UNIQUE,"
     " deleted INTEGER NOT NULL DEFAULT 0,"
     " doc TEXT," /* owner view without @context, NULL once deleted */
     " created INTEGER NOT NULL,"
     " modified INTEGER NOT NULL,"
     " dmod INTEGER NOT NULL," /* dct:modified (or the record's time), epoch s */
     " title_key TEXT NOT NULL DEFAULT '',"
     " minx REAL, miny REAL, maxx REAL, maxy REAL);"
     "CREATE INDEX cat_dataset_dmod ON cat_dataset(deleted, dmod);"
     "CREATE INDEX cat_dataset_title ON cat_dataset(deleted, title_key);"
     "CREATE TABLE cat_facet(kind TEXT NOT NULL, value TEXT NOT NULL, rid INTEGER NOT NULL,"
     " PRIMARY KEY(kind, value, rid)) WITHOUT ROWID;"
     "CREATE INDEX cat_facet_rid ON cat_facet(rid);"
     "CREATE VIRTUAL TABLE cat_fts USING fts5(title, body, kw, content='',"
     " tokenize='unicode61 remove_diacritics 0');"
     "INSERT INTO cat_fts(cat_fts, rank) VALUES('rank', 'bm25(5.0, 1.0, 3.0)');"},
    /* The Latin terms of the index, so a search word with one completion can
     * run as that exact term rather than an FTS5 prefix scan (which merges
     * the whole doclist of every completion). A superset: never pruned. */
    {2,
     "CREATE TABLE cat_term(term TEXT PRIMARY KEY) WITHOUT ROWID;"
     "CREATE VIRTUAL TABLE temp.cat_term_v USING fts5vocab(main, cat_fts, row);"
     "INSERT OR IGNORE INTO cat_term SELECT term FROM temp.cat_term_v"
     " WHERE term >= '0' AND term < '{';"
     "DROP TABLE temp.cat_term_v;"},
    /* Local ids that differ only in letter case would name two datasets a
     * reader cannot tell apart: new ones are checked against this index. */
    {3, "CREATE INDEX IF NOT EXISTS cat_dataset_local_nocase"
        " ON cat_dataset(local_id COLLATE NOCASE);"},
};

/* The version of the folded search index: the folding of common/tg_text and
 * the tokenising of cat_text.c give cat_fts's terms, cat_term, title_key and
 * the keyword facets. Bump it when either changes what a text folds or
 * tokenises to: every store then rebuilds those on its next open. It is kept
 * as the version of component CAT_FOLD_COMPONENT in tg_schema; stores from
 * before it existed (version 0) were indexed with the old ASCII-only folding.
 * 1: utf8proc NFKC_Casefold plus the Japanese specifics (tg_text_fold). */
#define CAT_FOLD_VERSION 1
#define CAT_FOLD_COMPONENT "catalog.fold"

static int fold_check(struct tg_cat_store *s, struct tg_err *err);
static void wfree(struct tg_cat_store *s);

int tg_cat_store_open(sqlite3 *db, const char *node_id, struct tg_cat_store **out,
                      struct tg_err *err) {
  if (db == NULL || node_id == NULL || !tg_node_id_valid(node_id))
    return tg_err_set(err, TG_EINVAL, "catalog: invalid node id");
  int rc = tg_db_migrate(db, "catalog", migrations,
                         (int)(sizeof(migrations) / sizeof(migrations[0])), err);
  if (rc)
    return rc;
  /* Search reads many index pages: map the file instead of copying each page
   * through read(), and give this connection a larger page cache. */
  tg_db_exec(db, "PRAGMA mmap_size = 4294967296; PRAGMA cache_size = -65536;", NULL);
  struct tg_cat_store *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  s->db = db;
  snprintf(s->node_id, sizeof(s->node_id), "%s", node_id);
  if ((rc = fold_check(s, err)) != 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void free_schemes(struct tg_cat_store *s) {
  for (size_t i = 0; i < s->nschemes; i++)
    free(s->schemes[i]);
  free(s->schemes);
  s->schemes = NULL;
  s->nschemes = 0;
}

void tg_cat_store_free(struct tg_cat_store *s) {
  if (s == NULL)
    return;
  tg_cat_batch_rollback(s);
  free_schemes(s);
  tg__cat_search_cache_free(s);
  wfree(s);
  free(s->hv_times);
  free(s);
}

const char *tg_cat_store_node_id(const struct tg_cat_store *s) { return s->node_id; }

int tg_cat_store_set_theme_schemes(struct tg_cat_store *s, const char *const *prefixes, size_t n) {
  free_schemes(s);
  if (n == 0)
    return 0;
  s->schemes = calloc(n, sizeof(*s->schemes));
  if (s->schemes == NULL)
    return TG_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if ((s->schemes[i] = strdup(prefixes[i])) == NULL) {
      s->nschemes = i;
      free_schemes(s);
      return TG_ENOMEM;
    }
  }
  s->nschemes = n;
  return 0;
}

void tg_cat_write_clear(struct tg_cat_write *w) {
  if (w == NULL)
    return;
  free(w->id);
  memset(w, 0, sizeof(*w));
}

/* ---- helpers ---- */

json_t *tg__cat_load_doc(const char *text) {
  json_t *d = text ? json_loads(text, 0, NULL) : NULL;
  if (d != NULL) /* stored without the fixed @context: it is the same for every row */
    json_object_set_new(d, "@context", tg_cat_context());
  return d;
}

/* 1 if stored TEXT may hold private terms: a quoted string (a key, or a
 * value that looks like one) starting with tsunagu: or its IRI; a value
 * such as "urn:tsunagu:a:dataset:x" does not match. */
static int private_terms(const char *text) {
  return strstr(text, "\"tsunagu:") != NULL || strstr(text, "\"" NS_TG) != NULL;
}

json_t *tg__cat_load_view(const char *text, enum tg_cat_view view) {
  json_t *d = tg__cat_load_doc(text);
  if (d == NULL || view == TG_CAT_VIEW_OWNER)
    return d;
  /* Without private terms the public view is the document itself, without
   * a deep copy. Most datasets have none; a search page builds 20 views. */
  if (text != NULL && !private_terms(text))
    return d;
  /* One stored copy (the owner's); the public view is derived on read. */
  json_t *pub = tg_cat_public_view(d);
  json_decref(d);
  return pub;
}

/* Serialises DOC for storage, leaving out its fixed @context. */
static char *dump_doc(const json_t *doc) {
  json_t *c = json_copy((json_t *)doc);
  if (c == NULL)
    return NULL;
  json_object_del(c, "@context");
  char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(c);
  return s;
}

static int db_err(struct tg_cat_store *s, struct tg_err *err) {
  return tg_err_set(err, TG_EDB, "catalog database: %s", sqlite3_errmsg(s->db));
}

static int prepare(struct tg_cat_store *s, const char *sql, sqlite3_stmt **st, struct tg_err *err) {
  if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
    return db_err(s, err);
  return 0;
}

/* The write path's statements, prepared once per store: a write prepares
 * six or more statements per dataset, which cost as much as running them. */
enum wst {
  W_TERM,
  W_FACET_DEL,
  W_FACET_ADD,
  W_CURRENT,
  W_NEXT_SEQ,
  W_UPDATE,
  W_INSERT,
  W_REMOVE,
  W_FTS_ADD,
  W_FTS_DEL,
  W_N
};
_Static_assert(W_N <= sizeof(((struct tg_cat_store *)0)->wst) / sizeof(sqlite3_stmt *),
               "tg_cat_store.wst is too small");

/* *ST = S's statement K (SQL), ready to bind; give it back with wput. */
static int wget(struct tg_cat_store *s, enum wst k, const char *sql, sqlite3_stmt **st,
                struct tg_err *err) {
  if (s->wst[k] == NULL &&
      sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->wst[k], NULL) != SQLITE_OK)
    return db_err(s, err);
  *st = s->wst[k];
  return 0;
}

/* Resets a statement from wget (ends its read, drops its bindings). */
static void wput(sqlite3_stmt *st) {
  if (st != NULL) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
}

static void wfree(struct tg_cat_store *s) {
  for (size_t i = 0; i < sizeof(s->wst) / sizeof(s->wst[0]); i++) {
    sqlite3_finalize(s->wst[i]);
    s->wst[i] = NULL;
  }
}

static int local_id_ok(const char *l) {
  size_t n = strlen(l);
  if (n == 0 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = l[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return 0;
  }
  return l[0] != '.';
}

int tg__cat_local_id_ok(const char *l) { return local_id_ok(l); }

/* Returns the local id if ID is urn:tsunagu:<this node>:dataset:<local>. */
static const char *our_local_id(const struct tg_cat_store *s, const char *id) {
  size_t n = strlen(s->node_id);
  if (strncmp(id, "urn:tsunagu:", 12) != 0 || strncmp(id + 12, s->node_id, n) != 0 ||
      strncmp(id + 12 + n, ":dataset:", 9) != 0)
    return NULL;
  const char *l = id + 12 + n + 9;
  return local_id_ok(l) ? l : NULL;
}

/* Why ID cannot be a new dataset of this node, into ERR: another node's id
 * (urn:tsunagu:<other>:dataset:<local>) or no dataset id at all. */
static int not_ours(const struct tg_cat_store *s, const char *id, struct tg_err *err) {
  const char *p = strncmp(id, "urn:tsunagu:", 12) == 0 ? id + 12 : NULL;
  const char *q = p ? strstr(p, ":dataset:") : NULL;
  char node[64];
  if (q != NULL && (size_t)(q - p) < sizeof(node)) {
    memcpy(node, p, (size_t)(q - p));
    node[q - p] = '\0';
    if (tg_node_id_valid(node) && strcmp(node, s->node_id) != 0 && local_id_ok(q + 9))
      return tg_err_set(err, TG_EPERM,
                        "%s is a dataset id of node %s: node %s creates only its own datasets",
                        id, node, s->node_id);
  }
  return tg_err_set(err, TG_EPERM,
                    "%s is not a dataset id of node %s: expected urn:tsunagu:%s:dataset:<local-id> "
                    "(1-64 of A-Z a-z 0-9 . _ -)",
                    id, s->node_id, s->node_id);
}

/* Refuses (TG_EEXIST) a new dataset ID whose local id LOCAL differs only in
 * letter case from a live dataset's: the two would be told apart by case
 * alone, and a generated id in capitals would pose as the original. */
static int case_twin(struct tg_cat_store *s, const char *id, const char *local,
                     struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s,
                   /* "+deleted": without statistics the planner would walk
                    * every live dataset through the (deleted, dmod) index,
                    * which made each create cost O(n) (131 creates/s at
                    * 20,000 datasets); this way it is one index probe. */
                   "SELECT id FROM cat_dataset WHERE local_id = ?1 COLLATE NOCASE"
                   " AND +deleted = 0 AND id <> ?2 LIMIT 1",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, local, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW)
    rc = tg_err_set(err, TG_EEXIST,
                    "dataset %s already exists; %s differs from it only in letter case",
                    (const char *)sqlite3_column_text(st, 0), id);
  else if (step != SQLITE_DONE)
    rc = db_err(s, err);
  sqlite3_finalize(st);
  return rc;
}

static char *make_id(const struct tg_cat_store *s, const char *local) {
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_buf_printf(&b, "urn:tsunagu:%s:dataset:%s", s->node_id, local)) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

/* Text of a canonical literal (string or {"@value"}). */
static const char *lit_text(const json_t *j) {
  return json_is_string(j) ? json_string_value(j) : json_string_value(json_object_get(j, "@value"));
}

static size_t count(const json_t *j) { return j == NULL ? 0 : json_is_array(j) ? json_array_size(j) : 1; }
static const json_t *nth(const json_t *j, size_t i) {
  return json_is_array(j) ? json_array_get(j, i) : i == 0 ? j : NULL;
}

/* Appends the index terms of every literal of property KEY of NODE. */
static int terms_of(struct tg_buf *b, const json_t *node, const char *key) {
  const json_t *v = json_object_get(node, key);
  int rc = 0;
  for (size_t i = 0; i < count(v) && rc == 0; i++) {
    const char *t = lit_text(nth(v, i));
    if (t != NULL)
      rc = tg__cat_index_terms(b, t, strlen(t));
  }
  return rc;
}

int tg__cat_doc_terms(const json_t *doc, struct tg_buf *title, struct tg_buf *body,
                      struct tg_buf *kw) {
  int rc = terms_of(title, doc, "dct:title");
  rc |= terms_of(body, doc, "dct:description");
  rc |= terms_of(kw, doc, "dcat:keyword");
  const json_t *pub = json_object_get(doc, "dct:publisher");
  rc |= terms_of(kw, pub, "foaf:name");
  const json_t *th = json_object_get(doc, "dcat:theme");
  for (size_t i = 0; i < count(th) && rc == 0; i++)
    rc = terms_of(kw, nth(th, i), "skos:prefLabel");
  /* FTS5 needs some text in every row; an empty string is fine. */
  rc |= tg_buf_puts(title, "");
  rc |= tg_buf_puts(body, "");
  rc |= tg_buf_puts(kw, "");
  return rc ? TG_ENOMEM : 0;
}

/* Normalised form of a keyword for facets and the keyword filter. */
char *tg__cat_norm_keyword(const char *s) {
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_text_fold_key(s, strlen(s), &b) != 0) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

/* Derived columns of a document. */
struct derived {
  int64_t dmod;
  char *title_key;
  double box[4];
};

static void derive(const json_t *doc, int64_t now, struct derived *d) {
  d->dmod = now;
  const char *m = lit_text(json_object_get(doc, "dct:modified"));
  int64_t t;
  if (m != NULL && tg_cat_parse_time(m, &t) == 0)
    d->dmod = t;
  /* Sort by the Japanese title when there is one, else the first. */
  const json_t *titles = json_object_get(doc, "dct:title");
  const char *title = lit_text(nth(titles, 0));
  for (size_t i = 0; i < count(titles); i++) {
    const char *l = json_string_value(json_object_get(nth(titles, i), "@language"));
    if (l != NULL && strncmp(l, "ja", 2) == 0) {
      title = lit_text(nth(titles, i));
      break;
    }
  }
  d->title_key = tg__cat_norm_keyword(title ? title : "");
  tg__cat_box_empty(d->box);
  const json_t *sp = json_object_get(doc, "dct:spatial");
  for (size_t i = 0; i < count(sp); i++) {
    static const char *const geo[] = {"dcat:bbox", "locn:geometry", "dcat:centroid"};
    for (size_t k = 0; k < 3; k++) {
      const char *w = lit_text(json_object_get(nth(sp, i), geo[k]));
      double b[4];
      tg__cat_box_empty(b);
      if (w != NULL && tg__cat_wkt_bbox(w, b) == 0) {
        d->box[0] = fmin(d->box[0], b[0]);
        d->box[1] = fmin(d->box[1], b[1]);
        d->box[2] = fmax(d->box[2], b[2]);
        d->box[3] = fmax(d->box[3], b[3]);
      }
    }
  }
}

/* ---- index maintenance (inside the write transaction) ---- */

static int is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* Records the terms of the space-separated index text T in cat_term: each
 * term that starts with an ASCII letter or digit, and each suffix that starts
 * with one right after a non-ASCII character (where FTS5's own tokenizer
 * might split), so every index token a Latin prefix can reach is listed. */
static int term_write(sqlite3_stmt *st, json_t *seen, const struct tg_buf *t) {
  if (t->data == NULL)
    return 0;
  const char *p = t->data, *end = t->data + t->len;
  while (p < end) {
    while (p < end && *p == ' ')
      p++;
    const char *w = p;
    while (p < end && *p != ' ')
      p++;
    for (const char *q = w; q < p; q++) {
      if (!is_alnum((unsigned char)*q) || (q > w && (unsigned char)q[-1] < 0x80))
        continue;
      char key[128];
      size_t kl = (size_t)(p - q);
      if (seen != NULL && kl < sizeof(key)) { /* written already in this transaction? */
        memcpy(key, q, kl);
        key[kl] = '\0';
        if (json_object_get(seen, key) != NULL)
          continue;
        json_object_set_new_nocheck(seen, key, json_true());
      }
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, q, (int)(p - q), SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE)
        return TG_EDB;
    }
  }
  return 0;
}

/* Writes (DEL: deletes) RID's cat_fts row of columns T, B and K, and
 * records the terms of a row written in cat_term. */
static int fts_put(struct tg_cat_store *s, int64_t rid, const struct tg_buf *tp,
                   const struct tg_buf *bp, const struct tg_buf *kp, int del, struct tg_err *err) {
  const struct tg_buf t = *tp, b = *bp, k = *kp;
  sqlite3_stmt *st = NULL;
  int rc = wget(s, del ? W_FTS_DEL : W_FTS_ADD,
              del ? "INSERT INTO cat_fts(cat_fts, rowid, title, body, kw) "
                    "VALUES('delete', ?1, ?2, ?3, ?4)"
                  : "INSERT INTO cat_fts(rowid, title, body, kw) VALUES(?1, ?2, ?3, ?4)",
              &st, err);
  if (rc == 0) {
    sqlite3_bind_int64(st, 1, rid);
    sqlite3_bind_text(st, 2, t.data, (int)t.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b.data, (int)b.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k.data, (int)k.len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_err(s, err);
  }
  wput(st);
  st = NULL;
  if (rc == 0 && !del) {
    rc = wget(s, W_TERM, "INSERT OR IGNORE INTO cat_term(term) VALUES(?1)", &st, err);
    json_t *seen = s->terms_seen;
    if (rc == 0 &&
        (term_write(st, seen, &t) || term_write(st, seen, &b) || term_write(st, seen, &k)))
      rc = db_err(s, err);
    wput(st);
  }
  return rc;
}

static int fts_write(struct tg_cat_store *s, int64_t rid, const json_t *doc, int del,
                     struct tg_err *err) {
  struct tg_buf t, b, k;
  tg_buf_init(&t);
  tg_buf_init(&b);
  tg_buf_init(&k);
  int rc = tg__cat_doc_terms(doc, &t, &b, &k);
  if (rc)
    rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  else
    rc = fts_put(s, rid, &t, &b, &k, del, err);
  tg_buf_close(&t);
  tg_buf_close(&b);
  tg_buf_close(&k);
  return rc;
}

/* Appends "KIND\0VALUE\0" to B (nothing for an empty VALUE). */
static int facet_add(struct tg_buf *b, const char *kind, const char *value) {
  if (value == NULL || *value == '\0')
    return 0;
  return tg_buf_append(b, kind, strlen(kind) + 1) || tg_buf_append(b, value, strlen(value) + 1)
             ? TG_ENOMEM
             : 0;
}

static const char *id_text(const json_t *j) { return json_string_value(json_object_get(j, "@id")); }

/* The facet rows of canonical document DOC, as "KIND\0VALUE\0" pairs
 * appended to B. 0 or TG_ENOMEM. */
static int facets_of(const json_t *doc, struct tg_buf *b) {
  int rc = 0;
  const json_t *v = json_object_get(doc, "dcat:theme");
  for (size_t i = 0; i < count(v) && rc == 0; i++)
    rc = facet_add(b, "theme", id_text(nth(v, i)));
  v = json_object_get(doc, "dcat:keyword");
  for (size_t i = 0; i < count(v) && rc == 0; i++) {
    char *k = lit_text(nth(v, i)) ? tg__cat_norm_keyword(lit_text(nth(v, i))) : NULL;
    rc = facet_add(b, "keyword", k);
    free(k);
  }
  const json_t *pub = json_object_get(doc, "dct:publisher");
  v = json_object_get(pub, "foaf:name");
  for (size_t i = 0; i < count(v) && rc == 0; i++)
    rc = facet_add(b, "publisher", lit_text(nth(v, i)));
  if (rc == 0)
    rc = facet_add(b, "publisher_id", id_text(pub));
  v = json_object_get(doc, "dct:spatial");
  for (size_t i = 0; i < count(v) && rc == 0; i++)
    rc = facet_add(b, "spatial", id_text(nth(v, i)));
  v = json_object_get(doc, "dcat:distribution");
  for (size_t i = 0; i < count(v) && rc == 0; i++) {
    const char *mt = id_text(json_object_get(nth(v, i), "dcat:mediaType"));
    static const char iana[] = "https://www.iana.org/assignments/media-types/";
    if (mt != NULL && strncmp(mt, iana, sizeof(iana) - 1) == 0)
      mt += sizeof(iana) - 1;
    rc = facet_add(b, "format", mt);
    if (rc == 0)
      rc = facet_add(b, "format", id_text(json_object_get(nth(v, i), "dct:format")));
  }
  return rc;
}

/* Replaces the facet rows of RID by the pairs F (facets_of; NULL: none).
 * FRESH: RID is a row inserted just now, which has none to delete (a
 * removed row's facets went with it). */
static int facets_write(struct tg_cat_store *s, int64_t rid, const struct tg_buf *f, int fresh,
                        struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (!fresh) {
    if ((rc = wget(s, W_FACET_DEL, "DELETE FROM cat_facet WHERE rid = ?1", &st, err)))
      return rc;
    sqlite3_bind_int64(st, 1, rid);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_err(s, err);
    wput(st);
  }
  if (rc || f == NULL || f->len == 0)
    return rc;
  if ((rc = wget(s, W_FACET_ADD,
                 "INSERT OR IGNORE INTO cat_facet(kind, value, rid) VALUES(?1, ?2, ?3)", &st, err)))
    return rc;
  for (const char *p = f->data, *end = f->data + f->len; p < end && rc == 0;) {
    const char *kind = p, *value = kind + strlen(kind) + 1;
    p = value + strlen(value) + 1;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rid);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_err(s, err);
  }
  wput(st);
  return rc;
}

/* ---- writes ---- */

struct current {
  int exists; /* a row (live or tombstone) */
  int live;
  int64_t rid, version;
  json_t *doc; /* owner view of the live row */
};

static int load_current(struct tg_cat_store *s, const char *id, struct current *c,
                        struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  memset(c, 0, sizeof(*c));
  int rc = wget(s, W_CURRENT, "SELECT rid, version, deleted, doc FROM cat_dataset WHERE id = ?1",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    c->exists = 1;
    c->rid = sqlite3_column_int64(st, 0);
    c->version = sqlite3_column_int64(st, 1);
    c->live = sqlite3_column_int(st, 2) == 0;
    const char *doc = (const char *)sqlite3_column_text(st, 3);
    if (c->live && doc != NULL) {
      c->doc = tg__cat_load_doc(doc);
      if (c->doc == NULL)
        rc = tg_err_set(err, TG_EDB, "catalog: stored document of %s is unreadable", id);
    }
  } else if (step != SQLITE_DONE) {
    rc = db_err(s, err);
  }
  wput(st);
  return rc;
}

static int next_seq(struct tg_cat_store *s, int64_t *seq, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = wget(s, W_NEXT_SEQ, "SELECT coalesce(max(seq), 0) + 1 FROM cat_dataset", &st, err);
  if (rc)
    return rc;
  if (sqlite3_step(st) == SQLITE_ROW)
    *seq = sqlite3_column_int64(st, 0);
  else
    rc = db_err(s, err);
  wput(st);
  return rc;
}

static void bind_box(sqlite3_stmt *st, int first, const double box[4]) {
  for (int i = 0; i < 4; i++) {
    if (isfinite(box[i]))
      sqlite3_bind_double(st, first + i, box[i]);
    else
      sqlite3_bind_null(st, first + i);
  }
}

int tg__cat_prep_doc(const json_t *doc, char *text, struct tg__cat_prep *p) {
  struct derived d;
  memset(p, 0, sizeof(*p));
  p->text = text ? text : dump_doc(doc);
  derive(doc, INT64_MIN, &d);
  p->dmod = d.dmod;
  p->title_key = d.title_key;
  memcpy(p->box, d.box, sizeof(p->box));
  if (p->text == NULL || p->title_key == NULL || tg__cat_doc_terms(doc, &p->t, &p->b, &p->k) ||
      facets_of(doc, &p->f)) {
    tg__cat_prep_free(p);
    return TG_ENOMEM;
  }
  return 0;
}

void tg__cat_prep_free(struct tg__cat_prep *p) {
  free(p->text);
  free(p->title_key);
  tg_buf_close(&p->t);
  tg_buf_close(&p->b);
  tg_buf_close(&p->k);
  tg_buf_close(&p->f);
  memset(p, 0, sizeof(*p));
}

/* Writes the document prepared as PREP as the new state of ID inside an
 * open transaction, at VERSION (< 0: the next one). */
static int store_doc_text(struct tg_cat_store *s, const char *id, const char *local,
                          const struct tg__cat_prep *prep, const struct current *cur,
                          int64_t version, struct tg_cat_write *w, struct tg_err *err) {
  int64_t now = tg_time_now(), seq = 0;
  int rc = next_seq(s, &seq, err);
  sqlite3_stmt *st = NULL;
  if (rc == 0)
    rc = wget(s, cur->exists ? W_UPDATE : W_INSERT,
              cur->exists
                  ? "UPDATE cat_dataset SET version = ?2, seq = ?3, deleted = 0, doc = ?4,"
                    " modified = ?6, dmod = ?7, title_key = ?8, minx = ?9,"
                    " miny = ?10, maxx = ?11, maxy = ?12 WHERE id = ?1"
                  : "INSERT INTO cat_dataset(id, version, seq, deleted, doc, created,"
                    " modified, dmod, title_key, minx, miny, maxx, maxy, local_id)"
                    " VALUES(?1, ?2, ?3, 0, ?4, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
              &st, err);
  if (version < 0)
    version = cur->exists ? cur->version + 1 : 1;
  if (rc == 0) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_text(st, 4, prep->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, prep->dmod == INT64_MIN ? now : prep->dmod);
    sqlite3_bind_text(st, 8, prep->title_key, -1, SQLITE_STATIC);
    bind_box(st, 9, prep->box);
    if (!cur->exists)
      sqlite3_bind_text(st, 13, local, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_err(s, err);
  }
  wput(st);
  int64_t rid = cur->exists ? cur->rid : sqlite3_last_insert_rowid(s->db);
  if (rc == 0 && cur->live && cur->doc != NULL)
    rc = fts_write(s, rid, cur->doc, 1, err);
  if (rc == 0)
    rc = fts_put(s, rid, &prep->t, &prep->b, &prep->k, 0, err);
  if (rc == 0)
    rc = facets_write(s, rid, &prep->f, !cur->exists, err);
  if (rc == 0 && w != NULL) {
    w->id = strdup(id);
    w->version = version;
    w->seq = seq;
    w->created = !cur->live;
    if (w->id == NULL)
      rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  return rc;
}

static int store_doc(struct tg_cat_store *s, const char *id, const char *local, json_t *doc,
                     const struct current *cur, int64_t version, struct tg_cat_write *w,
                     struct tg_err *err) {
  struct tg__cat_prep p;
  if (tg__cat_prep_doc(doc, NULL, &p) != 0)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int rc = store_doc_text(s, id, local, &p, cur, version, w, err);
  tg__cat_prep_free(&p);
  return rc;
}

/* The harvested index is written only by tg_cat_index_apply (cat_index.c). */
static int index_only(struct tg_err *err) {
  return tg_err_set(err, TG_EPERM, "the harvested index is written only from peers' feeds");
}

/* ---- the harvested index's writes (cat_index.c), inside its transaction ---- */

int tg__cat_store_put_foreign_prep(struct tg_cat_store *s, const char *id,
                                   const struct tg__cat_prep *p, int64_t version,
                                   struct tg_err *err) {
  struct current cur;
  int rc = load_current(s, id, &cur, err);
  if (rc == 0)
    rc = store_doc_text(s, id, id, p, &cur, version, NULL, err);
  json_decref(cur.doc);
  return rc;
}

int tg__cat_store_put_foreign(struct tg_cat_store *s, const char *id, json_t *doc,
                              int64_t version, struct tg_err *err) {
  struct tg__cat_prep p;
  if (tg__cat_prep_doc(doc, NULL, &p) != 0)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int rc = tg__cat_store_put_foreign_prep(s, id, &p, version, err);
  tg__cat_prep_free(&p);
  return rc;
}

int tg__cat_store_remove(struct tg_cat_store *s, const char *id, struct tg_err *err) {
  struct current cur;
  int rc = load_current(s, id, &cur, err);
  if (rc != 0 || !cur.exists) {
    json_decref(cur.doc);
    return rc;
  }
  if (cur.doc != NULL)
    rc = fts_write(s, cur.rid, cur.doc, 1, err);
  json_decref(cur.doc);
  if (rc == 0)
    rc = facets_write(s, cur.rid, NULL, 0, err);
  sqlite3_stmt *st = NULL;
  if (rc == 0)
    rc = wget(s, W_REMOVE, "DELETE FROM cat_dataset WHERE rid = ?1", &st, err);
  if (rc == 0) {
    sqlite3_bind_int64(st, 1, cur.rid);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_err(s, err);
  }
  wput(st);
  return rc;
}

/* Bumped after every committed write by any store of the process. */
static _Atomic uint64_t cat_generation = 1;

uint64_t tg_cat_generation(void) { return atomic_load(&cat_generation); }

void tg_cat_generation_bump(void) { atomic_fetch_add(&cat_generation, 1); }

void tg_cat_store_nest(struct tg_cat_store *s) {
  s->in_batch = 1;
  s->nested = 1;
}

static int begin(struct tg_cat_store *s, struct tg_err *err) {
  return tg_db_exec(s->db, s->in_batch ? "SAVEPOINT cat_write" : "BEGIN IMMEDIATE", err);
}

static int finish(struct tg_cat_store *s, int rc, struct tg_err *err) {
  if (rc == 0) {
    rc = tg_db_exec(s->db, s->in_batch ? "RELEASE cat_write" : "COMMIT", err);
    if (rc == 0) {
      if (!s->in_batch) /* a batch or the caller's transaction commits later */
        atomic_fetch_add(&cat_generation, 1);
      return 0;
    }
  }
  if (s->in_batch)
    tg_db_exec(s->db, "ROLLBACK TO cat_write; RELEASE cat_write", NULL);
  else
    tg_db_exec(s->db, "ROLLBACK", NULL);
  return rc;
}

int tg_cat_batch_begin(struct tg_cat_store *s, struct tg_err *err) {
  if (s->in_batch || s->nested)
    return tg_err_set(err, TG_EINVAL, "a catalog batch is already open");
  int rc = tg_db_exec(s->db, "BEGIN IMMEDIATE", err);
  if (rc == 0)
    s->in_batch = 1;
  return rc;
}

int tg_cat_batch_commit(struct tg_cat_store *s, struct tg_err *err) {
  if (!s->in_batch || s->nested)
    return tg_err_set(err, TG_EINVAL, "no catalog batch is open");
  s->in_batch = 0;
  int rc = tg_db_exec(s->db, "COMMIT", err);
  if (rc)
    tg_db_exec(s->db, "ROLLBACK", NULL);
  atomic_fetch_add(&cat_generation, 1);
  return rc;
}

int tg_cat_store_optimize(struct tg_cat_store *s, struct tg_err *err) {
  return tg_db_exec(s->db, "INSERT INTO cat_fts(cat_fts) VALUES('optimize')", err);
}

void tg_cat_batch_rollback(struct tg_cat_store *s) {
  if (s == NULL || !s->in_batch)
    return;
  s->in_batch = 0;
  tg_db_exec(s->db, "ROLLBACK", NULL);
}

/* Validates IN for dataset ID: *DOC gets the canonical owner view with its
 * @id and policy uid set. */
static int prepare_doc(struct tg_cat_store *s, const json_t *in, const char *id, json_t **doc,
                       json_t **problems) {
  struct tg_cat_vopts o = {s->nschemes ? (const char *const *)s->schemes : NULL, s->nschemes,
                           s->node_id};
  int rc = tg_cat_validate(in, &o, doc, problems);
  if (rc)
    return rc;
  const char *given = json_string_value(json_object_get(*doc, "@id"));
  if (given != NULL && strcmp(given, id) != 0) {
    json_decref(*doc);
    *doc = NULL;
    if (problems != NULL) {
      *problems = json_array();
      tg__cat_problem(*problems, tg__cat_plain_is(in) ? "/id" : "/@id",
                      "%s must be %s (the node assigns dataset ids)",
                      tg__cat_plain_is(in) ? "id" : "@id", id);
    }
    return TG_EINVAL;
  }
  json_object_set_new(*doc, "@id", json_string(id));
  json_t *pol = json_object_get(*doc, "odrl:hasPolicy");
  if (pol != NULL && json_object_get(pol, "@id") == NULL) {
    struct tg_buf b;
    tg_buf_init(&b);
    if (tg_buf_printf(&b, "%s:policy", id) == 0)
      json_object_set_new(pol, "@id", json_string(b.data));
    tg_buf_close(&b);
  }
  return 0;
}

int tg_cat_dataset_create(struct tg_cat_store *s, const json_t *in, const char *slug,
                          struct tg_cat_write *w, json_t **problems, struct tg_err *err) {
  char local[80];
  if (problems != NULL)
    *problems = NULL;
  if (w != NULL)
    memset(w, 0, sizeof(*w));
  if (s->index_mode)
    return index_only(err);
  /* The plain form's "id" may be a local id or the full one. */
  char *plain_id = tg__cat_plain_id(in, s->node_id);
  const char *given = plain_id ? plain_id : json_string_value(json_object_get(in, "@id"));
  if (slug != NULL) {
    if (!local_id_ok(slug)) {
      free(plain_id);
      return tg_err_set(err, TG_EINVAL, "slug must be 1-64 of A-Z a-z 0-9 . _ -");
    }
    snprintf(local, sizeof(local), "%s", slug);
  } else if (given != NULL && our_local_id(s, given) != NULL) {
    snprintf(local, sizeof(local), "%s", our_local_id(s, given));
  } else {
    unsigned char r[8];
    if (tg_random_bytes(r, sizeof(r))) {
      free(plain_id);
      return tg_err_set(err, TG_EIO, "no randomness");
    }
    tg_hex(r, sizeof(r), local);
  }
  free(plain_id);
  char *id = make_id(s, local);
  if (id == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  json_t *doc = NULL;
  int rc = prepare_doc(s, in, id, &doc, problems);
  if (rc) {
    free(id);
    return tg_err_set(err, rc, "the dataset document has problems");
  }
  struct current cur;
  rc = begin(s, err);
  if (rc == 0) {
    rc = load_current(s, id, &cur, err);
    if (rc == 0 && cur.live)
      rc = tg_err_set(err, TG_EEXIST, "dataset %s already exists", id);
    if (rc == 0)
      rc = case_twin(s, id, local, err);
    if (rc == 0)
      rc = store_doc(s, id, local, doc, &cur, -1, w, err);
    json_decref(cur.doc);
    rc = finish(s, rc, err);
  }
  if (rc && w != NULL)
    tg_cat_write_clear(w);
  json_decref(doc);
  free(id);
  return rc;
}

int tg_cat_dataset_put(struct tg_cat_store *s, const char *id, const json_t *in,
                       int64_t if_match, struct tg_cat_write *w, json_t **problems,
                       struct tg_err *err) {
  if (problems != NULL)
    *problems = NULL;
  if (w != NULL)
    memset(w, 0, sizeof(*w));
  if (s->index_mode)
    return index_only(err);
  json_t *doc = NULL;
  int rc = prepare_doc(s, in, id, &doc, problems);
  if (rc)
    return tg_err_set(err, rc, "the dataset document has problems");
  struct current cur;
  rc = begin(s, err);
  if (rc == 0) {
    rc = load_current(s, id, &cur, err);
    if (rc == 0 && if_match >= 0 && !cur.live)
      rc = tg_err_set(err, TG_ENOENT, "no dataset %s", id);
    else if (rc == 0 && if_match >= 0 && cur.version != if_match)
      rc = tg_err_set(err, TG_ECONFLICT, "dataset %s is at version %lld, not %lld", id,
                      (long long)cur.version, (long long)if_match);
    else if (rc == 0 && !cur.live && our_local_id(s, id) == NULL)
      rc = not_ours(s, id, err);
    else if (rc == 0 && !cur.live)
      rc = case_twin(s, id, our_local_id(s, id), err);
    if (rc == 0)
      rc = store_doc(s, id, our_local_id(s, id) ? our_local_id(s, id) : id, doc, &cur, -1, w,
                     err);
    json_decref(cur.doc);
    rc = finish(s, rc, err);
  }
  if (rc && w != NULL)
    tg_cat_write_clear(w);
  json_decref(doc);
  return rc;
}

int tg_cat_dataset_delete(struct tg_cat_store *s, const char *id, int64_t if_match,
                          struct tg_cat_write *w, struct tg_err *err) {
  struct current cur;
  int64_t seq = 0;
  if (w != NULL)
    memset(w, 0, sizeof(*w));
  if (s->index_mode)
    return index_only(err);
  int rc = begin(s, err);
  if (rc)
    return rc;
  rc = load_current(s, id, &cur, err);
  if (rc == 0 && !cur.live)
    rc = tg_err_set(err, TG_ENOENT, "no dataset %s", id);
  else if (rc == 0 && if_match >= 0 && cur.version != if_match)
    rc = tg_err_set(err, TG_ECONFLICT, "dataset %s is at version %lld, not %lld", id,
                    (long long)cur.version, (long long)if_match);
  if (rc == 0)
    rc = next_seq(s, &seq, err);
  sqlite3_stmt *st = NULL;
  if (rc == 0)
    rc = prepare(s,
                 "UPDATE cat_dataset SET deleted = 1, doc = NULL, version = ?2,"
                 " seq = ?3, modified = ?4, minx = NULL, miny = NULL, maxx = NULL, maxy = NULL"
                 " WHERE rid = ?1",
                 &st, err);
  if (rc == 0) {
    sqlite3_bind_int64(st, 1, cur.rid);
    sqlite3_bind_int64(st, 2, cur.version + 1);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_int64(st, 4, tg_time_now());
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_err(s, err);
  }
  sqlite3_finalize(st);
  if (rc == 0 && cur.doc != NULL)
    rc = fts_write(s, cur.rid, cur.doc, 1, err);
  if (rc == 0)
    rc = facets_write(s, cur.rid, NULL, 0, err);
  json_decref(cur.doc);
  rc = finish(s, rc, err);
  if (rc == 0 && w != NULL) {
    w->id = strdup(id);
    w->version = cur.version + 1;
    w->seq = seq;
    if (w->id == NULL)
      rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  return rc;
}

/* ---- reads ---- */

/* 1 if VIEWER (NULL: anyone) may see public view DOC under its policy. */
static int visible(const json_t *doc, const struct tg_cat_access *viewer) {
  struct tg_cat_decision d;
  if (viewer == NULL)
    return 1;
  if (doc == NULL || tg_cat_policy_decide(json_object_get(doc, "odrl:hasPolicy"), viewer, &d))
    return 0;
  return d.verdict == TG_CAT_PERMIT;
}


int tg_cat_dataset_get(struct tg_cat_store *s, const char *id, enum tg_cat_view view,
                       json_t **doc, int64_t *version, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  *doc = NULL;
  int rc = prepare(s,
                   "SELECT doc, version FROM cat_dataset WHERE id = ?1 AND deleted = 0",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *doc = tg__cat_load_view((const char *)sqlite3_column_text(st, 0), view);
    if (version != NULL)
      *version = sqlite3_column_int64(st, 1);
    if (*doc == NULL)
      rc = tg_err_set(err, TG_EDB, "catalog: stored document of %s is unreadable", id);
  } else if (step == SQLITE_DONE) {
    rc = tg_err_set(err, TG_ENOENT, "no dataset %s", id);
  } else {
    rc = db_err(s, err);
  }
  sqlite3_finalize(st);
  return rc;
}

int tg_cat_dataset_decide(struct tg_cat_store *s, const char *id, const struct tg_cat_access *req,
                          struct tg_cat_decision *out, struct tg_err *err) {
  json_t *doc = NULL;
  int rc = tg_cat_dataset_get(s, id, TG_CAT_VIEW_PUBLIC, &doc, NULL, err);
  if (rc)
    return rc;
  rc = tg_cat_policy_decide(json_object_get(doc, "odrl:hasPolicy"), req, out);
  json_decref(doc);
  return rc ? tg_err_set(err, rc, "invalid access request") : 0;
}

/* tg_cat_dataset_list_for with a VIEWER: every live dataset's policy is
 * decided (a scan: fine for thousands of datasets; an index of who may see
 * what would be needed for millions). */
static int list_visible(struct tg_cat_store *s, enum tg_cat_view view,
                        const struct tg_cat_access *viewer, int64_t offset, int64_t limit,
                        json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "SELECT doc FROM cat_dataset WHERE deleted = 0 ORDER BY id", &st, err);
  if (rc)
    return rc;
  json_t *arr = json_array();
  int64_t total = 0;
  int step;
  while (arr != NULL && (step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 0);
    json_t *pub = tg__cat_load_view(text, TG_CAT_VIEW_PUBLIC);
    int ok = visible(pub, viewer);
    json_decref(pub);
    if (!ok)
      continue;
    if (total >= offset && total < offset + limit) {
      json_t *d = tg__cat_load_view(text, view);
      if (d != NULL)
        json_array_append_new(arr, d);
    }
    total++;
  }
  if (arr == NULL || step != SQLITE_DONE)
    rc = arr == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(s, err);
  sqlite3_finalize(st);
  if (rc) {
    json_decref(arr);
    return rc;
  }
  *out = json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total, "offset",
                   (json_int_t)offset, "limit", (json_int_t)limit, "datasets", arr);
  return *out ? 0 : tg_err_set(err, TG_ENOMEM, "out of memory");
}

int tg_cat_dataset_list_for(struct tg_cat_store *s, enum tg_cat_view view,
                            const struct tg_cat_access *viewer, int64_t offset, int64_t limit,
                            json_t **out, struct tg_err *err) {
  if (viewer == NULL)
    return tg_cat_dataset_list(s, view, offset, limit, out, err);
  if (limit <= 0 || limit > 1000)
    limit = 100;
  if (offset < 0)
    offset = 0;
  return list_visible(s, view, viewer, offset, limit, out, err);
}

int tg_cat_dataset_list(struct tg_cat_store *s, enum tg_cat_view view, int64_t offset,
                        int64_t limit, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int64_t total = 0;
  if (limit <= 0 || limit > 1000)
    limit = 100;
  if (offset < 0)
    offset = 0;
  int rc = prepare(s, "SELECT count(*) FROM cat_dataset WHERE deleted = 0", &st, err);
  if (rc)
    return rc;
  if (sqlite3_step(st) == SQLITE_ROW)
    total = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  rc = prepare(s,
               "SELECT doc FROM cat_dataset WHERE deleted = 0 ORDER BY id LIMIT ?1 OFFSET ?2",
               &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, limit);
  sqlite3_bind_int64(st, 2, offset);
  json_t *arr = json_array();
  int step;
  while (arr != NULL && (step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *d = tg__cat_load_view((const char *)sqlite3_column_text(st, 0), view);
    if (d != NULL)
      json_array_append_new(arr, d);
  }
  if (arr == NULL || step != SQLITE_DONE)
    rc = arr == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(s, err);
  sqlite3_finalize(st);
  if (rc) {
    json_decref(arr);
    return rc;
  }
  *out = json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total, "offset",
                   (json_int_t)offset, "limit", (json_int_t)limit, "datasets", arr);
  return *out ? 0 : tg_err_set(err, TG_ENOMEM, "out of memory");
}

/* One change-feed entry from a row of ST for VIEWER; a dataset VIEWER may
 * not see is a delete. A new object, or NULL on ENOMEM. */
static json_t *change_entry(sqlite3_stmt *st, const struct tg_cat_access *viewer) {
  int del = sqlite3_column_int(st, 3);
  json_t *d = del ? NULL
                  : tg__cat_load_view((const char *)sqlite3_column_text(st, 4), TG_CAT_VIEW_PUBLIC);
  if (!del && d != NULL && !visible(d, viewer)) {
    json_decref(d);
    d = NULL;
    del = 1;
  }
  json_t *c = json_pack("{s:I, s:s, s:s, s:I}", "seq", (json_int_t)sqlite3_column_int64(st, 0),
                        "op", del ? "delete" : "upsert", "id",
                        (const char *)sqlite3_column_text(st, 1), "version",
                        (json_int_t)sqlite3_column_int64(st, 2));
  if (c != NULL && !del)
    json_object_set_new(c, "dataset", d ? d : json_null());
  else
    json_decref(d);
  return c;
}

int tg_cat_changes(struct tg_cat_store *s, int64_t since, int64_t limit, json_t **out,
                   struct tg_err *err) {
  return tg_cat_changes_for(s, since, limit, NULL, out, err);
}

int tg_cat_changes_for(struct tg_cat_store *s, int64_t since, int64_t limit,
                       const struct tg_cat_access *viewer, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (limit < 1)
    limit = 1;
  if (limit > 1000)
    limit = 1000;
  int rc = prepare(s,
                   "SELECT seq, id, version, deleted, doc FROM cat_dataset WHERE seq > ?1"
                   " ORDER BY seq LIMIT ?2",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, limit + 1);
  json_t *arr = json_array();
  int64_t last = since, n = 0;
  int more = 0, step;
  while (arr != NULL && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == limit) {
      more = 1;
      continue;
    }
    json_array_append_new(arr, change_entry(st, viewer));
    last = sqlite3_column_int64(st, 0);
    n++;
  }
  if (arr == NULL || (step != SQLITE_DONE && step != SQLITE_ROW))
    rc = arr == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(s, err);
  sqlite3_finalize(st);
  if (rc) {
    json_decref(arr);
    return rc;
  }
  *out = json_pack("{s:o, s:I, s:b}", "changes", arr, "last_seq", (json_int_t)last, "more", more);
  return *out ? 0 : tg_err_set(err, TG_ENOMEM, "out of memory");
}

/* Appends S as a JSON string. */
static int put_json_string(struct tg_buf *b, const char *s) {
  json_t *j = json_string(s ? s : "");
  char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
  json_decref(j);
  int rc = t ? tg_buf_puts(b, t) : TG_ENOMEM;
  free(t);
  return rc;
}

/* 1 if key K (its KL bytes between the quotes) is a private term. */
static int private_key(const char *k, size_t kl) {
  return (kl >= 8 && memcmp(k, "tsunagu:", 8) == 0) ||
         (kl >= sizeof(NS_TG) - 1 && memcmp(k, NS_TG, sizeof(NS_TG) - 1) == 0);
}

/* Appends the value [P, END) of a stored document without the members
 * whose key is a private term, at any depth but inside "@context": as
 * tg_cat_public_view() does the tree, and as compact as its dump. A stored
 * document is jansson's compact dump, so its keys are written without
 * escapes. 0, TG_ENOMEM, or TG_EINVAL when the text is not laid out that
 * way or nests deeper than 64 (the caller parses it instead). */
static int strip_text(const char *p, const char *end, struct tg_buf *out, int depth) {
  struct tg_json_span m;
  const char *it = p;
  int r, first = 1, rc = 0, obj = p < end && *p == '{';
  if (p >= end || (*p != '{' && *p != '['))
    return tg_buf_append(out, p, (size_t)(end - p));
  if (depth > 64)
    return TG_EINVAL;
  rc = tg_buf_puts(out, obj ? "{" : "[");
  while (rc == 0 && (r = obj ? tg_json_next_member(&it, end, &m) : tg_json_next(&it, end, &m)) == 1) {
    size_t kl = obj ? (size_t)(m.ke - m.key) - 2 : 0;
    if (obj && private_key(m.key + 1, kl))
      continue;
    if (!first)
      rc = tg_buf_puts(out, ",");
    first = 0;
    if (rc == 0 && obj && (rc = tg_buf_append(out, m.key, kl + 2)) == 0)
      rc = tg_buf_puts(out, ":");
    if (rc == 0 && obj && kl == 8 && memcmp(m.key + 1, "@context", 8) == 0)
      rc = tg_buf_append(out, m.b, (size_t)(m.e - m.b));
    else if (rc == 0)
      rc = strip_text(m.b, m.e, out, depth + 1);
  }
  if (rc == 0 && r != 0)
    return TG_EINVAL;
  return rc ? rc : tg_buf_puts(out, obj ? "}" : "]");
}

/* 1 if TEXT (N bytes, a stored document: jansson's compact dump, so its
 * keys are written without escapes) has no private terms and its policy
 * permits VIEWER (NULL: anyone), 0 if not, -1 if that cannot be told
 * without parsing it all. Only its policy is parsed. */
static int plain_visible(const char *text, size_t n, const struct tg_cat_access *viewer) {
  if (n < 2 || text[0] != '{' || text[n - 1] != '}' || private_terms(text))
    return -1;
  if (viewer == NULL)
    return 1;
  struct tg_json_span m;
  json_t *pol = NULL;
  int r = tg_json_member(text, text + n, "odrl:hasPolicy", &m);
  if (r < 0 || (r == 0 && (pol = json_loadb(m.b, (size_t)(m.e - m.b), 0, NULL)) == NULL))
    return -1;
  struct tg_cat_decision d;
  int ok = tg_cat_policy_decide(pol, viewer, &d) == 0 && d.verdict == TG_CAT_PERMIT;
  json_decref(pol);
  return ok;
}

/* Appends the change-feed entry of ST's row for VIEWER as change_entry()
 * would make it, dumped compact. A live dataset without private terms is
 * its stored text (compact, as a dump of it would be) with the fixed
 * context CTX (its compact text) after its last member: only its policy is
 * parsed, and it is never dumped again. */
static int change_text(struct tg_buf *b, sqlite3_stmt *st, const struct tg_cat_access *viewer,
                       const char *ctx) {
  int del = sqlite3_column_int(st, 3);
  const char *text = (const char *)sqlite3_column_text(st, 4);
  size_t n = text ? strlen(text) : 0;
  json_t *d = NULL;
  struct tg_buf pub; /* TEXT's public view, when it has private terms */
  tg_buf_init(&pub);
  if (!del && n > 0 && private_terms(text)) {
    if (strip_text(text, text + n, &pub, 0) == 0) {
      text = pub.data;
      n = pub.len;
    } else {
      n = 0; /* parsed below */
    }
  }
  int plain = del ? 0 : plain_visible(text, n, viewer);
  if (!del && plain < 0) {
    d = tg__cat_load_view(text, TG_CAT_VIEW_PUBLIC);
    if (d != NULL && !visible(d, viewer)) /* as change_entry() */
      del = 1;
  } else if (plain == 0) {
    del = 1;
  }
  int rc = tg_buf_printf(b, "{\"seq\":%lld,\"op\":\"%s\",\"id\":",
                         (long long)sqlite3_column_int64(st, 0), del ? "delete" : "upsert");
  if (rc == 0)
    rc = put_json_string(b, (const char *)sqlite3_column_text(st, 1));
  if (rc == 0)
    rc = tg_buf_printf(b, ",\"version\":%lld", (long long)sqlite3_column_int64(st, 2));
  if (rc == 0 && !del) {
    rc = tg_buf_puts(b, ",\"dataset\":");
    if (rc == 0 && plain > 0) {
      rc = tg_buf_append(b, text, n - 1);
      if (rc == 0)
        rc = tg_buf_printf(b, ",\"@context\":%s}", ctx);
    } else if (rc == 0 && d == NULL) { /* unreadable: as change_entry() gives it */
      rc = tg_buf_puts(b, "null");
    } else if (rc == 0) {
      char *t = json_dumps(d, JSON_COMPACT);
      rc = t ? tg_buf_puts(b, t) : TG_ENOMEM;
      free(t);
    }
  }
  json_decref(d);
  tg_buf_close(&pub);
  return rc ? rc : tg_buf_puts(b, "}");
}

int tg_cat_changes_text(struct tg_cat_store *s, int64_t since, int64_t limit,
                        const struct tg_cat_access *viewer, struct tg_buf *out, int64_t *last_seq,
                        int *more_out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (limit < 1)
    limit = 1;
  if (limit > 1000)
    limit = 1000;
  json_t *cj = tg_cat_context();
  char *ctx = cj ? json_dumps(cj, JSON_COMPACT) : NULL;
  json_decref(cj);
  if (ctx == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int rc = prepare(s,
                   "SELECT seq, id, version, deleted, doc FROM cat_dataset WHERE seq > ?1"
                   " ORDER BY seq LIMIT ?2",
                   &st, err);
  if (rc) {
    free(ctx);
    return rc;
  }
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, limit + 1);
  int64_t last = since, n = 0;
  int more = 0, step = SQLITE_DONE, w = tg_buf_puts(out, "{\"changes\":[");
  while (w == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == limit) {
      more = 1;
      continue;
    }
    if (n > 0)
      w = tg_buf_puts(out, ",");
    if (w == 0)
      w = change_text(out, st, viewer, ctx);
    last = sqlite3_column_int64(st, 0);
    n++;
  }
  if (w == 0)
    w = tg_buf_printf(out, "],\"last_seq\":%lld,\"more\":%s}", (long long)last,
                      more ? "true" : "false");
  if (w != 0)
    rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  else if (step != SQLITE_DONE && step != SQLITE_ROW)
    rc = db_err(s, err);
  sqlite3_finalize(st);
  free(ctx);
  if (rc == 0) {
    *last_seq = last;
    *more_out = more;
  }
  return rc;
}

/* ---- rebuilding the folded index (CAT_FOLD_VERSION) ---- */

/* Refolds live dataset RID (stored document TEXT): title_key through UPD,
 * its index terms and its facets. */
static int fold_row(struct tg_cat_store *s, sqlite3_stmt *upd, int64_t rid, const char *text,
                    struct tg_err *err) {
  json_t *doc = tg__cat_load_doc(text);
  if (doc == NULL)
    return tg_err_set(err, TG_EDB, "catalog: stored dataset %lld does not parse", (long long)rid);
  struct derived d;
  derive(doc, 0, &d);
  int rc = d.title_key ? 0 : tg_err_set(err, TG_ENOMEM, "out of memory");
  if (rc == 0) {
    sqlite3_reset(upd);
    sqlite3_bind_text(upd, 1, d.title_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd, 2, rid);
    if (sqlite3_step(upd) != SQLITE_DONE)
      rc = db_err(s, err);
  }
  struct tg_buf f;
  tg_buf_init(&f);
  if (rc == 0)
    rc = fts_write(s, rid, doc, 0, err);
  if (rc == 0 && facets_of(doc, &f) != 0)
    rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  if (rc == 0)
    rc = facets_write(s, rid, &f, 0, err);
  tg_buf_close(&f);
  free(d.title_key);
  json_decref(doc);
  return rc;
}

/* Empties the search index and the term list and refolds every live
 * dataset into them (inside the caller's transaction). *N gets the count. */
static int fold_rebuild(struct tg_cat_store *s, int64_t *n, struct tg_err *err) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  int step = SQLITE_DONE;
  int rc = tg_db_exec(s->db,
                      "INSERT INTO cat_fts(cat_fts) VALUES('delete-all');"
                      "DELETE FROM cat_term;",
                      err);
  if (rc == 0)
    rc = prepare(s, "SELECT rid, doc FROM cat_dataset WHERE deleted = 0 ORDER BY rid", &sel, err);
  if (rc == 0)
    rc = prepare(s, "UPDATE cat_dataset SET title_key = ?1 WHERE rid = ?2", &upd, err);
  *n = 0;
  while (rc == 0 && (step = sqlite3_step(sel)) == SQLITE_ROW) {
    rc = fold_row(s, upd, sqlite3_column_int64(sel, 0),
                  (const char *)sqlite3_column_text(sel, 1), err);
    ++*n;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_err(s, err);
  sqlite3_finalize(sel);
  sqlite3_finalize(upd);
  return rc;
}

static int fold_set_version(struct tg_cat_store *s, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s,
                   "INSERT INTO tg_schema(component, version) VALUES(?1, ?2) "
                   "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, CAT_FOLD_COMPONENT, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, CAT_FOLD_VERSION);
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = db_err(s, err);
  sqlite3_finalize(st);
  return rc;
}

/* Rebuilds the folded index when it was built with another folding than
 * CAT_FOLD_VERSION: once, under the write lock, so concurrent openers (one
 * per worker) wait and then find it done. Returns 0 or TG_EDB/TG_ENOMEM
 * (then nothing changed). */
static int fold_check(struct tg_cat_store *s, struct tg_err *err) {
  if (tg_db_version(s->db, CAT_FOLD_COMPONENT) == CAT_FOLD_VERSION)
    return 0;
  int rc = tg_db_exec(s->db, "BEGIN IMMEDIATE", err);
  if (rc)
    return rc;
  int64_t n = 0;
  int was = tg_db_version(s->db, CAT_FOLD_COMPONENT);
  if (was != CAT_FOLD_VERSION) {
    rc = fold_rebuild(s, &n, err);
    if (rc == 0)
      rc = fold_set_version(s, err);
  }
  if (rc == 0)
    rc = tg_db_exec(s->db, "COMMIT", err);
  if (rc) {
    tg_db_exec(s->db, "ROLLBACK", NULL);
    return rc;
  }
  if (was != CAT_FOLD_VERSION && n > 0)
    tg_log_info("catalog: search index of %lld dataset(s) rebuilt for text folding version %d "
                "(was %d)",
                (long long)n, CAT_FOLD_VERSION, was);
  return 0;
}
