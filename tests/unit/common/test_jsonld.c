/* Unit tests for common/tg_jsonld beyond the W3C suite: the contexts shipped
 * with the node, refusal of every other remote context, the limits on
 * hostile input, RFC 3986 reference resolution and the error detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_buf.h"
#include "tg_err.h"
#include "tg_jsonld.h"

/* Expands TEXT with OPTS (may be NULL); returns the code, *OUT new or NULL. */
static int expand_text(const char *text, const struct tg_jsonld_opts *opts, json_t **out,
                       struct tg_err *err) {
  json_error_t je;
  json_t *in = json_loads(text, 0, &je);
  if (in == NULL)
    fail_msg("bad test JSON: %s", je.text);
  *out = NULL;
  int rc = tg_jsonld_expand(in, opts, out, err);
  json_decref(in);
  return rc;
}

/* The string at PATH (keys and indexes separated by '|') of V, or NULL. */
static const char *str_at(json_t *v, const char *path) {
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", path);
  for (char *p = buf, *next; p != NULL && v != NULL; p = next) {
    next = strchr(p, '|');
    if (next != NULL)
      *next++ = '\0';
    if (json_is_array(v))
      v = json_array_get(v, strtoul(p, NULL, 10));
    else
      v = json_object_get(v, p);
  }
  return json_string_value(v);
}

static void expect_error(const char *text, const struct tg_jsonld_opts *opts, int code,
                         const char *jcode) {
  json_t *out;
  struct tg_err err = {0, ""};
  char got[128];
  int rc = expand_text(text, opts, &out, &err);
  tg_jsonld_err_code(&err, got, sizeof(got));
  if (rc != code || strcmp(got, jcode) != 0)
    fail_msg("%s: want %d '%s', got %d '%s'", text, code, jcode, rc, err.msg);
  assert_null(out);
}

static void test_known_contexts(void **state) {
  (void)state;
  json_t *out;
  struct tg_err err = {0, ""};
  assert_int_equal(expand_text("{\"@context\": \"https://w3id.org/dspace/2025/1/context.jsonld\","
                               " \"@type\": \"CatalogRequestMessage\", \"filter\": []}",
                               NULL, &out, &err),
                   0);
  assert_string_equal(str_at(out, "0|@type|0"),
                      "https://w3id.org/dspace/2025/1/CatalogRequestMessage");
  assert_non_null(json_object_get(json_array_get(out, 0), "https://w3id.org/dspace/2025/1/filter"));
  json_decref(out);
  assert_int_equal(
      expand_text("{\"@context\": "
                  "\"https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld\","
                  " \"@type\": \"Dataset\", \"title\": {\"@value\": \"Water level\", "
                  "\"@language\": \"en\"}}",
                  NULL, &out, &err),
      0);
  assert_string_equal(str_at(out, "0|@type|0"), "http://www.w3.org/ns/dcat#Dataset");
  assert_string_equal(str_at(out, "0|http://purl.org/dc/terms/title|0|@language"), "en");
  json_decref(out);
  assert_int_equal(
      expand_text("{\"@context\": \"https://w3id.org/dspace/2025/1/odrl-profile.jsonld\","
                  " \"@type\": \"Offer\"}",
                  NULL, &out, &err),
      0);
  assert_string_equal(str_at(out, "0|@type|0"), "http://www.w3.org/ns/odrl/2/Offer");
  json_decref(out);
}

static void test_remote_refused(void **state) {
  (void)state;
  struct tg_err err = {0, ""};
  json_t *out;
  expect_error("{\"@context\": \"https://evil.example/ctx.jsonld\", \"a\": 1}", NULL, TG_ENOENT,
               "loading remote context failed");
  assert_int_equal(
      expand_text("{\"@context\": {\"@import\": \"http://localhost/x\"}}", NULL, &out, &err),
      TG_ENOENT);
  assert_non_null(strstr(err.msg, "http://localhost/x"));
  /* A relative reference resolves against the base and is refused as well. */
  struct tg_jsonld_opts o = {.base = "https://node.example/dir/doc"};
  assert_int_equal(expand_text("{\"@context\": \"ctx.jsonld\"}", &o, &out, &err), TG_ENOENT);
  assert_non_null(strstr(err.msg, "https://node.example/dir/ctx.jsonld"));
}

/* The SKOS example: a prefix, a default language, @graph. */
static void test_skos_example(void **state) {
  (void)state;
  json_t *out;
  struct tg_err err = {0, ""};
  assert_int_equal(
      expand_text("{\"@context\": {\"ex\": \"https://a-city.example/vocab/stations/\","
                  " \"skos\": \"http://www.w3.org/2004/02/skos/core#\", \"@language\": \"ja\","
                  " \"label\": {\"@id\": \"skos:prefLabel\", \"@language\": \"en\"}},"
                  " \"@graph\": [{\"@id\": \"ex:K01\", \"@type\": \"skos:Concept\","
                  " \"skos:prefLabel\": \"京都\", \"label\": \"Kyoto\","
                  " \"skos:exactMatch\": \"not an IRI\"}]}",
                  NULL, &out, &err),
      0);
  json_t *c = json_array_get(out, 0);
  assert_string_equal(str_at(c, "@id"), "https://a-city.example/vocab/stations/K01");
  assert_string_equal(str_at(c, "@type|0"), "http://www.w3.org/2004/02/skos/core#Concept");
  json_t *labels = json_object_get(c, "http://www.w3.org/2004/02/skos/core#prefLabel");
  assert_int_equal(json_array_size(labels), 2);
  /* An uncoerced string stays a string, not an IRI. */
  assert_string_equal(str_at(c, "http://www.w3.org/2004/02/skos/core#exactMatch|0|@value"),
                      "not an IRI");
  json_decref(out);
}

/* A loader whose every context imports itself again. */
static int loop_load(void *user, const char *url, json_t **doc, struct tg_err *err) {
  (void)user;
  (void)err;
  *doc = json_pack("{s:[s]}", "@context", url);
  return 0;
}

/* A document with 2,000 terms whose property p has the scoped context
 * SCOPED and 2,000 node values, into B. */
static void scoped_doc(struct tg_buf *b, const char *scoped) {
  tg_buf_printf(b, "{\"@context\": {\"p\": {\"@id\": \"http://e/p\", \"@context\": %s}", scoped);
  for (int i = 0; i < 2000; i++)
    tg_buf_printf(b, ", \"t%d\": \"http://e/t%d\"", i, i);
  tg_buf_puts(b, "}, \"p\": [");
  for (int i = 0; i < 2000; i++)
    tg_buf_puts(b, i ? ", {\"http://e/q\": 1}" : "{\"http://e/q\": 1}");
  tg_buf_puts(b, "]}");
}

static void test_limits(void **state) {
  (void)state;
  struct tg_buf b;
  tg_buf_init(&b);
  for (int i = 0; i < 1000; i++)
    tg_buf_puts(&b, "{\"http://e/p\": ");
  tg_buf_puts(&b, "1");
  for (int i = 0; i < 1000; i++)
    tg_buf_puts(&b, "}");
  expect_error(b.data, NULL, TG_ETOOBIG, "input too large");
  tg_buf_close(&b);
  struct tg_jsonld_opts o = {.loader = loop_load};
  expect_error("{\"@context\": \"http://loop.example/c\"}", &o, TG_ETOOBIG, "context overflow");
  struct tg_jsonld_opts small = {.max_nodes = 3};
  expect_error("[1, 2, 3, 4]", &small, TG_ETOOBIG, "input too large");
  /* A chain of prefixes deeper than the recursion limit, each defined
   * before the prefix it depends on. */
  tg_buf_init(&b);
  tg_buf_puts(&b, "{\"@context\": {");
  for (int i = 399; i > 0; i--)
    tg_buf_printf(&b, "\"p%d\": \"p%d:x\", ", i, i - 1);
  tg_buf_puts(&b, "\"p0\": \"http://e/\"}, \"p399:y\": 1}");
  expect_error(b.data, NULL, TG_ETOOBIG, "context overflow");
  tg_buf_close(&b);
  /* A type-scoped context of nulls (it does not propagate: each null links
   * the last result as the context to return to), applied for each of many
   * types: the chain is bounded, not built until freeing it overflows the
   * stack. */
  tg_buf_init(&b);
  tg_buf_puts(&b, "{\"@context\": {\"T\": {\"@id\": \"http://e/T\", \"@context\": [");
  for (int i = 0; i < 250; i++)
    tg_buf_puts(&b, i ? ", null" : "null");
  tg_buf_puts(&b, "]}}, \"@type\": [");
  for (int i = 0; i < 40; i++)
    tg_buf_puts(&b, i ? ", \"T\"" : "\"T\"");
  tg_buf_puts(&b, "], \"http://e/p\": 1}");
  expect_error(b.data, NULL, TG_ETOOBIG, "invalid context nullification");
  tg_buf_close(&b);
  tg_buf_init(&b);
  tg_buf_puts(&b, "{\"@context\": [");
  for (int i = 0; i < 300; i++)
    tg_buf_puts(&b, i ? ", {}" : "{}");
  tg_buf_puts(&b, "], \"http://e/p\": 1}");
  expect_error(b.data, NULL, TG_ETOOBIG, "invalid local context");
  tg_buf_close(&b);
  /* An empty scoped context on a property with many values: no copy of the
   * (large) context per value, so it stays within the work budget. */
  tg_buf_init(&b);
  scoped_doc(&b, "{}");
  json_t *out = NULL;
  struct tg_err err;
  assert_int_equal(expand_text(b.data, NULL, &out, &err), 0);
  json_decref(out);
  /* The same with a scoped context that defines a term: each value's copy
   * of 2,000 terms is counted, and the document is refused as too much. */
  tg_buf_reset(&b);
  scoped_doc(&b, "{\"z\": \"http://e/z\"}");
  expect_error(b.data, NULL, TG_ETOOBIG, "context overflow");
  tg_buf_close(&b);
}

static void test_errors(void **state) {
  (void)state;
  expect_error("{\"@context\": {\"t\": 5}}", NULL, TG_EINVAL, "invalid term definition");
  expect_error("{\"@context\": {\"@id\": \"x\"}}", NULL, TG_EINVAL, "keyword redefinition");
  expect_error("{\"@context\": {\"a\": \"b:x\", \"b\": \"a:y\"}}", NULL, TG_EINVAL,
               "cyclic IRI mapping");
  expect_error(
      "{\"@context\": [{\"@protected\": true, \"t\": \"http://e/t\"}, {\"t\": \"http://e/u\"}]}",
      NULL, TG_EINVAL, "protected term redefinition");
  struct tg_err err = {0, ""};
  char code[8];
  tg_jsonld_err_code(&err, code, sizeof(code));
  assert_string_equal(code, "");
}

/* RFC 3986 section 5.4 examples through @type: @id values. */
static void test_relative_iris(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {"./../g", "http://a/b/g"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
  };
  struct tg_jsonld_opts o = {.base = "http://a/b/c/d;p?q"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char text[256];
    json_t *out;
    snprintf(
        text, sizeof(text),
        "{\"@context\": {\"r\": {\"@id\": \"http://e/r\", \"@type\": \"@id\"}}, \"r\": \"%s\"}",
        cases[i][0]);
    assert_int_equal(expand_text(text, &o, &out, NULL), 0);
    const char *got = str_at(out, "0|http://e/r|0|@id");
    if (got == NULL || strcmp(got, cases[i][1]) != 0)
      fail_msg("'%s': want %s, got %s", cases[i][0], cases[i][1], got ? got : "(null)");
    json_decref(out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_contexts), cmocka_unit_test(test_remote_refused),
      cmocka_unit_test(test_skos_example),   cmocka_unit_test(test_limits),
      cmocka_unit_test(test_errors),         cmocka_unit_test(test_relative_iris),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
