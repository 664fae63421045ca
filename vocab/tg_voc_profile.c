/* tg_voc_profile: conversion profiles: parsing and validating the profile document,
 * and applying it to one record (rename, unit, date, code, constant, drop). */
#include "tg_voc_conv.h"
#include "tg_voc.h"
#include "tg_voc_int.h"
#include "tg_voc_prof.h"

#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON pointers ---------------------------------------------------- */

/* Copies the next reference token of pointer *P (after its '/') into OUT, unescaping
 * ~0 and ~1; advances *P. Returns 0 or TG_ETOOBIG. */
static int next_token(const char **p, char *out, size_t n) {
  const char *s = *p + 1;
  size_t w = 0;
  for (; *s && *s != '/'; s++) {
    char c = *s;
    if (c == '~' && (s[1] == '0' || s[1] == '1'))
      c = *++s == '0' ? '~' : '/';
    if (w + 1 >= n)
      return TG_ETOOBIG;
    out[w++] = c;
  }
  out[w] = '\0';
  *p = s;
  return 0;
}

/* The value at PATH (a member name, or a pointer starting with '/'), or NULL. */
static json_t *path_get(json_t *root, const char *path) {
  char tok[256];
  if (path[0] != '/')
    return json_object_get(root, path);
  json_t *v = root;
  for (const char *p = path; v && *p;) {
    if (next_token(&p, tok, sizeof(tok)))
      return NULL;
    if (json_is_object(v)) {
      v = json_object_get(v, tok);
    } else if (json_is_array(v)) {
      uint64_t i;
      char *end;
      if (tok[0] < '0' || tok[0] > '9' || (tok[0] == '0' && tok[1]))
        return NULL;
      i = strtoull(tok, &end, 10);
      v = *end ? NULL : json_array_get(v, (size_t)i);
    } else {
      return NULL;
    }
  }
  return v;
}

/* Sets PATH in ROOT to V (stolen), creating intermediate objects. */
static int path_set(json_t *root, const char *path, json_t *v) {
  char tok[256];
  if (path[0] != '/')
    return json_object_set_new(root, path, v) ? TG_ENOMEM : 0;
  json_t *o = root;
  for (const char *p = path;;) {
    if (next_token(&p, tok, sizeof(tok)) != 0 || !json_is_object(o)) {
      json_decref(v);
      return TG_EINVAL;
    }
    if (*p == '\0')
      return json_object_set_new(o, tok, v) ? TG_ENOMEM : 0;
    json_t *child = json_object_get(o, tok);
    if (child == NULL) {
      child = json_object();
      if (child == NULL || json_object_set_new(o, tok, child) != 0) {
        json_decref(v);
        return TG_ENOMEM;
      }
    }
    o = child;
  }
}

/* Removes PATH from ROOT if present. */
static void path_del(json_t *root, const char *path) {
  char tok[256];
  if (path[0] != '/') {
    json_object_del(root, path);
    return;
  }
  const char *last = strrchr(path, '/');
  json_t *parent = root;
  if (last != path) {
    char up[1024];
    size_t n = (size_t)(last - path);
    if (n >= sizeof(up))
      return;
    memcpy(up, path, n);
    up[n] = '\0';
    parent = path_get(root, up);
  }
  const char *p = last;
  if (parent && json_is_object(parent) && next_token(&p, tok, sizeof(tok)) == 0)
    json_object_del(parent, tok);
}

/* ---- parsing the profile ---------------------------------------------- */

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '.' || *s == '_' || *s == ':' || *s == '-'))
      return 0;
  return 1;
}

static int valid_path(const char *s) {
  if (s[0] == '\0' || strlen(s) > 512)
    return 0;
  if (s[0] == '/' && s[1] == '\0')
    return 0;
  return 1;
}

/* Returns the name of the first member of O not in ALLOWED (NULL-terminated), or NULL. */
static const char *unknown_key(const json_t *o, const char *const *allowed) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    size_t i;
    for (i = 0; allowed[i] && strcmp(allowed[i], k) != 0; i++)
      ;
    if (allowed[i] == NULL)
      return k;
  }
  return NULL;
}

static int parse_date_rule(struct rule *r, const json_t *d, size_t i, struct tg_err *err) {
  static const char *const keys[] = {"from", "to", "style", "tz", NULL};
  const char *from = json_string_value(json_object_get(d, "from"));
  const char *to = json_string_value(json_object_get(d, "to"));
  const char *style = json_string_value(json_object_get(d, "style"));
  const char *tz = json_string_value(json_object_get(d, "tz"));
  const char *bad;
  if (!json_is_object(d))
    return tg_err_set(err, TG_EINVAL, "fields[%zu].date: must be an object", i);
  if ((bad = unknown_key(d, keys)) != NULL)
    return tg_err_set(err, TG_EINVAL, "fields[%zu].date: unknown member '%s'", i, bad);
  if (from == NULL || to == NULL)
    return tg_err_set(err, TG_EINVAL, "fields[%zu].date: needs \"from\" and \"to\"", i);
  r->date_from = strcmp(from, "era") == 0 ? D_ERA
                 : strcmp(from, "iso") == 0 ? D_ISO
                 : strcmp(from, "any") == 0 ? D_ANY
                                            : -1;
  r->date_to = strcmp(to, "iso") == 0 ? D_ISO : strcmp(to, "era") == 0 ? D_ERA : -1;
  if (r->date_from < 0 || r->date_to < 0)
    return tg_err_set(err, TG_EINVAL,
                      "fields[%zu].date: from must be era|iso|any and to iso|era", i);
  r->style = TG_VOC_ERA_KANJI;
  if (style != NULL) {
    r->style = strcmp(style, "kanji") == 0    ? TG_VOC_ERA_KANJI
               : strcmp(style, "abbrev") == 0 ? TG_VOC_ERA_ABBREV
               : strcmp(style, "num") == 0    ? TG_VOC_ERA_KANJI_NUM
                                              : -1;
    if (r->style < 0)
      return tg_err_set(err, TG_EINVAL, "fields[%zu].date.style: kanji|abbrev|num", i);
  }
  if (tz != NULL) {
    struct tg_voc_date probe;
    char iso[48];
    snprintf(iso, sizeof(iso), "2000-01-01T00:00%s", tz);
    if (strlen(tz) > 6 || tg_voc_iso_parse(iso, strlen(iso), &probe, NULL) != 0 ||
        !probe.has_tz)
      return tg_err_set(err, TG_EINVAL, "fields[%zu].date.tz: expected Z or ±hh:mm", i);
    r->has_tz = 1;
    r->tz_min = probe.tz_min;
  }
  return 0;
}

static int parse_unit_rule(struct rule *r, const json_t *u, size_t i, struct tg_err *err) {
  static const char *const keys[] = {"from", "to", NULL};
  const char *from = json_string_value(json_object_get(u, "from"));
  const char *to = json_string_value(json_object_get(u, "to"));
  const char *bad;
  if (!json_is_object(u))
    return tg_err_set(err, TG_EINVAL, "fields[%zu].unit: must be an object", i);
  if ((bad = unknown_key(u, keys)) != NULL)
    return tg_err_set(err, TG_EINVAL, "fields[%zu].unit: unknown member '%s'", i, bad);
  if (from == NULL || to == NULL)
    return tg_err_set(err, TG_EINVAL, "fields[%zu].unit: needs \"from\" and \"to\"", i);
  if (!tg_voc_unit_known(from) || !tg_voc_unit_known(to))
    return tg_err_set(err, TG_EINVAL, "fields[%zu].unit: unknown unit '%s'", i,
                      tg_voc_unit_known(from) ? to : from);
  if (!tg_voc_unit_compatible(from, to))
    return tg_err_set(err, TG_EINVAL, "fields[%zu].unit: %s and %s measure different things",
                      i, from, to);
  snprintf(r->unit_from, sizeof(r->unit_from), "%s", from);
  snprintf(r->unit_to, sizeof(r->unit_to), "%s", to);
  r->unit_from_ix = tg__voc_unit_index(from);
  r->unit_to_ix = tg__voc_unit_index(to);
  return 0;
}

static int parse_code_rule(struct tg_voc_profile *p, struct rule *r, const json_t *c, size_t i,
                           struct tg_err *err) {
  static const char *const keys[] = {"table", "lgcode", "map", NULL};
  const char *table = json_string_value(json_object_get(c, "table"));
  const json_t *map = json_object_get(c, "map");
  const char *bad;
  char mapname[600];
  if (!json_is_object(c))
    return tg_err_set(err, TG_EINVAL, "fields[%zu].code: must be an object", i);
  if ((bad = unknown_key(c, keys)) != NULL)
    return tg_err_set(err, TG_EINVAL, "fields[%zu].code: unknown member '%s'", i, bad);
  r->lgcode = json_is_true(json_object_get(c, "lgcode"));
  if ((table != NULL) + (r->lgcode != 0) + (map != NULL) != 1)
    return tg_err_set(err, TG_EINVAL,
                      "fields[%zu].code: needs one of \"table\", \"lgcode\" or \"map\"", i);
  if (map != NULL) {
    const char *mf = json_string_value(json_object_get(map, "from"));
    const char *mt = json_string_value(json_object_get(map, "to"));
    if (!json_is_object(map) || json_object_size(map) != 2 || mf == NULL || mt == NULL ||
        strlen(mf) > 256 || strlen(mt) > 256)
      return tg_err_set(err, TG_EINVAL, "fields[%zu].code.map: {\"from\": scheme, \"to\": "
                                        "scheme}", i);
    /* Filled from concept mappings by tg_voc_store_bind_profile(). */
    snprintf(mapname, sizeof(mapname), "@map %s %s", mf, mt);
    table = mapname;
    if ((r->map_from = strdup(mf)) == NULL || (r->map_to = strdup(mt)) == NULL)
      return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  if (table != NULL) {
    if ((r->table_name = strdup(table)) == NULL)
      return tg_err_set(err, TG_ENOMEM, "out of memory");
    r->table = json_object_get(p->tables, table);
    if (r->table == NULL) {
      /* A table filled later with tg_voc_profile_table_set() starts empty. */
      json_t *t = json_object();
      if (t == NULL || json_object_set_new(p->tables, table, t) != 0)
        return tg_err_set(err, TG_ENOMEM, "out of memory");
      r->table = t;
    }
  }
  return 0;
}

static int parse_rule(struct tg_voc_profile *p, struct rule *r, const json_t *f, size_t i,
                      struct tg_err *err) {
  static const char *const keys[] = {"from", "to", "unit", "date", "code", "const",
                                     "drop", "required", "note", NULL};
  const char *bad, *from, *to;
  json_t *v;
  int kinds = 0;
  if (!json_is_object(f))
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: must be an object", i);
  if ((bad = unknown_key(f, keys)) != NULL)
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: unknown member '%s'", i, bad);
  from = json_string_value(json_object_get(f, "from"));
  to = json_string_value(json_object_get(f, "to"));
  if ((json_object_get(f, "from") && from == NULL) || (json_object_get(f, "to") && to == NULL))
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: from and to must be strings", i);
  if ((from && !valid_path(from)) || (to && !valid_path(to)))
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: empty or malformed from/to", i);
  r->kind = K_COPY;
  r->required = json_is_true(json_object_get(f, "required"));
  if ((v = json_object_get(f, "unit")) != NULL) {
    kinds++, r->kind = K_UNIT;
    if (parse_unit_rule(r, v, i, err))
      return TG_EINVAL;
  }
  if ((v = json_object_get(f, "date")) != NULL) {
    kinds++, r->kind = K_DATE;
    if (parse_date_rule(r, v, i, err))
      return TG_EINVAL;
  }
  if ((v = json_object_get(f, "code")) != NULL) {
    kinds++, r->kind = K_CODE;
    if (parse_code_rule(p, r, v, i, err))
      return err ? err->code : TG_EINVAL;
  }
  if ((v = json_object_get(f, "const")) != NULL) {
    struct tg_buf b;
    kinds++, r->kind = K_CONST;
    tg_buf_init(&b);
    if ((r->constant = json_deep_copy(v)) == NULL || tg_voc_json_write(&b, v) != 0 ||
        (r->const_text = tg_buf_take(&b)) == NULL) {
      tg_buf_close(&b);
      return tg_err_set(err, TG_ENOMEM, "out of memory");
    }
  }
  if ((v = json_object_get(f, "drop")) != NULL) {
    if (!json_is_true(v))
      return tg_err_set(err, TG_EINVAL, "fields[%zu].drop: only true is meaningful", i);
    kinds++, r->kind = K_DROP;
  }
  if (kinds > 1)
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: unit, date, code, const, drop exclude "
                                      "each other", i);
  if (r->kind == K_CONST && (from || !to))
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: const needs \"to\" and no \"from\"", i);
  if (r->kind == K_DROP && (!from || to))
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: drop needs \"from\" and no \"to\"", i);
  if (r->kind != K_CONST && r->kind != K_DROP && !from)
    return tg_err_set(err, TG_EINVAL, "fields[%zu]: needs \"from\"", i);
  if ((from && (r->from = strdup(from)) == NULL) || (to && (r->to = strdup(to)) == NULL) ||
      (r->kind != K_DROP && !to && (r->to = strdup(from)) == NULL))
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  return 0;
}

static int parse_tables(struct tg_voc_profile *p, json_t *tables, struct tg_err *err) {
  const char *name, *k;
  json_t *t, *v;
  if (tables == NULL)
    return 0;
  if (!json_is_object(tables))
    return tg_err_set(err, TG_EINVAL, "tables: must be an object");
  json_object_foreach(tables, name, t) {
    if (!json_is_object(t))
      return tg_err_set(err, TG_EINVAL, "tables.%s: must be an object", name);
    json_object_foreach(t, k, v) {
      if (json_is_object(v) || json_is_array(v))
        return tg_err_set(err, TG_EINVAL, "tables.%s.%s: values must be scalars", name, k);
    }
  }
  json_decref(p->tables);
  p->tables = json_deep_copy(tables);
  return p->tables ? 0 : tg_err_set(err, TG_ENOMEM, "out of memory");
}

/* "renames": {"table": {"old": "new", …}} or {"map": {"from": SCHEME, "to": SCHEME}}
 * (notations linked by skos:exactMatch, filled by tg_voc_store_bind_profile()). */
static int parse_renames(struct tg_voc_profile *p, json_t *rn, struct tg_err *err) {
  static const char *const keys[] = {"table", "map", NULL};
  json_t *table, *map, *t;
  const char *bad, *k;
  json_t *v;
  if (rn == NULL)
    return 0;
  table = json_object_get(rn, "table");
  map = json_object_get(rn, "map");
  if (!json_is_object(rn) || (bad = unknown_key(rn, keys)) != NULL || (table == NULL) == (map == NULL))
    return tg_err_set(err, TG_EINVAL, "renames: {\"table\": {old: new}} or {\"map\": {\"from\": "
                                      "scheme, \"to\": scheme}}");
  if (map != NULL) {
    const char *mf = json_string_value(json_object_get(map, "from"));
    const char *mt = json_string_value(json_object_get(map, "to"));
    if (!json_is_object(map) || json_object_size(map) != 2 || mf == NULL || mt == NULL)
      return tg_err_set(err, TG_EINVAL, "renames.map: {\"from\": scheme, \"to\": scheme}");
    if ((p->renames_from = strdup(mf)) == NULL || (p->renames_to = strdup(mt)) == NULL)
      return tg_err_set(err, TG_ENOMEM, "out of memory");
    t = json_object();
  } else {
    if (!json_is_object(table))
      return tg_err_set(err, TG_EINVAL, "renames.table: an object of names");
    json_object_foreach(table, k, v) {
      if (!json_is_string(v) || json_string_length(v) == 0 || k[0] == '\0' || k[0] == '/' ||
          json_string_value(v)[0] == '/')
        return tg_err_set(err, TG_EINVAL, "renames.table.%s: a new member name", k);
    }
    t = json_deep_copy(table);
  }
  if (t == NULL || json_object_set_new(p->tables, "@renames", t) != 0)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  p->renames = t;
  return 0;
}

int tg_voc_profile_new(const json_t *doc, struct tg_voc_profile **out, struct tg_err *err) {
  static const char *const keys[] = {"id", "title", "description", "mode", "unmapped",
                                     "tables", "fields", "renames", "@context", "source",
                                     "target", NULL};
  struct tg_voc_profile *p;
  const char *id, *mode, *unmapped, *bad;
  json_t *fields;
  int rc;
  *out = NULL;
  if (!json_is_object(doc))
    return tg_err_set(err, TG_EINVAL, "a profile is a JSON object");
  if ((bad = unknown_key(doc, keys)) != NULL)
    return tg_err_set(err, TG_EINVAL, "unknown profile member '%s'", bad);
  id = json_string_value(json_object_get(doc, "id"));
  if (id == NULL || !valid_id(id))
    return tg_err_set(err, TG_EINVAL, "id: 1-128 characters of A-Z a-z 0-9 . _ : -");
  mode = json_string_value(json_object_get(doc, "mode"));
  unmapped = json_string_value(json_object_get(doc, "unmapped"));
  if ((json_object_get(doc, "mode") &&
       (!mode || (strcmp(mode, "strict") != 0 && strcmp(mode, "lenient") != 0))))
    return tg_err_set(err, TG_EINVAL, "mode: strict or lenient");
  if ((json_object_get(doc, "unmapped") &&
       (!unmapped || (strcmp(unmapped, "keep") != 0 && strcmp(unmapped, "drop") != 0))))
    return tg_err_set(err, TG_EINVAL, "unmapped: keep or drop");
  fields = json_object_get(doc, "fields");
  if (!json_is_array(fields) || json_array_size(fields) > 1024)
    return tg_err_set(err, TG_EINVAL, "fields: an array of at most 1024 rules");
  if ((p = calloc(1, sizeof(*p))) == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  p->lenient = mode && strcmp(mode, "lenient") == 0;
  p->drop_unmapped = unmapped && strcmp(unmapped, "drop") == 0;
  p->id = strdup(id);
  p->tables = json_object();
  p->rules = calloc(json_array_size(fields) + 1, sizeof(*p->rules));
  if (!p->id || !p->tables || !p->rules) {
    tg_voc_profile_free(p);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  if ((rc = parse_tables(p, json_object_get(doc, "tables"), err)) != 0 ||
      (rc = parse_renames(p, json_object_get(doc, "renames"), err)) != 0) {
    tg_voc_profile_free(p);
    return rc;
  }
  p->fast = 1;
  for (size_t i = 0; i < json_array_size(fields); i++) {
    struct rule *r = &p->rules[i];
    p->n++;
    if ((rc = parse_rule(p, r, json_array_get(fields, i), i, err)) != 0) {
      tg_voc_profile_free(p);
      return rc;
    }
    if ((r->from && r->from[0] == '/') || (r->to && r->to[0] == '/'))
      p->fast = 0;
    r->from_len = r->from ? strlen(r->from) : 0;
    r->to_len = r->to ? strlen(r->to) : 0;
  }
  *out = p;
  return 0;
}

int tg_voc_profile_load(const char *text, size_t len, struct tg_voc_profile **out,
                        struct tg_err *err) {
  json_error_t je;
  json_t *doc = json_loadb(text, len, 0, &je);
  *out = NULL;
  if (doc == NULL)
    return tg_err_set(err, TG_EINVAL, "profile is not JSON: %s (line %d)", je.text, je.line);
  int rc = tg_voc_profile_new(doc, out, err);
  json_decref(doc);
  return rc;
}

void tg_voc_profile_free(struct tg_voc_profile *p) {
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->rules[i].from);
    free(p->rules[i].to);
    free(p->rules[i].map_from);
    free(p->rules[i].map_to);
    free(p->rules[i].table_name);
    free(p->rules[i].const_text);
    json_decref(p->rules[i].constant);
  }
  free(p->rules);
  free(p->renames_from);
  free(p->renames_to);
  json_decref(p->tables);
  free(p->id);
  free(p);
}

const char *tg_voc_profile_id(const struct tg_voc_profile *p) { return p->id; }

void tg__voc_profile_set_fast(struct tg_voc_profile *p, int on) {
  size_t i;
  for (i = 0; on && i < p->n; i++)
    if ((p->rules[i].from && p->rules[i].from[0] == '/') ||
        (p->rules[i].to && p->rules[i].to[0] == '/'))
      break;
  p->fast = on && i == p->n;
}

/* The new name of member KEY (LEN bytes) if the profile renames it and no rule reads it,
 * else NULL (borrowed). */
const char *tg__voc_rename(const struct tg_voc_profile *p, const char *key, size_t len) {
  char buf[256];
  const char *to;
  if (p->renames == NULL || len >= sizeof(buf))
    return NULL;
  memcpy(buf, key, len);
  buf[len] = '\0';
  if ((to = json_string_value(json_object_get(p->renames, buf))) == NULL)
    return NULL;
  for (size_t i = 0; i < p->n; i++)
    if (p->rules[i].from && p->rules[i].from_len == len && memcmp(p->rules[i].from, key, len) == 0)
      return NULL;
  return to;
}

int tg_voc_profile_table_set(struct tg_voc_profile *p, const char *name, const char *key,
                             const char *value) {
  json_t *t = json_object_get(p->tables, name);
  if (t == NULL) {
    if ((t = json_object()) == NULL || json_object_set_new(p->tables, name, t) != 0)
      return TG_ENOMEM;
    /* Rules naming this table were bound to it at parse time, so none can exist. */
  }
  return json_object_set_new(t, key, json_string(value)) ? TG_ENOMEM : 0;
}

int tg__voc_profile_map(const struct tg_voc_profile *p, size_t i, const char **from,
                        const char **to, const char **table) {
  if (p->renames_from != NULL && i-- == 0) {
    *from = p->renames_from;
    *to = p->renames_to;
    *table = "@renames";
    return 0;
  }
  for (size_t k = 0; k < p->n; k++) {
    if (p->rules[k].map_from == NULL)
      continue;
    if (i-- == 0) {
      *from = p->rules[k].map_from;
      *to = p->rules[k].map_to;
      *table = p->rules[k].table_name;
      return 0;
    }
  }
  return TG_ENOENT;
}

/* ---- applying a profile to one record --------------------------------- */

/* Folds the string S (LEN bytes) into ASCII decimal text for unit conversion
 * (full-width digits allowed, surrounding spaces dropped). Returns 0 or TG_EINVAL. */
static int fold_number(const char *s, size_t len, char *out, size_t n) {
  size_t pos = 0, w = 0;
  while (pos < len) {
    int32_t c = tg_utf8_next(s, len, &pos);
    if (c < 0)
      return TG_EINVAL;
    uint32_t f = tg_text_fold_width((uint32_t)c);
    if (f == ' ' && (w == 0 || pos == len))
      continue;
    if (f >= 0x80 || f == 0 || w + 1 >= n)
      return TG_EINVAL;
    out[w++] = (char)f;
  }
  out[w] = '\0';
  return w ? 0 : TG_EINVAL;
}

static int conv_unit(const struct rule *r, const struct tg__voc_view *v, struct tg__voc_result *res,
                     char *why, size_t wn) {
  char in[160];
  struct tg_err err;
  int ok = 0;
  if (v->kind == 's')
    ok = fold_number(v->text, v->len, in, sizeof(in)) == 0;
  else if ((v->kind == 'n' || v->kind == 'i') && v->len < sizeof(in))
    ok = (memcpy(in, v->text, v->len), in[v->len] = '\0', 1);
  if (!ok) {
    snprintf(why, wn, "not a number: cannot convert %s to %s", r->unit_from, r->unit_to);
    return TG_EINVAL;
  }
  tg_err_clear(&err);
  if (tg__voc_unit_convert_ix(in, r->unit_from_ix, r->unit_to_ix, res->buf, sizeof(res->buf),
                              NULL, &err) != 0) {
    snprintf(why, wn, "%s", err.msg);
    return TG_EINVAL;
  }
  res->kind = v->kind == 's' ? 's' : 'n';
  return 0;
}

static int conv_date(const struct rule *r, const struct tg__voc_view *v, struct tg__voc_result *res,
                     char *why, size_t wn) {
  struct tg_voc_date d;
  struct tg_err err;
  int rc = TG_EINVAL, from_era = 0;
  if (v->kind != 's') {
    snprintf(why, wn, "a date must be a string");
    return TG_EINVAL;
  }
  tg_err_clear(&err);
  if (r->date_from == D_ERA || r->date_from == D_ANY) {
    rc = tg_voc_era_parse(v->text, v->len, &d, &err);
    from_era = rc == 0;
  }
  if (r->date_from == D_ISO || (r->date_from == D_ANY && rc == TG_EINVAL &&
                                tg_voc_iso_parse(v->text, v->len, &d, NULL) == 0)) {
    if (r->date_from == D_ANY)
      rc = 0;
    else
      rc = tg_voc_iso_parse(v->text, v->len, &d, &err);
  }
  if (rc != 0) {
    snprintf(why, wn, "%s", err.msg[0] ? err.msg : "not a date");
    return TG_EINVAL;
  }
  if (r->date_to == D_ISO) {
    if (from_era && d.has_time && r->has_tz)
      d.has_tz = 1, d.tz_min = r->tz_min;
    rc = tg_voc_iso_format(&d, res->buf, sizeof(res->buf));
  } else {
    /* Era dates are local: an instant with an offset is moved to the profile's offset,
     * and without one we refuse rather than present UTC as local time. */
    if (d.has_time && d.has_tz) {
      if (!r->has_tz || tg_voc_date_to_offset(&d, r->tz_min) != 0) {
        snprintf(why, wn, "time has a UTC offset; the rule needs date.tz to write local time");
        return TG_EINVAL;
      }
    }
    rc = tg_voc_era_format(&d, r->style, res->buf, sizeof(res->buf));
    if (rc == TG_EUNSUP) {
      snprintf(why, wn, "%04d-%02d-%02d is before 1873-01-01 (明治6年): no Gregorian era date",
               d.year, d.month, d.day);
      return TG_EINVAL;
    }
  }
  if (rc != 0) {
    snprintf(why, wn, "date cannot be written (%s)", tg_strerror(rc));
    return TG_EINVAL;
  }
  res->kind = 's';
  return 0;
}

static int conv_code(const struct rule *r, const struct tg__voc_view *v, struct tg__voc_result *res,
                     char *why, size_t wn) {
  char key[128];
  if (v->kind == 'i' && r->lgcode) {
    snprintf(why, wn, "local government code given as a number (leading zeros may be lost); "
                      "it must be a string");
    return TG_EINVAL;
  }
  if ((v->kind != 'i' && v->kind != 's') || v->len >= sizeof(key) ||
      memchr(v->text, '\0', v->len) != NULL) {
    snprintf(why, wn, "a code must be a string or an integer");
    return TG_EINVAL;
  }
  memcpy(key, v->text, v->len);
  key[v->len] = '\0';
  if (r->lgcode) {
    struct tg_err err;
    tg_err_clear(&err);
    if (tg_voc_lgcode_normalize(key, v->len, res->buf, &err) != 0) {
      snprintf(why, wn, "%s", err.msg);
      return TG_EINVAL;
    }
    res->kind = 's';
    return 0;
  }
  res->j = json_object_get(r->table, key);
  if (res->j == NULL) {
    snprintf(why, wn, "no mapping for code '%.100s'", key);
    return TG_EINVAL;
  }
  res->kind = 'j';
  return 0;
}

int tg__voc_convert_view(const struct rule *r, const struct tg__voc_view *v,
                         struct tg__voc_result *res, char *why, size_t wn) {
  res->j = NULL;
  res->buf[0] = '\0';
  if (r->kind == K_UNIT)
    return conv_unit(r, v, res, why, wn);
  if (r->kind == K_DATE)
    return conv_date(r, v, res, why, wn);
  return conv_code(r, v, res, why, wn);
}

/* The view of a jansson value (NUMBUF holds a number's text). */
static void view_of(const json_t *v, struct tg__voc_view *w, char *numbuf, size_t n) {
  w->text = numbuf;
  w->len = 0;
  if (json_is_string(v)) {
    w->kind = 's';
    w->text = json_string_value(v);
    w->len = json_string_length(v);
  } else if (json_is_integer(v)) {
    w->kind = 'i';
    w->len = (size_t)snprintf(numbuf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v)) {
    struct tg_buf b;
    tg_buf_init(&b);
    w->kind = 'o';
    if (tg_voc_json_write(&b, v) == 0 && b.len < n) {
      memcpy(numbuf, b.data, b.len + 1);
      w->kind = 'n';
      w->len = b.len;
    }
    tg_buf_close(&b);
  } else {
    w->kind = 'o';
  }
}

/* The converted value as a new jansson value, or NULL (out of memory). */
static json_t *result_json(const struct tg__voc_result *res) {
  if (res->kind == 'j')
    return json_deep_copy(res->j);
  if (res->kind == 's')
    return json_string(res->buf);
  if (strpbrk(res->buf, ".eE") == NULL && strlen(res->buf) <= 18)
    return json_integer((json_int_t)strtoll(res->buf, NULL, 10));
  return json_real(strtod(res->buf, NULL));
}

/* Converts SRC with rule R into *OUT (new reference). Returns 0, TG_EINVAL (not
 * convertible: WHY says why) or TG_ENOMEM. */
static int convert_json(const struct rule *r, const json_t *src, json_t **out, char *why,
                        size_t wn) {
  struct tg__voc_view v;
  struct tg__voc_result res;
  char num[64];
  view_of(src, &v, num, sizeof(num));
  int rc = tg__voc_convert_view(r, &v, &res, why, wn);
  if (rc != 0)
    return rc;
  return (*out = result_json(&res)) != NULL ? 0 : TG_ENOMEM;
}

void tg__voc_report(tg_voc_conv_report_cb cb, void *ud, size_t record, const char *path,
                    const char *target, const char *reason, int skipped) {
  char ptr[600];
  struct tg_voc_conv_issue is = {record, ptr, target ? target : "", reason, skipped};
  if (cb == NULL)
    return;
  /* Issues point into the record: a member name becomes "/name" (escaped). */
  if (path[0] == '/') {
    snprintf(ptr, sizeof(ptr), "%s", path);
  } else {
    size_t w = 0;
    ptr[w++] = '/';
    for (const char *s = path; *s && w + 3 < sizeof(ptr); s++) {
      if (*s == '~' || *s == '/') {
        ptr[w++] = '~';
        ptr[w++] = *s == '~' ? '0' : '1';
      } else {
        ptr[w++] = *s;
      }
    }
    ptr[w] = '\0';
  }
  cb(ud, &is);
}

/* Reads and converts every rule's source value of REC into V[i] (new references;
 * NULL when absent, dropped or failed, with FAILED[i] set for failures). Returns the
 * number of failures, or TG_ENOMEM. */
static int convert_values(const struct tg_voc_profile *p, json_t *rec, json_t **v,
                          char *failed, size_t record, tg_voc_conv_report_cb cb, void *ud) {
  char why[600]; /* larger than tg_err.msg */
  int nfail = 0;
  for (size_t i = 0; i < p->n; i++) {
    const struct rule *r = &p->rules[i];
    json_t *src = r->from ? path_get(rec, r->from) : NULL;
    v[i] = NULL;
    failed[i] = 0;
    if (r->kind == K_CONST) {
      if ((v[i] = json_deep_copy(r->constant)) == NULL)
        return TG_ENOMEM;
      continue;
    }
    if (r->kind == K_DROP)
      continue;
    if (src == NULL) {
      if (r->required) {
        tg__voc_report(cb, ud, record, r->from, r->to, "required field is missing", !p->lenient);
        nfail++;
      }
      continue;
    }
    if (r->kind == K_COPY || json_is_null(src)) {
      v[i] = json_incref(src);
      continue;
    }
    why[0] = '\0';
    int rc = convert_json(r, src, &v[i], why, sizeof(why));
    if (rc == TG_EINVAL) {
      tg__voc_report(cb, ud, record, r->from, r->to, why, !p->lenient);
      failed[i] = 1;
      nfail++;
    } else if (rc != 0) {
      return rc;
    }
  }
  return nfail;
}

/* Moves members the profile renames (and no rule reads) to their new names, in their
 * order, after the members that stay; a new name that exists is replaced in place. */
static int apply_renames(const struct tg_voc_profile *p, json_t *rec, json_t *out) {
  const char *k, *to;
  json_t *v, *moved = json_array(), *names = json_array();
  int rc = moved && names ? 0 : TG_ENOMEM;
  json_object_foreach(rec, k, v) {
    if (rc == 0 && (to = tg__voc_rename(p, k, strlen(k))) != NULL &&
        (json_array_append(moved, v) || json_array_append_new(names, json_string(k))))
      rc = TG_ENOMEM;
  }
  for (size_t i = 0; rc == 0 && i < json_array_size(names); i++)
    if (!p->drop_unmapped)
      json_object_del(out, json_string_value(json_array_get(names, i)));
  for (size_t i = 0; rc == 0 && i < json_array_size(names); i++) {
    const char *name = json_string_value(json_array_get(names, i));
    to = tg__voc_rename(p, name, strlen(name));
    if (json_object_set(out, to, json_array_get(moved, i)) != 0)
      rc = TG_ENOMEM;
  }
  json_decref(moved);
  json_decref(names);
  return rc;
}

/* Builds the output from REC (ours: it may be reused as the output) and the values V
 * (stolen). Failed values stay where they were (lenient mode). */
static int assemble(const struct tg_voc_profile *p, json_t *rec, json_t **v, const char *failed,
                    json_t **outp, size_t record, tg_voc_conv_report_cb cb, void *ud) {
  json_t *out = p->drop_unmapped ? json_object() : json_incref(rec);
  int rc = out ? 0 : TG_ENOMEM;
  for (size_t i = 0; rc == 0 && i < p->n; i++) {
    const struct rule *r = &p->rules[i];
    if (r->from && !failed[i] && (v[i] != NULL || r->kind == K_DROP))
      path_del(out, r->from);
  }
  if (rc == 0 && p->renames != NULL)
    rc = apply_renames(p, rec, out);
  for (size_t i = 0; i < p->n; i++) {
    const struct rule *r = &p->rules[i];
    json_t *val = v[i];
    const char *where = r->to;
    v[i] = NULL;
    if (failed[i] && p->drop_unmapped) { /* keep the unconverted value, unrenamed */
      val = json_incref(path_get(rec, r->from));
      where = r->from;
    }
    if (val == NULL)
      continue;
    if (rc != 0) {
      json_decref(val);
      continue;
    }
    rc = path_set(out, where, val); /* steals VAL */
    if (rc == TG_EINVAL) {
      tg__voc_report(cb, ud, record, where, r->to, "cannot write the target: its parent is not an object",
             1);
    }
  }
  if (rc != 0) {
    json_decref(out);
    return rc;
  }
  *outp = out;
  return 0;
}

/* Converts REC (ours). Returns 0, TG_EINVAL (the record is refused) or TG_ENOMEM. */
static int apply_in_place(const struct tg_voc_profile *p, json_t *rec, json_t **outp,
                          size_t record, tg_voc_conv_report_cb cb, void *ud) {
  json_t *vals[64] = {0}, **v = vals; /* freed whole when converting stops early */
  char fl[64], *failed = fl;
  int n, rc;
  if (p->n > 64) {
    v = calloc(p->n, sizeof(*v));
    failed = calloc(p->n, 1);
    if (v == NULL || failed == NULL) {
      free(v);
      free(failed);
      return TG_ENOMEM;
    }
  }
  n = convert_values(p, rec, v, failed, record, cb, ud);
  if (n < 0 || (n > 0 && !p->lenient)) {
    for (size_t i = 0; i < p->n; i++)
      json_decref(v[i]);
    rc = n < 0 ? n : TG_EINVAL;
  } else {
    rc = assemble(p, rec, v, failed, outp, record, cb, ud);
  }
  if (v != vals) {
    free(v);
    free(failed);
  }
  return rc;
}

int tg__voc_profile_apply_take(const struct tg_voc_profile *p, json_t *rec, size_t record,
                               json_t **out, tg_voc_conv_report_cb cb, void *ud) {
  *out = NULL;
  return apply_in_place(p, rec, out, record, cb, ud);
}

int tg_voc_profile_apply(const struct tg_voc_profile *p, const json_t *in, size_t record,
                         json_t **out, tg_voc_conv_report_cb cb, void *ud) {
  json_t *copy = json_deep_copy(in);
  *out = NULL;
  if (copy == NULL)
    return TG_ENOMEM;
  int rc = apply_in_place(p, copy, out, record, cb, ud);
  json_decref(copy);
  return rc;
}
