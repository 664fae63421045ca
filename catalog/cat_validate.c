/* cat_validate: checks an expanded dataset document field by field (DCAT-AP
 * 3.0.1 plus tsunagu's rules: typed ISO dates, known theme schemes, URIs,
 * distribution modes, ODRL policies), normalises it, and compacts it into the
 * canonical JSON-LD form every other part of the node reads. */
#include "cat_int.h"
#include "cat_plain.h"
#include "tg_err.h"
#include "tg_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_schemes[] = {
    "urn:tsunagu:vocab:theme:",
    /* the City OS themes scheme shipped in vocab/schemes/themes.jsonld */
    "urn:tsunagu:vocab:themes:",
    "http://publications.europa.eu/resource/authority/data-theme/",
};

struct val {
  const json_t *in; /* the input document (borrowed): where pointers point */
  json_t *problems;
  const char *const *schemes;
  size_t nschemes;
};

/* ---- item helpers ---- */

static const char *ptr_of(const json_t *o) {
  const char *p = json_string_value(json_object_get(o, "@ptr"));
  return p ? p : "";
}

static json_t *prop(json_t *node, const char *iri) { return json_object_get(node, iri); }

static size_t nprop(json_t *node, const char *iri) { return json_array_size(prop(node, iri)); }

static int is_literal(const json_t *it) { return json_object_get(it, "@value") != NULL; }

static const char *lit_str(const json_t *it) {
  return json_string_value(json_object_get(it, "@value"));
}

static const char *lit_type(const json_t *it) {
  return json_string_value(json_object_get(it, "@type"));
}

static const char *id_of(const json_t *it) { return json_string_value(json_object_get(it, "@id")); }

/* A node object that carries more than @id (and @ptr): an embedded node. */
static int is_ref_only(const json_t *it) {
  size_t n = json_object_size(it);
  return id_of(it) != NULL && n == 2;
}

/* Reports a property missing from NODE, at the pointer where it belongs. */
static void missing(struct val *v, json_t *node, const char *cname, const char *what) {
  char *p = tg__cat_ptr_key(ptr_of(node), cname);
  tg__cat_problem(v->problems, p ? p : ptr_of(node), "%s is required%s%s", cname,
                  what ? ": " : "", what ? what : "");
  free(p);
}

static int has_type(json_t *node, const char *iri) {
  json_t *t = json_object_get(node, "@type");
  for (size_t i = 0; i < json_array_size(t); i++)
    if (strcmp(json_string_value(json_array_get(t, i)), iri) == 0)
      return 1;
  return 0;
}

/* Adds class IRI to NODE's @type if absent (SHACL sh:class needs the triple). */
static void ensure_type(json_t *node, const char *iri) {
  json_t *t = json_object_get(node, "@type");
  if (t == NULL) {
    t = json_array();
    json_object_set_new(node, "@type", t);
  }
  if (!has_type(node, iri))
    json_array_append_new(t, json_string(iri));
}

static int too_many(struct val *v, json_t *node, const char *iri, const char *cname, size_t max) {
  size_t n = nprop(node, iri);
  if (n > max) {
    json_t *it = json_array_get(prop(node, iri), max);
    tg__cat_problem(v->problems, ptr_of(it), "%s allows at most %zu value%s", cname, max,
                    max == 1 ? "" : "s");
    return 1;
  }
  return 0;
}

/* Literal-valued property: strings, optionally language-tagged, bounded. */
static void v_literals(struct val *v, json_t *node, const char *iri, const char *cname, int required,
                       size_t maxcount, size_t maxbytes, int unique_lang) {
  json_t *arr = prop(node, iri);
  if (json_array_size(arr) == 0) {
    if (required)
      missing(v, node, cname, "give at least one (language-tagged) text");
    return;
  }
  too_many(v, node, iri, cname, maxcount);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    const char *s = lit_str(it);
    if (!is_literal(it) || s == NULL) {
      tg__cat_problem(v->problems, ptr_of(it), "%s must be text (a string or {\"@value\", \"@language\"})",
                      cname);
      continue;
    }
    if (lit_type(it) != NULL && strcmp(lit_type(it), NS_XSD "string") != 0)
      tg__cat_problem(v->problems, ptr_of(it), "%s must be a plain or language-tagged string",
                      cname);
    if (s[strspn(s, " \t\r\n")] == '\0')
      tg__cat_problem(v->problems, ptr_of(it), "%s must not be empty", cname);
    if (strlen(s) > maxbytes)
      tg__cat_problem(v->problems, ptr_of(it), "%s is longer than %zu bytes", cname, maxbytes);
    /* Past MAXCOUNT the document is refused already: each value against
     * every earlier language would be quadratic in what a client sends. */
    if (!unique_lang || i >= maxcount)
      continue;
    const char *lang = json_string_value(json_object_get(it, "@language"));
    for (size_t j = 0; j < i; j++) {
      const char *l2 = json_string_value(json_object_get(json_array_get(arr, j), "@language"));
      if ((lang == NULL && l2 == NULL) || (lang && l2 && strcasecmp(lang, l2) == 0)) {
        tg__cat_problem(v->problems, ptr_of(it), "%s has more than one value in language '%s'",
                        cname, lang ? lang : "(none)");
        break;
      }
    }
  }
}

/* IRI-valued property: each item a reference or node with an absolute IRI. */
static int v_iri_item(struct val *v, json_t *it, const char *cname) {
  const char *id = id_of(it);
  if (is_literal(it)) {
    tg__cat_problem(v->problems, ptr_of(it),
                    "%s must be an IRI reference {\"@id\": \"...\"}, not a text value", cname);
    return 0;
  }
  if (id == NULL || strncmp(id, "_:", 2) == 0) {
    tg__cat_problem(v->problems, ptr_of(it), "%s needs an absolute IRI in @id", cname);
    return 0;
  }
  return 1;
}

/* Adds to the last problem the typed literal that would have been read:
 * ISO (text of a date, KIND 1, or a date-time, 2). */
static void date_suggestion(struct val *v, const char *iso, int kind) {
  json_t *pr = json_array_get(v->problems, json_array_size(v->problems) - 1);
  const char *d = json_string_value(json_object_get(pr, "detail"));
  char sug[160], detail[700];
  snprintf(sug, sizeof(sug), "{\"@value\": \"%s\", \"@type\": \"%s\"}", iso,
           kind == 2 ? "xsd:dateTime" : "xsd:date");
  if (pr == NULL || d == NULL)
    return;
  snprintf(detail, sizeof(detail), "%s; did you mean %s?", d, sug);
  json_object_set_new(pr, "detail", json_string(detail));
  json_object_set_new(pr, "suggestion", json_string(sug));
}

/* A date property: one xsd:date or xsd:dateTime literal (lexical form is
 * checked for every typed literal by check_walk). */
static void v_date(struct val *v, json_t *node, const char *iri, const char *cname) {
  json_t *arr = prop(node, iri);
  too_many(v, node, iri, cname, 1);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    const char *t = lit_type(it), *s = lit_str(it);
    if (!is_literal(it) || s == NULL) {
      tg__cat_problem(v->problems, ptr_of(it), "%s must be a typed date literal", cname);
    } else if (t == NULL) {
      int iso = tg__cat_xsd_time(s, 0, NULL) == 0 || tg__cat_xsd_time(s, 1, NULL) == 0;
      char sug[64];
      int r = iso ? 0 : tg__cat_date_suggest(s, sug, sizeof(sug));
      tg__cat_problem(v->problems, ptr_of(it),
                      "%s must be a typed literal {\"@value\": \"YYYY-MM-DD\", \"@type\": "
                      "\"xsd:date\"} (or xsd:dateTime)%s",
                      cname, iso || r ? "" : "; the value is not an ISO 8601 date either");
      if (iso)
        date_suggestion(v, s, strchr(s, 'T') ? 2 : 1);
      else if (r)
        date_suggestion(v, sug, r);
    } else if (strcmp(t, NS_XSD "date") != 0 && strcmp(t, NS_XSD "dateTime") != 0) {
      tg__cat_problem(v->problems, ptr_of(it), "%s must be typed xsd:date or xsd:dateTime",
                      cname);
    }
  }
}

static int64_t date_epoch(json_t *node, const char *iri) {
  json_t *it = json_array_get(prop(node, iri), 0);
  int64_t e;
  const char *t = lit_type(it), *s = lit_str(it);
  if (s == NULL || t == NULL)
    return INT64_MIN;
  if (tg__cat_xsd_time(s, strcmp(t, NS_XSD "dateTime") == 0, &e) != 0)
    return INT64_MIN;
  return e;
}

/* ---- the dataset's parts ---- */

static void v_themes(struct val *v, json_t *d) {
  json_t *arr = prop(d, NS_DCAT "theme");
  too_many(v, d, NS_DCAT "theme", "dcat:theme", TG_CAT_MAX_THEMES);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    if (!v_iri_item(v, it, "dcat:theme"))
      continue;
    const char *id = id_of(it);
    size_t k;
    for (k = 0; k < v->nschemes; k++)
      if (strncmp(id, v->schemes[k], strlen(v->schemes[k])) == 0 && id[strlen(v->schemes[k])])
        break;
    if (k == v->nschemes)
      tg__cat_problem(v->problems, ptr_of(it),
                      "theme %.200s is not in a known concept scheme (known: %s%s)", id,
                      v->nschemes ? v->schemes[0] : "none", v->nschemes > 1 ? ", ..." : "");
    ensure_type(it, NS_SKOS "Concept");
    v_literals(v, it, NS_SKOS "prefLabel", "skos:prefLabel", 0, 20, TG_CAT_MAX_TITLE_BYTES, 1);
    if (nprop(it, NS_SKOS "prefLabel") == 0) {
      /* DCAT-AP's skos:Concept shape needs a label: use the concept's notation. */
      const char *tail = id + strlen(id);
      while (tail > id && tail[-1] != '/' && tail[-1] != '#' && tail[-1] != ':')
        tail--;
      json_t *lab = json_pack("[{s:s}]", "@value", *tail ? tail : id);
      json_object_set_new(it, NS_SKOS "prefLabel", lab);
    }
  }
}

static void v_publisher(struct val *v, json_t *d) {
  json_t *arr = prop(d, NS_DCT "publisher");
  too_many(v, d, NS_DCT "publisher", "dct:publisher", 1);
  json_t *it = json_array_get(arr, 0);
  if (it == NULL)
    return;
  if (is_literal(it)) {
    tg__cat_problem(v->problems, ptr_of(it),
                    "dct:publisher must be a foaf:Agent node with foaf:name, not text");
    return;
  }
  if (id_of(it) != NULL && strncmp(id_of(it), "_:", 2) != 0 && !tg__cat_iri_ok(id_of(it)))
    tg__cat_problem(v->problems, ptr_of(it), "publisher @id is not a valid IRI");
  ensure_type(it, NS_FOAF "Agent");
  v_literals(v, it, NS_FOAF "name", "foaf:name", 1, 20, TG_CAT_MAX_TITLE_BYTES, 0);
}

static void v_contacts(struct val *v, json_t *d) {
  json_t *arr = prop(d, NS_DCAT "contactPoint");
  too_many(v, d, NS_DCAT "contactPoint", "dcat:contactPoint", 20);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    if (is_literal(it)) {
      tg__cat_problem(v->problems, ptr_of(it), "dcat:contactPoint must be a vcard:Kind node");
      continue;
    }
    ensure_type(it, NS_VCARD "Kind");
    v_literals(v, it, NS_VCARD "fn", "vcard:fn", 0, 20, TG_CAT_MAX_TITLE_BYTES, 0);
    json_t *em = prop(it, NS_VCARD "hasEmail");
    for (size_t k = 0; k < json_array_size(em); k++) {
      json_t *e = json_array_get(em, k);
      if (!v_iri_item(v, e, "vcard:hasEmail"))
        continue;
      if (strncmp(id_of(e), "mailto:", 7) != 0)
        tg__cat_problem(v->problems, ptr_of(e), "vcard:hasEmail must be a mailto: IRI");
    }
    json_t *url = prop(it, NS_VCARD "hasURL");
    for (size_t k = 0; k < json_array_size(url); k++)
      v_iri_item(v, json_array_get(url, k), "vcard:hasURL");
  }
}

static void v_license(struct val *v, json_t *d) {
  too_many(v, d, NS_DCT "license", "dct:license", 1);
  json_t *it = json_array_get(prop(d, NS_DCT "license"), 0);
  if (it != NULL && v_iri_item(v, it, "dct:license")) {
    ensure_type(it, NS_DCT "LicenseDocument");
  } else if (it != NULL && lit_str(it) != NULL) {
    /* "CC BY 4.0" as text: name the licence document it stands for. */
    const char *url = tg__cat_license_url(lit_str(it), NULL);
    json_t *pr = json_array_get(v->problems, json_array_size(v->problems) - 1);
    const char *dt = json_string_value(json_object_get(pr, "detail"));
    if (url != NULL && dt != NULL) {
      char sug[200], detail[700];
      snprintf(sug, sizeof(sug), "{\"@id\": \"%s\"}", url);
      snprintf(detail, sizeof(detail), "%s; did you mean %s?", dt, sug);
      json_object_set_new(pr, "detail", json_string(detail));
      json_object_set_new(pr, "suggestion", json_string(sug));
    }
  }
}

static void v_wkt(struct val *v, json_t *loc, const char *iri, const char *cname) {
  json_t *arr = prop(loc, iri);
  too_many(v, loc, iri, cname, 1);
  json_t *it = json_array_get(arr, 0);
  if (it == NULL)
    return;
  double box[4];
  tg__cat_box_empty(box);
  if (lit_str(it) == NULL || tg__cat_wkt_bbox(lit_str(it), box) != 0)
    tg__cat_problem(v->problems, ptr_of(it),
                    "%s must be WKT in WGS 84 lon/lat, e.g. \"POLYGON((139.5 35.5, 139.9 35.5, "
                    "139.9 35.8, 139.5 35.8, 139.5 35.5))\"",
                    cname);
}

static void v_spatial(struct val *v, json_t *d) {
  json_t *arr = prop(d, NS_DCT "spatial");
  too_many(v, d, NS_DCT "spatial", "dct:spatial", 50);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    if (is_literal(it)) {
      tg__cat_problem(v->problems, ptr_of(it),
                      "dct:spatial must be a place IRI {\"@id\": ...} or a dct:Location node");
      continue;
    }
    int geo = nprop(it, NS_DCAT "bbox") + nprop(it, NS_LOCN "geometry") +
              nprop(it, NS_DCAT "centroid");
    if (!geo && (id_of(it) == NULL || strncmp(id_of(it), "_:", 2) == 0)) {
      tg__cat_problem(v->problems, ptr_of(it),
                      "dct:spatial needs a place IRI in @id or a dcat:bbox / locn:geometry");
      continue;
    }
    ensure_type(it, NS_DCT "Location");
    v_wkt(v, it, NS_DCAT "bbox", "dcat:bbox");
    v_wkt(v, it, NS_LOCN "geometry", "locn:geometry");
    v_wkt(v, it, NS_DCAT "centroid", "dcat:centroid");
  }
}

static void v_temporal(struct val *v, json_t *d) {
  json_t *arr = prop(d, NS_DCT "temporal");
  too_many(v, d, NS_DCT "temporal", "dct:temporal", 20);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    if (is_literal(it)) {
      tg__cat_problem(v->problems, ptr_of(it),
                      "dct:temporal must be a dct:PeriodOfTime node with dcat:startDate/endDate");
      continue;
    }
    ensure_type(it, NS_DCT "PeriodOfTime");
    if (nprop(it, NS_DCAT "startDate") == 0 && nprop(it, NS_DCAT "endDate") == 0) {
      missing(v, it, "dcat:startDate", "a period needs dcat:startDate and/or dcat:endDate");
      continue;
    }
    v_date(v, it, NS_DCAT "startDate", "dcat:startDate");
    v_date(v, it, NS_DCAT "endDate", "dcat:endDate");
    int64_t s = date_epoch(it, NS_DCAT "startDate"), e = date_epoch(it, NS_DCAT "endDate");
    if (s != INT64_MIN && e != INT64_MIN && s > e)
      tg__cat_problem(v->problems, ptr_of(json_array_get(prop(it, NS_DCAT "endDate"), 0)),
                      "dcat:endDate is before dcat:startDate");
  }
}

static void v_mediatype(struct val *v, json_t *dist) {
  too_many(v, dist, NS_DCAT "mediaType", "dcat:mediaType", 1);
  json_t *it = json_array_get(prop(dist, NS_DCAT "mediaType"), 0);
  if (it == NULL)
    return;
  if (is_literal(it) && lit_str(it) != NULL && tg__cat_mediatype_ok(lit_str(it))) {
    /* DCAT-AP wants the IANA register's IRI for a media type name. */
    char iri[300];
    snprintf(iri, sizeof(iri), "https://www.iana.org/assignments/media-types/%s", lit_str(it));
    json_object_del(it, "@value");
    json_object_del(it, "@language");
    json_object_del(it, "@type");
    json_object_set_new(it, "@id", json_string(iri));
  } else if (is_literal(it)) {
    tg__cat_problem(v->problems, ptr_of(it),
                    "dcat:mediaType must be a media type such as \"application/json\" or its "
                    "IANA IRI");
    return;
  }
  if (v_iri_item(v, it, "dcat:mediaType"))
    ensure_type(it, NS_DCT "MediaType");
}

static void v_mode(struct val *v, json_t *dist) {
  too_many(v, dist, NS_TG "mode", "tsunagu:mode", 1);
  too_many(v, dist, NS_TG "backend", "tsunagu:backend", 1);
  json_t *m = json_array_get(prop(dist, NS_TG "mode"), 0);
  json_t *b = json_array_get(prop(dist, NS_TG "backend"), 0);
  const char *mode = m ? lit_str(m) : NULL;
  if (m != NULL && (mode == NULL || lit_type(m) != NULL ||
                    (strcmp(mode, "distributed") != 0 && strcmp(mode, "accumulated") != 0))) {
    tg__cat_problem(v->problems, ptr_of(m),
                    "tsunagu:mode must be \"distributed\" or \"accumulated\"");
    return;
  }
  if (b != NULL) {
    if (!v_iri_item(v, b, "tsunagu:backend"))
      return;
    if (!tg__cat_http_ok(id_of(b)))
      tg__cat_problem(v->problems, ptr_of(b),
                      "tsunagu:backend must be a well-formed http:// or https:// URL");
    if (mode != NULL && strcmp(mode, "accumulated") == 0)
      tg__cat_problem(v->problems, ptr_of(b),
                      "tsunagu:backend is only for tsunagu:mode \"distributed\" (accumulated "
                      "data is served from the node's store)");
  } else if (mode != NULL && strcmp(mode, "distributed") == 0) {
    missing(v, dist, "tsunagu:backend", "distributed mode passes requests through to a backend URL");
  }
  if (m == NULL)
    json_object_set_new(dist, NS_TG "mode",
                        json_pack("[{s:s}]", "@value", b ? "distributed" : "accumulated"));
}

static void v_distributions(struct val *v, json_t *d) {
  json_t *arr = prop(d, NS_DCAT "distribution");
  too_many(v, d, NS_DCAT "distribution", "dcat:distribution", TG_CAT_MAX_DISTRIBUTIONS);
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *it = json_array_get(arr, i);
    if (is_literal(it) || is_ref_only(it)) {
      tg__cat_problem(v->problems, ptr_of(it),
                      "dcat:distribution must be an embedded dcat:Distribution node");
      continue;
    }
    ensure_type(it, NS_DCAT "Distribution");
    json_t *acc = prop(it, NS_DCAT "accessURL");
    if (json_array_size(acc) == 0)
      missing(v, it, "dcat:accessURL", NULL);
    for (size_t k = 0; k < json_array_size(acc); k++)
      v_iri_item(v, json_array_get(acc, k), "dcat:accessURL");
    json_t *dl = prop(it, NS_DCAT "downloadURL");
    for (size_t k = 0; k < json_array_size(dl); k++)
      v_iri_item(v, json_array_get(dl, k), "dcat:downloadURL");
    v_mediatype(v, it);
    too_many(v, it, NS_DCT "format", "dct:format", 1);
    json_t *fmt = json_array_get(prop(it, NS_DCT "format"), 0);
    if (fmt != NULL && v_iri_item(v, fmt, "dct:format"))
      ensure_type(fmt, NS_DCT "MediaTypeOrExtent");
    json_t *lic = json_array_get(prop(it, NS_DCT "license"), 0);
    if (lic != NULL && v_iri_item(v, lic, "dct:license"))
      ensure_type(lic, NS_DCT "LicenseDocument");
    v_literals(v, it, NS_DCT "title", "dct:title", 0, 20, TG_CAT_MAX_TITLE_BYTES, 1);
    v_literals(v, it, NS_DCT "description", "dct:description", 0, 20, TG_CAT_MAX_LITERAL_BYTES, 1);
    v_date(v, it, NS_DCT "issued", "dct:issued");
    v_date(v, it, NS_DCT "modified", "dct:modified");
    v_mode(v, it);
  }
}

/* ---- ODRL ---- */

static int is_one_of(const char *s, const char *const *list) {
  for (; s != NULL && *list; list++)
    if (strcmp(s, *list) == 0)
      return 1;
  return 0;
}

/* Reports keys of NODE other than ALLOWED (full IRIs) and keywords. */
static void only_keys(struct val *v, json_t *node, const char *what, const char *const *allowed) {
  const char *k;
  json_t *val;
  json_object_foreach(node, k, val) {
    if (k[0] == '@' || is_one_of(k, allowed))
      continue;
    char *ck = tg__cat_compact_iri(k);
    char *p = tg__cat_ptr_key(ptr_of(node), ck ? ck : k);
    tg__cat_problem(v->problems, p ? p : ptr_of(node),
                    "%s is not supported in %s (the node would not enforce it)", ck ? ck : k, what);
    free(p);
    free(ck);
  }
}

static void v_constraint(struct val *v, json_t *c) {
  static const char *const keys[] = {NS_ODRL "leftOperand", NS_ODRL "operator",
                                     NS_ODRL "rightOperand", NULL};
  static const char *const purpose_ops[] = {NS_ODRL "eq", NS_ODRL "isAnyOf", NULL};
  static const char *const time_ops[] = {NS_ODRL "lt", NS_ODRL "lteq", NS_ODRL "gt",
                                         NS_ODRL "gteq", NS_ODRL "eq", NULL};
  if (is_literal(c) || is_ref_only(c)) {
    tg__cat_problem(v->problems, ptr_of(c), "odrl:constraint must be an embedded constraint");
    return;
  }
  only_keys(v, c, "a constraint", keys);
  json_t *l = json_array_get(prop(c, NS_ODRL "leftOperand"), 0);
  json_t *o = json_array_get(prop(c, NS_ODRL "operator"), 0);
  json_t *r = prop(c, NS_ODRL "rightOperand");
  if (l == NULL)
    missing(v, c, "odrl:leftOperand", NULL);
  if (o == NULL)
    missing(v, c, "odrl:operator", NULL);
  if (json_array_size(r) == 0)
    missing(v, c, "odrl:rightOperand", NULL);
  if (l == NULL || o == NULL || json_array_size(r) == 0)
    return;
  too_many(v, c, NS_ODRL "leftOperand", "odrl:leftOperand", 1);
  too_many(v, c, NS_ODRL "operator", "odrl:operator", 1);
  const char *lo = id_of(l), *op = id_of(o);
  if (lo != NULL && strcmp(lo, NS_ODRL "purpose") == 0) {
    if (!is_one_of(op, purpose_ops))
      tg__cat_problem(v->problems, ptr_of(o),
                      "odrl:purpose constraints support odrl:eq and odrl:isAnyOf");
    else if (strcmp(op, NS_ODRL "eq") == 0)
      too_many(v, c, NS_ODRL "rightOperand", "odrl:rightOperand", 1);
    for (size_t i = 0; i < json_array_size(r); i++) {
      json_t *it = json_array_get(r, i);
      if (!(lit_str(it) != NULL || id_of(it) != NULL))
        tg__cat_problem(v->problems, ptr_of(it), "a purpose must be a string or an IRI");
    }
  } else if (lo != NULL && strcmp(lo, NS_ODRL "dateTime") == 0) {
    if (!is_one_of(op, time_ops))
      tg__cat_problem(v->problems, ptr_of(o),
                      "odrl:dateTime constraints support odrl:lt, lteq, gt, gteq and eq");
    v_date(v, c, NS_ODRL "rightOperand", "odrl:rightOperand");
  } else {
    tg__cat_problem(v->problems, ptr_of(l),
                    "odrl:leftOperand must be odrl:purpose or odrl:dateTime");
  }
}

static void v_permission(struct val *v, json_t *p) {
  static const char *const keys[] = {NS_ODRL "action", NS_ODRL "assignee", NS_ODRL "constraint",
                                     NS_ODRL "target", NS_ODRL "assigner", NULL};
  static const char *const actions[] = {NS_ODRL "use", NS_ODRL "read", NULL};
  if (is_literal(p) || is_ref_only(p)) {
    tg__cat_problem(v->problems, ptr_of(p), "odrl:permission must be an embedded permission");
    return;
  }
  only_keys(v, p, "a permission", keys);
  json_t *act = prop(p, NS_ODRL "action");
  if (json_array_size(act) == 0)
    missing(v, p, "odrl:action", "{\"@id\": \"odrl:use\"}");
  too_many(v, p, NS_ODRL "action", "odrl:action", 1);
  json_t *a = json_array_get(act, 0);
  if (a != NULL && !is_one_of(id_of(a), actions))
    tg__cat_problem(v->problems, ptr_of(a), "odrl:action must be odrl:use or odrl:read");
  json_t *as = prop(p, NS_ODRL "assignee");
  if (json_array_size(as) == 0)
    missing(v, p, "odrl:assignee",
            "a node (urn:tsunagu:node:<id>) or the federation (urn:tsunagu:federation)");
  too_many(v, p, NS_ODRL "assignee", "odrl:assignee", TG_CAT_MAX_ASSIGNEES);
  for (size_t i = 0; i < json_array_size(as); i++) {
    json_t *it = json_array_get(as, i);
    const char *id = id_of(it);
    if (!v_iri_item(v, it, "odrl:assignee"))
      continue;
    if (strcmp(id, "urn:tsunagu:federation") != 0 &&
        !(strncmp(id, "urn:tsunagu:node:", 17) == 0 && tg_node_id_valid(id + 17)))
      tg__cat_problem(v->problems, ptr_of(it),
                      "odrl:assignee must be urn:tsunagu:node:<node-id> or urn:tsunagu:federation");
  }
  json_t *cs = prop(p, NS_ODRL "constraint");
  too_many(v, p, NS_ODRL "constraint", "odrl:constraint", 20);
  for (size_t i = 0; i < json_array_size(cs); i++)
    v_constraint(v, json_array_get(cs, i));
}

static void v_policy(struct val *v, json_t *d) {
  static const char *const keys[] = {NS_ODRL "permission", NS_ODRL "target", NS_ODRL "assigner",
                                     NS_ODRL "uid", NS_ODRL "profile", NULL};
  json_t *arr = prop(d, NS_ODRL "hasPolicy");
  too_many(v, d, NS_ODRL "hasPolicy", "odrl:hasPolicy", 1);
  json_t *p = json_array_get(arr, 0);
  if (p == NULL) {
    json_t *def = tg_cat_policy_default(NULL);
    if (def != NULL)
      json_object_set_new(def, "@context", tg_cat_context());
    json_t *e = NULL;
    if (def != NULL)
      tg__cat_expand(def, NULL, &e);
    json_decref(def);
    if (e != NULL) {
      json_object_del(e, "@ptr");
      ensure_type(e, NS_ODRL "Policy");
      json_object_set_new(d, NS_ODRL "hasPolicy", json_pack("[o]", e));
    }
    return;
  }
  if (is_literal(p) || is_ref_only(p)) {
    tg__cat_problem(v->problems, ptr_of(p), "odrl:hasPolicy must be an embedded odrl:Offer");
    return;
  }
  if (!has_type(p, NS_ODRL "Offer") && !has_type(p, NS_ODRL "Set") && !has_type(p, NS_ODRL "Policy"))
    missing(v, p, "@type", "\"odrl:Offer\"");
  if (id_of(p) != NULL && strncmp(id_of(p), "_:", 2) == 0)
    json_object_del(p, "@id");
  ensure_type(p, NS_ODRL "Policy");
  only_keys(v, p, "a policy", keys);
  json_t *perms = prop(p, NS_ODRL "permission");
  if (json_array_size(perms) == 0)
    missing(v, p, "odrl:permission", "at least one permission");
  too_many(v, p, NS_ODRL "permission", "odrl:permission", TG_CAT_MAX_PERMISSIONS);
  for (size_t i = 0; i < json_array_size(perms); i++)
    v_permission(v, json_array_get(perms, i));
}

/* ---- whole-document checks ---- */

/* Properties whose range DCAT-AP 3.0.1 fixes to a numeric datatype: a JSON
 * number (or an untyped string of the right form) becomes that typed
 * literal, anything else is refused naming the property, so that the
 * catalog stays valid against the shapes. */
static const struct {
  const char *iri, *name, *type, *tname;
  int integer; /* nonNegativeInteger (else decimal) */
} numeric[] = {
    {NS_DCAT "byteSize", "dcat:byteSize", NS_XSD "nonNegativeInteger", "xsd:nonNegativeInteger", 1},
    {NS_DCAT "spatialResolutionInMeters", "dcat:spatialResolutionInMeters", NS_XSD "decimal",
     "xsd:decimal", 0},
};

/* Whether S is a lexical form of xsd:nonNegativeInteger (INTEGER) or
 * xsd:decimal. */
static int numeric_lexical(const char *s, int integer) {
  size_t i = 0, digits = 0;
  if (!integer && (s[0] == '-' || s[0] == '+'))
    i++;
  else if (integer && s[0] == '+')
    i++;
  for (; s[i] >= '0' && s[i] <= '9'; i++)
    digits++;
  if (!integer && s[i] == '.')
    for (i++; s[i] >= '0' && s[i] <= '9'; i++)
      digits++;
  return digits > 0 && digits <= 40 && s[i] == '\0';
}

/* IT (a literal of property K) as the typed literal its range requires. */
static void numeric_value(struct val *v, json_t *it, int k) {
  json_t *val = json_object_get(it, "@value");
  const char *t = lit_type(it);
  char text[64] = "";
  if (json_is_integer(val) && (!numeric[k].integer || json_integer_value(val) >= 0)) {
    snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(val));
  } else if (json_is_real(val) && !numeric[k].integer && isfinite(json_real_value(val)) &&
             fabs(json_real_value(val)) < 1e15) {
    snprintf(text, sizeof(text), "%.6f", json_real_value(val));
    size_t n = strlen(text); /* 10.500000 -> 10.5, 10.000000 -> 10.0 */
    while (n > 2 && text[n - 1] == '0' && text[n - 2] != '.')
      text[--n] = '\0';
  } else if (json_is_string(val) && (t == NULL || strcmp(t, numeric[k].type) == 0) &&
             numeric_lexical(json_string_value(val), numeric[k].integer)) {
    snprintf(text, sizeof(text), "%s", json_string_value(val));
  }
  if (text[0] == '\0' || json_object_get(it, "@language") != NULL) {
    tg__cat_problem(v->problems, ptr_of(it), "%s must be %s (e.g. %s)", numeric[k].name,
                    numeric[k].integer ? "a whole number of bytes, 0 or more" : "a decimal number",
                    numeric[k].integer ? "2048" : "10.5");
    return;
  }
  json_object_set_new(it, "@value", json_string(text));
  json_object_set_new(it, "@type", json_string(numeric[k].type));
}

/* The input pointer of NODE's @id: the string itself when a term coerced it
 * to an IRI, else the member that gave it (an alias of @id, say). New heap
 * string or NULL. */
static char *id_pointer(struct val *v, json_t *node) {
  const json_t *src = tg__cat_ptr_get(v->in, ptr_of(node));
  const char *id = id_of(node), *k, *key = "@id";
  json_t *m;
  if (json_is_string(src))
    return strdup(ptr_of(node));
  if (json_is_object(src) && json_object_get(src, "@id") == NULL) {
    json_object_foreach((json_t *)src, k, m) {
      const char *s = json_string_value(m);
      size_t n = s ? strlen(s) : 0;
      if (n > 0 && strlen(id) >= n && strcmp(id + strlen(id) - n, s) == 0) {
        key = k;
        break;
      }
    }
  }
  return tg__cat_ptr_key(ptr_of(node), key);
}

/* Checks every value everywhere: language tags, IRIs, typed dates, and
 * tsunagu: properties outside distributions. */
static void check_walk(struct val *v, json_t *node, int in_dist) {
  const char *k;
  json_t *arr;
  int is_dist = has_type(node, NS_DCAT "Distribution");
  const char *id = id_of(node);
  if (id != NULL && strncmp(id, "_:", 2) != 0 && !tg__cat_iri_ok(id)) {
    char *p = id_pointer(v, node);
    tg__cat_problem(v->problems, p ? p : ptr_of(node), "@id %.200s is not a valid IRI", id);
    free(p);
  }
  json_object_foreach(node, k, arr) {
    if (k[0] == '@')
      continue;
    if (strncmp(k, NS_TG, strlen(NS_TG)) == 0 &&
        !(is_dist && (strcmp(k, NS_TG "mode") == 0 || strcmp(k, NS_TG "backend") == 0))) {
      char *ck = tg__cat_compact_iri(k);
      char *p = tg__cat_ptr_key(ptr_of(node), ck ? ck : k);
      tg__cat_problem(v->problems, p ? p : ptr_of(node),
                      "%s is not a tsunagu property here (only tsunagu:mode and tsunagu:backend "
                      "on a distribution)",
                      ck ? ck : k);
      free(p);
      free(ck);
    }
    int num = -1;
    for (size_t n = 0; n < sizeof(numeric) / sizeof(numeric[0]); n++)
      if (strcmp(k, numeric[n].iri) == 0)
        num = (int)n;
    for (size_t i = 0; i < json_array_size(arr); i++) {
      json_t *it = json_array_get(arr, i);
      if (!json_is_object(it))
        continue;
      if (num >= 0 && is_literal(it))
        numeric_value(v, it, num);
      else if (num >= 0)
        tg__cat_problem(v->problems, ptr_of(it), "%s must be a number, not a node",
                        numeric[num].name);
      if (is_literal(it)) {
        const char *lang = json_string_value(json_object_get(it, "@language"));
        const char *t = lit_type(it);
        if (lang != NULL && !tg__cat_lang_ok(lang))
          tg__cat_problem(v->problems, ptr_of(it), "'%.40s' is not a language tag", lang);
        int dt = t && strcmp(t, NS_XSD "dateTime") == 0;
        if (t != NULL && (dt || strcmp(t, NS_XSD "date") == 0) &&
            (lit_str(it) == NULL || tg__cat_xsd_time(lit_str(it), dt, NULL) != 0)) {
          char sug[64];
          int r = lit_str(it) ? tg__cat_date_suggest(lit_str(it), sug, sizeof(sug)) : 0;
          tg__cat_problem(v->problems, ptr_of(it),
                          "'%.80s' is not a valid %s (ISO 8601 %s, a real calendar date)",
                          lit_str(it) ? lit_str(it) : "", dt ? "xsd:dateTime" : "xsd:date",
                          dt ? "YYYY-MM-DDThh:mm:ss with optional zone" : "YYYY-MM-DD");
          if (r)
            date_suggestion(v, sug, r);
        }
      } else {
        check_walk(v, it, in_dist || is_dist);
      }
    }
  }
}

/* ---- compaction into the canonical form ---- */

static const char *const always_array[] = {
    NS_DCT "title",        NS_DCT "description",  NS_DCAT "keyword", NS_DCAT "theme",
    NS_DCAT "distribution", NS_DCAT "contactPoint", NS_DCT "spatial", NS_DCT "temporal",
    NS_ODRL "permission",  NULL};

static json_t *compact_node(const json_t *node, int root);

static json_t *compact_item(const json_t *it) {
  if (!is_literal(it))
    return compact_node(it, 0);
  const json_t *val = json_object_get(it, "@value");
  const char *t = lit_type(it), *lang = json_string_value(json_object_get(it, "@language"));
  if (t == NULL && lang == NULL)
    return json_incref((json_t *)val);
  json_t *o = json_object();
  json_object_set(o, "@value", (json_t *)val);
  if (lang != NULL) {
    char l[64];
    snprintf(l, sizeof(l), "%s", lang);
    for (char *c = l; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c - 'A' + 'a');
    json_object_set_new(o, "@language", json_string(l));
  }
  if (t != NULL) {
    char *ct = tg__cat_compact_iri(t);
    json_object_set_new(o, "@type", json_string(ct ? ct : t));
    free(ct);
  }
  return o;
}

static json_t *compact_id(const char *id) {
  /* Data IRIs in tsunagu's own urn space stay whole; vocabulary IRIs
   * (odrl:use, ...) are compacted like the brief's examples. */
  if (strncmp(id, "urn:tsunagu:", 12) == 0)
    return json_string(id);
  char *c = tg__cat_compact_iri(id);
  json_t *s = json_string(c ? c : id);
  free(c);
  return s;
}

static json_t *compact_node(const json_t *node, int root) {
  json_t *out = json_object();
  if (out == NULL)
    return NULL;
  if (root)
    json_object_set_new(out, "@context", tg_cat_context());
  const char *id = id_of(node);
  if (id != NULL)
    json_object_set_new(out, "@id", compact_id(id));
  json_t *types = json_object_get(node, "@type");
  if (json_array_size(types) > 0) {
    json_t *ct = json_array();
    for (size_t i = 0; i < json_array_size(types); i++) {
      char *c = tg__cat_compact_iri(json_string_value(json_array_get(types, i)));
      json_array_append_new(ct, json_string(c ? c : ""));
      free(c);
    }
    if (json_array_size(ct) == 1)
      json_object_set(out, "@type", json_array_get(ct, 0));
    else
      json_object_set(out, "@type", ct);
    json_decref(ct);
  }
  const char *k;
  json_t *arr;
  json_object_foreach((json_t *)node, k, arr) {
    if (k[0] == '@' || json_array_size(arr) == 0)
      continue;
    char *ck = tg__cat_compact_iri(k);
    if (ck == NULL)
      continue;
    if (json_array_size(arr) == 1 && !is_one_of(k, always_array)) {
      json_object_set_new(out, ck, compact_item(json_array_get(arr, 0)));
    } else {
      json_t *a = json_array();
      for (size_t i = 0; i < json_array_size(arr); i++)
        json_array_append_new(a, compact_item(json_array_get(arr, i)));
      json_object_set_new(out, ck, a);
    }
    free(ck);
  }
  return out;
}

/* ---- entry points ---- */

int tg_cat_parse(const char *text, size_t len, json_t **out, json_t **problems) {
  json_error_t je;
  *out = NULL;
  if (problems != NULL)
    *problems = NULL;
  if (len > TG_CAT_MAX_DOC_BYTES) {
    if (problems != NULL && (*problems = json_array()) != NULL)
      tg__cat_problem(*problems, "", "the document is larger than %u bytes",
                      TG_CAT_MAX_DOC_BYTES);
    return TG_ETOOBIG;
  }
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL) {
    if (problems != NULL && (*problems = json_array()) != NULL) {
      tg__cat_problem(*problems, "", "not JSON: %s (line %d, column %d)", je.text, je.line,
                      je.column);
      /* Where, for programs too (a syntax error has no JSON pointer). */
      json_t *pr = json_array_get(*problems, 0);
      json_object_set_new(pr, "line", json_integer(je.line));
      json_object_set_new(pr, "column", json_integer(je.column));
    }
    return TG_EINVAL;
  }
  *out = j;
  return 0;
}

static int json_depth_ok(const json_t *j, int depth) {
  if (depth > TG_CAT_MAX_DEPTH + 4)
    return 0;
  const char *k;
  json_t *v;
  if (json_is_object(j)) {
    json_object_foreach((json_t *)j, k, v) if (!json_depth_ok(v, depth + 1)) return 0;
  } else if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++)
      if (!json_depth_ok(json_array_get(j, i), depth + 1))
        return 0;
  }
  return 1;
}

static int validate_jsonld(const json_t *in, const struct tg_cat_vopts *opts, json_t **canonical,
                           json_t **problems) {
  struct val v;
  int rc = 0;
  if (canonical != NULL)
    *canonical = NULL;
  if (problems != NULL)
    *problems = NULL;
  v.problems = json_array();
  if (v.problems == NULL)
    return TG_ENOMEM;
  v.in = in;
  v.schemes = opts && opts->theme_schemes ? opts->theme_schemes : default_schemes;
  v.nschemes = opts && opts->theme_schemes ? opts->n_theme_schemes
                                           : sizeof(default_schemes) / sizeof(default_schemes[0]);
  json_t *e = NULL;
  if (json_dumpb(in, NULL, 0, JSON_COMPACT) > TG_CAT_MAX_DOC_BYTES) {
    tg__cat_problem(v.problems, "", "the document is larger than %u bytes", TG_CAT_MAX_DOC_BYTES);
    rc = TG_ETOOBIG;
  } else if (!json_depth_ok(in, 0)) {
    tg__cat_problem(v.problems, "", "the document is nested deeper than %d levels",
                    TG_CAT_MAX_DEPTH);
    rc = TG_ETOOBIG;
  } else {
    rc = tg__cat_expand(in, v.problems, &e);
  }
  if (e != NULL) {
    if (!has_type(e, NS_DCAT "Dataset"))
      missing(&v, e, "@type", "\"dcat:Dataset\"");
    if (id_of(e) != NULL && strncmp(id_of(e), "_:", 2) == 0)
      json_object_del(e, "@id");
    v_literals(&v, e, NS_DCT "title", "dct:title", 1, 20, TG_CAT_MAX_TITLE_BYTES, 1);
    v_literals(&v, e, NS_DCT "description", "dct:description", 1, 20, TG_CAT_MAX_LITERAL_BYTES, 1);
    v_literals(&v, e, NS_DCAT "keyword", "dcat:keyword", 0, TG_CAT_MAX_KEYWORDS,
               TG_CAT_MAX_TITLE_BYTES, 0);
    v_themes(&v, e);
    v_publisher(&v, e);
    v_contacts(&v, e);
    v_license(&v, e);
    v_spatial(&v, e);
    v_temporal(&v, e);
    v_date(&v, e, NS_DCT "issued", "dct:issued");
    v_date(&v, e, NS_DCT "modified", "dct:modified");
    v_distributions(&v, e);
    v_policy(&v, e);
    check_walk(&v, e, 0);
  }
  if (json_array_size(v.problems) > 0 || e == NULL) {
    if (rc == 0)
      rc = TG_EINVAL;
    if (json_array_size(v.problems) == 0)
      tg__cat_problem(v.problems, "", "the document could not be read");
  } else if (canonical != NULL) {
    *canonical = compact_node(e, 1);
    if (*canonical == NULL)
      rc = TG_ENOMEM;
  }
  json_decref(e);
  if (problems != NULL && rc != 0)
    *problems = v.problems;
  else
    json_decref(v.problems);
  return rc;
}

static json_t *strip_private(const json_t *j) {
  if (json_is_array(j)) {
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < json_array_size(j); i++)
      json_array_append_new(a, strip_private(json_array_get(j, i)));
    return a;
  }
  if (!json_is_object(j))
    return json_incref((json_t *)j);
  json_t *o = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)j, k, v) {
    if (o == NULL)
      break;
    if (strncmp(k, "tsunagu:", 8) == 0 || strncmp(k, NS_TG, strlen(NS_TG)) == 0)
      continue;
    if (strcmp(k, "@context") == 0)
      json_object_set(o, k, v);
    else
      json_object_set_new(o, k, strip_private(v));
  }
  return o;
}

json_t *tg_cat_public_view(const json_t *doc) { return strip_private(doc); }

/* The plain form: converted, then validated as the JSON-LD it became, with
 * the pointers of any problem found then put back into the plain input. */
static int validate_plain(const json_t *in, const struct tg_cat_vopts *opts, json_t **canonical,
                          json_t **problems) {
  json_t *probs = json_array(), *doc = NULL, *map = NULL;
  if (probs == NULL)
    return TG_ENOMEM;
  int rc = tg__cat_plain_convert(in, opts ? opts->node_id : NULL, probs, &doc, &map);
  if (rc == 0) {
    json_t *more = NULL;
    rc = validate_jsonld(doc, opts, canonical, &more);
    if (more != NULL) {
      tg__cat_plain_map_problems(more, map);
      json_array_extend(probs, more);
      json_decref(more);
    }
  } else if (json_array_size(probs) == 0) {
    tg__cat_problem(probs, "", "the document could not be read");
  }
  json_decref(doc);
  json_decref(map);
  if (problems != NULL && rc != 0)
    *problems = probs;
  else
    json_decref(probs);
  return rc;
}

int tg_cat_is_plain(const json_t *in) { return tg__cat_plain_is(in); }

int tg_cat_validate(const json_t *in, const struct tg_cat_vopts *opts, json_t **canonical,
                    json_t **problems) {
  if (canonical != NULL)
    *canonical = NULL;
  if (problems != NULL)
    *problems = NULL;
  /* The limits hold for the input as given, whichever form it is in. */
  if (tg__cat_plain_is(in) && json_dumpb(in, NULL, 0, JSON_COMPACT) <= TG_CAT_MAX_DOC_BYTES &&
      json_depth_ok(in, 0))
    return validate_plain(in, opts, canonical, problems);
  return validate_jsonld(in, opts, canonical, problems);
}
