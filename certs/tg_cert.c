/* tg_cert: key and certificate creation with OpenSSL 3. */
#include "tg_cert.h"
#include "tg_cert__.h"
#include "tg_err.h"
#include "tg_util.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg_cert_key_new(EVP_PKEY **out, struct tg_err *err) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  if (k == NULL)
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot generate a P-256 key");
  *out = k;
  return 0;
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
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot encode key");
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
    return tg__cert_ossl_fail(err, TG_ECRYPTO, path);
  *out = k;
  return 0;
}

int tg_cert_save(X509 *cert, const char *path, struct tg_err *err) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL || !PEM_write_bio_X509(b, cert)) {
    BIO_free(b);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot encode certificate");
  }
  int rc = bio_to_file(b, path, 0644, 0, err);
  BIO_free(b);
  return rc;
}

int tg_cert_self_signed(EVP_PKEY *key, const char *node_id, const char *hosts, int days,
                        X509 **out, struct tg_err *err) {
  X509 *x = X509_new();
  unsigned char serial[16];
  if (x == NULL)
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "X509_new");
  if (tg_random_bytes(serial, sizeof(serial)) != 0) {
    X509_free(x);
    return tg_err_set(err, TG_EIO, "no random serial number");
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
  int rc = tg__cert_add_san(x, node_id, hosts, err);
  if (rc != 0) {
    X509_free(x);
    return rc;
  }
  if (!tg__cert_add_ext(x, x, NID_basic_constraints, "critical,CA:FALSE") ||
      !tg__cert_add_ext(x, x, NID_key_usage, "critical,digitalSignature") ||
      !tg__cert_add_ext(x, x, NID_ext_key_usage, "serverAuth,clientAuth") ||
      !tg__cert_add_ext(x, x, NID_subject_key_identifier, "hash") ||
      !X509_sign(x, key, EVP_sha256())) {
    X509_free(x);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot build the certificate");
  }
  *out = x;
  return 0;
}
