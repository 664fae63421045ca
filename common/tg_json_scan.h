/* tg_json_scan: where a member or element lies in JSON text, without
 * building a tree: for text already known to be JSON (parsed by jansson
 * just before, or written by jansson into our own database), to take a
 * value's bytes as they are instead of parsing and dumping them again. On
 * any other text the functions fail (NULL, -1) and never read outside
 * [P, END). Keys are compared byte for byte: a key written with escapes
 * never matches. */
#ifndef TG_JSON_SCAN_H
#define TG_JSON_SCAN_H

#include <stddef.h>

struct tg_json_span {
  const char *key; /* the member's key's opening quote (NULL for an element) */
  const char *ke;  /* one past its closing quote */
  const char *b;   /* the value's first byte */
  const char *e;   /* one past its last byte */
};

/* One past the value starting at P (after whitespace), or NULL. */
const char *tg_json_value_end(const char *p, const char *end);
/* The first member KEY of the object at OBJ (after whitespace) into *M:
 * 0 found, 1 not there, -1 not an object. */
int tg_json_member(const char *obj, const char *end, const char *key, struct tg_json_span *m);
/* Iterates the elements of an array: *IT starts at the array (its '[',
 * after whitespace) and moves on; each call puts the next element in *M.
 * 1 while there is one, 0 at the end, -1 not an array. */
int tg_json_next(const char **it, const char *end, struct tg_json_span *m);
/* Iterates the members of an object as tg_json_next does the elements of
 * an array (*IT starts at its '{'). */
int tg_json_next_member(const char **it, const char *end, struct tg_json_span *m);
/* 1 if the JSON text [P, END) has no whitespace outside strings. */
int tg_json_compact(const char *p, const char *end);

#endif
