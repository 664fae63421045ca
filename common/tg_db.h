/* tg_db: the node's SQLite database: open in WAL mode with durable commits,
 * versioned schema migrations per component, and small statement helpers. */
#ifndef TG_DB_H
#define TG_DB_H

#include <sqlite3.h>

struct tg_err;

/* One schema step of a component; steps run in order, each in a transaction. */
struct tg_db_migration {
  int version;     /* 1, 2, 3 … within the component */
  const char *sql; /* one or more statements */
};

/* Opens (creating if CREATE) the database at PATH: WAL journal,
 * synchronous=FULL (a commit acknowledged is on disk), foreign keys on, a busy
 * timeout. *OUT is closed with tg_db_close(). */
int tg_db_open(const char *path, int create, sqlite3 **out, struct tg_err *err);
/* Closes DB; NULL is a no-op. */
void tg_db_close(sqlite3 *db);
/* Brings COMPONENT's schema to its newest version by running the steps in
 * LIST (N of them) that have not run yet. Returns 0 or TG_EDB. */
int tg_db_migrate(sqlite3 *db, const char *component, const struct tg_db_migration *list,
                  int n, struct tg_err *err);
/* Returns the schema version COMPONENT has reached (0 if none). */
int tg_db_version(sqlite3 *db, const char *component);
/* Runs SQL with no parameters and no result rows. */
int tg_db_exec(sqlite3 *db, const char *sql, struct tg_err *err);

#endif
