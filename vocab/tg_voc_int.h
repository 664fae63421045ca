/* tg_voc_int: helpers shared inside vocab/ (not part of the public API): UTF-8
 * decoding and the label normalisation used by search and the date parsers. */
#ifndef TG_VOC_INT_H
#define TG_VOC_INT_H

#include <stddef.h>
#include <stdint.h>

struct tg_buf;
struct tg_err;
struct json_t;
struct tg_voc_conv_issue;

/* Skips the run of bytes at P (before END) that a JSON string holds as they are:
 * printable ASCII other than '"' and '\\'. Returns the first other byte (a quote,
 * backslash, control or non-ASCII byte), or END. Eight bytes at a time. */
static inline const char *tg__voc_json_plain_run(const char *p, const char *end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t w, q, b;
    __builtin_memcpy(&w, p, 8);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    /* A byte flags when it has its high bit, is below 0x20, or equals '"' or
     * '\\'. Borrows can flag bytes above a flagged one, never below: the
     * lowest flag is exact. */
    uint64_t m = (w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
    if (m != 0)
      return p + (__builtin_ctzll(m) >> 3);
    p += 8;
  }
#endif
  while (p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80 && *p != '"' &&
         *p != '\\')
    p++;
  return p;
}

/* Appends to OUT the key labels are stored and searched by: tg_text_fold_key
 * (common/tg_text.h), the same folding as the catalog's. 0 or TG_ENOMEM. */
int tg__voc_normalize(const char *s, size_t len, struct tg_buf *out);

/* For the streaming converter: converts REC (still the caller's to release, but
 * modified and possibly shared with the output) with profile P into *OUT (new
 * reference). Returns 0, TG_EINVAL if the record is
 * refused, or TG_ENOMEM. */
struct tg_voc_profile;
int tg__voc_profile_apply_take(const struct tg_voc_profile *p, struct json_t *rec,
                               size_t record, struct json_t **out,
                               void (*report)(void *, const struct tg_voc_conv_issue *),
                               void *ud);

/* The I-th "code": {"map": …} rule of P: its source and target schemes and the name
 * of the table it reads (all borrowed). Returns 0, or TG_ENOENT past the last. */
int tg__voc_profile_map(const struct tg_voc_profile *p, size_t i, const char **from,
                        const char **to, const char **table);

/* Index of unit CODE in the unit table, or -1; and tg_voc_unit_convert() with units
 * given by index (both valid), for callers that resolved them once. */
int tg__voc_unit_index(const char *code);
int tg__voc_unit_convert_ix(const char *value, int from, int to, char *out, size_t n,
                            int *inexact, struct tg_err *err);

/* ---- SKOS graphs (tg_voc_skos.c) ---- */

/* Properties kept from SKOS JSON-LD, in this order (ranges below rely on it). */
enum {
  TG__VOC_P_TYPE,
  TG__VOC_P_PREF, TG__VOC_P_ALT, TG__VOC_P_HIDDEN, TG__VOC_P_NOTATION,
  TG__VOC_P_DEFINITION, TG__VOC_P_SCOPENOTE, TG__VOC_P_NOTE, TG__VOC_P_EXAMPLE,
  TG__VOC_P_BROADER, TG__VOC_P_NARROWER, TG__VOC_P_RELATED, TG__VOC_P_BROADERT,
  TG__VOC_P_NARROWERT,
  TG__VOC_P_EXACT, TG__VOC_P_CLOSE, TG__VOC_P_BROADM, TG__VOC_P_NARROWM, TG__VOC_P_RELATEDM,
  TG__VOC_P_INSCHEME, TG__VOC_P_TOPOF, TG__VOC_P_HASTOP,
  TG__VOC_P_TITLE, TG__VOC_P_DESC, TG__VOC_P_IDENT, TG__VOC_P_CREATED, TG__VOC_P_MODIFIED,
  TG__VOC_P_LICENSE, TG__VOC_P_PUBLISHER,
  TG__VOC_P_N
};

struct tg__voc_prop {
  const char *name; /* local name, e.g. "prefLabel" */
  char ns;          /* 's' skos, 'd' dct, 'r' rdf */
  int iri;          /* 1: values are IRIs, 0: literals */
};
extern const struct tg__voc_prop tg__voc_props[TG__VOC_P_N];

/* Property index of local NAME, or -1. */
int tg__voc_prop_find(const char *name);

struct tg__voc_triple {
  char *s, *o; /* from malloc() */
  char *lang;  /* from malloc(); "" when none */
  int p;       /* TG__VOC_P_* */
  int iri;     /* 1 if O is an IRI */
};

/* A set of triples describing one scheme; sorted by subject, property, language, object. */
struct tg__voc_graph {
  struct tg__voc_triple *t; /* from malloc() */
  size_t n, cap;
  char *scheme;             /* the scheme's URI, from malloc() (set by the parser) */
};

void tg__voc_graph_init(struct tg__voc_graph *g);
void tg__voc_graph_close(struct tg__voc_graph *g);
/* Adds a triple (strings copied); 0, TG_ENOMEM or TG_ETOOBIG. */
int tg__voc_graph_add(struct tg__voc_graph *g, const char *s, int p, const char *o,
                      const char *lang, int iri);
/* Sorts the triples and drops duplicates. */
void tg__voc_graph_sort(struct tg__voc_graph *g);
/* Parses SKOS JSON-LD DOC into G (initialised here) and validates it; on failure G is
 * left empty. 0, TG_EINVAL (ERR names node and rule), TG_ENOMEM. */
int tg__voc_graph_from_jsonld(const struct json_t *doc, struct tg__voc_graph *g,
                              struct tg_err *err);
/* 1 if triple I is a subject's only triple and types it skos:Concept: a reference to a
 * concept described elsewhere. */
int tg__voc_is_stub(const struct tg__voc_graph *g, size_t i);
/* The JSON-LD node for the triples [A, B) of one subject (new reference or NULL). */
struct json_t *tg__voc_node_json(const struct tg__voc_graph *g, size_t a, size_t b);
/* The whole sorted graph as a SKOS JSON-LD document (new reference or NULL). */
struct json_t *tg__voc_graph_to_jsonld(const struct tg__voc_graph *g);

#endif
