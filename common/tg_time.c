/* tg_time: proleptic Gregorian calendar arithmetic. Day numbers use the
 * era / year-of-era decomposition (400-year cycles of 146097 days, the year
 * starting in March so that the leap day is the last of the year), exact for
 * any int64 year the callers can hold. */
#include "tg_time.h"

int tg_time_is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tg_time_days_in_month(int64_t y, int m) {
  static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12)
    return 0;
  return m == 2 && tg_time_is_leap(y) ? 29 : dm[m - 1];
}

int tg_time_date_valid(int64_t y, int m, int d) {
  return y >= 1 && y <= 9999 && d >= 1 && d <= tg_time_days_in_month(y, m);
}

int64_t tg_time_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                  /* 0..399 */
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365, from March */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
  return era * 146097 + doe - 719468; /* 719468: days from 0000-03-01 to 1970-01-01 */
}

void tg_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int tg_time_weekday(int64_t days) {
  /* 1970-01-01 was a Thursday (4). */
  int64_t w = (days + 4) % 7;
  return (int)(w < 0 ? w + 7 : w);
}
