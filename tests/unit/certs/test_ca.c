/* Unit tests for the federation CA (tg_cert_ca.h): CA init and its refusal
 * to overwrite, strict CSR input (PEM, DER and every refusal), enrollment
 * tokens, what an issued certificate holds, revocation and CRLs. */
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
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
  char dir[256];   /* temporary directory */
  char cadir[300]; /* DIR/ca */
  struct tg_cert_ca *ca;
  EVP_PKEY *key; /* a node key */
};

static void rm_dir(const char *dir) {
  static const char *const files[] = {"ca.key",    "ca.crt",    "crl.pem", "ca.db",
                                      "ca.db-wal", "ca.db-shm", NULL};
  char p[512];
  for (int i = 0; files[i]; i++) {
    snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  struct tg_err err;
  snprintf(f->dir, sizeof(f->dir), "%s/tg-ca-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->cadir, sizeof(f->cadir), "%s/ca", f->dir);
  assert_int_equal(tg_cert_ca_init(f->cadir, "Test Federation", 0, &err), 0);
  assert_int_equal(tg_cert_ca_open(f->cadir, &f->ca, &err), 0);
  assert_int_equal(tg_cert_key_new(&f->key, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  tg_cert_ca_close(f->ca);
  EVP_PKEY_free(f->key);
  rm_dir(f->cadir);
  rmdir(f->dir);
  free(f);
  return 0;
}

static char *slurp(const char *dir, const char *name) {
  char p[512], *d = NULL;
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  if (tg_file_read(p, 1 << 20, &d, NULL, NULL) != 0)
    return NULL;
  return d;
}

static X509_REQ *csr_for(EVP_PKEY *key, const char *node, const char *hosts) {
  X509_REQ *r = NULL;
  assert_int_equal(tg_cert_csr_new(key, node, hosts, &r, NULL), 0);
  return r;
}

/* DER bytes of REQ in a heap buffer. */
static unsigned char *der_of(X509_REQ *req, int *len) {
  unsigned char *d = NULL;
  *len = i2d_X509_REQ(req, &d);
  assert_true(*len > 0);
  return d;
}

static int parse_pem(X509_REQ *req, struct tg_err *err) {
  char *pem = NULL;
  X509_REQ *out = NULL;
  assert_int_equal(tg_cert_csr_pem(req, &pem, NULL), 0);
  int rc = tg_cert_csr_parse(pem, strlen(pem), &out, err);
  X509_REQ_free(out);
  free(pem);
  return rc;
}

static void test_init_files_and_refusal(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  struct stat st;
  char p[512];
  snprintf(p, sizeof(p), "%s/ca.key", f->cadir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  X509 *ca = tg_cert_ca_cert_get(f->ca);
  assert_int_equal(X509_check_ca(ca), 1);
  BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca, NID_basic_constraints, NULL, NULL);
  assert_non_null(bc);
  assert_true(bc->ca);
  assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
  BASIC_CONSTRAINTS_free(bc);
  assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  assert_non_null(X509_get0_subject_key_id(ca));
  char *before = slurp(f->cadir, "ca.crt");
  int rc = tg_cert_ca_init(f->cadir, "Other", 0, &err);
  assert_int_equal(rc, TG_EEXIST);
  assert_non_null(strstr(err.msg, "refusing"));
  char *after = slurp(f->cadir, "ca.crt");
  assert_string_equal(before, after);
  free(before);
  free(after);
  assert_int_equal(tg_cert_ca_init(f->cadir, "", 0, &err), TG_EINVAL);
  assert_int_equal(tg_cert_ca_init(f->cadir, "x", 40000, &err), TG_EINVAL);
}

static void test_csr_pem_and_der(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  X509_REQ *r = csr_for(f->key, "node-1", "127.0.0.1,node1.example"), *out = NULL;
  assert_int_equal(parse_pem(r, &err), 0);
  int n;
  unsigned char *der = der_of(r, &n);
  assert_int_equal(tg_cert_csr_parse(der, (size_t)n, &out, &err), 0);
  X509_REQ_free(out);
  out = NULL;
  /* Trailing bytes after the DER structure. */
  unsigned char *longer = malloc((size_t)n + 1);
  memcpy(longer, der, (size_t)n);
  longer[n] = 0;
  assert_int_equal(tg_cert_csr_parse(longer, (size_t)n + 1, &out, &err), TG_EINVAL);
  assert_non_null(strstr(err.msg, "after the DER"));
  /* Truncated DER. */
  assert_int_equal(tg_cert_csr_parse(der, (size_t)n - 5, &out, &err), TG_EINVAL);
  /* One flipped byte in the signature: parses, does not verify. */
  longer[n - 3] ^= 0x5a;
  int rc = tg_cert_csr_parse(longer, (size_t)n, &out, &err);
  assert_true(rc == TG_ECRYPTO || rc == TG_EINVAL);
  assert_null(out);
  free(longer);
  OPENSSL_free(der);
  X509_REQ_free(r);
}

static void test_csr_malformed(void **state) {
  (void)state;
  struct tg_err err;
  X509_REQ *out = NULL;
  static const char *const bad[] = {
    "",
    "garbage",
    "-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all!!\n-----END CERTIFICATE REQUEST-----\n",
    "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n",
    "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tg_err_clear(&err);
    assert_int_equal(tg_cert_csr_parse(bad[i], strlen(bad[i]), &out, &err), TG_EINVAL);
    assert_null(out);
    assert_true(err.msg[0] != '\0');
  }
  char *big = calloc(1, TG_CA_MAX_INPUT + 2);
  memset(big, 'A', TG_CA_MAX_INPUT + 1);
  assert_int_equal(tg_cert_csr_parse(big, TG_CA_MAX_INPUT + 1, &out, &err), TG_ETOOBIG);
  free(big);
}

static void test_csr_wrong_key_signature(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  EVP_PKEY *other = NULL;
  assert_int_equal(tg_cert_key_new(&other, NULL), 0);
  X509_REQ *r = X509_REQ_new();
  X509_REQ_set_pubkey(r, f->key);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
                             (const unsigned char *)"x", -1, -1, 0);
  assert_true(X509_REQ_sign(r, other, EVP_sha256()) > 0);
  assert_int_equal(parse_pem(r, &err), TG_ECRYPTO);
  assert_non_null(strstr(err.msg, "does not verify"));
  X509_REQ_free(r);
  EVP_PKEY_free(other);
}

static X509_REQ *csr_with(EVP_PKEY *k, const EVP_MD *md) {
  X509_REQ *r = X509_REQ_new();
  X509_REQ_set_pubkey(r, k);
  assert_true(X509_REQ_sign(r, k, md) > 0);
  return r;
}

static void test_csr_key_types(void **state) {
  (void)state;
  struct tg_err err;
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  X509_REQ *r = csr_with(rsa, EVP_sha256());
  assert_int_equal(parse_pem(r, &err), TG_EUNSUP);
  assert_non_null(strstr(err.msg, "RSA"));
  X509_REQ_free(r);
  r = csr_with(ed, NULL);
  assert_int_equal(parse_pem(r, &err), TG_EUNSUP);
  assert_non_null(strstr(err.msg, "Ed25519"));
  X509_REQ_free(r);
  r = csr_with(p384, EVP_sha256());
  assert_int_equal(parse_pem(r, &err), TG_EUNSUP);
  assert_non_null(strstr(err.msg, "P-256"));
  X509_REQ_free(r);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ed);
  EVP_PKEY_free(p384);
}

static int64_t count(const char *cadir, const char *sql) {
  char p[512];
  sqlite3 *db;
  sqlite3_stmt *st;
  int64_t n = -1;
  snprintf(p, sizeof(p), "%s/ca.db", cadir);
  assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void exec_sql(const char *cadir, const char *sql) {
  char p[512];
  sqlite3 *db;
  snprintf(p, sizeof(p), "%s/ca.db", cadir);
  assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void test_issue_contents(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  /* The CSR asks for names the CA must not copy. */
  X509_REQ *r = csr_for(f->key, "evil", "evil.example,10.9.9.9");
  X509 *x = NULL;
  struct tg_cert_issue o = {.node_id = "node-7", .hosts = "127.0.0.1,node7.example"};
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), 0);
  char id[64];
  assert_int_equal(tg_cert_node_id(x, id, sizeof(id)), 0);
  assert_string_equal(id, "node-7");
  char *pem = NULL;
  BIO *b = BIO_new(BIO_s_mem());
  X509V3_extensions_print(b, NULL, X509_get0_extensions(x), 0, 0);
  BIO_write(b, "", 1);
  BIO_get_mem_data(b, &pem);
  assert_null(strstr(pem, "evil"));
  assert_null(strstr(pem, "10.9.9.9"));
  assert_non_null(strstr(pem, "URI:urn:tsunagu:node:node-7"));
  assert_non_null(strstr(pem, "IP Address:127.0.0.1"));
  assert_non_null(strstr(pem, "DNS:node7.example"));
  BIO_free(b);
  char cn[64];
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
  assert_string_equal(cn, "node-7");
  assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
  assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
  assert_non_null(X509_get0_authority_key_id(x));
  assert_non_null(X509_get0_subject_key_id(x));
  const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
  assert_int_equal(ASN1_STRING_length(sn), 16);
  assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER); /* positive */
  int days, secs;
  assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
  assert_true(days == 89 || days == 90);
  assert_int_equal(tg_cert_verify(x, f->key, tg_cert_ca_cert_get(f->ca), NULL, "node-7", &err), 0);
  assert_int_equal(tg_cert_verify(x, f->key, tg_cert_ca_cert_get(f->ca), NULL, "node-8", &err),
                   TG_EPERM);
  EVP_PKEY *other = NULL;
  tg_cert_key_new(&other, NULL);
  assert_int_equal(tg_cert_verify(x, other, tg_cert_ca_cert_get(f->ca), NULL, NULL, &err),
                   TG_EPERM);
  EVP_PKEY_free(other);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_certs WHERE node_id='node-7'"), 1);
  X509_free(x);
  /* A bad host or node id is refused and nothing is recorded. */
  o.hosts = "a b";
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_EINVAL);
  o.hosts = NULL;
  o.node_id = "Not_Valid";
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_EINVAL);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_certs"), 1);
  X509_REQ_free(r);
}

/* A short validity is backdated by at most a tenth of it (two thirds of its
 * life must lie ahead for renewal), the default by 300 s; the time
 * accessors read what was issued. */
static void test_issue_short_validity(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  X509_REQ *r = csr_for(f->key, "short", NULL);
  X509 *x = NULL;
  struct tg_cert_issue o = {.node_id = "short", .valid_s = 30};
  int64_t now = tg_time_now();
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), 0);
  int64_t nb = tg_cert_not_before(x), na = tg_cert_not_after(x);
  assert_true(na >= now + 29 && na <= now + 32);
  assert_true(nb >= now - 4 && nb <= now);
  X509_free(x);
  o.valid_s = 0;
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), 0);
  nb = tg_cert_not_before(x);
  assert_true(nb >= now - 302 && nb <= now - 299);
  X509_free(x);
  assert_int_equal(tg_cert_not_after(NULL), 0);
  assert_int_equal(tg_cert_crl_next_update(NULL), 0);
  X509_REQ_free(r);
}

static void test_tokens(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  char tok[TG_CA_TOKEN_LEN + 1], tok2[TG_CA_TOKEN_LEN + 1];
  X509 *x = NULL;
  X509_REQ *r = csr_for(f->key, "node-a", NULL);
  assert_int_equal(tg_cert_ca_token_new(f->ca, "node-a", 3600, tok, sizeof(tok), &err), 0);
  assert_int_equal(strlen(tok), TG_CA_TOKEN_LEN);
  /* Only the hash is stored. */
  char sql[256];
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM ca_tokens WHERE hash='%s'", tok);
  assert_int_equal(count(f->cadir, sql), 0);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_tokens"), 1);
  /* Bound to node-a: node-b cannot use it, and the refusal does not spend it. */
  struct tg_cert_issue o = {.node_id = "node-b", .token = tok};
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_EPERM);
  assert_non_null(strstr(err.msg, "node-a"));
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_certs"), 0);
  o.node_id = "node-a";
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), 0);
  X509_free(x);
  x = NULL;
  /* Single use. */
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_ECONFLICT);
  assert_null(x);
  /* Unknown. */
  char fake[TG_CA_TOKEN_LEN + 1];
  memset(fake, 'a', TG_CA_TOKEN_LEN);
  fake[TG_CA_TOKEN_LEN] = '\0';
  o.token = fake;
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_ENOENT);
  o.token = "short";
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_ENOENT);
  /* Expired. */
  assert_int_equal(tg_cert_ca_token_new(f->ca, "node-a", 3600, tok2, sizeof(tok2), &err), 0);
  exec_sql(f->cadir, "UPDATE ca_tokens SET expires = 1 WHERE used_at IS NULL");
  o.token = tok2;
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &x, &err), TG_ETIMEDOUT);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_certs"), 1);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_tokens WHERE used_at IS NOT NULL"), 1);
  /* Bad arguments. */
  assert_int_equal(tg_cert_ca_token_new(f->ca, "Bad Id", 3600, tok2, sizeof(tok2), &err),
                   TG_EINVAL);
  assert_int_equal(tg_cert_ca_token_new(f->ca, "node-a", 0, tok2, sizeof(tok2), &err), TG_EINVAL);
  assert_int_equal(tg_cert_ca_token_new(f->ca, "node-a", 60, tok2, 10, &err), TG_ETOOBIG);
  X509_REQ_free(r);
}

static int64_t crl_number(const char *cadir, X509_CRL **keep) {
  char p[512];
  X509_CRL *crl = NULL;
  snprintf(p, sizeof(p), "%s/crl.pem", cadir);
  assert_int_equal(tg_cert_crl_load(p, &crl, NULL), 0);
  ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
  assert_non_null(n);
  int64_t v = ASN1_INTEGER_get(n);
  ASN1_INTEGER_free(n);
  assert_non_null(X509_CRL_get0_nextUpdate(crl));
  AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
  assert_non_null(aki);
  AUTHORITY_KEYID_free(aki);
  if (keep)
    *keep = crl;
  else
    X509_CRL_free(crl);
  return v;
}

static void test_revoke(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  X509 *a = NULL, *b = NULL;
  X509_CRL *crl = NULL;
  X509_REQ *r = csr_for(f->key, "n", NULL);
  struct tg_cert_issue o = {.node_id = "node-a"};
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &a, &err), 0);
  o.node_id = "node-b";
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r, &b, &err), 0);
  X509 *cacert = tg_cert_ca_cert_get(f->ca);
  assert_int_equal(crl_number(f->cadir, &crl), 1);
  assert_int_equal(tg_cert_verify(a, f->key, cacert, crl, NULL, &err), 0);
  X509_CRL_free(crl);
  int n = 0;
  assert_int_equal(tg_cert_ca_revoke(f->ca, "node-a", NULL, 1, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(crl_number(f->cadir, &crl), 2);
  assert_int_equal(tg_cert_verify(a, f->key, cacert, crl, NULL, &err), TG_EPERM);
  assert_non_null(strstr(err.msg, "revoked"));
  assert_int_equal(tg_cert_verify(b, f->key, cacert, crl, NULL, &err), 0);
  X509_CRL_free(crl);
  /* Refusals change neither the CRL nor its number. */
  char *before = slurp(f->cadir, "crl.pem");
  assert_int_equal(tg_cert_ca_revoke(f->ca, "node-a", NULL, 0, &n, &err), TG_ENOENT);
  char serial[48];
  tg_cert_serial_hex(a, serial, sizeof(serial));
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, serial, 0, &n, &err), TG_EEXIST);
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, "zz", 0, &n, &err), TG_EINVAL);
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, "0123456789abcdef", 0, &n, &err), TG_ENOENT);
  assert_int_equal(tg_cert_ca_revoke(f->ca, "node-b", NULL, 7, &n, &err), TG_EINVAL);
  assert_int_equal(tg_cert_ca_revoke(f->ca, "node-b", serial, 0, &n, &err), TG_EINVAL);
  char *after = slurp(f->cadir, "crl.pem");
  assert_string_equal(before, after);
  free(before);
  free(after);
  /* By serial, lowercase with colons. */
  tg_cert_serial_hex(b, serial, sizeof(serial));
  char colons[80];
  size_t o2 = 0;
  for (size_t i = 0; serial[i]; i++) {
    if (i && i % 2 == 0)
      colons[o2++] = ':';
    colons[o2++] = (char)(serial[i] >= 'A' && serial[i] <= 'F' ? serial[i] + 32 : serial[i]);
  }
  colons[o2] = '\0';
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, colons, tg_cert_crl_reason("superseded"), &n,
                                     &err),
                   0);
  assert_int_equal(crl_number(f->cadir, &crl), 3);
  assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
  assert_int_equal(tg_cert_verify(b, f->key, cacert, crl, NULL, &err), TG_EPERM);
  X509_CRL_free(crl);
  assert_int_equal(tg_cert_ca_crl_renew(f->ca, &err), 0);
  assert_int_equal(crl_number(f->cadir, NULL), 4);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_log WHERE event='revoke'"), 2);
  assert_int_equal(tg_cert_crl_reason("keyCompromise"), 1);
  assert_int_equal(tg_cert_crl_reason("nonsense"), -1);
  X509_free(a);
  X509_free(b);
  X509_REQ_free(r);
}

/* CERT's status under the CA's current crl.pem: 0 or TG_EPERM. */
static int under_crl(struct fx *f, X509 *cert, EVP_PKEY *key) {
  X509_CRL *crl = NULL;
  struct tg_err err;
  crl_number(f->cadir, &crl);
  int rc = tg_cert_verify(cert, key, tg_cert_ca_cert_get(f->ca), crl, NULL, &err);
  X509_CRL_free(crl);
  return rc;
}

/* Renewal keeps the key unless a rotation is asked for; a rotation retires
 * the old certificates; revoking any certificate by serial revokes its
 * family (what was renewed or rotated from the same enrolment), not another
 * enrolment of the node. */
static void test_renew_rotate_family(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  EVP_PKEY *k2 = NULL;
  X509 *a = NULL, *b = NULL, *c = NULL, *d = NULL, *x = NULL;
  char sa[48], sc[48];
  int n = 0;
  assert_int_equal(tg_cert_key_new(&k2, &err), 0);
  X509_REQ *r1 = csr_for(f->key, "n", NULL), *r2 = csr_for(k2, "n", NULL);
  struct tg_cert_issue o = {.node_id = "node-a", .hosts = "127.0.0.1"};
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r1, &a, &err), 0);
  /* Another enrolment of the same node: a family of its own. */
  assert_int_equal(tg_cert_ca_issue(f->ca, &o, r1, &d, &err), 0);
  /* Renewal with the same key. */
  struct tg_cert_issue rn = {.node_id = "node-a", .hosts = "127.0.0.1", .how = "renew", .renews = a};
  assert_int_equal(tg_cert_ca_issue(f->ca, &rn, r1, &b, &err), 0);
  /* A new key without asking for a rotation is refused, and so is a
   * rotation to the same key; another node cannot renew a's certificate. */
  rn.renews = b;
  assert_int_equal(tg_cert_ca_issue(f->ca, &rn, r2, &x, &err), TG_ECONFLICT);
  assert_non_null(strstr(err.msg, "key rotation"));
  rn.rotate = 1;
  assert_int_equal(tg_cert_ca_issue(f->ca, &rn, r1, &x, &err), TG_ECONFLICT);
  rn.node_id = "node-b";
  assert_int_equal(tg_cert_ca_issue(f->ca, &rn, r2, &x, &err), TG_EPERM);
  rn.node_id = "node-a";
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_certs"), 3);
  /* The rotation: b's family (a and b, the old key) is superseded. */
  int64_t before = crl_number(f->cadir, NULL);
  assert_int_equal(tg_cert_ca_issue(f->ca, &rn, r2, &c, &err), 0);
  assert_int_equal(crl_number(f->cadir, NULL), before + 1);
  assert_int_equal(under_crl(f, a, f->key), TG_EPERM);
  assert_int_equal(under_crl(f, b, f->key), TG_EPERM);
  assert_int_equal(under_crl(f, c, k2), 0);
  assert_int_equal(under_crl(f, d, f->key), 0);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_certs WHERE reason = 4"), 2);
  assert_int_equal(count(f->cadir, "SELECT count(*) FROM ca_log WHERE event = 'rotate'"), 1);
  /* A superseded certificate renews nothing. */
  rn.rotate = 0;
  rn.renews = b;
  assert_int_equal(tg_cert_ca_issue(f->ca, &rn, r1, &x, &err), TG_EPERM);
  /* Revoking the first certificate (already superseded) by serial revokes
   * its successor c, and leaves the other enrolment d alone. */
  tg_cert_serial_hex(a, sa, sizeof(sa));
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, sa, tg_cert_crl_reason("keyCompromise"), &n,
                                     &err),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(under_crl(f, c, k2), TG_EPERM);
  assert_int_equal(under_crl(f, d, f->key), 0);
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, sa, 1, &n, &err), TG_EEXIST);
  tg_cert_serial_hex(c, sc, sizeof(sc));
  assert_int_equal(tg_cert_ca_revoke(f->ca, NULL, sc, 1, &n, &err), TG_EEXIST);
  X509_free(a);
  X509_free(b);
  X509_free(c);
  X509_free(d);
  X509_REQ_free(r1);
  X509_REQ_free(r2);
  EVP_PKEY_free(k2);
}

static void test_foreign_ca_and_no_uri(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  char other[300];
  struct tg_cert_ca *ca2 = NULL;
  snprintf(other, sizeof(other), "%s/ca2", f->dir);
  assert_int_equal(tg_cert_ca_init(other, "Other", 10, &err), 0);
  assert_int_equal(tg_cert_ca_open(other, &ca2, &err), 0);
  X509_REQ *r = csr_for(f->key, "n", NULL);
  X509 *x = NULL;
  struct tg_cert_issue o = {.node_id = "node-a"};
  assert_int_equal(tg_cert_ca_issue(ca2, &o, r, &x, &err), 0);
  assert_int_equal(tg_cert_verify(x, f->key, tg_cert_ca_cert_get(f->ca), NULL, NULL, &err),
                   TG_EPERM);
  assert_non_null(strstr(err.msg, "does not verify"));
  X509_free(x);
  /* A self-signed bootstrap certificate names the node but chains to nothing. */
  assert_int_equal(tg_cert_self_signed(f->key, "node-a", NULL, 1, &x, &err), 0);
  assert_int_equal(tg_cert_verify(x, f->key, tg_cert_ca_cert_get(f->ca), NULL, NULL, &err),
                   TG_EPERM);
  X509_free(x);
  /* Certificate parse refusals. */
  assert_int_equal(tg_cert_parse("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", 54,
                                 &x, &err),
                   TG_EINVAL);
  assert_int_equal(tg_cert_parse("\x30\x03\x02\x01\x01", 5, &x, &err), TG_EINVAL);
  tg_cert_ca_close(ca2);
  X509_REQ_free(r);
  rm_dir(other);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_init_files_and_refusal, setup, teardown),
    cmocka_unit_test_setup_teardown(test_csr_pem_and_der, setup, teardown),
    cmocka_unit_test_setup_teardown(test_csr_malformed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_csr_wrong_key_signature, setup, teardown),
    cmocka_unit_test_setup_teardown(test_csr_key_types, setup, teardown),
    cmocka_unit_test_setup_teardown(test_issue_contents, setup, teardown),
    cmocka_unit_test_setup_teardown(test_issue_short_validity, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
    cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
    cmocka_unit_test_setup_teardown(test_renew_rotate_family, setup, teardown),
    cmocka_unit_test_setup_teardown(test_foreign_ca_and_no_uri, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
