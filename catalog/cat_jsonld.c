/* cat_jsonld: catalog input read through the node's JSON-LD 1.1 processor
 * (tg_jsonld_expand) with the canonical prefixes as the default context,
 * checked to be one dataset node in what the catalog stores; plus the
 * canonical prefixes, problems and JSON pointers the catalog shares. */
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"
#include "tg_jsonld.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The canonical prefixes, also the output @context. */
static const struct {
  const char *prefix, *ns;
} canon[] = {
    {"dct", NS_DCT},     {"dcat", NS_DCAT}, {"foaf", NS_FOAF}, {"vcard", NS_VCARD},
    {"odrl", NS_ODRL},   {"skos", NS_SKOS}, {"xsd", NS_XSD},   {"locn", NS_LOCN},
    {"gsp", NS_GSP},     {"rdf", NS_RDF},   {"tsunagu", NS_TG},
};
#define NCANON (sizeof(canon) / sizeof(canon[0]))

/* Prefix names that must be declared before use: an undeclared "adms:x"
 * would otherwise read as an absolute IRI with scheme "adms". */
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
  tg_utf8_scrub(msg); /* a value cut in a character ("%.80s") must not lose the problem */
  if (problems == NULL)
    return;
  json_t *p = json_pack("{s:s, s:s}", "pointer", ptr, "detail", msg);
  /* A problem is never dropped: the document must not pass for want of it. */
  json_array_append_new(problems, p != NULL ? p : json_pack("{s:s, s:s}", "pointer", "",
                                                          "detail", "a problem (not shown)"));
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

const json_t *tg__cat_ptr_get(const json_t *doc, const char *ptr) {
  while (doc != NULL && *ptr == '/') {
    const char *end = strchr(ptr + 1, '/');
    size_t n = end ? (size_t)(end - ptr - 1) : strlen(ptr + 1);
    char tok[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof(tok); i++) {
      char c = ptr[1 + i];
      if (c == '~' && i + 1 < n && (ptr[2 + i] == '0' || ptr[2 + i] == '1'))
        c = ptr[2 + i++] == '0' ? '~' : '/';
      tok[k++] = c;
    }
    tok[k] = '\0';
    if (json_is_object(doc)) {
      doc = json_object_get(doc, tok);
    } else if (json_is_array(doc)) {
      char *e;
      unsigned long idx = strtoul(tok, &e, 10);
      doc = *tok != '\0' && *e == '\0' ? json_array_get(doc, idx) : NULL;
    } else {
      doc = NULL;
    }
    ptr += 1 + n;
  }
  return *ptr == '\0' ? doc : NULL;
}

/* ---- reading input: expansion and what the catalog can store ---- */

/* The key the processor annotates output objects with: the input pointer. */
#define PTR_KEY "@ptr"

static int is_well_known(const char *p, size_t n) {
  for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
    if (strlen(well_known[i]) == n && strncmp(well_known[i], p, n) == 0)
      return 1;
  return 0;
}

/* Why IRI (a property or class left as written) is no IRI, or NULL. */
static const char *iri_problem(const char *iri, char *why, size_t n) {
  const char *colon = strchr(iri, ':');
  if (strncmp(iri, "_:", 2) == 0)
    return NULL;
  if (colon != NULL && strncmp(colon + 1, "//", 2) != 0 && is_well_known(iri, (size_t)(colon - iri))) {
    snprintf(why, n, "prefix '%.*s:' is not declared in the @context", (int)(colon - iri), iri);
    return why;
  }
  if (tg__cat_iri_ok(iri))
    return NULL;
  snprintf(why, n, "'%.80s' is neither a defined term, a declared prefix nor an absolute IRI",
           iri);
  return why;
}

struct rd {
  json_t *problems;
  int unsup; /* a problem is a feature the catalog does not store */
};

static void unsupported(struct rd *r, const char *ptr, const char *what) {
  r->unsup = 1;
  tg__cat_problem(r->problems, ptr, "%s is not supported in a dataset document", what);
}

static const char *ptr_get(const json_t *o) {
  const char *p = json_string_value(json_object_get(o, PTR_KEY));
  return p ? p : "";
}

static void check_node(struct rd *r, json_t *node);

/* One item of property KEY of a node at pointer NPTR. Objects the processor
 * made up carry no pointer: they get the property's. Returns 1 when IT is
 * to be dropped (reported as not stored). */
static int check_item(struct rd *r, json_t *it, const char *nptr, const char *key) {
  if (json_object_get(it, PTR_KEY) == NULL) {
    char *ck = tg__cat_compact_iri(key);
    char *p = tg__cat_ptr_key(nptr, ck ? ck : key);
    json_object_set_new(it, PTR_KEY, json_string(p ? p : nptr));
    free(p);
    free(ck);
  }
  json_object_del(it, "@index"); /* no triple: nothing to store */
  const char *ip = ptr_get(it);
  if (json_object_get(it, "@list") != NULL) {
    unsupported(r, ip, "@list (an ordered list, also from arrays of arrays)");
    return 1;
  }
  if (json_object_get(it, "@value") == NULL) {
    check_node(r, it);
    return 0;
  }
  const char *t = json_string_value(json_object_get(it, "@type"));
  json_t *val = json_object_get(it, "@value");
  if (json_object_get(it, "@direction") != NULL) {
    unsupported(r, ip, "@direction (base direction of text)");
    return 1;
  }
  if (t != NULL && strcmp(t, "@json") == 0) {
    unsupported(r, ip, "a JSON literal (@json)");
    return 1;
  }
  if (!json_is_string(val) && !json_is_number(val) && !json_is_boolean(val)) {
    tg__cat_problem(r->problems, ip, "@value must be a string, number or boolean");
    return 1;
  }
  return 0;
}

/* Checks a node object of the expanded form: keywords the catalog stores,
 * properties and classes that are IRIs, and its values. */
static void check_node(struct rd *r, json_t *node) {
  static const char *const unsup_kw[] = {"@reverse", "@included", "@graph", NULL};
  const char *nptr = ptr_get(node), *k;
  json_t *v;
  char why[200];
  for (size_t i = 0; unsup_kw[i] != NULL; i++) {
    if (json_object_get(node, unsup_kw[i]) != NULL) {
      char *p = tg__cat_ptr_key(nptr, unsup_kw[i]);
      unsupported(r, p ? p : nptr, unsup_kw[i]);
      free(p);
      json_object_del(node, unsup_kw[i]);
    }
  }
  json_object_del(node, "@index");
  json_t *types = json_object_get(node, "@type");
  for (size_t i = 0; i < json_array_size(types); i++) {
    const char *t = json_string_value(json_array_get(types, i));
    if (t != NULL && iri_problem(t, why, sizeof(why)) != NULL) {
      char *p = tg__cat_ptr_key(nptr, "@type");
      tg__cat_problem(r->problems, p ? p : nptr, "@type: %s", why);
      free(p);
    }
  }
  json_object_foreach(node, k, v) {
    if (k[0] == '@')
      continue;
    const char *bad = strncmp(k, "_:", 2) == 0 ? "a blank node cannot be a property"
                                                : iri_problem(k, why, sizeof(why));
    if (bad != NULL) {
      char *p = tg__cat_ptr_key(nptr, k);
      tg__cat_problem(r->problems, p ? p : nptr, "%s", bad);
      free(p);
      continue;
    }
    for (size_t i = 0; i < json_array_size(v); i++)
      if (json_is_object(json_array_get(v, i)) && check_item(r, json_array_get(v, i), nptr, k))
        json_array_remove(v, i--);
  }
}

/* Reports a failed expansion (ERR from tg_jsonld_expand, WHERE its pointer)
 * and returns the catalog's code for it. */
static int expand_failed(json_t *problems, int rc, const struct tg_err *err, const char *where) {
  const char *msg = err->msg[0] ? err->msg : tg_strerror(rc);
  switch (rc) {
  case TG_ENOENT: /* a remote context the node does not know */
    tg__cat_problem(problems, where,
                    "%s (this node fetches no contexts: use the DCAT-AP 3.0.1 context URL or "
                    "declare prefixes in an inline @context)",
                    msg);
    return TG_EUNSUP;
  case TG_ETOOBIG:
  case TG_ENOMEM:
    tg__cat_problem(problems, where, "%s", msg);
    return rc;
  default:
    tg__cat_problem(problems, where, "JSON-LD %s", msg);
    return TG_EINVAL;
  }
}

int tg__cat_expand(const json_t *in, json_t *problems, json_t **node) {
  struct tg_err err;
  char where[256];
  json_t *out = NULL, *dropped = json_array(), *ctx = tg_cat_context();
  struct rd r = {problems, 0};
  struct tg_jsonld_opts o = {.expand_context = ctx,
                             .max_depth = 4 * TG_CAT_MAX_DEPTH + 32,
                             .max_work = 100000,
                             .ptr_key = PTR_KEY,
                             .dropped = dropped,
                             .err_ptr = where,
                             .err_ptr_size = sizeof(where)};
  int rc;
  *node = NULL;
  memset(&err, 0, sizeof(err));
  where[0] = '\0';
  if (dropped == NULL || ctx == NULL)
    rc = TG_ENOMEM;
  else if ((rc = tg_jsonld_expand((json_t *)in, &o, &out, &err)) != 0)
    rc = expand_failed(problems, rc, &err, where);
  json_decref(ctx);
  for (size_t i = 0; rc == 0 && i < json_array_size(dropped); i++)
    tg__cat_problem(problems, json_string_value(json_array_get(dropped, i)),
                    "not a keyword, a term of the @context, a compact IRI with a declared prefix "
                    "or an absolute IRI (JSON-LD would drop it)");
  json_decref(dropped);
  if (rc != 0)
    return rc;
  if (json_array_size(out) != 1) {
    if (json_array_size(out) == 0)
      tg__cat_problem(problems, "", "a dataset document must be one JSON-LD node object");
    else
      tg__cat_problem(problems, "",
                      "the document describes %zu nodes at the top level; a dataset document "
                      "describes one (embed the others in it)",
                      json_array_size(out));
    json_decref(out);
    return TG_EINVAL;
  }
  *node = json_incref(json_array_get(out, 0));
  json_decref(out);
  check_node(&r, *node);
  return r.unsup ? TG_EUNSUP : 0;
}
