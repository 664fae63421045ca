/* test_dsp: the Dataspace Protocol shapes of catalog/cat_dsp.c: data-driven
 * cases in tests/cases/catalog/dsp/ (input dataset -> expected members of the
 * DSP Dataset), the private terms never leaving (owner-view input), offers
 * carrying their policy's permissions, the Catalog, and the check of a
 * CatalogRequestMessage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cat.h"
#include "tg_err.h"

static const struct tg_cat_dsp_node node = {"urn:tsunagu:node:a-city",
                                            "urn:tsunagu:node:a-city:dsp",
                                            "https://a-city.example.jp/dsp"};

static char *dir_of(const char *sub) {
  const char *top = getenv("top_srcdir");
  size_t n = strlen(top ? top : ".") + strlen(sub) + 2;
  char *p = malloc(n);
  assert_non_null(p);
  snprintf(p, n, "%s/%s", top ? top : ".", sub);
  return p;
}

/* The canonical owner view of dataset document IN (borrowed). */
static json_t *canonical(const json_t *in) {
  json_t *canon = NULL, *problems = NULL;
  int rc = tg_cat_validate(in, NULL, &canon, &problems);
  if (rc) {
    char *s = json_dumps(problems, 0);
    print_error("validation failed: %s\n", s ? s : "?");
    free(s);
  }
  json_decref(problems);
  assert_int_equal(rc, 0);
  return canon;
}

/* Fails when the serialisation of J mentions a private term or address. */
static void assert_nothing_private(const json_t *j, const char *what) {
  static const char *const banned[] = {"tsunagu:backend", "tsunagu:mode", "urn:tsunagu:ns:",
                                       "10.0.0.", "dam.example.jp"};
  char *s = json_dumps(j, 0);
  assert_non_null(s);
  for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
    if (strstr(s, banned[i]) != NULL)
      fail_msg("%s: the DSP form leaks %s: %s", what, banned[i], s);
  free(s);
}

/* One case file: {"input", "expect": members the DSP Dataset must have,
 * equal, "distributions": how many it must have}. */
static void run_case(const char *path) {
  json_error_t jerr;
  json_t *c = json_load_file(path, 0, &jerr);
  if (c == NULL)
    fail_msg("%s: %s", path, jerr.text);
  json_t *canon = canonical(json_object_get(c, "input"));
  json_t *d = tg_cat_dsp_dataset(canon, &node, 0);
  assert_non_null(d);
  const char *k;
  json_t *want;
  json_object_foreach(json_object_get(c, "expect"), k, want) {
    if (!json_equal(json_object_get(d, k), want)) {
      char *got = json_dumps(json_object_get(d, k), 0);
      fail_msg("%s: member %s is %s", path, k, got ? got : "absent");
    }
  }
  json_t *dist = json_object_get(d, "distribution");
  assert_int_equal(json_array_size(dist),
                   json_integer_value(json_object_get(c, "distributions")));
  for (size_t i = 0; i < json_array_size(dist); i++)
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(dist, i), "accessService"),
                            "endpointURL")),
                        node.endpoint);
  assert_null(json_object_get(d, "@context"));
  assert_nothing_private(d, path);
  json_decref(d);
  json_decref(canon);
  json_decref(c);
}

static void test_cases(void **state) {
  (void)state;
  char *dir = dir_of("tests/cases/catalog/dsp");
  DIR *dh = opendir(dir);
  assert_non_null(dh);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(dh)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    run_case(path);
    n++;
  }
  closedir(dh);
  free(dir);
  assert_true(n >= 2);
}

/* The datasets the HTTP tests publish, in their owner view (tsunagu:backend
 * and tsunagu:mode present): none of it reaches the DSP form. */
static void test_owner_view_never_leaks(void **state) {
  (void)state;
  static const char *const names[] = {"river", "rain", "dam", "population", "bus"};
  char *dir = dir_of("tests/cases/catalog/http");
  int had_backend = 0;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.json", dir, names[i]);
    json_t *in = json_load_file(path, 0, NULL);
    assert_non_null(in);
    json_t *canon = canonical(in);
    char *owner = json_dumps(canon, 0);
    had_backend += strstr(owner, "tsunagu:backend") != NULL;
    free(owner);
    json_t *d = tg_cat_dsp_dataset(canon, &node, 1);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "@context"), 0)),
                        TG_CAT_DSP_CONTEXT);
    assert_string_equal(json_object_iter_key(json_object_iter(d)), "@context");
    assert_nothing_private(d, path);
    json_decref(d);
    json_decref(canon);
    json_decref(in);
  }
  free(dir);
  assert_true(had_backend >= 2); /* the inputs did hold private terms */
}

/* A policy member in the tsunagu: namespace is dropped; the permissions,
 * the @id and the Offer type stay. */
static void test_offer(void **state) {
  (void)state;
  json_t *p = tg_cat_policy_default("urn:tsunagu:a-city:dataset:x:policy");
  json_object_set_new(p, "tsunagu:note", json_string("internal"));
  json_object_set_new(json_array_get(json_object_get(p, "odrl:permission"), 0),
                      "urn:tsunagu:ns:backend", json_string("http://10.0.0.5/"));
  json_t *o = tg_cat_dsp_offer(p);
  json_t *want = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "@type", "Offer", "@id",
                           "urn:tsunagu:a-city:dataset:x:policy", "permission", "action", "use",
                           "assignee", "urn:tsunagu:federation");
  assert_true(json_equal(o, want));
  json_decref(want);
  json_decref(o);
  /* Whatever the policy class, a catalog offers it: DSP wants "Offer", no
   * target, rules and constraints as arrays, typed right operands kept. */
  json_object_set_new(p, "@type", json_string("odrl:Set"));
  json_object_set_new(p, "odrl:target", json_pack("{s:s}", "@id", "urn:tsunagu:a-city:dataset:x"));
  json_object_set_new(json_array_get(json_object_get(p, "odrl:permission"), 0), "odrl:constraint",
                      json_pack("{s:{s:s}, s:{s:s}, s:{s:s, s:s}}", "odrl:leftOperand", "@id",
                                "odrl:dateTime", "odrl:operator", "@id", "odrl:lt",
                                "odrl:rightOperand", "@value", "2030-01-01T00:00:00Z", "@type",
                                "xsd:dateTime"));
  o = tg_cat_dsp_offer(p);
  assert_string_equal(json_string_value(json_object_get(o, "@type")), "Offer");
  assert_null(json_object_get(o, "target"));
  json_t *c = json_object_get(json_array_get(json_object_get(o, "permission"), 0), "constraint");
  want = json_pack("[{s:s, s:s, s:{s:s, s:s}}]", "leftOperand", "dateTime", "operator", "lt",
                   "rightOperand", "@value", "2030-01-01T00:00:00Z", "@type", "xsd:dateTime");
  assert_true(json_equal(c, want));
  json_decref(want);
  json_decref(o);
  json_decref(p);
  assert_null(tg_cat_dsp_offer(NULL));
}

static void test_catalog(void **state) {
  (void)state;
  char *dir = dir_of("tests/cases/catalog/http");
  char path[1024];
  snprintf(path, sizeof(path), "%s/dam.json", dir);
  free(dir);
  json_t *in = json_load_file(path, 0, NULL);
  json_t *canon = canonical(in);
  json_t *pub = tg_cat_public_view(canon);
  json_t *list = json_pack("{s:i, s:[O, O]}", "total", 2, "datasets", pub, pub);
  json_t *c = tg_cat_dsp_catalog(list, &node);
  assert_non_null(c);
  assert_string_equal(json_string_value(json_object_get(c, "@type")), "Catalog");
  assert_string_equal(json_string_value(json_object_get(c, "@id")),
                      "urn:tsunagu:node:a-city:catalog");
  assert_string_equal(json_string_value(json_object_get(c, "participantId")), node.participant);
  json_t *svc = json_array_get(json_object_get(c, "service"), 0);
  assert_string_equal(json_string_value(json_object_get(svc, "@id")), node.service_id);
  assert_string_equal(json_string_value(json_object_get(svc, "endpointURL")), node.endpoint);
  assert_int_equal(json_array_size(json_object_get(c, "dataset")), 2);
  json_t *d0 = json_array_get(json_object_get(c, "dataset"), 0);
  assert_null(json_object_get(d0, "@context"));
  json_t *alone = tg_cat_dsp_dataset(pub, &node, 0);
  assert_true(json_equal(d0, alone)); /* a catalog entry is the Dataset itself */
  assert_nothing_private(c, "catalog");
  json_decref(alone);
  json_decref(c);
  json_decref(list);
  json_decref(pub);
  json_decref(canon);
  json_decref(in);
  assert_null(tg_cat_dsp_catalog(NULL, &node));
}

static void test_catalog_request_check(void **state) {
  (void)state;
  static const struct {
    const char *msg; /* NULL: not JSON */
    int rc;
  } cases[] = {
      {"{\"@type\": \"CatalogRequestMessage\"}", 0},
      {"{\"@type\": [\"dspace:CatalogRequestMessage\"], \"filter\": []}", 0},
      {"{\"@type\": \"https://w3id.org/dspace/v0.8/CatalogRequestMessage\", \"filter\": {}}", 0},
      {"{\"@type\": \"CatalogRequestMessage\", \"filter\": null}", 0},
      {"{\"@type\": \"CatalogRequestMessage\", \"dspace:filter\": \"\"}", 0},
      {"{\"@type\": \"CatalogRequestMessage\", \"filter\": [{\"keyword\": \"水位\"}]}", TG_EUNSUP},
      {"{\"@type\": \"CatalogRequestMessage\", \"dspace:filter\": \"x\"}", TG_EUNSUP},
      {"{\"@type\": \"DatasetRequestMessage\"}", TG_EINVAL},
      {"{}", TG_EINVAL},
      {"[]", TG_EINVAL},
      {NULL, TG_EINVAL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *m = cases[i].msg ? json_loads(cases[i].msg, 0, NULL) : NULL;
    const char *reason = "unset";
    int rc = tg_cat_dsp_catalog_request_check(m, &reason);
    if (rc != cases[i].rc)
      fail_msg("case %zu (%s): %d, want %d", i, cases[i].msg ? cases[i].msg : "NULL", rc,
               cases[i].rc);
    if (rc == 0)
      assert_null(reason);
    else
      assert_true(reason != NULL && reason[0] != '\0');
    json_decref(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cases),
      cmocka_unit_test(test_owner_view_never_leaks),
      cmocka_unit_test(test_offer),
      cmocka_unit_test(test_catalog),
      cmocka_unit_test(test_catalog_request_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
