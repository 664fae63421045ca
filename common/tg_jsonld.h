/* tg_jsonld: the node's one JSON-LD 1.1 processor (expansion, per the W3C
 * JSON-LD 1.1 Processing Algorithms and API), on jansson. Remote contexts are
 * never fetched: a document loader callback answers them, and the built-in
 * one knows only the contexts shipped with the node. */
#ifndef TG_JSONLD_H
#define TG_JSONLD_H

#include <jansson.h>
#include <stddef.h>

struct tg_err;

/* A document loader: sets *DOC to a new reference to the JSON document at
 * URL (an absolute IRI, borrowed) and returns 0, or returns a negative TG_E*
 * code with detail in ERR. USER is tg_jsonld_opts.loader_user. */
typedef int (*tg_jsonld_loader_fn)(void *user, const char *url, json_t **doc, struct tg_err *err);

enum tg_jsonld_mode { TG_JSONLD_1_1 = 0, TG_JSONLD_1_0 = 1 };

/* Options of one expansion; a zeroed struct (or NULL) means JSON-LD 1.1, no
 * base IRI, the built-in loader and the default limits. Strings are
 * borrowed for the duration of the call. */
struct tg_jsonld_opts {
  const char *base;           /* the document's base IRI, or NULL */
  enum tg_jsonld_mode mode;   /* processing mode */
  json_t *expand_context;     /* borrowed; an extra context applied first, or NULL */
  tg_jsonld_loader_fn loader; /* NULL: tg_jsonld_known_load */
  void *loader_user;          /* passed to LOADER */
  size_t max_depth;           /* nesting of objects, arrays and contexts; 0: 256 */
  size_t max_remote;          /* remote contexts in one chain ("context overflow"); 0: 32 */
  size_t max_nodes;           /* JSON values in the input; 0: 1,000,000 */
  size_t max_work;            /* term definitions created in one call; 0: 1,000,000 */
  /* Source pointers, off by default (NULL): where in INPUT each part of the
   * output came from, as RFC 6901 JSON pointers ("" is INPUT itself,
   * "/@graph/0/dct:title/ja" a language map entry). Pointers into a context
   * go as far as its items, terms, @base and @vocab. */
  const char *ptr_key;  /* non-NULL: once expansion has succeeded, every node
                         * object and value object of the output made from an
                         * input value gets the string member PTR_KEY (e.g.
                         * "@ptr") holding that value's pointer (the @list or
                         * @graph wrapper a container makes gets the pointer
                         * of the property's value; index-property values get
                         * none). The algorithm itself never sees these
                         * members. */
  json_t *dropped;      /* borrowed array, or NULL: gets (appended) the pointer
                         * of every input entry dropped because its key is
                         * neither a keyword nor expands to an IRI */
  char *err_ptr;        /* caller's buffer of ERR_PTR_SIZE bytes, or NULL: on
                         * failure, the pointer of the input being expanded
                         * when the error arose (NUL-terminated, truncated) */
  size_t err_ptr_size;
};

/* Expands INPUT (borrowed) per the JSON-LD 1.1 expansion algorithm and sets
 * *OUT to a new reference to the expanded document (always an array).
 * Returns 0, or a negative TG_E* code with *OUT untouched: TG_EINVAL for a
 * JSON-LD error, TG_ENOENT when a remote context cannot be loaded, TG_ETOOBIG
 * over a limit, TG_ENOMEM. On a JSON-LD error ERR's message starts with the
 * spec's error code ("invalid term definition", "loading remote context
 * failed", "context overflow", ...), then ": " and the detail. */
int tg_jsonld_expand(json_t *input, const struct tg_jsonld_opts *opts, json_t **out,
                     struct tg_err *err);

/* The built-in document loader: answers the contexts shipped with the node
 * (DSP 2025-1, its ODRL profile, DCAT-AP 3.0.1) by their published URL,
 * and refuses every other URL with TG_ENOENT ("loading remote context
 * failed: URL is not a known context"). USER is ignored. *DOC is new. */
int tg_jsonld_known_load(void *user, const char *url, json_t **doc, struct tg_err *err);

/* Copies the JSON-LD error code that starts ERR's message into OUT (size N):
 * e.g. "invalid term definition"; "" when ERR carries none. */
void tg_jsonld_err_code(const struct tg_err *err, char *out, size_t n);

#endif
