/* tg_voc_store: SKOS schemes and conversion profiles in SQLite: import (validated,
 * replace with ETag), export, label search, mappings both ways, hierarchy. Every
 * statement binds its parameters; no SQL is built from input. */
#include "tg_voc_store.h"
#include "tg_voc_conv.h"
#include "tg_voc_int.h"

#include "tg_buf.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_text.h"
#include "tg_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct tg_voc_store {
  sqlite3 *db; /* borrowed */
  int nested;  /* the caller holds the transaction (tg_voc_store_nest) */
};

void tg_voc_store_nest(struct tg_voc_store *s) { s->nested = 1; }

/* A write's transaction, or a savepoint in the caller's (nested). */
static int voc_begin(struct tg_voc_store *s, struct tg_err *err) {
  return tg_db_exec(s->db, s->nested ? "SAVEPOINT voc_write" : "BEGIN IMMEDIATE", err) ? TG_EDB
                                                                                       : 0;
}

static int voc_end(struct tg_voc_store *s, int rc, struct tg_err *err) {
  if (rc == 0 && tg_db_exec(s->db, s->nested ? "RELEASE voc_write" : "COMMIT", err) != 0)
    rc = TG_EDB;
  if (rc != 0)
    tg_db_exec(s->db, s->nested ? "ROLLBACK TO voc_write; RELEASE voc_write" : "ROLLBACK", NULL);
  return rc;
}

static const struct tg_db_migration migrations[] = {
  {1, "CREATE TABLE voc_scheme(id INTEGER PRIMARY KEY, uri TEXT NOT NULL UNIQUE,"
      " key TEXT NOT NULL UNIQUE, etag TEXT NOT NULL, updated INTEGER NOT NULL);"
      "CREATE TABLE voc_concept(uri TEXT PRIMARY KEY,"
      " scheme INTEGER NOT NULL REFERENCES voc_scheme(id) ON DELETE CASCADE);"
      "CREATE TABLE voc_triple(scheme INTEGER NOT NULL REFERENCES voc_scheme(id)"
      " ON DELETE CASCADE, s TEXT NOT NULL, p TEXT NOT NULL, o TEXT NOT NULL,"
      " lang TEXT NOT NULL, iri INTEGER NOT NULL, norm TEXT);"
      "CREATE INDEX voc_triple_s ON voc_triple(s, p);"
      "CREATE INDEX voc_triple_o ON voc_triple(o, p);"
      "CREATE INDEX voc_triple_scheme ON voc_triple(scheme);"
      "CREATE INDEX voc_concept_scheme ON voc_concept(scheme);"
      "CREATE TABLE voc_profile(id TEXT PRIMARY KEY, doc TEXT NOT NULL, etag TEXT NOT NULL,"
      " updated INTEGER NOT NULL);"},
    /* Labels folded by the node's one folding (tg_text_fold_key, NFKC_Casefold)
     * instead of vocab's own subset: "ÀLTO" is now "àlto", as in the catalog.
     * Later changes of the folding are VOC_FOLD_VERSION's business. */
    {2, "UPDATE voc_triple SET norm = tg_voc_fold_key(o) WHERE norm IS NOT NULL;"},
};
enum { N_MIGRATIONS = sizeof(migrations) / sizeof(migrations[0]) };

int tg__voc_normalize(const char *s, size_t len, struct tg_buf *out) {
  return tg_text_fold_key(s, len, out);
}

/* SQL tg_voc_fold_key(text): tg__voc_normalize for the migration that refolds
 * the stored labels. */
static void sql_fold_key(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  struct tg_buf b;
  (void)argc;
  const char *t = (const char *)sqlite3_value_text(argv[0]);
  if (t == NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  tg_buf_init(&b);
  if (tg__voc_normalize(t, (size_t)sqlite3_value_bytes(argv[0]), &b) != 0)
    sqlite3_result_error_nomem(ctx);
  else
    sqlite3_result_text(ctx, b.data, (int)b.len, SQLITE_TRANSIENT);
  tg_buf_close(&b);
}

/* The version of the folding behind voc_triple.norm (the label index): bump
 * it when common/tg_text's tg_text_fold_key changes what a label folds to
 * (catalog/cat_store.c's CAT_FOLD_VERSION follows the same folding), and
 * every store refolds its labels on its next open. Kept as the version of
 * component VOC_FOLD_COMPONENT in tg_schema.
 * 1: utf8proc NFKC_Casefold plus the Japanese specifics. */
#define VOC_FOLD_VERSION 1
#define VOC_FOLD_COMPONENT "vocab.fold"

/* Refolds the stored labels when they were folded by another version, once,
 * under the write lock. Returns 0 or TG_EDB (then nothing changed). */
static int fold_check(sqlite3 *db, struct tg_err *err) {
  if (tg_db_version(db, VOC_FOLD_COMPONENT) == VOC_FOLD_VERSION)
    return 0;
  int rc = tg_db_exec(db, "BEGIN IMMEDIATE", err);
  if (rc)
    return rc;
  if (tg_db_version(db, VOC_FOLD_COMPONENT) != VOC_FOLD_VERSION) {
    rc = tg_db_exec(db, "UPDATE voc_triple SET norm = tg_voc_fold_key(o) WHERE norm IS NOT NULL",
                    err);
    sqlite3_stmt *st = NULL;
    if (rc == 0 && sqlite3_prepare_v2(db,
                                      "INSERT INTO tg_schema(component, version) VALUES(?1, ?2)"
                                      " ON CONFLICT(component) DO UPDATE"
                                      " SET version = excluded.version",
                                      -1, &st, NULL) != SQLITE_OK)
      rc = tg_err_set(err, TG_EDB, "vocabulary store: %s", sqlite3_errmsg(db));
    if (rc == 0) {
      sqlite3_bind_text(st, 1, VOC_FOLD_COMPONENT, -1, SQLITE_STATIC);
      sqlite3_bind_int(st, 2, VOC_FOLD_VERSION);
      if (sqlite3_step(st) != SQLITE_DONE)
        rc = tg_err_set(err, TG_EDB, "vocabulary store: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
  }
  if (rc == 0)
    rc = tg_db_exec(db, "COMMIT", err);
  if (rc)
    tg_db_exec(db, "ROLLBACK", NULL);
  return rc;
}

static const char MATCH_PROPS[] =
    "('exactMatch','closeMatch','broadMatch','narrowMatch','relatedMatch')";

int tg_voc_store_open(sqlite3 *db, struct tg_voc_store **out, struct tg_err *err) {
  struct tg_voc_store *s;
  int rc;
  *out = NULL;
  if (sqlite3_create_function(db, "tg_voc_fold_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                              sql_fold_key, NULL, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "vocabulary store: %s", sqlite3_errmsg(db));
  if ((rc = tg_db_migrate(db, "vocab", migrations, N_MIGRATIONS, err)) != 0 ||
      (rc = fold_check(db, err)) != 0)
    return rc;
  if ((s = calloc(1, sizeof(*s))) == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  s->db = db;
  *out = s;
  return 0;
}

void tg_voc_store_close(struct tg_voc_store *s) { free(s); }

/* ---- statement helpers ------------------------------------------------ */

static int db_fail(struct tg_voc_store *s, struct tg_err *err) {
  return tg_err_set(err, TG_EDB, "vocabulary store: %s", sqlite3_errmsg(s->db));
}

/* Prepares SQL and binds the NULL-terminated text parameters that follow. */
static sqlite3_stmt *prep(struct tg_voc_store *s, const char *sql, ...) {
  sqlite3_stmt *st = NULL;
  va_list ap;
  const char *v;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return NULL;
  va_start(ap, sql);
  for (int i = 1; (v = va_arg(ap, const char *)) != NULL; i++)
    if (sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
      sqlite3_finalize(st);
      st = NULL;
      break;
    }
  va_end(ap);
  return st;
}

static const char *col(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? (const char *)t : "";
}

static char *new_etag(void) {
  unsigned char r[8];
  char *hex = malloc(17);
  if (hex == NULL || tg_random_bytes(r, sizeof(r)) != 0) {
    free(hex);
    return NULL;
  }
  tg_hex(r, sizeof(r), hex);
  return hex;
}

/* Scheme row id for KEY (URI or id), 0 if none, TG_EDB or TG_ENOMEM. */
static sqlite3_int64 scheme_id(struct tg_voc_store *s, const char *key, char **etag) {
  sqlite3_stmt *st = prep(s, "SELECT id, etag FROM voc_scheme WHERE uri = ?1 OR key = ?1 "
                             "ORDER BY uri = ?1 DESC LIMIT 1", key, NULL);
  sqlite3_int64 id = TG_EDB;
  if (st == NULL)
    return TG_EDB;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    id = sqlite3_column_int64(st, 0);
    if (etag && (*etag = strdup(col(st, 1))) == NULL)
      id = TG_ENOMEM;
  } else if (rc == SQLITE_DONE) {
    id = 0;
  }
  sqlite3_finalize(st);
  return id;
}

/* {lang: text} of URI's prefLabels (new reference). */
static json_t *pref_labels(struct tg_voc_store *s, const char *uri) {
  json_t *o = json_object();
  sqlite3_stmt *st = prep(s, "SELECT lang, o FROM voc_triple WHERE s = ?1 AND p = 'prefLabel'",
                          uri, NULL);
  if (st == NULL || o == NULL) {
    sqlite3_finalize(st);
    json_decref(o);
    return NULL;
  }
  while (sqlite3_step(st) == SQLITE_ROW)
    json_object_set_new(o, col(st, 0), json_string(col(st, 1)));
  sqlite3_finalize(st);
  return o;
}

/* ---- import ----------------------------------------------------------- */

static int valid_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.';
}

/* The scheme's short id: its dct:identifier if that is a plain token, else its URI
 * without "urn:" or "http(s)://" and with every other character than A-Z a-z 0-9 - _ .
 * made '-' (urn:a-city:vocab:stations -> a-city-vocab-stations). Writes into OUT. */
static int scheme_key(const struct tg__voc_graph *g, char *out, size_t n) {
  const char *id = NULL, *p;
  size_t w = 0;
  for (size_t i = 0; i < g->n; i++)
    if (g->t[i].p == TG__VOC_P_IDENT && strcmp(g->t[i].s, g->scheme) == 0)
      id = g->t[i].o;
  if (id != NULL) {
    for (p = id; *p && valid_key_char(*p); p++)
      ;
    if (*p || p == id || (size_t)(p - id) >= n)
      return TG_EINVAL;
    memcpy(out, id, (size_t)(p - id) + 1);
    return 0;
  }
  id = g->scheme;
  static const char *const pfx[] = {"urn:", "https://", "http://"};
  for (size_t i = 0; i < 3; i++)
    if (strncmp(id, pfx[i], strlen(pfx[i])) == 0) {
      id += strlen(pfx[i]);
      break;
    }
  for (p = id; *p; p++) {
    char c = valid_key_char(*p) ? *p : '-';
    if (c == '-' && (w == 0 || out[w - 1] == '-'))
      continue;
    if (w + 1 >= n)
      return TG_EINVAL;
    out[w++] = c;
  }
  while (w > 0 && out[w - 1] == '-')
    w--;
  out[w] = '\0';
  return w ? 0 : TG_EINVAL;
}

static int is_label(int p) {
  return p == TG__VOC_P_PREF || p == TG__VOC_P_ALT || p == TG__VOC_P_HIDDEN ||
         p == TG__VOC_P_NOTATION;
}

static int insert_graph(struct tg_voc_store *s, const struct tg__voc_graph *g,
                        sqlite3_int64 sid, struct tg_err *err) {
  sqlite3_stmt *ct = prep(s, "INSERT INTO voc_concept(uri, scheme) VALUES (?1, ?2)", NULL);
  sqlite3_stmt *tt = prep(s, "INSERT INTO voc_triple(scheme, s, p, o, lang, iri, norm) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", NULL);
  struct tg_buf norm;
  int rc = (ct && tt) ? 0 : db_fail(s, err);
  tg_buf_init(&norm);
  for (size_t i = 0; rc == 0 && i < g->n; i++) {
    const struct tg__voc_triple *t = &g->t[i];
    if (tg__voc_is_stub(g, i))
      continue;
    if (t->p == TG__VOC_P_TYPE && strcmp(t->o, TG_VOC_NS_SKOS "Concept") == 0) {
      sqlite3_reset(ct);
      sqlite3_bind_text(ct, 1, t->s, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ct, 2, sid);
      if (sqlite3_step(ct) != SQLITE_DONE) {
        rc = sqlite3_errcode(s->db) == SQLITE_CONSTRAINT
                 ? tg_err_set(err, TG_EEXIST, "%s: this concept belongs to another stored scheme",
                              t->s)
                 : db_fail(s, err);
        break;
      }
    }
    tg_buf_reset(&norm);
    if (is_label(t->p) && tg__voc_normalize(t->o, strlen(t->o), &norm) != 0) {
      rc = tg_err_set(err, TG_ENOMEM, "out of memory");
      break;
    }
    sqlite3_reset(tt);
    sqlite3_bind_int64(tt, 1, sid);
    sqlite3_bind_text(tt, 2, t->s, -1, SQLITE_STATIC);
    sqlite3_bind_text(tt, 3, tg__voc_props[t->p].name, -1, SQLITE_STATIC);
    sqlite3_bind_text(tt, 4, t->o, -1, SQLITE_STATIC);
    sqlite3_bind_text(tt, 5, t->lang, -1, SQLITE_STATIC);
    sqlite3_bind_int(tt, 6, t->iri);
    if (is_label(t->p))
      sqlite3_bind_text(tt, 7, norm.data, (int)norm.len, SQLITE_STATIC);
    else
      sqlite3_bind_null(tt, 7);
    if (sqlite3_step(tt) != SQLITE_DONE)
      rc = db_fail(s, err);
  }
  tg_buf_close(&norm);
  sqlite3_finalize(ct);
  sqlite3_finalize(tt);
  return rc;
}

static int import_tx(struct tg_voc_store *s, const struct tg__voc_graph *g, const char *key,
                     int flags, const char *if_match, const char *etag, struct tg_err *err) {
  char *old_etag = NULL;
  sqlite3_stmt *st;
  sqlite3_int64 sid = scheme_id(s, g->scheme, &old_etag);
  int rc = 0;
  if (sid < 0)
    return db_fail(s, err);
  /* scheme_id matches the id too; only the same URI counts as "the same scheme" */
  if (sid > 0) {
    st = prep(s, "SELECT uri FROM voc_scheme WHERE id = ?1", NULL);
    if (st == NULL) {
      free(old_etag);
      return db_fail(s, err);
    }
    sqlite3_bind_int64(st, 1, sid);
    if (sqlite3_step(st) == SQLITE_ROW && strcmp(col(st, 0), g->scheme) != 0) {
      sid = 0;
      free(old_etag);
      old_etag = NULL;
    }
    sqlite3_finalize(st);
  }
  if (sid > 0 && !(flags & TG_VOC_IMPORT_REPLACE))
    rc = tg_err_set(err, TG_EEXIST, "scheme %s already exists", g->scheme);
  else if (sid == 0 && if_match)
    rc = tg_err_set(err, TG_ECONFLICT, "scheme %s does not exist (If-Match)", g->scheme);
  else if (sid > 0 && if_match && strcmp(if_match, old_etag) != 0)
    rc = tg_err_set(err, TG_ECONFLICT, "scheme %s has changed (ETag %s)", g->scheme, old_etag);
  free(old_etag);
  if (rc)
    return rc;
  if (sid > 0) {
    static const char *const del[] = {"DELETE FROM voc_triple WHERE scheme = ?1",
                                      "DELETE FROM voc_concept WHERE scheme = ?1",
                                      "DELETE FROM voc_scheme WHERE id = ?1"};
    for (size_t i = 0; i < 3 && rc == 0; i++) {
      if ((st = prep(s, del[i], NULL)) == NULL)
        return db_fail(s, err);
      sqlite3_bind_int64(st, 1, sid);
      if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(s, err);
      sqlite3_finalize(st);
    }
    if (rc)
      return rc;
  }
  st = prep(s, "INSERT INTO voc_scheme(uri, key, etag, updated) VALUES (?1, ?2, ?3, ?4)",
            g->scheme, key, etag, NULL);
  if (st == NULL)
    return db_fail(s, err);
  sqlite3_bind_int64(st, 4, tg_time_now());
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = sqlite3_errcode(s->db) == SQLITE_CONSTRAINT
             ? tg_err_set(err, TG_EEXIST, "another scheme already uses the id '%s'", key)
             : db_fail(s, err);
  sqlite3_finalize(st);
  if (rc)
    return rc;
  return insert_graph(s, g, sqlite3_last_insert_rowid(s->db), err);
}

int tg_voc_scheme_import(struct tg_voc_store *s, const json_t *doc, int flags,
                         const char *if_match, char **uri_out, char **etag_out,
                         struct tg_err *err) {
  struct tg__voc_graph g;
  char key[129], *etag;
  int rc;
  if (uri_out)
    *uri_out = NULL;
  if (etag_out)
    *etag_out = NULL;
  if ((rc = tg__voc_graph_from_jsonld(doc, &g, err)) != 0)
    return rc;
  if (scheme_key(&g, key, sizeof(key)) != 0) {
    rc = tg_err_set(err, TG_EINVAL, "%s: cannot derive a short id (give dct:identifier "
                                    "of A-Z a-z 0-9 - _ .)", g.scheme);
    tg__voc_graph_close(&g);
    return rc;
  }
  if ((etag = new_etag()) == NULL) {
    tg__voc_graph_close(&g);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  if (voc_begin(s, err) != 0) {
    free(etag);
    tg__voc_graph_close(&g);
    return TG_EDB;
  }
  rc = voc_end(s, import_tx(s, &g, key, flags, if_match, etag, err), err);
  if (rc == 0 && uri_out && (*uri_out = strdup(g.scheme)) == NULL)
    rc = TG_ENOMEM;
  if (rc == 0 && etag_out) {
    *etag_out = etag;
    etag = NULL;
  }
  free(etag);
  tg__voc_graph_close(&g);
  return rc;
}

/* ---- export and reads ------------------------------------------------- */

/* Loads the rows of ST (s, p, o, lang, iri) into G. */
static int load_rows(sqlite3_stmt *st, struct tg__voc_graph *g) {
  int rc = 0, step;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    int p = tg__voc_prop_find(col(st, 1));
    if (p >= 0)
      rc = tg__voc_graph_add(g, col(st, 0), p, col(st, 2), col(st, 3),
                             sqlite3_column_int(st, 4));
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = TG_EDB;
  tg__voc_graph_sort(g);
  return rc;
}

int tg_voc_scheme_export(struct tg_voc_store *s, const char *key, json_t **out,
                         char **etag_out, struct tg_err *err) {
  struct tg__voc_graph g;
  char *etag = NULL;
  sqlite3_int64 sid = scheme_id(s, key, &etag);
  sqlite3_stmt *st;
  int rc;
  *out = NULL;
  if (sid < 0)
    return db_fail(s, err);
  if (sid == 0)
    return tg_err_set(err, TG_ENOENT, "no scheme '%s'", key);
  tg__voc_graph_init(&g);
  st = prep(s, "SELECT s, p, o, lang, iri FROM voc_triple WHERE scheme = ?1", NULL);
  if (st == NULL) {
    free(etag);
    return db_fail(s, err);
  }
  sqlite3_bind_int64(st, 1, sid);
  rc = load_rows(st, &g);
  sqlite3_finalize(st);
  for (size_t i = 0; rc == 0 && i < g.n && g.scheme == NULL; i++)
    if (g.t[i].p == TG__VOC_P_TYPE && strcmp(g.t[i].o, TG_VOC_NS_SKOS "ConceptScheme") == 0 &&
        (g.scheme = strdup(g.t[i].s)) == NULL)
      rc = TG_ENOMEM;
  if (rc == 0 && (*out = tg__voc_graph_to_jsonld(&g)) == NULL)
    rc = TG_ENOMEM;
  tg__voc_graph_close(&g);
  if (rc != 0) {
    free(etag);
    return rc == TG_EDB ? db_fail(s, err) : tg_err_set(err, rc, "%s", tg_strerror(rc));
  }
  if (etag_out)
    *etag_out = etag;
  else
    free(etag);
  return 0;
}

int tg_voc_scheme_list(struct tg_voc_store *s, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = prep(s, "SELECT sc.uri, sc.key, sc.etag, (SELECT count(*) FROM voc_concept"
                             " c WHERE c.scheme = sc.id) FROM voc_scheme sc ORDER BY sc.key",
                          NULL);
  json_t *arr = json_array();
  *out = NULL;
  if (st == NULL || arr == NULL) {
    sqlite3_finalize(st);
    json_decref(arr);
    return db_fail(s, err);
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    json_t *title = json_object();
    sqlite3_stmt *tt = prep(s, "SELECT lang, o FROM voc_triple WHERE s = ?1 AND p = 'title'",
                            col(st, 0), NULL);
    while (tt && title && sqlite3_step(tt) == SQLITE_ROW)
      json_object_set_new(title, col(tt, 0), json_string(col(tt, 1)));
    sqlite3_finalize(tt);
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o*, s:I}", "uri", col(st, 0), "id",
                                         col(st, 1), "etag", col(st, 2), "title", title,
                                         "concepts", (json_int_t)sqlite3_column_int64(st, 3)));
  }
  sqlite3_finalize(st);
  *out = arr;
  return 0;
}

int tg_voc_scheme_delete(struct tg_voc_store *s, const char *key, struct tg_err *err) {
  sqlite3_int64 sid = scheme_id(s, key, NULL);
  static const char *const del[] = {"DELETE FROM voc_triple WHERE scheme = ?1",
                                    "DELETE FROM voc_concept WHERE scheme = ?1",
                                    "DELETE FROM voc_scheme WHERE id = ?1"};
  int rc = 0;
  if (sid < 0)
    return db_fail(s, err);
  if (sid == 0)
    return tg_err_set(err, TG_ENOENT, "no scheme '%s'", key);
  if (voc_begin(s, err) != 0)
    return TG_EDB;
  for (size_t i = 0; i < 3 && rc == 0; i++) {
    sqlite3_stmt *st = prep(s, del[i], NULL);
    if (st == NULL) {
      rc = db_fail(s, err);
      break;
    }
    sqlite3_bind_int64(st, 1, sid);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_fail(s, err);
    sqlite3_finalize(st);
  }
  return voc_end(s, rc, err);
}

/* The scheme URI holding concept URI, as a new json string or json null. */
static json_t *scheme_of(struct tg_voc_store *s, const char *uri) {
  sqlite3_stmt *st = prep(s, "SELECT sc.uri FROM voc_concept c JOIN voc_scheme sc ON "
                             "sc.id = c.scheme WHERE c.uri = ?1", uri, NULL);
  json_t *v = NULL;
  if (st && sqlite3_step(st) == SQLITE_ROW)
    v = json_string(col(st, 0));
  sqlite3_finalize(st);
  return v ? v : json_null();
}

int tg_voc_concept_get(struct tg_voc_store *s, const char *uri, json_t **out,
                       struct tg_err *err) {
  struct tg__voc_graph g;
  sqlite3_stmt *st = prep(s, "SELECT s, p, o, lang, iri FROM voc_triple WHERE s = ?1", uri,
                          NULL);
  int rc;
  *out = NULL;
  if (st == NULL)
    return db_fail(s, err);
  tg__voc_graph_init(&g);
  rc = load_rows(st, &g);
  sqlite3_finalize(st);
  if (rc == 0 && g.n == 0)
    rc = tg_err_set(err, TG_ENOENT, "no concept '%s'", uri);
  else if (rc == 0 && (*out = tg__voc_node_json(&g, 0, g.n)) == NULL)
    rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  else if (rc == 0)
    json_object_set_new(*out, "scheme", scheme_of(s, uri));
  else if (rc == TG_EDB)
    db_fail(s, err);
  tg__voc_graph_close(&g);
  return rc;
}

/* ---- search ----------------------------------------------------------- */

int tg_voc_search(struct tg_voc_store *s, const char *q, const char *lang, const char *scheme,
                  size_t limit, json_t **out, struct tg_err *err) {
  struct tg_buf nq;
  sqlite3_stmt *st;
  json_t *hits, *seen;
  *out = NULL;
  if (limit == 0 || limit > 1000)
    limit = limit ? 1000 : 20;
  tg_buf_init(&nq);
  if (q == NULL || tg__voc_normalize(q, strlen(q), &nq) != 0 || nq.len == 0) {
    tg_buf_close(&nq);
    return tg_err_set(err, TG_EINVAL, "empty search");
  }
  st = prep(s,
            "SELECT t.s, t.p, t.o, t.lang, sc.uri FROM voc_triple t"
            " JOIN voc_scheme sc ON sc.id = t.scheme"
            " WHERE t.norm IS NOT NULL AND instr(t.norm, ?1) > 0"
            " AND (?2 IS NULL OR t.lang = ?2 OR t.p = 'notation')"
            " AND (?3 IS NULL OR sc.uri = ?3 OR sc.key = ?3)"
            " ORDER BY t.norm = ?1 DESC, substr(t.norm, 1, length(?1)) = ?1 DESC,"
            " CASE t.p WHEN 'prefLabel' THEN 0 WHEN 'notation' THEN 1 WHEN 'altLabel' THEN 2"
            " ELSE 3 END, length(t.norm), t.s",
            nq.data, NULL);
  tg_buf_close(&nq);
  if (st == NULL)
    return db_fail(s, err);
  if (lang)
    sqlite3_bind_text(st, 2, lang, -1, SQLITE_TRANSIENT);
  if (scheme)
    sqlite3_bind_text(st, 3, scheme, -1, SQLITE_TRANSIENT);
  hits = json_array();
  seen = json_object();
  while (hits && seen && json_array_size(hits) < limit && sqlite3_step(st) == SQLITE_ROW) {
    const char *uri = col(st, 0);
    if (json_object_get(seen, uri))
      continue;
    json_object_set_new(seen, uri, json_true());
    json_array_append_new(hits, json_pack("{s:s, s:s, s:o*, s:{s:s, s:s, s:s}}", "uri", uri,
                                          "scheme", col(st, 4), "prefLabel",
                                          pref_labels(s, uri), "matched", "property",
                                          col(st, 1), "value", col(st, 2), "lang", col(st, 3)));
  }
  sqlite3_finalize(st);
  json_decref(seen);
  if (hits == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  *out = hits;
  return 0;
}

/* ---- mappings and hierarchy ------------------------------------------- */

static const char *inverse_match(const char *p) {
  if (strcmp(p, "broadMatch") == 0)
    return "narrowMatch";
  if (strcmp(p, "narrowMatch") == 0)
    return "broadMatch";
  return p; /* exact, close and related are symmetric */
}

int tg_voc_mappings(struct tg_voc_store *s, const char *uri, json_t **out, struct tg_err *err) {
  char sql[256];
  json_t *arr = json_array();
  *out = NULL;
  if (arr == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  for (int dir = 0; dir < 2; dir++) {
    snprintf(sql, sizeof(sql),
             dir == 0 ? "SELECT p, o FROM voc_triple WHERE s = ?1 AND p IN %s ORDER BY p, o"
                      : "SELECT p, s FROM voc_triple WHERE o = ?1 AND iri = 1 AND p IN %s "
                        "ORDER BY p, s",
             MATCH_PROPS);
    sqlite3_stmt *st = prep(s, sql, uri, NULL);
    if (st == NULL) {
      json_decref(arr);
      return db_fail(s, err);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *other = col(st, 1);
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "relation",
                                           dir == 0 ? col(st, 0) : inverse_match(col(st, 0)),
                                           "uri", other, "direction",
                                           dir == 0 ? "outgoing" : "incoming", "scheme",
                                           scheme_of(s, other)));
    }
    sqlite3_finalize(st);
  }
  *out = arr;
  return 0;
}

static int related_list(struct tg_voc_store *s, const char *uri, const char *down,
                        const char *up, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = prep(s, "SELECT o FROM voc_triple WHERE s = ?1 AND p = ?2 UNION "
                             "SELECT s FROM voc_triple WHERE o = ?1 AND p = ?3 AND iri = 1 "
                             "ORDER BY 1", uri, down, up, NULL);
  json_t *arr = json_array();
  *out = NULL;
  if (st == NULL || arr == NULL) {
    sqlite3_finalize(st);
    json_decref(arr);
    return db_fail(s, err);
  }
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(arr, json_pack("{s:s, s:o*}", "uri", col(st, 0), "prefLabel",
                                         pref_labels(s, col(st, 0))));
  sqlite3_finalize(st);
  *out = arr;
  return 0;
}

int tg_voc_broader(struct tg_voc_store *s, const char *uri, json_t **out, struct tg_err *err) {
  return related_list(s, uri, "broader", "narrower", out, err);
}

int tg_voc_narrower(struct tg_voc_store *s, const char *uri, json_t **out, struct tg_err *err) {
  return related_list(s, uri, "narrower", "broader", out, err);
}

/* ---- profiles --------------------------------------------------------- */

int tg_voc_profile_put(struct tg_voc_store *s, const json_t *doc, int replace,
                       const char *if_match, char **etag_out, struct tg_err *err) {
  struct tg_voc_profile *p;
  char *text, *old = NULL, *etag;
  int rc = tg_voc_profile_new(doc, &p, err);
  sqlite3_stmt *st;
  if (etag_out)
    *etag_out = NULL;
  if (rc != 0)
    return rc;
  text = json_dumps(doc, JSON_COMPACT);
  etag = new_etag();
  if (text == NULL || etag == NULL) {
    rc = tg_err_set(err, TG_ENOMEM, "out of memory");
    goto out;
  }
  st = prep(s, "SELECT etag FROM voc_profile WHERE id = ?1", tg_voc_profile_id(p), NULL);
  if (st && sqlite3_step(st) == SQLITE_ROW)
    old = strdup(col(st, 0));
  sqlite3_finalize(st);
  if (st == NULL) {
    rc = db_fail(s, err);
  } else if (old && !replace) {
    rc = tg_err_set(err, TG_EEXIST, "profile %s already exists", tg_voc_profile_id(p));
  } else if (if_match && (old == NULL || strcmp(old, if_match) != 0)) {
    rc = tg_err_set(err, TG_ECONFLICT, "profile %s has changed (ETag %s)", tg_voc_profile_id(p),
                    old ? old : "none");
  } else {
    st = prep(s, "INSERT OR REPLACE INTO voc_profile(id, doc, etag, updated) "
                 "VALUES (?1, ?2, ?3, ?4)", tg_voc_profile_id(p), text, etag, NULL);
    if (st)
      sqlite3_bind_int64(st, 4, tg_time_now());
    if (st == NULL || sqlite3_step(st) != SQLITE_DONE)
      rc = db_fail(s, err);
    sqlite3_finalize(st);
  }
  if (rc == 0 && etag_out) {
    *etag_out = etag;
    etag = NULL;
  }
out:
  free(old);
  free(etag);
  free(text);
  tg_voc_profile_free(p);
  return rc;
}

int tg_voc_profile_get(struct tg_voc_store *s, const char *id, json_t **doc,
                       struct tg_voc_profile **p, char **etag_out, struct tg_err *err) {
  sqlite3_stmt *st = prep(s, "SELECT doc, etag FROM voc_profile WHERE id = ?1", id, NULL);
  json_t *d = NULL;
  int rc = 0;
  if (doc)
    *doc = NULL;
  if (p)
    *p = NULL;
  if (etag_out)
    *etag_out = NULL;
  if (st == NULL)
    return db_fail(s, err);
  int step = sqlite3_step(st);
  if (step == SQLITE_DONE) {
    rc = tg_err_set(err, TG_ENOENT, "no profile '%s'", id);
  } else if (step != SQLITE_ROW) {
    rc = db_fail(s, err);
  } else if ((d = json_loads(col(st, 0), 0, NULL)) == NULL) {
    rc = tg_err_set(err, TG_EINVAL, "stored profile '%s' is not JSON", id);
  } else if (etag_out && (*etag_out = strdup(col(st, 1))) == NULL) {
    rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  sqlite3_finalize(st);
  if (rc == 0 && p != NULL && (rc = tg_voc_profile_new(d, p, err)) == 0 &&
      (rc = tg_voc_store_bind_profile(s, *p, err)) != 0) {
    tg_voc_profile_free(*p);
    *p = NULL;
  }
  if (rc == 0 && doc)
    *doc = json_incref(d);
  if (rc != 0 && etag_out) {
    free(*etag_out);
    *etag_out = NULL;
  }
  json_decref(d);
  return rc;
}

int tg_voc_profile_delete(struct tg_voc_store *s, const char *id, struct tg_err *err) {
  sqlite3_stmt *st = prep(s, "DELETE FROM voc_profile WHERE id = ?1", id, NULL);
  int rc = 0;
  if (st == NULL || sqlite3_step(st) != SQLITE_DONE)
    rc = db_fail(s, err);
  else if (sqlite3_changes(s->db) == 0)
    rc = tg_err_set(err, TG_ENOENT, "no profile '%s'", id);
  sqlite3_finalize(st);
  return rc;
}

int tg_voc_profile_list(struct tg_voc_store *s, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = prep(s, "SELECT id, etag, doc FROM voc_profile ORDER BY id", NULL);
  json_t *arr = json_array();
  *out = NULL;
  if (st == NULL || arr == NULL) {
    sqlite3_finalize(st);
    json_decref(arr);
    return db_fail(s, err);
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    json_t *d = json_loads(col(st, 2), 0, NULL);
    json_t *title = json_object_get(d, "title");
    json_array_append_new(arr, json_pack("{s:s, s:s, s:O?}", "id", col(st, 0), "etag",
                                         col(st, 1), "title", title));
    json_decref(d);
  }
  sqlite3_finalize(st);
  *out = arr;
  return 0;
}

int tg_voc_store_bind_profile(struct tg_voc_store *s, struct tg_voc_profile *p,
                              struct tg_err *err) {
  const char *from, *to, *table;
  for (size_t i = 0; tg__voc_profile_map(p, i, &from, &to, &table) == 0; i++) {
    json_t *seen = json_object(); /* local notation -> national, or null if ambiguous */
    sqlite3_stmt *st = prep(
        s,
        "SELECT DISTINCT n1.o, n2.o FROM voc_concept c1"
        " JOIN voc_scheme s1 ON s1.id = c1.scheme AND (s1.uri = ?1 OR s1.key = ?1)"
        " JOIN voc_triple n1 ON n1.s = c1.uri AND n1.p = 'notation'"
        " JOIN voc_triple m ON m.p = 'exactMatch' AND m.iri = 1 AND (m.s = c1.uri OR m.o = c1.uri)"
        " JOIN voc_concept c2 ON c2.uri = (CASE WHEN m.s = c1.uri THEN m.o ELSE m.s END)"
        " JOIN voc_scheme s2 ON s2.id = c2.scheme AND (s2.uri = ?2 OR s2.key = ?2)"
        " JOIN voc_triple n2 ON n2.s = c2.uri AND n2.p = 'notation'",
        from, to, NULL);
    if (st == NULL || seen == NULL) {
      sqlite3_finalize(st);
      json_decref(seen);
      return db_fail(s, err);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      json_t *prev = json_object_get(seen, col(st, 0));
      if (prev == NULL)
        json_object_set_new(seen, col(st, 0), json_string(col(st, 1)));
      else if (!json_is_null(prev) && strcmp(json_string_value(prev), col(st, 1)) != 0)
        json_object_set_new(seen, col(st, 0), json_null()); /* never pick one of two */
    }
    sqlite3_finalize(st);
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(seen, k, v) {
      if (json_is_string(v) && rc == 0)
        rc = tg_voc_profile_table_set(p, table, k, json_string_value(v));
    }
    json_decref(seen);
    if (rc != 0)
      return tg_err_set(err, rc, "out of memory");
  }
  return 0;
}
