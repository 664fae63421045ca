/* cat_int: declarations shared by the catalog's own files (not public):
 * namespaces, lexical checks, JSON-LD expansion, tokenisation for search. */
#ifndef TG_CAT_INT_H
#define TG_CAT_INT_H

#include "tg_cat.h"

#include <stddef.h>
#include <stdint.h>

struct tg_buf;

#define NS_DCT "http://purl.org/dc/terms/"
#define NS_DCAT "http://www.w3.org/ns/dcat#"
#define NS_FOAF "http://xmlns.com/foaf/0.1/"
#define NS_VCARD "http://www.w3.org/2006/vcard/ns#"
#define NS_ODRL "http://www.w3.org/ns/odrl/2/"
#define NS_SKOS "http://www.w3.org/2004/02/skos/core#"
#define NS_XSD "http://www.w3.org/2001/XMLSchema#"
#define NS_LOCN "http://www.w3.org/ns/locn#"
#define NS_GSP "http://www.opengis.net/ont/geosparql#"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_TG "urn:tsunagu:ns:"

/* ---- cat_lex.c: lexical forms ---- */

/* 1 if S is an absolute IRI (scheme ":" rest, no spaces or forbidden
 * characters); http(s) IRIs must also have a well-formed authority. */
int tg__cat_iri_ok(const char *s);
/* 1 if S is an http: or https: IRI that tg__cat_iri_ok accepts. */
int tg__cat_http_ok(const char *s);
/* 1 if S is a well-formed BCP 47 language tag (syntax only). */
int tg__cat_lang_ok(const char *s);
/* Parses xsd:date (IS_DATETIME 0) or xsd:dateTime (1) lexical form with a
 * calendar check; *EPOCH (may be NULL) gets seconds (no zone = UTC). */
int tg__cat_xsd_time(const char *s, int is_datetime, int64_t *epoch);
/* Parses a WKT geometry (optionally prefixed by a <CRS IRI>) and widens
 * BOX (min lon, min lat, max lon, max lat; start with tg__cat_box_empty) to
 * its coordinates. Returns 0 or TG_EINVAL. */
int tg__cat_wkt_bbox(const char *s, double box[4]);
void tg__cat_box_empty(double box[4]);
/* 1 if the media type "type/subtype" is syntactically valid. */
int tg__cat_mediatype_ok(const char *s);

/* ---- cat_jsonld.c: reading JSON-LD input ---- */

/* Expands IN (borrowed) with tg_jsonld_expand, the canonical prefixes as its
 * default context, and sets *NODE to a new reference to its one node object
 * in expanded form (full-IRI keys, every property value an array of value
 * objects {"@value", "@language"|"@type"}, {"@id"} references or node
 * objects, "@type" an array of IRIs), every object carrying "@ptr": the
 * JSON pointer of the input value it came from. Problems are appended to
 * PROBLEMS (may be NULL). Returns 0; TG_EINVAL (a JSON-LD error, whose code
 * starts the detail, or not exactly one node: *NODE stays NULL, or a key
 * that is no IRI); TG_EUNSUP (an unknown remote context, or a feature the
 * catalog does not store such as @list or @reverse; *NODE may be set);
 * TG_ETOOBIG; TG_ENOMEM. */
int tg__cat_expand(const json_t *in, json_t *problems, json_t **node);
/* Appends {"pointer": PTR, "detail": ...} to PROBLEMS. */
void tg__cat_problem(json_t *problems, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Builds PTR + "/" + escaped KEY (RFC 6901) into a new heap string. */
char *tg__cat_ptr_key(const char *ptr, const char *key);
/* The value at JSON pointer PTR in DOC (borrowed), or NULL. */
const json_t *tg__cat_ptr_get(const json_t *doc, const char *ptr);
/* Compacts full IRI IRI with the canonical prefixes into a new heap string. */
char *tg__cat_compact_iri(const char *iri);
/* Expands a canonical compact IRI ("odrl:use") with the canonical prefixes:
 * returns a new heap string (a copy when there is no known prefix). */
char *tg__cat_expand_iri(const char *s);

/* ---- cat_themes.c: the shipped themes scheme ---- */

/* The theme of the shipped scheme that S names (a preferred or alternative
 * label in any language, its id "disaster-prevention", notation "T04" or
 * IRI; compared folded): {"id": IRI, "pref": [{"@value", "@language"}],
 * "keys": [...]}, borrowed from a table that lives as long as the process;
 * NULL if none. */
const json_t *tg__cat_theme_find(const char *s);
/* A new array of the (at most MAX, up to 8) themes whose names are nearest
 * to S, nearest first; entries as tg__cat_theme_find's. */
json_t *tg__cat_theme_nearest(const char *s, size_t max);

/* ---- cat_text.c: search text ---- */

/* Character classes for tokenising code points folded by tg_text_fold. */
enum { TG__CC_SEP = 0, TG__CC_WORD = 1, TG__CC_CJK = 2 };
int tg__cat_cclass(uint32_t c);
/* Appends the index terms of text S to B, space separated: Latin words
 * lowercased and stemmed, CJK runs as bigrams then unigrams. */
int tg__cat_index_terms(struct tg_buf *b, const char *s, size_t len);
/* Stems an ASCII lowercase word in place (light English plural/-ing/-ed). */
void tg__cat_stem(char *w, size_t *len);
/* Appends HTML-escaped S with <mark>..</mark> around the spans of text that
 * match the search words in WORDS (NUL-separated normalised needles, as
 * produced by tg__cat_query_words), cutting to about MAXCP code points
 * around the first match. Returns 0 or TG_ENOMEM. */
int tg__cat_highlight(struct tg_buf *out, const char *s, const char *words, size_t nwords,
                      size_t maxcp);
/* Appends the normalised positive words of query Q to B as NUL-terminated
 * strings (for highlighting); *N gets their count. */
int tg__cat_query_words(const char *q, struct tg_buf *b, size_t *n);

#endif
