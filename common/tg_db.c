/* tg_db: SQLite opening, durability settings and migrations. The only file in
 * common/ that calls SQLite. */
#include "tg_db.h"
#include "tg_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Whether SQLite's error RC is about the file itself (opening, reading,
 * writing, locking it), so that the message should name it and the
 * system's reason. */
static int file_error(int rc) {
  switch (rc & 0xff) {
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_READONLY:
  case SQLITE_FULL:
  case SQLITE_PERM:
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    return 1;
  default:
    return 0;
  }
}

/* Sets ERR to WHAT PATH: SQLite's message MSG and the system's reason
 * ("cannot open /x/ca.db: unable to open database file (Read-only file
 * system)"). SQLite falls back to reading only and then fails on the -wal
 * and -shm files beside PATH, so its last errno may be of one of those
 * (ENOENT): the file's and its directory's writability are asked first.
 * Returns TG_EDB. */
static int file_failed(sqlite3 *db, const char *what, const char *path, const char *msg,
                       struct tg_err *err) {
  char dir[4096];
  int sys = 0;
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else if (slash != NULL)
    *slash = '\0';
  else
    snprintf(dir, sizeof(dir), ".");
  if (access(path, W_OK) != 0 && errno != ENOENT)
    sys = errno;
  else if (access(dir, W_OK) != 0)
    return tg_err_set(err, TG_EDB, "%s%s: %s (%s: %s)", what, path, msg, dir, strerror(errno));
  else if (db != NULL)
    sys = sqlite3_system_errno(db);
  if (sys != 0)
    return tg_err_set(err, TG_EDB, "%s%s: %s (%s)", what, path, msg, strerror(sys));
  return tg_err_set(err, TG_EDB, "%s%s: %s", what, path, msg);
}

int tg_db_exec(sqlite3 *db, const char *sql, struct tg_err *err) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    const char *path = sqlite3_db_filename(db, "main");
    const char *text = msg ? msg : sqlite3_errmsg(db);
    if (file_error(sqlite3_extended_errcode(db)) && path != NULL && path[0] != '\0')
      file_failed(db, "database ", path, text, err);
    else
      tg_err_set(err, TG_EDB, "database: %s", text);
    sqlite3_free(msg);
    return TG_EDB;
  }
  return 0;
}

int tg_db_open(const char *path, int create, sqlite3 **out, struct tg_err *err) {
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
    file_failed(db, "cannot open ", path, db ? sqlite3_errmsg(db) : "out of memory", err);
    sqlite3_close(db);
    return TG_EDB;
  }
  sqlite3_busy_timeout(db, 5000);
  /* SQLite opens the file for reading and writing, or falls back to reading
   * only (a read-only directory, a file of another user), and finds out
   * that it cannot write it, or create its -wal and -shm beside it, only
   * here: this too is the failure to open it. */
  char *msg = NULL;
  int rc = sqlite3_exec(db,
                        "PRAGMA journal_mode=WAL;"
                        "PRAGMA synchronous=FULL;"
                        "PRAGMA foreign_keys=ON;"
                        "CREATE TABLE IF NOT EXISTS tg_schema("
                        " component TEXT PRIMARY KEY, version INTEGER NOT NULL);",
                        NULL, NULL, &msg);
  if (rc == SQLITE_OK && sqlite3_db_readonly(db, "main") == 1) {
    /* Opened for reading only, and nothing needed writing yet. */
    rc = SQLITE_READONLY;
    sqlite3_free(msg);
    msg = sqlite3_mprintf("the file cannot be opened for writing");
  }
  if (rc != SQLITE_OK) {
    file_failed(db, "cannot open ", path, msg ? msg : sqlite3_errmsg(db), err);
    sqlite3_free(msg);
    sqlite3_close(db);
    return TG_EDB;
  }
  *out = db;
  return 0;
}

void tg_db_close(sqlite3 *db) {
  if (db != NULL)
    sqlite3_close_v2(db);
}

int tg_db_version(sqlite3 *db, const char *component) {
  sqlite3_stmt *st = NULL;
  int v = 0;
  if (sqlite3_prepare_v2(db, "SELECT version FROM tg_schema WHERE component = ?1", -1, &st,
                         NULL) != SQLITE_OK)
    return 0;
  sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int tg__db_set_version(sqlite3 *db, const char *component, int version,
                              struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO tg_schema(component, version) VALUES(?1, ?2) "
                         "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "database: %s", sqlite3_errmsg(db));
  sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, version);
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = tg_err_set(err, TG_EDB, "database: %s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

int tg_db_migrate(sqlite3 *db, const char *component, const struct tg_db_migration *list, int n,
                  struct tg_err *err) {
  for (int i = 0; i < n; i++) {
    if (list[i].version <= tg_db_version(db, component))
      continue;
    int rc = tg_db_exec(db, "BEGIN IMMEDIATE", err);
    if (rc)
      return rc;
    /* Re-check under the write lock: another process may have migrated. */
    if (list[i].version <= tg_db_version(db, component)) {
      tg_db_exec(db, "COMMIT", NULL);
      continue;
    }
    rc = tg_db_exec(db, list[i].sql, err);
    if (rc == 0)
      rc = tg__db_set_version(db, component, list[i].version, err);
    if (rc == 0)
      rc = tg_db_exec(db, "COMMIT", err);
    if (rc) {
      tg_db_exec(db, "ROLLBACK", NULL);
      if (err) {
        struct tg_err why = *err; /* vsnprintf must not read what it writes */
        tg_err_set(err, rc, "migrating %s to version %d: %s", component, list[i].version,
                   why.msg);
      }
      return rc;
    }
  }
  return 0;
}
