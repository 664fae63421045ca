/* tg_jsonld_int: what the parts of the JSON-LD processor share (context
 * processing, IRI handling, expansion, known contexts); not a public API.
 *
 * An active context is a jansson object so that copies share term
 * definitions by reference count: {"terms": {TERM: DEF}, "base": IRI,
 * "obase": original base, "vocab": IRI, "language": tag, "direction":
 * "ltr"|"rtl", "previous": CONTEXT}; an absent entry is null. A term
 * definition DEF is immutable once made: {"id": IRI|keyword|null,
 * "reverse": true, "type": IRI|keyword, "language": tag|null, "direction":
 * dir|null, "container": [keywords], "index": IRI, "nest": term,
 * "prefix": bool, "protected": true, "context": scoped context,
 * "cbase": base URL of the scoped context}. */
#ifndef TG_JSONLD_INT_H
#define TG_JSONLD_INT_H

#include "tg_buf.h"
#include "tg_jsonld.h"

#include <jansson.h>
#include <stddef.h>

struct tg_err;

/* State of one tg_jsonld_expand call. */
struct tg_jsonld__st {
  struct tg_jsonld_opts o; /* the caller's options with defaults filled in */
  struct tg_err *err;      /* the caller's, may be NULL */
  json_t *cache;           /* URL -> loaded document (own reference) */
  size_t depth;            /* current recursion depth (objects, contexts, terms) */
  size_t work;             /* term definitions created so far */
  /* Source pointers (tg_jsonld_opts.ptr_key, dropped, err_ptr). */
  int track;               /* any of them is asked for */
  struct tg_buf ptr;       /* the pointer of the input being expanded */
  int ptr_nomem;           /* a push ran out of memory */
  int ptr_ctx;             /* inside the document's own @context (pointers go on) */
  int ptr_noidx;           /* the next array is a value wrapped by the algorithm */
  json_t *marks;           /* [[object, pointer], ...] applied at the end (own) */
};

/* Source pointers: pushes "/" KEY (escaped) or "/" I onto the current input
 * pointer and returns the mark to pop back to; no-ops unless tracking. */
size_t tg_jsonld__ptr_key(struct tg_jsonld__st *st, const char *key);
size_t tg_jsonld__ptr_idx(struct tg_jsonld__st *st, size_t i);
void tg_jsonld__ptr_pop(struct tg_jsonld__st *st, size_t mark);

/* Records a JSON-LD error: ERR's message becomes "JCODE: detail"; returns CODE. */
int tg_jsonld__fail(struct tg_jsonld__st *st, int code, const char *jcode, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Enters one level of recursion: 0, or TG_ETOOBIG past max_depth. Pair with
 * tg_jsonld__leave. */
int tg_jsonld__enter(struct tg_jsonld__st *st);
void tg_jsonld__leave(struct tg_jsonld__st *st);

/* IRIs (tg_jsonld_iri.c). */
/* 1 if S is a JSON-LD keyword. */
int tg_jsonld__is_keyword(const char *s);
/* 1 if S has the form of a keyword: '@' and one or more ASCII letters. */
int tg_jsonld__keyword_form(const char *s);
/* 1 if S is an absolute IRI (starts with a scheme and ':'). */
int tg_jsonld__iri_absolute(const char *s);
/* 1 if S ends with a gen-delim character (":/?#[]@"). */
int tg_jsonld__iri_gendelim_end(const char *s);
/* Resolves REF against BASE (RFC 3986 section 5.2; BASE may be NULL, then
 * REF is copied). Returns a new heap string, or NULL when out of memory. */
char *tg_jsonld__iri_resolve(const char *base, const char *ref);

/* Active contexts (tg_jsonld_ctx.c). */
/* A new empty active context with base and original base BASE (may be NULL). */
json_t *tg_jsonld__ctx_new(const char *base);
/* Borrowed string entry NAME of context CTX, or NULL. */
const char *tg_jsonld__ctx_str(json_t *ctx, const char *name);
/* Borrowed term definition of TERM in CTX, or NULL. */
json_t *tg_jsonld__term(json_t *ctx, const char *term);
/* 1 if term definition DEF (may be NULL) has container keyword C. */
int tg_jsonld__has_container(json_t *def, const char *c);
/* Borrowed string entry NAME of DEF (may be NULL), or NULL. */
const char *tg_jsonld__def_str(json_t *def, const char *name);

/* Context processing: sets *OUT to a new active context, the result of
 * processing LOCAL (borrowed) on ACTX (borrowed). REMOTE is the array of
 * remote context URLs seen in this chain (borrowed, copied as needed). */
int tg_jsonld__ctx_process(struct tg_jsonld__st *st, json_t *actx, json_t *local,
                           const char *base_url, json_t *remote, int override_protected,
                           int propagate, int validate, json_t **out);
/* IRI expansion of VALUE on ACTX (outside context processing): *OUT is a
 * new heap string, or NULL when VALUE expands to null. */
int tg_jsonld__iri_expand(struct tg_jsonld__st *st, json_t *actx, const char *value, int docrel,
                          int vocab, char **out);
/* Loads the document at URL through the loader (cached per call): *DOC is
 * borrowed from the cache. */
int tg_jsonld__load(struct tg_jsonld__st *st, const char *url, json_t **doc);

/* Known contexts' text (generated from common/contexts by embed.awk). */
extern const char tg_jsonld__ctx_dcat_ap_3_0_1[];
extern const char tg_jsonld__ctx_dspace_2025_1[];
extern const char tg_jsonld__ctx_dspace_2025_1_odrl[];

#endif
