/* tg_cert: key and certificate creation with OpenSSL 3. */
#include "tg_cert.h"
#include "tg_err.h"
#include "tg_util.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ossl_fail(struct tg_err *err, const char *what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return tg_err_set(err, TG_ECRYPTO, "%s: %s", what, e ? buf : "failed");
}

int tg_cert_key_new(EVP_PKEY **out, struct tg_err *err) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  if (k == NULL)
    return ossl_fail(err, "cannot generate a P-256 key");
  *out = k;
  return 0;
}

static int inet_pton_any(const char *s, unsigned char *buf) {
  return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int bio_to_file(BIO *b, const char *path, int mode, int excl, struct tg_err *err) {
  char *data;
  long n = BIO_get_mem_data(b, &data);
  return tg_file_write(path, data, (size_t)n, mode, excl, err);
}

int tg_cert_key_save(EVP_PKEY *key, const char *path, struct tg_err *err) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
    BIO_free(b);
    return ossl_fail(err, "cannot encode key");
  }
  int rc = bio_to_file(b, path, 0600, 1, err);
  BIO_free(b);
  return rc;
}

int tg_cert_key_load(const char *path, EVP_PKEY **out, struct tg_err *err) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return tg_err_set(err, TG_EIO, "cannot open %s", path);
  EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (k == NULL)
    return ossl_fail(err, path);
  *out = k;
  return 0;
}

int tg_cert_save(X509 *cert, const char *path, struct tg_err *err) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL || !PEM_write_bio_X509(b, cert)) {
    BIO_free(b);
    return ossl_fail(err, "cannot encode certificate");
  }
  int rc = bio_to_file(b, path, 0644, 0, err);
  BIO_free(b);
  return rc;
}

static int add_ext(X509 *x, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (e == NULL)
    return 0;
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok;
}

/* Builds "URI:urn:tsunagu:node:ID,DNS:a,IP:b" from HOSTS. */
static int san_text(const char *node_id, const char *hosts, char *out, size_t n) {
  size_t o = (size_t)snprintf(out, n, "URI:urn:tsunagu:node:%s", node_id);
  const char *p = hosts ? hosts : "";
  while (*p && o < n) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    char h[256];
    if (l > 0 && l < sizeof(h)) {
      memcpy(h, p, l);
      h[l] = '\0';
      unsigned char tmp[16];
      int ip = inet_pton_any(h, tmp);
      o += (size_t)snprintf(out + o, n - o, ",%s:%s", ip ? "IP" : "DNS", h);
    }
    p = e ? e + 1 : p + l;
  }
  return o < n ? 0 : TG_ETOOBIG;
}

int tg_cert_self_signed(EVP_PKEY *key, const char *node_id, const char *hosts, int days,
                        X509 **out, struct tg_err *err) {
  X509 *x = X509_new();
  unsigned char serial[16];
  char san[2048];
  if (x == NULL)
    return ossl_fail(err, "X509_new");
  if (tg_random_bytes(serial, sizeof(serial)) != 0 || san_text(node_id, hosts, san, sizeof(san))) {
    X509_free(x);
    return tg_err_set(err, TG_EINVAL, "cannot build certificate fields");
  }
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
  X509_set_version(x, 2);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -300);
  X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)node_id, -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (!add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(x, NID_key_usage, "critical,digitalSignature") ||
      !add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
      !add_ext(x, NID_subject_key_identifier, "hash") ||
      !add_ext(x, NID_subject_alt_name, san) || !X509_sign(x, key, EVP_sha256())) {
    X509_free(x);
    return ossl_fail(err, "cannot build the certificate");
  }
  *out = x;
  return 0;
}
