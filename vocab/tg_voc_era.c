/* tg_voc_era: Japanese era dates (明治 to 令和) and ISO 8601 dates, both ways, with
 * exact era boundaries. Meiji 1-5 used the lunisolar calendar and are refused. */
#include "tg_voc.h"
#include "tg_voc_int.h"

#include "tg_err.h"
#include "tg_text.h"
#include "tg_time.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Code points the era grammar uses. */
enum {
  CP_GAN = 0x5143,   /* 元 */
  CP_NEN = 0x5E74,   /* 年 */
  CP_GATSU = 0x6708, /* 月 */
  CP_NICHI = 0x65E5, /* 日 */
  CP_JI = 0x6642,    /* 時 */
  CP_FUN = 0x5206,   /* 分 */
  CP_BYO = 0x79D2,   /* 秒 */
  CP_GO = 0x5348,    /* 午 (午前 / 午後) */
  CP_ZEN = 0x524D,   /* 前 */
  CP_KO = 0x5F8C,    /* 後 */
  CP_YO = 0x66DC     /* 曜 */
};

/* Kanji numerals 〇一二三四五六七八九, and 十. */
static const uint32_t kanji_digits[10] = {0x3007, 0x4E00, 0x4E8C, 0x4E09, 0x56DB,
                                          0x4E94, 0x516D, 0x4E03, 0x516B, 0x4E5D};
enum { CP_JUU = 0x5341 };

static int kanji_digit(uint32_t c) {
  for (int d = 0; d < 10; d++)
    if (kanji_digits[d] == c)
      return d;
  return -1;
}

/* 日月火水木金土: weekday names, Sunday first. */
static const uint32_t weekdays[7] = {0x65E5, 0x6708, 0x706B, 0x6C34, 0x6728, 0x91D1, 0x571F};

/* Eras in order; each ends the day before the next begins. For Meiji the first
 * supported day (Gregorian calendar adopted) is given instead of the era's start. */
static const struct era {
  const char *kanji;   /* UTF-8 */
  uint32_t k1, k2;     /* its two code points */
  uint32_t ligature;   /* the squared era-name character */
  char letter;         /* abbreviation */
  int base;            /* Gregorian year of the era's year 1 */
  int y, m, d;         /* first day (Meiji: first supported day) */
} eras[] = {
  {"明治", 0x660E, 0x6CBB, 0x337E, 'M', 1868, 1873, 1, 1},
  {"大正", 0x5927, 0x6B63, 0x337D, 'T', 1912, 1912, 7, 30},
  {"昭和", 0x662D, 0x548C, 0x337C, 'S', 1926, 1926, 12, 25},
  {"平成", 0x5E73, 0x6210, 0x337B, 'H', 1989, 1989, 1, 8},
  {"令和", 0x4EE4, 0x548C, 0x32FF, 'R', 2019, 2019, 5, 1},
};
enum { N_ERAS = sizeof(eras) / sizeof(eras[0]), MEIJI_FIRST_YEAR = 6 };

static long date_key(int y, int m, int d) { return (long)y * 10000 + m * 100 + d; }

int tg_voc_date_valid(int y, int m, int d) { return tg_time_date_valid(y, m, d); }

int tg_voc_date_to_offset(struct tg_voc_date *d, int tz_min) {
  if (!d->has_time || !d->has_tz || tz_min < -1439 || tz_min > 1439 ||
      !tg_voc_date_valid(d->year, d->month, d->day))
    return TG_EINVAL;
  int64_t mins = tg_time_days_from_civil(d->year, d->month, d->day) * 1440 + d->hour * 60 +
                 d->minute - d->tz_min + tz_min;
  int64_t days = mins >= 0 ? mins / 1440 : -((-mins + 1439) / 1440), y;
  int m, dd;
  tg_time_civil_from_days(days, &y, &m, &dd);
  if (!tg_time_date_valid(y, m, dd))
    return TG_EINVAL;
  mins -= days * 1440;
  d->year = (int)y, d->month = m, d->day = dd;
  d->hour = (int)(mins / 60), d->minute = (int)(mins % 60);
  d->tz_min = tz_min;
  return 0;
}

/* The era in force on Y-M-D, or -1 before 1873-01-01. */
static int era_of(int y, int m, int d) {
  long k = date_key(y, m, d);
  for (int i = N_ERAS - 1; i >= 0; i--)
    if (k >= date_key(eras[i].y, eras[i].m, eras[i].d))
      return i;
  return -1;
}

/* ---- era parsing ------------------------------------------------------ */

enum { MAX_CPS = 64 };

/* The input as folded code points (full-width digits and letters made ASCII). */
struct cps {
  uint32_t c[MAX_CPS];
  size_t n, i;
};

static int cps_load(struct cps *t, const char *s, size_t len, struct tg_err *err) {
  size_t pos = 0;
  t->n = t->i = 0;
  while (pos < len) {
    int32_t c = tg_utf8_next(s, len, &pos);
    if (c < 0)
      return tg_err_set(err, TG_EINVAL, "invalid UTF-8 in date");
    if (t->n == MAX_CPS)
      return tg_err_set(err, TG_EINVAL, "date too long");
    uint32_t f = tg_text_fold_width((uint32_t)c);
    if (f == 0xFF0E || f == 0x3002) /* full-width full stop variants seen in forms */
      f = '.';
    t->c[t->n++] = f;
  }
  /* Trim surrounding spaces. */
  while (t->n > 0 && (t->c[t->n - 1] == ' ' || t->c[t->n - 1] == '\t'))
    t->n--;
  while (t->i < t->n && (t->c[t->i] == ' ' || t->c[t->i] == '\t'))
    t->i++;
  return 0;
}

static uint32_t peek(const struct cps *t) { return t->i < t->n ? t->c[t->i] : 0; }

static void skip_spaces(struct cps *t) {
  while (peek(t) == ' ' || peek(t) == '\t')
    t->i++;
}

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }

/* Reads a number in kanji numerals: 六, 十二, 三十一, 二十 (with 十), or digit by digit
 * (二〇, at most MAXD). Returns the characters read, or 0. */
static int read_kanji_num(struct cps *t, int maxd, int *v) {
  int k[8], n = 0, juu = -1, x = 0;
  while (t->i + (size_t)n < t->n && n < 8) {
    uint32_t c = t->c[t->i + (size_t)n];
    int d = c == CP_JUU ? 10 : kanji_digit(c);
    if (d < 0)
      break;
    if (d == 10) {
      if (juu >= 0)
        return 0;
      juu = n;
    }
    k[n++] = d;
  }
  if (n == 0 || n == 8 || is_digit(peek(t)))
    return 0;
  if (juu >= 0) { /* [d]十[d]: at most one digit each side, 1-9 */
    if (juu > 1 || n - juu > 2 || (juu == 1 && (k[0] == 0 || k[0] == 1)) ||
        (n - juu == 2 && k[juu + 1] == 0))
      return 0;
    x = (juu == 1 ? k[0] : 1) * 10 + (n - juu == 2 ? k[juu + 1] : 0);
  } else {
    if (n > maxd)
      return 0;
    for (int i = 0; i < n; i++)
      x = x * 10 + k[i];
  }
  t->i += (size_t)n;
  *v = x;
  return n;
}

/* Reads 1..MAXD digits (or kanji numerals) into *V; returns how many characters, or 0
 * if none or too many. */
static int read_num(struct cps *t, int maxd, int *v) {
  int n = 0, x = 0;
  if (peek(t) == CP_JUU || kanji_digit(peek(t)) >= 0)
    return read_kanji_num(t, maxd, v);
  while (is_digit(peek(t)) && n < maxd) {
    x = x * 10 + (int)(peek(t) - '0');
    t->i++, n++;
  }
  if (n == 0 || is_digit(peek(t)))
    return 0;
  *v = x;
  return n;
}

static int read_era(struct cps *t) {
  uint32_t c = peek(t);
  for (int e = 0; e < N_ERAS; e++) {
    if (c == eras[e].ligature || c == (uint32_t)eras[e].letter ||
        c == (uint32_t)eras[e].letter + ('a' - 'A')) {
      t->i++;
      return e;
    }
    if (c == eras[e].k1 && t->i + 1 < t->n && t->c[t->i + 1] == eras[e].k2) {
      t->i += 2;
      return e;
    }
  }
  return -1;
}

/* Time of day: 14時30分[5秒] or 14:30[:05]. */
static int read_time(struct cps *t, struct tg_voc_date *out, struct tg_err *err) {
  int h, mi = 0, se = 0, half = 0; /* half: 1 午前, 2 午後 */
  if (peek(t) == CP_GO && t->i + 1 < t->n && (t->c[t->i + 1] == CP_ZEN || t->c[t->i + 1] == CP_KO)) {
    half = t->c[t->i + 1] == CP_ZEN ? 1 : 2;
    t->i += 2;
    skip_spaces(t);
  }
  if (!read_num(t, 2, &h))
    return tg_err_set(err, TG_EINVAL, "expected a time of day after the date");
  if (half && (h > 11 || peek(t) != CP_JI))
    return tg_err_set(err, TG_EINVAL, "午前/午後 take 0-11時 (午前12時 and 午後12時 are "
                                      "ambiguous)");
  if (half == 2)
    h += 12;
  out->has_time = 1;
  if (peek(t) == CP_JI) {
    t->i++;
    if (read_num(t, 2, &mi)) {
      if (peek(t) != CP_FUN)
        return tg_err_set(err, TG_EINVAL, "expected 分 after the minutes");
      t->i++;
      if (read_num(t, 2, &se)) {
        if (peek(t) != CP_BYO)
          return tg_err_set(err, TG_EINVAL, "expected 秒 after the seconds");
        t->i++;
        out->has_time = 2;
      }
    }
  } else if (peek(t) == ':') {
    t->i++;
    if (read_num(t, 2, &mi) != 2)
      return tg_err_set(err, TG_EINVAL, "expected two-digit minutes after ':'");
    if (peek(t) == ':') {
      t->i++;
      if (read_num(t, 2, &se) != 2)
        return tg_err_set(err, TG_EINVAL, "expected two-digit seconds after ':'");
      out->has_time = 2;
    }
  } else {
    return tg_err_set(err, TG_EINVAL, "expected 時 or ':' in the time of day");
  }
  if (h > 23 || mi > 59 || se > 59)
    return tg_err_set(err, TG_EINVAL, "time of day out of range (%02d:%02d:%02d)", h, mi, se);
  out->hour = h, out->minute = mi, out->second = se;
  return 0;
}

/* The date part after the era and year: 年M月D日 or .M.D (/ and - too). */
static int read_month_day(struct cps *t, int *m, int *d, struct tg_err *err) {
  uint32_t sep = peek(t);
  if (sep == CP_NEN) {
    t->i++;
    skip_spaces(t);
    if (!read_num(t, 2, m) || peek(t) != CP_GATSU)
      return tg_err_set(err, TG_EINVAL, "expected the month and 月 after 年");
    t->i++;
    skip_spaces(t);
    if (!read_num(t, 2, d) || peek(t) != CP_NICHI)
      return tg_err_set(err, TG_EINVAL, "expected the day and 日 after 月");
    t->i++;
    return 0;
  }
  if (sep != '.' && sep != '/' && sep != '-')
    return tg_err_set(err, TG_EINVAL, "expected 年 or a separator (. / -) after the year");
  t->i++;
  if (!read_num(t, 2, m) || peek(t) != sep)
    return tg_err_set(err, TG_EINVAL, "expected the month and the same separator");
  t->i++;
  if (!read_num(t, 2, d))
    return tg_err_set(err, TG_EINVAL, "expected the day of month");
  return 0;
}

/* An optional weekday after the date: (月) （月） (月曜) (月曜日); *WD gets 0-6 (Sunday 0). */
static int read_weekday(struct cps *t, int *wd, struct tg_err *err) {
  size_t save = t->i;
  skip_spaces(t);
  uint32_t open = peek(t);
  if (open != '(' && open != 0xFF08) {
    t->i = save;
    return 0;
  }
  t->i++;
  for (int k = 0; k < 7; k++)
    if (peek(t) == weekdays[k])
      *wd = k;
  if (*wd < 0)
    return tg_err_set(err, TG_EINVAL, "expected a weekday (日月火水木金土) in parentheses");
  t->i++;
  if (peek(t) == CP_YO) {
    t->i++;
    if (peek(t) == CP_NICHI)
      t->i++;
  }
  if (peek(t) != (open == '(' ? ')' : 0xFF09))
    return tg_err_set(err, TG_EINVAL, "unclosed weekday parenthesis");
  t->i++;
  return 0;
}

int tg_voc_era_parse(const char *s, size_t len, struct tg_voc_date *out, struct tg_err *err) {
  struct cps t;
  struct tg_voc_date r;
  int e, ey, m, d, rc, wd = -1;
  memset(&r, 0, sizeof(r));
  if ((rc = cps_load(&t, s, len, err)) != 0)
    return rc;
  if ((e = read_era(&t)) < 0)
    return tg_err_set(err, TG_EINVAL, "no era name (明治 大正 昭和 平成 令和, M T S H R)");
  skip_spaces(&t);
  if (peek(&t) == CP_GAN) {
    t.i++;
    ey = 1;
  } else if (!read_num(&t, 4, &ey) || ey == 0) {
    return tg_err_set(err, TG_EINVAL, "expected the era year (1-9999 or 元)");
  }
  if ((rc = read_month_day(&t, &m, &d, err)) != 0)
    return rc;
  if ((rc = read_weekday(&t, &wd, err)) != 0)
    return rc;
  if (t.i < t.n) {
    skip_spaces(&t);
    if ((rc = read_time(&t, &r, err)) != 0)
      return rc;
  }
  if (t.i != t.n)
    return tg_err_set(err, TG_EINVAL, "unexpected text after the date");
  if (m < 1 || m > 12 || d < 1 || d > 31)
    return tg_err_set(err, TG_EINVAL, "month or day out of range (%d月%d日)", m, d);
  if (e == 0 && ey < MEIJI_FIRST_YEAR)
    return tg_err_set(err, TG_EUNSUP,
                      "明治%d年 is in the lunisolar calendar (Gregorian from 明治6年1月1日)", ey);
  r.year = eras[e].base + ey - 1;
  r.month = m, r.day = d;
  if (!tg_voc_date_valid(r.year, m, d))
    return tg_err_set(err, TG_EINVAL, "no such day: %s%d年%d月%d日 (%04d-%02d-%02d)",
                      eras[e].kanji, ey, m, d, r.year, m, d);
  if (era_of(r.year, m, d) != e)
    return tg_err_set(err, TG_EINVAL, "%s%d年%d月%d日 (%04d-%02d-%02d) is outside the %s era",
                      eras[e].kanji, ey, m, d, r.year, m, d, eras[e].kanji);
  int dow = tg_time_weekday(tg_time_days_from_civil(r.year, m, d));
  if (wd >= 0 && wd != dow)
    return tg_err_set(err, TG_EINVAL, "%04d-%02d-%02d is not the weekday written", r.year, m, d);
  *out = r;
  return 0;
}

/* ---- era formatting --------------------------------------------------- */

int tg_voc_era_format(const struct tg_voc_date *d, int style, char *out, size_t n) {
  char year[16], time[48] = "";
  int e, ey, w;
  if (!tg_voc_date_valid(d->year, d->month, d->day) || d->has_time < 0 || d->has_time > 2 ||
      (d->has_time && (d->hour < 0 || d->hour > 23 || d->minute < 0 || d->minute > 59 ||
                       d->second < 0 || d->second > 59)))
    return TG_EINVAL;
  if ((e = era_of(d->year, d->month, d->day)) < 0)
    return TG_EUNSUP;
  ey = d->year - eras[e].base + 1;
  if (style == TG_VOC_ERA_ABBREV) {
    if (d->has_time == 2)
      snprintf(time, sizeof(time), " %02d:%02d:%02d", d->hour, d->minute, d->second);
    else if (d->has_time)
      snprintf(time, sizeof(time), " %02d:%02d", d->hour, d->minute);
    w = snprintf(out, n, "%c%d.%d.%d%s", eras[e].letter, ey, d->month, d->day, time);
  } else if (style == TG_VOC_ERA_KANJI || style == TG_VOC_ERA_KANJI_NUM) {
    if (ey == 1 && style == TG_VOC_ERA_KANJI)
      snprintf(year, sizeof(year), "元");
    else
      snprintf(year, sizeof(year), "%d", ey);
    if (d->has_time == 2)
      snprintf(time, sizeof(time), " %d時%d分%d秒", d->hour, d->minute, d->second);
    else if (d->has_time)
      snprintf(time, sizeof(time), " %d時%d分", d->hour, d->minute);
    w = snprintf(out, n, "%s%s年%d月%d日%s", eras[e].kanji, year, d->month, d->day, time);
  } else {
    return TG_EINVAL;
  }
  return w < 0 || (size_t)w >= n ? TG_ETOOBIG : 0;
}

/* ---- ISO 8601 --------------------------------------------------------- */

/* Reads exactly N ASCII digits at S[*I]. */
static int fixed_digits(const char *s, size_t len, size_t *i, int n, int *v) {
  int x = 0;
  if (*i + (size_t)n > len)
    return 0;
  for (int k = 0; k < n; k++) {
    char c = s[*i + (size_t)k];
    if (c < '0' || c > '9')
      return 0;
    x = x * 10 + (c - '0');
  }
  *i += (size_t)n;
  *v = x;
  return 1;
}

static int iso_zone(const char *s, size_t len, size_t *i, struct tg_voc_date *r) {
  int zh, zm;
  if (*i == len)
    return 1;
  if (s[*i] == 'Z' || s[*i] == 'z') {
    (*i)++;
    r->has_tz = 1, r->tz_min = 0;
    return 1;
  }
  if (s[*i] != '+' && s[*i] != '-')
    return 0;
  int sign = s[(*i)++] == '-' ? -1 : 1;
  if (!fixed_digits(s, len, i, 2, &zh))
    return 0;
  if (*i < len && s[*i] == ':')
    (*i)++;
  if (!fixed_digits(s, len, i, 2, &zm) || zh > 23 || zm > 59)
    return 0;
  r->has_tz = 1, r->tz_min = sign * (zh * 60 + zm);
  return 1;
}

static int iso_time(const char *s, size_t len, size_t *i, struct tg_voc_date *r) {
  if (!fixed_digits(s, len, i, 2, &r->hour) || *i >= len || s[(*i)++] != ':' ||
      !fixed_digits(s, len, i, 2, &r->minute))
    return 0;
  r->has_time = 1;
  if (*i < len && s[*i] == ':') {
    (*i)++;
    if (!fixed_digits(s, len, i, 2, &r->second))
      return 0;
    r->has_time = 2;
    if (*i < len && (s[*i] == '.' || s[*i] == ',')) {
      (*i)++;
      while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (r->frac_digits < 9) {
          r->nsec = r->nsec * 10 + (s[*i] - '0');
          r->frac_digits++;
        }
        (*i)++;
      }
      if (r->frac_digits == 0)
        return 0;
      for (int k = r->frac_digits; k < 9; k++)
        r->nsec *= 10;
    }
  }
  return r->hour <= 23 && r->minute <= 59 && r->second <= 59;
}

int tg_voc_iso_parse(const char *s, size_t len, struct tg_voc_date *out, struct tg_err *err) {
  struct tg_voc_date r;
  size_t i = 0;
  memset(&r, 0, sizeof(r));
  while (len > 0 && s[len - 1] == ' ')
    len--;
  while (i < len && s[i] == ' ')
    i++;
  if (!fixed_digits(s, len, &i, 4, &r.year) || i >= len || s[i++] != '-' ||
      !fixed_digits(s, len, &i, 2, &r.month) || i >= len || s[i++] != '-' ||
      !fixed_digits(s, len, &i, 2, &r.day))
    return tg_err_set(err, TG_EINVAL, "not an ISO 8601 date (YYYY-MM-DD)");
  if (!tg_voc_date_valid(r.year, r.month, r.day))
    return tg_err_set(err, TG_EINVAL, "no such day: %04d-%02d-%02d", r.year, r.month, r.day);
  if (i < len) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
      return tg_err_set(err, TG_EINVAL, "unexpected text after the date");
    i++;
    if (!iso_time(s, len, &i, &r) || !iso_zone(s, len, &i, &r) || i != len)
      return tg_err_set(err, TG_EINVAL, "bad ISO 8601 time of day or UTC offset");
  }
  *out = r;
  return 0;
}

/* Writes V as exactly W digits at P (V fits). */
static char *put_digits(char *p, long v, int w) {
  for (int k = w - 1; k >= 0; k--, v /= 10)
    p[k] = (char)('0' + v % 10);
  return p + w;
}

int tg_voc_iso_format(const struct tg_voc_date *d, char *out, size_t n) {
  char buf[48], *p = buf;
  if (!tg_voc_date_valid(d->year, d->month, d->day))
    return TG_EINVAL;
  if (d->has_time &&
      (d->has_time < 0 || d->has_time > 2 || d->hour < 0 || d->hour > 23 || d->minute < 0 ||
       d->minute > 59 || d->second < 0 || d->second > 59 || d->nsec < 0 ||
       d->nsec > 999999999L || d->frac_digits < 0 || d->frac_digits > 9 ||
       (d->has_tz && (d->tz_min < -1439 || d->tz_min > 1439))))
    return TG_EINVAL;
  /* Formatted by hand: this runs once per converted value. */
  p = put_digits(p, d->year, 4);
  *p++ = '-';
  p = put_digits(p, d->month, 2);
  *p++ = '-';
  p = put_digits(p, d->day, 2);
  if (d->has_time) {
    *p++ = 'T';
    p = put_digits(p, d->hour, 2);
    *p++ = ':';
    p = put_digits(p, d->minute, 2);
    *p++ = ':';
    p = put_digits(p, d->second, 2);
    if (d->frac_digits > 0) {
      long f = d->nsec;
      for (int k = d->frac_digits; k < 9; k++)
        f /= 10;
      *p++ = '.';
      p = put_digits(p, f, d->frac_digits);
    }
    if (d->has_tz && d->tz_min == 0) {
      *p++ = 'Z';
    } else if (d->has_tz) {
      int a = d->tz_min < 0 ? -d->tz_min : d->tz_min;
      *p++ = d->tz_min < 0 ? '-' : '+';
      p = put_digits(p, a / 60, 2);
      *p++ = ':';
      p = put_digits(p, a % 60, 2);
    }
  }
  size_t len = (size_t)(p - buf);
  if (len >= n)
    return TG_ETOOBIG;
  memcpy(out, buf, len);
  out[len] = '\0';
  return 0;
}
