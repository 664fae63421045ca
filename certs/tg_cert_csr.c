/* tg_cert_csr: untrusted certificate input (CSRs, certificates, CRLs as PEM
 * or DER) parsed and checked strictly, the SAN every certificate and CSR gets,
 * the node id a certificate names, CSR creation, PEM output, and the chain /
 * revocation check used before installing a certificate. */
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_cert__.h"
#include "tg_err.h"
#include "tg_util.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

int tg__cert_ossl_fail(struct tg_err *err, int code, const char *what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return tg_err_set(err, code, "%s%s%s", what, e ? ": " : "", e ? buf : "");
}

/* 1 if DATA looks like PEM (optional whitespace, then "-----BEGIN "). */
static int is_pem(const unsigned char *d, size_t n) {
  size_t i = 0;
  while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
    i++;
  return n - i >= 11 && memcmp(d + i, "-----BEGIN ", 11) == 0;
}

/* Reads one PEM block named NAME (or ALT) from DATA into DER bytes. */
static int pem_block(const void *data, size_t len, const char *name, const char *alt,
                     unsigned char **der, long *der_len, struct tg_err *err) {
  BIO *b = BIO_new_mem_buf(data, (int)len);
  char *pname = NULL, *header = NULL;
  if (b == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int ok = PEM_read_bio(b, &pname, &header, der, der_len);
  BIO_free(b);
  ERR_clear_error();
  if (!ok)
    return tg_err_set(err, TG_EINVAL, "malformed PEM: no complete %s block", name);
  int match = strcmp(pname, name) == 0 || (alt != NULL && strcmp(pname, alt) == 0);
  int enc = header != NULL && header[0] != '\0';
  char got[64];
  snprintf(got, sizeof(got), "%s", pname);
  OPENSSL_free(pname);
  OPENSSL_free(header);
  if (!match || enc) {
    OPENSSL_free(*der);
    *der = NULL;
    if (enc)
      return tg_err_set(err, TG_EINVAL, "malformed PEM: headers in a %s block", name);
    return tg_err_set(err, TG_EINVAL, "malformed PEM: expected %s, got %s", name, got);
  }
  return 0;
}

/* Decodes DATA (PEM block NAME/ALT or raw DER) with D2I into *OUT, refusing
 * trailing bytes after the DER structure. */
typedef void *(*d2i_fn)(void **, const unsigned char **, long);

static int decode(const void *data, size_t len, const char *name, const char *alt, d2i_fn d2i,
                  void **out, const char *what, struct tg_err *err) {
  unsigned char *der = NULL;
  long dl;
  int rc;
  if (data == NULL || len == 0)
    return tg_err_set(err, TG_EINVAL, "empty %s", what);
  if (len > TG_CA_MAX_INPUT)
    return tg_err_set(err, TG_ETOOBIG, "%s larger than %d bytes", what, TG_CA_MAX_INPUT);
  if (is_pem(data, len)) {
    if ((rc = pem_block(data, len, name, alt, &der, &dl, err)) != 0)
      return rc;
  } else {
    der = OPENSSL_memdup(data, len);
    dl = (long)len;
    if (der == NULL)
      return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  const unsigned char *p = der;
  void *obj = d2i(NULL, &p, dl);
  size_t used = (size_t)(p - der);
  OPENSSL_free(der);
  if (obj == NULL)
    return tg__cert_ossl_fail(err, TG_EINVAL, what[0] == 'C' && what[1] == 'S'
                                                  ? "malformed CSR (neither PEM nor DER)"
                                                  : "malformed input (neither PEM nor DER)");
  if (used != (size_t)dl) {
    *out = obj;
    return tg_err_set(err, TG_EINVAL, "malformed %s: %zu bytes after the DER structure", what,
                      (size_t)dl - used);
  }
  *out = obj;
  return 0;
}

int tg__cert_key_check(EVP_PKEY *k, const char *what, struct tg_err *err) {
  char group[64];
  size_t gl = 0;
  if (k == NULL)
    return tg_err_set(err, TG_EINVAL, "%s has no usable public key", what);
  switch (EVP_PKEY_get_base_id(k)) {
  case EVP_PKEY_EC:
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl) !=
            1 ||
        strcmp(group, "prime256v1") != 0) {
      ERR_clear_error();
      return tg_err_set(err, TG_EUNSUP, "%s key is EC on %s, not P-256: refused", what,
                        gl ? group : "explicit or unknown curve parameters");
    }
    return 0;
  case EVP_PKEY_RSA:
  case EVP_PKEY_RSA_PSS:
    return tg_err_set(err, TG_EUNSUP, "%s key is RSA: refused, federation keys are ECDSA P-256",
                      what);
  case EVP_PKEY_ED25519:
    return tg_err_set(err, TG_EUNSUP,
                      "%s key is Ed25519: refused, federation keys are ECDSA P-256", what);
  default:
    return tg_err_set(err, TG_EUNSUP, "%s key type %s: refused, federation keys are ECDSA P-256",
                      what, OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
  }
}

int tg_cert_csr_parse(const void *data, size_t len, X509_REQ **out, struct tg_err *err) {
  void *obj = NULL;
  int rc = decode(data, len, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST",
                  (d2i_fn)d2i_X509_REQ, &obj, "CSR", err);
  X509_REQ *req = obj;
  if (rc != 0) {
    X509_REQ_free(req);
    return rc;
  }
  EVP_PKEY *k = X509_REQ_get0_pubkey(req);
  ERR_clear_error();
  if ((rc = tg__cert_key_check(k, "the CSR's", err)) != 0) {
    X509_REQ_free(req);
    return rc;
  }
  if (X509_REQ_verify(req, k) != 1) {
    X509_REQ_free(req);
    return tg__cert_ossl_fail(err, TG_ECRYPTO,
                              "the CSR's signature does not verify with its own key");
  }
  *out = req;
  return 0;
}

int tg_cert_parse(const void *data, size_t len, X509 **out, struct tg_err *err) {
  void *obj = NULL;
  int rc = decode(data, len, "CERTIFICATE", NULL, (d2i_fn)d2i_X509, &obj, "certificate", err);
  if (rc != 0) {
    X509_free(obj);
    return rc;
  }
  *out = obj;
  return 0;
}

static int load_file(const char *path, char **data, size_t *len, struct tg_err *err) {
  int rc = tg_file_read(path, TG_CA_MAX_INPUT + 1, data, len, err);
  if (rc == TG_ETOOBIG || (rc == 0 && *len > TG_CA_MAX_INPUT)) {
    if (rc == 0)
      free(*data);
    return tg_err_set(err, TG_ETOOBIG, "%s: larger than %d bytes", path, TG_CA_MAX_INPUT);
  }
  return rc;
}

int tg_cert_load(const char *path, X509 **out, struct tg_err *err) {
  char *d;
  size_t n;
  int rc = load_file(path, &d, &n, err);
  if (rc != 0)
    return rc;
  rc = tg_cert_parse(d, n, out, err);
  free(d);
  if (rc != 0 && err != NULL) {
    char m[sizeof(err->msg)];
    snprintf(m, sizeof(m), "%s", err->msg);
    tg_err_set(err, rc, "%s: %s", path, m);
  }
  return rc;
}

/* The first occurrence of NEEDLE (NN bytes) in HAY (N bytes), or NULL. */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t nn) {
  for (size_t i = 0; nn <= n && i <= n - nn; i++)
    if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
      return hay + i;
  return NULL;
}

int tg_cert_crl_check(X509_CRL *crl, X509 *ca, struct tg_err *err) {
  int ok = X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
           X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
  ERR_clear_error();
  return ok ? 0 : tg_err_set(err, TG_EPERM, "the CRL is not signed by the federation CA");
}

int tg_cert_crl_parse(const void *data, size_t len, X509 *ca, X509_CRL **out,
                      struct tg_err *err) {
  void *obj = NULL;
  int rc = decode(data, len, "X509 CRL", NULL, (d2i_fn)d2i_X509_CRL, &obj, "CRL", err);
  const char *first = NULL;
  if (rc == 0 && is_pem(data, len))
    first = find_bytes(data, len, "-----BEGIN", 10);
  if (first != NULL &&
      find_bytes(first + 10, len - (size_t)(first + 10 - (const char *)data), "-----BEGIN", 10))
    rc = tg_err_set(err, TG_EINVAL, "more than one PEM block where one CRL was expected");
  if (rc == 0 && ca != NULL)
    rc = tg_cert_crl_check(obj, ca, err);
  if (rc != 0) {
    X509_CRL_free(obj);
    return rc;
  }
  *out = obj;
  return 0;
}

int tg_cert_crl_load(const char *path, X509_CRL **out, struct tg_err *err) {
  char *d;
  size_t n;
  int rc = load_file(path, &d, &n, err);
  if (rc != 0)
    return rc;
  rc = tg_cert_crl_parse(d, n, NULL, out, err);
  free(d);
  return rc;
}

long tg_cert_crl_number(const X509_CRL *crl) {
  ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
  long v = num ? ASN1_INTEGER_get(num) : -1;
  ASN1_INTEGER_free(num);
  ERR_clear_error();
  return v;
}

typedef int (*pem_w)(BIO *, const void *);

static int to_pem(const void *obj, pem_w w, char **out, struct tg_err *err) {
  BIO *b = BIO_new(BIO_s_mem());
  char *p;
  if (b == NULL || !w(b, obj)) {
    BIO_free(b);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot PEM-encode");
  }
  long n = BIO_get_mem_data(b, &p);
  char *s = malloc((size_t)n + 1);
  if (s != NULL) {
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
  }
  BIO_free(b);
  if (s == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  *out = s;
  return 0;
}

static int w_req(BIO *b, const void *o) { return PEM_write_bio_X509_REQ(b, (X509_REQ *)o); }
static int w_x509(BIO *b, const void *o) { return PEM_write_bio_X509(b, (X509 *)o); }
static int w_crl(BIO *b, const void *o) { return PEM_write_bio_X509_CRL(b, (X509_CRL *)o); }

int tg_cert_csr_pem(X509_REQ *req, char **out, struct tg_err *err) {
  return to_pem(req, w_req, out, err);
}
int tg_cert_pem(X509 *cert, char **out, struct tg_err *err) {
  return to_pem(cert, w_x509, out, err);
}
int tg_cert_crl_pem(X509_CRL *crl, char **out, struct tg_err *err) {
  return to_pem(crl, w_crl, out, err);
}

/* A DNS name: labels of letters, digits and '-' (not at either end of a
 * label), dots between, at most 253 bytes; the last label not all digits, so
 * that a mistyped IP address ("10.0.0.256") is not taken for a name. */
static int dns_name_valid(const char *s) {
  size_t n = strlen(s), l = 0;
  int digits_only = 1;
  if (n == 0 || n > 253)
    return 0;
  for (size_t i = 0; i <= n; i++) {
    char c = s[i];
    if (c == '.' || c == '\0') {
      if (l == 0 || l > 63 || s[i - 1] == '-' || s[i - l] == '-')
        return 0;
      if (c == '\0' && digits_only)
        return 0;
      l = 0;
      digits_only = 1;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-') {
      l++;
      digits_only = 0;
    } else if (c >= '0' && c <= '9') {
      l++;
    } else {
      return 0;
    }
  }
  return 1;
}

/* Appends a SAN of TYPE (GEN_URI or GEN_DNS: VALUE as IA5String; GEN_IPADD:
 * the LEN address bytes in VALUE) to NAMES; 0 on failure. */
static int add_name(GENERAL_NAMES *names, int type, const void *value, int len) {
  GENERAL_NAME *g = NULL;
  ASN1_STRING *v = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
  if (v == NULL || !ASN1_STRING_set(v, value, len) || (g = GENERAL_NAME_new()) == NULL) {
    ASN1_STRING_free(v);
    return 0;
  }
  GENERAL_NAME_set0_value(g, type, v);
  if (!sk_GENERAL_NAME_push(names, g)) {
    GENERAL_NAME_free(g);
    return 0;
  }
  return 1;
}

/* Adds host H (an IPv4 / IPv6 address in the strict inet_pton form, else a
 * DNS name) to NAMES. */
static int add_host(GENERAL_NAMES *names, const char *h, struct tg_err *err) {
  unsigned char ip[16];
  int len = inet_pton(AF_INET, h, ip) == 1 ? 4 : inet_pton(AF_INET6, h, ip) == 1 ? 16 : 0;
  if (len == 0 && !dns_name_valid(h))
    return tg_err_set(err, TG_EINVAL, "'%s' is neither a DNS name nor an IP address", h);
  int ok = len ? add_name(names, GEN_IPADD, ip, len) : add_name(names, GEN_DNS, h, -1);
  return ok ? 0 : tg__cert_ossl_fail(err, TG_ENOMEM, "cannot add a SAN");
}

int tg__cert_san(const char *node_id, const char *hosts, GENERAL_NAMES **out,
                 struct tg_err *err) {
  char uri[128];
  int rc = 0;
  if (node_id == NULL || !tg_node_id_valid(node_id))
    return tg_err_set(err, TG_EINVAL, "invalid node id '%.80s'", node_id ? node_id : "");
  GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
  snprintf(uri, sizeof(uri), "%s%s", TG_CERT_NODE_URI, node_id);
  if (names == NULL || !add_name(names, GEN_URI, uri, -1)) {
    GENERAL_NAMES_free(names);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  for (const char *p = hosts ? hosts : ""; rc == 0 && *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    char h[256];
    if (l >= sizeof(h)) {
      rc = tg_err_set(err, TG_EINVAL, "host name too long in '%.80s'", hosts);
      break;
    }
    memcpy(h, p, l);
    h[l] = '\0';
    if (l > 0)
      rc = add_host(names, h, err);
    p = e ? e + 1 : p + l;
  }
  if (rc != 0) {
    GENERAL_NAMES_free(names);
    return rc;
  }
  *out = names;
  return 0;
}

int tg__cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (e == NULL)
    return 0;
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok;
}

int tg__cert_add_san(X509 *x, const char *node_id, const char *hosts, struct tg_err *err) {
  GENERAL_NAMES *names = NULL;
  int rc = tg__cert_san(node_id, hosts, &names, err);
  if (rc != 0)
    return rc;
  int ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free(names);
  return ok ? 0 : tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot add the SAN extension");
}

int tg_cert_csr_new(EVP_PKEY *key, const char *node_id, const char *hosts, X509_REQ **out,
                    struct tg_err *err) {
  GENERAL_NAMES *names = NULL;
  int rc = tg__cert_san(node_id, hosts, &names, err);
  if (rc != 0)
    return rc;
  X509_REQ *req = X509_REQ_new();
  STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
  X509_EXTENSION *san = X509V3_EXT_i2d(NID_subject_alt_name, 0, names);
  GENERAL_NAMES_free(names);
  int ok = req != NULL && exts != NULL && san != NULL && X509_REQ_set_version(req, 0) &&
           X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                                      (const unsigned char *)node_id, -1, -1, 0) &&
           X509_REQ_set_pubkey(req, key) && sk_X509_EXTENSION_push(exts, san);
  if (ok)
    san = NULL; /* the stack owns it */
  ok = ok && X509_REQ_add_extensions(req, exts) && X509_REQ_sign(req, key, EVP_sha256());
  X509_EXTENSION_free(san);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!ok) {
    X509_REQ_free(req);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot make the CSR");
  }
  *out = req;
  return 0;
}

int tg_cert_node_id(X509 *cert, char *out, size_t n) {
  const size_t pl = sizeof(TG_CERT_NODE_URI) - 1;
  char id[64];
  int crit = -1, claims = 0, rc = TG_ENOENT;
  if (n > 0)
    out[0] = '\0';
  GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
  ERR_clear_error();
  if (names == NULL)
    return crit == -1 ? TG_ENOENT : TG_EINVAL; /* -2: twice; else undecodable */
  for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_URI)
      continue;
    const char *u = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
    int ul = ASN1_STRING_length(g->d.uniformResourceIdentifier);
    /* URN schemes and namespace ids compare without case: any spelling of the
     * prefix is a claim, and only the canonical one with a valid id counts. */
    if (ul < (int)pl || strncasecmp(u, TG_CERT_NODE_URI, pl) != 0)
      continue;
    size_t il = (size_t)ul - pl;
    if (++claims > 1 || memcmp(u, TG_CERT_NODE_URI, pl) != 0 || il >= sizeof(id) ||
        memchr(u, '\0', (size_t)ul) != NULL) {
      rc = TG_EINVAL;
      continue;
    }
    memcpy(id, u + pl, il);
    id[il] = '\0';
    if (!tg_node_id_valid(id))
      rc = TG_EINVAL;
    else if (rc == TG_ENOENT)
      rc = il < n ? 0 : TG_ETOOBIG;
  }
  GENERAL_NAMES_free(names);
  if (rc == 0)
    memcpy(out, id, strlen(id) + 1);
  return rc;
}

int tg_cert_hosts(X509 *cert, char *out, size_t n) {
  GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
  size_t o = 0;
  int rc = 0;
  out[0] = '\0';
  for (int i = 0; rc == 0 && names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    char h[64];
    if (g->type == GEN_DNS) {
      const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
      int l = ASN1_STRING_length(g->d.dNSName);
      if (l <= 0 || l > 253 || memchr(d, '\0', (size_t)l) != NULL || memchr(d, ',', (size_t)l))
        continue;
      int w = snprintf(out + o, n - o, "%s%.*s", o ? "," : "", l, (const char *)d);
      rc = w > 0 && (size_t)w < n - o ? 0 : TG_ETOOBIG;
      o += rc == 0 ? (size_t)w : 0;
      continue;
    }
    if (g->type != GEN_IPADD)
      continue;
    int l = ASN1_STRING_length(g->d.iPAddress);
    const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
    if ((l != 4 && l != 16) || inet_ntop(l == 4 ? AF_INET : AF_INET6, a, h, sizeof(h)) == NULL)
      continue;
    int w = snprintf(out + o, n - o, "%s%s", o ? "," : "", h);
    rc = w > 0 && (size_t)w < n - o ? 0 : TG_ETOOBIG;
    o += rc == 0 ? (size_t)w : 0;
  }
  GENERAL_NAMES_free(names);
  return rc;
}

int tg_cert_serial_hex(X509 *cert, char *out, size_t n) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
  char *h = bn ? BN_bn2hex(bn) : NULL;
  BN_free(bn);
  if (h == NULL)
    return TG_ENOMEM;
  int rc = strlen(h) < n ? 0 : TG_ETOOBIG;
  if (rc == 0)
    memcpy(out, h, strlen(h) + 1);
  OPENSSL_free(h);
  return rc;
}

int tg_cert_verify(X509 *cert, EVP_PKEY *key, X509 *ca, X509_CRL *crl, const char *node_id,
                   struct tg_err *err) {
  char id[64];
  if (key != NULL && X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return tg_err_set(err, TG_EPERM, "the certificate is not for this node's key");
  }
  int rc = tg__cert_key_check(X509_get0_pubkey(cert), "the certificate's", err);
  if (rc != 0)
    return rc;
  if (tg_cert_node_id(cert, id, sizeof(id)) != 0)
    return tg_err_set(err, TG_EPERM, "the certificate has no SAN URI urn:tsunagu:node:<id>");
  if (node_id != NULL && strcmp(id, node_id) != 0)
    return tg_err_set(err, TG_EPERM, "the certificate is for node '%s', not '%s'", id, node_id);
  if (X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) != 1 ||
      X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0) != 1) {
    ERR_clear_error();
    return tg_err_set(err, TG_EPERM, "the certificate is not for TLS client and server use");
  }
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  rc = TG_ENOMEM;
  if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, ca) ||
      (crl != NULL && !X509_STORE_add_crl(store, crl)) ||
      !X509_STORE_CTX_init(ctx, store, cert, NULL)) {
    rc = tg__cert_ossl_fail(err, TG_ENOMEM, "cannot set up verification");
    goto out;
  }
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT |
                                    (crl != NULL ? X509_V_FLAG_CRL_CHECK : 0));
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx) != 1) {
    int e = X509_STORE_CTX_get_error(ctx);
    rc = tg_err_set(err, TG_EPERM, "the certificate does not verify against the CA: %s",
                    X509_verify_cert_error_string(e));
    ERR_clear_error();
    goto out;
  }
  rc = 0;
out:
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return rc;
}

int tg_cert_crl_each(X509_CRL *crl, int (*cb)(void *ud, const char *serial), void *ud) {
  STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
    const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i));
    BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    if (h == NULL)
      return TG_ENOMEM;
    int rc = cb(ud, h);
    OPENSSL_free(h);
    if (rc != 0)
      return rc;
  }
  return 0;
}
