/* Unit tests for tg_oauth's claim checks that need no identity provider:
 * the time claims (exp, nbf, iat) at the edges of int64 and of the skew. */
#include "tg_oauth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#define NOW INT64_C(1750000000)

/* The status of a token whose claims are the JSON text CLAIMS. */
static enum tg_oauth_status times(const char *claims, uint64_t skew) {
  json_error_t e;
  json_t *c = json_loads(claims, 0, &e);
  assert_non_null(c);
  enum tg_oauth_status st = tg_oauth_check_times(c, NOW, skew);
  json_decref(c);
  return st;
}

static void test_exp(void **state) {
  (void)state;
  assert_int_equal(times("{\"exp\": 1750000100}", 60), TG_OAUTH_OK);
  /* exp + skew <= now is expired: the boundary is exactly NOW - skew. */
  assert_int_equal(times("{\"exp\": 1749999940}", 60), TG_OAUTH_EXPIRED);
  assert_int_equal(times("{\"exp\": 1749999941}", 60), TG_OAUTH_OK);
  assert_int_equal(times("{}", 60), TG_OAUTH_EXPIRED);
  assert_int_equal(times("{\"exp\": \"1750000100\"}", 60), TG_OAUTH_EXPIRED);
  assert_int_equal(times("{\"exp\": 1750000100.5}", 60), TG_OAUTH_EXPIRED);
}

/* exp, nbf and iat near 2^63 (and -2^63) with any skew: decided, not
 * overflowed (UBSan stops the test on signed overflow). */
static void test_int64_edges(void **state) {
  (void)state;
  assert_int_equal(times("{\"exp\": 9223372036854775807}", 60), TG_OAUTH_OK);
  assert_int_equal(times("{\"exp\": 9223372036854775807}", UINT64_MAX), TG_OAUTH_OK);
  assert_int_equal(times("{\"exp\": -9223372036854775808}", 60), TG_OAUTH_EXPIRED);
  /* A skew beyond a year counts as 366 days. */
  assert_int_equal(times("{\"exp\": -9223372036854775808}", UINT64_MAX), TG_OAUTH_EXPIRED);
  assert_int_equal(times("{\"exp\": 1718377601}", UINT64_MAX), TG_OAUTH_OK);
  assert_int_equal(times("{\"exp\": 1718377600}", UINT64_MAX), TG_OAUTH_EXPIRED);
  assert_int_equal(times("{\"exp\": 1750000100, \"nbf\": 9223372036854775807}", 60),
                   TG_OAUTH_NOT_YET);
  assert_int_equal(times("{\"exp\": 1750000100, \"nbf\": 9223372036854775807}", UINT64_MAX),
                   TG_OAUTH_NOT_YET);
  assert_int_equal(times("{\"exp\": 1750000100, \"iat\": 1775000000}", INT64_MAX), TG_OAUTH_OK);
  assert_int_equal(times("{\"exp\": 1750000100, \"nbf\": -9223372036854775808}", 60), TG_OAUTH_OK);
}

static void test_nbf_iat(void **state) {
  (void)state;
  assert_int_equal(times("{\"exp\": 1750000100, \"nbf\": 1750000060, \"iat\": 1750000060}", 60),
                   TG_OAUTH_OK);
  assert_int_equal(times("{\"exp\": 1750000100, \"nbf\": 1750000061}", 60), TG_OAUTH_NOT_YET);
  assert_int_equal(times("{\"exp\": 1750000100, \"iat\": 1750000061}", 60), TG_OAUTH_NOT_YET);
  assert_int_equal(times("{\"exp\": 1750000100, \"iat\": \"now\"}", 60), TG_OAUTH_NOT_YET);
  assert_int_equal(times("{\"exp\": 1750000100, \"nbf\": null}", 60), TG_OAUTH_NOT_YET);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exp),
      cmocka_unit_test(test_int64_edges),
      cmocka_unit_test(test_nbf_iat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
