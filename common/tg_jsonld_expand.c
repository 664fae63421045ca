/* tg_jsonld_expand: the JSON-LD 1.1 expansion algorithm (JSON-LD 1.1 API
 * sections 5.1 and 5.3) and the public entry point with its limits. */
#include "tg_jsonld_int.h"
#include "tg_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One node object being expanded (steps 10-14 share it, nests included). */
struct obj {
  json_t *actx;      /* active context (own reference) */
  json_t *tsctx;     /* type-scoped context (own reference) */
  const char *aprop; /* active property, may be NULL (borrowed) */
  const char *base;  /* base URL, may be NULL (borrowed) */
  char *input_type;  /* expanded last @type value, or NULL (heap) */
  json_t *result;    /* the expanded map (own reference) */
  json_t *nests;     /* nesting keys seen (own reference, array) */
};

static int expand(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *elem,
                  const char *base, int from_map, json_t **out);

int tg_jsonld__fail(struct tg_jsonld__st *st, int code, const char *jcode, const char *fmt, ...) {
  if (st->err != NULL) {
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    tg_err_set(st->err, code, "%s: %s", jcode, detail);
  }
  if (st->o.err_ptr != NULL && st->o.err_ptr_size > 0)
    snprintf(st->o.err_ptr, st->o.err_ptr_size, "%s", st->ptr.data ? st->ptr.data : "");
  return code;
}

/* ---- source pointers ------------------------------------------------- */

size_t tg_jsonld__ptr_key(struct tg_jsonld__st *st, const char *key) {
  size_t mark = st->ptr.len;
  int rc;
  if (!st->track)
    return mark;
  rc = tg_buf_puts(&st->ptr, "/");
  for (const char *p = key; rc == 0 && *p; p++)
    rc = *p == '~' ? tg_buf_puts(&st->ptr, "~0")
                   : *p == '/' ? tg_buf_puts(&st->ptr, "~1") : tg_buf_append(&st->ptr, p, 1);
  if (rc != 0)
    st->ptr_nomem = 1;
  return mark;
}

size_t tg_jsonld__ptr_idx(struct tg_jsonld__st *st, size_t i) {
  size_t mark = st->ptr.len;
  if (st->track && tg_buf_printf(&st->ptr, "/%zu", i) != 0)
    st->ptr_nomem = 1;
  return mark;
}

void tg_jsonld__ptr_pop(struct tg_jsonld__st *st, size_t mark) {
  if (st->ptr.data != NULL && mark <= st->ptr.len) {
    st->ptr.len = mark;
    st->ptr.data[mark] = '\0';
  }
}

/* Remembers that output object OBJ comes from the input at the current
 * pointer (the member is added once the algorithm is done with OBJ). */
static void ptr_mark(struct tg_jsonld__st *st, json_t *obj) {
  if (st->o.ptr_key == NULL || !json_is_object(obj))
    return;
  if (json_array_append_new(st->marks, json_pack("[O,s]", obj, st->ptr.data ? st->ptr.data : "")))
    st->ptr_nomem = 1;
}

/* Adds the remembered pointers; the deepest (first) mark of an object wins. */
static void ptr_apply(struct tg_jsonld__st *st) {
  size_t i;
  json_t *m;
  json_array_foreach(st->marks, i, m) {
    json_t *obj = json_array_get(m, 0);
    if (json_object_get(obj, st->o.ptr_key) == NULL &&
        json_object_set(obj, st->o.ptr_key, json_array_get(m, 1)) != 0)
      st->ptr_nomem = 1;
  }
}

int tg_jsonld__enter(struct tg_jsonld__st *st) {
  if (++st->depth > st->o.max_depth)
    return tg_jsonld__fail(st, TG_ETOOBIG, "context overflow", "nesting deeper than %zu",
                           st->o.max_depth);
  return 0;
}

void tg_jsonld__leave(struct tg_jsonld__st *st) {
  st->depth--;
}

void tg_jsonld_err_code(const struct tg_err *err, char *out, size_t n) {
  const char *sep = err != NULL ? strstr(err->msg, ": ") : NULL;
  size_t len = sep != NULL ? (size_t)(sep - err->msg) : 0;
  if (n == 0)
    return;
  if (len >= n)
    len = n - 1;
  if (len > 0)
    memcpy(out, err->msg, len);
  out[len] = '\0';
}

static int nomem(struct tg_jsonld__st *st) {
  return tg_jsonld__fail(st, TG_ENOMEM, "out of memory", "allocation failed");
}

static int streq(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Sorted keys of OBJ (borrowed strings) in a new array the caller frees. */
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}
static const char **sorted_keys(json_t *obj, size_t *n) {
  const char **keys = malloc((json_object_size(obj) + 1) * sizeof(*keys));
  const char *k;
  json_t *v;
  size_t i = 0;
  if (keys == NULL)
    return NULL;
  json_object_foreach(obj, k, v) {
    keys[i++] = k;
  }
  qsort(keys, i, sizeof(*keys), cmp_str);
  *n = i;
  return keys;
}

/* VALUE as an array (new reference). */
static json_t *as_array(json_t *v) {
  return json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
}

/* Add value: appends V (stolen; its items if an array) to OBJ[KEY] as an array. */
static int add_value(struct tg_jsonld__st *st, json_t *obj, const char *key, json_t *v) {
  json_t *a = json_object_get(obj, key);
  int rc = 0;
  if (a == NULL) {
    a = json_array();
    if (a == NULL || json_object_set_new(obj, key, a) != 0) {
      json_decref(v);
      return nomem(st);
    }
  }
  if (json_is_array(v))
    rc = json_array_extend(a, v);
  else
    rc = json_array_append(a, v);
  json_decref(v);
  return rc == 0 ? 0 : nomem(st);
}

static int is_value_obj(json_t *v) {
  return json_is_object(v) && json_object_get(v, "@value");
}
static int is_list_obj(json_t *v) {
  return json_is_object(v) && json_object_get(v, "@list");
}
static int is_node_obj(json_t *v) {
  return json_is_object(v) && !json_object_get(v, "@value") && !json_object_get(v, "@list") &&
         !json_object_get(v, "@set");
}
static int is_graph_obj(json_t *v) {
  const char *k;
  json_t *x;
  if (!json_is_object(v) || json_object_get(v, "@graph") == NULL)
    return 0;
  json_object_foreach(v, k, x) {
    if (!streq(k, "@graph") && !streq(k, "@id") && !streq(k, "@index") && !streq(k, "@context"))
      return 0;
  }
  return 1;
}

/* IRI expansion into a new JSON string (or NULL for null). */
static int iri_json(struct tg_jsonld__st *st, json_t *actx, const char *v, int docrel, int vocab,
                    json_t **out) {
  char *s;
  int rc = tg_jsonld__iri_expand(st, actx, v, docrel, vocab, &s);
  *out = NULL;
  if (rc == 0 && s != NULL && (*out = json_string(s)) == NULL)
    rc = nomem(st);
  free(s);
  return rc;
}

/* 1 if KEY of ACTX expands (vocab) to keyword KW. */
static int expands_to(struct tg_jsonld__st *st, json_t *actx, const char *key, const char *kw) {
  char *s;
  if (tg_jsonld__iri_expand(st, actx, key, 0, 1, &s) != 0)
    return 0;
  int eq = streq(s, kw);
  free(s);
  return eq;
}

/* ---- value expansion (5.3.2) ------------------------------------------ */

static int value_expand(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *value,
                        json_t **out) {
  json_t *def = tg_jsonld__term(actx, aprop), *r, *id;
  const char *type = tg_jsonld__def_str(def, "type");
  int rc;
  *out = NULL;
  if (json_is_string(value) && (streq(type, "@id") || streq(type, "@vocab"))) {
    rc = iri_json(st, actx, json_string_value(value), 1, streq(type, "@vocab"), &id);
    if (rc == 0 && id != NULL && (*out = json_pack("{s:o}", "@id", id)) == NULL)
      rc = nomem(st);
    return rc;
  }
  if ((r = json_pack("{s:O}", "@value", value)) == NULL)
    return nomem(st);
  if (type != NULL && !streq(type, "@id") && !streq(type, "@vocab") && !streq(type, "@none")) {
    json_object_set_new(r, "@type", json_string(type));
  } else if (json_is_string(value)) {
    json_t *lang = json_object_get(def, "language"), *dir = json_object_get(def, "direction");
    if (lang == NULL)
      lang = json_object_get(actx, "language");
    if (dir == NULL)
      dir = json_object_get(actx, "direction");
    if (json_is_string(lang))
      json_object_set(r, "@language", lang);
    if (json_is_string(dir))
      json_object_set(r, "@direction", dir);
  }
  *out = r;
  return 0;
}

/* ---- keywords (step 13.4) -------------------------------------------- */

static int kw_id(struct tg_jsonld__st *st, struct obj *o, json_t *value, json_t **ev) {
  if (!json_is_string(value))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid @id value", "not a string");
  int rc = iri_json(st, o->actx, json_string_value(value), 1, 0, ev);
  if (rc == 0 && *ev == NULL) /* a keyword-like @id is kept as null */
    *ev = json_null();
  return rc;
}

static int kw_type(struct tg_jsonld__st *st, struct obj *o, json_t *value, json_t **ev) {
  json_t *arr = NULL, *item, *x;
  size_t i;
  int rc = 0;
  if (json_is_string(value))
    return iri_json(st, o->tsctx, json_string_value(value), 1, 1, ev);
  if (!json_is_array(value))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid type value", "not a string or array");
  if ((arr = json_array()) == NULL)
    return nomem(st);
  json_array_foreach(value, i, item) {
    if (!json_is_string(item)) {
      rc = tg_jsonld__fail(st, TG_EINVAL, "invalid type value", "not a string");
      break;
    }
    if ((rc = iri_json(st, o->tsctx, json_string_value(item), 1, 1, &x)) != 0)
      break;
    if (x != NULL)
      json_array_append_new(arr, x);
  }
  if (rc != 0) {
    json_decref(arr);
    return rc;
  }
  *ev = arr;
  return 0;
}

/* @type again in the same map (nests): earlier values first. */
static int merge_type(struct tg_jsonld__st *st, struct obj *o, json_t **ev) {
  json_t *prev = json_object_get(o->result, "@type"), *a;
  if (prev == NULL || *ev == NULL)
    return 0;
  if ((a = as_array(prev)) == NULL)
    return nomem(st);
  json_t *copy = json_copy(a);
  json_decref(a);
  if (copy == NULL ||
      (json_is_array(*ev) ? json_array_extend(copy, *ev) : json_array_append(copy, *ev)) != 0) {
    json_decref(copy);
    return nomem(st);
  }
  json_decref(*ev);
  *ev = copy;
  return 0;
}

static int kw_included(struct tg_jsonld__st *st, struct obj *o, json_t *value, json_t **ev) {
  json_t *x = NULL, *item, *prev;
  size_t i;
  /* Under "@included" a string or value object stays, and is refused below. */
  int rc = expand(st, o->actx, "@included", value, o->base, 0, &x);
  if (rc != 0)
    return rc;
  json_t *a = x == NULL ? json_array() : as_array(x);
  json_decref(x);
  if (a == NULL)
    return nomem(st);
  json_array_foreach(a, i, item) {
    if (!is_node_obj(item)) {
      json_decref(a);
      return tg_jsonld__fail(st, TG_EINVAL, "invalid @included value", "not a node object");
    }
  }
  if ((prev = json_object_get(o->result, "@included")) != NULL) {
    json_t *m = json_copy(prev);
    json_array_extend(m, a);
    json_decref(a);
    a = m;
  }
  *ev = a;
  return 0;
}

static int kw_value(struct tg_jsonld__st *st, struct obj *o, json_t *value, json_t **ev) {
  if (streq(o->input_type, "@json")) {
    if (st->o.mode == TG_JSONLD_1_0)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid value object value", "@json in 1.0");
    *ev = json_incref(value);
    return 0;
  }
  if (json_is_object(value) || json_is_array(value))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid value object value", "not a scalar");
  *ev = json_incref(value);
  return 0;
}

static int kw_simple(struct tg_jsonld__st *st, const char *kw, json_t *value, json_t **ev) {
  const char *s = json_string_value(value);
  if (streq(kw, "@language") && s == NULL)
    return tg_jsonld__fail(st, TG_EINVAL, "invalid language-tagged string", "not a string");
  if (streq(kw, "@direction") && !streq(s, "ltr") && !streq(s, "rtl"))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid base direction", "'%s'", s ? s : "");
  if (streq(kw, "@index") && s == NULL)
    return tg_jsonld__fail(st, TG_EINVAL, "invalid @index value", "not a string");
  *ev = json_incref(value);
  return 0;
}

/* Expands VALUE under the active property as an array (new) in *EV. */
static int expand_array(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *value,
                        const char *base, json_t **ev) {
  json_t *x = NULL;
  int rc = expand(st, actx, aprop, value, base, 0, &x);
  if (rc != 0)
    return rc;
  *ev = x == NULL ? json_array() : as_array(x);
  json_decref(x);
  return *ev == NULL ? nomem(st) : 0;
}

static int kw_reverse(struct tg_jsonld__st *st, struct obj *o, json_t *value) {
  json_t *x = NULL, *items, *item, *rmap;
  const char *k;
  size_t i;
  int rc;
  if (!json_is_object(value))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid @reverse value", "not a map");
  if ((rc = expand(st, o->actx, "@reverse", value, o->base, 0, &x)) != 0 || !json_is_object(x)) {
    json_decref(x);
    return rc;
  }
  json_object_foreach(json_object_get(x, "@reverse"), k, items) {
    if ((rc = add_value(st, o->result, k, json_incref(items))) != 0)
      break;
  }
  json_object_foreach(x, k, items) {
    if (rc != 0 || streq(k, "@reverse"))
      continue;
    if ((rmap = json_object_get(o->result, "@reverse")) == NULL) {
      rmap = json_object();
      json_object_set_new(o->result, "@reverse", rmap);
    }
    json_array_foreach(items, i, item) {
      if (is_value_obj(item) || is_list_obj(item)) {
        rc = tg_jsonld__fail(st, TG_EINVAL, "invalid reverse property value", "'%s'", k);
        break;
      }
      if ((rc = add_value(st, rmap, k, json_incref(item))) != 0)
        break;
    }
  }
  json_decref(x);
  return rc;
}

/* Step 13.4: KEY expanded to keyword KW. */
static int expand_keyword(struct tg_jsonld__st *st, struct obj *o, const char *key, const char *kw,
                          json_t *value) {
  json_t *ev = NULL;
  int rc = 0;
  if (streq(o->aprop, "@reverse"))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid reverse property map", "keyword %s", kw);
  if (json_object_get(o->result, kw) != NULL && !streq(kw, "@included") &&
      !(streq(kw, "@type") && st->o.mode != TG_JSONLD_1_0))
    return tg_jsonld__fail(st, TG_EINVAL, "colliding keywords", "%s", kw);
  if (streq(kw, "@id"))
    rc = kw_id(st, o, value, &ev);
  else if (streq(kw, "@type")) {
    if ((rc = kw_type(st, o, value, &ev)) == 0)
      rc = merge_type(st, o, &ev);
  } else if (streq(kw, "@graph"))
    rc = expand_array(st, o->actx, "@graph", value, o->base, &ev);
  else if (streq(kw, "@included")) {
    if (st->o.mode == TG_JSONLD_1_0)
      return 0;
    rc = kw_included(st, o, value, &ev);
  } else if (streq(kw, "@value")) {
    if ((rc = kw_value(st, o, value, &ev)) == 0 && json_is_null(ev))
      return json_object_set_new(o->result, "@value", ev) == 0 ? 0 : nomem(st);
  } else if (streq(kw, "@language") || streq(kw, "@index"))
    rc = kw_simple(st, kw, value, &ev);
  else if (streq(kw, "@direction")) {
    if (st->o.mode == TG_JSONLD_1_0)
      return 0;
    rc = kw_simple(st, kw, value, &ev);
  } else if (streq(kw, "@list")) {
    if (o->aprop == NULL || streq(o->aprop, "@graph"))
      return 0;
    rc = expand_array(st, o->actx, o->aprop, value, o->base, &ev);
  } else if (streq(kw, "@set"))
    rc = expand(st, o->actx, o->aprop, value, o->base, 0, &ev);
  else if (streq(kw, "@reverse"))
    return kw_reverse(st, o, value);
  else if (streq(kw, "@nest"))
    return json_array_append_new(o->nests, json_string(key)) == 0 ? 0 : nomem(st);
  if (rc == 0 && ev != NULL && json_object_set(o->result, kw, ev) != 0)
    rc = nomem(st);
  json_decref(ev);
  return rc;
}

/* ---- maps under containers (steps 13.7, 13.8) ------------------------ */

static int language_map(struct tg_jsonld__st *st, struct obj *o, json_t *def, json_t *value,
                        json_t **ev) {
  json_t *dir = json_object_get(def, "direction"), *out = json_array(), *vals, *item, *v;
  size_t n, i;
  const char **keys = sorted_keys(value, &n);
  int rc = 0;
  if (dir == NULL)
    dir = json_object_get(o->actx, "direction");
  if (keys == NULL || out == NULL) {
    free(keys);
    json_decref(out);
    return nomem(st);
  }
  for (size_t k = 0; k < n && rc == 0; k++) {
    json_t *langv = json_object_get(value, keys[k]);
    int none = streq(keys[k], "@none") || expands_to(st, o->actx, keys[k], "@none");
    size_t kmark = tg_jsonld__ptr_key(st, keys[k]);
    vals = as_array(langv);
    json_array_foreach(vals, i, item) {
      size_t imark = json_is_array(langv) ? tg_jsonld__ptr_idx(st, i) : st->ptr.len;
      if (json_is_null(item)) {
        tg_jsonld__ptr_pop(st, imark);
        continue;
      }
      if (!json_is_string(item)) {
        rc = tg_jsonld__fail(st, TG_EINVAL, "invalid language map value", "'%s'", keys[k]);
        break;
      }
      v = json_pack("{s:O}", "@value", item);
      if (!none)
        json_object_set_new(v, "@language", json_string(keys[k]));
      if (json_is_string(dir))
        json_object_set(v, "@direction", dir);
      ptr_mark(st, v);
      json_array_append_new(out, v);
      tg_jsonld__ptr_pop(st, imark);
    }
    tg_jsonld__ptr_pop(st, kmark);
    json_decref(vals);
  }
  free(keys);
  if (rc != 0)
    json_decref(out);
  else
    *ev = out;
  return rc;
}

/* Step 13.8.3.1-2: the context the values of index IDX are expanded in (new). */
static int map_context(struct tg_jsonld__st *st, struct obj *o, json_t *def, const char *idx,
                       json_t **mctx) {
  if (!tg_jsonld__has_container(def, "@type")) {
    *mctx = json_incref(o->actx);
    return 0;
  }
  json_t *prev = json_object_get(o->actx, "previous"), *base = prev ? prev : o->actx;
  json_t *idef = tg_jsonld__term(base, idx);
  json_t *sc = json_object_get(idef, "context");
  if (sc == NULL) {
    *mctx = json_incref(base);
    return 0;
  }
  return tg_jsonld__ctx_process(st, base, sc, tg_jsonld__def_str(idef, "cbase"), NULL, 0, 1, 1,
                                mctx);
}

/* Step 13.8.3.7.2: a property-valued index (@index: PROP). */
static int index_property(struct tg_jsonld__st *st, struct obj *o, const char *ikey,
                          const char *idx, json_t *item) {
  json_t *re = NULL, *idxv = json_string(idx), *vals, *old;
  char *eik = NULL;
  int rc = value_expand(st, o->actx, ikey, idxv, &re);
  json_decref(idxv);
  if (rc == 0)
    rc = tg_jsonld__iri_expand(st, o->actx, ikey, 0, 1, &eik);
  if (rc == 0 && (re == NULL || eik == NULL))
    rc = nomem(st);
  if (rc == 0) {
    vals = json_pack("[o]", re);
    re = NULL;
    if ((old = json_object_get(item, eik)) != NULL)
      json_is_array(old) ? json_array_extend(vals, old) : json_array_append(vals, old);
    json_object_set_new(item, eik, vals);
    if (is_value_obj(item))
      rc = tg_jsonld__fail(st, TG_EINVAL, "invalid value object", "indexed by property");
  }
  json_decref(re);
  free(eik);
  return rc;
}

/* Step 13.8.3.7: one expanded ITEM of index IDX (EIDX its expansion). */
static int index_item(struct tg_jsonld__st *st, struct obj *o, json_t *def, const char *idx,
                      const char *eidx, json_t **itemp) {
  const char *ikey = tg_jsonld__def_str(def, "index");
  json_t *item = *itemp;
  int none = streq(eidx, "@none");
  if (tg_jsonld__has_container(def, "@graph") && !is_graph_obj(item)) {
    *itemp = item = json_pack("{s:[o]}", "@graph", item);
    if (item == NULL)
      return nomem(st);
  }
  if (tg_jsonld__has_container(def, "@index") && ikey != NULL && !streq(ikey, "@index") && !none)
    return index_property(st, o, ikey, idx, item);
  if (tg_jsonld__has_container(def, "@index")) {
    if (json_object_get(item, "@index") == NULL && !none)
      json_object_set_new(item, "@index", json_string(idx));
  } else if (tg_jsonld__has_container(def, "@id")) {
    json_t *id = NULL;
    int rc;
    if (json_object_get(item, "@id") == NULL && !none) {
      if ((rc = iri_json(st, o->actx, idx, 1, 0, &id)) != 0)
        return rc;
      if (id != NULL)
        json_object_set_new(item, "@id", id);
    }
  } else if (tg_jsonld__has_container(def, "@type") && !none) {
    json_t *types = json_pack("[s]", eidx), *old = json_object_get(item, "@type");
    if (old != NULL)
      json_is_array(old) ? json_array_extend(types, old) : json_array_append(types, old);
    json_object_set_new(item, "@type", types);
  }
  return 0;
}

static int index_entry(struct tg_jsonld__st *st, struct obj *o, const char *key, json_t *def,
                       const char *idx, json_t *ivals, json_t *out) {
  json_t *mctx = NULL, *x = NULL, *arr = NULL, *item;
  char *eidx = NULL;
  size_t i;
  size_t mark = tg_jsonld__ptr_key(st, idx);
  int rc = map_context(st, o, def, idx, &mctx);
  if (rc == 0)
    rc = tg_jsonld__iri_expand(st, o->actx, idx, 0, 1, &eidx);
  if (rc == 0 && (arr = as_array(ivals)) == NULL)
    rc = nomem(st);
  st->ptr_noidx = !json_is_array(ivals); /* ARR wraps a single value */
  if (rc == 0)
    rc = expand(st, mctx, key, arr, o->base, 1, &x);
  st->ptr_noidx = 0;
  tg_jsonld__ptr_pop(st, mark);
  json_decref(arr);
  arr = x == NULL ? NULL : as_array(x);
  json_decref(x);
  json_array_foreach(arr, i, item) {
    if (rc != 0)
      break;
    json_incref(item);
    rc = index_item(st, o, def, idx, eidx, &item);
    if (rc == 0)
      json_array_append(out, item);
    json_decref(item);
  }
  json_decref(arr);
  json_decref(mctx);
  free(eidx);
  return rc;
}

static int index_map(struct tg_jsonld__st *st, struct obj *o, const char *key, json_t *def,
                     json_t *value, json_t **ev) {
  size_t n;
  const char **keys = sorted_keys(value, &n);
  json_t *out = json_array();
  int rc = keys == NULL || out == NULL ? nomem(st) : 0;
  for (size_t k = 0; rc == 0 && k < n; k++)
    rc = index_entry(st, o, key, def, keys[k], json_object_get(value, keys[k]), out);
  free(keys);
  if (rc != 0)
    json_decref(out);
  else
    *ev = out;
  return rc;
}

/* ---- properties (steps 13.5-13.14) ------------------------------------ */

static int add_reverse(struct tg_jsonld__st *st, struct obj *o, const char *prop, json_t *ev) {
  json_t *rmap = json_object_get(o->result, "@reverse"), *arr = as_array(ev), *item;
  size_t i;
  int rc = 0;
  if (rmap == NULL) {
    rmap = json_object();
    json_object_set_new(o->result, "@reverse", rmap);
  }
  json_array_foreach(arr, i, item) {
    if (is_value_obj(item) || is_list_obj(item)) {
      rc = tg_jsonld__fail(st, TG_EINVAL, "invalid reverse property value", "'%s'", prop);
      break;
    }
  }
  if (rc == 0)
    rc = add_value(st, rmap, prop, json_incref(arr));
  json_decref(arr);
  return rc;
}

/* Wraps EV (stolen) as the containers of DEF say: lists and graphs. */
static json_t *wrap_containers(json_t *def, json_t *ev) {
  if (tg_jsonld__has_container(def, "@list") && !is_list_obj(ev)) {
    json_t *a = as_array(ev);
    json_decref(ev);
    ev = json_pack("{s:o}", "@list", a);
  }
  if (tg_jsonld__has_container(def, "@graph") && !tg_jsonld__has_container(def, "@id") &&
      !tg_jsonld__has_container(def, "@index")) {
    json_t *a = as_array(ev), *out = json_array(), *item;
    size_t i;
    json_array_foreach(a, i, item) {
      json_array_append_new(out, json_pack("{s:[O]}", "@graph", item));
    }
    json_decref(a);
    json_decref(ev);
    ev = out;
  }
  return ev;
}

static int expand_property(struct tg_jsonld__st *st, struct obj *o, const char *key,
                           const char *prop, json_t *value) {
  json_t *def = tg_jsonld__term(o->actx, key), *ev = NULL;
  int rc;
  if (streq(tg_jsonld__def_str(def, "type"), "@json")) {
    ev = json_pack("{s:O,s:s}", "@value", value, "@type", "@json");
    rc = ev == NULL ? nomem(st) : 0;
  } else if (tg_jsonld__has_container(def, "@language") && json_is_object(value)) {
    rc = language_map(st, o, def, value, &ev);
  } else if ((tg_jsonld__has_container(def, "@index") || tg_jsonld__has_container(def, "@type") ||
              tg_jsonld__has_container(def, "@id")) &&
             json_is_object(value)) {
    rc = index_map(st, o, key, def, value, &ev);
  } else {
    rc = expand(st, o->actx, key, value, o->base, 0, &ev);
  }
  if (rc != 0 || ev == NULL)
    return rc;
  if ((ev = wrap_containers(def, ev)) == NULL)
    return nomem(st);
  /* Wrappers made for the container come from this property's value. */
  if (json_is_array(ev)) {
    size_t i;
    json_t *item;
    json_array_foreach(ev, i, item) {
      ptr_mark(st, item);
    }
  } else {
    ptr_mark(st, ev);
  }
  if (json_is_true(json_object_get(def, "reverse"))) {
    rc = add_reverse(st, o, prop, ev);
    json_decref(ev);
    return rc;
  }
  return add_value(st, o->result, prop, ev);
}

static int expand_entries(struct tg_jsonld__st *st, struct obj *o, json_t *elem);

/* Step 14.2.2: a nested value ITEM under nesting key KEY, in KEY's
 * property-scoped context if it has one. */
static int expand_nested(struct tg_jsonld__st *st, struct obj *o, const char *key, json_t *item) {
  json_t *def = tg_jsonld__term(o->actx, key), *sc = json_object_get(def, "context");
  json_t *saved = o->actx, *c = NULL;
  if (sc == NULL)
    return expand_entries(st, o, item);
  int rc =
      tg_jsonld__ctx_process(st, o->actx, sc, tg_jsonld__def_str(def, "cbase"), NULL, 1, 1, 1, &c);
  if (rc != 0)
    return rc;
  o->actx = c;
  rc = expand_entries(st, o, item);
  o->actx = saved;
  json_decref(c);
  return rc;
}

/* Steps 13 and 14 for ELEM (the node object itself, or a nested value). */
static int expand_entries(struct tg_jsonld__st *st, struct obj *o, json_t *elem) {
  size_t n, first_nest = json_array_size(o->nests);
  const char **keys = sorted_keys(elem, &n);
  int rc = keys == NULL ? nomem(st) : 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char *prop = NULL;
    if (streq(keys[i], "@context"))
      continue;
    if ((rc = tg_jsonld__iri_expand(st, o->actx, keys[i], 0, 1, &prop)) != 0)
      break;
    json_t *value = json_object_get(elem, keys[i]);
    size_t mark = tg_jsonld__ptr_key(st, keys[i]);
    if (prop != NULL && tg_jsonld__is_keyword(prop))
      rc = expand_keyword(st, o, keys[i], prop, value);
    else if (prop != NULL && strchr(prop, ':') != NULL)
      rc = expand_property(st, o, keys[i], prop, value);
    else if (st->o.dropped != NULL &&
             json_array_append_new(st->o.dropped, json_string(st->ptr.data ? st->ptr.data : "")))
      rc = nomem(st);
    tg_jsonld__ptr_pop(st, mark);
    free(prop);
  }
  free(keys);
  /* Step 14: the values of this map's nesting keys (nested maps add theirs
   * after END and handle them themselves). */
  size_t end = json_array_size(o->nests);
  for (size_t i = first_nest; rc == 0 && i < end; i++) {
    const char *nkey = json_string_value(json_array_get(o->nests, i));
    json_t *nraw = json_object_get(elem, nkey), *nv = as_array(nraw);
    size_t j, nmark = tg_jsonld__ptr_key(st, nkey);
    json_t *item;
    json_array_foreach(nv, j, item) {
      const char *k;
      json_t *x;
      if (rc != 0)
        break;
      if (json_is_array(nraw)) {
        tg_jsonld__ptr_pop(st, nmark);
        tg_jsonld__ptr_key(st, nkey);
        tg_jsonld__ptr_idx(st, j);
      }
      if (!json_is_object(item))
        rc = tg_jsonld__fail(st, TG_EINVAL, "invalid @nest value", "not a map");
      json_object_foreach(item, k, x) {
        if (rc == 0 && expands_to(st, o->actx, k, "@value"))
          rc = tg_jsonld__fail(st, TG_EINVAL, "invalid @nest value", "@value inside");
      }
      if (rc == 0 && (rc = tg_jsonld__enter(st)) == 0)
        rc = expand_nested(st, o, json_string_value(json_array_get(o->nests, i)), item);
      tg_jsonld__leave(st);
    }
    tg_jsonld__ptr_pop(st, nmark);
    json_decref(nv);
  }
  return rc;
}

/* ---- node objects (steps 7-12, 15-20) --------------------------------- */

/* Step 7: whether a non-propagated context is reverted for ELEM. */
static int reverts(struct tg_jsonld__st *st, json_t *actx, json_t *elem) {
  const char *k;
  json_t *v;
  int only_id = json_object_size(elem) == 1;
  json_object_foreach(elem, k, v) {
    if (expands_to(st, actx, k, "@value"))
      return 0;
    if (only_id && expands_to(st, actx, k, "@id"))
      return 0;
  }
  return 1;
}

static int replace_ctx(json_t **ctx, json_t *next) {
  json_decref(*ctx);
  *ctx = next;
  return 0;
}

/* Step 11 for VALUE, an entry expanding to @type: the type-scoped contexts
 * of its terms, in lexicographic order, looked up in the type-scoped context. */
static int apply_type_scopes(struct tg_jsonld__st *st, struct obj *o, json_t *value) {
  json_t *vals = as_array(value), *v, *next = NULL;
  const char **types = vals ? malloc((json_array_size(vals) + 1) * sizeof(*types)) : NULL;
  size_t i, m = 0;
  int rc = types == NULL ? nomem(st) : 0;
  json_array_foreach(vals, i, v) {
    if (rc == 0 && json_is_string(v))
      types[m++] = json_string_value(v);
  }
  if (rc == 0)
    qsort(types, m, sizeof(*types), cmp_str);
  for (i = 0; rc == 0 && i < m; i++) {
    json_t *tdef = tg_jsonld__term(o->tsctx, types[i]), *sc = json_object_get(tdef, "context");
    if (sc != NULL &&
        (rc = tg_jsonld__ctx_process(st, o->actx, sc, tg_jsonld__def_str(tdef, "cbase"), NULL, 0, 0,
                                     1, &next)) == 0)
      replace_ctx(&o->actx, next);
  }
  free(types);
  json_decref(vals);
  return rc;
}

/* Step 12: the input type, the expanded last value of VALUE if a string. */
static int set_input_type(struct tg_jsonld__st *st, struct obj *o, json_t *value) {
  json_t *last = json_is_array(value) ? json_array_get(value, json_array_size(value) - 1) : value;
  if (!json_is_string(last))
    return 0;
  return tg_jsonld__iri_expand(st, o->actx, json_string_value(last), 0, 1, &o->input_type);
}

/* Steps 7-12: the contexts of node object ELEM and its input type. */
static int object_contexts(struct tg_jsonld__st *st, struct obj *o, json_t *pctx_def, json_t *elem,
                           int from_map) {
  json_t *prev = json_object_get(o->actx, "previous"), *next = NULL, *c;
  int rc = 0, typed = 0;
  if (prev != NULL && !from_map && reverts(st, o->actx, elem))
    replace_ctx(&o->actx, json_incref(prev));
  if (pctx_def != NULL && (rc = tg_jsonld__ctx_process(
                               st, o->actx, json_object_get(pctx_def, "context"),
                               tg_jsonld__def_str(pctx_def, "cbase"), NULL, 1, 1, 1, &next)) == 0)
    replace_ctx(&o->actx, next);
  if (rc == 0 && (c = json_object_get(elem, "@context")) != NULL) {
    size_t mark = tg_jsonld__ptr_key(st, "@context");
    st->ptr_ctx++;
    if ((rc = tg_jsonld__ctx_process(st, o->actx, c, o->base, NULL, 0, 1, 1, &next)) == 0)
      replace_ctx(&o->actx, next);
    st->ptr_ctx--;
    tg_jsonld__ptr_pop(st, mark);
  }
  if (rc != 0)
    return rc;
  o->tsctx = json_incref(o->actx);
  size_t n;
  const char **keys = sorted_keys(elem, &n);
  if (keys == NULL)
    return nomem(st);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!expands_to(st, o->actx, keys[i], "@type"))
      continue;
    rc = apply_type_scopes(st, o, json_object_get(elem, keys[i]));
    if (rc == 0 && !typed++)
      rc = set_input_type(st, o, json_object_get(elem, keys[i]));
  }
  free(keys);
  return rc;
}

/* Step 15: value objects. */
static int finish_value(struct tg_jsonld__st *st, json_t *r, json_t **out) {
  const char *k;
  json_t *x, *v = json_object_get(r, "@value"), *t = json_object_get(r, "@type");
  json_object_foreach(r, k, x) {
    if (!streq(k, "@direction") && !streq(k, "@index") && !streq(k, "@language") &&
        !streq(k, "@type") && !streq(k, "@value"))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid value object", "entry '%s'", k);
  }
  if (t != NULL && (json_object_get(r, "@language") || json_object_get(r, "@direction")))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid value object", "@type with @language");
  if (streq(json_string_value(t), "@json")) {
    *out = json_incref(r);
    return 0;
  }
  if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0)) {
    *out = NULL;
    return 0;
  }
  if (!json_is_string(v) && json_object_get(r, "@language"))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid language-tagged value", "not a string");
  if (t != NULL && (!json_is_string(t) || !tg_jsonld__iri_absolute(json_string_value(t))))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid typed value", "@type is not an IRI");
  *out = json_incref(r);
  return 0;
}

/* Steps 15-20: the finished map R (borrowed) as *OUT (new, or NULL). */
static int finish_object(struct tg_jsonld__st *st, json_t *r, const char *aprop, json_t **out) {
  json_t *t = json_object_get(r, "@type"), *res = NULL;
  int rc;
  *out = NULL;
  if (json_object_get(r, "@value") != NULL) {
    if ((rc = finish_value(st, r, &res)) != 0 || res == NULL)
      return rc;
  } else if (t != NULL) {
    if (!json_is_array(t))
      json_object_set_new(r, "@type", json_pack("[O]", t));
    res = json_incref(r);
  } else if (json_object_get(r, "@set") != NULL || json_object_get(r, "@list") != NULL) {
    size_t n = json_object_size(r);
    if (n > 2 || (n == 2 && json_object_get(r, "@index") == NULL))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid set or list object", "extra entries");
    res = json_object_get(r, "@set") != NULL ? json_incref(json_object_get(r, "@set"))
                                             : json_incref(r);
  } else {
    res = json_incref(r);
  }
  if (json_is_object(res)) {
    size_t n = json_object_size(res);
    int drop = n == 1 && json_object_get(res, "@language") != NULL;
    if (aprop == NULL || streq(aprop, "@graph"))
      drop = drop || n == 0 || json_object_get(res, "@value") || json_object_get(res, "@list") ||
             (n == 1 && json_object_get(res, "@id"));
    if (drop) {
      json_decref(res);
      return 0;
    }
  }
  *out = res;
  return 0;
}

static int expand_object(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *elem,
                         const char *base, int from_map, json_t **out) {
  json_t *pdef = tg_jsonld__term(actx, aprop);
  struct obj o = {json_incref(actx), NULL, aprop, base, NULL, json_object(), json_array()};
  if (json_object_get(pdef, "context") == NULL)
    pdef = NULL;
  int rc = o.result == NULL || o.nests == NULL ? nomem(st) : 0;
  if (rc == 0)
    rc = object_contexts(st, &o, pdef, elem, from_map);
  if (rc == 0)
    rc = expand_entries(st, &o, elem);
  if (rc == 0)
    rc = finish_object(st, o.result, aprop, out);
  json_decref(o.actx);
  json_decref(o.tsctx);
  json_decref(o.result);
  json_decref(o.nests);
  free(o.input_type);
  return rc;
}

/* ---- the algorithm (5.1.2) --------------------------------------------- */

static int expand_scalar(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *elem,
                         json_t **out) {
  json_t *def = tg_jsonld__term(actx, aprop), *sc = json_object_get(def, "context"), *c = NULL;
  *out = NULL;
  if (aprop == NULL || streq(aprop, "@graph"))
    return 0;
  if (sc == NULL)
    return value_expand(st, actx, aprop, elem, out);
  int rc =
      tg_jsonld__ctx_process(st, actx, sc, tg_jsonld__def_str(def, "cbase"), NULL, 1, 1, 1, &c);
  if (rc == 0)
    rc = value_expand(st, c, aprop, elem, out);
  json_decref(c);
  return rc;
}

static int expand_list(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *elem,
                       const char *base, int from_map, json_t **out) {
  json_t *res = json_array(), *item, *x;
  int list = tg_jsonld__has_container(tg_jsonld__term(actx, aprop), "@list");
  int noidx = st->ptr_noidx;
  size_t i;
  int rc = res == NULL ? nomem(st) : 0;
  st->ptr_noidx = 0;
  json_array_foreach(elem, i, item) {
    if (rc != 0)
      break;
    x = NULL;
    size_t mark = noidx ? st->ptr.len : tg_jsonld__ptr_idx(st, i);
    rc = expand(st, actx, aprop, item, base, from_map, &x);
    tg_jsonld__ptr_pop(st, mark);
    if (rc != 0 || x == NULL)
      continue;
    if (list && json_is_array(x))
      x = json_pack("{s:o}", "@list", x);
    rc = (json_is_array(x) ? json_array_extend(res, x) : json_array_append(res, x)) == 0
             ? 0
             : nomem(st);
    json_decref(x);
  }
  if (rc != 0) {
    json_decref(res);
    return rc;
  }
  *out = res;
  return 0;
}

static int expand(struct tg_jsonld__st *st, json_t *actx, const char *aprop, json_t *elem,
                  const char *base, int from_map, json_t **out) {
  int rc = tg_jsonld__enter(st);
  *out = NULL;
  if (rc == 0 && json_is_array(elem))
    rc = expand_list(st, actx, aprop, elem, base, from_map, out);
  else if (rc == 0 && json_is_object(elem))
    rc = expand_object(st, actx, aprop, elem, base, from_map, out);
  else if (rc == 0 && !json_is_null(elem))
    rc = expand_scalar(st, actx, aprop, elem, out);
  if (rc == 0 && !json_is_array(elem))
    ptr_mark(st, *out);
  tg_jsonld__leave(st);
  return rc;
}

/* ---- public entry --------------------------------------------------- */

/* Counts the JSON values of V into *N, failing past the limits. */
static int count_nodes(struct tg_jsonld__st *st, json_t *v, size_t depth, size_t *n) {
  const char *k;
  json_t *x;
  size_t i;
  if (++*n > st->o.max_nodes)
    return tg_jsonld__fail(st, TG_ETOOBIG, "input too large", "more than %zu values",
                           st->o.max_nodes);
  if (depth > st->o.max_depth)
    return tg_jsonld__fail(st, TG_ETOOBIG, "input too large", "nested deeper than %zu",
                           st->o.max_depth);
  int rc = 0;
  if (json_is_object(v)) {
    json_object_foreach(v, k, x) {
      if (rc == 0)
        rc = count_nodes(st, x, depth + 1, n);
    }
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, x) {
      if (rc == 0)
        rc = count_nodes(st, x, depth + 1, n);
    }
  }
  return rc;
}

static void fill_opts(struct tg_jsonld__st *st, const struct tg_jsonld_opts *opts) {
  if (opts != NULL)
    st->o = *opts;
  if (st->o.loader == NULL)
    st->o.loader = tg_jsonld_known_load;
  if (st->o.max_depth == 0)
    st->o.max_depth = 256;
  if (st->o.max_remote == 0)
    st->o.max_remote = 32;
  if (st->o.max_nodes == 0)
    st->o.max_nodes = 1000000;
  if (st->o.max_work == 0)
    st->o.max_work = 1000000;
}

/* The initial active context: the base IRI and the expandContext option. */
static int initial_context(struct tg_jsonld__st *st, json_t **actx) {
  json_t *ec = st->o.expand_context, *next = NULL;
  *actx = tg_jsonld__ctx_new(st->o.base);
  if (*actx == NULL)
    return nomem(st);
  if (ec == NULL)
    return 0;
  if (json_is_object(ec) && json_object_get(ec, "@context") != NULL)
    ec = json_object_get(ec, "@context");
  int rc = tg_jsonld__ctx_process(st, *actx, ec, st->o.base, NULL, 0, 1, 1, &next);
  if (rc == 0)
    replace_ctx(actx, next);
  return rc;
}

int tg_jsonld_expand(json_t *input, const struct tg_jsonld_opts *opts, json_t **out,
                     struct tg_err *err) {
  struct tg_jsonld__st st;
  json_t *actx = NULL, *res = NULL;
  size_t n = 0;
  memset(&st, 0, sizeof(st));
  fill_opts(&st, opts);
  st.err = err;
  st.cache = json_object();
  st.track = st.o.ptr_key != NULL || st.o.dropped != NULL || st.o.err_ptr != NULL;
  tg_buf_init(&st.ptr);
  if (st.o.err_ptr != NULL && st.o.err_ptr_size > 0)
    st.o.err_ptr[0] = '\0';
  st.marks = st.o.ptr_key != NULL ? json_array() : NULL;
  int rc = st.cache == NULL || (st.o.ptr_key != NULL && st.marks == NULL)
               ? nomem(&st)
               : count_nodes(&st, input, 0, &n);
  if (rc == 0)
    rc = initial_context(&st, &actx);
  if (rc == 0)
    rc = expand(&st, actx, NULL, input, st.o.base, 0, &res);
  if (rc == 0 && json_is_object(res) && json_object_size(res) == 1 &&
      json_object_get(res, "@graph") != NULL)
    replace_ctx(&res, json_incref(json_object_get(res, "@graph")));
  if (rc == 0 && res == NULL && (res = json_array()) == NULL)
    rc = nomem(&st);
  if (rc == 0 && !json_is_array(res))
    res = json_pack("[o]", res);
  if (rc == 0 && st.marks != NULL)
    ptr_apply(&st);
  if (rc == 0 && st.ptr_nomem)
    rc = nomem(&st);
  json_decref(actx);
  json_decref(st.cache);
  json_decref(st.marks);
  tg_buf_close(&st.ptr);
  if (rc != 0) {
    json_decref(res);
    return rc;
  }
  *out = res;
  return res == NULL ? TG_ENOMEM : 0;
}
