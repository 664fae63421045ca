/* tg_db: SQLite opening, durability settings and migrations. The only file in
 * common/ that calls SQLite. */
#include "tg_db.h"
#include "tg_err.h"

#include <stdio.h>

int tg_db_exec(sqlite3 *db, const char *sql, struct tg_err *err) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    tg_err_set(err, TG_EDB, "database: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return TG_EDB;
  }
  return 0;
}

int tg_db_open(const char *path, int create, sqlite3 **out, struct tg_err *err) {
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
    tg_err_set(err, TG_EDB, "cannot open database %s: %s", path,
               db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return TG_EDB;
  }
  sqlite3_busy_timeout(db, 5000);
  int rc = tg_db_exec(db,
                      "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON;"
                      "CREATE TABLE IF NOT EXISTS tg_schema("
                      " component TEXT PRIMARY KEY, version INTEGER NOT NULL);",
                      err);
  if (rc) {
    sqlite3_close(db);
    return rc;
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
