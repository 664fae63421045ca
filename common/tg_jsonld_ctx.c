/* tg_jsonld_ctx: JSON-LD 1.1 context processing, term definitions and IRI
 * expansion (JSON-LD 1.1 API sections 4.1, 4.2 and 5.2). */
#include "tg_jsonld_int.h"
#include "tg_err.h"

#include <stdlib.h>
#include <string.h>

/* What create-term-definition needs besides the term: the context being
 * processed. DEFINED maps terms to true (done) or false (in progress). */
struct defs {
  json_t *actx;     /* the active context being built (borrowed, mutated) */
  json_t *lctx;     /* the local context (borrowed) */
  json_t *defined;  /* borrowed */
  const char *base; /* base URL of LCTX, may be NULL */
  int protect;      /* the local context's @protected */
  int override;     /* override protected */
  json_t *remote;   /* remote context URLs (borrowed) */
};

static int iri_expand_in(struct tg_jsonld__st *st, json_t *actx, const char *value, int docrel,
                         int vocab, struct defs *d, char **out);
static int create_term(struct tg_jsonld__st *st, struct defs *d, const char *term);

static int nomem(struct tg_jsonld__st *st) {
  return tg_jsonld__fail(st, TG_ENOMEM, "out of memory", "allocation failed");
}

json_t *tg_jsonld__ctx_new(const char *base) {
  json_t *c = json_object();
  if (c == NULL || json_object_set_new(c, "terms", json_object()) != 0 ||
      (base != NULL && (json_object_set_new(c, "base", json_string(base)) != 0 ||
                        json_object_set_new(c, "obase", json_string(base)) != 0))) {
    json_decref(c);
    return NULL;
  }
  return c;
}

const char *tg_jsonld__ctx_str(json_t *ctx, const char *name) {
  return json_string_value(json_object_get(ctx, name));
}

json_t *tg_jsonld__term(json_t *ctx, const char *term) {
  if (term == NULL)
    return NULL;
  return json_object_get(json_object_get(ctx, "terms"), term);
}

int tg_jsonld__has_container(json_t *def, const char *c) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(def, "container"), i, v) {
    if (strcmp(json_string_value(v), c) == 0)
      return 1;
  }
  return 0;
}

const char *tg_jsonld__def_str(json_t *def, const char *name) {
  return json_string_value(json_object_get(def, name));
}

/* A copy of CTX that shares its term definitions; NULL on ENOMEM. */
static json_t *ctx_copy(json_t *ctx) {
  json_t *c = json_copy(ctx);
  if (c == NULL || json_object_set_new(c, "terms", json_copy(json_object_get(ctx, "terms"))) != 0) {
    json_decref(c);
    return NULL;
  }
  return c;
}

/* 1 if CTX has a protected term definition. */
static int has_protected(json_t *ctx) {
  const char *k;
  json_t *def;
  json_object_foreach(json_object_get(ctx, "terms"), k, def) {
    if (json_is_true(json_object_get(def, "protected")))
      return 1;
  }
  return 0;
}

/* Heap concatenation of A and B; NULL on ENOMEM. */
static char *concat(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 1);
  if (s != NULL) {
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
  }
  return s;
}

static int dup_out(struct tg_jsonld__st *st, const char *s, char **out) {
  *out = strdup(s);
  return *out == NULL ? nomem(st) : 0;
}

/* IRI expansion, steps 6.x: VALUE contains a colon after its first char. */
static int expand_colon(struct tg_jsonld__st *st, json_t *actx, const char *value, struct defs *d,
                        char **out, int *done) {
  const char *colon = strchr(value + 1, ':');
  size_t plen = (size_t)(colon - value);
  *done = 1;
  if ((plen == 1 && value[0] == '_') || strncmp(colon + 1, "//", 2) == 0)
    return dup_out(st, value, out);
  char *prefix = strndup(value, plen);
  if (prefix == NULL)
    return nomem(st);
  if (d != NULL && json_object_get(d->lctx, prefix) != NULL &&
      !json_is_true(json_object_get(d->defined, prefix))) {
    int rc = create_term(st, d, prefix);
    if (rc != 0) {
      free(prefix);
      return rc;
    }
  }
  json_t *pdef = tg_jsonld__term(actx, prefix);
  free(prefix);
  const char *pid = tg_jsonld__def_str(pdef, "id");
  if (pid != NULL && json_is_true(json_object_get(pdef, "prefix"))) {
    *out = concat(pid, colon + 1);
    return *out == NULL ? nomem(st) : 0;
  }
  if (tg_jsonld__iri_absolute(value))
    return dup_out(st, value, out);
  *done = 0;
  return 0;
}

static int iri_expand_in(struct tg_jsonld__st *st, json_t *actx, const char *value, int docrel,
                         int vocab, struct defs *d, char **out) {
  *out = NULL;
  if (tg_jsonld__is_keyword(value))
    return dup_out(st, value, out);
  if (tg_jsonld__keyword_form(value))
    return 0;
  if (d != NULL && json_object_get(d->lctx, value) != NULL &&
      !json_is_true(json_object_get(d->defined, value))) {
    int rc = create_term(st, d, value);
    if (rc != 0)
      return rc;
  }
  json_t *def = tg_jsonld__term(actx, value);
  const char *id = tg_jsonld__def_str(def, "id");
  if (id != NULL && tg_jsonld__is_keyword(id))
    return dup_out(st, id, out);
  if (vocab && def != NULL)
    return id == NULL ? 0 : dup_out(st, id, out);
  if (value[0] != '\0' && strchr(value + 1, ':') != NULL) {
    int done, rc = expand_colon(st, actx, value, d, out, &done);
    if (rc != 0 || done)
      return rc;
  }
  const char *v = tg_jsonld__ctx_str(actx, "vocab");
  if (vocab && v != NULL) {
    *out = concat(v, value);
    return *out == NULL ? nomem(st) : 0;
  }
  if (docrel) {
    *out = tg_jsonld__iri_resolve(tg_jsonld__ctx_str(actx, "base"), value);
    return *out == NULL ? nomem(st) : 0;
  }
  return dup_out(st, value, out);
}

int tg_jsonld__iri_expand(struct tg_jsonld__st *st, json_t *actx, const char *value, int docrel,
                          int vocab, char **out) {
  return iri_expand_in(st, actx, value, docrel, vocab, NULL, out);
}

/* ---- term definitions (4.2.2) ---------------------------------------- */

static const char *const def_keys[] = {"@id",        "@reverse",   "@container", "@context",
                                       "@direction", "@index",     "@language",  "@nest",
                                       "@prefix",    "@protected", "@type"};

/* Step 26, done first: every entry of VALUE is one a term definition may have. */
static int check_def_keys(struct tg_jsonld__st *st, const char *term, json_t *value) {
  const char *k;
  json_t *v;
  json_object_foreach(value, k, v) {
    size_t i = 0;
    while (i < sizeof(def_keys) / sizeof(def_keys[0]) && strcmp(k, def_keys[i]) != 0)
      i++;
    if (i == sizeof(def_keys) / sizeof(def_keys[0]))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s': entry '%s'",
                             term, k);
  }
  return 0;
}

/* Step 4: the only definition @type may have in 1.1: {"@container": "@set"}
 * and/or "@protected". */
static int check_type_term(struct tg_jsonld__st *st, json_t *value) {
  const char *k;
  json_t *v;
  if (st->o.mode == TG_JSONLD_1_0 || !json_is_object(value) || json_object_size(value) == 0)
    return tg_jsonld__fail(st, TG_EINVAL, "keyword redefinition", "@type");
  json_object_foreach(value, k, v) {
    if (strcmp(k, "@container") == 0 && json_is_string(v) &&
        strcmp(json_string_value(v), "@set") == 0)
      continue;
    if (strcmp(k, "@protected") == 0)
      continue;
    return tg_jsonld__fail(st, TG_EINVAL, "keyword redefinition", "@type");
  }
  return 0;
}

/* Step 12: the type mapping. */
static int def_type(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                    json_t *def) {
  json_t *t = json_object_get(value, "@type");
  char *ty;
  if (t == NULL)
    return 0;
  if (!json_is_string(t))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid type mapping", "term '%s'", term);
  int rc = iri_expand_in(st, d->actx, json_string_value(t), 0, 1, d, &ty);
  if (rc != 0)
    return rc;
  int ok =
      ty != NULL &&
      (strcmp(ty, "@id") == 0 || strcmp(ty, "@vocab") == 0 || tg_jsonld__iri_absolute(ty) ||
       (st->o.mode != TG_JSONLD_1_0 && (strcmp(ty, "@json") == 0 || strcmp(ty, "@none") == 0)));
  if (ok)
    rc = json_object_set_new(def, "type", json_string(ty)) == 0 ? 0 : nomem(st);
  else
    rc = tg_jsonld__fail(st, TG_EINVAL, "invalid type mapping", "term '%s': '%s'", term,
                         ty ? ty : json_string_value(t));
  free(ty);
  return rc;
}

/* Step 13: a reverse property's IRI mapping and container. */
static int def_reverse(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                       json_t *def, int *ignore) {
  json_t *r = json_object_get(value, "@reverse"), *c = json_object_get(value, "@container");
  char *id;
  if (json_object_get(value, "@id") != NULL || json_object_get(value, "@nest") != NULL)
    return tg_jsonld__fail(st, TG_EINVAL, "invalid reverse property", "term '%s'", term);
  if (!json_is_string(r))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping", "term '%s': @reverse", term);
  if (tg_jsonld__keyword_form(json_string_value(r))) {
    *ignore = 1;
    return 0;
  }
  int rc = iri_expand_in(st, d->actx, json_string_value(r), 0, 1, d, &id);
  if (rc != 0)
    return rc;
  if (id == NULL || strchr(id, ':') == NULL) {
    free(id);
    return tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping", "term '%s': @reverse", term);
  }
  json_object_set_new(def, "id", json_string(id));
  free(id);
  json_object_set_new(def, "reverse", json_true());
  if (c != NULL && !json_is_null(c)) {
    const char *cs = json_string_value(c);
    if (cs == NULL || (strcmp(cs, "@set") != 0 && strcmp(cs, "@index") != 0))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid reverse property", "term '%s': container",
                             term);
    json_object_set_new(def, "container", json_pack("[s]", cs));
  }
  return 0;
}

/* 1 if TERM contains a colon other than as its first or last character, or a slash. */
static int iri_like_term(const char *term) {
  size_t n = strlen(term);
  const char *c = n > 1 ? memchr(term + 1, ':', n - 2) : NULL;
  return c != NULL || strchr(term, '/') != NULL;
}

/* Step 14: an explicit @id other than the term itself. */
static int def_explicit_id(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *idv,
                           int simple, json_t *def, int *ignore) {
  char *id, *again;
  if (json_is_null(idv))
    return json_object_set_new(def, "id", json_null()) == 0 ? 0 : nomem(st);
  if (!json_is_string(idv))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping", "term '%s': @id", term);
  const char *s = json_string_value(idv);
  if (!tg_jsonld__is_keyword(s) && tg_jsonld__keyword_form(s)) {
    *ignore = 1;
    return 0;
  }
  int rc = iri_expand_in(st, d->actx, s, 0, 1, d, &id);
  if (rc != 0)
    return rc;
  if (id == NULL ||
      (!tg_jsonld__is_keyword(id) && !tg_jsonld__iri_absolute(id) && strncmp(id, "_:", 2) != 0)) {
    free(id);
    return tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping", "term '%s': '%s'", term, s);
  }
  if (strcmp(id, "@context") == 0) {
    free(id);
    return tg_jsonld__fail(st, TG_EINVAL, "invalid keyword alias", "term '%s'", term);
  }
  if (iri_like_term(term)) {
    json_object_set_new(d->defined, term, json_true());
    rc = iri_expand_in(st, d->actx, term, 0, 1, d, &again);
    if (rc == 0 && (again == NULL || strcmp(again, id) != 0))
      rc = tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping",
                           "term '%s' is an IRI other than '%s'", term, id);
    free(again);
  } else if (simple && strchr(term, ':') == NULL &&
             (tg_jsonld__iri_gendelim_end(id) || strncmp(id, "_:", 2) == 0)) {
    json_object_set_new(def, "prefix", json_true());
  }
  if (rc == 0 && json_object_set_new(def, "id", json_string(id)) != 0)
    rc = nomem(st);
  free(id);
  return rc;
}

/* Steps 15-18: the IRI mapping of a term without an explicit @id. */
static int def_implicit_id(struct tg_jsonld__st *st, struct defs *d, const char *term,
                           json_t *def) {
  const char *colon = term[0] != '\0' ? strchr(term + 1, ':') : NULL;
  char *id = NULL;
  int rc = 0;
  if (colon != NULL) {
    char *prefix = strndup(term, (size_t)(colon - term));
    if (prefix == NULL)
      return nomem(st);
    if (json_object_get(d->lctx, prefix) != NULL &&
        !json_is_true(json_object_get(d->defined, prefix)) && (rc = create_term(st, d, prefix))) {
      free(prefix);
      return rc;
    }
    json_t *pdef = tg_jsonld__term(d->actx, prefix);
    free(prefix);
    if (tg_jsonld__def_str(pdef, "id") != NULL)
      id = concat(tg_jsonld__def_str(pdef, "id"), colon + 1);
    else
      id = strdup(term);
    if (id == NULL)
      return nomem(st);
  } else if (strchr(term, '/') != NULL) {
    if ((rc = iri_expand_in(st, d->actx, term, 0, 1, NULL, &id)) != 0)
      return rc;
    if (id == NULL || !tg_jsonld__iri_absolute(id)) {
      free(id);
      return tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping", "term '%s'", term);
    }
  } else if (strcmp(term, "@type") == 0) {
    id = strdup("@type");
  } else if (tg_jsonld__ctx_str(d->actx, "vocab") != NULL) {
    id = concat(tg_jsonld__ctx_str(d->actx, "vocab"), term);
  } else {
    return tg_jsonld__fail(st, TG_EINVAL, "invalid IRI mapping", "term '%s' has no IRI", term);
  }
  if (id == NULL)
    return nomem(st);
  rc = json_object_set_new(def, "id", json_string(id)) == 0 ? 0 : nomem(st);
  free(id);
  return rc;
}

/* 1 if C is a container keyword. */
static int container_word(const char *c) {
  static const char *const words[] = {"@graph", "@id",  "@index", "@language",
                                      "@list",  "@set", "@type"};
  for (size_t i = 0; c != NULL && i < sizeof(words) / sizeof(words[0]); i++)
    if (strcmp(c, words[i]) == 0)
      return 1;
  return 0;
}

/* Step 19.1: a valid @container value, normalised to an array (new). */
static json_t *container_array(struct tg_jsonld__st *st, json_t *c) {
  json_t *a = json_is_array(c) ? json_incref(c) : json_pack("[O]", c);
  size_t i, others = 0, graph = 0, list = 0, idix = 0;
  json_t *v;
  if (a == NULL || (json_is_array(c) && st->o.mode == TG_JSONLD_1_0))
    goto bad;
  json_array_foreach(a, i, v) {
    const char *s = json_string_value(v);
    if (!container_word(s))
      goto bad;
    for (size_t j = 0; j < i; j++)
      if (strcmp(s, json_string_value(json_array_get(a, j))) == 0)
        goto bad;
    if (st->o.mode == TG_JSONLD_1_0 &&
        (strcmp(s, "@graph") == 0 || strcmp(s, "@id") == 0 || strcmp(s, "@type") == 0))
      goto bad;
    others += strcmp(s, "@set") != 0;
    graph += strcmp(s, "@graph") == 0;
    list += strcmp(s, "@list") == 0;
    idix += strcmp(s, "@id") == 0 || strcmp(s, "@index") == 0;
  }
  if ((list && json_array_size(a) > 1) || others > 2 || (others == 2 && !(graph && idix)))
    goto bad;
  return a;
bad:
  json_decref(a);
  return NULL;
}

static int def_index(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                     json_t *def);

/* Steps 19-20: container and index mappings. */
static int def_container(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                         json_t *def) {
  json_t *c = json_object_get(value, "@container");
  if (c != NULL) {
    json_t *a = container_array(st, c);
    if (a == NULL)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid container mapping", "term '%s'", term);
    json_object_set_new(def, "container", a);
    if (tg_jsonld__has_container(def, "@type")) {
      const char *t = tg_jsonld__def_str(def, "type");
      if (t == NULL)
        json_object_set_new(def, "type", json_string("@id"));
      else if (strcmp(t, "@id") != 0 && strcmp(t, "@vocab") != 0)
        return tg_jsonld__fail(st, TG_EINVAL, "invalid type mapping", "term '%s'", term);
    }
  }
  return def_index(st, d, term, value, def);
}

/* Step 20: the index mapping (@index: a property). */
static int def_index(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                     json_t *def) {
  json_t *ix = json_object_get(value, "@index");
  if (ix != NULL) {
    char *e = NULL;
    if (st->o.mode == TG_JSONLD_1_0 || !tg_jsonld__has_container(def, "@index") ||
        !json_is_string(ix) || tg_jsonld__is_keyword(json_string_value(ix)))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s': @index", term);
    int rc = iri_expand_in(st, d->actx, json_string_value(ix), 0, 1, d, &e);
    int ok = rc == 0 && e != NULL && tg_jsonld__iri_absolute(e);
    free(e);
    if (rc != 0)
      return rc;
    if (!ok)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s': @index", term);
    json_object_set(def, "index", ix);
  }
  return 0;
}

/* Step 21: a scoped context, processed once to find its errors. */
static int def_context(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                       json_t *def) {
  json_t *c = json_object_get(value, "@context"), *tmp = NULL;
  if (c == NULL)
    return 0;
  if (st->o.mode == TG_JSONLD_1_0)
    return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s': @context", term);
  int rc = tg_jsonld__ctx_process(st, d->actx, c, d->base, d->remote, 1, 1, 0, &tmp);
  json_decref(tmp);
  if (rc == TG_EINVAL) {
    char why[200];
    snprintf(why, sizeof(why), "%.199s", st->err ? st->err->msg : "");
    return tg_jsonld__fail(st, TG_EINVAL, "invalid scoped context", "term '%.100s': %s", term, why);
  }
  if (rc != 0)
    return rc;
  json_object_set(def, "context", c);
  if (d->base != NULL)
    json_object_set_new(def, "cbase", json_string(d->base));
  return 0;
}

/* Steps 22-25: language, direction, nest and prefix. */
static int def_more(struct tg_jsonld__st *st, const char *term, json_t *value, json_t *def) {
  json_t *v;
  int typed = json_object_get(value, "@type") != NULL;
  if ((v = json_object_get(value, "@language")) != NULL && !typed) {
    if (!json_is_null(v) && !json_is_string(v))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid language mapping", "term '%s'", term);
    json_object_set(def, "language", v);
  }
  if ((v = json_object_get(value, "@direction")) != NULL && !typed) {
    const char *s = json_string_value(v);
    if (!json_is_null(v) && (s == NULL || (strcmp(s, "ltr") != 0 && strcmp(s, "rtl") != 0)))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid base direction", "term '%s'", term);
    json_object_set(def, "direction", v);
  }
  if ((v = json_object_get(value, "@nest")) != NULL) {
    const char *s = json_string_value(v);
    if (st->o.mode == TG_JSONLD_1_0)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s': @nest", term);
    if (s == NULL || (tg_jsonld__is_keyword(s) && strcmp(s, "@nest") != 0))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid @nest value", "term '%s'", term);
    json_object_set(def, "nest", v);
  }
  if ((v = json_object_get(value, "@prefix")) != NULL) {
    if (st->o.mode == TG_JSONLD_1_0 || iri_like_term(term) || strchr(term, ':') != NULL)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s': @prefix", term);
    if (!json_is_boolean(v))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid @prefix value", "term '%s'", term);
    if (json_is_true(v) && tg_jsonld__is_keyword(tg_jsonld__def_str(def, "id")))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition",
                             "term '%s': a keyword alias cannot be a prefix", term);
    json_object_set(def, "prefix", v);
  }
  return 0;
}

/* Step 27: a protected term may only be redefined the same way. */
static int same_definition(json_t *a, json_t *b) {
  json_t *x = json_copy(a), *y = json_copy(b);
  json_object_del(x, "protected");
  json_object_del(y, "protected");
  json_object_del(x, "cbase");
  json_object_del(y, "cbase");
  int eq = json_equal(x, y);
  json_decref(x);
  json_decref(y);
  return eq;
}

/* Steps 7-9: VALUE as a map (new reference); *SIMPLE for a string. */
static int def_value(struct tg_jsonld__st *st, const char *term, json_t *raw, json_t **value,
                     int *simple) {
  *simple = 0;
  if (json_is_null(raw))
    *value = json_pack("{s:n}", "@id");
  else if (json_is_string(raw)) {
    *value = json_pack("{s:O}", "@id", raw);
    *simple = 1;
  } else if (json_is_object(raw))
    *value = json_incref(raw);
  else
    return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "term '%s'", term);
  return *value == NULL ? nomem(st) : 0;
}

/* Steps 11-25 for TERM: fills DEF; *IGNORE when the term is to be ignored. */
static int def_build(struct tg_jsonld__st *st, struct defs *d, const char *term, json_t *value,
                     int simple, json_t *def, int *ignore) {
  json_t *p = json_object_get(value, "@protected"), *idv = json_object_get(value, "@id");
  int rc;
  if (p != NULL && !json_is_boolean(p))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid @protected value", "term '%s'", term);
  if ((p != NULL ? json_is_true(p) : d->protect))
    json_object_set_new(def, "protected", json_true());
  if ((rc = check_def_keys(st, term, value)) != 0 || (rc = def_type(st, d, term, value, def)) != 0)
    return rc;
  if (json_object_get(value, "@reverse") != NULL) {
    rc = def_reverse(st, d, term, value, def, ignore);
    return rc != 0 || *ignore ? rc : def_index(st, d, term, value, def);
  }
  if (idv != NULL && !(json_is_string(idv) && strcmp(json_string_value(idv), term) == 0))
    rc = def_explicit_id(st, d, term, idv, simple, def, ignore);
  else
    rc = def_implicit_id(st, d, term, def);
  if (rc != 0 || *ignore)
    return rc;
  if ((rc = def_container(st, d, term, value, def)) != 0 ||
      (rc = def_context(st, d, term, value, def)) != 0)
    return rc;
  return def_more(st, term, value, def);
}

/* Create Term Definition (4.2.2) for TERM of D->lctx into D->actx. */
static int create_term_in(struct tg_jsonld__st *st, struct defs *d, const char *term) {
  json_t *dv = json_object_get(d->defined, term), *value = NULL, *def, *prev;
  int simple, ignore = 0, rc;
  if (dv != NULL)
    return json_is_true(dv)
               ? 0
               : tg_jsonld__fail(st, TG_EINVAL, "cyclic IRI mapping", "term '%s'", term);
  if (term[0] == '\0')
    return tg_jsonld__fail(st, TG_EINVAL, "invalid term definition", "the empty term");
  if (++st->work > st->o.max_work)
    return tg_jsonld__fail(st, TG_ETOOBIG, "context overflow", "too many term definitions");
  json_object_set_new(d->defined, term, json_false());
  json_t *raw = json_object_get(d->lctx, term);
  if (strcmp(term, "@type") == 0) {
    if ((rc = check_type_term(st, raw)) != 0)
      return rc;
  } else if (tg_jsonld__is_keyword(term)) {
    return tg_jsonld__fail(st, TG_EINVAL, "keyword redefinition", "%s", term);
  } else if (tg_jsonld__keyword_form(term)) {
    json_object_set_new(d->defined, term, json_true());
    return 0;
  }
  prev = json_incref(tg_jsonld__term(d->actx, term));
  json_object_del(json_object_get(d->actx, "terms"), term);
  if ((rc = def_value(st, term, raw, &value, &simple)) != 0) {
    json_decref(prev);
    return rc;
  }
  def = json_object();
  rc = def == NULL ? nomem(st) : def_build(st, d, term, value, simple, def, &ignore);
  if (rc == 0 && !ignore && !d->override && json_is_true(json_object_get(prev, "protected"))) {
    if (!same_definition(def, prev))
      rc = tg_jsonld__fail(st, TG_EINVAL, "protected term redefinition", "term '%s'", term);
    json_decref(def);
    def = json_incref(prev);
  }
  if (rc == 0 && !ignore)
    rc = json_object_set(json_object_get(d->actx, "terms"), term, def) == 0 ? 0 : nomem(st);
  if (rc == 0)
    json_object_set_new(d->defined, term, json_true());
  json_decref(def);
  json_decref(value);
  json_decref(prev);
  return rc;
}

static int create_term(struct tg_jsonld__st *st, struct defs *d, const char *term) {
  int rc = tg_jsonld__enter(st);
  if (rc == 0)
    rc = create_term_in(st, d, term);
  tg_jsonld__leave(st);
  return rc;
}

/* ---- context processing (4.1.2) ----------------------------------------- */

int tg_jsonld__load(struct tg_jsonld__st *st, const char *url, json_t **doc) {
  struct tg_err lerr = {0, ""};
  json_t *d = json_object_get(st->cache, url);
  if (d != NULL) {
    *doc = d;
    return 0;
  }
  int rc = st->o.loader(st->o.loader_user, url, &d, &lerr);
  if (rc != 0 || d == NULL)
    return tg_jsonld__fail(st, TG_ENOENT, "loading remote context failed", "%s: %s", url,
                           lerr.msg[0] ? lerr.msg : tg_strerror(rc ? rc : TG_ENOENT));
  if (json_object_set_new(st->cache, url, d) != 0)
    return nomem(st);
  *doc = d;
  return 0;
}

/* Step 5.2: a context given by URL. */
static int process_remote(struct tg_jsonld__st *st, json_t **result, const char *ref,
                          const char *base_url, json_t *remote, int validate) {
  char *url = tg_jsonld__iri_resolve(base_url, ref);
  json_t *doc, *next = NULL;
  int rc = 0;
  if (url == NULL)
    return nomem(st);
  if (!validate && json_array_size(remote) > 0) {
    size_t i;
    json_t *v;
    json_array_foreach(remote, i, v) {
      if (strcmp(json_string_value(v), url) == 0) {
        free(url);
        return 0;
      }
    }
  }
  if (json_array_size(remote) >= st->o.max_remote)
    rc = tg_jsonld__fail(st, TG_ETOOBIG, "context overflow", "more than %zu remote contexts at %s",
                         st->o.max_remote, url);
  else if (json_array_append_new(remote, json_string(url)) != 0)
    rc = nomem(st);
  else if ((rc = tg_jsonld__load(st, url, &doc)) == 0 &&
           (!json_is_object(doc) || json_object_get(doc, "@context") == NULL))
    rc = tg_jsonld__fail(st, TG_EINVAL, "invalid remote context", "%s has no @context", url);
  if (rc == 0)
    rc = tg_jsonld__ctx_process(st, *result, json_object_get(doc, "@context"), url, remote, 0, 1,
                                validate, &next);
  if (rc == 0) {
    json_decref(*result);
    *result = next;
  }
  free(url);
  return rc;
}

/* Step 5.6: @import; *MERGED is a new context definition. */
static int process_import(struct tg_jsonld__st *st, json_t *ctx, const char *base_url,
                          json_t **merged) {
  json_t *imp = json_object_get(ctx, "@import"), *doc, *ic = NULL;
  *merged = NULL;
  if (st->o.mode == TG_JSONLD_1_0)
    return tg_jsonld__fail(st, TG_EINVAL, "invalid context entry", "@import in JSON-LD 1.0");
  if (!json_is_string(imp))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid @import value", "not a string");
  char *url = tg_jsonld__iri_resolve(base_url, json_string_value(imp));
  if (url == NULL)
    return nomem(st);
  int rc = tg_jsonld__load(st, url, &doc);
  if (rc == 0 && (!json_is_object(doc) || !json_is_object(ic = json_object_get(doc, "@context"))))
    rc = tg_jsonld__fail(st, TG_EINVAL, "invalid remote context", "%s", url);
  else if (rc == 0 && json_object_get(ic, "@import") != NULL)
    rc = tg_jsonld__fail(st, TG_EINVAL, "invalid context entry", "%s imports again", url);
  free(url);
  if (rc != 0)
    return rc;
  *merged = json_copy(ic);
  if (*merged == NULL || json_object_update(*merged, ctx) != 0)
    return nomem(st);
  json_object_del(*merged, "@import");
  return 0;
}

/* Step 5.7: @base. */
static int process_base(struct tg_jsonld__st *st, json_t *result, json_t *v) {
  const char *cur = tg_jsonld__ctx_str(result, "base");
  if (json_is_null(v)) {
    json_object_del(result, "base");
    return 0;
  }
  if (!json_is_string(v))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid base IRI", "not a string");
  const char *s = json_string_value(v);
  if (tg_jsonld__iri_absolute(s))
    return json_object_set(result, "base", v) == 0 ? 0 : nomem(st);
  if (cur == NULL || strchr(s, ' ') != NULL)
    return tg_jsonld__fail(st, TG_EINVAL, "invalid base IRI", "'%s' without a base", s);
  char *r = tg_jsonld__iri_resolve(cur, s);
  int rc = r != NULL && json_object_set_new(result, "base", json_string(r)) == 0 ? 0 : nomem(st);
  free(r);
  return rc;
}

/* Step 5.8: @vocab. */
static int process_vocab(struct tg_jsonld__st *st, json_t *result, json_t *v) {
  char *e = NULL;
  if (json_is_null(v)) {
    json_object_del(result, "vocab");
    return 0;
  }
  if (!json_is_string(v))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid vocab mapping", "not a string");
  int rc = iri_expand_in(st, result, json_string_value(v), 1, 1, NULL, &e);
  if (rc == 0 && (e == NULL || (!tg_jsonld__iri_absolute(e) && strncmp(e, "_:", 2) != 0)))
    rc = tg_jsonld__fail(st, TG_EINVAL, "invalid vocab mapping", "'%s'", json_string_value(v));
  if (rc == 0)
    rc = json_object_set_new(result, "vocab", json_string(e)) == 0 ? 0 : nomem(st);
  free(e);
  return rc;
}

/* Steps 5.9-5.11: @language, @direction, @propagate. */
static int process_lang_dir(struct tg_jsonld__st *st, json_t *result, json_t *ctx) {
  json_t *v;
  if ((v = json_object_get(ctx, "@language")) != NULL) {
    if (json_is_null(v))
      json_object_del(result, "language");
    else if (json_is_string(v))
      json_object_set(result, "language", v);
    else
      return tg_jsonld__fail(st, TG_EINVAL, "invalid default language", "not a string");
  }
  if ((v = json_object_get(ctx, "@direction")) != NULL) {
    const char *s = json_string_value(v);
    if (st->o.mode == TG_JSONLD_1_0)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid context entry", "@direction in JSON-LD 1.0");
    if (json_is_null(v))
      json_object_del(result, "direction");
    else if (s != NULL && (strcmp(s, "ltr") == 0 || strcmp(s, "rtl") == 0))
      json_object_set(result, "direction", v);
    else
      return tg_jsonld__fail(st, TG_EINVAL, "invalid base direction", "'%s'", s ? s : "");
  }
  if ((v = json_object_get(ctx, "@propagate")) != NULL) {
    if (st->o.mode == TG_JSONLD_1_0)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid context entry", "@propagate in JSON-LD 1.0");
    if (!json_is_boolean(v))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid @propagate value", "not a boolean");
  }
  return 0;
}

static int special_key(const char *k) {
  static const char *const keys[] = {"@base",      "@direction", "@import",  "@language",
                                     "@propagate", "@protected", "@version", "@vocab"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (strcmp(k, keys[i]) == 0)
      return 1;
  return 0;
}

/* Step 5.13: every term of context definition CTX. */
static int process_terms(struct tg_jsonld__st *st, json_t *result, json_t *ctx,
                         const char *base_url, json_t *remote, int override) {
  json_t *p = json_object_get(ctx, "@protected");
  struct defs d = {result, ctx, json_object(), base_url, json_is_true(p), override, remote};
  const char *k;
  json_t *v;
  int rc = 0;
  if (p != NULL && !json_is_boolean(p))
    rc = tg_jsonld__fail(st, TG_EINVAL, "invalid @protected value", "not a boolean");
  if (d.defined == NULL)
    rc = nomem(st);
  json_object_foreach(ctx, k, v) {
    if (rc != 0)
      break;
    if (!special_key(k)) {
      size_t mark = st->ptr_ctx == 1 ? tg_jsonld__ptr_key(st, k) : st->ptr.len;
      /* Scoped contexts inside the term are not the document's own items. */
      st->ptr_ctx += st->ptr_ctx > 0;
      rc = create_term(st, &d, k);
      st->ptr_ctx -= st->ptr_ctx > 1;
      tg_jsonld__ptr_pop(st, mark);
    }
  }
  json_decref(d.defined);
  return rc;
}

/* Steps 5.5-5.13: one context definition CTX. */
static int process_definition(struct tg_jsonld__st *st, json_t *result, json_t *ctx,
                              const char *base_url, json_t *remote, int override) {
  json_t *v, *merged = NULL;
  int rc = 0;
  if ((v = json_object_get(ctx, "@version")) != NULL) {
    if (!json_is_number(v) || json_number_value(v) != 1.1)
      return tg_jsonld__fail(st, TG_EINVAL, "invalid @version value", "not 1.1");
    if (st->o.mode == TG_JSONLD_1_0)
      return tg_jsonld__fail(st, TG_EINVAL, "processing mode conflict", "@version 1.1");
  }
  if (json_object_get(ctx, "@import") != NULL) {
    if ((rc = process_import(st, ctx, base_url, &merged)) != 0) {
      json_decref(merged);
      return rc;
    }
    ctx = merged;
  }
  size_t mark = st->ptr.len;
  if ((v = json_object_get(ctx, "@base")) != NULL && json_array_size(remote) == 0) {
    if (st->ptr_ctx == 1)
      tg_jsonld__ptr_key(st, "@base");
    rc = process_base(st, result, v);
    tg_jsonld__ptr_pop(st, mark);
  }
  if (rc == 0 && (v = json_object_get(ctx, "@vocab")) != NULL) {
    if (st->ptr_ctx == 1)
      tg_jsonld__ptr_key(st, "@vocab");
    rc = process_vocab(st, result, v);
    tg_jsonld__ptr_pop(st, mark);
  }
  if (rc == 0)
    rc = process_lang_dir(st, result, ctx);
  if (rc == 0)
    rc = process_terms(st, result, ctx, base_url, remote, override);
  json_decref(merged);
  return rc;
}

/* Items of one context array, and previous contexts in one chain: each
 * null of a context that does not propagate adds a link (1.1 step 5.1.2),
 * and a chain of hundreds of thousands, built from a 256 KiB document
 * (nulls repeated, a type-scoped context applied for each of many @types),
 * overflowed the stack when it was freed. */
#define CTX_MAX_ITEMS 256
#define CTX_MAX_PREVIOUS 1024

/* Links CTX's previous context to PREV, keeping the chain's length in
 * "pdepth" (checked in O(1): walking the chain at each null was quadratic
 * in a document's nodes). 0, TG_ETOOBIG past CTX_MAX_PREVIOUS, TG_ENOMEM. */
static int link_previous(json_t *ctx, json_t *prev) {
  json_int_t depth = json_integer_value(json_object_get(prev, "pdepth")) + 1;
  if (depth > CTX_MAX_PREVIOUS)
    return TG_ETOOBIG;
  if (json_object_set(ctx, "previous", prev) != 0 ||
      json_object_set_new(ctx, "pdepth", json_integer(depth)) != 0)
    return TG_ENOMEM;
  return 0;
}

static int link_fail(struct tg_jsonld__st *st, int rc) {
  return rc == TG_ETOOBIG ? tg_jsonld__fail(st, TG_ETOOBIG, "invalid context nullification",
                                            "more than %d contexts to return to",
                                            CTX_MAX_PREVIOUS)
                          : nomem(st);
}

/* Steps 5.1-5.13 for one ITEM of the local context. */
static int process_item(struct tg_jsonld__st *st, json_t *actx, json_t **result, json_t *item,
                        const char *base_url, json_t *remote, int override, int propagate,
                        int validate) {
  if (json_is_null(item)) {
    if (!override && has_protected(*result))
      return tg_jsonld__fail(st, TG_EINVAL, "invalid context nullification",
                             "the context has protected terms");
    if (++st->work > st->o.max_work) /* a null copies nothing, but it is a step */
      return tg_jsonld__fail(st, TG_ETOOBIG, "context overflow",
                             "too much context processing for one document");
    json_t *fresh = tg_jsonld__ctx_new(tg_jsonld__ctx_str(actx, "obase"));
    if (fresh == NULL)
      return nomem(st);
    int rc = propagate ? 0 : link_previous(fresh, *result);
    if (rc != 0) {
      json_decref(fresh);
      return link_fail(st, rc);
    }
    json_decref(*result);
    *result = fresh;
    return 0;
  }
  if (json_is_string(item)) {
    /* A remote context's own items are not the document's. */
    int saved = st->ptr_ctx, rc;
    st->ptr_ctx = 0;
    rc = process_remote(st, result, json_string_value(item), base_url, remote, validate);
    st->ptr_ctx = saved;
    return rc;
  }
  if (!json_is_object(item))
    return tg_jsonld__fail(st, TG_EINVAL, "invalid local context", "not a map, string or null");
  /* Terms are added in place: *RESULT is this call's own copy. */
  return process_definition(st, *result, item, base_url, remote, override);
}

static int ctx_process_in(struct tg_jsonld__st *st, json_t *actx, json_t *local,
                          const char *base_url, json_t *remote_in, int override, int propagate,
                          int validate, json_t **out) {
  if (json_is_array(local) && json_array_size(local) > CTX_MAX_ITEMS)
    return tg_jsonld__fail(st, TG_ETOOBIG, "invalid local context",
                           "more than %d items in one context array", CTX_MAX_ITEMS);
  if (propagate && json_is_object(local) && json_object_size(local) == 0) {
    /* {} changes nothing: no copy of every term (scoped contexts may be
     * applied for every value of a property). */
    *out = json_incref(actx);
    return 0;
  }
  /* Every copy costs as many steps as the context has terms: a scoped
   * context applied to each of many values must not copy a large context
   * without end. */
  st->work += json_object_size(json_object_get(actx, "terms"));
  if (st->work > st->o.max_work)
    return tg_jsonld__fail(st, TG_ETOOBIG, "context overflow",
                           "too much context processing for one document");
  json_t *result = ctx_copy(actx), *remote = json_copy(remote_in), *p;
  int rc = 0;
  if (result == NULL || remote == NULL)
    rc = nomem(st);
  if (rc == 0 && json_is_object(local) && (p = json_object_get(local, "@propagate")) != NULL) {
    if (!json_is_boolean(p))
      rc = tg_jsonld__fail(st, TG_EINVAL, "invalid @propagate value", "not a boolean");
    propagate = json_is_true(p);
  }
  if (rc == 0 && !propagate && json_object_get(result, "previous") == NULL &&
      (rc = link_previous(result, actx)) != 0)
    rc = link_fail(st, rc);
  if (rc == 0 && json_is_array(local)) {
    size_t i;
    json_t *item;
    json_array_foreach(local, i, item) {
      size_t mark = st->ptr_ctx == 1 ? tg_jsonld__ptr_idx(st, i) : st->ptr.len;
      rc = process_item(st, actx, &result, item, base_url, remote, override, propagate, validate);
      tg_jsonld__ptr_pop(st, mark);
      if (rc != 0)
        break;
    }
  } else if (rc == 0) {
    rc = process_item(st, actx, &result, local, base_url, remote, override, propagate, validate);
  }
  json_decref(remote);
  if (rc != 0) {
    json_decref(result);
    return rc;
  }
  *out = result;
  return 0;
}

int tg_jsonld__ctx_process(struct tg_jsonld__st *st, json_t *actx, json_t *local,
                           const char *base_url, json_t *remote, int override_protected,
                           int propagate, int validate, json_t **out) {
  json_t *empty = NULL;
  int rc = tg_jsonld__enter(st);
  if (remote == NULL)
    remote = empty = json_array();
  if (rc == 0)
    rc = ctx_process_in(st, actx, local, base_url, remote, override_protected, propagate, validate,
                        out);
  json_decref(empty);
  tg_jsonld__leave(st);
  return rc;
}
