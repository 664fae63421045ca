/* test_validate: catalog dataset validation and canonical form: the
 * data-driven cases in tests/cases/catalog/validate/ and, for the plain JSON
 * form, tests/cases/catalog/plain/ (with "equivalent": the hand-written
 * JSON-LD that must give the same canonical bytes) plus round trips, the
 * DCAT-AP context form, contexts the node refuses, the public view, dates
 * and the ODRL decision. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_cat.h"
#include "tg_err.h"

static char case_dir[4096];

static json_t *load_case(const char *name) {
  char path[4600];
  json_error_t je;
  snprintf(path, sizeof(path), "%s/%s", case_dir, name);
  json_t *j = json_load_file(path, 0, &je);
  if (j == NULL)
    fail_msg("%s: %s", path, je.text);
  return j;
}

/* Sorted, newline-joined pointers of a problems array (for messages). */
static int has_pointer(const json_t *problems, const char *ptr) {
  for (size_t i = 0; i < json_array_size(problems); i++)
    if (strcmp(json_string_value(json_object_get(json_array_get(problems, i), "pointer")), ptr) ==
        0)
      return 1;
  return 0;
}

static void dump_problems(const char *name, const json_t *problems) {
  char *s = json_dumps(problems, JSON_INDENT(1));
  print_message("# %s problems: %s\n", name, s ? s : "?");
  free(s);
}

/* 1 if some problem's detail contains TEXT. */
static int has_detail(json_t *problems, const char *text) {
  for (size_t i = 0; i < json_array_size(problems); i++) {
    const char *d = json_string_value(json_object_get(json_array_get(problems, i), "detail"));
    if (d != NULL && strstr(d, text) != NULL)
      return 1;
  }
  return 0;
}

/* One data-driven case: {"input", "valid": true, "expect": {...}} or
 * {"input", "error": [pointers], "code": "unsup"|"toobig", "detail": [texts
 * that some problem's detail contains]}. */
static void run_case(void **state) {
  const char *name = *state;
  json_t *c = load_case(name);
  json_t *in = json_object_get(c, "input");
  json_t *canon = NULL, *problems = NULL;
  int rc = tg_cat_validate(in, NULL, &canon, &problems);
  if (json_is_true(json_object_get(c, "valid"))) {
    if (rc != 0)
      dump_problems(name, problems);
    assert_int_equal(rc, 0);
    assert_non_null(canon);
    assert_null(problems);
    /* What comes out is stable: validating the canonical form again gives it back. */
    json_t *again = NULL;
    assert_int_equal(tg_cat_validate(canon, NULL, &again, NULL), 0);
    if (!json_equal(canon, again)) {
      char *a = json_dumps(canon, JSON_SORT_KEYS), *b = json_dumps(again, JSON_SORT_KEYS);
      print_message("# first:  %s\n# second: %s\n", a, b);
      free(a);
      free(b);
      fail();
    }
    json_decref(again);
    /* A plain-form case names its hand-written JSON-LD equivalent: both
     * must give the very same canonical document, byte for byte. */
    json_t *eq = json_object_get(c, "equivalent");
    if (eq != NULL) {
      json_t *ecanon = NULL, *eprob = NULL;
      if (tg_cat_validate(eq, NULL, &ecanon, &eprob) != 0)
        dump_problems(name, eprob);
      assert_non_null(ecanon);
      char *a = json_dumps(canon, JSON_SORT_KEYS | JSON_COMPACT);
      char *b = json_dumps(ecanon, JSON_SORT_KEYS | JSON_COMPACT);
      if (strcmp(a, b) != 0) {
        print_message("# plain:  %s\n# JSON-LD: %s\n", a, b);
        fail();
      }
      free(a);
      free(b);
      json_decref(ecanon);
      json_decref(eprob);
    }
    const char *k;
    json_t *want;
    json_object_foreach(json_object_get(c, "expect"), k, want) {
      json_t *got = json_object_get(canon, k);
      if (!json_equal(got, want)) {
        char *a = json_dumps(got, JSON_SORT_KEYS), *b = json_dumps(want, JSON_SORT_KEYS);
        print_message("# %s: %s = %s, want %s\n", name, k, a ? a : "(none)", b);
        free(a);
        free(b);
        fail();
      }
    }
  } else {
    json_t *want = json_object_get(c, "error");
    assert_true(json_is_array(want));
    assert_int_not_equal(rc, 0);
    assert_null(canon);
    assert_non_null(problems);
    const char *code = json_string_value(json_object_get(c, "code"));
    if (code != NULL && strcmp(code, "unsup") == 0)
      assert_int_equal(rc, TG_EUNSUP);
    else if (code != NULL && strcmp(code, "toobig") == 0)
      assert_int_equal(rc, TG_ETOOBIG);
    else
      assert_int_equal(rc, TG_EINVAL);
    int ok = 1;
    for (size_t i = 0; i < json_array_size(want); i++)
      if (!has_pointer(problems, json_string_value(json_array_get(want, i)))) {
        print_message("# %s: no problem at %s\n", name, json_string_value(json_array_get(want, i)));
        ok = 0;
      }
    for (size_t i = 0; i < json_array_size(problems); i++) {
      const char *p = json_string_value(json_object_get(json_array_get(problems, i), "pointer"));
      int found = 0;
      for (size_t k = 0; k < json_array_size(want); k++)
        found |= strcmp(p, json_string_value(json_array_get(want, k))) == 0;
      if (!found) {
        print_message("# %s: unexpected problem at %s\n", name, p);
        ok = 0;
      }
    }
    json_t *texts = json_object_get(c, "detail");
    for (size_t i = 0; i < json_array_size(texts); i++)
      if (!has_detail(problems, json_string_value(json_array_get(texts, i)))) {
        print_message("# %s: no detail with '%s'\n", name, json_string_value(json_array_get(texts, i)));
        ok = 0;
      }
    /* Suggestions ("did you mean") that some problem must carry. */
    texts = json_object_get(c, "suggestion");
    for (size_t i = 0; i < json_array_size(texts); i++) {
      const char *want_s = json_string_value(json_array_get(texts, i));
      int found = 0;
      for (size_t k = 0; k < json_array_size(problems); k++) {
        const char *sg =
            json_string_value(json_object_get(json_array_get(problems, k), "suggestion"));
        found |= sg != NULL && strcmp(sg, want_s) == 0;
      }
      if (!found) {
        print_message("# %s: no suggestion %s\n", name, want_s);
        ok = 0;
      }
    }
    if (!ok)
      dump_problems(name, problems);
    assert_true(ok);
  }
  json_decref(canon);
  json_decref(problems);
  json_decref(c);
}

/* ---- fixed tests ---- */

static const char *DCATAP_DOC =
    "{\"@context\": \"https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld\","
    " \"@type\": \"Dataset\", \"title\": [\"Dam release\"], \"description\": \"ダム放流情報\","
    " \"theme\": \"http://publications.europa.eu/resource/authority/data-theme/ENVI\","
    " \"publisher\": {\"@type\": \"Agent\", \"name\": \"B町\"},"
    " \"releaseDate\": {\"@value\": \"2024-02-29\", \"@type\": "
    "\"http://www.w3.org/2001/XMLSchema#date\"},"
    " \"datasetDistribution\": [{\"@type\": \"Distribution\", \"accessUrl\": "
    "\"https://b-town.example.jp/dam\"}]}";

static json_t *parse(const char *s) {
  json_t *j = json_loads(s, 0, NULL);
  assert_non_null(j);
  return j;
}

static void test_dcatap_context(void **state) {
  (void)state;
  json_t *in = parse(DCATAP_DOC), *canon = NULL, *problems = NULL;
  int rc = tg_cat_validate(in, NULL, &canon, &problems);
  if (rc)
    dump_problems("dcatap", problems);
  assert_int_equal(rc, 0);
  /* Unprefixed DCAT-AP terms come out as the same canonical prefixed form. */
  assert_string_equal(json_string_value(json_object_get(canon, "@type")), "dcat:Dataset");
  json_t *t = json_array_get(json_object_get(canon, "dct:title"), 0);
  assert_string_equal(json_string_value(t), "Dam release");
  json_t *th = json_array_get(json_object_get(canon, "dcat:theme"), 0);
  assert_string_equal(json_string_value(json_object_get(th, "@id")),
                      "http://publications.europa.eu/resource/authority/data-theme/ENVI");
  json_t *d = json_array_get(json_object_get(canon, "dcat:distribution"), 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(d, "dcat:accessURL"), "@id")),
                      "https://b-town.example.jp/dam");
  assert_string_equal(json_string_value(json_object_get(d, "tsunagu:mode")), "accumulated");
  json_t *issued = json_object_get(canon, "dct:issued");
  assert_string_equal(json_string_value(json_object_get(issued, "@type")), "xsd:date");
  /* A default policy: federation members may use. */
  json_t *pol = json_object_get(canon, "odrl:hasPolicy");
  assert_non_null(pol);
  struct tg_cat_access req = {.node_id = "c-village", .now = 1700000000, .is_federation_member = 1};
  struct tg_cat_decision dec;
  assert_int_equal(tg_cat_policy_decide(pol, &req, &dec), 0);
  assert_int_equal(dec.verdict, TG_CAT_PERMIT);
  req.is_federation_member = 0;
  assert_int_equal(tg_cat_policy_decide(pol, &req, &dec), 0);
  assert_int_equal(dec.verdict, TG_CAT_DENY);
  json_decref(canon);
  json_decref(in);
}

static void test_unknown_context(void **state) {
  (void)state;
  json_t *in = parse("{\"@context\": \"https://example.org/ctx.jsonld\", \"@type\": \"Dataset\","
                     " \"title\": \"x\"}");
  json_t *canon = NULL, *problems = NULL;
  assert_int_equal(tg_cat_validate(in, NULL, &canon, &problems), TG_EUNSUP);
  assert_null(canon);
  assert_true(has_pointer(problems, "/@context"));
  assert_true(has_detail(problems, "https://example.org/ctx.jsonld"));
  json_decref(problems);
  json_decref(in);
  /* @vocab is JSON-LD 1.1: "Dataset" is then http://example.org/Dataset, not
   * dcat:Dataset, and the document is an ordinary invalid one. */
  in = parse("{\"@context\": {\"@vocab\": \"http://example.org/\"}, \"@type\": \"Dataset\"}");
  assert_int_equal(tg_cat_validate(in, NULL, &canon, &problems), TG_EINVAL);
  assert_true(has_pointer(problems, "/@type"));
  json_decref(problems);
  json_decref(in);
}

static void test_public_view(void **state) {
  (void)state;
  json_t *c = load_case("validate/ok_prefixed.json");
  json_t *canon = NULL;
  assert_int_equal(tg_cat_validate(json_object_get(c, "input"), NULL, &canon, NULL), 0);
  json_t *d = json_array_get(json_object_get(canon, "dcat:distribution"), 0);
  assert_string_equal(json_string_value(json_object_get(d, "tsunagu:mode")), "distributed");
  assert_non_null(json_object_get(d, "tsunagu:backend"));
  json_t *pub = tg_cat_public_view(canon);
  char *s = json_dumps(pub, 0);
  assert_null(strstr(s, "tsunagu:mode"));
  assert_null(strstr(s, "tsunagu:backend"));
  assert_null(strstr(s, "127.0.0.1"));
  assert_non_null(strstr(s, "dcat:accessURL"));
  free(s);
  json_decref(pub);
  json_decref(canon);
  json_decref(c);
}

static void test_parse_limits(void **state) {
  (void)state;
  size_t n = TG_CAT_MAX_DOC_BYTES + 10;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  json_t *out = NULL, *problems = NULL;
  assert_int_equal(tg_cat_parse(big, n, &out, &problems), TG_ETOOBIG);
  assert_null(out);
  assert_int_equal(json_array_size(problems), 1);
  json_decref(problems);
  assert_int_equal(tg_cat_parse(big, 100, &out, &problems), TG_EINVAL);
  json_decref(problems);
  /* The same limit applies to an already parsed document. */
  json_t *doc = json_pack("{s:s, s:s}", "@type", "x", "d", "");
  char *pad = calloc(TG_CAT_MAX_DOC_BYTES + 2, 1);
  memset(pad, 'x', TG_CAT_MAX_DOC_BYTES + 1);
  json_object_set_new(doc, "d", json_string(pad));
  free(pad);
  assert_int_equal(tg_cat_validate(doc, NULL, &out, &problems), TG_ETOOBIG);
  assert_null(out);
  assert_true(has_pointer(problems, ""));
  json_decref(problems);
  json_decref(doc);
  assert_int_equal(tg_cat_parse("{\"a\": 1}", 8, &out, &problems), 0);
  assert_non_null(out);
  json_decref(out);
  free(big);
}

static void test_times(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(tg_cat_parse_time("1970-01-01T00:00:00Z", &t), 0);
  assert_int_equal(t, 0);
  assert_int_equal(tg_cat_parse_time("2024-04-01T09:00:00+09:00", &t), 0);
  assert_int_equal(t, 1711929600);
  assert_int_equal(tg_cat_parse_time("2024-02-29", &t), 0);
  assert_int_equal(tg_cat_parse_time("2023-02-29", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("1900-02-29", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2000-02-29", &t), 0);
  assert_int_equal(tg_cat_parse_time("2024-04-31", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2024-13-01", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2024-04-01T25:00:00", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2024-04-01T24:00:00", &t), 0);
  assert_int_equal(tg_cat_parse_time("2024-04-01T24:00:01", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2024-04-01T10:00:00.5Z", &t), 0);
  assert_int_equal(tg_cat_parse_time("2024-04-01T10:00:00+15:00", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2024-4-1", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("令和6年4月1日", &t), TG_EINVAL);
  assert_int_equal(tg_cat_parse_time("2024-04-01 ", &t), TG_EINVAL);
  /* A bad date whose problem message cuts the value inside a character
   * ("%.80s"): the message was invalid UTF-8, jansson dropped it, and with
   * no problem listed the document passed. */
  char doc[1024], bad[200];
  memset(bad, 'x', 79);
  snprintf(bad + 79, sizeof(bad) - 79, "年");
  snprintf(doc, sizeof(doc),
           "{\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\": "
           "\"http://www.w3.org/ns/dcat#\", \"xsd\": \"http://www.w3.org/2001/XMLSchema#\"}, "
           "\"@type\": \"dcat:Dataset\", \"dct:title\": \"t\", \"dct:description\": \"d\", "
           "\"dct:issued\": {\"@value\": \"%s\", \"@type\": \"xsd:date\"}}",
           bad);
  json_t *in = parse(doc), *canon = NULL, *problems = NULL;
  assert_int_not_equal(tg_cat_validate(in, NULL, &canon, &problems), 0);
  assert_true(json_array_size(problems) >= 1);
  assert_true(json_is_string(json_object_get(json_array_get(problems, 0), "detail")));
  json_decref(problems);
  json_decref(canon);
  json_decref(in);
}

static json_t *policy_of(const char *perms) {
  char buf[4096];
  snprintf(buf, sizeof(buf),
           "{\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\": "
           "\"http://www.w3.org/ns/dcat#\", \"odrl\": \"http://www.w3.org/ns/odrl/2/\", "
           "\"xsd\": \"http://www.w3.org/2001/XMLSchema#\"}, \"@type\": \"dcat:Dataset\", "
           "\"dct:title\": \"t\", \"dct:description\": \"d\", \"odrl:hasPolicy\": {\"@type\": "
           "\"odrl:Offer\", \"odrl:permission\": %s}}",
           perms);
  json_t *in = parse(buf), *canon = NULL, *problems = NULL;
  int rc = tg_cat_validate(in, NULL, &canon, &problems);
  if (rc)
    dump_problems("policy", problems);
  assert_int_equal(rc, 0);
  json_t *p = json_incref(json_object_get(canon, "odrl:hasPolicy"));
  json_decref(canon);
  json_decref(in);
  return p;
}

static int decide(const json_t *p, const char *node, int member, const char *purpose,
                  int64_t now) {
  struct tg_cat_access req = {.node_id = node, .purpose = purpose, .now = now,
                              .is_federation_member = member};
  struct tg_cat_decision d;
  assert_int_equal(tg_cat_policy_decide(p, &req, &d), 0);
  assert_true(d.reason[0] != '\0');
  return d.verdict == TG_CAT_PERMIT;
}

static void test_policy(void **state) {
  (void)state;
  json_t *p = policy_of("[{\"odrl:action\": {\"@id\": \"odrl:use\"}, \"odrl:assignee\": "
                        "{\"@id\": \"urn:tsunagu:node:c-village\"}}]");
  assert_true(decide(p, "c-village", 1, NULL, 0));
  assert_false(decide(p, "b-town", 1, NULL, 0));
  json_decref(p);

  /* Several assignees; a purpose constraint; a validity period. */
  p = policy_of(
      "[{\"odrl:action\": {\"@id\": \"odrl:use\"}, \"odrl:assignee\": [{\"@id\": "
      "\"urn:tsunagu:node:c-village\"}, {\"@id\": \"urn:tsunagu:node:b-town\"}],"
      " \"odrl:constraint\": [{\"odrl:leftOperand\": {\"@id\": \"odrl:purpose\"}, "
      "\"odrl:operator\": {\"@id\": \"odrl:isAnyOf\"}, \"odrl:rightOperand\": [\"disaster\", "
      "\"research\"]}, {\"odrl:leftOperand\": {\"@id\": \"odrl:dateTime\"}, \"odrl:operator\": "
      "{\"@id\": \"odrl:lt\"}, \"odrl:rightOperand\": {\"@value\": \"2030-01-01T00:00:00Z\", "
      "\"@type\": \"xsd:dateTime\"}}]}]");
  assert_true(decide(p, "b-town", 0, "disaster", 1700000000));
  assert_true(decide(p, "c-village", 0, "research", 1700000000));
  assert_false(decide(p, "c-village", 0, "marketing", 1700000000));
  assert_false(decide(p, "c-village", 0, NULL, 1700000000));
  assert_false(decide(p, "c-village", 0, "disaster", 1893456000)); /* 2030-01-01 */
  assert_false(decide(p, "a-city", 1, "disaster", 1700000000));
  json_decref(p);

  /* Federation-wide with purpose eq; owner always allowed; NULL policy denies. */
  p = policy_of("{\"odrl:action\": {\"@id\": \"odrl:use\"}, \"odrl:assignee\": {\"@id\": "
                "\"urn:tsunagu:federation\"}, \"odrl:constraint\": {\"odrl:leftOperand\": "
                "{\"@id\": \"odrl:purpose\"}, \"odrl:operator\": {\"@id\": \"odrl:eq\"}, "
                "\"odrl:rightOperand\": \"disaster\"}}");
  assert_true(decide(p, "x-town", 1, "disaster", 0));
  assert_false(decide(p, "x-town", 0, "disaster", 0));
  assert_false(decide(p, "x-town", 1, "other", 0));
  struct tg_cat_access owner = {.node_id = "a-city", .is_owner = 1};
  struct tg_cat_decision d;
  assert_int_equal(tg_cat_policy_decide(p, &owner, &d), 0);
  assert_int_equal(d.verdict, TG_CAT_PERMIT);
  struct tg_cat_access nobody = {.node_id = "a-city", .is_federation_member = 1};
  assert_int_equal(tg_cat_policy_decide(NULL, &nobody, &d), 0);
  assert_int_equal(d.verdict, TG_CAT_DENY);
  assert_int_equal(tg_cat_policy_decide(p, NULL, &d), TG_EINVAL);
  json_decref(p);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every shipped plain-form example (examples/datasets/plain/, installed
 * with the node) is accepted as it is. */
static void test_plain_examples(void **state) {
  (void)state;
  const char *top = getenv("top_srcdir");
  char dir[4200];
  snprintf(dir, sizeof(dir), "%s/examples/datasets/plain", top ? top : ".");
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    char path[4600];
    json_error_t je;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    json_t *in = json_load_file(path, 0, &je), *canon = NULL, *problems = NULL;
    assert_non_null(in);
    if (tg_cat_validate(in, NULL, &canon, &problems) != 0)
      dump_problems(e->d_name, problems);
    assert_non_null(canon);
    json_decref(canon);
    json_decref(in);
    n++;
  }
  closedir(d);
  assert_true(n >= 3);
}

/* A JSON syntax error says where it is, in the detail and as numbers. */
static void test_parse_position(void **state) {
  (void)state;
  static const char bad[] = "{\n  \"title\": \"t\",\n  \"description\" \"d\"\n}";
  json_t *in = NULL, *problems = NULL;
  assert_int_equal(tg_cat_parse(bad, sizeof(bad) - 1, &in, &problems), TG_EINVAL);
  json_t *p = json_array_get(problems, 0);
  assert_int_equal(json_integer_value(json_object_get(p, "line")), 3);
  assert_true(json_integer_value(json_object_get(p, "column")) > 0);
  assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "line 3"));
  json_decref(problems);
}

int main(void) {
  const char *top = getenv("top_srcdir");
  /* The JSON-LD form's cases, then the plain form's (docs/datasets.md). */
  static const char *const subdirs[] = {"validate", "plain"};
  snprintf(case_dir, sizeof(case_dir), "%s/tests/cases/catalog", top ? top : ".");
  char **names = NULL;
  size_t n = 0;
  for (size_t d = 0; d < 2; d++) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", case_dir, subdirs[d]);
    DIR *dir = opendir(path);
    if (dir == NULL) {
      fprintf(stderr, "cannot open %s\n", path);
      return 1;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
      size_t len = strlen(e->d_name);
      if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
        names = realloc(names, (n + 1) * sizeof(*names));
        size_t sz = len + strlen(subdirs[d]) + 2;
        names[n] = malloc(sz);
        snprintf(names[n++], sz, "%s/%s", subdirs[d], e->d_name);
      }
    }
    closedir(dir);
  }
  qsort(names, n, sizeof(*names), cmp_str);
  static const struct CMUnitTest fixed[] = {
      cmocka_unit_test(test_dcatap_context), cmocka_unit_test(test_unknown_context),
      cmocka_unit_test(test_public_view),    cmocka_unit_test(test_parse_limits),
      cmocka_unit_test(test_times),          cmocka_unit_test(test_policy),
      cmocka_unit_test(test_plain_examples), cmocka_unit_test(test_parse_position),
  };
  size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
  struct CMUnitTest *tests = calloc(n + nfixed, sizeof(*tests));
  for (size_t i = 0; i < n; i++) {
    tests[i].name = names[i];
    tests[i].test_func = run_case;
    tests[i].initial_state = names[i];
  }
  memcpy(tests + n, fixed, sizeof(fixed));
  int rc = _cmocka_run_group_tests("catalog_validate", tests, n + nfixed, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  free(tests);
  return rc;
}
