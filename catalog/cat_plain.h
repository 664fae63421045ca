/* cat_plain: the plain-JSON dataset form (no @context: "title", "themes",
 * "license", "grant", ...; docs/datasets.md) read into the DCAT-AP JSON-LD
 * the catalog validates, with errors in that form's own terms. */
#ifndef TG_CAT_PLAIN_H
#define TG_CAT_PLAIN_H

#include <jansson.h>

/* 1 if IN (borrowed) is a plain-form document: a JSON object without
 * "@context" nor any other key starting with '@', whose keys are not all
 * prefixed terms ("dct:title") of the JSON-LD form. */
int tg__cat_plain_is(const json_t *in);

/* Converts plain document IN (borrowed) into a JSON-LD dataset written with
 * the canonical prefixes (no @context needed: they are the default one).
 * NODE_ID (borrowed, may be NULL) turns a local "id" into
 * urn:tsunagu:<node>:dataset:<id>; without it a local id is left out (the
 * store assigns the id). On success returns 0, *OUT gets the new document
 * and *MAP a new object from JSON pointers into *OUT to the pointers of the
 * plain input they came from (for tg__cat_plain_map_problems). On failure
 * returns TG_EINVAL (or TG_ENOMEM) and appends problems to PROBLEMS:
 * {"pointer" (into IN), "detail", and where they apply "expected",
 * "example", "suggestion"}. */
int tg__cat_plain_convert(const json_t *in, const char *node_id, json_t *problems, json_t **out,
                          json_t **map);

/* Rewrites the "pointer" of every problem in PROBLEMS (pointers into the
 * converted document) to the plain input's, with MAP from
 * tg__cat_plain_convert (longest matching prefix). */
void tg__cat_plain_map_problems(json_t *problems, const json_t *map);

/* The plain "id" of IN as a full dataset id for node NODE_ID: a new heap
 * string, or NULL when IN is not plain or has no usable id. */
char *tg__cat_plain_id(const json_t *in, const char *node_id);

/* A suggestion for date text S that the catalog cannot read as written
 * (an era date 令和6年4月1日, 2024/4/1, 2024年4月1日): its ISO 8601 form
 * into OUT (N bytes) and 1 (2 if it has a time of day), else 0. */
int tg__cat_date_suggest(const char *s, char *out, size_t n);

/* The licence document URL of SPDX id S, also as written with spaces or
 * underscores ("CC BY 4.0"): borrowed, or NULL. *SPDX (may be NULL) gets
 * the id as SPDX spells it. */
const char *tg__cat_license_url(const char *s, const char **spdx);

#endif
