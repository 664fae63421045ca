/* cat_store: the store's internals shared by cat_store.c and cat_search.c. */
#ifndef TG_CAT_STORE_H
#define TG_CAT_STORE_H

#include "tg_cat.h"

struct tg_buf;
struct tg__cat_search_cache;

struct tg_cat_store {
  sqlite3 *db;      /* borrowed from the caller */
  char node_id[64];
  char **schemes;   /* from malloc(); NULL means the default theme schemes */
  size_t nschemes;
  int in_batch;     /* inside tg_cat_batch_begin(): writes use savepoints */
  int nested;       /* the caller holds the transaction (tg_cat_store_nest) */
  struct tg__cat_search_cache *sc; /* cat_search.c's prepared statements, or NULL */
};

/* Finalises and frees S's search cache (cat_search.c); S->sc becomes NULL. */
void tg__cat_search_cache_free(struct tg_cat_store *s);

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
