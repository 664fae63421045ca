/* The catalog and the vocabularies fold text the same way: their entry
 * points (the catalog's tokeniser input and keyword key, the vocabulary's
 * label key) give identical output for the strings where their old copies
 * disagreed, and for the Japanese cases search depends on. */
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
#include "tg_voc_int.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_folding),
      cmocka_unit_test(test_index_terms),
      cmocka_unit_test(test_highlight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
