/* cat_store: the store's internals shared by cat_store.c and cat_search.c. */
#ifndef TG_CAT_STORE_H
#define TG_CAT_STORE_H

#include "tg_buf.h"
#include "tg_cat.h"
struct tg__cat_search_cache;

struct tg_cat_store {
  sqlite3 *db;      /* borrowed from the caller */
  char node_id[64];
  char **schemes;   /* from malloc(); NULL means the default theme schemes */
  size_t nschemes;
  int in_batch;     /* inside tg_cat_batch_begin(): writes use savepoints */
  int index_mode;   /* the harvested index: peers' datasets, written by cat_index.c only */
  int nested;       /* the caller holds the transaction (tg_cat_store_nest) */
  struct tg__cat_search_cache *sc; /* cat_search.c's prepared statements, or NULL */
  /* While a harvested page is applied (tg_cat_index_apply): the cat_term
   * terms written in its transaction, so each is inserted once, not once per
   * dataset that uses it (a JSON object as a set); NULL otherwise. */
  json_t *terms_seen;
  /* tg_cat_index_harvest_times' copy of hv_source, and the connection's
   * data_version it was read at (valid when hv_valid). */
  struct tg_cat_harvest_time *hv_times;
  size_t hv_n;
  int64_t hv_version;
  int hv_valid;
  sqlite3_stmt *wst[12];           /* the write path's prepared statements (cat_store.c),
                                      prepared on first use, finalised by tg_cat_store_free */
};

/* Finalises and frees S's search cache (cat_search.c); S->sc becomes NULL. */
void tg__cat_search_cache_free(struct tg_cat_store *s);

/* The harvested index's writes (cat_index.c calls them inside its own
 * transaction): stores DOC (borrowed, canonical) as dataset ID of another
 * node at the owner's VERSION, with its search and facet rows; removes ID
 * with its rows (no tombstone; a no-op when absent). 0 or TG_EDB/TG_ENOMEM. */
int tg__cat_store_put_foreign(struct tg_cat_store *s, const char *id, json_t *doc,
                              int64_t version, struct tg_err *err);
/* What storing a document needs besides the database, worked out on any
 * thread beforehand: the harvester prepares a page while the page before it
 * is written, so the one writer runs SQL only. */
struct tg__cat_prep {
  char *text;            /* the document serialised for storage (from malloc) */
  int64_t dmod;          /* from its dct:modified, or INT64_MIN: the write's time */
  char *title_key;       /* from malloc */
  double box[4];
  struct tg_buf t, b, k; /* its cat_fts columns (tg__cat_doc_terms) */
  struct tg_buf f;       /* its cat_facet rows, "KIND\0VALUE\0" pairs */
};
/* Prepares canonical document DOC (borrowed) into P: TEXT (taken, may be
 * NULL: DOC is serialised here, compact, keys sorted) is DOC without its
 * @context as JSON text (a harvested dataset's bytes as they came, in their
 * order). 0, or TG_ENOMEM with P freed. */
int tg__cat_prep_doc(const json_t *doc, char *text, struct tg__cat_prep *p);
/* Frees P's members (not P); a zeroed P is a no-op. */
void tg__cat_prep_free(struct tg__cat_prep *p);
/* Like tg__cat_store_put_foreign with the document prepared as P (borrowed). */
int tg__cat_store_put_foreign_prep(struct tg_cat_store *s, const char *id,
                                   const struct tg__cat_prep *p, int64_t version,
                                   struct tg_err *err);
/* 1 if L is a valid local dataset id (1-64 of A-Z a-z 0-9 . _ -). */
int tg__cat_local_id_ok(const char *l);
int tg__cat_store_remove(struct tg_cat_store *s, const char *id, struct tg_err *err);

/* Appends the index terms of canonical document DOC's title, description and
 * keyword columns (keywords, publisher names, theme labels). */
int tg__cat_doc_terms(const json_t *doc, struct tg_buf *title, struct tg_buf *body,
                      struct tg_buf *kw);
/* Parses a stored document and puts back its fixed @context: a new
 * reference, or NULL. */
json_t *tg__cat_load_doc(const char *text);
/* Like tg__cat_load_doc, in VIEW (the public view strips tsunagu: terms). */
json_t *tg__cat_load_view(const char *text, enum tg_cat_view view);
/* Normalised keyword / facet value: a new heap string, or NULL on ENOMEM. */
char *tg__cat_norm_keyword(const char *s);

#endif
