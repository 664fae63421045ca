/* cat_index: the harvested index of peers' datasets: a catalog store in
 * "index mode" on its own database, written one feed page per transaction,
 * with per-source bookkeeping (last seq, status, refusals) and lookups of
 * where a dataset lives. */
#include "cat_int.h"
#include "cat_store.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_json_scan.h"
#include "tg_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define LAST_REFUSED_MAX 10
#define REFUSED_ID_MAX 200 /* bytes of a refused entry's id that are kept */

static const struct tg_db_migration migrations[] = {
    {1, "CREATE TABLE hv_source("
        " node TEXT PRIMARY KEY,"
        " last_seq INTEGER NOT NULL DEFAULT 0,"
        " harvested_at INTEGER," /* last page applied */
        " attempted_at INTEGER," /* last attempt, success or not */
        " status TEXT NOT NULL DEFAULT 'new',"
        " error TEXT,"
        " refused INTEGER NOT NULL DEFAULT 0,"
        " failures INTEGER NOT NULL DEFAULT 0,"
        " last_refused TEXT);"},
};

int tg_cat_index_open(sqlite3 *db, const char *self, struct tg_cat_store **out,
                      struct tg_err *err) {
  int rc = tg_cat_store_open(db, self, out, err);
  if (rc)
    return rc;
  rc = tg_db_migrate(db, "harvest", migrations, (int)(sizeof(migrations) / sizeof(migrations[0])),
                     err);
  if (rc) {
    tg_cat_store_free(*out);
    *out = NULL;
    return rc;
  }
  (*out)->index_mode = 1;
  return 0;
}

int tg_cat_dataset_owner(const char *id, char *owner, size_t n) {
  if (id == NULL || strncmp(id, "urn:tsunagu:", 12) != 0)
    return TG_EINVAL;
  const char *p = id + 12, *q = strstr(p, ":dataset:");
  size_t len = q ? (size_t)(q - p) : 0;
  if (q == NULL || len == 0 || len >= 64 || len >= n)
    return TG_EINVAL;
  memcpy(owner, p, len);
  owner[len] = '\0';
  return tg_node_id_valid(owner) && tg__cat_local_id_ok(q + 9) ? 0 : TG_EINVAL;
}

static int db_err(struct tg_cat_store *ix, struct tg_err *err) {
  return tg_err_set(err, TG_EDB, "harvest index: %s", sqlite3_errmsg(ix->db));
}

static int prepare(struct tg_cat_store *ix, const char *sql, sqlite3_stmt **st,
                   struct tg_err *err) {
  return sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : db_err(ix, err);
}

/* Runs ST (bound) to its end; finalises it. */
static int run(struct tg_cat_store *ix, sqlite3_stmt *st, struct tg_err *err) {
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(ix, err);
  sqlite3_finalize(st);
  return rc;
}

int tg_cat_index_last_seq(struct tg_cat_store *ix, const char *source, int64_t *out,
                          struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  *out = 0;
  int rc = prepare(ix, "SELECT last_seq FROM hv_source WHERE node = ?1", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else if (step != SQLITE_DONE)
    rc = db_err(ix, err);
  sqlite3_finalize(st);
  return rc;
}

/* ---- applying a page ---- */

/* ID as a refusal records it: the id is the peer's choice and may be as long
 * as its page, so at most REFUSED_ID_MAX bytes of it are kept (cut at a
 * UTF-8 character boundary and marked with "…"), into BUF of
 * REFUSED_ID_MAX + 4 bytes when cut. NULL stays NULL. */
static const char *refused_id(const char *id, char *buf) {
  if (id == NULL || strlen(id) <= REFUSED_ID_MAX)
    return id;
  size_t n = REFUSED_ID_MAX;
  while (n > 0 && ((unsigned char)id[n] & 0xC0) == 0x80)
    n--; /* ID[N] continues a character: cut before that character */
  memcpy(buf, id, n);
  memcpy(buf + n, "\xe2\x80\xa6", 4); /* "…" and the NUL */
  return buf;
}

static void refuse(json_t *refused, int64_t seq, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(json_t *refused, int64_t seq, const char *id, const char *fmt, ...) {
  char why[300], cut[REFUSED_ID_MAX + 4];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  json_array_append_new(refused, json_pack("{s:I, s:s?, s:s}", "seq", (json_int_t)seq, "id",
                                           refused_id(id, cut), "reason", why));
}

/* What page_check needs of a page, read when it is prepared. */
struct page_seqs {
  int shape_ok;    /* an object with a "changes" array and an integer "last_seq" */
  size_t n;        /* its changes */
  int64_t *seq;    /* each change's seq (N of them; from malloc) */
  size_t bad;      /* the first change without an integer seq, or N */
  int64_t last_seq;
};

static int seqs_read(const json_t *page, struct page_seqs *ps) {
  const json_t *ch = json_object_get(page, "changes");
  const json_t *ls = json_object_get(page, "last_seq");
  memset(ps, 0, sizeof(*ps));
  ps->shape_ok = json_is_object(page) && json_is_array(ch) && json_is_integer(ls);
  if (!ps->shape_ok)
    return 0;
  ps->n = json_array_size(ch);
  ps->last_seq = json_integer_value(ls);
  ps->bad = ps->n;
  if (ps->n > TG_CAT_INDEX_MAX_PAGE)
    return 0;
  if (ps->n > 0 && (ps->seq = malloc(ps->n * sizeof(*ps->seq))) == NULL)
    return TG_ENOMEM;
  for (size_t i = 0; i < ps->n; i++) {
    const json_t *sq = json_object_get(json_array_get(ch, i), "seq");
    if (!json_is_integer(sq) && ps->bad == ps->n)
      ps->bad = i;
    ps->seq[i] = json_integer_value(sq);
  }
  return 0;
}

/* Checks the page's shape and that its seqs go forward from LAST: 0, or
 * TG_EPROTO / TG_ETOOBIG with ERR set. */
static int page_check(const struct page_seqs *ps, int64_t last, struct tg_err *err) {
  if (!ps->shape_ok)
    return tg_err_set(err, TG_EPROTO,
                      "not a change feed page ({\"changes\": [...], \"last_seq\"})");
  if (ps->n > TG_CAT_INDEX_MAX_PAGE)
    return tg_err_set(err, TG_ETOOBIG, "a page of %zu changes (at most %d)", ps->n,
                      TG_CAT_INDEX_MAX_PAGE);
  int64_t prev = last;
  for (size_t i = 0; i < ps->n; i++) {
    if (i == ps->bad)
      return tg_err_set(err, TG_EPROTO, "change %zu has no integer seq", i);
    if (ps->seq[i] <= prev)
      return tg_err_set(err, TG_EPROTO, "the feed went backwards: seq %lld after %lld",
                        (long long)ps->seq[i], (long long)prev);
    prev = ps->seq[i];
  }
  if (ps->last_seq < prev)
    return tg_err_set(err, TG_EPROTO, "the feed went backwards: last_seq %lld after %lld",
                      (long long)ps->last_seq, (long long)prev);
  return 0;
}

/* ---- the canonical shape: a fast path for a real peer's feed ----
 *
 * A tsunagu peer's feed carries each dataset as its store keeps it: the
 * canonical form tg_cat_validate produced when the owner accepted it (the
 * fixed @context, compact terms, literals as {"@value", "@language"}).
 * Running the whole DCAT-AP validation (JSON-LD expansion and compaction)
 * again on every entry cost about a third of the harvester's time, and what
 * it adds over the checks below is conformance the owner is answerable for,
 * not the index's safety. So a dataset in that shape whose every part the
 * index reads passes the checks below is stored as it came; anything else --
 * another @context, expanded or unknown-prefix terms, tsunagu: terms, a
 * bound exceeded, a bad IRI, language tag or date, a missing title or
 * description -- goes through tg_cat_validate as before, which refuses it or
 * gives its canonical form. The fast path only ever accepts: it never
 * refuses what the validator would take. */

/* 1 if literal L (a string or {"@value": string, "@language"?, "@type"?})
 * is well formed with a value of at most MAX bytes. */
static int lit_ok(const json_t *l, size_t max) {
  if (json_is_string(l))
    return json_string_length(l) <= max;
  if (!json_is_object(l) || json_object_size(l) > 3)
    return 0;
  const json_t *v = json_object_get(l, "@value"), *lang = json_object_get(l, "@language");
  const json_t *t = json_object_get(l, "@type");
  size_t known = 1 + (lang != NULL) + (t != NULL);
  return json_is_string(v) && json_string_length(v) <= max && known == json_object_size(l) &&
         (lang == NULL || (json_is_string(lang) && tg__cat_lang_ok(json_string_value(lang)))) &&
         (t == NULL || json_is_string(t));
}

/* 1 if property V holds MIN..MAXN literals of at most MAXLEN bytes. */
static int lits_ok(const json_t *v, size_t min, size_t maxn, size_t maxlen) {
  if (v == NULL)
    return min == 0;
  if (!json_is_array(v))
    return min <= 1 && lit_ok(v, maxlen);
  size_t n = json_array_size(v);
  for (size_t i = 0; i < n; i++)
    if (!lit_ok(json_array_get(v, i), maxlen))
      return 0;
  return n >= min && n <= maxn;
}

/* 1 if the date literal V (absent, or a canonical typed xsd:date or
 * xsd:dateTime) is a real one. */
static int date_ok(const json_t *v) {
  if (v == NULL)
    return 1;
  const char *t = json_string_value(json_object_get(v, "@type"));
  const char *s = json_string_value(json_object_get(v, "@value"));
  int dt = t != NULL && strcmp(t, "xsd:dateTime") == 0;
  return s != NULL && t != NULL && (dt || strcmp(t, "xsd:date") == 0) &&
         tg__cat_xsd_time(s, dt, NULL) == 0;
}

/* 1 if J (at DEPTH) uses only compact terms of the fixed context CTX (no
 * tsunagu: ones), valid @id IRIs, string @types and well-formed literals. */
static int terms_ok(const json_t *j, const json_t *ctx, int depth) {
  if (depth > TG_CAT_MAX_DEPTH)
    return 0;
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++)
      if (!terms_ok(json_array_get(j, i), ctx, depth + 1))
        return 0;
    return 1;
  }
  if (!json_is_object(j))
    return 1;
  if (json_object_get(j, "@value") != NULL)
    return lit_ok(j, TG_CAT_MAX_LITERAL_BYTES);
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)j, k, v) {
    if (depth == 0 && strcmp(k, "@context") == 0)
      continue; /* canonical_ok compared it */
    if (strcmp(k, "@id") == 0) {
      if (!json_is_string(v) || !tg__cat_iri_ok(json_string_value(v)))
        return 0;
      continue;
    }
    if (strcmp(k, "@type") == 0) {
      if (!json_is_string(v) && !json_is_array(v))
        return 0;
      for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
          return 0;
      continue;
    }
    const char *colon = strchr(k, ':');
    if (k[0] == '@' || colon == NULL || colon == k || strncmp(k, "tsunagu:", 8) == 0 ||
        strncmp(colon + 1, "//", 2) == 0)
      return 0;
    char prefix[32];
    size_t pl = (size_t)(colon - k);
    if (pl >= sizeof(prefix))
      return 0;
    memcpy(prefix, k, pl);
    prefix[pl] = '\0';
    if (json_object_get(ctx, prefix) == NULL || !terms_ok(v, ctx, depth + 1))
      return 0;
  }
  return 1;
}

/* 1 if @type T names dcat:Dataset. */
static int is_dataset(const json_t *t) {
  if (json_is_string(t))
    return strcmp(json_string_value(t), "dcat:Dataset") == 0;
  for (size_t i = 0; i < json_array_size(t); i++)
    if (json_is_string(json_array_get(t, i)) &&
        strcmp(json_string_value(json_array_get(t, i)), "dcat:Dataset") == 0)
      return 1;
  return 0;
}

/* The item I of V, a value or an array of them. */
static const json_t *item(const json_t *v, size_t i) {
  return json_is_array(v) ? json_array_get(v, i) : v;
}

static size_t items(const json_t *v) {
  return v == NULL ? 0 : json_is_array(v) ? json_array_size(v) : 1;
}

/* 1 if V holds MIN..MAX IRI references ({"@id": an absolute IRI}, no blank
 * node, no text value). */
static int iris_ok(const json_t *v, size_t min, size_t max) {
  size_t n = items(v);
  if (n < min || n > max)
    return 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *it = item(v, i);
    const char *id = json_string_value(json_object_get(it, "@id"));
    if (!json_is_object(it) || json_object_get(it, "@value") != NULL || id == NULL ||
        strncmp(id, "_:", 2) == 0 || !tg__cat_iri_ok(id))
      return 0;
  }
  return 1;
}

/* 1 if DS's distributions have the shape the validator requires: at most
 * TG_CAT_MAX_DISTRIBUTIONS embedded nodes, each with an accessURL, IRIs
 * where IRIs belong, at most one media type and format, good literals and
 * dates. Else the validator decides (and says why it refuses). */
static int dists_ok(const json_t *ds) {
  const json_t *v = json_object_get(ds, "dcat:distribution");
  size_t n = items(v);
  if (n > TG_CAT_MAX_DISTRIBUTIONS)
    return 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *d = item(v, i);
    if (!json_is_object(d) || json_object_get(d, "@value") != NULL || json_object_size(d) < 2 ||
        !iris_ok(json_object_get(d, "dcat:accessURL"), 1, SIZE_MAX) ||
        !iris_ok(json_object_get(d, "dcat:downloadURL"), 0, SIZE_MAX) ||
        !iris_ok(json_object_get(d, "dcat:mediaType"), 0, 1) ||
        !iris_ok(json_object_get(d, "dct:format"), 0, 1) ||
        !iris_ok(json_object_get(d, "dct:license"), 0, SIZE_MAX) ||
        !lits_ok(json_object_get(d, "dct:title"), 0, 20, TG_CAT_MAX_TITLE_BYTES) ||
        !lits_ok(json_object_get(d, "dct:description"), 0, 20, TG_CAT_MAX_LITERAL_BYTES) ||
        !date_ok(json_object_get(d, "dct:issued")) || !date_ok(json_object_get(d, "dct:modified")))
      return 0;
  }
  return 1;
}

/* 1 if dataset DS is in the canonical shape under the fixed context CTX and
 * passes every check above. */
static int canonical_ok(const json_t *ds, const json_t *ctx) {
  return json_equal(json_object_get(ds, "@context"), ctx) && is_dataset(json_object_get(ds, "@type")) &&
         lits_ok(json_object_get(ds, "dct:title"), 1, 20, TG_CAT_MAX_TITLE_BYTES) &&
         lits_ok(json_object_get(ds, "dct:description"), 1, 20, TG_CAT_MAX_LITERAL_BYTES) &&
         lits_ok(json_object_get(ds, "dcat:keyword"), 0, TG_CAT_MAX_KEYWORDS,
                 TG_CAT_MAX_TITLE_BYTES) &&
         date_ok(json_object_get(ds, "dct:modified")) &&
         date_ok(json_object_get(ds, "dct:issued")) && dists_ok(ds) && terms_ok(ds, ctx, 0);
}

/* DS (borrowed) serialised for storage: without its @context, compact,
 * keys sorted. From malloc, or NULL. */
static char *stored_text(const json_t *ds) {
  json_t *c = json_copy((json_t *)ds); /* shallow: only the top level is new */
  if (c == NULL)
    return NULL;
  json_object_del(c, "@context");
  char *t = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(c);
  return t;
}

/* DS's stored text from RAW, the bytes DS was parsed from (a page parsed
 * with JSON_REJECT_DUPLICATES, so they hold nothing DS does not): RAW
 * without its "@context" member, if RAW is compact. From malloc, or NULL
 * (then DS is dumped). Jansson's dump of a dataset costs as much as its
 * parse. */
static char *raw_text(const struct tg_json_span *raw) {
  struct tg_json_span m;
  if (raw == NULL || raw->b == NULL || !tg_json_compact(raw->b, raw->e) ||
      tg_json_member(raw->b, raw->e, "@context", &m) != 0)
    return NULL;
  const char *cut_b, *cut_e;
  if (m.key > raw->b && m.key[-1] == ',') { /* a member after the first */
    cut_b = m.key - 1;
    cut_e = m.e;
  } else { /* the first: its comma after it goes */
    cut_b = m.key;
    cut_e = m.e < raw->e && *m.e == ',' ? m.e + 1 : m.e;
  }
  size_t n1 = (size_t)(cut_b - raw->b), n2 = (size_t)(raw->e - cut_e);
  char *t = malloc(n1 + n2 + 1);
  if (t == NULL)
    return NULL;
  memcpy(t, raw->b, n1);
  memcpy(t + n1, cut_e, n2);
  t[n1 + n2] = '\0';
  return t;
}

/* Validates the upsert's dataset DS for ID: a new canonical document, or
 * NULL after refusing it. CTX is the fixed context; RAW (may be NULL) the
 * bytes DS was parsed from. *TEXT gets the document serialised for storage
 * when the fast path took it (from malloc), else NULL. */
static json_t *upsert_doc(const json_t *ds, const char *id, int64_t seq, const json_t *ctx,
                          const struct tg_json_span *raw, char **text, json_t *refused) {
  json_t *doc = NULL, *problems = NULL;
  *text = NULL;
  if (!json_is_object(ds)) {
    refuse(refused, seq, id, "the upsert carries no dataset object");
    return NULL;
  }
  const char *given = json_string_value(json_object_get(ds, "@id"));
  if (given == NULL || strcmp(given, id) != 0) {
    refuse(refused, seq, id, "the dataset's @id is not the change's id");
    return NULL;
  }
  if (canonical_ok(ds, ctx)) {
    char *t = raw_text(raw);
    if (t == NULL)
      t = stored_text(ds);
    if (t != NULL && strlen(t) <= TG_CAT_MAX_DOC_BYTES) {
      *text = t;
      return json_incref((json_t *)ds);
    }
    free(t); /* too big: the validator says so */
  }
  if (tg_cat_validate(ds, NULL, &doc, &problems) != 0) {
    const json_t *p = json_array_get(problems, 0);
    const char *ptr = json_string_value(json_object_get(p, "pointer"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    refuse(refused, seq, id, "the dataset does not validate: %s %s", ptr ? ptr : "",
           detail ? detail : "");
    json_decref(problems);
    return NULL;
  }
  json_decref(problems);
  json_object_set_new(doc, "@id", json_string(id));
  return doc;
}

/* A change of a page, checked and prepared off the writer. */
enum pc_op { PC_SKIP, PC_DELETE, PC_UPSERT };
struct pchange {
  enum pc_op op;
  char *id; /* from malloc */
  int64_t version;
  struct tg__cat_prep prep; /* UPSERT: the canonical document, prepared */
};

/* A page prepared: it holds nothing of the parsed page, which the thread
 * that parsed it frees (a page's tree freed on another thread cost as much
 * again in the allocator's locks). */
struct tg_cat_index_page {
  char source[64];
  struct page_seqs seqs;
  json_t *refused; /* the entries refused, in the page's order */
  size_t n;
  struct pchange *c;
};

/* Checks change C of SOURCE into PC: a refusal is appended to REFUSED
 * (PC_SKIP) and is not an error. CTX is the fixed context. 0 or TG_ENOMEM. */
static int prepare_one(const char *source, const json_t *c, const json_t *ctx,
                       const struct tg_json_span *raw, json_t *refused, struct pchange *pc) {
  int64_t seq = json_integer_value(json_object_get(c, "seq"));
  const char *id = json_string_value(json_object_get(c, "id"));
  const char *op = json_string_value(json_object_get(c, "op"));
  const json_t *ver = json_object_get(c, "version");
  char owner[64];
  pc->op = PC_SKIP;
  if (id == NULL || op == NULL || !json_is_integer(ver) || json_integer_value(ver) < 1) {
    refuse(refused, seq, id, "malformed change: it needs id, op and a positive version");
    return 0;
  }
  if (tg_cat_dataset_owner(id, owner, sizeof(owner)) != 0 || strcmp(owner, source) != 0) {
    refuse(refused, seq, id, "node %s may publish only urn:tsunagu:%s:dataset:<local-id>", source,
           source);
    return 0;
  }
  pc->version = json_integer_value(ver);
  int del = strcmp(op, "delete") == 0;
  if (!del && strcmp(op, "upsert") != 0) {
    refuse(refused, seq, id, "unknown op");
    return 0;
  }
  if ((pc->id = strdup(id)) == NULL)
    return TG_ENOMEM;
  if (del) {
    pc->op = PC_DELETE;
    return 0;
  }
  char *text = NULL;
  json_t *doc = upsert_doc(json_object_get(c, "dataset"), id, seq, ctx, raw, &text, refused);
  if (doc == NULL)
    return 0;
  int rc = tg__cat_prep_doc(doc, text, &pc->prep);
  json_decref(doc);
  if (rc != 0)
    return TG_ENOMEM;
  pc->op = PC_UPSERT;
  return 0;
}

void tg_cat_index_page_free(struct tg_cat_index_page *pp) {
  if (pp == NULL)
    return;
  for (size_t i = 0; i < pp->n; i++) {
    free(pp->c[i].id);
    tg__cat_prep_free(&pp->c[i].prep);
  }
  free(pp->c);
  free(pp->seqs.seq);
  json_decref(pp->refused);
  free(pp);
}

/* The spans of the "dataset" members of the N changes of page TEXT (LEN
 * bytes) into RAW (zeroed where there is none); 0, or -1 when TEXT is not
 * laid out as the page says (RAW is then not used). */
static int raw_spans(const char *text, size_t len, size_t n, struct tg_json_span *raw) {
  const char *end = text + len, *it;
  struct tg_json_span ch, c;
  if (tg_json_member(text, end, "changes", &ch) != 0)
    return -1;
  it = ch.b;
  for (size_t i = 0; i < n; i++) {
    if (tg_json_next(&it, ch.e, &c) != 1)
      return -1;
    int r = tg_json_member(c.b, c.e, "dataset", &raw[i]);
    if (r < 0)
      return -1;
    if (r == 1)
      memset(&raw[i], 0, sizeof(raw[i]));
  }
  return tg_json_next(&it, ch.e, &c) == 0 ? 0 : -1;
}

int tg_cat_index_prepare(const char *source, json_t *page, const char *text, size_t len,
                         struct tg_cat_index_page **out, struct tg_err *err) {
  *out = NULL;
  if (source == NULL || !tg_node_id_valid(source))
    return tg_err_set(err, TG_EINVAL, "harvest index: bad source node");
  struct tg_cat_index_page *pp = calloc(1, sizeof(*pp));
  json_t *ch = json_object_get(page, "changes"), *ctx = tg_cat_context();
  /* A page the apply refuses whole (page_check) is not worked on. */
  size_t n = json_is_array(ch) && json_array_size(ch) <= TG_CAT_INDEX_MAX_PAGE
                 ? json_array_size(ch)
                 : 0;
  int rc = pp && ctx ? 0 : TG_ENOMEM;
  if (rc == 0) {
    snprintf(pp->source, sizeof(pp->source), "%s", source);
    rc = seqs_read(page, &pp->seqs);
    pp->refused = json_array();
    pp->c = n ? calloc(n, sizeof(*pp->c)) : NULL;
    if (rc || pp->refused == NULL || (n && pp->c == NULL))
      rc = TG_ENOMEM;
  }
  struct tg_json_span *raw = text != NULL && n > 0 ? calloc(n, sizeof(*raw)) : NULL;
  if (raw != NULL && raw_spans(text, len, n, raw) != 0) {
    free(raw);
    raw = NULL;
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = prepare_one(source, json_array_get(ch, i), ctx, raw ? &raw[i] : NULL, pp->refused,
                     &pp->c[i]);
    pp->n = i + 1;
  }
  free(raw);
  json_decref(ctx);
  if (rc) {
    tg_cat_index_page_free(pp);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  *out = pp;
  return 0;
}

/* Writes prepared change PC (a refused one is skipped). */
static int apply_one(struct tg_cat_store *ix, const struct pchange *pc, struct tg_err *err) {
  if (pc->op == PC_DELETE)
    return tg__cat_store_remove(ix, pc->id, err);
  if (pc->op == PC_UPSERT)
    return tg__cat_store_put_foreign_prep(ix, pc->id, &pc->prep, pc->version, err);
  return 0;
}

/* Records the applied page in SOURCE's row. */
static int source_done(struct tg_cat_store *ix, const char *source, int64_t last,
                       const json_t *refused, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  char *lr = NULL;
  size_t n = json_array_size(refused);
  if (n > 0) {
    json_t *few = json_array();
    for (size_t i = 0; i < n && i < LAST_REFUSED_MAX; i++)
      json_array_append(few, json_array_get(refused, i));
    lr = json_dumps(few, JSON_COMPACT);
    json_decref(few);
  }
  int rc = prepare(ix,
                   "INSERT INTO hv_source(node, last_seq, harvested_at, attempted_at, status,"
                   " refused, last_refused) VALUES(?1, ?2, ?3, ?3, 'ok', ?4, ?5)"
                   " ON CONFLICT(node) DO UPDATE SET last_seq = ?2, harvested_at = ?3,"
                   " attempted_at = ?3, status = 'ok', error = NULL, failures = 0,"
                   " refused = refused + ?4, last_refused = coalesce(?5, last_refused)",
                   &st, err);
  if (rc == 0) {
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, last);
    sqlite3_bind_int64(st, 3, tg_time_now());
    sqlite3_bind_int64(st, 4, (sqlite3_int64)n);
    if (lr != NULL)
      sqlite3_bind_text(st, 5, lr, -1, SQLITE_STATIC);
    rc = run(ix, st, err);
  }
  free(lr);
  return rc;
}

/* Checks that a page fetched from SINCE (-1: not known) starts where
 * SOURCE's row ends, LAST: a page asked from further on would skip what
 * lies between (the fetch read a last_seq that a drop has since reset).
 * 0, or TG_ECONFLICT with *LAST_SEQ_OUT (may be NULL) set to LAST. */
static int since_check(const char *source, int64_t since, int64_t last, int64_t *last_seq_out,
                       struct tg_err *err) {
  if (since < 0 || since == last)
    return 0;
  if (last_seq_out != NULL)
    *last_seq_out = last;
  return tg_err_set(err, TG_ECONFLICT,
                    "the page was asked from seq %lld but the index holds %s up to seq %lld:"
                    " fetch it again from there",
                    (long long)since, source, (long long)last);
}

/* Writes every prepared change of PP. */
static int apply_changes(struct tg_cat_store *ix, const struct tg_cat_index_page *pp,
                         struct tg_err *err) {
  int rc = 0;
  ix->terms_seen = json_object();
  for (size_t i = 0; i < pp->n && rc == 0; i++)
    rc = apply_one(ix, &pp->c[i], err);
  json_decref(ix->terms_seen);
  ix->terms_seen = NULL;
  return rc;
}

int tg_cat_index_apply(struct tg_cat_store *ix, const char *source, const json_t *page,
                       int64_t *last_seq_out, json_t **refused, struct tg_err *err) {
  return tg_cat_index_apply_from(ix, source, -1, page, last_seq_out, refused, err);
}

int tg_cat_index_apply_from(struct tg_cat_store *ix, const char *source, int64_t since,
                            const json_t *page, int64_t *last_seq_out, json_t **refused,
                            struct tg_err *err) {
  struct tg_cat_index_page *pp = NULL;
  if (refused != NULL)
    *refused = NULL;
  int rc = tg_cat_index_prepare(source, (json_t *)page, NULL, 0, &pp, err);
  if (rc == 0)
    rc = tg_cat_index_apply_page(ix, since, pp, last_seq_out, refused, err);
  tg_cat_index_page_free(pp);
  return rc;
}

int tg_cat_index_apply_page(struct tg_cat_store *ix, int64_t since,
                            const struct tg_cat_index_page *pp, int64_t *last_seq_out,
                            json_t **refused, struct tg_err *err) {
  int64_t last = 0;
  const char *source = pp->source;
  if (refused != NULL)
    *refused = NULL;
  if (strcmp(source, ix->node_id) == 0)
    return tg_err_set(err, TG_EINVAL, "harvest index: bad source node");
  /* last_seq is read inside the write transaction, so nothing (a drop of
   * the source) can change it between the checks and the writes. */
  int rc = tg_db_exec(ix->db, "BEGIN IMMEDIATE", err);
  if (rc == 0)
    rc = tg_cat_index_last_seq(ix, source, &last, err);
  if (rc == 0)
    rc = since_check(source, since, last, last_seq_out, err);
  if (rc == 0)
    rc = page_check(&pp->seqs, last, err);
  if (rc == 0)
    rc = apply_changes(ix, pp, err);
  int64_t new_last = pp->seqs.last_seq;
  if (rc == 0)
    rc = source_done(ix, source, new_last, pp->refused, err);
  if (rc == 0)
    rc = tg_db_exec(ix->db, "COMMIT", err);
  if (rc) {
    tg_db_exec(ix->db, "ROLLBACK", NULL);
    return rc;
  }
  if (last_seq_out != NULL)
    *last_seq_out = new_last;
  if (refused != NULL)
    *refused = json_incref(pp->refused);
  return 0;
}

int tg_cat_index_fail(struct tg_cat_store *ix, const char *source, const char *error,
                      struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(ix,
                   "INSERT INTO hv_source(node, attempted_at, status, error, failures)"
                   " VALUES(?1, ?2, 'failing', ?3, 1) ON CONFLICT(node) DO UPDATE SET"
                   " attempted_at = ?2, status = 'failing', error = ?3, failures = failures + 1",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, tg_time_now());
  sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_STATIC);
  return run(ix, st, err);
}

/* ---- sources and lookups ---- */

/* The id range of SOURCE's datasets: [LO, HI). */
static void id_range(const char *source, char *lo, char *hi, size_t n) {
  snprintf(lo, n, "urn:tsunagu:%s:dataset:", source);
  snprintf(hi, n, "urn:tsunagu:%s:dataset;", source); /* ';' follows ':' */
}

/* The ids of SOURCE's datasets: a new array. */
static int source_ids(struct tg_cat_store *ix, const char *source, json_t **out,
                      struct tg_err *err) {
  char lo[128], hi[128];
  sqlite3_stmt *st = NULL;
  id_range(source, lo, hi, sizeof(lo));
  int rc = prepare(ix, "SELECT id FROM cat_dataset WHERE id >= ?1 AND id < ?2", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
  json_t *a = json_array();
  int step;
  while (a != NULL && (step = sqlite3_step(st)) == SQLITE_ROW)
    json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
  if (a == NULL || step != SQLITE_DONE)
    rc = a == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(ix, err);
  sqlite3_finalize(st);
  if (rc)
    json_decref(a);
  else
    *out = a;
  return rc;
}

int tg_cat_index_drop_source(struct tg_cat_store *ix, const char *source, int64_t *n,
                             struct tg_err *err) {
  json_t *ids = NULL;
  sqlite3_stmt *st = NULL;
  if (n != NULL)
    *n = 0;
  int rc = tg_db_exec(ix->db, "BEGIN IMMEDIATE", err);
  if (rc)
    return rc;
  rc = source_ids(ix, source, &ids, err);
  for (size_t i = 0; rc == 0 && i < json_array_size(ids); i++)
    rc = tg__cat_store_remove(ix, json_string_value(json_array_get(ids, i)), err);
  if (rc == 0 && (rc = prepare(ix, "DELETE FROM hv_source WHERE node = ?1", &st, err)) == 0) {
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    rc = run(ix, st, err);
  }
  if (rc == 0)
    rc = tg_db_exec(ix->db, "COMMIT", err);
  if (rc)
    tg_db_exec(ix->db, "ROLLBACK", NULL);
  else if (n != NULL)
    *n = (int64_t)json_array_size(ids);
  json_decref(ids);
  return rc;
}

static void set_int_or_null(json_t *o, const char *k, sqlite3_stmt *st, int col) {
  json_object_set_new(o, k,
                      sqlite3_column_type(st, col) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(st, col)));
}

/* One source row of ST as a new object. */
static json_t *source_json(sqlite3_stmt *st) {
  const char *e = (const char *)sqlite3_column_text(st, 5);
  const char *lr = (const char *)sqlite3_column_text(st, 8);
  json_t *o = json_pack(
      "{s:s, s:I, s:I, s:s, s:s?, s:I, s:I}", "node", (const char *)sqlite3_column_text(st, 0),
      "last_seq", (json_int_t)sqlite3_column_int64(st, 1), "datasets",
      (json_int_t)sqlite3_column_int64(st, 9), "status", (const char *)sqlite3_column_text(st, 4),
      "error", e, "refused", (json_int_t)sqlite3_column_int64(st, 6), "failures",
      (json_int_t)sqlite3_column_int64(st, 7));
  if (o == NULL)
    return NULL;
  if (e == NULL)
    json_object_set_new(o, "error", json_null());
  set_int_or_null(o, "harvested_at", st, 2);
  set_int_or_null(o, "attempted_at", st, 3);
  json_t *l = lr ? json_loads(lr, 0, NULL) : NULL;
  json_object_set_new(o, "last_refused", l ? l : json_array());
  return o;
}

int tg_cat_index_sources(struct tg_cat_store *ix, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(ix,
                   "SELECT node, last_seq, harvested_at, attempted_at, status, error, refused,"
                   " failures, last_refused, (SELECT count(*) FROM cat_dataset WHERE"
                   " id >= 'urn:tsunagu:' || node || ':dataset:' AND"
                   " id < 'urn:tsunagu:' || node || ':dataset;')"
                   " FROM hv_source ORDER BY node",
                   &st, err);
  if (rc)
    return rc;
  json_t *a = json_array();
  int step;
  while (a != NULL && (step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *o = source_json(st);
    if (o != NULL)
      json_array_append_new(a, o);
  }
  if (a == NULL || step != SQLITE_DONE)
    rc = a == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(ix, err);
  sqlite3_finalize(st);
  if (rc)
    json_decref(a);
  else
    *out = a;
  return rc;
}

int tg_cat_index_harvest_times(struct tg_cat_store *ix, const struct tg_cat_harvest_time **out,
                               size_t *n, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int64_t version = 0;
  *out = NULL;
  *n = 0;
  int rc = prepare(ix, "PRAGMA data_version", &st, err);
  if (rc)
    return rc;
  if (sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int64(st, 0);
  else
    rc = db_err(ix, err);
  sqlite3_finalize(st);
  if (rc)
    return rc;
  if (!ix->hv_valid || ix->hv_version != version) {
    ix->hv_valid = 0;
    ix->hv_n = 0;
    rc = prepare(ix, "SELECT node, coalesce(harvested_at, 0) FROM hv_source ORDER BY node", &st,
                 err);
    if (rc)
      return rc;
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      if (ix->hv_n == cap) {
        size_t nc = cap ? cap * 2 : 64;
        struct tg_cat_harvest_time *t = realloc(ix->hv_times, nc * sizeof(*t));
        if (t == NULL)
          break;
        ix->hv_times = t;
        cap = nc;
      }
      struct tg_cat_harvest_time *t = &ix->hv_times[ix->hv_n++];
      snprintf(t->node, sizeof(t->node), "%s", (const char *)sqlite3_column_text(st, 0));
      t->at = sqlite3_column_int64(st, 1);
    }
    if (step != SQLITE_DONE)
      rc = step == SQLITE_ROW ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(ix, err);
    sqlite3_finalize(st);
    if (rc) {
      ix->hv_n = 0;
      return rc;
    }
    ix->hv_valid = 1;
    ix->hv_version = version;
  }
  *out = ix->hv_times;
  *n = ix->hv_n;
  return 0;
}

int tg_cat_index_sources_brief(struct tg_cat_store *ix, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(ix, "SELECT node, last_seq, harvested_at, status FROM hv_source ORDER BY node",
                   &st, err);
  if (rc)
    return rc;
  json_t *a = json_array();
  int step;
  while (a != NULL && (step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *o = json_pack("{s:s, s:I, s:s}", "node", (const char *)sqlite3_column_text(st, 0),
                          "last_seq", (json_int_t)sqlite3_column_int64(st, 1), "status",
                          (const char *)sqlite3_column_text(st, 3));
    if (o != NULL) {
      set_int_or_null(o, "harvested_at", st, 2);
      json_array_append_new(a, o);
    }
  }
  if (a == NULL || step != SQLITE_DONE)
    rc = a == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory") : db_err(ix, err);
  sqlite3_finalize(st);
  if (rc)
    json_decref(a);
  else
    *out = a;
  return rc;
}

int tg_cat_index_locate(struct tg_cat_store *ix, const char *id, char *owner, size_t n,
                        int64_t *harvested_at, struct tg_err *err) {
  char node[64];
  if (tg_cat_dataset_owner(id, node, sizeof(node)) != 0)
    return tg_err_set(err, TG_ENOENT, "%s is not a dataset id", id);
  sqlite3_stmt *st = NULL;
  int rc = prepare(ix, "SELECT modified FROM cat_dataset WHERE id = ?1 AND deleted = 0", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW && harvested_at != NULL)
    *harvested_at = sqlite3_column_int64(st, 0);
  if (step == SQLITE_DONE)
    rc = tg_err_set(err, TG_ENOENT, "the harvested index does not hold %s", id);
  else if (step != SQLITE_ROW)
    rc = db_err(ix, err);
  sqlite3_finalize(st);
  if (rc == 0 && (size_t)snprintf(owner, n, "%s", node) >= n)
    rc = tg_err_set(err, TG_ETOOBIG, "owner buffer too small");
  return rc;
}
