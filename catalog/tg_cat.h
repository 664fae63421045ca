/* tg_cat: the node's data catalog: DCAT-AP 3.0.1 dataset validation and
 * canonical JSON-LD, ODRL access decisions, the SQLite dataset store with its
 * change feed, and local search that works for Japanese. No networking here;
 * connector/ turns these calls into HTTP endpoints. */
#ifndef TG_CAT_H
#define TG_CAT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct tg_err;

/* ---- limits ---------------------------------------------------------- */

#define TG_CAT_MAX_DOC_BYTES (256u * 1024u) /* serialised input document */
#define TG_CAT_MAX_DEPTH 16                 /* nesting of JSON objects/arrays */
#define TG_CAT_MAX_KEYWORDS 100
#define TG_CAT_MAX_THEMES 50
#define TG_CAT_MAX_DISTRIBUTIONS 100
#define TG_CAT_MAX_LITERAL_BYTES 20000 /* one literal (descriptions) */
#define TG_CAT_MAX_TITLE_BYTES 1000    /* one title, keyword, name */
#define TG_CAT_MAX_PERMISSIONS 50
#define TG_CAT_MAX_ASSIGNEES 500

/* ---- validation and canonical form ---------------------------------- */

/* Options for validation; a NULL pointer means the defaults. */
struct tg_cat_vopts {
  /* Theme concept IRIs must start with one of these prefixes. Borrowed;
   * NULL means the defaults (urn:tsunagu:vocab:theme:, the shipped City OS
   * themes urn:tsunagu:vocab:themes: and the EU data-theme
   * authority table http://publications.europa.eu/resource/authority/data-theme/). */
  const char *const *theme_schemes;
  size_t n_theme_schemes;
  /* The node the dataset is for (borrowed, may be NULL): a plain-form local
   * "id" becomes urn:tsunagu:<node_id>:dataset:<id>; without it such an id
   * is left for the store to assign. */
  const char *node_id;
};

/* Parses TEXT (LEN bytes, untrusted) as a dataset document: refuses more than
 * TG_CAT_MAX_DOC_BYTES or invalid JSON. On success *OUT gets a new reference.
 * On failure returns TG_ETOOBIG or TG_EINVAL and, if PROBLEMS is not NULL,
 * *PROBLEMS gets a new array of {"pointer", "detail"} objects. */
int tg_cat_parse(const char *text, size_t len, json_t **out, json_t **problems);

/* Validates dataset document IN (borrowed): either the plain JSON form
 * (docs/datasets.md: an object with no "@context" nor other '@' keys,
 * "title", "themes" by label, "license": "CC-BY-4.0", ...), which is read
 * into the JSON-LD below first and reported on in its own field names
 * (pointers into IN; problems may also carry "expected", "example" and
 * "suggestion"), or JSON-LD 1.1 describing one
 * dcat:Dataset node (alone, or alone in a top-level @graph or array), read
 * with the node's JSON-LD processor (tg_jsonld_expand) with the canonical
 * prefixes of tg_cat_context() as the default context; the DCAT-AP 3.0.1
 * context may be given by its URL. Every failing field is reported.
 * On success returns 0 and, if CANONICAL is not NULL, *CANONICAL gets a new
 * reference to the canonical document (owner view: fixed prefix @context,
 * full IRIs compacted with it, typed dates, class-typed references, inferred
 * tsunagu:mode). On failure returns TG_EINVAL (bad fields, or a JSON-LD
 * error: the detail starts with the spec's error code), TG_EUNSUP (a remote
 * @context the node does not know, named in the detail, or a JSON-LD feature
 * the catalog does not store: @list, @reverse, ...) or TG_ETOOBIG,
 * and *PROBLEMS (if PROBLEMS is not NULL) gets a new array of
 * {"pointer": RFC 6901 pointer into IN, "detail": text}. A missing property
 * is reported at the pointer where it belongs, e.g. "/dct:title".
 * Outputs are set to NULL when not produced. */
int tg_cat_validate(const json_t *in, const struct tg_cat_vopts *opts, json_t **canonical,
                    json_t **problems);
/* 1 when IN is a dataset in the plain-JSON form (docs/datasets.md), the way
 * tg_cat_validate tells the two forms apart; else 0. */
int tg_cat_is_plain(const json_t *in);

/* Returns a new reference to the public view of canonical document DOC
 * (borrowed): every property in the tsunagu: namespace (urn:tsunagu:ns:, i.e.
 * tsunagu:mode, tsunagu:backend and any credentials) is removed at every
 * depth. NULL on ENOMEM. */
json_t *tg_cat_public_view(const json_t *doc);

/* The fixed @context (prefix -> namespace) of canonical documents: a new
 * reference. */
json_t *tg_cat_context(void);

/* ---- ODRL policies ---------------------------------------------------- */

/* Who asks to use a dataset's data. Strings are borrowed. */
struct tg_cat_access {
  const char *node_id;      /* asking node, bare id ("c-village"), never NULL */
  const char *subject;      /* end user on whose behalf, or NULL */
  const char *purpose;      /* declared purpose IRI or word, or NULL */
  const char *action;       /* "use" (default when NULL) or "read" */
  int64_t now;              /* seconds since the epoch, UTC */
  int is_federation_member; /* node_id is an active member of the federation */
  int is_owner;             /* node_id is the node that owns the dataset */
};

enum tg_cat_verdict { TG_CAT_DENY = 0, TG_CAT_PERMIT = 1 };

struct tg_cat_decision {
  enum tg_cat_verdict verdict;
  int permission; /* index of the granting permission, -1 if none */
  char reason[256];
};

/* Decides whether REQ may use a dataset whose policy is POLICY (borrowed;
 * the "odrl:hasPolicy" value of a canonical document). A permission grants
 * when its action covers REQ->action (odrl:use covers read), one of its
 * assignees names the node (urn:tsunagu:node:<id>) or is urn:tsunagu:federation
 * while REQ->is_federation_member, and every constraint holds (odrl:purpose
 * eq/isAnyOf, odrl:dateTime lt/lteq/gt/gteq/eq against REQ->now). The owner is
 * always permitted. A NULL or malformed policy denies. Returns 0 (the verdict
 * is in *OUT with a human reason) or TG_EINVAL if REQ or OUT is NULL. */
int tg_cat_policy_decide(const json_t *policy, const struct tg_cat_access *req,
                         struct tg_cat_decision *out);

/* Returns a new reference to the default policy for a dataset without one:
 * an odrl:Offer permitting odrl:use to urn:tsunagu:federation. UID (borrowed,
 * may be NULL) becomes its @id. */
json_t *tg_cat_policy_default(const char *uid);

/* ---- store ------------------------------------------------------------ */

struct tg_cat_store;

enum tg_cat_view { TG_CAT_VIEW_PUBLIC = 0, TG_CAT_VIEW_OWNER = 1 };

/* Opens the catalog on DB (borrowed; must outlive the store; one store per
 * connection and thread) for node NODE_ID (copied; a valid node id), bringing
 * the "catalog" schema up to date. When the search index (terms, title sort
 * keys, keyword facets) was built with another version of the text folding
 * ("catalog.fold" in tg_schema), it is rebuilt from the stored documents
 * first, once, in one transaction (about as long as loading them again).
 * *OUT is freed with tg_cat_store_free(). Returns 0, TG_EINVAL, TG_EDB or
 * TG_ENOMEM. */
int tg_cat_store_open(sqlite3 *db, const char *node_id, struct tg_cat_store **out,
                      struct tg_err *err);
/* Frees S (not the database), rolling back an open batch; NULL is a no-op. */
void tg_cat_store_free(struct tg_cat_store *s);
/* Replaces the accepted theme scheme prefixes (copied); N == 0 restores the
 * defaults. Returns 0 or TG_ENOMEM. */
int tg_cat_store_set_theme_schemes(struct tg_cat_store *s, const char *const *prefixes, size_t n);
/* Returns the store's node id (borrowed). */
const char *tg_cat_store_node_id(const struct tg_cat_store *s);

/* Result of a write. ID is from malloc() and freed by the caller. */
struct tg_cat_write {
  char *id;        /* urn:tsunagu:<node-id>:dataset:<local-id> */
  int64_t version; /* new version (the ETag), starts at 1 */
  int64_t seq;     /* change-feed sequence number of this write */
  int created;     /* 1 if the dataset did not exist before */
};

/* Creates a dataset from IN (borrowed). The local id comes from SLUG
 * (borrowed, may be NULL; 1-64 of [A-Za-z0-9._-]), else from an input @id
 * urn:tsunagu:<this-node>:dataset:<local-id>, else 16 random hex digits.
 * A dataset without odrl:hasPolicy gets the default policy; the policy's @id
 * becomes <dataset-id>:policy. Returns 0 (*W filled), TG_EINVAL/TG_EUNSUP/
 * TG_ETOOBIG with *PROBLEMS (new reference, see tg_cat_validate), TG_EEXIST if
 * the id, or one that differs from it only in letter case, is taken by a live
 * dataset, TG_EDB. One durable transaction. */
int tg_cat_dataset_create(struct tg_cat_store *s, const json_t *in, const char *slug,
                          struct tg_cat_write *w, json_t **problems, struct tg_err *err);

/* Replaces dataset ID (borrowed) with IN (borrowed). IF_MATCH >= 0 demands
 * that the current version equal it (TG_ECONFLICT otherwise, TG_ENOENT if
 * absent); IF_MATCH < 0 creates the dataset when it does not exist: ID must
 * then be this node's (TG_EPERM, the message naming ID and why) and its local
 * id must not differ only in letter case from a live dataset's (TG_EEXIST).
 * An input @id other than ID is a problem. Returns as tg_cat_dataset_create. */
int tg_cat_dataset_put(struct tg_cat_store *s, const char *id, const json_t *in,
                       int64_t if_match, struct tg_cat_write *w, json_t **problems,
                       struct tg_err *err);

/* Gets dataset ID: *DOC (new reference) in VIEW, *VERSION (may be NULL).
 * Returns 0, TG_ENOENT (never existed or deleted) or TG_EDB. */
int tg_cat_dataset_get(struct tg_cat_store *s, const char *id, enum tg_cat_view view,
                       json_t **doc, int64_t *version, struct tg_err *err);

/* Deletes dataset ID, leaving a tombstone in the change feed. IF_MATCH as in
 * tg_cat_dataset_put. Returns 0 (*W filled if W not NULL), TG_ENOENT,
 * TG_ECONFLICT or TG_EDB. */
int tg_cat_dataset_delete(struct tg_cat_store *s, const char *id, int64_t if_match,
                          struct tg_cat_write *w, struct tg_err *err);

/* Frees the members of W (not W itself); NULL is a no-op. */
void tg_cat_write_clear(struct tg_cat_write *w);

/* Bulk loads: groups the writes that follow into one transaction. Each write
 * still succeeds or fails on its own (a savepoint) but none is durable until
 * tg_cat_batch_commit(). Returns 0, TG_EINVAL if a batch is already open, or
 * TG_EDB. */
int tg_cat_batch_begin(struct tg_cat_store *s, struct tg_err *err);
/* Commits the open batch durably; 0, TG_EINVAL (no batch) or TG_EDB (then
 * the batch is rolled back). */
int tg_cat_batch_commit(struct tg_cat_store *s, struct tg_err *err);
/* Abandons the open batch (no-op without one). */
void tg_cat_batch_rollback(struct tg_cat_store *s);

/* Merges the search index into one segment (FTS5 'optimize'): worth doing
 * after a bulk load; takes a write lock for a while. Returns 0 or TG_EDB. */
int tg_cat_store_optimize(struct tg_cat_store *s, struct tg_err *err);

/* A number that changes after every committed catalog write in this
 * process (any store, any thread): read it before a read to cache what the
 * read gives until it changes. */
uint64_t tg_cat_generation(void);
/* Moves the generation on: for a caller that commits writes it made through
 * a nested store (tg_cat_store_nest), right after its COMMIT. */
void tg_cat_generation_bump(void);
/* From now on S's writes run inside a transaction its caller opens and
 * commits (each write in a savepoint of its own; batches are refused): for
 * the node's writer thread, which commits many jobs at once. */
void tg_cat_store_nest(struct tg_cat_store *s);

/* Decides access to dataset ID with its stored policy (see
 * tg_cat_policy_decide). TG_ENOENT if the dataset does not exist. */
int tg_cat_dataset_decide(struct tg_cat_store *s, const char *id, const struct tg_cat_access *req,
                          struct tg_cat_decision *out, struct tg_err *err);

/* Lists live datasets ordered by id: *OUT gets a new object
 * {"total": n, "offset": o, "limit": l, "datasets": [doc...]} in VIEW. */
int tg_cat_dataset_list(struct tg_cat_store *s, enum tg_cat_view view, int64_t offset,
                        int64_t limit, json_t **out, struct tg_err *err);
/* As tg_cat_dataset_list, leaving out the datasets whose policy does not
 * permit VIEWER (borrowed; NULL: none left out); "total" counts the rest. */
int tg_cat_dataset_list_for(struct tg_cat_store *s, enum tg_cat_view view,
                            const struct tg_cat_access *viewer, int64_t offset, int64_t limit,
                            json_t **out, struct tg_err *err);

/* The change feed: changes with a sequence number > SINCE, oldest first, at
 * most LIMIT (1..1000; clamped). Only the latest change of each dataset is
 * kept, so replaying the feed in order reproduces the catalog exactly.
 * *OUT gets a new object {"changes": [{"seq", "op": "upsert", "id",
 * "version", "dataset": public view} | {"seq", "op": "delete", "id",
 * "version"}], "last_seq": highest seq returned (or SINCE), "more": bool}. */
int tg_cat_changes(struct tg_cat_store *s, int64_t since, int64_t limit, json_t **out,
                   struct tg_err *err);
/* The change feed as VIEWER (borrowed; NULL: as tg_cat_changes) may see it:
 * a live dataset whose policy does not permit VIEWER (tg_cat_policy_decide)
 * is given as {"seq", "op": "delete", "id", "version"}, so a policy change
 * that hides a dataset reaches a follower as a deletion. */
int tg_cat_changes_for(struct tg_cat_store *s, int64_t since, int64_t limit,
                       const struct tg_cat_access *viewer, json_t **out, struct tg_err *err);
/* tg_cat_changes_for's page as its compact JSON text, appended to OUT (the
 * same members in the same order as json_dumps(JSON_COMPACT) of that page),
 * with its last_seq and more; a feed of stored datasets is not parsed into
 * a tree and dumped again. */
struct tg_buf;
int tg_cat_changes_text(struct tg_cat_store *s, int64_t since, int64_t limit,
                        const struct tg_cat_access *viewer, struct tg_buf *out, int64_t *last_seq,
                        int *more, struct tg_err *err);

/* ---- the harvested index (cat_index.c) ----------------------------------- */

/* Peers' datasets harvested from their change feeds, in a database of their
 * own (the same schema as the catalog, so tg_cat_search() runs over it
 * unchanged), with per-source bookkeeping. Dataset ids carry their owner:
 * a source may publish only urn:tsunagu:<source>:dataset:<local-id>. */

#define TG_CAT_INDEX_MAX_PAGE 1000 /* changes in one page of a feed */

/* Opens the index on DB (borrowed; one store per connection and thread) for
 * this node SELF (copied): the catalog schema plus the "harvest" component.
 * The store refuses tg_cat_dataset_create/put/delete (TG_EPERM); it is
 * searched with tg_cat_search and read with tg_cat_dataset_get. Freed with
 * tg_cat_store_free(). */
int tg_cat_index_open(sqlite3 *db, const char *self, struct tg_cat_store **out,
                      struct tg_err *err);

/* Applies one page of SOURCE's change feed PAGE (borrowed; as
 * tg_cat_changes() returns it) in one transaction: upserts store the public
 * view as served, at the owner's version; deletes remove the dataset. An
 * entry is refused, and the rest applied, when it is malformed, its id is
 * not SOURCE's (urn:tsunagu:<SOURCE>:dataset:<local-id>) or its dataset does
 * not validate; *REFUSED (may be NULL) gets a new array of {"seq", "id",
 * "reason"} (empty when none; an id over 200 bytes is cut at a character
 * boundary and ends in "…"). The whole page is refused, nothing written,
 * when it is not a changes page (TG_EPROTO), has more than
 * TG_CAT_INDEX_MAX_PAGE changes (TG_ETOOBIG), or goes backwards: a seq not
 * above the last one applied, or not increasing (TG_EPROTO). On success the
 * source's last_seq becomes the page's and *LAST_SEQ_OUT (may be NULL) gets
 * it. TG_EDB, TG_ENOMEM; SELF as SOURCE is TG_EINVAL. */
int tg_cat_index_apply(struct tg_cat_store *ix, const char *source, const json_t *page,
                       int64_t *last_seq_out, json_t **refused, struct tg_err *err);
/* Like tg_cat_index_apply for a page fetched with ?since=SINCE (-1: not
 * known, as tg_cat_index_apply): the page is refused, nothing written, with
 * TG_ECONFLICT unless SINCE is the last seq applied from SOURCE, and
 * *LAST_SEQ_OUT (may be NULL) then gets that last seq, to fetch from again.
 * A page asked from further on would skip the changes between (the fetch
 * read a last_seq that a drop of the source has since reset); its seqs
 * alone cannot tell. */
int tg_cat_index_apply_from(struct tg_cat_store *ix, const char *source, int64_t since,
                            const json_t *page, int64_t *last_seq_out, json_t **refused,
                            struct tg_err *err);
/* tg_cat_index_apply_from in two steps, so the work that needs no database
 * (checking each entry, validating or serialising its dataset, its search
 * terms) runs on any thread while the one writer writes the page before:
 * tg_cat_index_prepare checks PAGE (borrowed) of SOURCE into *OUT
 * (TG_EINVAL for a bad SOURCE, TG_ENOMEM); TEXT (may be NULL), LEN bytes,
 * is the text PAGE was parsed from with JSON_REJECT_DUPLICATES: a dataset
 * stored as it came is then its bytes there, not dumped again;
 * tg_cat_index_apply_page writes it as tg_cat_index_apply_from would
 * (*REFUSED: a new reference to the entries refused); the page is freed
 * with tg_cat_index_page_free (NULL: a no-op). */
struct tg_cat_index_page;
int tg_cat_index_prepare(const char *source, json_t *page, const char *text, size_t len,
                         struct tg_cat_index_page **out, struct tg_err *err);
int tg_cat_index_apply_page(struct tg_cat_store *ix, int64_t since,
                            const struct tg_cat_index_page *pp, int64_t *last_seq_out,
                            json_t **refused, struct tg_err *err);
void tg_cat_index_page_free(struct tg_cat_index_page *pp);

/* The last seq applied from SOURCE (0 when none) into *OUT. */
int tg_cat_index_last_seq(struct tg_cat_store *ix, const char *source, int64_t *out,
                          struct tg_err *err);

/* Records a failed harvest of SOURCE (its status becomes "failing" with
 * ERROR, copied; its failure count grows). 0 or TG_EDB. */
int tg_cat_index_fail(struct tg_cat_store *ix, const char *source, const char *error,
                      struct tg_err *err);

/* Removes every dataset of SOURCE and its bookkeeping, in one transaction;
 * *N (may be NULL) gets the number of datasets removed. */
int tg_cat_index_drop_source(struct tg_cat_store *ix, const char *source, int64_t *n,
                             struct tg_err *err);

/* The sources, ordered by node id: *OUT gets a new array of {"node",
 * "last_seq", "harvested_at" (last success, or null), "attempted_at",
 * "datasets", "status": new|ok|failing, "error" (or null), "refused" (total
 * entries refused), "failures" (consecutive), "last_refused": [{"seq",
 * "id", "reason"}] (the latest page's, at most 10)}. */
int tg_cat_index_sources(struct tg_cat_store *ix, json_t **out, struct tg_err *err);
/* Like tg_cat_index_sources without "datasets", "error" and "last_refused":
 * [{"node", "last_seq", "harvested_at" (or null), "status"}]. It reads
 * hv_source only, where the count of each source's datasets walks its whole
 * id range (~20 ms at 100,000 datasets, for every harvested search and every
 * round). *OUT gets a new reference. */
int tg_cat_index_sources_brief(struct tg_cat_store *ix, json_t **out, struct tg_err *err);

/* A source of the index and when it was last harvested (0: never). */
struct tg_cat_harvest_time {
  char node[64];
  int64_t at;
};
/* The index's sources, sorted by node (strcmp), with when each was last
 * harvested: *OUT is borrowed from IX until the next call on IX or its
 * free, *N their count. Read from hv_source only when the database changed
 * since the last call on IX's connection (PRAGMA data_version): a harvested
 * search, which needs them all, does not rebuild 1,741 of them each time. */
int tg_cat_index_harvest_times(struct tg_cat_store *ix, const struct tg_cat_harvest_time **out,
                               size_t *n, struct tg_err *err);

/* Locates dataset ID in the index: its owner node into OWNER (size N) and
 * when it was last harvested into *HARVESTED_AT (may be NULL). TG_ENOENT
 * when the index does not hold it, TG_ETOOBIG when OWNER is too small. */
int tg_cat_index_locate(struct tg_cat_store *ix, const char *id, char *owner, size_t n,
                        int64_t *harvested_at, struct tg_err *err);

/* The owner node of dataset id ID (urn:tsunagu:<node>:dataset:<local-id>)
 * into OWNER (size N); TG_EINVAL when ID is not such an id. */
int tg_cat_dataset_owner(const char *id, char *owner, size_t n);

/* ---- search ----------------------------------------------------------- */

enum tg_cat_sort { TG_CAT_SORT_RELEVANCE = 0, TG_CAT_SORT_MODIFIED, TG_CAT_SORT_TITLE };

/* A local search. Every string is borrowed and may be NULL (no filter). */
#define TG_CAT_RANK_CANDIDATES 1000 /* relevance ranks at most the newest this many matches */
struct tg_cat_query {
  const char *q;            /* words, "quoted phrases", -excluded, a OR b */
  const char *theme;        /* theme concept IRI */
  const char *keyword;      /* keyword (compared normalised) */
  const char *publisher;    /* publisher name or IRI */
  const char *spatial;      /* spatial IRI (e.g. municipality code URI) */
  int has_bbox;             /* filter on bbox[] = min lon, min lat, max lon, max lat */
  double bbox[4];
  int64_t modified_since;   /* epoch seconds; <= 0 for none */
  enum tg_cat_sort sort;
  int64_t offset;           /* >= 0 */
  int64_t limit;            /* 1..100; 0 means 20 */
  int facets;               /* compute facet counts */
  int deferred;             /* items without "dataset" and "highlight" (fill the
                             * ones kept with tg_cat_search_fill) */
  int64_t rank_candidates;  /* relevance ranks at most the newest this many
                             * matches, on every page alike (none past them);
                             * 0 or more than TG_CAT_RANK_CANDIDATES: that */
};

/* About how many datasets S has held (its highest record number: one
 * B-tree step, where a count reads them all); 0 when it cannot tell. */
int64_t tg_cat_size_hint(struct tg_cat_store *s);

/* Searches the local catalog. *OUT gets a new object:
 * {"total": n, "total_exact": bool, "ranked_partial": bool, "offset", "limit",
 *  "items": [{"id", "score", "version", "highlight": {"title":
 *  "..<mark>..</mark>..", "description": ...}, "dataset": public view}],
 *  "facets": {"theme"|"publisher"|"format"|"keyword": [{"value", "count"}]},
 *  "facets_partial": bool}.
 * Built to stay fast on a million datasets: "total" is exact up to 10000
 * (then 10000 with total_exact false); relevance over plain words ranks the
 * newest 1000 matches at most (ranked_partial says when it did); facets
 * count at most 1000 matches (facets_partial). Highlights are HTML-escaped
 * text with <mark> around matches on the original text. Results are ordered
 * by SORT with ties broken by the dataset's record number (creation order),
 * so limit/offset paging is stable. Returns 0, TG_EINVAL (bad query; detail
 * in ERR) or TG_EDB. */
int tg_cat_search(struct tg_cat_store *s, const struct tg_cat_query *q, json_t **out,
                  struct tg_err *err);

/* Completes the N items ITEMS (borrowed; items of a deferred search of S)
 * with their "dataset" (public view) and "highlight" for query text Q, as
 * the search would have: a merge of several catalogs loads the documents of
 * the page it keeps only. An item whose dataset was deleted since the search
 * is left without "dataset". Returns 0, TG_ENOMEM or TG_EDB. */
int tg_cat_search_fill(struct tg_cat_store *s, const char *q, json_t *const *items, size_t n,
                       struct tg_err *err);

/* Compiles query text Q (LEN bytes, untrusted) into an FTS5 MATCH expression
 * over the catalog's search terms. *MATCH gets a malloc()ed expression or
 * NULL when Q has no positive term; *EXCLUDE gets a malloc()ed expression
 * for the excluded terms or NULL. Either output pointer may be NULL when
 * not wanted. Returns 0, TG_EINVAL (query too long or too many terms) or
 * TG_ENOMEM. */
int tg_cat_query_compile(const char *q, size_t len, char **match, char **exclude,
                         struct tg_err *err);

/* Parses an xsd:date ("2024-04-01", optional zone) or xsd:dateTime
 * ("2024-04-01T09:00:00+09:00"; no zone means UTC) with a calendar check
 * into epoch seconds. Returns 0 or TG_EINVAL. */
int tg_cat_parse_time(const char *s, int64_t *out);

/* ---- merging the answers of several catalogs --------------------------- */

/* One catalog's search answer (tg_cat_search's shape, each source asked from
 * offset 0 with a limit of at least OFFSET + LIMIT), borrowed. */
struct tg_cat_merge_in {
  const char *source;   /* the node that answered */
  const json_t *answer; /* its answer, or NULL when it has none */
};

/* Merges the N answers IN into one page [OFFSET, OFFSET + LIMIT) sorted by
 * SORT: relevance compares each item's score divided by its source's best
 * score (bm25 values are relative to each index, so each source's best match
 * counts as 1); modified and title compare the datasets' dct:modified and
 * folded first title. Ties are broken by dataset id, so paging is stable
 * while the sources do not change. A dataset found more than once appears
 * once (the better key; a direct answer over one relayed by another node).
 * Items get "owner" (from the id), "source" and, when another node relayed
 * them, "via". *OUT gets a new object {"total" (the sum of the sources'),
 * "total_exact", "offset", "limit", "items", "facets" (counts summed, top 20
 * per kind), and "facets_partial": true when an answer said
 * "facets_withheld"}. Returns 0 or TG_ENOMEM. */
int tg_cat_merge(const struct tg_cat_merge_in *in, size_t n, enum tg_cat_sort sort,
                 int64_t offset, int64_t limit, json_t **out, struct tg_err *err);
/* ---- Dataspace Protocol 2025-1 shapes (cat_dsp.c) ------------------------ */

#define TG_CAT_DSP_CONTEXT "https://w3id.org/dspace/2025/1/context.jsonld"

/* The node serving a DSP catalog. Strings are borrowed. */
struct tg_cat_dsp_node {
  const char *participant; /* participantId: urn:tsunagu:node:<id> */
  const char *service_id;  /* the DataService's @id: <participant>:dsp */
  const char *endpoint;    /* the DataService's absolute endpointURL */
};

/* Returns a new reference to canonical ODRL policy POLICY (borrowed; one
 * "odrl:hasPolicy" value) as the DSP 2025-1 Offer a catalog lists: "@type"
 * "Offer" whatever its ODRL policy class, no "target" (the dataset is it),
 * "permission"/"prohibition"/"obligation", "constraint" and the logical
 * operands always arrays, each rule's "action", "assignee", constraints'
 * "leftOperand", "operator", "rightOperand" kept (a typed right operand keeps
 * its @value and @type), odrl: prefixes dropped. Keys in the tsunagu:
 * namespace are left out. NULL when POLICY is NULL. */
json_t *tg_cat_dsp_offer(const json_t *policy);

/* Returns a new reference to the DSP Dataset of dataset document DOC
 * (borrowed; canonical, owner or public view): its @id, title, description,
 * keywords and modification date with full IRIs, "hasPolicy" (one
 * tg_cat_dsp_offer per policy) and one HttpData-PULL "distribution" per
 * dcat:distribution (at least one) served by NODE (borrowed). Nothing in the
 * tsunagu: namespace is copied (tsunagu:backend, tsunagu:mode never leave).
 * STANDALONE puts the DSP "@context" first, for a document of its own.
 * NULL on ENOMEM, a NULL argument, or a dataset without a policy (a DSP
 * Dataset has at least one offer: there is nothing to negotiate). */
json_t *tg_cat_dsp_dataset(const json_t *doc, const struct tg_cat_dsp_node *node, int standalone);

/* Returns a new reference to the DSP Catalog of LIST (borrowed; a page as
 * tg_cat_dataset_list returns it, "datasets" read): @context, @id
 * "<participant>:catalog", participantId, NODE's DataService and one
 * tg_cat_dsp_dataset per dataset that has one ("dataset" left out when
 * none has). NULL on ENOMEM or a NULL argument. */
json_t *tg_cat_dsp_catalog(const json_t *list, const struct tg_cat_dsp_node *node);

/* Checks a CatalogRequestMessage MSG (borrowed; parsed JSON, may be NULL):
 * 0 when it can be answered; TG_EINVAL when it is not an object of @type
 * CatalogRequestMessage (bare, dspace: or the full IRI); TG_EUNSUP when it
 * carries a non-empty filter, which this catalog does not evaluate. On
 * failure *REASON (if REASON is not NULL) gets a static sentence for the
 * CatalogError, else NULL. */
int tg_cat_dsp_catalog_request_check(const json_t *msg, const char **reason);

#endif
