/* cat_jsonld: a small, honest subset of JSON-LD 1.1 expansion for catalog
 * input: inline @context objects (prefixes, terms with @id/@type/@language),
 * the DCAT-AP 3.0.1 context by its URL (type-scoped terms), and @id, @type,
 * @value, @language. Anything else is reported as unsupported, never guessed. */
#include "cat_dcatap.h"
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* URLs of the DCAT-AP 3.0.1 context that the node knows without fetching. */
static const char *const dcatap_urls[] = {
    "https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld",
    "http://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld",
    "https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.json",
};

/* The canonical prefixes, also the output @context. */
static const struct {
  const char *prefix, *ns;
} canon[] = {
    {"dct", NS_DCT},     {"dcat", NS_DCAT}, {"foaf", NS_FOAF}, {"vcard", NS_VCARD},
    {"odrl", NS_ODRL},   {"skos", NS_SKOS}, {"xsd", NS_XSD},   {"locn", NS_LOCN},
    {"gsp", NS_GSP},     {"rdf", NS_RDF},   {"tsunagu", NS_TG},
};
#define NCANON (sizeof(canon) / sizeof(canon[0]))

/* Prefix names that must be declared before use: an undeclared "dct:title"
 * would otherwise read as an absolute IRI with scheme "dct". */
static const char *const well_known[] = {"dct", "dcterms", "dc", "dcat", "foaf", "vcard", "odrl",
                                         "skos", "xsd", "locn", "tsunagu", "rdf", "rdfs", "owl",
                                         "prov", "adms", "schema", "gsp", "spdx", "time", "dspace"};

json_t *tg_cat_context(void) {
  json_t *c = json_object();
  for (size_t i = 0; c != NULL && i < NCANON; i++)
    json_object_set_new(c, canon[i].prefix, json_string(canon[i].ns));
  return c;
}

char *tg__cat_compact_iri(const char *iri) {
  size_t best = NCANON, blen = 0;
  for (size_t i = 0; i < NCANON; i++) {
    size_t n = strlen(canon[i].ns);
    if (strncmp(iri, canon[i].ns, n) == 0 && iri[n] != '\0' && n > blen &&
        strncmp(iri + n, "//", 2) != 0) {
      best = i;
      blen = n;
    }
  }
  if (best == NCANON)
    return strdup(iri);
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_buf_printf(&b, "%s:%s", canon[best].prefix, iri + blen)) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

char *tg__cat_expand_iri(const char *s) {
  const char *colon = strchr(s, ':');
  if (colon != NULL && strncmp(colon + 1, "//", 2) != 0) {
    for (size_t i = 0; i < NCANON; i++) {
      size_t n = strlen(canon[i].prefix);
      if ((size_t)(colon - s) == n && strncmp(s, canon[i].prefix, n) == 0) {
        struct tg_buf b;
        tg_buf_init(&b);
        if (tg_buf_printf(&b, "%s%s", canon[i].ns, colon + 1)) {
          tg_buf_close(&b);
          return NULL;
        }
        return tg_buf_take(&b);
      }
    }
  }
  return strdup(s);
}

/* ---- problems and pointers ---- */

void tg__cat_problem(json_t *problems, const char *ptr, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (problems != NULL)
    json_array_append_new(problems, json_pack("{s:s, s:s}", "pointer", ptr, "detail", msg));
}

char *tg__cat_ptr_key(const char *ptr, const char *key) {
  struct tg_buf b;
  tg_buf_init(&b);
  int rc = tg_buf_puts(&b, ptr);
  rc |= tg_buf_puts(&b, "/");
  for (const char *p = key; rc == 0 && *p; p++) {
    if (*p == '~')
      rc = tg_buf_puts(&b, "~0");
    else if (*p == '/')
      rc = tg_buf_puts(&b, "~1");
    else
      rc = tg_buf_append(&b, p, 1);
  }
  if (rc) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

char *tg__cat_ptr_idx(const char *ptr, size_t i) {
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_buf_printf(&b, "%s/%zu", ptr, i)) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

/* ---- active contexts ---- */

struct term {
  char *name;
  char *raw;  /* the IRI as written */
  char *iri;  /* expanded; NULL while unresolved or when explicitly undefined */
  char *type; /* NULL, "@id" or a datatype IRI (expanded) */
  char *rawtype;
  char *lang;
  int has_lang, undefined;
};

/* One level of the active context; levels chain to their parent. */
struct ctx {
  const struct ctx *parent;
  struct ctx *owned_next; /* levels a node created, freed together */
  int reset;              /* "@context": null; lookups stop here */
  int dcatap;             /* the DCAT-AP context is in effect from here */
  const struct tg__cat_dclass *scoped; /* type-scoped terms (non-propagating) */
  struct term *terms;
  size_t n;
  char *lang;
  int has_lang;
};

struct exp {
  json_t *problems;
  int unsup;
  int depth;
};

/* What a key or value resolved to. */
struct tdef {
  const char *iri;
  const char *type;
  const char *lang;
  int has_lang;
};

static void ctx_free_level(struct ctx *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->terms[i].name);
    free(c->terms[i].raw);
    free(c->terms[i].iri);
    free(c->terms[i].type);
    free(c->terms[i].rawtype);
    free(c->terms[i].lang);
  }
  free(c->terms);
  free(c->lang);
  free(c);
}

static void ctx_free_owned(struct ctx *c) {
  while (c != NULL) {
    struct ctx *next = c->owned_next;
    ctx_free_level(c);
    c = next;
  }
}

/* Finds term NAME; returns 1 and fills *D when defined, -1 when explicitly
 * undefined (null), 0 when unknown. SKIP_UNRESOLVED ignores local terms not
 * yet resolved (used while a context resolves its own prefixes). */
static int ctx_lookup(const struct ctx *c, const char *name, struct tdef *d, int skip_unresolved) {
  for (; c != NULL; c = c->parent) {
    if (c->scoped != NULL) {
      for (size_t i = 0; i < c->scoped->nterms; i++) {
        if (strcmp(c->scoped->terms[i].name, name) == 0) {
          d->iri = c->scoped->terms[i].iri;
          d->type = c->scoped->terms[i].type;
          d->lang = NULL;
          d->has_lang = 0;
          return 1;
        }
      }
    }
    for (size_t i = c->n; i-- > 0;) {
      const struct term *t = &c->terms[i];
      if (strcmp(t->name, name) != 0)
        continue;
      if (t->undefined)
        return -1;
      if (t->iri == NULL && skip_unresolved)
        break;
      if (t->iri == NULL)
        return 0;
      d->iri = t->iri;
      d->type = t->type;
      d->lang = t->lang;
      d->has_lang = t->has_lang;
      return 1;
    }
    if (c->dcatap) {
      for (size_t i = 0; i < tg__cat_dcatap_nclasses; i++) {
        if (strcmp(tg__cat_dcatap_classes[i].name, name) == 0) {
          d->iri = tg__cat_dcatap_classes[i].iri;
          d->type = NULL;
          d->lang = NULL;
          d->has_lang = 0;
          return 1;
        }
      }
    }
    if (c->reset)
      break;
  }
  return 0;
}

static int ctx_dcatap(const struct ctx *c) {
  for (; c != NULL; c = c->parent) {
    if (c->dcatap)
      return 1;
    if (c->reset)
      break;
  }
  return 0;
}

static const char *ctx_lang(const struct ctx *c) {
  for (; c != NULL; c = c->parent) {
    if (c->has_lang)
      return c->lang;
    if (c->reset)
      break;
  }
  return NULL;
}

static int is_well_known(const char *p, size_t n) {
  for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
    if (strlen(well_known[i]) == n && strncmp(well_known[i], p, n) == 0)
      return 1;
  return 0;
}

static char *concat(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 1);
  if (s != NULL) {
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
  }
  return s;
}

/* Expands S as an IRI. VOCAB: terms apply (keys, @type). Returns a heap
 * string or NULL with *WHY set. *DEF (may be NULL) gets the term definition. */
static char *expand_iri(const struct ctx *c, const char *s, int vocab, struct tdef *def,
                        int skip_unresolved, char *why, size_t whyn) {
  struct tdef d;
  memset(&d, 0, sizeof(d));
  if (def != NULL)
    memset(def, 0, sizeof(*def));
  if (s[0] == '@') {
    snprintf(why, whyn, "keyword %.60s is not supported here", s);
    return NULL;
  }
  if (vocab) {
    int r = ctx_lookup(c, s, &d, skip_unresolved);
    if (r < 0) {
      snprintf(why, whyn, "term '%.60s' is undefined (null) in the @context", s);
      return NULL;
    }
    if (r > 0) {
      if (def != NULL)
        *def = d;
      return strdup(d.iri);
    }
  }
  const char *colon = strchr(s, ':');
  if (colon == NULL) {
    if (vocab)
      snprintf(why, whyn, "term '%.60s' is not defined by the @context", s);
    else
      snprintf(why, whyn, "relative IRI '%.60s' is not supported (give an absolute IRI)", s);
    return NULL;
  }
  size_t plen = (size_t)(colon - s);
  if (plen == 1 && s[0] == '_')
    return strdup(s); /* blank node identifier */
  if (strncmp(colon + 1, "//", 2) != 0) {
    char prefix[64];
    if (plen < sizeof(prefix)) {
      memcpy(prefix, s, plen);
      prefix[plen] = '\0';
      int r = ctx_lookup(c, prefix, &d, skip_unresolved);
      if (r > 0) {
        char *full = concat(d.iri, colon + 1);
        if (full != NULL && !tg__cat_iri_ok(full)) {
          snprintf(why, whyn, "'%.80s' does not expand to a well-formed IRI", s);
          free(full);
          return NULL;
        }
        return full;
      }
    }
    if (is_well_known(s, plen)) {
      snprintf(why, whyn, "prefix '%.*s:' is not declared in the @context", (int)plen, s);
      return NULL;
    }
  }
  if (!tg__cat_iri_ok(s)) {
    if (strstr(s, "://") != NULL || (plen >= 4 && strncasecmp(s, "http", 4) == 0))
      snprintf(why, whyn, "'%.80s' is not a well-formed IRI", s);
    else
      snprintf(why, whyn, "'%.80s' is neither a defined term, a declared prefix nor an absolute IRI",
               s);
    return NULL;
  }
  return strdup(s);
}

static int is_dcatap_url(const char *s) {
  for (size_t i = 0; i < sizeof(dcatap_urls) / sizeof(dcatap_urls[0]); i++)
    if (strcmp(s, dcatap_urls[i]) == 0)
      return 1;
  return 0;
}

static void unsupported(struct exp *x, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void unsupported(struct exp *x, const char *ptr, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  x->unsup = 1;
  tg__cat_problem(x->problems, ptr, "%s", msg);
}

/* Reads one term definition VALUE of term NAME into T. */
static int read_term(struct exp *x, struct term *t, const char *name, const json_t *value,
                     const char *ptr) {
  t->name = strdup(name);
  if (t->name == NULL)
    return TG_ENOMEM;
  if (json_is_null(value)) {
    t->undefined = 1;
    return 0;
  }
  if (json_is_string(value)) {
    t->raw = strdup(json_string_value(value));
    return t->raw ? 0 : TG_ENOMEM;
  }
  if (!json_is_object(value)) {
    tg__cat_problem(x->problems, ptr, "term definition of '%s' must be a string or an object",
                    name);
    return TG_EINVAL;
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)value, k, v) {
    char *kp = tg__cat_ptr_key(ptr, k);
    const char *kps = kp ? kp : ptr;
    if (strcmp(k, "@id") == 0 && json_is_string(v)) {
      t->raw = strdup(json_string_value(v));
    } else if (strcmp(k, "@type") == 0 && json_is_string(v)) {
      const char *ty = json_string_value(v);
      if (strcmp(ty, "@json") == 0 || strcmp(ty, "@none") == 0)
        unsupported(x, kps, "type coercion %s is not supported", ty);
      else
        t->rawtype = strdup(ty);
    } else if (strcmp(k, "@container") == 0) {
      const json_t *one = json_is_array(v) && json_array_size(v) == 1 ? json_array_get(v, 0) : v;
      if (!json_is_string(one) || strcmp(json_string_value(one), "@set") != 0)
        unsupported(x, kps, "%s other than @set is not supported", "@container");
    } else if (strcmp(k, "@language") == 0 && (json_is_string(v) || json_is_null(v))) {
      t->has_lang = 1;
      t->lang = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    } else if (strcmp(k, "@protected") == 0 || strcmp(k, "@prefix") == 0) {
      /* no effect on how this subset reads documents */
    } else {
      unsupported(x, kps, "term definition member %s is not supported", k);
    }
    free(kp);
  }
  if (t->raw == NULL) {
    unsupported(x, ptr, "term '%s' has no @id (and @vocab is not supported)", name);
    return TG_EUNSUP;
  }
  return 0;
}

/* Resolves the IRIs of the terms of level C (they may use each other's
 * prefixes), reporting those that cannot be resolved. */
static void resolve_terms(struct exp *x, struct ctx *c, const char *ptr) {
  char why[200];
  for (int pass = 0; pass < 4; pass++) {
    int progress = 0;
    for (size_t i = 0; i < c->n; i++) {
      struct term *t = &c->terms[i];
      if (t->undefined || t->iri != NULL || t->raw == NULL)
        continue;
      /* A term's own name must not be used to expand itself. */
      int self = strcmp(t->raw, t->name) == 0;
      t->iri = self ? NULL : expand_iri(c, t->raw, 1, NULL, 1, why, sizeof(why));
      if (t->iri == NULL && strchr(t->raw, ':') != NULL && strncmp(strchr(t->raw, ':') + 1, "//", 2) == 0 && tg__cat_iri_ok(t->raw))
        t->iri = strdup(t->raw);
      if (t->iri != NULL)
        progress = 1;
    }
    if (!progress)
      break;
  }
  for (size_t i = 0; i < c->n; i++) {
    struct term *t = &c->terms[i];
    if (t->undefined || t->raw == NULL)
      continue;
    if (t->iri == NULL) {
      expand_iri(c, t->raw, 1, NULL, 1, why, sizeof(why));
      char *kp = tg__cat_ptr_key(ptr, t->name);
      tg__cat_problem(x->problems, kp ? kp : ptr, "@context term '%s': %s", t->name, why);
      free(kp);
      t->undefined = 1;
      continue;
    }
    if (t->rawtype != NULL) {
      if (strcmp(t->rawtype, "@id") == 0 || strcmp(t->rawtype, "@vocab") == 0) {
        t->type = strdup("@id");
      } else {
        t->type = expand_iri(c, t->rawtype, 1, NULL, 0, why, sizeof(why));
        if (t->type == NULL) {
          char *kp = tg__cat_ptr_key(ptr, t->name);
          tg__cat_problem(x->problems, kp ? kp : ptr, "@context term '%s' @type: %s", t->name,
                          why);
          free(kp);
        }
      }
    }
  }
}

/* Processes one @context item (object, string or null) on top of PARENT. */
static struct ctx *ctx_item(struct exp *x, const struct ctx *parent, const json_t *item,
                            const char *ptr) {
  struct ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->parent = parent;
  if (json_is_null(item)) {
    c->reset = 1;
    return c;
  }
  if (json_is_string(item)) {
    if (is_dcatap_url(json_string_value(item)))
      c->dcatap = 1;
    else
      unsupported(x, ptr,
                  "remote context %.200s is not known to this node (it fetches no contexts); "
                  "declare prefixes in an inline @context or use the DCAT-AP 3.0.1 context URL",
                  json_string_value(item));
    return c;
  }
  if (!json_is_object(item)) {
    unsupported(x, ptr, "%s must be an object, a string or an array of them", "@context");
    return c;
  }
  c->terms = calloc(json_object_size(item) + 1, sizeof(*c->terms));
  if (c->terms == NULL) {
    free(c);
    return NULL;
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)item, k, v) {
    char *kp = tg__cat_ptr_key(ptr, k);
    const char *kps = kp ? kp : ptr;
    if (strcmp(k, "@version") == 0) {
      if (!json_is_number(v) || json_number_value(v) != 1.1)
        unsupported(x, kps, "%s must be 1.1", "@version");
    } else if (strcmp(k, "@language") == 0) {
      if (json_is_string(v) && tg__cat_lang_ok(json_string_value(v))) {
        c->lang = strdup(json_string_value(v));
        c->has_lang = 1;
      } else if (json_is_null(v)) {
        c->has_lang = 1;
      } else {
        tg__cat_problem(x->problems, kps, "@language must be a language tag such as \"ja\"");
      }
    } else if (strcmp(k, "@protected") == 0) {
      /* accepted; nothing redefines terms here */
    } else if (k[0] == '@') {
      unsupported(x, kps, "@context keyword %s is not supported", k);
    } else if (k[0] == '\0') {
      tg__cat_problem(x->problems, kps, "empty term name");
    } else {
      struct term *t = &c->terms[c->n];
      int rc = read_term(x, t, k, v, kps);
      c->n++;
      if (rc)
        t->undefined = 1, free(t->raw), t->raw = NULL;
    }
    free(kp);
  }
  resolve_terms(x, c, ptr);
  return c;
}

/* Processes a node's @context value; returns the new top of the chain, with
 * the created levels linked through owned_next from *OWNED. */
static const struct ctx *ctx_process(struct exp *x, const struct ctx *parent, const json_t *value,
                                     const char *ptr, struct ctx **owned) {
  const struct ctx *top = parent;
  size_t n = json_is_array(value) ? json_array_size(value) : 1;
  if (n > 16) {
    unsupported(x, ptr, "%s has too many entries", "@context");
    return top;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_is_array(value) ? json_array_get(value, i) : value;
    char *ip = json_is_array(value) ? tg__cat_ptr_idx(ptr, i) : NULL;
    if (json_is_array(item))
      unsupported(x, ip ? ip : ptr, "nested arrays in %s are not supported", "@context");
    struct ctx *c = json_is_array(item) ? NULL : ctx_item(x, top, item, ip ? ip : ptr);
    free(ip);
    if (c != NULL) {
      c->owned_next = *owned;
      *owned = c;
      top = c;
    }
  }
  return top;
}

/* ---- expansion ---- */

static json_t *expand_node(struct exp *x, const json_t *in, const char *ptr, const struct ctx *c);

static json_t *item_new(const char *ptr) {
  json_t *o = json_object();
  if (o != NULL)
    json_object_set_new(o, "@ptr", json_string(ptr));
  return o;
}

static json_t *expand_value_object(struct exp *x, const json_t *in, const char *ptr,
                                   const struct ctx *c) {
  const json_t *val = json_object_get(in, "@value");
  if (!(json_is_string(val) || json_is_number(val) || json_is_boolean(val))) {
    tg__cat_problem(x->problems, ptr, "@value must be a string, number or boolean");
    return NULL;
  }
  json_t *o = item_new(ptr);
  if (o == NULL)
    return NULL;
  json_object_set(o, "@value", (json_t *)val);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)in, k, v) {
    char *kp = tg__cat_ptr_key(ptr, k);
    const char *kps = kp ? kp : ptr;
    char why[200];
    if (strcmp(k, "@value") == 0) {
    } else if (strcmp(k, "@type") == 0 && json_is_string(v)) {
      char *t = expand_iri(c, json_string_value(v), 1, NULL, 0, why, sizeof(why));
      if (t == NULL)
        tg__cat_problem(x->problems, kps, "%s", why);
      else
        json_object_set_new(o, "@type", json_string(t));
      free(t);
    } else if (strcmp(k, "@language") == 0 && json_is_string(v)) {
      json_object_set(o, "@language", v);
    } else if (strcmp(k, "@type") == 0 || strcmp(k, "@language") == 0) {
      tg__cat_problem(x->problems, kps, "%s must be a string", k);
    } else {
      unsupported(x, kps, "value object member %s is not supported", k);
    }
    free(kp);
  }
  if (json_object_get(o, "@type") && json_object_get(o, "@language"))
    tg__cat_problem(x->problems, ptr, "a value cannot have both @type and @language");
  return o;
}

static json_t *expand_item(struct exp *x, const json_t *in, const char *ptr, const struct ctx *c,
                           const struct tdef *td) {
  char why[200];
  if (json_is_string(in)) {
    const char *s = json_string_value(in);
    json_t *o = item_new(ptr);
    if (o == NULL)
      return NULL;
    if (td->type != NULL && strcmp(td->type, "@id") == 0) {
      char *iri = expand_iri(c, s, 0, NULL, 0, why, sizeof(why));
      if (iri == NULL) {
        tg__cat_problem(x->problems, ptr, "%s", why);
        json_object_set_new(o, "@badid", json_true());
        return o;
      }
      json_object_set_new(o, "@id", json_string(iri));
      free(iri);
      return o;
    }
    json_object_set(o, "@value", (json_t *)in);
    const char *lang = td->has_lang ? td->lang : ctx_lang(c);
    if (td->type != NULL)
      json_object_set_new(o, "@type", json_string(td->type));
    else if (lang != NULL)
      json_object_set_new(o, "@language", json_string(lang));
    return o;
  }
  if (json_is_number(in) || json_is_boolean(in)) {
    json_t *o = item_new(ptr);
    if (o != NULL)
      json_object_set(o, "@value", (json_t *)in);
    return o;
  }
  if (json_is_object(in)) {
    if (json_object_get(in, "@value") != NULL)
      return expand_value_object(x, in, ptr, c);
    if (json_object_get(in, "@list") != NULL) {
      unsupported(x, ptr, "%s (ordered lists) is not supported", "@list");
      return NULL;
    }
    return expand_node(x, in, ptr, c);
  }
  return NULL; /* null: dropped, as JSON-LD does */
}

/* Appends the expanded items of property value V to ARR. */
static void expand_values(struct exp *x, const json_t *v, const char *ptr, const struct ctx *c,
                          const struct tdef *td, json_t *arr) {
  if (json_is_object(v) && json_object_get(v, "@set") != NULL) {
    char *sp = tg__cat_ptr_key(ptr, "@set");
    expand_values(x, json_object_get(v, "@set"), sp ? sp : ptr, c, td, arr);
    free(sp);
    return;
  }
  if (!json_is_array(v)) {
    json_array_append_new(arr, expand_item(x, v, ptr, c, td));
    return;
  }
  for (size_t i = 0; i < json_array_size(v); i++) {
    char *ip = tg__cat_ptr_idx(ptr, i);
    const json_t *it = json_array_get(v, i);
    if (json_is_array(it))
      unsupported(x, ip ? ip : ptr, "%s", "arrays of arrays (lists) are not supported");
    else
      json_array_append_new(arr, expand_item(x, it, ip ? ip : ptr, c, td));
    free(ip);
  }
}

/* Expands @type of node IN into a new array; finds a DCAT-AP scoped class. */
static json_t *expand_types(struct exp *x, const json_t *tv, const char *ptr, const struct ctx *c,
                            const struct tg__cat_dclass **scoped) {
  json_t *arr = json_array();
  size_t n = json_is_array(tv) ? json_array_size(tv) : 1;
  int dcatap = ctx_dcatap(c);
  for (size_t i = 0; arr != NULL && i < n; i++) {
    const json_t *t = json_is_array(tv) ? json_array_get(tv, i) : tv;
    char *ip = json_is_array(tv) ? tg__cat_ptr_idx(ptr, i) : NULL;
    char why[200];
    if (!json_is_string(t)) {
      tg__cat_problem(x->problems, ip ? ip : ptr, "@type must be a string or array of strings");
    } else {
      char *iri = expand_iri(c, json_string_value(t), 1, NULL, 0, why, sizeof(why));
      if (iri == NULL) {
        tg__cat_problem(x->problems, ip ? ip : ptr, "%s", why);
      } else {
        for (size_t k = 0; dcatap && *scoped == NULL && k < tg__cat_dcatap_nclasses; k++)
          if (tg__cat_dcatap_classes[k].terms != NULL &&
              strcmp(tg__cat_dcatap_classes[k].iri, iri) == 0 &&
              strcmp(tg__cat_dcatap_classes[k].name, json_string_value(t)) == 0)
            *scoped = &tg__cat_dcatap_classes[k];
        json_array_append_new(arr, json_string(iri));
        free(iri);
      }
    }
    free(ip);
  }
  return arr;
}

static void expand_property(struct exp *x, json_t *out, const char *k, const json_t *v,
                            const char *kp, const struct ctx *keyctx, const struct ctx *valctx) {
  char why[200];
  struct tdef td;
  char *iri = expand_iri(keyctx, k, 1, &td, 0, why, sizeof(why));
  if (iri == NULL) {
    tg__cat_problem(x->problems, kp, "%s", why);
    return;
  }
  if (strncmp(iri, "_:", 2) == 0) {
    tg__cat_problem(x->problems, kp, "a blank node cannot be a property");
    free(iri);
    return;
  }
  json_t *arr = json_object_get(out, iri);
  if (arr == NULL) {
    arr = json_array();
    json_object_set_new(out, iri, arr);
  }
  if (arr != NULL)
    expand_values(x, v, kp, valctx, &td, arr);
  free(iri);
}

static json_t *expand_node(struct exp *x, const json_t *in, const char *ptr, const struct ctx *c) {
  struct ctx *owned = NULL;
  if (++x->depth > TG_CAT_MAX_DEPTH) {
    tg__cat_problem(x->problems, ptr, "nested deeper than %d levels", TG_CAT_MAX_DEPTH);
    x->depth--;
    return NULL;
  }
  const json_t *cv = json_object_get(in, "@context");
  if (cv != NULL) {
    char *cp = tg__cat_ptr_key(ptr, "@context");
    c = ctx_process(x, c, cv, cp ? cp : ptr, &owned);
    free(cp);
  }
  json_t *out = item_new(ptr);
  const struct tg__cat_dclass *scoped = NULL;
  const json_t *tv = json_object_get(in, "@type");
  if (out != NULL && tv != NULL) {
    char *tp = tg__cat_ptr_key(ptr, "@type");
    json_object_set_new(out, "@type", expand_types(x, tv, tp ? tp : ptr, c, &scoped));
    free(tp);
  }
  struct ctx *keyctx = NULL;
  if (scoped != NULL && (keyctx = calloc(1, sizeof(*keyctx))) != NULL) {
    keyctx->parent = c;
    keyctx->scoped = scoped;
    keyctx->owned_next = owned;
    owned = keyctx;
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)in, k, v) {
    if (out == NULL)
      break;
    char *kp = tg__cat_ptr_key(ptr, k);
    const char *kps = kp ? kp : ptr;
    char why[200];
    if (strcmp(k, "@context") == 0 || strcmp(k, "@type") == 0) {
    } else if (strcmp(k, "@id") == 0) {
      char *iri = json_is_string(v) ? expand_iri(c, json_string_value(v), 0, NULL, 0, why,
                                                 sizeof(why))
                                    : NULL;
      if (!json_is_string(v))
        tg__cat_problem(x->problems, kps, "@id must be a string");
      else if (iri == NULL)
        tg__cat_problem(x->problems, kps, "%s", why);
      else
        json_object_set_new(out, "@id", json_string(iri));
      if (iri == NULL) /* reported once here; validators stay quiet about it */
        json_object_set_new(out, "@badid", json_true());
      free(iri);
    } else if (strcmp(k, "@graph") == 0 || strcmp(k, "@reverse") == 0 ||
               strcmp(k, "@included") == 0 || strcmp(k, "@nest") == 0 ||
               strcmp(k, "@index") == 0 || strcmp(k, "@list") == 0 || strcmp(k, "@set") == 0) {
      unsupported(x, kps, "%s is not supported in a dataset document", k);
    } else if (k[0] == '@') {
      tg__cat_problem(x->problems, kps, "unknown keyword %s", k);
    } else {
      expand_property(x, out, k, v, kps, keyctx ? keyctx : c, c);
    }
    free(kp);
  }
  ctx_free_owned(owned);
  x->depth--;
  return out;
}

json_t *tg__cat_expand(const json_t *in, json_t *problems, int *unsup) {
  struct exp x = {problems, 0, 0};
  json_t *out = NULL;
  if (!json_is_object(in) || json_object_get(in, "@value") != NULL)
    tg__cat_problem(problems, "", "a dataset document must be one JSON-LD node object");
  else
    out = expand_node(&x, in, "", NULL);
  if (unsup != NULL)
    *unsup = x.unsup;
  return out;
}
