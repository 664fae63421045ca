/* cat_obs: the observation store on SQLite (component "obs"): records of the
 * node's accumulated datasets, an index on (dataset, observation time, seq)
 * for time-range reads and a latest table (dataset, entity -> seq) kept on
 * insert so "the latest record of each entity" is one indexed join. */
#include "cat_obs.h"
#include "tg_db.h"
#include "tg_err.h"

#include <stdlib.h>
#include <string.h>

/* seq is the rowid, given from obs_meta's counter (one update per batch, not
 * AUTOINCREMENT's one per row): never reused, even after retention took the
 * newest rows. Datasets are numbered (did) so rows carry an integer. The
 * latest table has no time index: a dataset's latest rows (one per entity)
 * are read whole and sorted, which stays small, while every insert would
 * otherwise move an index entry. */
static const struct tg_db_migration migrations[] = {
    {1, "CREATE TABLE obs_dataset(did INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);"
        "CREATE TABLE obs_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO obs_meta VALUES('seq', 0);"
        "CREATE TABLE obs(seq INTEGER PRIMARY KEY, did INTEGER NOT NULL,"
        " entity TEXT NOT NULL, observed_at INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE INDEX obs_time ON obs(did, observed_at, seq);"
        "CREATE TABLE obs_latest(did INTEGER NOT NULL, entity TEXT NOT NULL,"
        " seq INTEGER NOT NULL, observed_at INTEGER NOT NULL,"
        " PRIMARY KEY(did, entity)) WITHOUT ROWID;"},
};

enum {
  ST_DID_GET,
  ST_DID_ADD,
  ST_INSERT,
  ST_LATEST,
  ST_READ,
  ST_READ_LATEST,
  ST_DEL_BEFORE,
  ST_NTH_NEWEST,
  ST_LATEST_GONE,
  ST_LATEST_FILL,
  ST_DATASETS,
  ST_PAGE_END,
  ST_PAGE_END_LATEST,
  ST_SEQ_GET,
  ST_SEQ_SET,
  ST_COUNT
};

static const char *const sqls[ST_COUNT] = {
    [ST_DID_GET] = "SELECT did FROM obs_dataset WHERE id = ?1",
    [ST_DID_ADD] = "INSERT INTO obs_dataset(id) VALUES(?1) ON CONFLICT(id) DO NOTHING",
    [ST_INSERT] = "INSERT INTO obs(seq, did, entity, observed_at, body) VALUES(?5, ?1, ?2, ?3, ?4)",
    [ST_SEQ_GET] = "SELECT v FROM obs_meta WHERE k = 'seq'",
    [ST_SEQ_SET] = "UPDATE obs_meta SET v = ?1 WHERE k = 'seq'",
    [ST_LATEST] = "INSERT INTO obs_latest(did, entity, seq, observed_at) VALUES(?1, ?2, ?3, ?4)"
                  " ON CONFLICT(did, entity) DO UPDATE SET seq = excluded.seq,"
                  " observed_at = excluded.observed_at"
                  " WHERE excluded.observed_at >= obs_latest.observed_at",
    [ST_READ] = "SELECT seq, observed_at, entity, body FROM obs WHERE did = ?1"
                " AND observed_at >= ?2 AND observed_at <= ?3 AND (observed_at, seq) > (?4, ?5)"
                " ORDER BY observed_at, seq LIMIT ?6",
    [ST_READ_LATEST] = "SELECT o.seq, o.observed_at, o.entity, o.body FROM obs_latest l"
                       " JOIN obs o ON o.seq = l.seq WHERE l.did = ?1"
                       " AND l.observed_at >= ?2 AND l.observed_at <= ?3"
                       " AND (l.observed_at, l.seq) > (?4, ?5)"
                       " ORDER BY l.observed_at, l.seq LIMIT ?6",
    [ST_DEL_BEFORE] = "DELETE FROM obs WHERE seq IN (SELECT seq FROM obs WHERE did = ?1"
                      " AND observed_at < ?2 ORDER BY observed_at, seq LIMIT ?3)",
    [ST_NTH_NEWEST] = "SELECT observed_at FROM obs WHERE did = ?1"
                      " ORDER BY observed_at DESC, seq DESC LIMIT 1 OFFSET ?2",
    [ST_LATEST_GONE] = "DELETE FROM obs_latest WHERE did = ?1"
                       " AND NOT EXISTS (SELECT 1 FROM obs WHERE obs.seq = obs_latest.seq)",
    /* bare columns with max(): seq comes from the row with the newest time */
    [ST_LATEST_FILL] = "INSERT INTO obs_latest(did, entity, seq, observed_at)"
                       " SELECT did, entity, seq, max(observed_at) FROM obs WHERE did = ?1"
                       " AND entity NOT IN (SELECT entity FROM obs_latest WHERE did = ?1)"
                       " GROUP BY entity",
    [ST_DATASETS] = "SELECT id FROM obs_dataset ORDER BY id",
    [ST_PAGE_END] = "SELECT observed_at, seq FROM obs WHERE did = ?1"
                    " AND observed_at >= ?2 AND observed_at <= ?3 AND (observed_at, seq) > (?4, ?5)"
                    " ORDER BY observed_at, seq LIMIT 2 OFFSET ?6",
    [ST_PAGE_END_LATEST] = "SELECT observed_at, seq FROM obs_latest WHERE did = ?1"
                           " AND observed_at >= ?2 AND observed_at <= ?3"
                           " AND (observed_at, seq) > (?4, ?5)"
                           " ORDER BY observed_at, seq LIMIT 2 OFFSET ?6",
};

struct tg_cat_obs {
  sqlite3 *db; /* borrowed */
  sqlite3_stmt *st[ST_COUNT];
};

static int db_fail(struct tg_cat_obs *s, struct tg_err *err) {
  return tg_err_set(err, TG_EDB, "observation store: %s", sqlite3_errmsg(s->db));
}

int tg_cat_obs_open(sqlite3 *db, struct tg_cat_obs **out, struct tg_err *err) {
  *out = NULL;
  int rc = tg_db_migrate(db, "obs", migrations, (int)(sizeof(migrations) / sizeof(migrations[0])),
                         err);
  if (rc)
    return rc;
  struct tg_cat_obs *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  s->db = db;
  for (int i = 0; i < ST_COUNT; i++) {
    if (sqlite3_prepare_v3(db, sqls[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
        SQLITE_OK) {
      rc = db_fail(s, err);
      tg_cat_obs_free(s);
      return rc;
    }
  }
  *out = s;
  return 0;
}

void tg_cat_obs_free(struct tg_cat_obs *s) {
  if (s == NULL)
    return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  free(s);
}

/* Statement I, reset and unbound, ready for binding. */
static sqlite3_stmt *stmt(struct tg_cat_obs *s, int i) {
  sqlite3_reset(s->st[i]);
  sqlite3_clear_bindings(s->st[i]);
  return s->st[i];
}

/* DATASET's number into *DID; with ADD, numbering it if new. 0, TG_ENOENT
 * (not numbered, without ADD) or TG_EDB. */
static int dataset_did(struct tg_cat_obs *s, const char *dataset, int add, int64_t *did,
                       struct tg_err *err) {
  sqlite3_stmt *q = stmt(s, ST_DID_GET);
  sqlite3_bind_text(q, 1, dataset, -1, SQLITE_STATIC);
  int r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    *did = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return 0;
  }
  sqlite3_reset(q);
  if (r != SQLITE_DONE)
    return db_fail(s, err);
  if (!add)
    return TG_ENOENT;
  sqlite3_stmt *a = stmt(s, ST_DID_ADD);
  sqlite3_bind_text(a, 1, dataset, -1, SQLITE_STATIC);
  r = sqlite3_step(a);
  sqlite3_reset(a);
  if (r != SQLITE_DONE)
    return db_fail(s, err);
  return dataset_did(s, dataset, 0, did, err);
}

static int insert_one(struct tg_cat_obs *s, int64_t did, const struct tg_cat_obs_rec *rec,
                      int64_t seq, struct tg_err *err) {
  sqlite3_stmt *q = s->st[ST_INSERT];
  sqlite3_bind_int64(q, 1, did);
  sqlite3_bind_text(q, 2, rec->entity, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, rec->observed_ms);
  sqlite3_bind_text(q, 4, rec->body, (int)rec->len, SQLITE_STATIC);
  sqlite3_bind_int64(q, 5, seq);
  int r = sqlite3_step(q);
  sqlite3_reset(q);
  return r == SQLITE_DONE ? 0 : db_fail(s, err);
}

static int latest_one(struct tg_cat_obs *s, int64_t did, const struct tg_cat_obs_rec *rec,
                      int64_t seq, struct tg_err *err) {
  sqlite3_stmt *l = s->st[ST_LATEST];
  sqlite3_bind_int64(l, 1, did);
  sqlite3_bind_text(l, 2, rec->entity, -1, SQLITE_STATIC);
  sqlite3_bind_int64(l, 3, seq);
  sqlite3_bind_int64(l, 4, rec->observed_ms);
  int r = sqlite3_step(l);
  sqlite3_reset(l);
  return r == SQLITE_DONE ? 0 : db_fail(s, err);
}

/* Orders record indexes by entity, then time, then position. */
static _Thread_local const struct tg_cat_obs_rec *sort_recs;
static int by_entity(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp(sort_recs[i].entity, sort_recs[j].entity);
  if (c)
    return c;
  if (sort_recs[i].observed_ms != sort_recs[j].observed_ms)
    return sort_recs[i].observed_ms < sort_recs[j].observed_ms ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* Updates the latest table once per entity of the batch: its newest record
 * (the last of equal times, as one upsert per record would). */
static int latest_batch(struct tg_cat_obs *s, int64_t did, const struct tg_cat_obs_rec *recs,
                        size_t n, int64_t first, struct tg_err *err) {
  size_t *ix = malloc(n * sizeof(*ix));
  int rc = 0;
  if (ix == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    ix[i] = i;
  /* qsort has no context argument: a per-thread pointer */
  sort_recs = recs;
  qsort(ix, n, sizeof(*ix), by_entity);
  sort_recs = NULL;
  for (size_t k = 0; rc == 0 && k < n; k++)
    if (k + 1 == n || strcmp(recs[ix[k]].entity, recs[ix[k + 1]].entity) != 0)
      rc = latest_one(s, did, &recs[ix[k]], first + (int64_t)ix[k], err);
  free(ix);
  return rc;
}

/* The last seq given into *SEQ. */
static int seq_get(struct tg_cat_obs *s, int64_t *seq, struct tg_err *err) {
  sqlite3_stmt *q = stmt(s, ST_SEQ_GET);
  int r = sqlite3_step(q);
  if (r == SQLITE_ROW)
    *seq = sqlite3_column_int64(q, 0);
  sqlite3_reset(q);
  return r == SQLITE_ROW ? 0 : db_fail(s, err);
}

static int seq_set(struct tg_cat_obs *s, int64_t seq, struct tg_err *err) {
  sqlite3_stmt *q = stmt(s, ST_SEQ_SET);
  sqlite3_bind_int64(q, 1, seq);
  int r = sqlite3_step(q);
  sqlite3_reset(q);
  return r == SQLITE_DONE ? 0 : db_fail(s, err);
}

int tg_cat_obs_insert(struct tg_cat_obs *s, const char *dataset, const struct tg_cat_obs_rec *recs,
                      size_t n, int64_t *first, int64_t *last, struct tg_err *err) {
  int64_t did, seq = 0;
  *first = *last = 0;
  if (n == 0)
    return 0;
  int rc = dataset_did(s, dataset, 1, &did, err);
  if (rc == 0)
    rc = seq_get(s, &seq, err);
  if (rc)
    return rc;
  sqlite3_reset(s->st[ST_INSERT]);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = insert_one(s, did, &recs[i], seq + 1 + (int64_t)i, err);
  if (rc == 0)
    rc = latest_batch(s, did, recs, n, seq + 1, err);
  if (rc == 0)
    rc = seq_set(s, seq + (int64_t)n, err);
  if (rc == 0) {
    *first = seq + 1;
    *last = seq + (int64_t)n;
  }
  return rc;
}

/* Step a statement with no rows; 0 or TG_EDB. */
static int run(struct tg_cat_obs *s, sqlite3_stmt *q, struct tg_err *err) {
  int r = sqlite3_step(q);
  sqlite3_reset(q);
  return r == SQLITE_DONE ? 0 : db_fail(s, err);
}

/* The observation time of DID's KEEP-th newest record into *MS; TG_ENOENT when
 * there are no more than KEEP records. */
static int nth_newest(struct tg_cat_obs *s, int64_t did, int64_t keep, int64_t *ms,
                      struct tg_err *err) {
  sqlite3_stmt *q = stmt(s, ST_NTH_NEWEST);
  sqlite3_bind_int64(q, 1, did);
  sqlite3_bind_int64(q, 2, keep - 1);
  int r = sqlite3_step(q);
  if (r == SQLITE_ROW)
    *ms = sqlite3_column_int64(q, 0);
  sqlite3_reset(q);
  if (r == SQLITE_ROW)
    return 0;
  return r == SQLITE_DONE ? TG_ENOENT : db_fail(s, err);
}

int tg_cat_obs_retain(struct tg_cat_obs *s, const char *dataset, int64_t before_ms, int64_t keep,
                      int64_t max, int64_t *deleted, struct tg_err *err) {
  int64_t did, cut = before_ms > 0 ? before_ms : INT64_MIN, nth = 0;
  *deleted = 0;
  int rc = dataset_did(s, dataset, 0, &did, err);
  if (rc)
    return rc == TG_ENOENT ? 0 : rc;
  if (keep > 0) {
    /* Keeps the KEEP newest; records sharing the boundary time all stay. */
    rc = nth_newest(s, did, keep, &nth, err);
    if (rc == 0 && nth > cut)
      cut = nth;
    else if (rc != TG_ENOENT && rc != 0)
      return rc;
  }
  if (cut == INT64_MIN)
    return 0;
  sqlite3_stmt *q = stmt(s, ST_DEL_BEFORE);
  sqlite3_bind_int64(q, 1, did);
  sqlite3_bind_int64(q, 2, cut);
  sqlite3_bind_int64(q, 3, max);
  if ((rc = run(s, q, err)) != 0)
    return rc;
  *deleted = sqlite3_changes64(s->db);
  if (*deleted == 0)
    return 0;
  /* Entities whose latest record went: their newest remaining one. */
  q = stmt(s, ST_LATEST_GONE);
  sqlite3_bind_int64(q, 1, did);
  if ((rc = run(s, q, err)) != 0)
    return rc;
  q = stmt(s, ST_LATEST_FILL);
  sqlite3_bind_int64(q, 1, did);
  return run(s, q, err);
}

int tg_cat_obs_datasets(struct tg_cat_obs *s, void (*cb)(void *ud, const char *id), void *ud,
                        struct tg_err *err) {
  sqlite3_stmt *q = stmt(s, ST_DATASETS);
  int r;
  while ((r = sqlite3_step(q)) == SQLITE_ROW)
    cb(ud, (const char *)sqlite3_column_text(q, 0));
  sqlite3_reset(q);
  return r == SQLITE_DONE ? 0 : db_fail(s, err);
}

/* Binds Q's bounds (?1-?5) for DID on statement I. */
static sqlite3_stmt *bind_query(struct tg_cat_obs *s, int i, int64_t did,
                                const struct tg_cat_obs_query *qy) {
  sqlite3_stmt *q = stmt(s, i);
  sqlite3_bind_int64(q, 1, did);
  sqlite3_bind_int64(q, 2, qy->since_ms);
  sqlite3_bind_int64(q, 3, qy->until_ms);
  sqlite3_bind_int64(q, 4, qy->has_after ? qy->after_ms : INT64_MIN);
  sqlite3_bind_int64(q, 5, qy->has_after ? qy->after_seq : INT64_MIN);
  return q;
}

int tg_cat_obs_page_end(struct tg_cat_obs *s, const char *dataset,
                        const struct tg_cat_obs_query *qy, int64_t *last_ms, int64_t *last_seq,
                        int *more, struct tg_err *err) {
  int64_t did;
  *more = 0;
  int rc = dataset_did(s, dataset, 0, &did, err);
  if (rc)
    return rc == TG_ENOENT ? 0 : rc;
  sqlite3_stmt *q = bind_query(s, qy->latest ? ST_PAGE_END_LATEST : ST_PAGE_END, did, qy);
  sqlite3_bind_int64(q, 6, qy->limit - 1);
  int r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    *last_ms = sqlite3_column_int64(q, 0);
    *last_seq = sqlite3_column_int64(q, 1);
    r = sqlite3_step(q);
    *more = r == SQLITE_ROW;
  }
  sqlite3_reset(q);
  return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(s, err);
}

int tg_cat_obs_read(struct tg_cat_obs *s, const char *dataset, const struct tg_cat_obs_query *qy,
                    tg_cat_obs_row_cb cb, void *ud, int *more, struct tg_err *err) {
  int64_t did, n = 0;
  *more = 0;
  int rc = dataset_did(s, dataset, 0, &did, err);
  if (rc)
    return rc == TG_ENOENT ? 0 : rc;
  sqlite3_stmt *q = bind_query(s, qy->latest ? ST_READ_LATEST : ST_READ, did, qy);
  sqlite3_bind_int64(q, 6, qy->limit + 1);
  int r;
  rc = 0;
  while ((r = sqlite3_step(q)) == SQLITE_ROW) {
    if (n++ == qy->limit) {
      *more = 1;
      break;
    }
    const char *body = (const char *)sqlite3_column_text(q, 3);
    size_t len = (size_t)sqlite3_column_bytes(q, 3);
    if (cb(ud, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1),
           (const char *)sqlite3_column_text(q, 2), body ? body : "", len)) {
      rc = TG_ECANCELED;
      break;
    }
  }
  if (rc == 0 && r != SQLITE_ROW && r != SQLITE_DONE)
    rc = db_fail(s, err);
  sqlite3_reset(q);
  return rc;
}
