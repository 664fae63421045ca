/* Unit tests for certs/ beside the CA: the node id a certificate names
 * (tg_cert_node_id, which every peer check relies on), the one SAN builder
 * and extension helper behind self-signed certificates and CSRs, and the one
 * CRL parser. */
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static EVP_PKEY *key(void) {
  static EVP_PKEY *k;
  struct tg_err err;
  if (k == NULL)
    assert_int_equal(tg_cert_key_new(&k, &err), 0);
  return k;
}

/* A self-signed certificate whose SAN holds the URIs URIS[i] (LENS[i] bytes,
 * so that a NUL can be embedded) and a DNS name; NURIS < 0: no SAN at all. */
static X509 *cert_with_uris(const char *const *uris, const int *lens, int nuris) {
  X509 *x = X509_new();
  assert_non_null(x);
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             (const unsigned char *)"t", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  if (nuris >= 0) {
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    for (int i = 0; i <= nuris; i++) {
      GENERAL_NAME *g = GENERAL_NAME_new();
      ASN1_IA5STRING *s = ASN1_IA5STRING_new();
      if (i < nuris)
        ASN1_STRING_set(s, uris[i], lens ? lens[i] : -1);
      else
        ASN1_STRING_set(s, "host.example", -1);
      GENERAL_NAME_set0_value(g, i < nuris ? GEN_URI : GEN_DNS, s);
      sk_GENERAL_NAME_push(names, g);
    }
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0), 1);
    GENERAL_NAMES_free(names);
  }
  assert_true(X509_sign(x, key(), EVP_sha256()) > 0);
  return x;
}

/* tg_cert_node_id on a certificate with the NURIS URIS: returns its code, the
 * id in OUT. */
static int node_id_of(const char *const *uris, const int *lens, int nuris, char *out, size_t n) {
  X509 *x = cert_with_uris(uris, lens, nuris);
  int rc = tg_cert_node_id(x, out, n);
  X509_free(x);
  return rc;
}

static void test_node_id(void **state) {
  (void)state;
  char id[64];
  /* zero: no SAN, a SAN without URIs, only other URIs */
  assert_int_equal(node_id_of(NULL, NULL, -1, id, sizeof(id)), TG_ENOENT);
  assert_string_equal(id, "");
  assert_int_equal(node_id_of(NULL, NULL, 0, id, sizeof(id)), TG_ENOENT);
  const char *other[] = {"https://a-city.example/", "urn:example:node:x"};
  assert_int_equal(node_id_of(other, NULL, 2, id, sizeof(id)), TG_ENOENT);
  /* one */
  const char *one[] = {"urn:tsunagu:node:a-city"};
  assert_int_equal(node_id_of(one, NULL, 1, id, sizeof(id)), 0);
  assert_string_equal(id, "a-city");
  /* one beside another scheme's URI, either order */
  const char *mixed[] = {"https://a-city.example/", "urn:tsunagu:node:b-town"};
  assert_int_equal(node_id_of(mixed, NULL, 2, id, sizeof(id)), 0);
  assert_string_equal(id, "b-town");
  const char *mixed2[] = {"urn:tsunagu:node:b-town", "spiffe://x/y"};
  assert_int_equal(node_id_of(mixed2, NULL, 2, id, sizeof(id)), 0);
  assert_string_equal(id, "b-town");
  /* two claims: ambiguous, whatever they say */
  const char *two[] = {"urn:tsunagu:node:a-city", "urn:tsunagu:node:b-town"};
  assert_int_equal(node_id_of(two, NULL, 2, id, sizeof(id)), TG_EINVAL);
  assert_string_equal(id, "");
  const char *same[] = {"urn:tsunagu:node:a-city", "urn:tsunagu:node:a-city"};
  assert_int_equal(node_id_of(same, NULL, 2, id, sizeof(id)), TG_EINVAL);
  const char *bad_then_good[] = {"urn:tsunagu:node:Evil_", "urn:tsunagu:node:a-city"};
  assert_int_equal(node_id_of(bad_then_good, NULL, 2, id, sizeof(id)), TG_EINVAL);
  /* invalid ids */
  const char *const bad[] = {"urn:tsunagu:node:",
                             "urn:tsunagu:node:A-City",
                             "urn:tsunagu:node:-a",
                             "urn:tsunagu:node:a.b",
                             "urn:tsunagu:node:a/b",
                             "URN:TSUNAGU:NODE:a-city",
                             "urn:tsunagu:node:"
                             "a123456789012345678901234567890123456789012345678901234567890123"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (node_id_of(&bad[i], NULL, 1, id, sizeof(id)) != TG_EINVAL)
      fail_msg("accepted %s", bad[i]);
    assert_string_equal(id, "");
  }
  /* an embedded NUL: "a-city" to strcmp, something else to the CA */
  const char nul[] = "urn:tsunagu:node:a-city\0.evil";
  const char *nuls[] = {nul};
  const int nlen[] = {(int)sizeof(nul) - 1};
  assert_int_equal(node_id_of(nuls, nlen, 1, id, sizeof(id)), TG_EINVAL);
  assert_string_equal(id, "");
  /* OUT too small */
  assert_int_equal(node_id_of(one, NULL, 1, id, 6), TG_ETOOBIG);
  assert_int_equal(node_id_of(one, NULL, 1, id, 7), 0);
  assert_string_equal(id, "a-city");
}

static void test_self_signed_san(void **state) {
  (void)state;
  struct tg_err err;
  X509 *x = NULL;
  char id[64], hosts[256];
  assert_int_equal(
      tg_cert_self_signed(key(), "a-city", "node.a-city.example,127.0.0.1,::1,,", 30, &x, &err), 0);
  assert_int_equal(tg_cert_node_id(x, id, sizeof(id)), 0);
  assert_string_equal(id, "a-city");
  assert_int_equal(tg_cert_hosts(x, hosts, sizeof(hosts)), 0);
  assert_string_equal(hosts, "node.a-city.example,127.0.0.1,::1");
  /* the extensions tg__cert_add_ext wrote */
  BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
  assert_non_null(bc);
  assert_false(bc->ca);
  BASIC_CONSTRAINTS_free(bc);
  assert_non_null(X509_get0_subject_key_id(x));
  assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
  assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
  assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
  X509_free(x);
  /* no hosts: the node URI alone */
  assert_int_equal(tg_cert_self_signed(key(), "b-town", NULL, 30, &x, &err), 0);
  assert_int_equal(tg_cert_hosts(x, hosts, sizeof(hosts)), 0);
  assert_string_equal(hosts, "");
  X509_free(x);
}

static void test_san_refusals(void **state) {
  (void)state;
  struct tg_err err;
  X509 *x = NULL;
  X509_REQ *req = NULL;
  const char *const bad_hosts[] = {"bad host",          "1.2.3.4.5",    "10.0.0.256", "1.2.3",
                                   "-a.example",        "a-.example",   "a..b",       "a_b.example",
                                   "*.example",         "fe80::1%eth0", "x:y",        "a.b.c.4",
                                   "exa\xc3\xa9mple.jp"};
  for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
    x = NULL;
    if (tg_cert_self_signed(key(), "a-city", bad_hosts[i], 30, &x, &err) != TG_EINVAL)
      fail_msg("self-signed accepted host '%s'", bad_hosts[i]);
    assert_null(x);
    if (tg_cert_csr_new(key(), "a-city", bad_hosts[i], &req, &err) != TG_EINVAL)
      fail_msg("CSR accepted host '%s'", bad_hosts[i]);
  }
  const char *const bad_ids[] = {"", "A-City", "a city", "a_b", "-a", "a-"};
  for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
    if (tg_cert_self_signed(key(), bad_ids[i], NULL, 30, &x, &err) != TG_EINVAL)
      fail_msg("self-signed accepted node id '%s'", bad_ids[i]);
    if (tg_cert_csr_new(key(), bad_ids[i], NULL, &req, &err) != TG_EINVAL)
      fail_msg("CSR accepted node id '%s'", bad_ids[i]);
  }
  /* A CSR and a self-signed certificate get the same SAN. */
  assert_int_equal(tg_cert_csr_new(key(), "a-city", "h.example,2001:db8::1", &req, &err), 0);
  STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
  GENERAL_NAMES *names = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
  assert_non_null(names);
  assert_int_equal(sk_GENERAL_NAME_num(names), 3);
  assert_int_equal(sk_GENERAL_NAME_value(names, 0)->type, GEN_URI);
  assert_int_equal(sk_GENERAL_NAME_value(names, 1)->type, GEN_DNS);
  assert_int_equal(sk_GENERAL_NAME_value(names, 2)->type, GEN_IPADD);
  assert_int_equal(ASN1_STRING_length(sk_GENERAL_NAME_value(names, 2)->d.iPAddress), 16);
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
}

/* ---- CRLs ---- */

static char *slurp(const char *dir, const char *name, size_t *len) {
  char p[512], *d = NULL;
  struct tg_err err;
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  assert_int_equal(tg_file_read(p, 1 << 20, &d, len, &err), 0);
  return d;
}

static void rm_ca(const char *dir) {
  static const char *const files[] = {"ca.key",    "ca.crt",    "crl.pem", "ca.db",
                                      "ca.db-wal", "ca.db-shm", NULL};
  char p[512];
  for (int i = 0; files[i]; i++) {
    snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
}

static void test_crl_parse(void **state) {
  (void)state;
  char top[256], a[300], b[300];
  struct tg_err err;
  snprintf(top, sizeof(top), "%s/tg-cert-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(top));
  snprintf(a, sizeof(a), "%s/a", top);
  snprintf(b, sizeof(b), "%s/b", top);
  /* Two CAs with the same name: only the signature tells them apart. */
  assert_int_equal(tg_cert_ca_init(a, "Federation", 0, &err), 0);
  assert_int_equal(tg_cert_ca_init(b, "Federation", 0, &err), 0);
  size_t n, n2;
  char *pem = slurp(a, "crl.pem", &n), *other = slurp(b, "crl.pem", &n2);
  char *capem = slurp(a, "ca.crt", &n2);
  X509 *ca = NULL;
  X509_CRL *crl = NULL;
  assert_int_equal(tg_cert_parse(capem, strlen(capem), &ca, &err), 0);

  assert_int_equal(tg_cert_crl_parse(pem, n, ca, &crl, &err), 0);
  assert_int_equal(tg_cert_crl_number(crl), 1);
  assert_int_equal(tg_cert_crl_check(crl, ca, &err), 0);
  /* DER works as well */
  unsigned char *der = NULL;
  int dl = i2d_X509_CRL(crl, &der);
  assert_true(dl > 0);
  X509_CRL_free(crl);
  crl = NULL;
  assert_int_equal(tg_cert_crl_parse(der, (size_t)dl, ca, &crl, &err), 0);
  X509_CRL_free(crl);
  crl = NULL;
  /* a byte after the DER structure */
  unsigned char *der2 = malloc((size_t)dl + 1);
  memcpy(der2, der, (size_t)dl);
  der2[dl] = 0;
  assert_int_equal(tg_cert_crl_parse(der2, (size_t)dl + 1, NULL, &crl, &err), TG_EINVAL);
  free(der2);
  OPENSSL_free(der);
  /* the other CA's CRL: parses, but is not ours */
  assert_int_equal(tg_cert_crl_parse(other, strlen(other), NULL, &crl, &err), 0);
  assert_int_equal(tg_cert_crl_check(crl, ca, &err), TG_EPERM);
  X509_CRL_free(crl);
  crl = NULL;
  assert_int_equal(tg_cert_crl_parse(other, strlen(other), ca, &crl, &err), TG_EPERM);
  assert_non_null(strstr(err.msg, "not signed by the federation CA"));
  assert_null(crl);
  /* a second PEM block of any kind */
  char *two = malloc(n + strlen(capem) + 1);
  memcpy(two, pem, n);
  memcpy(two + n, capem, strlen(capem) + 1);
  assert_int_equal(tg_cert_crl_parse(two, strlen(two), ca, &crl, &err), TG_EINVAL);
  assert_non_null(strstr(err.msg, "more than one PEM block"));
  free(two);
  /* not a CRL */
  assert_int_equal(tg_cert_crl_parse(capem, strlen(capem), NULL, &crl, &err), TG_EINVAL);
  assert_int_equal(tg_cert_crl_parse("junk", 4, NULL, &crl, &err), TG_EINVAL);
  assert_int_equal(tg_cert_crl_parse("", 0, NULL, &crl, &err), TG_EINVAL);
  assert_null(crl);

  X509_free(ca);
  free(pem);
  free(other);
  free(capem);
  rm_ca(a);
  rm_ca(b);
  rmdir(top);
}

static int done(void **state) {
  (void)state;
  EVP_PKEY_free(key());
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_id),
      cmocka_unit_test(test_self_signed_san),
      cmocka_unit_test(test_san_refusals),
      cmocka_unit_test(test_crl_parse),
  };
  return cmocka_run_group_tests(tests, NULL, done);
}
