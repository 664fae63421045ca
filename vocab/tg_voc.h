/* tg_voc: value conversions for API conversion: Japanese era dates <-> ISO 8601,
 * UCUM unit conversion with exact decimal arithmetic, and 全国地方公共団体コード
 * (JIS X 0402) check digits. Pure functions: no I/O, no global state. */
#ifndef TG_VOC_H
#define TG_VOC_H

#include <stddef.h>

struct tg_err;

/* ---- dates ------------------------------------------------------------ */

/* A Gregorian calendar date with an optional time of day and UTC offset. */
struct tg_voc_date {
  int year, month, day; /* Gregorian; month 1-12, day 1-31 */
  int has_time;         /* 0: date only; 1: hour and minute; 2: also seconds */
  int hour, minute, second;
  long nsec;            /* fraction of the second in nanoseconds (ISO input only) */
  int frac_digits;      /* digits of the fraction as given (0: none), 1-9 */
  int has_tz;           /* 1 if tz_min is set (ISO input only) */
  int tz_min;           /* offset from UTC in minutes, -1439..1439 */
};

/* Era output styles for tg_voc_era_format(). */
enum {
  TG_VOC_ERA_KANJI = 0,  /* 令和元年5月1日 14時30分 */
  TG_VOC_ERA_ABBREV = 1, /* R1.5.1 14:30 */
  TG_VOC_ERA_KANJI_NUM = 2 /* 令和1年5月1日 (no 元年) */
};

/* Parses a Japanese era date of LEN bytes (UTF-8) into *OUT (Gregorian).
 * Forms: 令和6年4月1日, 令和元年5月1日, R6.4.1, R06.04.01, r6/4/1, H31-4-30, full-width
 * digits and letters, kanji numerals (令和六年四月一日, 平成三十一年四月三十日), the ligatures ㍾㍽㍼㍻㋿, letters M/T/S/H/R, an optional weekday
 * ((月), （月曜日）: checked against the date), and an optional time of day
 * (14時30分[5秒], 午後2時30分, or 14:30[:05]). Surrounding spaces are ignored.
 * Returns 0; TG_EINVAL for malformed input, an impossible date (2月30日) or a date
 * outside its era (平成31年5月1日); TG_EUNSUP for Meiji 1-5 (lunisolar calendar,
 * before 明治6年1月1日 = 1873-01-01). ERR (optional) gets the reason. */
int tg_voc_era_parse(const char *s, size_t len, struct tg_voc_date *out, struct tg_err *err);

/* Writes D as an era date in STYLE (TG_VOC_ERA_*) into OUT (N bytes, NUL-terminated),
 * choosing the era in force on that day; the time of day is written if D has one
 * (the fraction and UTC offset are not: era dates are local dates).
 * Returns 0; TG_EINVAL for an invalid date; TG_EUNSUP for dates before 1873-01-01;
 * TG_ETOOBIG if OUT is too small (64 bytes always suffice). */
int tg_voc_era_format(const struct tg_voc_date *d, int style, char *out, size_t n);

/* Parses an ISO 8601 calendar date or date-time of LEN bytes: YYYY-MM-DD, optionally
 * followed by 'T' (or one space) hh:mm[:ss[.fraction]] and Z or ±hh:mm / ±hhmm.
 * Returns 0 or TG_EINVAL (with ERR's reason) for anything else or an impossible date. */
int tg_voc_iso_parse(const char *s, size_t len, struct tg_voc_date *out, struct tg_err *err);

/* Writes D as ISO 8601 into OUT (N bytes): YYYY-MM-DD, or with a time
 * YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm] (seconds always written, as xsd:dateTime
 * needs). Returns 0, TG_EINVAL for an invalid date, TG_ETOOBIG if OUT is too small
 * (48 bytes always suffice). */
int tg_voc_iso_format(const struct tg_voc_date *d, char *out, size_t n);

/* Moves the date-time D, which must have a time and a UTC offset, to the same instant
 * at offset TZ_MIN (e.g. 540 for +09:00), carrying over midnight, month and year ends.
 * Returns 0 or TG_EINVAL (no time or offset, or out of range). */
int tg_voc_date_to_offset(struct tg_voc_date *d, int tz_min);

/* Returns 1 if Y-M-D is a valid proleptic Gregorian date (year 1-9999), else 0. */
int tg_voc_date_valid(int y, int m, int d);

/* ---- units ------------------------------------------------------------ */

/* Converts the decimal number VALUE (NUL-terminated: optional sign, digits, optional
 * fraction and exponent, at most 64 significant digits) from UCUM unit FROM to unit TO
 * and writes the result as a plain decimal string (no exponent, no trailing zeros)
 * into OUT (N bytes). Arithmetic is exact: "1" [in_i] -> "0.0254" m. When the exact
 * result has no finite decimal expansion (e.g. mm/h -> m/s), it is rounded half-up to
 * 15 significant digits and *INEXACT (optional) is set to 1, else 0.
 * Returns 0; TG_EINVAL for a malformed number; TG_ENOENT for an unknown unit;
 * TG_EINVAL for units of different dimensions; TG_ETOOBIG if OUT is too small.
 * ERR (optional) gets the reason. */
int tg_voc_unit_convert(const char *value, const char *from, const char *to, char *out,
                        size_t n, int *inexact, struct tg_err *err);

/* Returns 1 if CODE is a unit tg_voc_unit_convert() knows, else 0. */
int tg_voc_unit_known(const char *code);

/* Returns 1 if units A and B are known and of the same dimension, else 0. */
int tg_voc_unit_compatible(const char *a, const char *b);

/* Calls FN(code, ja_label, en_label, dimension, UD) for every known unit, in table order
 * (all strings static). Used to build the shipped units scheme. */
void tg_voc_unit_each(void (*fn)(const char *code, const char *ja, const char *en,
                                 const char *dim, void *ud),
                      void *ud);

/* ---- 全国地方公共団体コード (JIS X 0402) ------------------------------- */

/* Computes the check digit for the five ASCII digits at S: with weights 6,5,4,3,2,
 * r = sum mod 11, check = (11 - r) mod 10. Returns 0-9, or TG_EINVAL if S does not
 * start with five ASCII digits. */
int tg_voc_lgcode_check_digit(const char *s);

/* Normalises a local government code of LEN bytes (ASCII or full-width digits,
 * surrounding spaces ignored): five digits get their check digit appended, six digits
 * have theirs verified. Writes the six-digit code and a NUL into OUT (7 bytes).
 * Returns 0, or TG_EINVAL (ERR names the reason, e.g. the expected check digit). */
int tg_voc_lgcode_normalize(const char *s, size_t len, char out[7], struct tg_err *err);

#endif
