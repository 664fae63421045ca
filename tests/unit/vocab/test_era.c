/* test_era: Japanese era dates and ISO 8601, driven by tests/cases/vocab/era*.tsv and
 * iso.tsv, plus round trips over every day from 1873 to 2100. */
#include "tcase.h"

#include "tg_err.h"
#include "tg_voc.h"

#include <stdio.h>
#include <string.h>

/* Expected-result words in the case files. */
static int expect_code(const char *want) {
  if (strcmp(want, "ERROR") == 0)
    return TG_EINVAL;
  if (strcmp(want, "UNSUPPORTED") == 0)
    return TG_EUNSUP;
  return 0;
}

/* era.tsv: era-date <TAB> ISO 8601 | ERROR | UNSUPPORTED */
static void era_parse_case(void **state) {
  const struct tcase *c = *state;
  struct tg_voc_date d;
  struct tg_err err;
  char iso[64];
  assert_int_equal(c->nf, 2);
  tg_err_clear(&err);
  int rc = tg_voc_era_parse(c->f[0], strlen(c->f[0]), &d, &err);
  int want = expect_code(c->f[1]);
  if (rc != want)
    fail_msg("%s: got %d (%s), want %s", c->f[0], rc, err.msg, c->f[1]);
  if (want != 0) {
    assert_true(err.msg[0] != '\0'); /* a refusal always says why */
    return;
  }
  assert_int_equal(tg_voc_iso_format(&d, iso, sizeof(iso)), 0);
  assert_string_equal(iso, c->f[1]);
}

static int style_of(const char *s) {
  if (strcmp(s, "kanji") == 0)
    return TG_VOC_ERA_KANJI;
  if (strcmp(s, "abbrev") == 0)
    return TG_VOC_ERA_ABBREV;
  if (strcmp(s, "num") == 0)
    return TG_VOC_ERA_KANJI_NUM;
  return 99;
}

/* era_format.tsv: ISO 8601 <TAB> style <TAB> era-date | UNSUPPORTED */
static void era_format_case(void **state) {
  const struct tcase *c = *state;
  struct tg_voc_date d;
  char out[64];
  assert_int_equal(c->nf, 3);
  assert_int_equal(tg_voc_iso_parse(c->f[0], strlen(c->f[0]), &d, NULL), 0);
  int rc = tg_voc_era_format(&d, style_of(c->f[1]), out, sizeof(out));
  int want = expect_code(c->f[2]);
  if (rc != want)
    fail_msg("%s: got %d, want %s", c->f[0], rc, c->f[2]);
  if (want != 0)
    return;
  assert_string_equal(out, c->f[2]);
  /* What we write, we read back to the same day. */
  struct tg_voc_date back;
  assert_int_equal(tg_voc_era_parse(out, strlen(out), &back, NULL), 0);
  assert_int_equal(back.year, d.year);
  assert_int_equal(back.month, d.month);
  assert_int_equal(back.day, d.day);
}

/* iso.tsv: input <TAB> canonical output | ERROR */
static void iso_case(void **state) {
  const struct tcase *c = *state;
  struct tg_voc_date d;
  char out[64];
  assert_int_equal(c->nf, 2);
  int rc = tg_voc_iso_parse(c->f[0], strlen(c->f[0]), &d, NULL);
  if (strcmp(c->f[1], "ERROR") == 0) {
    assert_int_equal(rc, TG_EINVAL);
    return;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(tg_voc_iso_format(&d, out, sizeof(out)), 0);
  assert_string_equal(out, c->f[1]);
}

/* Every day from 1873-01-01 to 2100-12-31 survives ISO -> era -> ISO in all styles,
 * and the day before each era's first day belongs to the previous era. */
static void round_trip_all_days(void **state) {
  (void)state;
  long days = 0;
  for (int y = 1873; y <= 2100; y++)
    for (int m = 1; m <= 12; m++)
      for (int d = 1; d <= 31; d++) {
        if (!tg_voc_date_valid(y, m, d))
          continue;
        struct tg_voc_date in = {.year = y, .month = m, .day = d}, back;
        char out[64];
        for (int style = 0; style <= 2; style++) {
          assert_int_equal(tg_voc_era_format(&in, style, out, sizeof(out)), 0);
          if (tg_voc_era_parse(out, strlen(out), &back, NULL) != 0)
            fail_msg("%04d-%02d-%02d -> %s does not parse back", y, m, d, out);
          assert_int_equal(back.year * 10000 + back.month * 100 + back.day,
                           y * 10000 + m * 100 + d);
        }
        days++;
      }
  assert_int_equal(days, 83275); /* 1873-01-01 .. 2100-12-31 inclusive */
}

static void format_small_buffer(void **state) {
  (void)state;
  struct tg_voc_date d = {.year = 2019, .month = 5, .day = 1};
  char out[8];
  assert_int_equal(tg_voc_era_format(&d, TG_VOC_ERA_KANJI, out, sizeof(out)), TG_ETOOBIG);
  assert_int_equal(tg_voc_era_format(&d, TG_VOC_ERA_ABBREV, out, sizeof(out)), 0);
  assert_string_equal(out, "R1.5.1");
  assert_int_equal(tg_voc_iso_format(&d, out, sizeof(out)), TG_ETOOBIG);
  d.day = 32;
  assert_int_equal(tg_voc_era_format(&d, TG_VOC_ERA_ABBREV, out, sizeof(out)), TG_EINVAL);
}

static void time_of_day_kept(void **state) {
  (void)state;
  struct tg_voc_date d;
  char out[64];
  const char *s = "令和６年４月１日　１４時３０分";
  assert_int_equal(tg_voc_era_parse(s, strlen(s), &d, NULL), 0);
  assert_int_equal(d.has_time, 1);
  assert_int_equal(tg_voc_era_format(&d, TG_VOC_ERA_ABBREV, out, sizeof(out)), 0);
  assert_string_equal(out, "R6.4.1 14:30");
  assert_int_equal(tg_voc_era_format(&d, TG_VOC_ERA_KANJI, out, sizeof(out)), 0);
  assert_string_equal(out, "令和6年4月1日 14時30分");
}

int main(void) {
  tcase_add_file("era.tsv", era_parse_case);
  tcase_add_file("era_format.tsv", era_format_case);
  tcase_add_file("iso.tsv", iso_case);
  tcase_add("round_trip_all_days", round_trip_all_days);
  tcase_add("format_small_buffer", format_small_buffer);
  tcase_add("time_of_day_kept", time_of_day_kept);
  return tcase_run_all("era");
}
