/* cat_dsp: the catalog's documents in the Dataspace Protocol 2025-1 shapes:
 * a dcat:Dataset as a DSP Dataset, its canonical ODRL policies as DSP offers
 * in the DSP context's bare terms, a page of datasets as a DSP Catalog, and
 * the check of a CatalogRequestMessage. Pure JSON to JSON: the HTTP binding
 * is connector/routes/tg_routes_catalog.c; federated search reads peers'
 * DSP catalogs with the same shapes. */
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <stdio.h>
#include <string.h>

/* A key in the tsunagu: namespace, which never leaves the node. */
static int private_key(const char *k) {
  return strncmp(k, "tsunagu:", 8) == 0 || strncmp(k, NS_TG, strlen(NS_TG)) == 0;
}

/* The bare ODRL term of "odrl:use" or {"@id": "odrl:use"}. */
static json_t *odrl_term(json_t *v) {
  if (json_is_object(v) && json_object_get(v, "@id"))
    v = json_object_get(v, "@id");
  if (json_is_object(v) && json_object_get(v, "@value"))
    v = json_object_get(v, "@value");
  if (!json_is_string(v))
    return json_incref(v);
  const char *s = json_string_value(v);
  if (strncmp(s, "odrl:", 5) == 0)
    return json_string(s + 5);
  return json_string(s);
}

/* ODRL properties the DSP schemas want as arrays even with one member (the
 * canonical form keeps a single value bare). */
static int array_valued(const char *bare) {
  static const char *const keys[] = {"permission", "prohibition", "obligation", "duty",
                                     "constraint", "refinement", "and", "or",
                                     "xone", "andSequence", NULL};
  for (size_t i = 0; keys[i] != NULL; i++)
    if (strcmp(bare, keys[i]) == 0)
      return 1;
  return 0;
}

/* Converts a canonical odrl: structure to the DSP context's bare terms. TOP:
 * V is the policy itself, which a dataset offers: DSP wants it typed Offer
 * (whatever ODRL policy class it is: an Offer is what a catalog lists) and
 * without a target (the dataset is the target). Deeper, @type is data (a
 * typed literal's datatype) and stays. */
static json_t *dsp_odrl(json_t *v, int top) {
  if (json_is_array(v)) {
    json_t *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) json_array_append_new(a, dsp_odrl(e, 0));
    return a;
  }
  if (!json_is_object(v))
    return json_incref(v);
  if (json_object_size(v) == 1 && (json_object_get(v, "@id") || json_object_get(v, "@value")))
    return odrl_term(v);
  json_t *o = json_object();
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    if (private_key(k))
      continue;
    const char *bare = strncmp(k, "odrl:", 5) == 0 ? k + 5 : k;
    if (top && strcmp(k, "@type") == 0) {
      json_object_set_new(o, "@type", json_string("Offer"));
    } else if (top && strcmp(bare, "target") == 0) {
      continue;
    } else if (strcmp(bare, "action") == 0 || strcmp(bare, "leftOperand") == 0 ||
               strcmp(bare, "operator") == 0) {
      json_object_set_new(
          o, bare,
          odrl_term(json_is_array(e) && json_array_size(e) == 1 ? json_array_get(e, 0) : e));
    } else if (array_valued(bare) && !json_is_array(e)) {
      json_t *a = json_array();
      json_array_append_new(a, dsp_odrl(e, 0));
      json_object_set_new(o, bare, a);
    } else {
      json_object_set_new(o, bare, dsp_odrl(e, 0));
    }
  }
  if (top && json_object_get(o, "@type") == NULL)
    json_object_set_new(o, "@type", json_string("Offer"));
  return o;
}

json_t *tg_cat_dsp_offer(const json_t *policy) {
  if (policy == NULL)
    return NULL;
  return dsp_odrl((json_t *)policy, 1);
}

/* Rewrites ONE (a string in an "@id"/"@type" value) from a compact IRI of
 * the canonical context CTX to the full IRI. */
static void expand_curie(json_t *one, json_t *ctx) {
  const char *sv = json_string_value(one);
  const char *colon = sv ? strchr(sv, ':') : NULL;
  if (colon == NULL || colon - sv > 15 || strncmp(colon + 1, "//", 2) == 0)
    return;
  char pre[16];
  memcpy(pre, sv, (size_t)(colon - sv));
  pre[colon - sv] = '\0';
  const char *ns = json_string_value(json_object_get(ctx, pre));
  if (ns == NULL)
    return;
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_buf_printf(&b, "%s%s", ns, colon + 1) == 0 && tg_buf_append(&b, "", 1) == 0)
    json_string_set(one, b.data);
  tg_buf_close(&b); /* out of memory: the compact IRI stays */
}

/* Rewrites, in V (owned, modified in place), every "@id"/"@type" value that
 * is a compact IRI of the canonical context to the full IRI: the DSP context
 * does not declare the catalog's prefixes. */
static void expand_curies(json_t *v, json_t *ctx) {
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) expand_curies(e, ctx);
    return;
  }
  if (!json_is_object(v))
    return;
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    if (strcmp(k, "@id") != 0 && strcmp(k, "@type") != 0) {
      expand_curies(e, ctx);
      continue;
    }
    if (!json_is_array(e)) {
      expand_curie(e, ctx);
      continue;
    }
    for (size_t i = 0; i < json_array_size(e); i++)
      expand_curie(json_array_get(e, i), ctx);
  }
}

/* The DSP Distributions of DOC's dcat:distribution: one per distribution
 * (at least one), each served by NODE's DSP service. */
static json_t *dsp_distributions(const json_t *doc, const struct tg_cat_dsp_node *node) {
  json_t *dist = json_array();
  json_t *src = json_object_get(doc, "dcat:distribution");
  size_t n = json_is_array(src) ? json_array_size(src) : 0;
  for (size_t i = 0; i < (n ? n : 1); i++) {
    json_t *sd = json_array_get(src, i);
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "@type", "Distribution", "format",
                          "HttpData-PULL", "accessService", "@id", node->service_id, "@type",
                          "DataService", "endpointURL", node->endpoint);
    json_t *mt = json_object_get(sd, "dcat:mediaType");
    if (mt != NULL)
      json_object_set_new(o, "http://www.w3.org/ns/dcat#mediaType", json_deep_copy(mt));
    json_array_append_new(dist, o);
  }
  return dist;
}

json_t *tg_cat_dsp_dataset(const json_t *doc, const struct tg_cat_dsp_node *node, int standalone) {
  static const struct {
    const char *in, *out;
  } keep[] = {
      {"dct:title", "http://purl.org/dc/terms/title"},
      {"dct:description", "http://purl.org/dc/terms/description"},
      {"dcat:keyword", "http://www.w3.org/ns/dcat#keyword"},
      {"dct:modified", "http://purl.org/dc/terms/modified"},
  };
  if (doc == NULL || node == NULL)
    return NULL;
  json_t *d = json_object();
  if (standalone)
    json_object_set_new(d, "@context", json_pack("[s]", TG_CAT_DSP_CONTEXT));
  json_t *id = json_object_get(doc, "@id");
  if (id != NULL)
    json_object_set(d, "@id", id);
  json_object_set_new(d, "@type", json_string("Dataset"));
  for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
    json_t *v = json_object_get(doc, keep[i].in);
    if (v != NULL)
      json_object_set_new(d, keep[i].out, json_deep_copy(v));
  }
  json_t *pol = json_object_get(doc, "odrl:hasPolicy");
  json_t *hp = json_array();
  if (json_is_array(pol)) {
    size_t i;
    json_t *p;
    json_array_foreach(pol, i, p) json_array_append_new(hp, tg_cat_dsp_offer(p));
  } else if (json_is_object(pol)) {
    json_array_append_new(hp, tg_cat_dsp_offer(pol));
  }
  /* DSP offers are identified (PolicyClass requires @id): a policy given
   * without one is named after its dataset. */
  for (size_t i = 0; json_is_string(id) && i < json_array_size(hp); i++) {
    json_t *o = json_array_get(hp, i);
    if (json_is_object(o) && json_object_get(o, "@id") == NULL) {
      char pid[700];
      if (json_array_size(hp) > 1)
        snprintf(pid, sizeof(pid), "%s:policy:%zu", json_string_value(id), i + 1);
      else
        snprintf(pid, sizeof(pid), "%s:policy", json_string_value(id));
      json_object_set_new(o, "@id", json_string(pid));
    }
  }
  if (json_array_size(hp) == 0) { /* nothing to negotiate: not a DSP Dataset */
    json_decref(hp);
    json_decref(d);
    return NULL;
  }
  json_object_set_new(d, "hasPolicy", hp);
  json_object_set_new(d, "distribution", dsp_distributions(doc, node));
  json_t *ctx = tg_cat_context();
  expand_curies(d, ctx);
  json_decref(ctx);
  if (json_object_size(d) == 0) { /* out of memory on the way */
    json_decref(d);
    return NULL;
  }
  return d;
}

json_t *tg_cat_dsp_catalog(const json_t *list, const struct tg_cat_dsp_node *node) {
  if (list == NULL || node == NULL)
    return NULL;
  char cid[600];
  snprintf(cid, sizeof(cid), "%s:catalog", node->participant);
  json_t *ds = json_array();
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(list, "datasets"), i, d) {
    json_t *one = tg_cat_dsp_dataset(d, node, 0);
    if (one != NULL) /* one without an offer is not listed */
      json_array_append_new(ds, one);
  }
  json_t *cat = json_pack("{s:[s], s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "@context",
                          TG_CAT_DSP_CONTEXT, "@id", cid, "@type", "Catalog", "participantId",
                          node->participant, "service", "@id", node->service_id, "@type",
                          "DataService", "endpointURL", node->endpoint);
  if (cat != NULL && json_array_size(ds) > 0) /* the schema wants no empty list */
    json_object_set(cat, "dataset", ds);
  json_decref(ds);
  return cat;
}

/* Is V a non-empty filter? Absent, null, [] and {} are empty. */
static int filter_present(json_t *v) {
  if (v == NULL || json_is_null(v))
    return 0;
  if (json_is_array(v))
    return json_array_size(v) > 0;
  if (json_is_object(v))
    return json_object_size(v) > 0;
  if (json_is_string(v))
    return json_string_length(v) > 0;
  return 1;
}

/* Does @type T name the DSP message type WANT (bare, dspace:, or the full
 * 2025-1 or v0.8 IRI)? */
static int type_is(json_t *t, const char *want) {
  char pre[128], iri[160], iri08[160];
  snprintf(pre, sizeof(pre), "dspace:%s", want);
  snprintf(iri, sizeof(iri), "https://w3id.org/dspace/2025/1/%s", want);
  snprintf(iri08, sizeof(iri08), "https://w3id.org/dspace/v0.8/%s", want);
  if (json_is_array(t) && json_array_size(t) == 1)
    t = json_array_get(t, 0);
  const char *s = json_string_value(t);
  return s && (strcmp(s, want) == 0 || strcmp(s, pre) == 0 || strcmp(s, iri) == 0 ||
               strcmp(s, iri08) == 0);
}

int tg_cat_dsp_catalog_request_check(const json_t *msg, const char **reason) {
  const char *why = NULL;
  int rc = 0;
  if (!json_is_object(msg)) {
    why = "the body must be a CatalogRequestMessage JSON object";
    rc = TG_EINVAL;
  } else if (!type_is(json_object_get(msg, "@type"), "CatalogRequestMessage")) {
    why = "@type must be CatalogRequestMessage";
    rc = TG_EINVAL;
  } else {
    json_t *f = json_object_get(msg, "filter");
    if (f == NULL)
      f = json_object_get(msg, "dspace:filter");
    if (filter_present(f)) {
      why = "this catalog service supports no filter expressions";
      rc = TG_EUNSUP;
    }
  }
  if (reason != NULL)
    *reason = why;
  return rc;
}
