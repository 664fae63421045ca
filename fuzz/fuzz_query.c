/* fuzz_query: feeds untrusted bytes to the search query compiler and runs
 * the FTS5 expressions it produces against an in-memory FTS5 table: any
 * expression SQLite refuses is a compiler bug. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>

#include "tg_cat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sqlite3 *db;

static void run(const char *expr) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?1", -1, &st, NULL) != SQLITE_OK)
    abort();
  sqlite3_bind_text(st, 1, expr, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    abort(); /* a syntax error in a compiled expression */
  sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (db == NULL) {
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE t USING fts5(title, body, kw,"
                     " tokenize='unicode61 remove_diacritics 0');"
                     "INSERT INTO t VALUES('水位 位観 河川 river water', 'x', 'y');",
                     NULL, NULL, NULL) != SQLITE_OK)
      abort();
  }
  char *m = NULL, *x = NULL;
  if (tg_cat_query_compile((const char *)data, size, &m, &x, NULL) == 0) {
    if (m != NULL)
      run(m);
    if (x != NULL)
      run(x);
  }
  free(m);
  free(x);
  return 0;
}
