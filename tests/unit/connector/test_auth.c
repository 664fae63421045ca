/* Unit tests for tg_auth's scope decisions without a request: scope names to
 * TG_SCOPEBIT_* bits (tg_oauth), the grant check (tg__auth_grants), and the
 * [auth] anonymous setting ("catalog:read data:read", "none", typos, admin). */
#include "tg_auth.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_oauth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#define CR TG_SCOPEBIT_CATALOG_READ
#define CW TG_SCOPEBIT_CATALOG_WRITE
#define DR TG_SCOPEBIT_DATA_READ
#define DW TG_SCOPEBIT_DATA_WRITE
#define AD TG_SCOPEBIT_ADMIN

static unsigned bit(const char *name) {
  return tg_oauth_scope_bit(name, strlen(name));
}

static void test_scope_bit(void **state) {
  (void)state;
  assert_int_equal(bit(TG_SCOPE_CATALOG_READ), CR);
  assert_int_equal(bit(TG_SCOPE_CATALOG_WRITE), CW);
  assert_int_equal(bit(TG_SCOPE_DATA_READ), DR);
  assert_int_equal(bit(TG_SCOPE_DATA_WRITE), DW);
  assert_int_equal(bit(TG_SCOPE_ADMIN), AD);
  /* Distinct single bits, together exactly TG_SCOPEBIT_ALL. */
  unsigned all = CR | CW | DR | DW | AD;
  assert_int_equal(all, TG_SCOPEBIT_ALL);
  assert_int_equal(CR + CW + DR + DW + AD, TG_SCOPEBIT_ALL);
  /* Exact names only: no prefixes, no case folding, no padding. */
  const char *const bad[] = {"",
                             "catalog",
                             "catalog:",
                             "Catalog:read",
                             "ADMIN",
                             "admin ",
                             " admin",
                             "catalog:read ",
                             "catalog:*",
                             "catalog:reads",
                             "data:readwrite",
                             "administrator",
                             "*",
                             "catalog:read,data:read"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (bit(bad[i]) != 0)
      fail_msg("'%s' took a scope bit", bad[i]);
  /* LEN bounds the name: "catalog:readX" read as 12 bytes is catalog:read. */
  assert_int_equal(tg_oauth_scope_bit("catalog:readX", 12), CR);
  assert_int_equal(tg_oauth_scope_bit("catalog:read", 11), 0);
  assert_int_equal(tg_oauth_scope_bit("adminx", 5), AD);
}

/* A token's "scope" claim is space-separated (RFC 6749 3.3); unknown names
 * are ignored, commas are part of a name (so "a,b" grants nothing). */
static void test_scope_bits_claim(void **state) {
  (void)state;
  assert_int_equal(tg_oauth_scope_bits(NULL), 0);
  assert_int_equal(tg_oauth_scope_bits(""), 0);
  assert_int_equal(tg_oauth_scope_bits("   "), 0);
  assert_int_equal(tg_oauth_scope_bits("catalog:read"), CR);
  assert_int_equal(tg_oauth_scope_bits("catalog:read data:read"), CR | DR);
  assert_int_equal(tg_oauth_scope_bits("  data:write   catalog:write  "), DW | CW);
  assert_int_equal(tg_oauth_scope_bits("openid profile data:read email"), DR);
  assert_int_equal(tg_oauth_scope_bits("catalog:read,data:read"), 0);
  assert_int_equal(tg_oauth_scope_bits("catalog:read, data:read"), DR);
  assert_int_equal(tg_oauth_scope_bits("catalog:read\tdata:read"), 0);
  assert_int_equal(tg_oauth_scope_bits("admin"), AD);
  /* Admin is one bit in a claim; it is the admin *token* that holds them all. */
  assert_int_equal(tg_oauth_scope_bits("admin") & CW, 0);
  assert_int_equal(tg_oauth_scope_bits("catalog:read catalog:read"), CR);
}

static void test_grants(void **state) {
  (void)state;
  /* The admin token's bits grant every known scope. */
  const char *const known[] = {TG_SCOPE_CATALOG_READ, TG_SCOPE_CATALOG_WRITE, TG_SCOPE_DATA_READ,
                               TG_SCOPE_DATA_WRITE, TG_SCOPE_ADMIN};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    assert_true(tg__auth_grants(TG_SCOPEBIT_ALL, known[i]));
    assert_false(tg__auth_grants(0, known[i]));
    /* Every other bit but this scope's: not granted. */
    assert_false(tg__auth_grants(TG_SCOPEBIT_ALL & ~bit(known[i]), known[i]));
    assert_true(tg__auth_grants(bit(known[i]), known[i]));
  }
  /* Scopes do not imply each other: write is not read, admin (as a claim
   * bit) is not catalog:write. */
  assert_false(tg__auth_grants(CW, TG_SCOPE_CATALOG_READ));
  assert_false(tg__auth_grants(DW, TG_SCOPE_DATA_READ));
  assert_false(tg__auth_grants(AD, TG_SCOPE_CATALOG_WRITE));
  assert_false(tg__auth_grants(CR | DR, TG_SCOPE_ADMIN));
  /* An unknown or misspelt scope is granted to nobody, not even all bits. */
  assert_false(tg__auth_grants(TG_SCOPEBIT_ALL, "catalog:reed"));
  assert_false(tg__auth_grants(~0u, ""));
  assert_false(tg__auth_grants(~0u, "catalog:read data:read"));
  assert_false(tg__auth_grants(~0u, "catalog:read,data:read"));
}

/* [auth] anonymous from the configuration TEXT: its bits, or the error code. */
static int anon(const char *text, unsigned *bits) {
  struct tg_conf *c = NULL;
  struct tg_err err = {0};
  assert_int_equal(tg_conf_parse(text, strlen(text), &c, &err), 0);
  struct tg_oauth_conf oc;
  int rc = tg_oauth_conf_load(c, &oc, &err);
  tg_conf_free(c);
  *bits = rc == 0 ? oc.anonymous : 0xdead;
  return rc;
}

static void test_anonymous_conf(void **state) {
  (void)state;
  unsigned b;
  /* Default: anyone may read the catalog. */
  assert_int_equal(anon("", &b), 0);
  assert_int_equal(b, CR);
  assert_int_equal(anon("[auth]\n", &b), 0);
  assert_int_equal(b, CR);
  assert_int_equal(anon("[auth]\nanonymous = none\n", &b), 0);
  assert_int_equal(b, 0);
  assert_int_equal(anon("[auth]\nanonymous = catalog:read data:read\n", &b), 0);
  assert_int_equal(b, CR | DR);
  /* The configuration list takes spaces, tabs or commas. */
  assert_int_equal(anon("[auth]\nanonymous = catalog:read,data:read\n", &b), 0);
  assert_int_equal(b, CR | DR);
  assert_int_equal(anon("[auth]\nanonymous = data:read ,\tcatalog:write\n", &b), 0);
  assert_int_equal(b, DR | CW);
  assert_int_equal(anon("[auth]\nanonymous = data:read\n", &b), 0);
  assert_int_equal(b, DR);
  /* A typo must not silently open or close: unknown names are errors here. */
  const char *const bad[] = {
      "[auth]\nanonymous = catalog:reed\n",
      "[auth]\nanonymous = catalog:read data:raed\n",
      "[auth]\nanonymous = None\n",
      "[auth]\nanonymous = none catalog:read\n",
      "[auth]\nanonymous = all\n",
      "[auth]\nanonymous = catalog:read;data:read\n",
      /* admin is never anonymous */
      "[auth]\nanonymous = admin\n",
      "[auth]\nanonymous = catalog:read admin\n",
      "[auth]\nanonymous = catalog:read,admin\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = anon(bad[i], &b);
    if (rc != TG_EINVAL)
      fail_msg("accepted (rc %d, bits %u): %s", rc, b, bad[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scope_bit),
      cmocka_unit_test(test_scope_bits_claim),
      cmocka_unit_test(test_grants),
      cmocka_unit_test(test_anonymous_conf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
