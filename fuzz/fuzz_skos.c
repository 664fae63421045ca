/* fuzz_skos: SKOS JSON-LD import. Whatever validates must import into a fresh store,
 * export, and the export must validate and survive a second import unchanged; search
 * with the first bytes of the input as query must not fail. */
#include "tg_db.h"
#include "tg_err.h"
#include "tg_voc_store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_store(const json_t *doc, const char *q) {
  sqlite3 *db;
  struct tg_voc_store *st;
  json_t *a = NULL, *b = NULL, *hits = NULL;
  char *uri = NULL;
  if (tg_db_open(":memory:", 1, &db, NULL) != 0)
    return;
  if (tg_voc_store_open(db, &st, NULL) != 0)
    abort();
  int rc = tg_voc_scheme_import(st, doc, 0, NULL, &uri, NULL, NULL);
  if (rc != 0 && rc != TG_EINVAL) /* a short id may be underivable */
    abort();
  if (rc == 0) {
    if (tg_voc_scheme_export(st, uri, &a, NULL, NULL) != 0 || tg_voc_scheme_validate(a, NULL) != 0)
      abort();
    if (tg_voc_scheme_import(st, a, TG_VOC_IMPORT_REPLACE, NULL, NULL, NULL, NULL) != 0 ||
        tg_voc_scheme_export(st, uri, &b, NULL, NULL) != 0 || !json_equal(a, b))
      abort();
    if (tg_voc_search(st, q, NULL, NULL, 10, &hits, NULL) == 0)
      json_decref(hits);
  }
  json_decref(a);
  json_decref(b);
  free(uri);
  tg_voc_store_close(st);
  tg_db_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  char q[8];
  if (doc == NULL)
    return 0;
  size_t n = size < sizeof(q) - 1 ? size : sizeof(q) - 1;
  memcpy(q, data, n);
  q[n] = '\0';
  if (tg_voc_scheme_validate(doc, NULL) == 0)
    check_store(doc, q[0] ? q : "a");
  json_decref(doc);
  return 0;
}
