/* Unit tests for tg_fed.h: installing a CRL (unchanged, newer, older, from
 * another CA, malformed), peer URL splitting, recording the hub in
 * tsunagu.conf, and the CA's member directory with registered URLs. */
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_node.h"
#include "tg_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
  char dir[256];
  char ca[300], ca2[300], node[300];
};

static char *slurp(const char *dir, const char *file) {
  char p[600], *s = NULL;
  snprintf(p, sizeof(p), "%s/%s", dir, file);
  assert_int_equal(tg_file_read(p, 1 << 20, &s, NULL, NULL), 0);
  return s;
}

static void put(const char *dir, const char *file, const char *text) {
  char p[600];
  snprintf(p, sizeof(p), "%s/%s", dir, file);
  assert_int_equal(tg_file_write(p, text, strlen(text), 0644, 0, NULL), 0);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  struct tg_err err;
  snprintf(f->dir, sizeof(f->dir), "%s/tg-fed-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->ca, sizeof(f->ca), "%s/ca", f->dir);
  snprintf(f->ca2, sizeof(f->ca2), "%s/ca2", f->dir);
  snprintf(f->node, sizeof(f->node), "%s/n", f->dir);
  assert_int_equal(tg_cert_ca_init(f->ca, "Fed", 0, &err), 0);
  assert_int_equal(tg_cert_ca_init(f->ca2, "Fed", 0, &err), 0); /* same name, other key */
  assert_int_equal(mkdir(f->node, 0700), 0);
  char *s = slurp(f->ca, "ca.crt");
  put(f->node, "ca.crt", s);
  free(s);
  s = slurp(f->ca, "crl.pem");
  put(f->node, "crl.pem", s);
  free(s);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* Issues an offline certificate for NODE and revokes it: a CRL number + 1. */
static void issue_and_revoke(const char *cadir, const char *node) {
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  EVP_PKEY *key = NULL;
  X509_REQ *csr = NULL;
  X509 *cert = NULL;
  assert_int_equal(tg_cert_ca_open(cadir, &ca, &err), 0);
  assert_int_equal(tg_cert_key_new(&key, &err), 0);
  assert_int_equal(tg_cert_csr_new(key, node, NULL, &csr, &err), 0);
  struct tg_cert_issue o = {.node_id = node, .hosts = "127.0.0.1"};
  assert_int_equal(tg_cert_ca_issue(ca, &o, csr, &cert, &err), 0);
  assert_int_equal(tg_cert_ca_revoke(ca, node, NULL, 1, NULL, &err), 0);
  X509_free(cert);
  X509_REQ_free(csr);
  EVP_PKEY_free(key);
  tg_cert_ca_close(ca);
}

static void test_crl_install(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  int changed = -1;
  char *v1 = slurp(f->ca, "crl.pem");
  assert_int_equal(tg_fed_crl_install(f->node, v1, strlen(v1), &changed, &err), 0);
  assert_int_equal(changed, 0); /* the same CRL: nothing to do */

  issue_and_revoke(f->ca, "n1");
  char *v2 = slurp(f->ca, "crl.pem");
  assert_string_not_equal(v1, v2);
  assert_int_equal(tg_fed_crl_install(f->node, v2, strlen(v2), &changed, &err), 0);
  assert_int_equal(changed, 1);
  char *got = slurp(f->node, "crl.pem");
  assert_string_equal(got, v2);
  free(got);

  /* An older CRL (a replay) does not replace a newer one. */
  assert_int_equal(tg_fed_crl_install(f->node, v1, strlen(v1), &changed, &err), TG_ECONFLICT);
  assert_int_equal(changed, 0);

  /* Another CA with the same name: not signed by ca.crt. */
  issue_and_revoke(f->ca2, "n1");
  issue_and_revoke(f->ca2, "n2");
  char *other = slurp(f->ca2, "crl.pem");
  assert_int_equal(tg_fed_crl_install(f->node, other, strlen(other), &changed, &err), TG_EPERM);
  assert_non_null(strstr(err.msg, "not signed by the federation CA"));

  static const char junk[] = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
  assert_int_equal(tg_fed_crl_install(f->node, junk, sizeof(junk) - 1, &changed, &err), TG_EINVAL);
  got = slurp(f->node, "crl.pem");
  assert_string_equal(got, v2); /* the refusals changed nothing */
  free(got);
  free(other);
  free(v1);
  free(v2);
}

static void test_url_split(void **state) {
  (void)state;
  char h[64], p[8];
  assert_int_equal(tg_fed_url_split("https://a.example:8443/x", h, sizeof(h), p, sizeof(p)), 0);
  assert_string_equal(h, "a.example");
  assert_string_equal(p, "8443");
  assert_int_equal(tg_fed_url_split("https://[::1]:9", h, sizeof(h), p, sizeof(p)), 0);
  assert_string_equal(h, "::1");
  assert_string_equal(p, "9");
  assert_int_equal(tg_fed_url_split("https://host", h, sizeof(h), p, sizeof(p)), 0);
  assert_string_equal(p, "443");
  assert_int_equal(tg_fed_url_split("http://host:1", h, sizeof(h), p, sizeof(p)), TG_EINVAL);
  assert_int_equal(tg_fed_url_split("https://:1", h, sizeof(h), p, sizeof(p)), TG_EINVAL);
  assert_int_equal(tg_fed_url_split("https://h:x", h, sizeof(h), p, sizeof(p)), TG_EINVAL);
  assert_int_equal(tg_fed_url_split("https://[::1", h, sizeof(h), p, sizeof(p)), TG_EINVAL);
  assert_int_equal(tg_fed_url_split("https://h:123456789", h, sizeof(h), p, sizeof(p)), TG_EINVAL);
  /* The hand parser took the digits and ignored the rest; libcurl's does not. */
  assert_int_equal(tg_fed_url_split("https://h:1x/", h, sizeof(h), p, sizeof(p)), TG_EINVAL);
  assert_int_equal(tg_fed_url_split("https://h:443?x", h, sizeof(h), p, sizeof(p)), 0);
  assert_string_equal(h, "h");
}

static void test_conf_set_hub(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  put(f->node, "tsunagu.conf", "[node]\nid = n\n");
  assert_int_equal(tg_fed_conf_set_hub(f->node, "https://hub:1", &err), 0);
  char *s = slurp(f->node, "tsunagu.conf");
  assert_string_equal(s, "[node]\nid = n\n\n[federation]\nhub = https://hub:1\n");
  free(s);
  /* A hub already named stays. */
  assert_int_equal(tg_fed_conf_set_hub(f->node, "https://other:2", &err), 0);
  s = slurp(f->node, "tsunagu.conf");
  assert_null(strstr(s, "other"));
  free(s);
  /* Into an existing [federation] section. */
  put(f->node, "tsunagu.conf", "[node]\nid = n\n[federation]\ncrl_refresh = 1s\n[log]\n");
  assert_int_equal(tg_fed_conf_set_hub(f->node, "https://hub:1", &err), 0);
  s = slurp(f->node, "tsunagu.conf");
  assert_string_equal(
      s, "[node]\nid = n\n[federation]\nhub = https://hub:1\ncrl_refresh = 1s\n[log]\n");
  free(s);
}

static void test_members(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  json_t *m = NULL;
  char url[128];
  assert_int_equal(tg_fed_members(f->ca, &m, &err), 0);
  assert_int_equal(json_array_size(m), 0);
  json_decref(m);
  assert_int_equal(tg_fed_member_url(f->ca, "n1", url, sizeof(url), &err), TG_ENOENT);
  assert_int_equal(tg_fed_member_record(f->ca, "n1", "https://127.0.0.1:1", &err), 0);
  assert_int_equal(tg_fed_member_record(f->ca, "n1", "https://127.0.0.1:2", &err), 0);
  assert_int_equal(tg_fed_member_url(f->ca, "n1", url, sizeof(url), &err), 0);
  assert_string_equal(url, "https://127.0.0.1:2");
  issue_and_revoke(f->ca, "n1");
  assert_int_equal(tg_fed_members(f->ca, &m, &err), 0);
  assert_int_equal(json_array_size(m), 1);
  json_t *e = json_array_get(m, 0);
  assert_string_equal(json_string_value(json_object_get(e, "node_id")), "n1");
  assert_string_equal(json_string_value(json_object_get(e, "url")), "https://127.0.0.1:2");
  assert_string_equal(json_string_value(json_object_get(e, "status")), "revoked");
  assert_int_equal(strlen(json_string_value(json_object_get(e, "fingerprint"))), 64);
  json_decref(m);
}

/* A CA database from before certs/ kept the URLs (fed_urls, schema 3):
 * opening it carries the rows over into ca_urls and drops fed_urls. */
static void test_members_migrated(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  char path[400], url[128];
  sqlite3 *db = NULL;
  snprintf(path, sizeof(path), "%s/ca.db", f->ca);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "DROP TABLE ca_urls;"
                                "UPDATE tg_schema SET version = 3 WHERE component = 'ca';"
                                "CREATE TABLE fed_urls(node_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
                                " updated_at INTEGER NOT NULL);"
                                "INSERT INTO fed_urls VALUES('old', 'https://127.0.0.1:7', 1);"
                                "INSERT INTO tg_schema VALUES('federation', 1);",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(tg_fed_member_url(f->ca, "old", url, sizeof(url), &err), 0);
  assert_string_equal(url, "https://127.0.0.1:7");
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT (SELECT count(*) FROM sqlite_master WHERE name ="
                                      " 'fed_urls'), (SELECT count(*) FROM tg_schema WHERE"
                                      " component = 'federation')",
                                      -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  assert_int_equal(sqlite3_column_int(st, 1), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* Addresses to listen on are not addresses to be reached at. */
static void test_host_kinds(void **state) {
  (void)state;
  static const char *const wild[] = {"0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0", "", NULL};
  static const char *const loop[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1",
                                     "localhost", "LocalHost", "a.localhost", NULL};
  static const char *const other[] = {"10.0.0.1", "tsunagu.t4.example.lg.jp", "2001:db8::1",
                                      "localhost.example", "0.0.0.1", "::2", NULL};
  for (int i = 0; wild[i]; i++) {
    assert_int_equal(tg_node_host_wildcard(wild[i]), 1);
    assert_int_equal(tg_node_host_loopback(wild[i]), 0);
  }
  for (int i = 0; loop[i]; i++) {
    assert_int_equal(tg_node_host_loopback(loop[i]), 1);
    assert_int_equal(tg_node_host_wildcard(loop[i]), 0);
  }
  for (int i = 0; other[i]; i++) {
    assert_int_equal(tg_node_host_wildcard(other[i]), 0);
    assert_int_equal(tg_node_host_loopback(other[i]), 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_crl_install, setup, teardown),
      cmocka_unit_test(test_url_split),
      cmocka_unit_test(test_host_kinds),
      cmocka_unit_test_setup_teardown(test_conf_set_hub, setup, teardown),
      cmocka_unit_test_setup_teardown(test_members, setup, teardown),
      cmocka_unit_test_setup_teardown(test_members_migrated, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
