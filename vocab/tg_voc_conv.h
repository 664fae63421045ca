/* tg_voc_conv: API conversion. A profile maps a source data model to a target model
 * field by field (rename, unit, date, code, constant, drop); a streaming converter
 * applies it to a JSON document, a JSON array or NDJSON fed in arbitrary chunks, with
 * memory bounded by the largest record, and reports every value it cannot convert
 * with its JSON pointer. Pure: no I/O of its own, output goes through a callback. */
#ifndef TG_VOC_CONV_H
#define TG_VOC_CONV_H

#include <jansson.h>
#include <stddef.h>

struct tg_err;
struct tg_voc_profile;
struct tg_voc_conv;

/* ---- profiles ----------------------------------------------------------

   A profile is a JSON object:
   {
     "id": "a-city-water-v1",               required, 1-128 of [A-Za-z0-9._:-]
     "title": "…" or {"ja": "…", "en": "…"}, optional
     "mode": "strict" | "lenient",          default strict
     "unmapped": "keep" | "drop",           fields no rule names; default keep
     "tables": {"NAME": {"local": "national", …}, …},   optional code tables
     "renames": {"table": {"old": "new", …}}             optional: members no rule
              | {"map": {"from": SCHEME, "to": SCHEME}}  reads get new names; with map,
                                            from notations linked by skos:exactMatch
                                            (filled by tg_voc_store_bind_profile); kept
                                            even when unmapped is drop
     "fields": [ RULE, … ]                  applied in order
   }
   RULE is an object with "from" and/or "to" (a member name, or a JSON pointer such
   as "/address/locality" when it starts with '/') and at most one of:
     "unit": {"from": "cm", "to": "m"}                 UCUM codes (tg_voc_unit_convert)
     "date": {"from": "era"|"iso"|"any", "to": "iso"|"era",
              "style": "kanji"|"abbrev"|"num", "tz": "+09:00"}   tz: the local offset;
                     added to era date-times written as ISO, and ISO date-times with an
                     offset are moved to it before being written as era dates (without
                     tz such a value is reported, not guessed)
     "code": {"table": "NAME"} | {"lgcode": true}      table lookup / JIS X 0402 check
           | {"map": {"from": SCHEME, "to": SCHEME}}   notations mapped by skos:exactMatch
                                                        (filled by tg_voc_store_bind_profile)
     "const": VALUE                                    needs "to", no "from"
     "drop": true                                      needs "from", no "to"
   With none of them the rule renames (or copies) "from" to "to". "required": true
   reports a record lacking "from". Every rule reads the source record as it came in.
   A null value passes through unconverted. */

/* Builds a profile from DOC (borrowed; nothing of it is kept). Returns 0 or
 * TG_EINVAL with ERR naming the offending rule (e.g. "fields[2].unit: unknown unit"). */
int tg_voc_profile_new(const json_t *doc, struct tg_voc_profile **out, struct tg_err *err);

/* Like tg_voc_profile_new() from LEN bytes of JSON text. */
int tg_voc_profile_load(const char *text, size_t len, struct tg_voc_profile **out,
                        struct tg_err *err);

/* Frees P; NULL is a no-op. */
void tg_voc_profile_free(struct tg_voc_profile *p);

/* The profile's id (borrowed, valid while P lives). */
const char *tg_voc_profile_id(const struct tg_voc_profile *p);

/* Adds or replaces the entry KEY -> VALUE (both copied) in code table NAME, creating
 * the table. Used to fill tables from concept mappings. Returns 0 or TG_ENOMEM. */
int tg_voc_profile_table_set(struct tg_voc_profile *p, const char *name, const char *key,
                             const char *value);

/* One value (or record) that could not be converted. All strings are borrowed and
 * valid only during the callback. */
struct tg_voc_conv_issue {
  size_t record;       /* 0-based index of the record in the input */
  const char *pointer; /* JSON pointer into the input, e.g. "/3/dateObserved"; for
                          tg_voc_profile_apply() relative to the record ("/dateObserved") */
  const char *target;  /* the rule's target ("to"), or "" */
  const char *reason;  /* human-readable */
  int skipped;         /* 1 if the record was left out of the output */
};

/* Called for each issue; must not call back into the converter. */
typedef void (*tg_voc_conv_report_cb)(void *ud, const struct tg_voc_conv_issue *issue);

/* Called with converted output; return 0 to go on, or a negative TG_E* code to stop
 * the converter (feed/finish then return that code). */
typedef int (*tg_voc_conv_write_cb)(void *ud, const char *data, size_t len);

/* Converts one record IN (borrowed) into a new object *OUT (new reference, NULL when
 * the record is refused in strict mode). Issues are reported with pointers relative to
 * the record and RECORD as their index. Returns 0 (even with issues), TG_EINVAL if
 * the record was refused (strict mode), or TG_ENOMEM. */
int tg_voc_profile_apply(const struct tg_voc_profile *p, const json_t *in, size_t record,
                         json_t **out, tg_voc_conv_report_cb report, void *ud);

/* ---- the streaming converter ------------------------------------------ */

enum {
  TG_VOC_FMT_AUTO = 0, /* '[' starts an array of records, else a sequence of JSON
                          values (one document, NDJSON or concatenated) */
  TG_VOC_FMT_NDJSON = 1 /* one record per line; a bad line spoils only itself */
};

struct tg_voc_conv_stats {
  size_t records;  /* records seen */
  size_t written;  /* records written */
  size_t skipped;  /* records left out (strict-mode failures, bad JSON, too large) */
  size_t issues;   /* issues reported */
};

/* Creates a converter applying P (borrowed: it must outlive the converter) to input in
 * FORMAT. Output mirrors the input: an array for an array, one compact JSON text per
 * line otherwise. Values no rule converts keep their text as written where possible
 * (34.70 stays 34.70); converted numbers are written exactly (250 cm -> 2.5). WRITE receives output in chunks of up to about 64 KiB; REPORT (optional)
 * receives issues; UD is passed to both. Records larger than MAX_RECORD bytes (0: 1 MiB)
 * are skipped and reported. Returns 0 or TG_ENOMEM / TG_EINVAL. */
int tg_voc_conv_new(const struct tg_voc_profile *p, int format, size_t max_record,
                    tg_voc_conv_write_cb write, tg_voc_conv_report_cb report, void *ud,
                    struct tg_voc_conv **out, struct tg_err *err);

/* Feeds LEN bytes of input (any split). Returns 0; TG_EINVAL when the input's
 * structure is broken beyond one record (e.g. garbage between array elements), after
 * which the converter refuses further input; or the write callback's error. */
int tg_voc_conv_feed(struct tg_voc_conv *c, const void *data, size_t len, struct tg_err *err);

/* Ends the input: converts what is pending and flushes the output. Returns 0, or
 * TG_EINVAL if the input ended inside a record or an unclosed array. */
int tg_voc_conv_finish(struct tg_voc_conv *c, struct tg_err *err);

/* Copies the counters so far into *S. */
void tg_voc_conv_stats(const struct tg_voc_conv *c, struct tg_voc_conv_stats *s);

/* Frees C; NULL is a no-op. */
void tg_voc_conv_free(struct tg_voc_conv *c);

/* Appends V as compact JSON to B, with reals in their shortest round-trip form
 * (0.0254, not 0.025399999999999999). Returns 0 or TG_ENOMEM. */
struct tg_buf;
int tg_voc_json_write(struct tg_buf *b, const json_t *v);

#endif
