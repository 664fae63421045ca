/* Unit tests for connector/tg_qs: the one percent-decoder and encoder and
 * query-string parsing (malformed escapes, %00, '+', repeated keys, empty
 * values, overlong input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_buf.h"
#include "tg_err.h"
#include "tg_qs.h"

static long dec(const char *in, int plus, char *out, size_t cap) {
  return tg_qs_decode(in, strlen(in), out, cap, plus);
}

static void test_decode(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(dec("a%20b", 1, out, sizeof(out)), 3);
  assert_string_equal(out, "a b");
  assert_int_equal(dec("a+b", 1, out, sizeof(out)), 3);
  assert_string_equal(out, "a b");
  assert_int_equal(dec("a+b", 0, out, sizeof(out)), 3); /* path segments keep '+' */
  assert_string_equal(out, "a+b");
  assert_int_equal(dec("%41%6a%2B", 1, out, sizeof(out)), 3);
  assert_string_equal(out, "Aj+");
  assert_int_equal(dec("%E6%B0%B4%e4%bd%8d", 1, out, sizeof(out)), 6);
  assert_string_equal(out, "水位");
  assert_int_equal(dec("", 1, out, sizeof(out)), 0);
  assert_string_equal(out, "");
  /* malformed escapes */
  const char *const bad[] = {"%", "%4", "a%", "%G1", "%4G", "%%41", "% 41", "%-1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (dec(bad[i], 1, out, sizeof(out)) != TG_EINVAL)
      fail_msg("decoded '%s'", bad[i]);
  /* %00, raw control bytes, DEL */
  assert_int_equal(dec("a%00b", 1, out, sizeof(out)), TG_EINVAL);
  assert_int_equal(dec("a\x01", 1, out, sizeof(out)), TG_EINVAL);
  assert_int_equal(dec("a\x7f", 1, out, sizeof(out)), TG_EINVAL);
  assert_int_equal(dec("a\tb", 1, out, sizeof(out)), TG_EINVAL);
  /* not UTF-8 once decoded */
  assert_int_equal(dec("%FF", 1, out, sizeof(out)), TG_EINVAL);
  assert_int_equal(dec("%C0%AF", 1, out, sizeof(out)), TG_EINVAL);    /* overlong '/' */
  assert_int_equal(dec("%ED%A0%80", 1, out, sizeof(out)), TG_EINVAL); /* surrogate */
  assert_int_equal(dec("%E6%B0", 1, out, sizeof(out)), TG_EINVAL);    /* cut short */
  /* OUT too small is not bad input, and neither is TG_ENOMEM */
  assert_int_equal(dec("abcd", 1, out, 4), TG_ETOOBIG);
  assert_int_equal(dec("abc", 1, out, 4), 3);
  assert_int_equal(dec("", 1, out, 0), TG_ETOOBIG);
  assert_int_not_equal(TG_EINVAL, TG_ENOMEM);
  assert_int_not_equal(TG_ETOOBIG, TG_ENOMEM);
}

static void test_encode(void **state) {
  (void)state;
  struct tg_buf b;
  char out[64];
  tg_buf_init(&b);
  assert_int_equal(tg_qs_encode(&b, "a b/é~-._+&=%"), 0);
  assert_string_equal(b.data, "a%20b%2F%C3%A9~-._%2B%26%3D%25");
  assert_int_equal(dec(b.data, 1, out, sizeof(out)), 14);
  assert_string_equal(out, "a b/é~-._+&=%");
  tg_buf_reset(&b);
  assert_int_equal(tg_qs_encode(&b, "AZaz09"), 0);
  assert_string_equal(b.data, "AZaz09");
  tg_buf_close(&b);
}

static void test_parse(void **state) {
  (void)state;
  struct tg_qs q;
  assert_int_equal(tg_qs_parse("q=%E6%B0%B4+%E4%BD%8D&limit=5", &q), 0);
  assert_int_equal(q.n, 2);
  assert_string_equal(tg_qs_get(&q, "q"), "水 位");
  assert_string_equal(tg_qs_get(&q, "limit"), "5");
  assert_null(tg_qs_get(&q, "lang"));
  /* empty values, a key without '=', empty pairs skipped */
  assert_int_equal(tg_qs_parse("a=&b&&c=3&", &q), 0);
  assert_int_equal(q.n, 3);
  assert_string_equal(tg_qs_get(&q, "a"), "");
  assert_string_equal(tg_qs_get(&q, "b"), "");
  assert_string_equal(tg_qs_get(&q, "c"), "3");
  assert_int_equal(tg_qs_parse("", &q), 0);
  assert_int_equal(q.n, 0);
  /* '=' in a value; '+' in a key */
  assert_int_equal(tg_qs_parse("x=a=b&a+b=1", &q), 0);
  assert_string_equal(tg_qs_get(&q, "x"), "a=b");
  assert_string_equal(tg_qs_get(&q, "a b"), "1");
  /* refusals name the parameter */
  assert_int_equal(tg_qs_parse("a=1&a=2", &q), TG_EINVAL);
  assert_string_equal(q.bad, "a");
  assert_int_equal(tg_qs_parse("a=1&%61=2", &q), TG_EINVAL); /* the same key, encoded */
  assert_string_equal(q.bad, "a");
  assert_int_equal(tg_qs_parse("q=%ZZ", &q), TG_EINVAL);
  assert_string_equal(q.bad, "q");
  assert_int_equal(tg_qs_parse("q=a%00b", &q), TG_EINVAL);
  assert_string_equal(q.bad, "q");
  assert_int_equal(tg_qs_parse("=1", &q), TG_EINVAL);
  assert_string_equal(q.bad, "(parameter name)");
  assert_int_equal(tg_qs_parse("%00=1", &q), TG_EINVAL);
  assert_string_equal(q.bad, "(parameter name)");
  /* too many parameters */
  char many[512] = "";
  for (int i = 0; i <= TG_QS_MAX_PARAMS; i++)
    snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk%d=v", i ? "&" : "", i);
  assert_int_equal(tg_qs_parse(many, &q), TG_EINVAL);
  assert_string_equal(q.bad, "(too many parameters)");
  /* overlong input: exactly the limit passes, one byte more does not */
  char *big = malloc(TG_QS_MAX_BYTES + 2);
  memcpy(big, "q=", 2);
  memset(big + 2, 'x', TG_QS_MAX_BYTES - 2);
  big[TG_QS_MAX_BYTES] = '\0';
  assert_int_equal(tg_qs_parse(big, &q), 0);
  assert_int_equal(strlen(tg_qs_get(&q, "q")), TG_QS_MAX_BYTES - 2);
  big[TG_QS_MAX_BYTES] = 'x';
  big[TG_QS_MAX_BYTES + 1] = '\0';
  assert_int_equal(tg_qs_parse(big, &q), TG_EINVAL);
  assert_string_equal(q.bad, "(query string)");
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
