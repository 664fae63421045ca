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

/* Prepared statements kept for the store's lifetime (SQLITE_PREPARE_PERSISTENT). */
/* ---- bm25 with cached document frequencies ----
 * FTS5's bm25() counts, for every search, the rows holding each phrase by
 * reading the phrase's whole doclist: on a large catalog that dominates a
 * broad search. tg_bm25() computes exactly the same score but keeps those
 * counts per phrase until the database changes (SQLITE_FCNTL_DATA_VERSION).
 * The FTS5 extension interface comes with sqlite3.h. */
#define DF_SLOTS 64   /* phrases whose row counts are kept */
#define MAX_PHRASES 300

struct df_entry {
  char *phrase; /* the phrase as written in the match expression, "..."[*] */
  int64_t rows;
};

/* What tg_bm25() gets through its pointer argument for one search. */
struct rank_ctx {
  struct tg_cat_store *s;
  const char *match; /* the compiled expression the statement runs */
};

/* Per statement (FTS5 auxdata): the IDF of each phrase and the mean row size. */
struct bm25_data {
  int nphrase;
  double avgdl;
  double *idf;
  double *freq;
};

static void bm25_data_free(void *p) {
  struct bm25_data *d = p;
  if (d != NULL) {
    free(d->idf);
    free(d->freq);
    free(d);
  }
}

static int count_cb(const Fts5ExtensionApi *api, Fts5Context *fts, void *arg) {
  (void)api;
  (void)fts;
  (*(int64_t *)arg)++;
  return SQLITE_OK;
}

struct tg__cat_search_cache {
  sqlite3_stmt *term;   /* completions of a Latin prefix */
  sqlite3_stmt *scan;   /* the newest matches: total and rank floor */
  sqlite3_stmt *ranked; /* the page of a plain word query (tg_bm25) */
  sqlite3_stmt *ranked_rank; /* the same with FTS5's rank, if tg_bm25 is unavailable */
  sqlite3_stmt *nth;    /* the TG_CAT_RANK_CANDIDATES-th newest match */
  sqlite3_stmt *fill;   /* one dataset's document (tg_cat_search_fill) */
  sqlite3_stmt *size;   /* the highest record number (tg_cat_size_hint) */
  int rank_fn;          /* 1: tg_bm25 registered on this connection, -1: unavailable */
  unsigned int version; /* database data version the counts below belong to */
  int have_version;
  size_t next;          /* next slot to reuse */
  struct df_entry df[DF_SLOTS];
};

void tg__cat_search_cache_free(struct tg_cat_store *s) {
  if (s->sc == NULL)
    return;
  sqlite3_finalize(s->sc->term);
  sqlite3_finalize(s->sc->scan);
  sqlite3_finalize(s->sc->ranked);
  sqlite3_finalize(s->sc->ranked_rank);
  sqlite3_finalize(s->sc->nth);
  sqlite3_finalize(s->sc->fill);
  sqlite3_finalize(s->sc->size);
  for (size_t i = 0; i < DF_SLOTS; i++)
    free(s->sc->df[i].phrase);
  free(s->sc);
  s->sc = NULL;
}

/* The cached statement in SLOT (prepared from SQL on first use), reset and
 * ready to bind; NULL on failure. Hand it back with done(). */
static sqlite3_stmt *cached(struct tg_cat_store *s, size_t slot, const char *sql) {
  if (s->sc == NULL && (s->sc = calloc(1, sizeof(*s->sc))) == NULL)
    return NULL;
  sqlite3_stmt **p = slot == 0   ? &s->sc->term
                     : slot == 1 ? &s->sc->scan
                     : slot == 2 ? &s->sc->ranked
                     : slot == 3 ? &s->sc->ranked_rank
                     : slot == 4 ? &s->sc->nth
                     : slot == 5 ? &s->sc->fill
                                 : &s->sc->size;
  if (*p == NULL &&
      sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, p, NULL) != SQLITE_OK) {
    sqlite3_finalize(*p);
    *p = NULL;
  }
  return *p;
}

static void done(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

int64_t tg_cat_size_hint(struct tg_cat_store *s) {
  sqlite3_stmt *st = cached(s, 6, "SELECT max(rid) FROM cat_dataset");
  if (st == NULL)
    return 0;
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  done(st);
  return n;
}

/* The row count of phrase I (text PH of LEN bytes) from the cache, or by
 * reading its doclist (then cached when USE_CACHE). */
static int phrase_rows(const Fts5ExtensionApi *api, Fts5Context *fts, struct tg__cat_search_cache *c,
                       int use_cache, int i, const char *ph, size_t len, int64_t *rows) {
  if (use_cache)
    for (size_t k = 0; k < DF_SLOTS; k++)
      if (c->df[k].phrase != NULL && strlen(c->df[k].phrase) == len &&
          memcmp(c->df[k].phrase, ph, len) == 0) {
        *rows = c->df[k].rows;
        return SQLITE_OK;
      }
  *rows = 0;
  int rc = api->xQueryPhrase(fts, i, rows, count_cb);
  if (rc == SQLITE_OK && use_cache && ph != NULL) {
    struct df_entry *e = &c->df[c->next];
    char *copy = malloc(len + 1);
    if (copy != NULL) {
      memcpy(copy, ph, len);
      copy[len] = '\0';
      free(e->phrase);
      e->phrase = copy;
      e->rows = *rows;
      c->next = (c->next + 1) % DF_SLOTS;
    }
  }
  return rc;
}

/* Splits the compiled MATCH into its phrases (each quoted string with its
 * prefix star), in the order FTS5 numbers them; returns their count, or
 * TG_ETOOBIG past MAX phrases and TG_EINVAL for an unterminated quote
 * (callers compare the count with the one they need, so either means "no"). */
static int split_phrases(const char *match, const char **ph, size_t *len, int max) {
  int n = 0;
  for (const char *p = match; p != NULL && (p = strchr(p, '"')) != NULL;) {
    const char *q = strchr(p + 1, '"');
    if (q == NULL)
      return TG_EINVAL;
    if (n == max)
      return TG_ETOOBIG;
    ph[n] = p;
    len[n] = (size_t)(q - p + 1) + (q[1] == '*');
    n++;
    p = q + 1;
  }
  return n;
}

static struct bm25_data *bm25_setup(const Fts5ExtensionApi *api, Fts5Context *fts,
                                    const struct rank_ctx *rc_, int *rc) {
  struct bm25_data *d = calloc(1, sizeof(*d));
  int n = api->xPhraseCount(fts);
  sqlite3_int64 nrow = 0, ntok = 0;
  if (d == NULL || n < 0 || (d->idf = calloc((size_t)n + 1, sizeof(double))) == NULL ||
      (d->freq = calloc((size_t)n + 1, sizeof(double))) == NULL) {
    bm25_data_free(d);
    *rc = SQLITE_NOMEM;
    return NULL;
  }
  d->nphrase = n;
  *rc = api->xRowCount(fts, &nrow);
  if (*rc == SQLITE_OK)
    *rc = api->xColumnTotalSize(fts, -1, &ntok);
  if (*rc == SQLITE_OK)
    d->avgdl = (double)ntok / (double)nrow;
  /* Counts are reused only outside explicit transactions (so this
   * connection's own uncommitted writes never feed the cache) and only
   * while the database is unchanged. */
  struct tg__cat_search_cache *c = rc_->s->sc;
  const char *ph[MAX_PHRASES];
  size_t len[MAX_PHRASES];
  int use_cache = 0;
  unsigned int ver = 0;
  if (c != NULL && sqlite3_get_autocommit(rc_->s->db) &&
      sqlite3_file_control(rc_->s->db, "main", SQLITE_FCNTL_DATA_VERSION, &ver) == SQLITE_OK &&
      split_phrases(rc_->match, ph, len, MAX_PHRASES) == n) {
    use_cache = 1;
    if (!c->have_version || c->version != ver) {
      for (size_t k = 0; k < DF_SLOTS; k++) {
        free(c->df[k].phrase);
        c->df[k].phrase = NULL;
      }
      c->version = ver;
      c->have_version = 1;
    }
  }
  for (int i = 0; *rc == SQLITE_OK && i < n; i++) {
    int64_t hits = 0;
    *rc = phrase_rows(api, fts, c, use_cache, i, use_cache ? ph[i] : NULL,
                      use_cache ? len[i] : 0, &hits);
    /* bm25's IDF, with its floor for phrases in more than half the rows */
    double idf = log((double)(nrow - hits + 0.5) / (double)(hits + 0.5));
    if (idf <= 0.0)
      idf = 1e-6;
    d->idf[i] = idf;
  }
  if (*rc != SQLITE_OK) {
    bm25_data_free(d);
    return NULL;
  }
  return d;
}

/* tg_bm25(cat_fts, ctx pointer, column weights...): FTS5's bm25 (k1 1.2,
 * b 0.75) with the per-phrase row counts cached as described above. */
static void tg_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                    sqlite3_value **val) {
  const double k1 = 1.2, bb = 0.75;
  const struct rank_ctx *rctx = nval > 0 ? sqlite3_value_pointer(val[0], "tg_rank_ctx") : NULL;
  if (rctx == NULL) {
    sqlite3_result_error(ctx, "tg_bm25: no search context", -1);
    return;
  }
  int rc = SQLITE_OK;
  struct bm25_data *d = api->xGetAuxdata(fts, 0);
  if (d == NULL) {
    d = bm25_setup(api, fts, rctx, &rc);
    if (d != NULL)
      rc = api->xSetAuxdata(fts, d, bm25_data_free);
  }
  int ninst = 0;
  if (rc == SQLITE_OK) {
    memset(d->freq, 0, sizeof(double) * (size_t)d->nphrase);
    rc = api->xInstCount(fts, &ninst);
  }
  for (int i = 0; rc == SQLITE_OK && i < ninst; i++) {
    int ip, ic, io;
    rc = api->xInst(fts, i, &ip, &ic, &io);
    if (rc == SQLITE_OK && ip >= 0 && ip < d->nphrase)
      d->freq[ip] += nval - 1 > ic ? sqlite3_value_double(val[ic + 1]) : 1.0;
  }
  double dl = 0.0, score = 0.0;
  if (rc == SQLITE_OK) {
    int ntok = 0;
    rc = api->xColumnSize(fts, -1, &ntok);
    dl = (double)ntok;
  }
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  for (int i = 0; i < d->nphrase; i++)
    score += d->idf[i] * ((d->freq[i] * (k1 + 1.0)) /
                          (d->freq[i] + k1 * (1 - bb + bb * dl / d->avgdl)));
  sqlite3_result_double(ctx, -1.0 * score);
}

/* Registers tg_bm25 on the store's connection once; 1 when usable. */
static int rank_fn_ready(struct tg_cat_store *s) {
  if (s->sc == NULL && (s->sc = calloc(1, sizeof(*s->sc))) == NULL)
    return 0;
  if (s->sc->rank_fn == 0) {
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    s->sc->rank_fn = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
      sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
      sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (api != NULL && api->iVersion >= 2 &&
        api->xCreateFunction(api, "tg_bm25", NULL, tg_bm25, NULL) == SQLITE_OK)
      s->sc->rank_fn = 1;
  }
  return s->sc->rank_fn == 1;
}

static int ascii_word(const char *w, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9')))
      return 0;
  return 1;
}

/* The only completion of the Latin prefix P (LEN bytes) in cat_term, copied
 * to OUT (of OUTSZ bytes) when there is exactly one and it is a plain ASCII
 * word; otherwise 0. */
static int one_completion(struct tg_cat_store *s, const char *p, size_t len, char *out,
                          size_t outsz) {
  char hi[80];
  if (len + 1 > sizeof(hi))
    return 0;
  memcpy(hi, p, len);
  hi[len - 1]++; /* an ASCII letter or digit: the next byte value bounds the range */
  sqlite3_stmt *st = cached(s, 0, "SELECT term FROM cat_term WHERE term >= ?1 AND term < ?2 LIMIT 2");
  if (st == NULL)
    return 0;
  sqlite3_bind_text(st, 1, p, (int)len, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, hi, (int)len, SQLITE_STATIC);
  int n = 0, ok = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    size_t tl = (size_t)sqlite3_column_bytes(st, 0);
    if (++n == 1 && t != NULL && ascii_word(t, tl) && tl < outsz) {
      memcpy(out, t, tl);
      out[tl] = '\0';
      ok = 1;
    }
  }
  done(st);
  return n == 1 && ok;
}

/* Rewrites every single-word prefix term "p"* of the compiled MATCH whose
 * only completion in the index is one plain word w into the exact term "w".
 * FTS5 runs a prefix by merging the whole doclist of every completion into
 * memory; the exact term reads only what it needs. Both match the same rows
 * with the same instances, so bm25 scores are the same. A new string, or
 * NULL when out of memory. */
static char *exact_prefixes(struct tg_cat_store *s, const char *match) {
  struct tg_buf b;
  tg_buf_init(&b);
  int rc = tg_buf_puts(&b, "");
  for (const char *p = match; *p != '\0' && rc == 0;) {
    if (*p != '"') {
      rc = tg_buf_append(&b, p, 1);
      p++;
      continue;
    }
    const char *q = strchr(p + 1, '"');
    if (q == NULL) {
      rc = tg_buf_puts(&b, p);
      break;
    }
    char w[72];
    if (q[1] == '*' && ascii_word(p + 1, (size_t)(q - p - 1)) &&
        one_completion(s, p + 1, (size_t)(q - p - 1), w, sizeof(w))) {
      rc = tg_buf_printf(&b, "\"%s\"", w);
      p = q + 2;
    } else {
      rc = tg_buf_append(&b, p, (size_t)(q - p + 1));
      p = q + 1;
    }
  }
  char *out = rc == 0 ? tg_buf_take(&b) : NULL;
  tg_buf_close(&b);
  return out;
}

/* The row count tg_bm25 kept for MATCH when MATCH is a single phrase and
 * the database is as it was then (call inside a read transaction); else -1. */
static int64_t kept_count(struct tg_cat_store *s, const char *match) {
  const char *ph[2];
  size_t len[2];
  unsigned int ver = 0;
  struct tg__cat_search_cache *c = s->sc;
  if (c == NULL || !c->have_version || !sqlite3_get_autocommit(s->db) ||
      split_phrases(match, ph, len, 2) != 1 ||
      sqlite3_file_control(s->db, "main", SQLITE_FCNTL_DATA_VERSION, &ver) != SQLITE_OK ||
      ver != c->version)
    return -1;
  for (size_t k = 0; k < DF_SLOTS; k++)
    if (c->df[k].phrase != NULL && strlen(c->df[k].phrase) == len[0] &&
        memcmp(c->df[k].phrase, ph[0], len[0]) == 0)
      return c->df[k].rows;
  return -1;
}

/* The rowid of the CAP-th newest match of MATCH into *F (0 if fewer);
 * *KEPT (when not NULL) gets kept_count() read in the same snapshot, or
 * -1. */
static int nth_newest(struct tg_cat_store *s, const char *match, int64_t cap, int64_t *f,
                      int64_t *kept) {
  sqlite3_stmt *nth = cached(s, 4,
                             "SELECT rowid FROM cat_fts WHERE cat_fts MATCH ?1"
                             " ORDER BY rowid DESC LIMIT 1 OFFSET ?2");
  if (nth == NULL)
    return TG_EDB;
  sqlite3_bind_text(nth, 1, match, -1, SQLITE_STATIC);
  sqlite3_bind_int64(nth, 2, cap - 1);
  int step = sqlite3_step(nth);
  /* still inside the statement's read transaction: the count belongs to
   * the same snapshot when the data version matches */
  if (kept != NULL)
    *kept = step == SQLITE_ROW ? kept_count(s, match) : -1;
  *f = step == SQLITE_ROW ? sqlite3_column_int64(nth, 0) : 0;
  done(nth);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : TG_EDB;
}

/* *TOTAL gets the number of matches of MATCH up to COUNT_CAP + 1 and *FLOOR
 * the rowid of the CAP-th newest when there are more than CAP (else 0). A
 * single phrase whose row count tg_bm25 kept needs only the walk to the
 * CAP-th newest; otherwise one forward pass (FTS5 walks doclists forward
 * faster than backward) counts and remembers the rowids, which give the
 * floor unless the count reached the cap. */
static int scan_newest(struct tg_cat_store *s, const char *match, int64_t cap, int64_t *total,
                       int64_t *floor) {
  const char *ph[2];
  size_t len[2];
  int64_t f = 0, kept = -1;
  int have_f = 0;
  if (split_phrases(match, ph, len, 2) == 1) {
    if (nth_newest(s, match, cap, &f, &kept) != 0)
      return TG_EDB;
    have_f = 1;
    if (kept >= cap) {
      *total = kept > COUNT_CAP ? COUNT_CAP + 1 : kept;
      *floor = kept > cap ? f : 0;
      return 0;
    }
  }
  int64_t *ids = malloc((COUNT_CAP + 1) * sizeof(*ids));
  sqlite3_stmt *st =
      cached(s, 1, "SELECT rowid FROM cat_fts WHERE cat_fts MATCH ?1 ORDER BY rowid LIMIT ?2");
  if (ids == NULL || st == NULL) {
    free(ids);
    return ids == NULL ? TG_ENOMEM : TG_EDB;
  }
  sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, COUNT_CAP + 1);
  int64_t n = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && n <= COUNT_CAP)
    ids[n++] = sqlite3_column_int64(st, 0);
  done(st);
  int rc = step == SQLITE_DONE ? 0 : TG_EDB;
  if (rc == 0 && n > COUNT_CAP && !have_f)
    rc = nth_newest(s, match, cap, &f, NULL);
  if (rc == 0) {
    *total = n;
    *floor = n <= cap ? 0 : n > COUNT_CAP ? f : ids[n - cap];
  }
  free(ids);
  return rc;
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

/* The "highlight" object of DOC for the query's words. */
static json_t *highlights(const json_t *doc, const char *words, size_t nwords) {
  json_t *hl = json_object();
  if (nwords > 0 && hl != NULL) {
    json_t *t = highlight(doc, "dct:title", words, nwords);
    json_t *d = highlight(doc, "dct:description", words, nwords);
    if (t)
      json_object_set_new(hl, "title", t);
    if (d)
      json_object_set_new(hl, "description", d);
  }
  return hl;
}

/* Appends one result row to ITEMS; a deferred search leaves the document
 * (column 2) unread. */
static void add_item(sqlite3_stmt *st, const char *words, size_t nwords, int deferred,
                     json_t *items) {
  double score = round(-sqlite3_column_double(st, 3) * 1e4) / 1e4 + 0.0;
  const char *id = (const char *)sqlite3_column_text(st, 0);
  json_int_t version = (json_int_t)sqlite3_column_int64(st, 1);
  if (deferred) {
    json_array_append_new(items, json_pack("{s:s, s:I, s:f}", "id", id, "version", version,
                                           "score", score));
    return;
  }
  json_t *doc = tg__cat_load_view((const char *)sqlite3_column_text(st, 2), TG_CAT_VIEW_PUBLIC);
  if (doc == NULL)
    return;
  json_array_append_new(items, json_pack("{s:s, s:I, s:f, s:o, s:o}", "id", id, "version",
                                         version, "score", score, "highlight",
                                         highlights(doc, words, nwords), "dataset", doc));
}

/* Runs SQL (a page query; KEEP: the store's cached statement in that slot,
 * or 0 for a one-off) and adds its rows. */
static int run_page(struct tg_cat_store *s, const char *sql, size_t keep, const struct binds *b,
                    const char *words, size_t nwords, int deferred, json_t *items,
                    struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (keep ? (st = cached(s, keep, sql)) == NULL
           : sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  bind_all(st, b);
  int step, rc = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW)
    add_item(st, words, nwords, deferred, items);
  if (step != SQLITE_DONE)
    rc = tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  if (keep)
    done(st);
  else
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
    rc = run_page(s, sql.data, 0, &b, words, nwords, q->deferred, items, err);
  tg_buf_close(&sql);
  return rc;
}

/* The common case, words and nothing else: rank inside FTS5 alone (over the
 * newest TG_CAT_RANK_CANDIDATES matches at most), then join only the page's rows. */
static int fetch_ranked(struct tg_cat_store *s, const struct tg_cat_query *q, const char *match,
                        int64_t floor, const char *words, size_t nwords, int64_t limit,
                        json_t *items, struct tg_err *err) {
  int own = rank_fn_ready(s);
  sqlite3_stmt *st =
      own ? cached(s, 2,
                   "SELECT d.id, d.version, d.doc, m.score FROM"
                   " (SELECT rowid AS rid, tg_bm25(cat_fts, ?5, 5.0, 1.0, 3.0) AS score"
                   "  FROM cat_fts WHERE cat_fts MATCH ?1 AND rowid >= ?2"
                   "  ORDER BY score, rowid LIMIT ?3 OFFSET ?4) m"
                   " CROSS JOIN cat_dataset d ON d.rid = m.rid ORDER BY m.score, m.rid")
          : cached(s, 3,
                   "SELECT d.id, d.version, d.doc, m.score FROM"
                   " (SELECT rowid AS rid, rank AS score FROM cat_fts WHERE cat_fts MATCH ?1"
                   "  AND rowid >= ?2 ORDER BY rank, rowid LIMIT ?3 OFFSET ?4) m"
                   " CROSS JOIN cat_dataset d ON d.rid = m.rid ORDER BY m.score, m.rid");
  if (st == NULL)
    return tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  struct rank_ctx rctx = {s, match};
  sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, floor);
  sqlite3_bind_int64(st, 3, limit);
  sqlite3_bind_int64(st, 4, q->offset);
  if (own)
    sqlite3_bind_pointer(st, 5, &rctx, "tg_rank_ctx", NULL);
  int step, rc = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW)
    add_item(st, words, nwords, q->deferred, items);
  if (step != SQLITE_DONE)
    rc = tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  done(st);
  return rc;
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
  if (match != NULL) {
    char *m = exact_prefixes(s, match);
    free(match);
    if ((match = m) == NULL) {
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
  /* The candidates ranked: TG_CAT_RANK_CANDIDATES, or fewer when asked. The same
   * for every page, so paging neither repeats nor skips a hit. */
  int64_t cap = q->rank_candidates > 0 && q->rank_candidates < TG_CAT_RANK_CANDIDATES
                    ? q->rank_candidates
                    : TG_CAT_RANK_CANDIDATES;
  if (rc == 0 && (fast ? scan_newest(s, match, cap, &total, &floor)
                       : count_total(s->db, from.data, &b, &total)) != 0)
    rc = tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
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

/* Fills ITEM from the cached statement ST (its id bound here). */
static int fill_one(sqlite3_stmt *st, json_t *item, const char *words, size_t nwords) {
  const char *id = json_string_value(json_object_get(item, "id"));
  int rc = TG_ENOENT;
  if (id == NULL)
    return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  json_t *doc = step == SQLITE_ROW
                    ? tg__cat_load_view((const char *)sqlite3_column_text(st, 0), TG_CAT_VIEW_PUBLIC)
                    : NULL;
  if (doc != NULL) {
    json_t *hl = highlights(doc, words, nwords);
    /* (json_object_set_new drops the value it could not set.) */
    rc = json_object_set_new(item, "dataset", doc) != 0 || hl == NULL ||
                 json_object_set_new(item, "highlight", hl) != 0
             ? TG_ENOMEM
             : 0;
  } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
    rc = TG_EDB;
  }
  done(st);
  return rc;
}

int tg_cat_search_fill(struct tg_cat_store *s, const char *q, json_t *const *items, size_t n,
                       struct tg_err *err) {
  struct tg_buf words;
  size_t nwords = 0;
  int rc = 0;
  if (n == 0)
    return 0;
  sqlite3_stmt *st = cached(s, 5, "SELECT doc FROM cat_dataset WHERE id = ?1 AND deleted = 0");
  if (st == NULL)
    return tg_err_set(err, TG_EDB, "catalog search: %s", sqlite3_errmsg(s->db));
  tg_buf_init(&words);
  if (tg__cat_query_words(q ? q : "", &words, &nwords) != 0) {
    tg_buf_close(&words);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  /* One read transaction for the page, not one per document. */
  int own_txn = sqlite3_get_autocommit(s->db) &&
                sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
  for (size_t i = 0; i < n && rc != TG_ENOMEM && rc != TG_EDB; i++) {
    int r = fill_one(st, items[i], words.data, nwords);
    if (r != TG_ENOENT)
      rc = r;
  }
  if (own_txn)
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
  tg_buf_close(&words);
  if (rc == TG_EDB)
    return tg_err_set(err, rc, "catalog search: %s", sqlite3_errmsg(s->db));
  return rc ? tg_err_set(err, rc, "out of memory") : 0;
}
