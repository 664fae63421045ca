/* tg_voc_skos: SKOS JSON-LD <-> a flat set of triples, and the validation of a
 * concept scheme against the SKOS reference shapes (S13, S14, S27, S46, disjoint
 * Concept/ConceptScheme, relation targets that are concepts). No database here. */
#include "tg_voc_int.h"
#include "tg_voc_store.h"

#include "tg_err.h"
#include "tg_jsonld.h"

#include <stdlib.h>
#include <string.h>

#define SKOS TG_VOC_NS_SKOS
#define DCT TG_VOC_NS_DCT
#define T_CONCEPT SKOS "Concept"
#define T_SCHEME SKOS "ConceptScheme"

const struct tg__voc_prop tg__voc_props[TG__VOC_P_N] = {
  [TG__VOC_P_TYPE] = {"type", 'r', 1},
  [TG__VOC_P_PREF] = {"prefLabel", 's', 0},
  [TG__VOC_P_ALT] = {"altLabel", 's', 0},
  [TG__VOC_P_HIDDEN] = {"hiddenLabel", 's', 0},
  [TG__VOC_P_NOTATION] = {"notation", 's', 0},
  [TG__VOC_P_DEFINITION] = {"definition", 's', 0},
  [TG__VOC_P_SCOPENOTE] = {"scopeNote", 's', 0},
  [TG__VOC_P_NOTE] = {"note", 's', 0},
  [TG__VOC_P_EXAMPLE] = {"example", 's', 0},
  [TG__VOC_P_BROADER] = {"broader", 's', 1},
  [TG__VOC_P_NARROWER] = {"narrower", 's', 1},
  [TG__VOC_P_RELATED] = {"related", 's', 1},
  [TG__VOC_P_BROADERT] = {"broaderTransitive", 's', 1},
  [TG__VOC_P_NARROWERT] = {"narrowerTransitive", 's', 1},
  [TG__VOC_P_EXACT] = {"exactMatch", 's', 1},
  [TG__VOC_P_CLOSE] = {"closeMatch", 's', 1},
  [TG__VOC_P_BROADM] = {"broadMatch", 's', 1},
  [TG__VOC_P_NARROWM] = {"narrowMatch", 's', 1},
  [TG__VOC_P_RELATEDM] = {"relatedMatch", 's', 1},
  [TG__VOC_P_INSCHEME] = {"inScheme", 's', 1},
  [TG__VOC_P_TOPOF] = {"topConceptOf", 's', 1},
  [TG__VOC_P_HASTOP] = {"hasTopConcept", 's', 1},
  [TG__VOC_P_TITLE] = {"title", 'd', 0},
  [TG__VOC_P_DESC] = {"description", 'd', 0},
  [TG__VOC_P_IDENT] = {"identifier", 'd', 0},
  [TG__VOC_P_CREATED] = {"created", 'd', 0},
  [TG__VOC_P_MODIFIED] = {"modified", 'd', 0},
  [TG__VOC_P_LICENSE] = {"license", 'd', 1},
  [TG__VOC_P_PUBLISHER] = {"publisher", 'd', 1},
};

enum { MAX_TRIPLES = 500000, MAX_VISIT = 100000, MAX_VISITS = 1000000 };

int tg__voc_prop_find(const char *name) {
  for (int i = 0; i < TG__VOC_P_N; i++)
    if (strcmp(tg__voc_props[i].name, name) == 0)
      return i;
  return -1;
}

/* The property an expanded JSON-LD key (a full IRI) names, or -1 for keys we
 * do not keep. */
static int prop_of_iri(const char *k) {
  static const struct {
    const char *ns;
    char code;
  } ns[] = {{SKOS, 's'}, {DCT, 'd'}};
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
    size_t n = strlen(ns[i].ns);
    if (strncmp(k, ns[i].ns, n) == 0) {
      int p = tg__voc_prop_find(k + n);
      return p >= 0 && p != TG__VOC_P_TYPE && tg__voc_props[p].ns == ns[i].code ? p : -1;
    }
  }
  return -1;
}

/* ---- building the graph ----------------------------------------------- */

void tg__voc_graph_init(struct tg__voc_graph *g) { memset(g, 0, sizeof(*g)); }

void tg__voc_graph_close(struct tg__voc_graph *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->t[i].s);
    free(g->t[i].o);
    free(g->t[i].lang);
  }
  free(g->t);
  free(g->scheme);
  tg__voc_graph_init(g);
}

int tg__voc_graph_add(struct tg__voc_graph *g, const char *s, int p, const char *o,
                      const char *lang, int iri) {
  if (g->n == MAX_TRIPLES)
    return TG_ETOOBIG;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 64;
    struct tg__voc_triple *t = realloc(g->t, cap * sizeof(*t));
    if (t == NULL)
      return TG_ENOMEM;
    g->t = t;
    g->cap = cap;
  }
  struct tg__voc_triple *t = &g->t[g->n];
  t->s = strdup(s);
  t->o = strdup(o);
  t->lang = strdup(lang ? lang : "");
  t->p = p;
  t->iri = iri;
  if (!t->s || !t->o || !t->lang) {
    free(t->s);
    free(t->o);
    free(t->lang);
    return TG_ENOMEM;
  }
  g->n++;
  return 0;
}

static int valid_iri(const char *s) {
  const char *colon = strchr(s, ':');
  if (colon == NULL || colon == s || strlen(s) > 2048)
    return 0;
  for (const char *p = s; p < colon; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (p > s && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
      return 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= 0x20 || strchr("<>\"{}|\\^`", *p) != NULL)
      return 0;
  return 1;
}

static int valid_lang(const char *s) {
  size_t run = 0, total = 0;
  for (; *s; s++, total++) {
    if (*s == '-') {
      if (run == 0)
        return 0;
      run = 0;
    } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
               (total > 0 && *s >= '0' && *s <= '9')) {
      if (++run > 8)
        return 0;
    } else {
      return 0;
    }
  }
  return run > 0 && total <= 35;
}

static int parse_node(struct tg__voc_graph *g, const json_t *node, int depth,
                      struct tg_err *err);

/* One expanded value V of IRI-valued property P of S: a node reference, or an
 * embedded node (described too). */
static int add_iri_value(struct tg__voc_graph *g, const char *s, int p, const json_t *v,
                         int depth, struct tg_err *err) {
  const char *o = json_string_value(json_object_get(v, "@id"));
  if (o == NULL || json_object_get(v, "@value") != NULL)
    return tg_err_set(err, TG_EINVAL, "%s: value of %s must be an IRI or {\"@id\": IRI} "
                                      "(a string is an IRI only where the context says "
                                      "\"@type\": \"@id\")", s, tg__voc_props[p].name);
  if (json_object_size(v) > 1) { /* an embedded node: describe it too */
    int rc = parse_node(g, v, depth + 1, err);
    if (rc)
      return rc;
  }
  if (!valid_iri(o))
    return tg_err_set(err, TG_EINVAL, "%s: %s value '%.200s' is not an absolute IRI", s,
                      tg__voc_props[p].name, o);
  int rc = tg__voc_graph_add(g, s, p, o, NULL, 1);
  return rc ? tg_err_set(err, rc, "%s: %s", s, tg_strerror(rc)) : 0;
}

/* One expanded value V of literal property P of S: a value object. */
static int add_literal_value(struct tg__voc_graph *g, const char *s, int p, const json_t *v,
                             struct tg_err *err) {
  json_t *jv = json_object_get(v, "@value");
  const char *val = json_string_value(jv);
  const char *lang = json_string_value(json_object_get(v, "@language"));
  char num[64];
  if (jv == NULL)
    return tg_err_set(err, TG_EINVAL, "%s: value of %s must be a string or a language-tagged "
                                      "literal", s, tg__voc_props[p].name);
  if (json_is_integer(jv)) {
    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(jv));
    val = num;
  }
  if (val == NULL)
    return tg_err_set(err, TG_EINVAL, "%s: %s @value must be a string", s,
                      tg__voc_props[p].name);
  if (lang != NULL && !valid_lang(lang))
    return tg_err_set(err, TG_EINVAL, "%s: '%.40s' is not a language tag (BCP 47)", s, lang);
  int rc = tg__voc_graph_add(g, s, p, val, lang, 0);
  return rc ? tg_err_set(err, rc, "%s: %s", s, tg_strerror(rc)) : 0;
}

/* The types of S (expanded: an array of IRIs). */
static int add_types(struct tg__voc_graph *g, const char *s, const json_t *types,
                     struct tg_err *err) {
  size_t i;
  json_t *t;
  json_array_foreach(types, i, t) {
    const char *o = json_string_value(t);
    if (o == NULL || !valid_iri(o))
      return tg_err_set(err, TG_EINVAL, "%s: type '%.200s' is not an absolute IRI", s,
                        o ? o : "");
    int rc = tg__voc_graph_add(g, s, TG__VOC_P_TYPE, o, NULL, 1);
    if (rc)
      return tg_err_set(err, rc, "%s: %s", s, tg_strerror(rc));
  }
  return 0;
}

static int parse_graph(struct tg__voc_graph *g, const json_t *nodes, int depth,
                       struct tg_err *err);

/* One node of the expanded document. */
static int parse_node(struct tg__voc_graph *g, const json_t *node, int depth,
                      struct tg_err *err) {
  const char *k, *s;
  json_t *v, *x;
  size_t i;
  int rc = 0;
  if (depth > 16)
    return tg_err_set(err, TG_EINVAL, "nodes nested too deeply");
  if (!json_is_object(node) || json_object_get(node, "@value") || json_object_get(node, "@list"))
    return tg_err_set(err, TG_EINVAL, "a graph node must be a JSON object");
  if (json_object_get(node, "@graph") != NULL &&
      (rc = parse_graph(g, json_object_get(node, "@graph"), depth + 1, err)) != 0)
    return rc;
  s = json_string_value(json_object_get(node, "@id"));
  if (s == NULL && json_object_get(node, "@graph") != NULL && json_object_size(node) == 1)
    return 0;
  if (s == NULL)
    return tg_err_set(err, TG_EINVAL, "a node without \"@id\" (blank nodes are not supported)");
  if (!valid_iri(s))
    return tg_err_set(err, TG_EINVAL, "'%.200s' is not an absolute IRI", s);
  if ((rc = add_types(g, s, json_object_get(node, "@type"), err)) != 0)
    return rc;
  json_object_foreach((json_t *)node, k, v) {
    int p = prop_of_iri(k);
    if (p < 0)
      continue;
    json_array_foreach(v, i, x) {
      rc = tg__voc_props[p].iri ? add_iri_value(g, s, p, x, depth, err)
                                : add_literal_value(g, s, p, x, err);
      if (rc)
        return rc;
    }
  }
  return 0;
}

static int parse_graph(struct tg__voc_graph *g, const json_t *nodes, int depth,
                       struct tg_err *err) {
  size_t i;
  json_t *x;
  json_array_foreach(nodes, i, x) {
    int rc = parse_node(g, x, depth, err);
    if (rc)
      return rc;
  }
  return 0;
}

/* 1 for the text properties whose bare term takes a language map. */
static int language_term(int p) {
  return p != TG__VOC_P_NOTATION && p != TG__VOC_P_IDENT && p != TG__VOC_P_CREATED &&
         p != TG__VOC_P_MODIFIED;
}

/* What a SKOS document may leave out of its @context, applied before its own
 * (which overrides it): the skos:/dct:/dcterms: prefixes and the bare SKOS
 * and Dublin Core terms, relations coerced to IRIs, text as language maps. */
static json_t *default_context(void) {
  json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "skos", SKOS, "dct", DCT,
                        "dcterms", DCT, "id", "@id", "type", "@type", "Concept", T_CONCEPT,
                        "ConceptScheme", T_SCHEME);
  for (int p = 0; c != NULL && p < TG__VOC_P_N; p++) {
    const struct tg__voc_prop *d = &tg__voc_props[p];
    char iri[128];
    if (p == TG__VOC_P_TYPE)
      continue;
    snprintf(iri, sizeof(iri), "%s%s", d->ns == 'd' ? DCT : SKOS, d->name);
    if (d->iri)
      json_object_set_new(c, d->name, json_pack("{s:s, s:s}", "@id", iri, "@type", "@id"));
    else if (language_term(p))
      json_object_set_new(c, d->name, json_pack("{s:s, s:s}", "@id", iri, "@container", "@language"));
    else
      json_object_set_new(c, d->name, json_string(iri));
  }
  return c;
}

/* DOC in JSON-LD expanded form (new reference in *OUT). */
static int expand_doc(const json_t *doc, json_t **out, struct tg_err *err) {
  /* Room for MAX_TRIPLES (a triple is two or three JSON values). */
  struct tg_jsonld_opts o = {.expand_context = default_context(), .max_depth = 64,
                             .max_nodes = 4 * MAX_TRIPLES};
  struct tg_err jerr = {0, ""};
  if (o.expand_context == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  if (!json_is_object(doc) && !json_is_array(doc)) {
    json_decref(o.expand_context);
    return tg_err_set(err, TG_EINVAL, "expected a JSON-LD node, an array of nodes or @graph");
  }
  int rc = tg_jsonld_expand((json_t *)doc, &o, out, &jerr);
  json_decref(o.expand_context);
  if (rc == TG_ENOMEM)
    return tg_err_set(err, rc, "out of memory");
  if (rc != 0)
    return tg_err_set(err, TG_EINVAL, "JSON-LD: %s", jerr.msg);
  return 0;
}

/* ---- sorting and lookup ----------------------------------------------- */

static int cmp_triple(const void *a, const void *b) {
  const struct tg__voc_triple *x = a, *y = b;
  int c = strcmp(x->s, y->s);
  if (c == 0)
    c = x->p - y->p;
  if (c == 0)
    c = strcmp(x->lang, y->lang);
  if (c == 0)
    c = strcmp(x->o, y->o);
  if (c == 0)
    c = x->iri - y->iri;
  return c;
}

void tg__voc_graph_sort(struct tg__voc_graph *g) {
  size_t w = 0;
  if (g->n == 0)
    return;
  qsort(g->t, g->n, sizeof(*g->t), cmp_triple);
  for (size_t i = 1; i < g->n; i++) { /* drop duplicates */
    if (cmp_triple(&g->t[w], &g->t[i]) == 0) {
      free(g->t[i].s);
      free(g->t[i].o);
      free(g->t[i].lang);
    } else {
      g->t[++w] = g->t[i];
    }
  }
  g->n = w + 1;
}

/* Index of the first triple with subject S and property P (or any property if P < 0),
 * or g->n. The graph must be sorted. */
static size_t first_of(const struct tg__voc_graph *g, const char *s, int p) {
  size_t lo = 0, hi = g->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(g->t[mid].s, s);
    if (c == 0 && p >= 0)
      c = g->t[mid].p - p;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < g->n && strcmp(g->t[lo].s, s) == 0 && (p < 0 || g->t[lo].p == p))
    return lo;
  return g->n;
}

/* 1 if (S P O) with language LANG (NULL: any) is in the sorted graph. */
static int has(const struct tg__voc_graph *g, const char *s, int p, const char *o,
               const char *lang) {
  for (size_t i = first_of(g, s, p); i < g->n && g->t[i].p == p && strcmp(g->t[i].s, s) == 0;
       i++)
    if (strcmp(g->t[i].o, o) == 0 && (lang == NULL || strcmp(g->t[i].lang, lang) == 0))
      return 1;
  return 0;
}

static int is_concept(const struct tg__voc_graph *g, const char *s) {
  return has(g, s, TG__VOC_P_TYPE, T_CONCEPT, NULL);
}

/* Triples stating skos:narrower(Transitive), ordered by object, to walk them upwards. */
struct up_index {
  size_t *idx; /* from malloc(): indices into the graph */
  size_t n;
  size_t visits; /* concepts visited by every reaches_up of one validation: at most
                    MAX_VISITS, so skos:related triples along a long broader chain
                    cannot make the check run for hours */
};

static int cmp_by_object(const void *a, const void *b, void *ud) {
  const struct tg__voc_graph *g = ud;
  return strcmp(g->t[*(const size_t *)a].o, g->t[*(const size_t *)b].o);
}

static int up_index_build(const struct tg__voc_graph *g, struct up_index *ix) {
  ix->n = 0;
  if ((ix->idx = malloc((g->n ? g->n : 1) * sizeof(*ix->idx))) == NULL)
    return TG_ENOMEM;
  for (size_t i = 0; i < g->n; i++)
    if (g->t[i].p == TG__VOC_P_NARROWER || g->t[i].p == TG__VOC_P_NARROWERT)
      ix->idx[ix->n++] = i;
  qsort_r(ix->idx, ix->n, sizeof(*ix->idx), cmp_by_object, (void *)g);
  return 0;
}

/* Pushes X onto the stack of concepts to visit; 0 or TG_ENOMEM. */
static int push(const char ***stack, size_t *sp, size_t *cap, const char *x) {
  if (*sp == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    const char **ns = realloc(*stack, nc * sizeof(*ns));
    if (ns == NULL)
      return TG_ENOMEM;
    *stack = ns;
    *cap = nc;
  }
  (*stack)[(*sp)++] = x;
  return 0;
}

/* 1 if TARGET is reachable from FROM going to broader concepts (skos:broader,
 * skos:broaderTransitive, or skos:narrower / narrowerTransitive stated the other way),
 * 0 if not, TG_ENOMEM. Cycles are allowed in SKOS and are walked once. */
static int reaches_up(const struct tg__voc_graph *g, struct up_index *ix, const char *from,
                      const char *target) {
  const char **stack = NULL;
  json_t *seen = json_object(); /* a hash set: a list searched per visit was quadratic */
  size_t sp = 0, cap = 0, nseen = 0;
  int found = 0, rc = seen ? push(&stack, &sp, &cap, from) : TG_ENOMEM;
  while (rc == 0 && sp > 0 && !found && nseen < MAX_VISIT) {
    const char *x = stack[--sp];
    if (json_object_get(seen, x) != NULL)
      continue;
    if (json_object_set_new_nocheck(seen, x, json_true()) != 0) {
      rc = TG_ENOMEM;
      continue;
    }
    nseen++;
    if (++ix->visits > MAX_VISITS + 20 * g->n) { /* large schemes get room in proportion */
      rc = TG_ETOOBIG;
      continue;
    }
    static const int ups[] = {TG__VOC_P_BROADER, TG__VOC_P_BROADERT};
    for (size_t u = 0; u < 2 && rc == 0; u++)
      for (size_t i = first_of(g, x, ups[u]), p = (size_t)ups[u];
           rc == 0 && i < g->n && (size_t)g->t[i].p == p && strcmp(g->t[i].s, x) == 0; i++) {
        found |= strcmp(g->t[i].o, target) == 0;
        rc = push(&stack, &sp, &cap, g->t[i].o);
      }
    size_t lo = 0, hi = ix->n; /* first narrower statement whose object is X */
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (strcmp(g->t[ix->idx[mid]].o, x) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (; rc == 0 && lo < ix->n && strcmp(g->t[ix->idx[lo]].o, x) == 0; lo++) {
      found |= strcmp(g->t[ix->idx[lo]].s, target) == 0;
      rc = push(&stack, &sp, &cap, g->t[ix->idx[lo]].s);
    }
  }
  free(stack);
  json_decref(seen);
  return rc ? rc : found;
}

int tg__voc_is_stub(const struct tg__voc_graph *g, size_t i) {
  const struct tg__voc_triple *t = &g->t[i];
  return t->p == TG__VOC_P_TYPE && strcmp(t->o, T_CONCEPT) == 0 &&
         (i == 0 || strcmp(g->t[i - 1].s, t->s) != 0) &&
         (i + 1 == g->n || strcmp(g->t[i + 1].s, t->s) != 0);
}

/* ---- validation ------------------------------------------------------- */

static int check_node_types(struct tg__voc_graph *g, struct tg_err *err) {
  const char *scheme = NULL;
  for (size_t i = 0; i < g->n;) {
    const char *s = g->t[i].s;
    int c = is_concept(g, s), sc = has(g, s, TG__VOC_P_TYPE, T_SCHEME, NULL);
    if (c && sc)
      return tg_err_set(err, TG_EINVAL, "%s: skos:Concept and skos:ConceptScheme are disjoint "
                                        "classes; the node is typed as both", s);
    if (!c && !sc)
      return tg_err_set(err, TG_EINVAL, "%s: needs \"@type\": skos:Concept or "
                                        "skos:ConceptScheme", s);
    if (sc) {
      if (scheme != NULL)
        return tg_err_set(err, TG_EINVAL, "%s: a document holds one skos:ConceptScheme (also "
                                          "%s)", s, scheme);
      scheme = s;
    }
    while (i < g->n && strcmp(g->t[i].s, s) == 0)
      i++;
  }
  if (scheme == NULL)
    return tg_err_set(err, TG_EINVAL, "no skos:ConceptScheme in the document");
  g->scheme = strdup(scheme);
  return g->scheme ? 0 : TG_ENOMEM;
}

static int check_triple(const struct tg__voc_graph *g, struct up_index *ix, size_t i,
                        struct tg_err *err) {
  const struct tg__voc_triple *t = &g->t[i];
  const char *pn = tg__voc_props[t->p].name;
  switch (t->p) {
  case TG__VOC_P_PREF:
    if (t->lang[0] == '\0')
      return tg_err_set(err, TG_EINVAL, "%s: S14: skos:prefLabel \"%.100s\" needs a language "
                                        "tag (rdf:langString)", t->s, t->o);
    if (i + 1 < g->n && g->t[i + 1].p == t->p && strcmp(g->t[i + 1].s, t->s) == 0 &&
        strcmp(g->t[i + 1].lang, t->lang) == 0)
      return tg_err_set(err, TG_EINVAL, "%s: S14: more than one skos:prefLabel in language "
                                        "'%s' (\"%.100s\", \"%.100s\")", t->s, t->lang, t->o,
                        g->t[i + 1].o);
    break;
  case TG__VOC_P_ALT:
  case TG__VOC_P_HIDDEN:
    if (has(g, t->s, TG__VOC_P_PREF, t->o, t->lang) ||
        (t->p == TG__VOC_P_HIDDEN && has(g, t->s, TG__VOC_P_ALT, t->o, t->lang)))
      return tg_err_set(err, TG_EINVAL, "%s: S13: \"%.100s\"@%s is both skos:%s and another "
                                        "label; prefLabel, altLabel and hiddenLabel are "
                                        "pairwise disjoint", t->s, t->o, t->lang, pn);
    break;
  case TG__VOC_P_EXACT:
    if (has(g, t->s, TG__VOC_P_BROADM, t->o, NULL) ||
        has(g, t->s, TG__VOC_P_NARROWM, t->o, NULL) ||
        has(g, t->s, TG__VOC_P_RELATEDM, t->o, NULL))
      return tg_err_set(err, TG_EINVAL, "%s: S46: skos:exactMatch %s is disjoint with "
                                        "skos:broadMatch, narrowMatch and relatedMatch", t->s,
                        t->o);
    break;
  case TG__VOC_P_RELATED: {
    int up = strcmp(t->s, t->o) == 0 ? 1 : reaches_up(g, ix, t->s, t->o);
    if (up == 0)
      up = reaches_up(g, ix, t->o, t->s);
    if (up == TG_ETOOBIG)
      return tg_err_set(err, up, "S27: the scheme's skos:related and broader statements are "
                                 "too many to check against each other (more than %zu steps)",
                        (size_t)MAX_VISITS + 20 * g->n);
    if (up < 0)
      return tg_err_set(err, up, "out of memory");
    if (up)
      return tg_err_set(err, TG_EINVAL, "%s: S27: skos:related %s, which is also broader or "
                                        "narrower (transitively); related is disjoint with "
                                        "broaderTransitive", t->s, t->o);
    break;
  }
  default:
    break;
  }
  switch (t->p) {
  case TG__VOC_P_BROADER:
  case TG__VOC_P_NARROWER:
  case TG__VOC_P_RELATED:
  case TG__VOC_P_BROADERT:
  case TG__VOC_P_NARROWERT:
    if (!is_concept(g, t->o))
      return tg_err_set(err, TG_EINVAL, "%s: skos:%s %s: the target must be a skos:Concept of "
                                        "this scheme", t->s, pn, t->o);
    /* the subject must be a concept too, as for the mapping properties */
    __attribute__((fallthrough));
  case TG__VOC_P_EXACT:
  case TG__VOC_P_CLOSE:
  case TG__VOC_P_BROADM:
  case TG__VOC_P_NARROWM:
  case TG__VOC_P_RELATEDM:
  case TG__VOC_P_TOPOF:
  case TG__VOC_P_INSCHEME:
    if (!is_concept(g, t->s))
      return tg_err_set(err, TG_EINVAL, "%s: skos:%s is a property of concepts", t->s, pn);
    if ((t->p == TG__VOC_P_TOPOF || t->p == TG__VOC_P_INSCHEME) && strcmp(t->o, g->scheme))
      return tg_err_set(err, TG_EINVAL, "%s: skos:%s %s, but this document's scheme is %s",
                        t->s, pn, t->o, g->scheme);
    break;
  case TG__VOC_P_HASTOP:
    if (strcmp(t->s, g->scheme) != 0 || !is_concept(g, t->o))
      return tg_err_set(err, TG_EINVAL, "%s: skos:hasTopConcept %s: needs the scheme as "
                                        "subject and a concept as object", t->s, t->o);
    break;
  default:
    break;
  }
  return 0;
}

/* Top concepts are stated both ways, then every concept described here is put in
 * the scheme (added when missing). A bare typed reference (a stub) is a concept of
 * another scheme and stays out; a top concept never is one. */
static int complete_scheme(struct tg__voc_graph *g) {
  size_t n = g->n;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const struct tg__voc_triple *t = &g->t[i];
    if (t->p == TG__VOC_P_TOPOF && !has(g, g->scheme, TG__VOC_P_HASTOP, t->s, NULL))
      rc = tg__voc_graph_add(g, g->scheme, TG__VOC_P_HASTOP, t->s, NULL, 1);
    else if (t->p == TG__VOC_P_HASTOP && !has(g, t->o, TG__VOC_P_TOPOF, g->scheme, NULL))
      rc = tg__voc_graph_add(g, t->o, TG__VOC_P_TOPOF, g->scheme, NULL, 1);
  }
  if (rc != 0)
    return rc;
  tg__voc_graph_sort(g);
  n = g->n;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const struct tg__voc_triple *t = &g->t[i];
    if (t->p == TG__VOC_P_TYPE && strcmp(t->o, T_CONCEPT) == 0 && !tg__voc_is_stub(g, i) &&
        !has(g, t->s, TG__VOC_P_INSCHEME, g->scheme, NULL))
      rc = tg__voc_graph_add(g, t->s, TG__VOC_P_INSCHEME, g->scheme, NULL, 1);
  }
  if (rc == 0)
    tg__voc_graph_sort(g);
  return rc;
}

int tg__voc_graph_from_jsonld(const json_t *doc, struct tg__voc_graph *g, struct tg_err *err) {
  json_t *expanded = NULL;
  size_t i;
  tg__voc_graph_init(g);
  int rc = expand_doc(doc, &expanded, err);
  if (rc == 0)
    rc = parse_graph(g, expanded, 0, err);
  json_decref(expanded);
  if (rc == 0) {
    tg__voc_graph_sort(g);
    rc = check_node_types(g, err);
  }
  if (rc == 0) {
    struct up_index ix = {NULL, 0, 0};
    if ((rc = up_index_build(g, &ix)) != 0)
      tg_err_set(err, rc, "out of memory");
    for (i = 0; rc == 0 && i < g->n; i++)
      rc = check_triple(g, &ix, i, err);
    free(ix.idx);
  }
  if (rc == 0 && (rc = complete_scheme(g)) != 0)
    tg_err_set(err, rc, "%s", tg_strerror(rc));
  if (rc != 0)
    tg__voc_graph_close(g);
  return rc;
}

int tg_voc_scheme_validate(const json_t *doc, struct tg_err *err) {
  struct tg__voc_graph g;
  int rc = tg__voc_graph_from_jsonld(doc, &g, err);
  if (rc == 0)
    tg__voc_graph_close(&g);
  return rc;
}

/* ---- export ----------------------------------------------------------- */

static json_t *term_value(const struct tg__voc_triple *t) {
  if (t->iri)
    return json_pack("{s:s}", "@id", t->o);
  if (t->lang[0])
    return json_pack("{s:s, s:s}", "@value", t->o, "@language", t->lang);
  return json_string(t->o);
}

static const char *compact_type(const char *iri) {
  if (strcmp(iri, T_CONCEPT) == 0)
    return "skos:Concept";
  if (strcmp(iri, T_SCHEME) == 0)
    return "skos:ConceptScheme";
  return iri;
}

/* The node for subject range [A, B) of the sorted graph (new reference). */
json_t *tg__voc_node_json(const struct tg__voc_graph *g, size_t a, size_t b) {
  json_t *node = json_pack("{s:s}", "@id", g->t[a].s), *types = json_array();
  char key[64];
  if (node == NULL || types == NULL) {
    json_decref(node);
    json_decref(types);
    return NULL;
  }
  json_object_set_new(node, "@type", types);
  for (size_t i = a; i < b; i++) {
    const struct tg__voc_triple *t = &g->t[i];
    if (t->p == TG__VOC_P_TYPE) {
      json_array_append_new(types, json_string(compact_type(t->o)));
      continue;
    }
    snprintf(key, sizeof(key), "%s:%s", tg__voc_props[t->p].ns == 'd' ? "dct" : "skos",
             tg__voc_props[t->p].name);
    json_t *arr = json_object_get(node, key);
    if (arr == NULL) {
      arr = json_array();
      json_object_set_new(node, key, arr);
    }
    json_array_append_new(arr, term_value(t));
  }
  if (json_array_size(types) == 1)
    json_object_set(node, "@type", json_array_get(types, 0));
  return node;
}

json_t *tg__voc_graph_to_jsonld(const struct tg__voc_graph *g) {
  json_t *doc = json_pack("{s:{s:s, s:s}, s:[]}", "@context", "skos", SKOS, "dct", DCT,
                          "@graph");
  json_t *graph = json_object_get(doc, "@graph"), *stubs = json_object();
  if (doc == NULL || stubs == NULL) {
    json_decref(doc);
    json_decref(stubs);
    return NULL;
  }
  /* The scheme first, then the concepts in URI order. */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < g->n;) {
      size_t j = i;
      while (j < g->n && strcmp(g->t[j].s, g->t[i].s) == 0)
        j++;
      int is_scheme = g->scheme && strcmp(g->t[i].s, g->scheme) == 0;
      if (is_scheme == (pass == 0))
        json_array_append_new(graph, tg__voc_node_json(g, i, j));
      for (size_t k = i; pass == 1 && k < j; k++) {
        int p = g->t[k].p;
        if (p >= TG__VOC_P_BROADER && p <= TG__VOC_P_RELATEDM &&
            first_of(g, g->t[k].o, -1) == g->n)
          json_object_set_new(stubs, g->t[k].o, json_true());
      }
      i = j;
    }
  }
  /* Mapping targets in other schemes are typed, as the shapes expect of them. */
  const char *k;
  json_t *v;
  json_object_foreach(stubs, k, v) {
    json_array_append_new(graph, json_pack("{s:s, s:s}", "@id", k, "@type", "skos:Concept"));
  }
  json_decref(stubs);
  return doc;
}
