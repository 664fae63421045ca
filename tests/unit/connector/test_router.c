/* Unit tests for connector/app/tg_router: the matcher (exact and prefix
 * routes, 404 vs 405, what it expects of the path) and the routing table's
 * safety properties (unique names, bodies with limits, write routes scoped). */
#include "tg_auth.h"
#include "tg_router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

/* The route tg_router_match picks for METHOD PATH; *ALLOWED and *REST as it sets them. */
static const struct tg_route *match(const char *method, const char *path, int *allowed,
                                    const char **rest) {
  *allowed = 42; /* the matcher must always set it */
  *rest = "unset";
  return tg_router_match(method, path, allowed, rest);
}

static void test_exact(void **state) {
  (void)state;
  int allowed;
  const char *rest;
  const struct tg_route *r = match("GET", "/healthz", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "healthz");
  assert_string_equal(r->method, "GET");
  assert_null(rest); /* exact routes have no rest */
  assert_int_equal(allowed, 0);

  r = match("POST", "/api/v1/datasets", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "datasets_post");
  r = match("GET", "/api/v1/datasets", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "datasets_list");
  /* An exact route is not a prefix of a longer path. */
  assert_null(match("GET", "/healthzz", &allowed, &rest));
  assert_int_equal(allowed, 0);
  assert_null(match("GET", "/healthz/", &allowed, &rest)); /* trailing slash: 404 */
  assert_int_equal(allowed, 0);
  assert_null(match("GET", "/Healthz", &allowed, &rest)); /* paths are case-sensitive */
  assert_int_equal(allowed, 0);
  /* A longer exact route wins over nothing: /api/v1/catalog/changes is its own. */
  r = match("GET", "/api/v1/catalog/changes", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "catalog_changes");
}

static void test_prefix(void **state) {
  (void)state;
  int allowed;
  const char *rest;
  const struct tg_route *r = match("GET", "/api/v1/datasets/abc", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "dataset_get");
  assert_non_null(rest);
  assert_string_equal(rest, "abc");
  assert_int_equal(allowed, 0);

  r = match("DELETE", "/api/v1/datasets/a/b%2Fc", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "dataset_delete");
  assert_string_equal(rest, "a/b%2Fc"); /* the rest is raw: no decoding, slashes kept */

  /* The bare prefix with its slash matches with an empty rest (handlers must
   * refuse an empty id); without the slash it is the collection. */
  r = match("GET", "/api/v1/datasets/", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "dataset_get");
  assert_string_equal(rest, "");
  r = match("PUT", "/api/v1/datasets", &allowed, &rest);
  assert_null(r);
  assert_int_equal(allowed, 1); /* the collection exists, under GET and POST */

  /* The prefix is "/api/v1/vocab/schemes/", not "/api/v1/vocab/schemes". */
  assert_null(match("GET", "/api/v1/vocab/schemesX", &allowed, &rest));
  assert_int_equal(allowed, 0);
  r = match("GET", "/api/v1/vocab/schemes", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "vocab_schemes");

  /* An exact route beside a prefix route of the same parent. */
  r = match("POST", "/api/v1/peers/check", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "peers_check");
  r = match("DELETE", "/api/v1/peers/check", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "peers_delete");
  assert_string_equal(rest, "check");
}

static void test_404_405(void **state) {
  (void)state;
  int allowed;
  const char *rest;
  /* The path exists under another method: 405. */
  assert_null(match("POST", "/healthz", &allowed, &rest));
  assert_int_equal(allowed, 1);
  assert_null(match("PATCH", "/api/v1/datasets/x", &allowed, &rest));
  assert_int_equal(allowed, 1);
  assert_null(match("GET", "/api/v1/node/reload", &allowed, &rest));
  assert_int_equal(allowed, 1);
  /* Methods are compared exactly (the parser hands them upper-case). */
  assert_null(match("get", "/healthz", &allowed, &rest));
  assert_int_equal(allowed, 1);
  /* Unknown path: 404, whatever the method. */
  assert_null(match("GET", "/nope", &allowed, &rest));
  assert_int_equal(allowed, 0);
  assert_null(match("DELETE", "/api/v2/datasets/x", &allowed, &rest));
  assert_int_equal(allowed, 0);
  assert_null(match("GET", "/", &allowed, &rest));
  assert_int_equal(allowed, 0);
  assert_null(match("GET", "", &allowed, &rest));
  assert_int_equal(allowed, 0);
  assert_null(match("", "", &allowed, &rest));
  assert_int_equal(allowed, 0);
}

/* The engine maps HEAD to GET before matching (tg_conn.c); the router itself
 * has no HEAD routes, so HEAD as such is a 405 on a GET path. */
static void test_head(void **state) {
  (void)state;
  int allowed;
  const char *rest;
  assert_null(match("HEAD", "/healthz", &allowed, &rest));
  assert_int_equal(allowed, 1);
  assert_null(match("HEAD", "/nope", &allowed, &rest));
  assert_int_equal(allowed, 0);
  const struct tg_route *r = match("GET", "/api/v1/catalog", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "catalog");
}

/* The engine strips "?query" before matching; the router sees a path only,
 * so a query left on it does not match an exact route (and stays in a rest). */
static void test_query_not_stripped(void **state) {
  (void)state;
  int allowed;
  const char *rest;
  assert_null(match("GET", "/api/v1/search?q=x", &allowed, &rest));
  assert_int_equal(allowed, 0);
  const struct tg_route *r = match("GET", "/api/v1/datasets/x?y=1", &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(rest, "x?y=1");
}

static void test_long_path(void **state) {
  (void)state;
  const char *pre = "/api/v1/datasets/";
  size_t n = 1u << 20, pl = strlen(pre);
  char *p = malloc(pl + n + 1);
  assert_non_null(p);
  memcpy(p, pre, pl);
  memset(p + pl, 'a', n);
  p[pl + n] = '\0';
  int allowed;
  const char *rest;
  const struct tg_route *r = match("GET", p, &allowed, &rest);
  assert_non_null(r);
  assert_string_equal(r->name, "dataset_get");
  assert_ptr_equal(rest, p + pl);
  assert_int_equal(strlen(rest), n);
  p[1] = 'b'; /* "/bpi/v1/…": no route */
  assert_null(match("GET", p, &allowed, &rest));
  assert_int_equal(allowed, 0);
  free(p);
}

/* Every route: its name is unique and a metrics/config label, its index
 * round-trips, and its own method and pattern reach it (no route shadowed by
 * an earlier one). */
static void test_table_consistency(void **state) {
  (void)state;
  int n = tg_router_count();
  assert_true(n > 0);
  assert_true(n <= 128); /* tg_settings.route_body[128] */
  assert_string_equal(tg_router_name(-1), "none");
  assert_string_equal(tg_router_name(n), "none");
  assert_int_equal(tg_router_index(NULL), -1);
  for (int i = 0; i < n; i++) {
    const char *name = tg_router_name(i);
    assert_non_null(name);
    assert_true(name[0] != '\0');
    assert_string_not_equal(name, "none");
    for (const char *c = name; *c; c++)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
        fail_msg("route name '%s' is not a [a-z0-9_] label", name);
    for (int j = 0; j < i; j++)
      if (strcmp(name, tg_router_name(j)) == 0)
        fail_msg("route name '%s' used twice (%d, %d)", name, j, i);
  }
  assert_null(tg__router_route(-1));
  assert_null(tg__router_route(n));
  for (int i = 0; i < n; i++) {
    const struct tg_route *r = tg__router_route(i);
    assert_non_null(r);
    assert_int_equal(tg_router_index(r), i);
    assert_string_equal(tg_router_name(i), r->name);
    assert_non_null(r->handler);
    assert_non_null(r->method);
    assert_non_null(r->pattern);
    assert_int_equal(r->pattern[0], '/');
    const char *star = strchr(r->pattern, '*');
    if (star != NULL && strchr(star + 1, '*') != NULL)
      fail_msg("route %s: one '*' at most (%s)", r->name, r->pattern);
    /* The route's own method and pattern reach it: no earlier route shadows it.
     * A '*' inside the pattern stands for one segment. */
    char path[256];
    size_t pl = strlen(r->pattern);
    assert_true(pl + 8 < sizeof(path));
    memcpy(path, r->pattern, pl + 1);
    if (star != NULL)
      snprintf(path + (star - r->pattern), sizeof(path) - (size_t)(star - r->pattern),
               "some-id%s", star + 1);
    int allowed;
    const char *rest;
    const struct tg_route *m = match(r->method, path, &allowed, &rest);
    if (m != r)
      fail_msg("%s %s reaches %s, not %s", r->method, path, m ? m->name : "nothing", r->name);
    if (star != NULL)
      assert_int_equal(strncmp(rest, "some-id", 7), 0);
    else
      assert_null(rest);
  }
}

static int is_write(const char *method) {
  return strcmp(method, "GET") != 0;
}

/* Bodies: a route that takes one (POST, PUT) has a limit; the others take
 * none, and only a route with a body streams it. */
static void test_table_bodies(void **state) {
  (void)state;
  for (int i = 0; i < tg_router_count(); i++) {
    const struct tg_route *r = tg__router_route(i);
    int takes_body = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0;
    if (takes_body && r->max_body == 0)
      fail_msg("%s %s (%s) takes a body but has max_body 0", r->method, r->pattern, r->name);
    if (!takes_body && r->max_body != 0)
      fail_msg("%s %s (%s) takes no body but has max_body %zu", r->method, r->pattern, r->name,
               r->max_body);
    if (r->stream_body && r->max_body == 0)
      fail_msg("%s streams a body it may not take", r->name);
    const char *known[] = {"GET", "POST", "PUT", "DELETE"};
    int ok = 0;
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
      ok |= strcmp(r->method, known[k]) == 0;
    if (!ok)
      fail_msg("%s: method %s is not one the table knows how to check", r->name, r->method);
  }
}

/* The write routes (POST, PUT, DELETE) that take no scope, each with why.
 * Adding a write route without a scope fails here until it is listed. */
static const struct {
  const char *name;
  int peer_only;
} anonymous_writes[] = {
    {"certs_register", 0}, /* enrolment: a one-time token in the body, rate-limited */
    {"certs_renew", 1},    /* a member renewing with its current certificate */
    {"debug_echo", 0},     /* test-only routes: 404 unless [debug] test_routes */
    {"debug_sink", 0},
};

static void test_table_write_scopes(void **state) {
  (void)state;
  size_t na = sizeof(anonymous_writes) / sizeof(anonymous_writes[0]);
  int used[sizeof(anonymous_writes) / sizeof(anonymous_writes[0])] = {0};
  const char *known[] = {TG_SCOPE_CATALOG_READ, TG_SCOPE_CATALOG_WRITE, TG_SCOPE_DATA_READ,
                         TG_SCOPE_DATA_WRITE, TG_SCOPE_ADMIN};
  for (int i = 0; i < tg_router_count(); i++) {
    const struct tg_route *r = tg__router_route(i);
    if (r->scope != NULL) {
      int ok = 0;
      for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
        ok |= strcmp(r->scope, known[k]) == 0;
      if (!ok)
        fail_msg("%s: unknown scope '%s' (nobody could call it)", r->name, r->scope);
      continue;
    }
    if (!is_write(r->method))
      continue;
    size_t k = 0;
    while (k < na && strcmp(anonymous_writes[k].name, r->name) != 0)
      k++;
    if (k == na)
      fail_msg("%s %s (%s) writes without a scope", r->method, r->pattern, r->name);
    if (anonymous_writes[k].peer_only != r->peer_only)
      fail_msg("%s: peer_only is %d, expected %d", r->name, r->peer_only,
               anonymous_writes[k].peer_only);
    used[k] = 1;
  }
  /* The list holds no stale names (a renamed route must be re-examined). */
  for (size_t k = 0; k < na; k++)
    if (!used[k])
      fail_msg("anonymous write %s is no longer an unscoped write route", anonymous_writes[k].name);
}

/* Admin-only areas stay admin: peers and the node's reload. */
static void test_table_admin(void **state) {
  (void)state;
  int seen = 0;
  for (int i = 0; i < tg_router_count(); i++) {
    const struct tg_route *r = tg__router_route(i);
    if (strncmp(r->pattern, "/api/v1/peers", 13) == 0 ||
        strncmp(r->pattern, "/api/v1/node/", 13) == 0) {
      seen++;
      if (r->scope == NULL || strcmp(r->scope, TG_SCOPE_ADMIN) != 0)
        fail_msg("%s %s (%s) is not admin-only", r->method, r->pattern, r->name);
    }
  }
  assert_true(seen >= 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact),
      cmocka_unit_test(test_prefix),
      cmocka_unit_test(test_404_405),
      cmocka_unit_test(test_head),
      cmocka_unit_test(test_query_not_stripped),
      cmocka_unit_test(test_long_path),
      cmocka_unit_test(test_table_consistency),
      cmocka_unit_test(test_table_bodies),
      cmocka_unit_test(test_table_write_scopes),
      cmocka_unit_test(test_table_admin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
