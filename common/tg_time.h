/* tg_time: proleptic Gregorian calendar arithmetic (leap years, date
 * validation, day numbers) shared by the catalog's xsd:date parser and the
 * vocabulary's era dates. Pure functions, no clock (tg_time_now is in tg_util). */
#ifndef TG_TIME_H
#define TG_TIME_H

#include <stdint.h>

/* 1 if Y is a leap year of the proleptic Gregorian calendar, else 0. */
int tg_time_is_leap(int64_t y);
/* Days in month M (1-12) of year Y; 0 when M is out of range. */
int tg_time_days_in_month(int64_t y, int m);
/* 1 if Y-M-D is a real date with a year from 1 to 9999 (what ISO 8601's
 * four-digit years and xsd:date without a sign can write), else 0. */
int tg_time_date_valid(int64_t y, int m, int d);
/* Days from 1970-01-01 to Y-M-D (negative before it); M 1-12 and D 1-31
 * must hold, the date need not be valid otherwise (D past the month's end
 * runs into the next month). */
int64_t tg_time_days_from_civil(int64_t y, int m, int d);
/* The inverse: the date of day DAYS since 1970-01-01. */
void tg_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Day of the week of day DAYS since 1970-01-01: 0 Sunday .. 6 Saturday. */
int tg_time_weekday(int64_t days);

#endif
