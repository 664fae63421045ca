/* Unit tests for catalog/cat_merge: one page from several catalogs' search
 * answers — scores on one scale, duplicates once, stable paging, the sorts,
 * owners and relays, facet sums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tg_cat.h"
#include "tg_err.h"

static json_t *item(const char *id, double score, const char *title, const char *modified) {
  return json_pack("{s:s, s:f, s:{s:[{s:s, s:s}], s:{s:s, s:s}}}", "id", id, "score", score,
                   "dataset", "dct:title", "@value", title, "@language", "ja", "dct:modified",
                   "@value", modified, "@type", "xsd:dateTime");
}

static json_t *answer(int64_t total, json_t *items) {
  return json_pack("{s:I, s:b, s:o, s:{s:[{s:s, s:i}]}}", "total", (json_int_t)total,
                   "total_exact", 1, "items", items, "facets", "keyword", "value", "水位",
                   "count", (int)json_array_size(items));
}

/* a: bm25 scores around 10; b: around 2 (a smaller index). */
static void fixture(json_t **a, json_t **b) {
  *a = answer(3, json_pack("[o, o, o]", item("urn:tsunagu:a:dataset:x", 10.0, "b-river", "2024-01-01T00:00:00Z"),
                           item("urn:tsunagu:a:dataset:y", 5.0, "a-dam", "2024-03-01T00:00:00Z"),
                           item("urn:tsunagu:a:dataset:z", 2.5, "c-rain", "2024-02-01T00:00:00Z")));
  *b = answer(2, json_pack("[o, o]", item("urn:tsunagu:b:dataset:p", 2.0, "d-level", "2024-05-01T00:00:00Z"),
                           item("urn:tsunagu:b:dataset:q", 1.5, "e-flow", "2023-01-01T00:00:00Z")));
}

static const char *id_at(json_t *out, size_t i) {
  return json_string_value(json_object_get(json_array_get(json_object_get(out, "items"), i), "id"));
}

static void test_relevance_one_scale(void **state) {
  (void)state;
  json_t *a, *b, *out = NULL;
  fixture(&a, &b);
  struct tg_cat_merge_in in[] = {{"a", a}, {"b", b}};
  assert_int_equal(tg_cat_merge(in, 2, TG_CAT_SORT_RELEVANCE, 0, 10, &out, NULL), 0);
  /* Each source's best is 1: a:x and b:p tie and fall to the id; then b:q
   * (0.75) before a:y (0.5) and a:z (0.25). */
  assert_string_equal(id_at(out, 0), "urn:tsunagu:a:dataset:x");
  assert_string_equal(id_at(out, 1), "urn:tsunagu:b:dataset:p");
  assert_string_equal(id_at(out, 2), "urn:tsunagu:b:dataset:q");
  assert_string_equal(id_at(out, 3), "urn:tsunagu:a:dataset:y");
  assert_string_equal(id_at(out, 4), "urn:tsunagu:a:dataset:z");
  assert_int_equal(json_integer_value(json_object_get(out, "total")), 5);
  json_t *first = json_array_get(json_object_get(out, "items"), 1);
  assert_string_equal(json_string_value(json_object_get(first, "owner")), "b");
  assert_string_equal(json_string_value(json_object_get(first, "source")), "b");
  assert_null(json_object_get(first, "via"));
  assert_int_equal(json_integer_value(json_object_get(json_array_get(
                       json_object_get(json_object_get(out, "facets"), "keyword"), 0),
                                                      "count")),
                   5);
  json_decref(out);
  /* Pages of two follow the same order. */
  const char *want[] = {"urn:tsunagu:a:dataset:x", "urn:tsunagu:b:dataset:p",
                        "urn:tsunagu:b:dataset:q", "urn:tsunagu:a:dataset:y",
                        "urn:tsunagu:a:dataset:z"};
  for (int64_t off = 0; off < 5; off += 2) {
    assert_int_equal(tg_cat_merge(in, 2, TG_CAT_SORT_RELEVANCE, off, 2, &out, NULL), 0);
    for (size_t i = 0; i < json_array_size(json_object_get(out, "items")); i++)
      assert_string_equal(id_at(out, i), want[off + (int64_t)i]);
    json_decref(out);
  }
  json_decref(a);
  json_decref(b);
}

static void test_duplicates_and_relays(void **state) {
  (void)state;
  json_t *a, *b, *out = NULL;
  fixture(&a, &b);
  /* c relays a:x (found through it) with a lower score: the direct one wins. */
  json_t *x = item("urn:tsunagu:a:dataset:x", 3.0, "b-river", "2024-01-01T00:00:00Z");
  json_object_set_new(x, "source", json_string("a"));
  json_t *c = answer(1, json_pack("[o]", x));
  struct tg_cat_merge_in in[] = {{"a", a}, {"b", b}, {"c", c}};
  assert_int_equal(tg_cat_merge(in, 3, TG_CAT_SORT_RELEVANCE, 0, 10, &out, NULL), 0);
  json_t *items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 5);
  assert_false(json_is_true(json_object_get(out, "total_exact")));
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it) if (strcmp(json_string_value(json_object_get(it, "id")),
                                              "urn:tsunagu:a:dataset:x") == 0)
      assert_null(json_object_get(it, "via"));
  json_decref(out);
  /* Alone, c's relayed hit says through which node it came. */
  struct tg_cat_merge_in only_c[] = {{"c", c}};
  assert_int_equal(tg_cat_merge(only_c, 1, TG_CAT_SORT_RELEVANCE, 0, 10, &out, NULL), 0);
  it = json_array_get(json_object_get(out, "items"), 0);
  assert_string_equal(json_string_value(json_object_get(it, "via")), "c");
  assert_string_equal(json_string_value(json_object_get(it, "source")), "a");
  json_decref(out);
  json_decref(a);
  json_decref(b);
  json_decref(c);
}

static void test_other_sorts(void **state) {
  (void)state;
  json_t *a, *b, *out = NULL;
  fixture(&a, &b);
  struct tg_cat_merge_in in[] = {{"a", a}, {"b", b}, {"none", NULL}};
  assert_int_equal(tg_cat_merge(in, 3, TG_CAT_SORT_MODIFIED, 0, 10, &out, NULL), 0);
  assert_string_equal(id_at(out, 0), "urn:tsunagu:b:dataset:p"); /* 2024-05 */
  assert_string_equal(id_at(out, 4), "urn:tsunagu:b:dataset:q"); /* 2023 */
  json_decref(out);
  assert_int_equal(tg_cat_merge(in, 3, TG_CAT_SORT_TITLE, 0, 10, &out, NULL), 0);
  assert_string_equal(id_at(out, 0), "urn:tsunagu:a:dataset:y"); /* a-dam */
  assert_string_equal(id_at(out, 4), "urn:tsunagu:b:dataset:q"); /* e-flow */
  json_decref(out);
  /* Past the end: an empty page. */
  assert_int_equal(tg_cat_merge(in, 3, TG_CAT_SORT_TITLE, 9, 10, &out, NULL), 0);
  assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
  json_decref(out);
  json_decref(a);
  json_decref(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_relevance_one_scale),
      cmocka_unit_test(test_duplicates_and_relays),
      cmocka_unit_test(test_other_sorts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
