/* tg_voc_store: the vocabulary store: SKOS concept schemes kept in the node's SQLite
 * database, imported from and exported to SKOS JSON-LD after validation against the
 * SKOS reference shapes, searched by label in any language, with mappings, hierarchy
 * and stored conversion profiles. Pure library: the caller owns the database. */
#ifndef TG_VOC_STORE_H
#define TG_VOC_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

struct tg_err;
struct tg_voc_store;
struct tg_voc_profile;

/* The JSON-LD @context every export carries (prefixes only, no remote context). */
#define TG_VOC_NS_SKOS "http://www.w3.org/2004/02/skos/core#"
#define TG_VOC_NS_DCT "http://purl.org/dc/terms/"

/* Opens the store on DB (borrowed; must outlive the store), bringing the "vocab"
 * schema up to date and refolding the label index when it was folded by
 * another version of the text folding (once; "vocab.fold" in tg_schema).
 * Returns 0, TG_EDB or TG_ENOMEM. */
int tg_voc_store_open(sqlite3 *db, struct tg_voc_store **out, struct tg_err *err);

/* Frees S (the database stays open); NULL is a no-op. */
void tg_voc_store_close(struct tg_voc_store *s);

/* Checks DOC (borrowed), a SKOS JSON-LD document describing one skos:ConceptScheme and
 * its concepts, without storing it. DOC is JSON-LD 1.1, expanded with its own
 * @context over a default one (skos:/dct:/dcterms: prefixes, bare SKOS and Dublin Core
 * terms); a JSON-LD error is refused as "JSON-LD: <error code>: ...".
 * Refusals name the node and the rule, e.g. "urn:x:c1: S14: two skos:prefLabel in
 * language 'ja'". Returns 0 or TG_EINVAL. */
int tg_voc_scheme_validate(const json_t *doc, struct tg_err *err);

/* Import flags. */
enum { TG_VOC_IMPORT_REPLACE = 1 /* replace a stored scheme with the same URI */ };

/* Validates and stores DOC (borrowed). A scheme with the same URI is refused with
 * TG_EEXIST unless FLAGS has TG_VOC_IMPORT_REPLACE; IF_MATCH (optional) must
 * equal the current ETag of an existing scheme, else TG_ECONFLICT. A concept URI that another
 * scheme already holds is refused (TG_EEXIST). On success *URI_OUT (optional) gets
 * the scheme URI and *ETAG_OUT (optional) its new ETag, both new heap strings the
 * caller frees. Returns 0, TG_EINVAL, TG_EEXIST, TG_ECONFLICT, TG_EDB or TG_ENOMEM. */
int tg_voc_scheme_import(struct tg_voc_store *s, const json_t *doc, int flags,
                         const char *if_match, char **uri_out, char **etag_out,
                         struct tg_err *err);

/* A scheme's short id is its dct:identifier when that is a token of A-Z a-z 0-9 - _ .,
 * else derived from its URI (urn:a-city:vocab:stations -> a-city-vocab-stations). */

/* Exports the scheme KEY (its URI or its short id) with all its concepts as SKOS
 * JSON-LD into *OUT (new reference); *ETAG_OUT (optional, heap, caller frees) gets
 * its ETag. Returns 0, TG_ENOENT, TG_EDB or TG_ENOMEM. */
int tg_voc_scheme_export(struct tg_voc_store *s, const char *key, json_t **out,
                         char **etag_out, struct tg_err *err);

/* Lists stored schemes into *OUT (new reference): an array of
 * {"uri","id","etag","title":{lang:text},"concepts":n}. */
int tg_voc_scheme_list(struct tg_voc_store *s, json_t **out, struct tg_err *err);

/* Deletes scheme KEY (URI or id). Returns 0, TG_ENOENT or TG_EDB. */
int tg_voc_scheme_delete(struct tg_voc_store *s, const char *key, struct tg_err *err);

/* The stored concept URI as a JSON-LD node (new reference in *OUT) with "scheme"
 * naming its scheme's URI. Returns 0, TG_ENOENT, TG_EDB or TG_ENOMEM. */
int tg_voc_concept_get(struct tg_voc_store *s, const char *uri, json_t **out,
                       struct tg_err *err);

/* Searches prefLabel, altLabel, hiddenLabel and notation for Q after normalising both
 * (full-width ASCII to ASCII, ASCII case folded, white space collapsed); a label
 * matches if it contains Q, so 水位 finds 河川水位. LANG (optional) limits labels to
 * one language tag; SCHEME (optional, URI or id) to one scheme. Best matches first
 * (exact, then prefix, prefLabel before altLabel, shorter first), one hit per
 * concept, at most LIMIT (0 means 20; at most 1000). *OUT (new reference) is an array of
 * {"uri","scheme","prefLabel":{lang:text},"matched":{"property","value","lang"}}.
 * Returns 0, TG_EINVAL (empty Q), TG_EDB or TG_ENOMEM. */
int tg_voc_search(struct tg_voc_store *s, const char *q, const char *lang, const char *scheme,
                  size_t limit, json_t **out, struct tg_err *err);

/* Mapping relations of concept URI in both directions, across schemes: *OUT (new
 * reference) is an array of {"relation","uri","direction","scheme"} where relation is
 * seen from URI (an incoming broadMatch reads as narrowMatch), direction is "outgoing"
 * or "incoming" (where the statement is stored) and scheme is the other concept's
 * scheme URI or null when it is not stored here. */
int tg_voc_mappings(struct tg_voc_store *s, const char *uri, json_t **out, struct tg_err *err);

/* Concepts directly broader (or narrower) than URI, whether stated with skos:broader
 * on URI or skos:narrower on the other: *OUT (new reference) is an array of
 * {"uri","prefLabel":{lang:text}}. */
int tg_voc_broader(struct tg_voc_store *s, const char *uri, json_t **out, struct tg_err *err);
int tg_voc_narrower(struct tg_voc_store *s, const char *uri, json_t **out, struct tg_err *err);

/* Stores conversion profile DOC (borrowed) under its "id" after checking it with
 * tg_voc_profile_new(); replacing needs REPLACE and, if given, IF_MATCH equal to the
 * current ETag. *ETAG_OUT as for schemes. Returns 0, TG_EINVAL, TG_EEXIST,
 * TG_ECONFLICT, TG_EDB or TG_ENOMEM. */
int tg_voc_profile_put(struct tg_voc_store *s, const json_t *doc, int replace,
                       const char *if_match, char **etag_out, struct tg_err *err);

/* Loads stored profile ID: *DOC (optional, new reference) gets the document and *P
 * (optional) a ready profile whose "code": {"map": …} tables are filled from the
 * stored concept mappings (caller frees with tg_voc_profile_free). Returns 0,
 * TG_ENOENT, TG_EINVAL, TG_EDB or TG_ENOMEM. */
int tg_voc_profile_get(struct tg_voc_store *s, const char *id, json_t **doc,
                       struct tg_voc_profile **p, char **etag_out, struct tg_err *err);

/* Deletes stored profile ID. Returns 0, TG_ENOENT or TG_EDB. */
int tg_voc_profile_delete(struct tg_voc_store *s, const char *id, struct tg_err *err);

/* From now on S's writes run inside a transaction its caller opens and
 * commits (each write in a savepoint): for the node's writer thread. */
void tg_voc_store_nest(struct tg_voc_store *s);

/* Lists stored profiles: an array of {"id","etag","title"} (new reference). */
int tg_voc_profile_list(struct tg_voc_store *s, json_t **out, struct tg_err *err);

/* Fills the "code": {"map": {"from": A, "to": B}} tables and the "renames": {"map": …}
 * table of P from the store: every
 * concept of scheme A with a skos:notation and a skos:exactMatch to a concept of
 * scheme B with a notation maps the first notation to the second. Returns 0,
 * TG_EDB or TG_ENOMEM. */
int tg_voc_store_bind_profile(struct tg_voc_store *s, struct tg_voc_profile *p,
                              struct tg_err *err);

#endif
