/* cat_obs: accumulated observations of the node's own datasets: the store
 * (SQLite tables obs, obs_dataset, obs_latest), the record splitter that cuts
 * a streamed JSON array / object / NDJSON body into records with bounded
 * memory, and the per-record checks (entity id, observation time, the Smart
 * Data Models a dataset declares with dct:conformsTo). No networking. */
#ifndef TG_CAT_OBS_H
#define TG_CAT_OBS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct tg_err;

#define TG_OBS_MAX_RECORD (1024u * 1024u) /* bytes of one record */
#define TG_OBS_MAX_ENTITY 256             /* bytes of an entity id */

/* ---- store -------------------------------------------------------------- */

struct tg_cat_obs;

/* Opens the observation store on DB (borrowed; must outlive it; one per
 * connection and thread), bringing the "obs" schema up to date. *OUT is freed
 * with tg_cat_obs_free(). 0 or TG_EDB/TG_ENOMEM. */
int tg_cat_obs_open(sqlite3 *db, struct tg_cat_obs **out, struct tg_err *err);
/* Finalises S's statements (not the database); NULL is a no-op. */
void tg_cat_obs_free(struct tg_cat_obs *s);

/* One record to store; strings borrowed for the call. */
struct tg_cat_obs_rec {
  const char *entity;  /* NUL-terminated entity id */
  int64_t observed_ms; /* observation time, ms since the epoch, UTC */
  const char *body;    /* the record as one line of compact JSON */
  size_t len;
};

/* Appends N records of DATASET (borrowed) inside the caller's transaction
 * (no BEGIN/COMMIT here) and maintains the latest record per entity. *FIRST
 * and *LAST get the sequence numbers given (increasing, global to the node).
 * 0 or TG_EDB. */
int tg_cat_obs_insert(struct tg_cat_obs *s, const char *dataset, const struct tg_cat_obs_rec *recs,
                      size_t n, int64_t *first, int64_t *last, struct tg_err *err);

/* Retention of DATASET inside the caller's transaction: deletes records
 * observed before BEFORE_MS (when > 0) and, when KEEP > 0, all but the KEEP
 * newest (by observation time), at most MAX rows per call. *DELETED gets the
 * count (== MAX means call again). 0 or TG_EDB. */
int tg_cat_obs_retain(struct tg_cat_obs *s, const char *dataset, int64_t before_ms, int64_t keep,
                      int64_t max, int64_t *deleted, struct tg_err *err);
/* Lists the datasets that have records: calls CB(UD, id) for each (id
 * borrowed for the call). 0 or TG_EDB. */
int tg_cat_obs_datasets(struct tg_cat_obs *s, void (*cb)(void *ud, const char *id), void *ud,
                        struct tg_err *err);

/* A read: records ordered by (observation time, seq). */
struct tg_cat_obs_query {
  int64_t since_ms, until_ms; /* inclusive bounds; INT64_MIN / INT64_MAX when absent */
  int has_after;              /* resume after (after_ms, after_seq) */
  int64_t after_ms, after_seq;
  int64_t limit;              /* at most this many rows (1..) */
  int latest;                 /* only the latest record of each entity */
};
/* Called per row; ENTITY and BODY borrowed for the call. Nonzero stops. */
typedef int (*tg_cat_obs_row_cb)(void *ud, int64_t seq, int64_t observed_ms, const char *entity,
                                 const char *body, size_t len);
/* Runs Q on DATASET: CB per row (at most Q->limit), *MORE = 1 when more
 * rows follow. 0, or TG_EDB; a CB stop is returned as TG_ECANCELED. */
int tg_cat_obs_read(struct tg_cat_obs *s, const char *dataset, const struct tg_cat_obs_query *q,
                    tg_cat_obs_row_cb cb, void *ud, int *more, struct tg_err *err);

/* The page Q would read: when it is full (Q->limit rows), *MORE says whether
 * rows follow it and *LAST_MS and *LAST_SEQ name its last row (the cursor of the
 * next page); *MORE = 0 otherwise. Reads only the index. 0 or TG_EDB. */
int tg_cat_obs_page_end(struct tg_cat_obs *s, const char *dataset,
                        const struct tg_cat_obs_query *q, int64_t *last_ms, int64_t *last_seq,
                        int *more, struct tg_err *err);

/* ---- splitter ------------------------------------------------------------ */

enum tg_cat_obs_fmt {
  TG_OBS_FMT_JSON = 0, /* one JSON object, or a JSON array of records */
  TG_OBS_FMT_NDJSON = 1,
};

/* A record cut from the body: INDEX counts records from 0 (array elements,
 * non-blank NDJSON lines); REC/LEN its bytes (borrowed for the call), or
 * NULL/0 when it was longer than the limit (TOO_BIG set). TOP is 1 for the
 * body's single top-level object (pointers then have no index). Nonzero stops
 * the splitter with that code. */
typedef int (*tg_cat_obs_rec_cb)(void *ud, size_t index, const char *rec, size_t len, int too_big,
                                 int top);

struct tg_cat_obs_split;
/* A splitter for FMT with records of at most MAX bytes, calling CB(UD, ...).
 * *OUT is freed with tg_cat_obs_split_free(). 0 or TG_ENOMEM. */
int tg_cat_obs_split_new(enum tg_cat_obs_fmt fmt, size_t max, tg_cat_obs_rec_cb cb, void *ud,
                         struct tg_cat_obs_split **out);
/* Feeds LEN bytes. 0; TG_EINVAL when the body is not JSON (the JSON format:
 * a structural error; the message says where); or the callback's code. */
int tg_cat_obs_split_feed(struct tg_cat_obs_split *s, const char *data, size_t len,
                          struct tg_err *err);
/* The body ended: flushes the last NDJSON line; TG_EINVAL if a JSON body is
 * incomplete or empty. */
int tg_cat_obs_split_finish(struct tg_cat_obs_split *s, struct tg_err *err);
/* Bytes fed so far. */
uint64_t tg_cat_obs_split_offset(const struct tg_cat_obs_split *s);
void tg_cat_obs_split_free(struct tg_cat_obs_split *s);

/* ---- record checks -------------------------------------------------------- */

enum tg_cat_obs_model {
  TG_OBS_MODEL_NONE = 0,
  TG_OBS_MODEL_WATER_OBSERVED,
  TG_OBS_MODEL_WEATHER_OBSERVED,
  TG_OBS_MODEL_FLOOD_MONITORING,
};

/* The Smart Data Model canonical dataset document DOC (borrowed) declares
 * with dct:conformsTo (on the dataset or a distribution), or NONE. */
enum tg_cat_obs_model tg_cat_obs_model_of(const json_t *doc);
/* The model's name ("WaterObserved"), or NULL for NONE. */
const char *tg_cat_obs_model_name(enum tg_cat_obs_model m);
/* 1 if DOC has a distribution with tsunagu:mode "accumulated". */
int tg_cat_obs_is_accumulated(const json_t *doc);

/* Checks record REC (borrowed) against MODEL: an object, with "id" (a
 * non-empty string, the entity) and an ISO 8601 observation time
 * ("dateObserved"; for models other than Water/WeatherObserved also
 * "observedAt"), the model's required properties and basic types. Each
 * problem is appended to ERRORS (borrowed array) as {"pointer": PREFIX +
 * "/field", "detail"}. Returns the number of problems; when 0, *ENTITY
 * (borrowed from REC) and *MS are set. */
int tg_cat_obs_check(const json_t *rec, enum tg_cat_obs_model model, const char *prefix,
                     json_t *errors, const char **entity, int64_t *ms);

/* Parses an ISO 8601 / RFC 3339 date-time (YYYY-MM-DDThh:mm[:ss[.fff]] with
 * Z or ±hh:mm; a bare date YYYY-MM-DD is midnight UTC) into ms since the
 * epoch, UTC. 0 or TG_EINVAL. */
int tg_cat_obs_parse_time(const char *s, int64_t *ms);

#endif
