/* Unit tests for common/tg_text: the one search folding (against utf8proc's
 * own NFKC_Casefold of the whole text, and the Japanese cases search needs),
 * its byte offsets, invalid UTF-8, the key form, the width fold for parsers
 * and the UTF-8 helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

/* tg_text_fold of S as UTF-8 in a new string. */
static char *fold_utf8(const char *s, size_t len) {
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

static void expect_fold(const char *in, size_t len, const char *want) {
  char *got = fold_utf8(in, len);
  if (strcmp(got, want) != 0)
    fail_msg("fold(%s) = %s, not %s", in, got, want);
  free(got);
}

static void test_fold_cases(void **state) {
  (void)state;
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"", ""},
      {"Water Level", "water level"},
      {"ÀLTO", "àlto"},
      {"ＡＢＣ１２３", "abc123"},
      {"水位", "水位"},
      {"ﾐｽﾞ", "ミズ"},
      {"ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ｳﾞ", "ガギグ パピ ヴ"},
      {"ｶ\xef\xbe\x9e", "ガ"},             /* ｶ + U+FF9E */
      {"カ\xe3\x82\x99", "ガ"},            /* full-width カ + combining U+3099 */
      {"か\xef\xbe\x9e", "が"},            /* hiragana too, as NFKC does */
      {"\xef\xbe\x9e", "\xe3\x82\x99"},    /* a lone ﾞ: U+3099, as NFKC says */
      {"ｱ\xef\xbe\x9f", "ア\xe3\x82\x9a"}, /* ア takes no ﾟ: left combining */
      {"ｰ｡｢｣､･", "ー。「」、・"},
      {"　", " "}, /* U+3000 */
      {"㍻", "平成"},
      {"①", "1"},
      {"Straße", "strasse"},
      {"ΣΑΣ", "σασ"},
      {"e\xcc\x81", "é"},
      {"soft\xc2\xadhyphen", "softhyphen"}, /* default ignorables go */
      {"\xea\xb0\x80\xe1\x86\xa8", "각"},   /* 가 + T jamo compose */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    expect_fold(cases[i].in, strlen(cases[i].in), cases[i].want);
}

static void test_fold_invalid(void **state) {
  (void)state;
  /* Each byte outside well-formed UTF-8 is one U+FFFD. */
  expect_fold("a\xff"
              "b",
              3,
              "a\xef\xbf\xbd"
              "b");
  expect_fold("\xe6\xb0", 2, "\xef\xbf\xbd\xef\xbf\xbd");                 /* 水 cut short */
  expect_fold("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");                 /* overlong '/' */
  expect_fold("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
  expect_fold("\xf4\x90\x80\x80", 4,
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");   /* > U+10FFFF */
  expect_fold("ｶ\xff\xef\xbe\x9e", 7, "カ\xef\xbf\xbd\xe3\x82\x99"); /* no joining across */
  /* A NUL is a character like any other. */
  uint32_t *cps;
  size_t n;
  assert_int_equal(tg_text_fold("A\0B", 3, &cps, NULL, NULL, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(cps[0], 'a');
  assert_int_equal(cps[1], 0);
  assert_int_equal(cps[2], 'b');
  free(cps);
}

/* The folding equals utf8proc's NFKC_Casefold of the whole text. */
static void check_whole(const char *s) {
  utf8proc_uint8_t *want = utf8proc_NFKC_Casefold((const utf8proc_uint8_t *)s);
  assert_non_null(want);
  char *got = fold_utf8(s, strlen(s));
  if (strcmp(got, (const char *)want) != 0)
    fail_msg("fold(%s) = %s, NFKC_Casefold = %s", s, got, want);
  free(got);
  free(want);
}

static void test_fold_is_nfkc_casefold(void **state) {
  (void)state;
  static const uint32_t alphabet[] = {
      'A',    'e',    'z',    ' ',     0x0301,  0x0327,  0x0323, 0x0345, 0x00C5, 0x212B,
      0xFB01, 0x00AD, 0x200B, 0x200D,  0x1E9E,  0x03A3,  0x0130, 0xFF76, 0xFF8A, 0xFF9E,
      0xFF9F, 0xFF70, 0x30AB, 0x30CF,  0x304B,  0x3099,  0x309A, 0x309B, 0x1100, 0x1161,
      0x11A8, 0xAC00, 0x0B47, 0x0B3E,  0x0F71,  0x0F72,  0x0F73, 0xFDFA, 0x3000, 0x6C34,
      0xF900, 0x337B, 0x2460, 0x1F1EF, 0x1F1F5, 0x1F469, 0xFE0F, 0x0915, 0x094D};
  const size_t na = sizeof(alphabet) / sizeof(alphabet[0]);
  unsigned seed = 12345;
  for (int round = 0; round < 20000; round++) {
    struct tg_buf b;
    tg_buf_init(&b);
    assert_int_equal(tg_buf_puts(&b, ""), 0);
    seed = seed * 1103515245u + 12345u;
    int len = 1 + (int)((seed >> 16) % 12);
    for (int k = 0; k < len; k++) {
      seed = seed * 1103515245u + 12345u;
      assert_int_equal(tg_utf8_put(&b, alphabet[(seed >> 16) % na]), 0);
    }
    check_whole(b.data);
    tg_buf_close(&b);
  }
}

static void test_fold_offsets(void **state) {
  (void)state;
  /* "Aｶﾞ㍻x": A [0,1) ガ [1,7) 平成 [7,10) both, x [10,11) */
  const char *s = "A\xef\xbd\xb6\xef\xbe\x9e\xe3\x8d\xbbx";
  uint32_t *cps;
  size_t *st, *en, n;
  assert_int_equal(tg_text_fold(s, strlen(s), &cps, &st, &en, &n), 0);
  assert_int_equal(n, 5);
  const uint32_t wc[] = {'a', 0x30AC, 0x5E73, 0x6210, 'x'};
  const size_t ws[] = {0, 1, 7, 7, 10}, we[] = {1, 7, 10, 10, 11};
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(cps[i], wc[i]);
    assert_int_equal(st[i], ws[i]);
    assert_int_equal(en[i], we[i]);
  }
  free(cps);
  free(st);
  free(en);
  /* Empty text: an empty array, still freed by the caller. */
  assert_int_equal(tg_text_fold("", 0, &cps, &st, NULL, &n), 0);
  assert_int_equal(n, 0);
  free(cps);
  free(st);
  /* A run of combining marks longer than a cluster is folded in parts. */
  struct tg_buf b;
  tg_buf_init(&b);
  assert_int_equal(tg_buf_puts(&b, "a"), 0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(tg_utf8_put(&b, i % 2 ? 0x0301 : 0x0323), 0);
  assert_int_equal(tg_text_fold(b.data, b.len, &cps, NULL, NULL, &n), 0);
  assert_true(n > 900 && n <= 1001);
  free(cps);
  tg_buf_close(&b);
}

static void test_fold_key(void **state) {
  (void)state;
  struct tg_buf b;
  tg_buf_init(&b);
  const char *in = "  Ｗａｔｅｒ　\t Level \n";
  assert_int_equal(tg_text_fold_key(in, strlen(in), &b), 0);
  assert_string_equal(b.data, "water level");
  tg_buf_reset(&b);
  assert_int_equal(tg_text_fold_key(" \t\xe3\x80\x80 ", 6, &b), 0);
  assert_int_equal(b.len, 0);
  assert_non_null(b.data);
  assert_string_equal(b.data, "");
  tg_buf_close(&b);
}

static void test_fold_width(void **state) {
  (void)state;
  assert_int_equal(tg_text_fold_width(0xFF10), '0'); /* ０ */
  assert_int_equal(tg_text_fold_width(0xFF19), '9'); /* ９ */
  assert_int_equal(tg_text_fold_width(0xFF21), 'a'); /* Ａ */
  assert_int_equal(tg_text_fold_width(0xFF0E), '.'); /* ． */
  assert_int_equal(tg_text_fold_width(0x3000), ' ');
  assert_int_equal(tg_text_fold_width('Q'), 'q');
  assert_int_equal(tg_text_fold_width(0xFF76), 0x30AB); /* ｶ */
  assert_int_equal(tg_text_fold_width(0x00B2), 0x00B2); /* ² stays: not a width form */
  assert_int_equal(tg_text_fold_width(0x2460), 0x2460); /* ① stays */
  assert_int_equal(tg_text_fold_width(0x6C34), 0x6C34);
  assert_int_equal(tg_text_fold_width(0x00C0), 0x00C0);
}

static void test_utf8(void **state) {
  (void)state;
  const char s[] = "a\xc3\xa9\xe6\xb0\xb4\xf0\x9f\x98\x80\xff";
  size_t pos = 0, len = sizeof(s) - 1;
  assert_int_equal(tg_utf8_next(s, len, &pos), 'a');
  assert_int_equal(tg_utf8_next(s, len, &pos), 0xE9);
  assert_int_equal(tg_utf8_next(s, len, &pos), 0x6C34);
  assert_int_equal(tg_utf8_next(s, len, &pos), 0x1F600);
  assert_int_equal(pos, 10);
  assert_int_equal(tg_utf8_next(s, len, &pos), -1);
  assert_int_equal(pos, 10);
  pos = len;
  assert_int_equal(tg_utf8_next(s, len, &pos), -1);
  assert_true(tg_utf8_valid(s, len - 1));
  assert_false(tg_utf8_valid(s, len));
  assert_true(tg_utf8_valid("", 0));
  assert_false(tg_utf8_valid("\xe6\xb0", 2));
  assert_false(tg_utf8_valid("\xc0\x80", 2));
  struct tg_buf b;
  tg_buf_init(&b);
  assert_int_equal(tg_utf8_put(&b, 0x1F600), 0);
  assert_int_equal(tg_utf8_put(&b, 0x110000), TG_EINVAL);
  assert_int_equal(b.len, 4);
  assert_memory_equal(b.data, "\xf0\x9f\x98\x80", 4);
  tg_buf_close(&b);
}

/* Edit distance over folded text: case and width do not count, one code
 * point is one edit whatever its UTF-8 length. */
static void test_distance(void **state) {
  (void)state;
  assert_int_equal(tg_text_distance("workers", "workers"), 0);
  assert_int_equal(tg_text_distance("workrs", "workers"), 1);
  assert_int_equal(tg_text_distance("LOG", "log"), 0);
  assert_int_equal(tg_text_distance("\xc3\x80LTO", "alto"), 1); /* ÀLTO: À folds to à, not a */
  assert_int_equal(tg_text_distance("\xc3\x80LTO", "\xc3\xa0lto"), 0); /* ... which is à */
  assert_int_equal(tg_text_distance("\xe6\xb0\xb4\xe4\xbd\x8d", "\xe6\xb0\xb4\xe9\x87\x8f"), 1); /* 水位 / 水量 */
  assert_int_equal(tg_text_distance("\xef\xbc\xa1\xef\xbc\xa2", "ab"), 0); /* full-width ＡＢ */
  assert_int_equal(tg_text_distance("", "abc"), 3);
  assert_int_equal(tg_text_distance("a\xff", "a"), 1); /* a broken byte is one U+FFFD */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fold_cases),
      cmocka_unit_test(test_fold_invalid),
      cmocka_unit_test(test_fold_is_nfkc_casefold),
      cmocka_unit_test(test_fold_offsets),
      cmocka_unit_test(test_fold_key),
      cmocka_unit_test(test_fold_width),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_distance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
