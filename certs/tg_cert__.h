/* tg_cert__: helpers shared inside certs/ only. */
#ifndef TG_CERT___H
#define TG_CERT___H

#include <openssl/x509v3.h>

struct tg_err;

/* Sets ERR to CODE with WHAT and OpenSSL's first queued error; clears the queue. */
int tg__cert_ossl_fail(struct tg_err *err, int code, const char *what);
/* 0 if K is an EC P-256 key, else TG_EUNSUP naming the type (WHAT prefixes it). */
int tg__cert_key_check(EVP_PKEY *k, const char *what, struct tg_err *err);
/* Builds the SAN: URI urn:tsunagu:node:NODE_ID, then DNS / IP for each of the
 * comma-separated HOSTS (validated). Caller frees with GENERAL_NAMES_free. */
int tg__cert_san(const char *node_id, const char *hosts, GENERAL_NAMES **out, struct tg_err *err);
/* Adds to X the subjectAltName that tg__cert_san builds (non-critical: the
 * subject is not empty). 0, or TG_EINVAL for a bad node id or host. */
int tg__cert_add_san(X509 *x, const char *node_id, const char *hosts, struct tg_err *err);
/* Adds extension NID written in OpenSSL's configuration syntax (VALUE, e.g.
 * "critical,CA:FALSE"; "hash" / "keyid:always" key identifiers taken from X
 * and ISSUER) to X. Returns 1, or 0 with OpenSSL's error queued. */
int tg__cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value);

#endif
