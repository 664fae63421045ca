/* tg_voc_prof: the inside of a conversion profile, shared by the jansson-based record
 * converter (tg_voc_profile.c) and the fast path that rewrites record text directly
 * (tg_voc_fast.c). Not part of the public API. */
#ifndef TG_VOC_PROF_H
#define TG_VOC_PROF_H

#include "tg_voc_conv.h"

#include <stddef.h>

enum { K_COPY, K_UNIT, K_DATE, K_CODE, K_CONST, K_DROP };
enum { D_ERA, D_ISO, D_ANY };

struct rule {
  int kind;
  char *from, *to;          /* from malloc(); NULL when absent */
  size_t from_len, to_len;  /* their lengths */
  int required;
  char unit_from[24], unit_to[24];
  int unit_from_ix, unit_to_ix; /* their indices in the unit table */
  int date_from, date_to, style, has_tz, tz_min;
  json_t *table;            /* borrowed from the profile's tables */
  char *map_from, *map_to;  /* "code": {"map": …} schemes, from malloc(), or NULL */
  char *table_name;         /* from malloc(), the table's name in the profile */
  int lgcode;
  json_t *constant;         /* owned */
  char *const_text;         /* the constant as compact JSON, from malloc() */
};

struct tg_voc_profile {
  char *id;          /* from malloc() */
  int lenient;
  int drop_unmapped;
  json_t *tables;    /* owned: name -> object */
  struct rule *rules; /* from malloc() */
  size_t n;
  int fast;           /* 1 if every from/to is a plain member name: tg__voc_fast_apply works */
  json_t *renames;    /* borrowed from TABLES: member name -> new name, or NULL */
  char *renames_from, *renames_to; /* "renames": {"map": …} schemes, from malloc(), or NULL */
};

/* A source value as text: kind 's' a string (TEXT its unescaped bytes), 'i' an integer,
 * 'n' another number (TEXT its JSON number text), 'o' anything else. */
struct tg__voc_view {
  int kind;
  const char *text;
  size_t len;
};

/* A converted value: kind 's' the string in BUF, 'n' the JSON number text in BUF, 'j' the
 * table value J (borrowed from the profile). */
struct tg__voc_result {
  int kind;
  char buf[640];
  const json_t *j;
};

/* Converts V with unit, date or code rule R into RES. Returns 0, or TG_EINVAL when V
 * cannot be converted (a data issue, not a failure: WHY, WN bytes, says why). */
int tg__voc_convert_view(const struct rule *r, const struct tg__voc_view *v,
                         struct tg__voc_result *res, char *why, size_t wn);

/* Reports an issue at PATH (a member name or a pointer) of record RECORD, if CB is set. */
void tg__voc_report(tg_voc_conv_report_cb cb, void *ud, size_t record, const char *path,
                    const char *target, const char *reason, int skipped);

/* Appends S (N bytes) as a JSON string to B; 0 or TG_ENOMEM. */
struct tg_buf;
int tg__voc_json_string(struct tg_buf *b, const char *s, size_t n);

enum { TG__VOC_FALLBACK = 1 };

/* Converts the JSON text REC (LEN bytes) of one record straight into OUT (appended,
 * compact JSON) when it is a plain object P can handle without a DOM; SCRATCH is the
 * caller's buffer for generated values, reused from record to record. Returns 0;
 * TG_EINVAL if the record is refused (issues reported); TG__VOC_FALLBACK if it
 * needs the jansson path (nothing reported or written); or TG_ENOMEM. */
int tg__voc_fast_apply(const struct tg_voc_profile *p, const char *rec, size_t len,
                       size_t record, struct tg_buf *out, struct tg_buf *scratch,
                       tg_voc_conv_report_cb cb, void *ud);

/* The new name of member KEY (LEN bytes) under the profile's renames when no rule reads
 * it, else NULL (borrowed from P). */
const char *tg__voc_rename(const struct tg_voc_profile *p, const char *key, size_t len);

/* Turns the fast path off for P (tests compare both paths). */
void tg__voc_profile_set_fast(struct tg_voc_profile *p, int on);

#endif
