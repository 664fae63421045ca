/* tg_prov_log: the durable provenance log in SQLite (entries with their leaf
 * hashes, signed tree heads), group-committed appends, and the integrity
 * check at open that names the first entry that no longer matches. */
#include "prov_int.h"
#include "tg_buf.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_prov.h"
#include "tg_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tg_prov_log {
  sqlite3 *db;               /* from tg_db_open */
  struct tg_prov_tree *tree; /* the verified entries' tree */
  struct tg__prov_sha sha;
  sqlite3_stmt *ins; /* INSERT of one entry, prepared once */
  sqlite3_stmt *begin, *commit; /* an append's transaction, prepared once:
                                 * parsing them was a tenth of an append */
  struct tg_buf enc; /* encodings of the batch being appended */
  struct tg_prov_log_health health;
  int sync_os; /* TG_PROV_SYNC_OS: appends are not synced (tg_prov_log_set_sync) */
  char *wal;   /* the WAL file's path (tg_prov_log_sync_entries) */
};

static const struct tg_db_migration prov_schema[] = {
    {1, "CREATE TABLE prov_entry(idx INTEGER PRIMARY KEY, body BLOB NOT NULL,"
        " leaf BLOB NOT NULL);"
        "CREATE TABLE prov_sth(id INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL,"
        " ts INTEGER NOT NULL, node TEXT NOT NULL, root BLOB NOT NULL, sig BLOB NOT NULL);"},
};

static int db_fail(struct tg_prov_log *log, struct tg_err *err, const char *what) {
  return tg_err_set(err, TG_EDB, "provenance log: %s: %s", what, sqlite3_errmsg(log->db));
}

/* Records that the log is broken from index BAD on (keeping an earlier one). */
static void mark_broken(struct tg_prov_log *log, uint64_t bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mark_broken(struct tg_prov_log *log, uint64_t bad, const char *fmt, ...) {
  va_list ap;
  if (log->health.broken && log->health.first_bad <= bad)
    return;
  log->health.broken = 1;
  log->health.first_bad = bad;
  va_start(ap, fmt);
  vsnprintf(log->health.why, sizeof(log->health.why), fmt, ap);
  va_end(ap);
}

/* Checks one stored row against its index and leaf hash; appends it to the
 * tree if it holds. Returns 1 if the row is good, 0 if not, <0 on errors. */
static int row_check(struct tg_prov_log *log, sqlite3_stmt *st) {
  uint64_t want = tg_prov_tree_size(log->tree);
  uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
  const void *body = sqlite3_column_blob(st, 1);
  size_t len = (size_t)sqlite3_column_bytes(st, 1);
  const void *leaf = sqlite3_column_blob(st, 2);
  uint8_t h[TG_PROV_HASH];
  uint64_t own = 0;
  if (idx != want) {
    mark_broken(log, want, "entry %llu is missing (the next stored is %llu)",
                (unsigned long long)want, (unsigned long long)idx);
    return 0;
  }
  if (tg__prov_sha_leaf(&log->sha, body ? body : "", len, h) != 0)
    return TG_ECRYPTO;
  if (leaf == NULL || sqlite3_column_bytes(st, 2) != TG_PROV_HASH ||
      memcmp(h, leaf, TG_PROV_HASH) != 0 || tg__prov_entry_check(body, len, &own) != 0 ||
      own != idx) {
    mark_broken(log, idx, "entry %llu does not match its leaf hash or index",
                (unsigned long long)idx);
    return 0;
  }
  return tg_prov_tree_append(log->tree, h) == 0 ? 1 : TG_ENOMEM;
}

/* Makes room in the tree for the entries the table holds, so that reading a
 * large log does not grow the tree step by step. Only a hint: a forged huge
 * index or no memory leaves the tree to grow as it reads. */
static void scan_reserve(struct tg_prov_log *log) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(log->db, "SELECT max(idx) FROM prov_entry", -1, &st, NULL) != SQLITE_OK)
    return;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
    sqlite3_int64 max = sqlite3_column_int64(st, 0);
    if (max >= 0 && max < (sqlite3_int64)1 << 32)
      (void)tg_prov_tree_reserve(log->tree, (uint64_t)max + 1);
  }
  sqlite3_finalize(st);
}

/* Reads every entry in order into the tree, stopping at the first bad one. */
static int scan_entries(struct tg_prov_log *log, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0, step;
  scan_reserve(log);
  if (sqlite3_prepare_v2(log->db, "SELECT idx, body, leaf FROM prov_entry ORDER BY idx", -1, &st,
                         NULL) != SQLITE_OK)
    return db_fail(log, err, "reading entries");
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    log->health.size++;
    if (log->health.broken)
      continue; /* count the rest, trust none of it */
    rc = row_check(log, st);
    if (rc < 0)
      break;
    rc = 0;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_fail(log, err, "reading entries");
  else if (rc < 0)
    rc = tg_err_set(err, rc, "provenance log: %s", tg_strerror(rc));
  sqlite3_finalize(st);
  return rc;
}

/* Checks the tree against every stored tree head, oldest first. */
static int check_heads(struct tg_prov_log *log, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  uint64_t good = 0; /* the largest size a tree head vouches for so far */
  uint64_t have = tg_prov_tree_size(log->tree);
  if (sqlite3_prepare_v2(log->db, "SELECT tree_size, root FROM prov_sth ORDER BY id", -1, &st,
                         NULL) != SQLITE_OK)
    return db_fail(log, err, "reading tree heads");
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t size = (uint64_t)sqlite3_column_int64(st, 0);
    const void *root = sqlite3_column_blob(st, 1);
    uint8_t r[TG_PROV_HASH];
    if (size > have) {
      mark_broken(log, have, "a tree head covers %llu entries, the log holds %llu good ones",
                  (unsigned long long)size, (unsigned long long)have);
    } else if (tg_prov_tree_root(log->tree, size, r) != 0 || root == NULL ||
               sqlite3_column_bytes(st, 1) != TG_PROV_HASH || memcmp(r, root, TG_PROV_HASH) != 0) {
      mark_broken(log, good, "the tree head of size %llu does not match; entries below %llu do",
                  (unsigned long long)size, (unsigned long long)good);
    } else if (size > good) {
      good = size;
    }
  }
  int rc = step == SQLITE_DONE ? 0 : db_fail(log, err, "reading tree heads");
  sqlite3_finalize(st);
  return rc;
}

static int log_prepare(struct tg_prov_log *log, const char *path, struct tg_err *err) {
  int rc = tg_db_open(path, 1, &log->db, err);
  if (rc == 0)
    rc = tg_db_migrate(log->db, "prov", prov_schema, 1, err);
  if (rc == 0 && (rc = tg_prov_tree_new(&log->tree)) != 0)
    tg_err_set(err, rc, "provenance log: %s", tg_strerror(rc));
  if (rc == 0) {
    const char *db = sqlite3_db_filename(log->db, "main");
    size_t n = strlen(db ? db : "") + sizeof("-wal");
    if ((log->wal = malloc(n)) == NULL)
      rc = tg_err_set(err, TG_ENOMEM, "provenance log: out of memory");
    else
      snprintf(log->wal, n, "%s-wal", db ? db : "");
  }
  if (rc == 0 && tg__prov_sha_init(&log->sha) != 0)
    rc = tg_err_set(err, TG_ECRYPTO, "provenance log: no SHA-256");
  if (rc == 0 &&
      sqlite3_prepare_v3(log->db, "INSERT INTO prov_entry(idx, body, leaf) VALUES(?1, ?2, ?3)", -1,
                         SQLITE_PREPARE_PERSISTENT, &log->ins, NULL) != SQLITE_OK)
    rc = db_fail(log, err, "preparing");
  if (rc == 0 && (sqlite3_prepare_v3(log->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT,
                                     &log->begin, NULL) != SQLITE_OK ||
                  sqlite3_prepare_v3(log->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT,
                                     &log->commit, NULL) != SQLITE_OK))
    rc = db_fail(log, err, "preparing");
  return rc;
}

/* Runs a prepared statement that returns no rows; 0 or TG_EDB. */
static int step_done(struct tg_prov_log *log, sqlite3_stmt *st, const char *what,
                     struct tg_err *err) {
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(log, err, what);
  sqlite3_reset(st);
  return rc;
}

int tg_prov_log_open(const char *path, struct tg_prov_log **out, struct tg_err *err) {
  struct tg_prov_log *log = calloc(1, sizeof(*log));
  if (log == NULL)
    return tg_err_set(err, TG_ENOMEM, "provenance log: out of memory");
  tg_buf_init(&log->enc);
  int rc = log_prepare(log, path, err);
  if (rc == 0)
    rc = scan_entries(log, err);
  if (rc == 0)
    rc = check_heads(log, err);
  if (rc) {
    tg_prov_log_close(log);
    return rc;
  }
  *out = log;
  return 0;
}

void tg_prov_log_close(struct tg_prov_log *log) {
  if (log == NULL)
    return;
  sqlite3_finalize(log->ins);
  sqlite3_finalize(log->begin);
  sqlite3_finalize(log->commit);
  tg_db_close(log->db);
  tg_prov_tree_free(log->tree);
  tg__prov_sha_close(&log->sha);
  tg_buf_close(&log->enc);
  free(log->wal);
  free(log);
}

const struct tg_prov_log_health *tg_prov_log_health(const struct tg_prov_log *log) {
  return &log->health;
}

const struct tg_prov_tree *tg_prov_log_tree(const struct tg_prov_log *log) {
  return log->tree;
}

uint64_t tg_prov_log_size(const struct tg_prov_log *log) {
  return tg_prov_tree_size(log->tree);
}

/* Encodes the batch into log->enc (ENDS[i] the end of entry i) and hashes it. */
static int batch_encode(struct tg_prov_log *log, struct tg_prov_entry *entries, size_t n,
                        size_t *ends, uint8_t (*leaves)[TG_PROV_HASH], struct tg_err *err) {
  uint64_t base = tg_prov_tree_size(log->tree);
  tg_buf_reset(&log->enc);
  for (size_t i = 0; i < n; i++) {
    size_t start = log->enc.len;
    entries[i].index = base + i;
    int rc = tg_prov_entry_encode(&entries[i], &log->enc, err);
    if (rc)
      return rc;
    ends[i] = log->enc.len;
    if (tg__prov_sha_leaf(&log->sha, log->enc.data + start, ends[i] - start, leaves[i]) != 0)
      return tg_err_set(err, TG_ECRYPTO, "provenance log: hashing failed");
  }
  return 0;
}

/* Inserts the encoded batch; the caller holds the transaction. */
static int batch_insert(struct tg_prov_log *log, size_t n, const size_t *ends,
                        uint8_t (*leaves)[TG_PROV_HASH], struct tg_err *err) {
  uint64_t base = tg_prov_tree_size(log->tree);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_int64(log->ins, 1, (sqlite3_int64)(base + i));
    sqlite3_bind_blob(log->ins, 2, log->enc.data + start, (int)(ends[i] - start), SQLITE_STATIC);
    sqlite3_bind_blob(log->ins, 3, leaves[i], TG_PROV_HASH, SQLITE_STATIC);
    int step = sqlite3_step(log->ins);
    sqlite3_reset(log->ins);
    if (step != SQLITE_DONE)
      return db_fail(log, err, "appending");
    start = ends[i];
  }
  sqlite3_clear_bindings(log->ins);
  return 0;
}

/* The batch is committed: the tree follows. Memory running out here leaves
 * the tree behind the database, which the log then reports as broken. */
static void batch_to_tree(struct tg_prov_log *log, size_t n, uint8_t (*leaves)[TG_PROV_HASH]) {
  for (size_t i = 0; i < n; i++)
    if (tg_prov_tree_append(log->tree, leaves[i]) != 0) {
      mark_broken(log, tg_prov_tree_size(log->tree), "out of memory for the tree at entry %llu",
                  (unsigned long long)tg_prov_tree_size(log->tree));
      return;
    }
}

int tg_prov_log_append(struct tg_prov_log *log, struct tg_prov_entry *entries, size_t n,
                       struct tg_err *err) {
  if (log->health.broken)
    return tg_err_set(err, TG_EPERM, "provenance log is broken: %s", log->health.why);
  if (n == 0)
    return 0;
  if (n > SIZE_MAX / TG_PROV_HASH)
    return tg_err_set(err, TG_ETOOBIG, "provenance log: a batch of %zu entries", n);
  size_t *ends = malloc(n * sizeof(*ends));
  uint8_t(*leaves)[TG_PROV_HASH] = malloc(n * TG_PROV_HASH);
  int rc = ends && leaves ? 0 : tg_err_set(err, TG_ENOMEM, "provenance log: out of memory");
  if (rc == 0)
    rc = batch_encode(log, entries, n, ends, leaves, err);
  if (rc == 0)
    rc = step_done(log, log->begin, "appending", err);
  if (rc == 0) {
    rc = batch_insert(log, n, ends, leaves, err);
    if (rc == 0)
      rc = step_done(log, log->commit, "appending", err);
    if (rc)
      tg_db_exec(log->db, "ROLLBACK", NULL);
    else
      batch_to_tree(log, n, leaves);
  }
  free(ends);
  free(leaves);
  return rc;
}

int tg_prov_log_entry_get(struct tg_prov_log *log, uint64_t index, uint8_t **out, size_t *len,
                          struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(log->db, "SELECT body FROM prov_entry WHERE idx = ?1", -1, &st, NULL) !=
      SQLITE_OK)
    return db_fail(log, err, "reading an entry");
  sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *len = (size_t)sqlite3_column_bytes(st, 0);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL)
      rc = tg_err_set(err, TG_ENOMEM, "provenance log: out of memory");
    else if (*len)
      memcpy(*out, sqlite3_column_blob(st, 0), *len);
  } else if (step == SQLITE_DONE) {
    rc = tg_err_set(err, TG_ENOENT, "provenance log: no entry %llu", (unsigned long long)index);
  } else {
    rc = db_fail(log, err, "reading an entry");
  }
  sqlite3_finalize(st);
  return rc;
}

/* A row read while the node runs, checked against the tree verified at open:
 * the log is marked broken (no tree head is signed over it, /healthz says
 * so) when a row went missing (WANT, not IDX, came next) or no longer hashes
 * to its leaf: the file was edited under the running node. */
static int read_check(struct tg_prov_log *log, uint64_t want, uint64_t idx, const uint8_t *body,
                      size_t len, struct tg_err *err) {
  uint8_t h[TG_PROV_HASH];
  const uint8_t *leaf = tg_prov_tree_leaf(log->tree, want);
  if (idx != want) {
    mark_broken(log, want, "entry %llu is missing", (unsigned long long)want);
  } else if (leaf == NULL || tg__prov_sha_leaf(&log->sha, body, len, h) != 0 ||
             memcmp(h, leaf, TG_PROV_HASH) != 0) {
    mark_broken(log, want, "entry %llu no longer matches its leaf hash",
                (unsigned long long)want);
  } else {
    return 0;
  }
  return tg_err_set(err, TG_EDB, "provenance log is broken: %s", log->health.why);
}

int tg_prov_log_read(struct tg_prov_log *log, uint64_t start, uint64_t end, tg_prov_read_cb cb,
                     void *arg, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (start > end || end > tg_prov_tree_size(log->tree))
    return tg_err_set(err, TG_EINVAL, "provenance log: no entries %llu..%llu in a log of %llu",
                      (unsigned long long)start, (unsigned long long)end,
                      (unsigned long long)tg_prov_tree_size(log->tree));
  if (sqlite3_prepare_v2(log->db,
                         "SELECT idx, body FROM prov_entry WHERE idx >= ?1 AND idx < ?2"
                         " ORDER BY idx",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(log, err, "reading entries");
  sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)end);
  int rc = 0, step;
  uint64_t want = start;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    const uint8_t *body = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
    if (body == NULL && sqlite3_errcode(log->db) == SQLITE_NOMEM) {
      rc = tg_err_set(err, TG_ENOMEM, "provenance log: out of memory reading entries");
      break; /* no body for want of memory is not a changed entry */
    }
    if ((rc = read_check(log, want, idx, body ? body : (const uint8_t *)"", len, err)) != 0)
      break;
    rc = cb(arg, idx, body ? body : (const uint8_t *)"", len);
    want++;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_fail(log, err, "reading entries");
  if (rc == 0 && want != end)
    rc = read_check(log, want, end, NULL, 0, err);
  sqlite3_finalize(st);
  return rc;
}

static int sth_store(struct tg_prov_log *log, const struct tg_prov_sth *sth, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(log->db,
                         "INSERT INTO prov_sth(tree_size, ts, node, root, sig)"
                         " VALUES(?1, ?2, ?3, ?4, ?5)",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(log, err, "storing a tree head");
  sqlite3_bind_int64(st, 1, (sqlite3_int64)sth->tree_size);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)sth->timestamp_ms);
  sqlite3_bind_text(st, 3, sth->node, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 4, sth->root, TG_PROV_HASH, SQLITE_STATIC);
  sqlite3_bind_blob(st, 5, sth->sig, (int)sth->sig_len, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(log, err, "storing a tree head");
  sqlite3_finalize(st);
  return rc;
}

int tg_prov_log_head(struct tg_prov_log *log, const char *node, uint64_t timestamp_ms,
                     struct tg_prov_sth *sth, struct tg_err *err) {
  if (log->health.broken)
    return tg_err_set(err, TG_EPERM, "provenance log is broken, not signing: %s", log->health.why);
  memset(sth, 0, sizeof(*sth));
  if (node == NULL || strlen(node) > TG_PROV_MAX_NODE)
    return tg_err_set(err, TG_EINVAL, "tree head: the node id is not valid");
  memcpy(sth->node, node, strlen(node) + 1);
  sth->tree_size = tg_prov_tree_size(log->tree);
  sth->timestamp_ms = timestamp_ms;
  int rc = tg_prov_tree_root(log->tree, sth->tree_size, sth->root);
  if (rc)
    return tg_err_set(err, rc, "tree head: %s", tg_strerror(rc));
  return 0;
}

int tg_prov_log_sync_entries(const struct tg_prov_log *log, struct tg_err *err) {
  if (!log->sync_os)
    return 0; /* every commit was synced */
  /* A WAL frame leaves the WAL only for a checkpoint that synced the database
   * first, so syncing the WAL makes every committed entry durable. Any
   * descriptor of the file will do: the kernel writes the file's pages. */
  int fd = open(log->wal, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 /* no WAL: all is in the synced database */
                           : tg_err_set(err, TG_EIO, "provenance log: %s: %s", log->wal,
                                        strerror(errno));
  int rc = fdatasync(fd) == 0 ? 0
                              : tg_err_set(err, TG_EIO, "provenance log: syncing %s: %s",
                                           log->wal, strerror(errno));
  close(fd);
  return rc;
}

int tg_prov_log_store(struct tg_prov_log *log, const struct tg_prov_sth *sth, int sync,
                      struct tg_err *err) {
  uint8_t r[TG_PROV_HASH];
  if (log->health.broken)
    return tg_err_set(err, TG_EPERM, "provenance log is broken, not signing: %s", log->health.why);
  if (sth->tree_size > tg_prov_tree_size(log->tree) ||
      tg_prov_tree_root(log->tree, sth->tree_size, r) != 0 ||
      memcmp(r, sth->root, TG_PROV_HASH) != 0)
    return tg_err_set(err, TG_EINVAL, "tree head: it does not match the log");
  int rc = 0;
  if (sync && log->sync_os && (rc = tg_db_exec(log->db, "PRAGMA synchronous=FULL", err)) != 0)
    return rc;
  rc = sth_store(log, sth, err);
  if (sync && log->sync_os)
    tg_db_exec(log->db, "PRAGMA synchronous=NORMAL", NULL);
  return rc;
}

int tg_prov_log_sign(struct tg_prov_log *log, EVP_PKEY *key, const char *node,
                     uint64_t timestamp_ms, struct tg_prov_sth *sth, struct tg_err *err) {
  int rc = tg_prov_log_head(log, node, timestamp_ms, sth, err);
  if (rc == 0)
    rc = tg_prov_sth_sign(sth, key, err);
  /* A tree head vouches only for entries on disk: its commit syncs the WAL,
   * and with it every entry appended before, even in TG_PROV_SYNC_OS. */
  if (rc == 0)
    rc = tg_prov_log_store(log, sth, 1, err);
  return rc;
}

/* Fills STH from a prov_sth row (tree_size, ts, node, root, sig). */
static int sth_row(sqlite3_stmt *st, struct tg_prov_sth *sth) {
  const char *node = (const char *)sqlite3_column_text(st, 2);
  int nroot = sqlite3_column_bytes(st, 3), nsig = sqlite3_column_bytes(st, 4);
  memset(sth, 0, sizeof(*sth));
  if (node == NULL || strlen(node) > TG_PROV_MAX_NODE || nroot != TG_PROV_HASH || nsig <= 0 ||
      nsig > TG_PROV_MAX_SIG)
    return TG_EINVAL;
  memcpy(sth->node, node, strlen(node) + 1);
  sth->tree_size = (uint64_t)sqlite3_column_int64(st, 0);
  sth->timestamp_ms = (uint64_t)sqlite3_column_int64(st, 1);
  memcpy(sth->root, sqlite3_column_blob(st, 3), TG_PROV_HASH);
  memcpy(sth->sig, sqlite3_column_blob(st, 4), (size_t)nsig);
  sth->sig_len = (size_t)nsig;
  return 0;
}

/* Checks one stored tree head's signature; 1 good, 0 bad, <0 on errors. */
/* 1 if one of the N KEYS signed the row's tree head, 0 if none did. */
static int head_signed(sqlite3_stmt *st, EVP_PKEY *const *keys, size_t n, uint64_t *size) {
  struct tg_prov_sth sth;
  if (sth_row(st, &sth) != 0)
    return 0;
  *size = sth.tree_size;
  for (size_t i = 0; i < n; i++) {
    int rc = tg_prov_sth_verify(&sth, keys[i], NULL);
    if (rc == 0)
      return 1;
    if (rc != TG_EPROTO && rc != TG_EINVAL)
      return rc;
  }
  return 0;
}

int tg_prov_log_check_signatures(struct tg_prov_log *log, EVP_PKEY *key, struct tg_err *err) {
  return tg_prov_log_check_signatures_any(log, &key, 1, err);
}

int tg_prov_log_check_signatures_any(struct tg_prov_log *log, EVP_PKEY *const *keys, size_t n,
                                     struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  uint64_t good = 0, size = 0;
  int rc = 0, step;
  if (sqlite3_prepare_v2(log->db, "SELECT tree_size, ts, node, root, sig FROM prov_sth ORDER BY id",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(log, err, "reading tree heads");
  while (rc >= 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    rc = head_signed(st, keys, n, &size);
    if (rc == 0)
      mark_broken(log, good, "a stored tree head (size %llu) is not signed by the node key",
                  (unsigned long long)size);
    else if (rc == 1 && size > good)
      good = size;
  }
  if (rc < 0)
    rc = tg_err_set(err, rc, "provenance log: checking signatures: %s", tg_strerror(rc));
  else
    rc = step == SQLITE_DONE ? 0 : db_fail(log, err, "reading tree heads");
  sqlite3_finalize(st);
  return rc;
}

int tg_prov_log_expect(struct tg_prov_log *log, uint64_t size, const uint8_t root[TG_PROV_HASH]) {
  uint8_t r[TG_PROV_HASH];
  uint64_t have = tg_prov_tree_size(log->tree);
  if (size > have)
    mark_broken(log, have,
                "the last tree head signed covers %llu entries, the log holds %llu good ones",
                (unsigned long long)size, (unsigned long long)have);
  else if (tg_prov_tree_root(log->tree, size, r) != 0 || memcmp(r, root, TG_PROV_HASH) != 0)
    mark_broken(log, 0, "the log does not match the last tree head signed (size %llu)",
                (unsigned long long)size);
  return 0;
}

int tg_prov_log_sth_latest(struct tg_prov_log *log, struct tg_prov_sth *sth, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_prepare_v2(log->db,
                         "SELECT tree_size, ts, node, root, sig FROM prov_sth"
                         " ORDER BY id DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(log, err, "reading tree heads");
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW)
    rc = sth_row(st, sth) == 0 ? 0 : tg_err_set(err, TG_EINVAL, "stored tree head is malformed");
  else if (step == SQLITE_DONE)
    rc = tg_err_set(err, TG_ENOENT, "no tree head signed yet");
  else
    rc = db_fail(log, err, "reading tree heads");
  sqlite3_finalize(st);
  return rc;
}

int tg_prov_log_set_sync(struct tg_prov_log *log, int mode, struct tg_err *err) {
  if (mode != TG_PROV_SYNC_FULL && mode != TG_PROV_SYNC_OS)
    return tg_err_set(err, TG_EINVAL, "provenance log: sync mode %d", mode);
  /* With TG_PROV_SYNC_OS the checkpoint thread checkpoints (and syncs): an
   * automatic checkpoint in an append would wait for the disk, and appends
   * may run on an event loop (tg_provlog_direct). */
  int rc = tg_db_exec(log->db,
                      mode == TG_PROV_SYNC_FULL
                          ? "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=1000"
                          : "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
                            " PRAGMA journal_size_limit=4194304",
                      err);
  if (rc == 0)
    log->sync_os = mode == TG_PROV_SYNC_OS;
  return rc;
}
