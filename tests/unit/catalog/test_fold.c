/* The catalog and the vocabularies fold text the same way: their entry
 * points (the catalog's tokeniser input and keyword key, the vocabulary's
 * label key) give identical output for the strings where their old copies
 * disagreed, and for the Japanese cases search depends on; a vocabulary
 * store folded by another version refolds its labels on open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_int.h"
#include "cat_store.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"
#include "tg_db.h"
#include "tg_voc_int.h"
#include "tg_voc_store.h"

#include <unistd.h>

static const struct {
  const char *in;
  size_t len; /* 0: strlen */
  const char *want;
} cases[] = {
    {"ÀLTO", 0, "àlto"},
    {"ﾐｽﾞ", 0, "ミズ"},
    {"\xef\xbe\x9e", 0, "\xe3\x82\x99"}, /* a lone ﾞ (U+FF9E): U+3099 */
    {"a\xff"
     "b",
     0,
     "a\xef\xbf\xbd"
     "b"},
    {"\xe6\xb0", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
    {"水位", 0, "水位"},
    {"ＡＢＣ", 0, "abc"},
    {"ﾀﾞﾑ ﾊﾟﾗﾒｰﾀ", 0, "ダム パラメータ"},
    {"Ｗａｔｅｒ　Ｌｅｖｅｌ", 0, "water level"},
    {"避難所", 0, "避難所"},
    {"Ōsaka ÉTÉ", 0, "ōsaka été"},
    {"㍻", 0, "平成"},
};

/* The catalog's tokeniser input: tg_text_fold's code points as UTF-8. */
static char *catalog_fold(const char *s, size_t len) {
  uint32_t *cps;
  size_t n;
  struct tg_buf b;
  assert_int_equal(tg_text_fold(s, len, &cps, NULL, NULL, &n), 0);
  tg_buf_init(&b);
  assert_int_equal(tg_buf_puts(&b, ""), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(tg_utf8_put(&b, cps[i]), 0);
  free(cps);
  return tg_buf_take(&b);
}

static void test_same_folding(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *in = cases[i].in;
    size_t len = cases[i].len ? cases[i].len : strlen(in);
    struct tg_buf voc;
    tg_buf_init(&voc);
    assert_int_equal(tg__voc_normalize(in, len, &voc), 0);
    char *cat = catalog_fold(in, len);
    char *kw = tg__cat_norm_keyword(in);
    assert_non_null(kw);
    if (strcmp(voc.data, cases[i].want) != 0)
      fail_msg("vocab folds '%s' to '%s', not '%s'", in, voc.data, cases[i].want);
    if (strcmp(cat, voc.data) != 0)
      fail_msg("catalog search folds '%s' to '%s', vocab to '%s'", in, cat, voc.data);
    if (strcmp(kw, voc.data) != 0)
      fail_msg("catalog keywords fold '%s' to '%s', vocab to '%s'", in, kw, voc.data);
    free(cat);
    free(kw);
    tg_buf_close(&voc);
  }
}

/* The catalog's index terms see the folded text: half-width and full-width
 * spellings index alike. */
static void test_index_terms(void **state) {
  (void)state;
  struct tg_buf a, b;
  tg_buf_init(&a);
  tg_buf_init(&b);
  assert_int_equal(tg__cat_index_terms(&a, "ﾐｽﾞ ＬＥＶＥＬ", strlen("ﾐｽﾞ ＬＥＶＥＬ")), 0);
  assert_int_equal(tg__cat_index_terms(&b, "ミズ level", strlen("ミズ level")), 0);
  assert_string_equal(a.data, b.data);
  assert_string_equal(a.data, " ミズ ミ ズ level");
  tg_buf_close(&a);
  tg_buf_close(&b);
}

/* Highlighting marks whole clusters and keeps bytes that fold to nothing. */
static void test_highlight(void **state) {
  (void)state;
  struct tg_buf out;
  tg_buf_init(&out);
  const char words[] = "平";
  assert_int_equal(tg__cat_highlight(&out, "㍻の水位", words, 1, 100), 0);
  assert_string_equal(out.data, "<mark>㍻</mark>の水位");
  tg_buf_reset(&out);
  const char w2[] = "level";
  assert_int_equal(tg__cat_highlight(&out, "wa\xc2\xadter level", w2, 1, 100), 0);
  assert_string_equal(out.data, "wa\xc2\xadter <mark>level</mark>");
  tg_buf_close(&out);
}

/* Hits of vocabulary search Q, as "uri uri ...". */
static char *voc_hits(struct tg_voc_store *vs, const char *q) {
  json_t *out = NULL;
  assert_int_equal(tg_voc_search(vs, q, NULL, NULL, 10, &out, NULL), 0);
  struct tg_buf b;
  tg_buf_init(&b);
  assert_int_equal(tg_buf_puts(&b, ""), 0);
  for (size_t i = 0; i < json_array_size(out); i++)
    tg_buf_printf(&b, "%s%s", i ? " " : "",
                  json_string_value(json_object_get(json_array_get(out, i), "uri")));
  json_decref(out);
  return tg_buf_take(&b);
}

/* A vocabulary store whose labels were folded by another folding (no fold
 * version, stale norm column) refolds them on open, so half-width and
 * upper-case queries find the concept; at the current version it is left
 * alone. */
static void test_vocab_refold(void **state) {
  (void)state;
  char dir[64] = "/tmp/tg-voc-fold-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/node.db", dir);
  sqlite3 *db = NULL;
  struct tg_voc_store *vs = NULL;
  assert_int_equal(tg_db_open(path, 1, &db, NULL), 0);
  assert_int_equal(tg_voc_store_open(db, &vs, NULL), 0);
  assert_int_equal(tg_db_version(db, "vocab.fold"), 1);
  assert_int_equal(
      tg_db_exec(db,
                 "INSERT INTO voc_scheme VALUES(1, 'urn:x:s', 's', 'e', 0);"
                 "INSERT INTO voc_concept VALUES('urn:x:dam', 1);"
                 "INSERT INTO voc_triple VALUES(1, 'urn:x:dam', 'prefLabel', 'ダム水位', 'ja', 0,"
                 " 'ﾀﾞﾑ水位');" /* as an old folding left it: half-width kept */
                 "INSERT INTO voc_triple VALUES(1, 'urn:x:dam', 'altLabel', 'Dam Level', 'en', 0,"
                 " 'Dam Level');" /* and case kept */
                 "DELETE FROM tg_schema WHERE component = 'vocab.fold';",
                 NULL),
      0);
  char *a = voc_hits(vs, "ﾀﾞﾑ"), *b = voc_hits(vs, "DAM LEVEL");
  assert_string_equal(a, ""); /* the query is folded, the stale labels are not */
  assert_string_equal(b, "");
  free(a);
  free(b);
  tg_voc_store_close(vs);
  assert_int_equal(tg_voc_store_open(db, &vs, NULL), 0);
  a = voc_hits(vs, "ﾀﾞﾑ");
  b = voc_hits(vs, "DAM LEVEL");
  assert_string_equal(a, "urn:x:dam");
  assert_string_equal(b, "urn:x:dam");
  free(a);
  free(b);
  assert_int_equal(tg_db_version(db, "vocab.fold"), 1);
  /* At the current version nothing is refolded. */
  assert_int_equal(tg_db_exec(db, "UPDATE voc_triple SET norm = 'stale'", NULL), 0);
  tg_voc_store_close(vs);
  assert_int_equal(tg_voc_store_open(db, &vs, NULL), 0);
  a = voc_hits(vs, "ﾀﾞﾑ");
  assert_string_equal(a, "");
  free(a);
  tg_voc_store_close(vs);
  tg_db_close(db);
  static const char *const files[] = {"node.db", "node.db-wal", "node.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_folding),
      cmocka_unit_test(test_index_terms),
      cmocka_unit_test(test_highlight),
      cmocka_unit_test(test_vocab_refold),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
