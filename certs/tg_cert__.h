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

#endif
