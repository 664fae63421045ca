/* test_unit: UCUM unit conversion (exact decimals, round trips, refusals) and
 * 全国地方公共団体コード check digits, driven by tests/cases/vocab/units.tsv and
 * lgcode.tsv. */
#include "tcase.h"

#include "tg_err.h"
#include "tg_voc.h"

#include <stdio.h>
#include <string.h>

/* units.tsv: value from to expected|ERROR|UNKNOWN [inexact] */
static void unit_case(void **state) {
  const struct tcase *c = *state;
  char out[128], back[128], canon[128];
  int inexact = -1;
  struct tg_err err;
  tg_err_clear(&err);
  assert_true(c->nf == 4 || c->nf == 5);
  int rc = tg_voc_unit_convert(c->f[0], c->f[1], c->f[2], out, sizeof(out), &inexact, &err);
  if (strcmp(c->f[3], "ERROR") == 0 || strcmp(c->f[3], "UNKNOWN") == 0) {
    int want = c->f[3][0] == 'E' ? TG_EINVAL : TG_ENOENT;
    if (rc != want)
      fail_msg("got %d (%s), want %s", rc, rc ? err.msg : out, c->f[3]);
    assert_true(err.msg[0] != '\0');
    return;
  }
  if (rc != 0)
    fail_msg("failed: %s", err.msg);
  assert_string_equal(out, c->f[3]);
  assert_int_equal(inexact, c->nf == 5 && strcmp(c->f[4], "inexact") == 0);
  if (inexact)
    return;
  /* Round trip: converting the result back gives the input in canonical form. */
  assert_int_equal(tg_voc_unit_convert(out, c->f[2], c->f[1], back, sizeof(back), &inexact,
                                       NULL), 0);
  assert_int_equal(tg_voc_unit_convert(c->f[0], c->f[1], c->f[1], canon, sizeof(canon), NULL,
                                       NULL), 0);
  if (!inexact)
    assert_string_equal(back, canon);
}

/* lgcode.tsv: code expected|ERROR */
static void lgcode_case(void **state) {
  const struct tcase *c = *state;
  char out[7];
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_voc_lgcode_normalize(c->f[0], strlen(c->f[0]), out, &err);
  if (strcmp(c->f[1], "ERROR") == 0) {
    assert_int_equal(rc, TG_EINVAL);
    assert_true(err.msg[0] != '\0');
    return;
  }
  if (rc != 0)
    fail_msg("failed: %s", err.msg);
  assert_string_equal(out, c->f[1]);
}

/* Every five-digit prefix: the computed digit validates, every other digit fails. */
static void lgcode_exhaustive(void **state) {
  (void)state;
  char s[7], out[7];
  for (int v = 0; v < 100000; v++) {
    snprintf(s, sizeof(s), "%05d", v);
    int check = tg_voc_lgcode_check_digit(s);
    assert_true(check >= 0 && check <= 9);
    for (int d = 0; d <= 9; d++) {
      s[5] = (char)('0' + d);
      s[6] = '\0';
      assert_int_equal(tg_voc_lgcode_normalize(s, 6, out, NULL) == 0, d == check);
    }
  }
  assert_int_equal(tg_voc_lgcode_check_digit("1310x"), TG_EINVAL);
}

/* Round trips through every pair of compatible units for a few values. */
static void unit_round_trip_pairs(void **state) {
  (void)state;
  static const char *codes[] = {"m",    "cm",   "mm",  "km",   "[in_i]", "[ft_i]", "L",
                                "m3",   "m3/s", "L/s", "m3/h", "mm/h",  "m/s",    "Cel",
                                "K",    "[degF]", "hPa", "Pa"};
  static const char *vals[] = {"0", "1", "-2.5", "12.5", "1013.25", "0.0001"};
  size_t nc = sizeof(codes) / sizeof(codes[0]), pairs = 0;
  for (size_t i = 0; i < nc; i++)
    for (size_t j = 0; j < nc; j++) {
      if (!tg_voc_unit_compatible(codes[i], codes[j]))
        continue;
      pairs++;
      for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        char a[128], b[128], canon[128];
        int ia = 0, ib = 0;
        assert_int_equal(tg_voc_unit_convert(vals[k], codes[i], codes[j], a, sizeof(a), &ia,
                                             NULL), 0);
        if (ia)
          continue;
        assert_int_equal(tg_voc_unit_convert(a, codes[j], codes[i], b, sizeof(b), &ib, NULL), 0);
        assert_int_equal(tg_voc_unit_convert(vals[k], codes[i], codes[i], canon, sizeof(canon),
                                             NULL, NULL), 0);
        if (!ib && strcmp(b, canon) != 0)
          fail_msg("%s %s -> %s %s -> %s %s", vals[k], codes[i], a, codes[j], b, codes[i]);
      }
    }
  assert_true(pairs > 30);
  assert_false(tg_voc_unit_compatible("m", "Cel"));
  assert_false(tg_voc_unit_compatible("m", "nope"));
}

static void unit_small_buffer(void **state) {
  (void)state;
  char out[5];
  assert_int_equal(tg_voc_unit_convert("1", "[in_i]", "m", out, sizeof(out), NULL, NULL),
                   TG_ETOOBIG);
  assert_int_equal(tg_voc_unit_convert("1", "km", "m", out, sizeof(out), NULL, NULL), 0);
  assert_string_equal(out, "1000");
}

int main(void) {
  tcase_add_file("units.tsv", unit_case);
  tcase_add_file("lgcode.tsv", lgcode_case);
  tcase_add("lgcode_exhaustive", lgcode_exhaustive);
  tcase_add("unit_round_trip_pairs", unit_round_trip_pairs);
  tcase_add("unit_small_buffer", unit_small_buffer);
  return tcase_run_all("unit");
}
