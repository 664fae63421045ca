/* tg_oauth: OAuth 2.0 bearer tokens from the municipality's identity
 * provider. JWT access tokens are verified with liboauth2 against the
 * provider's JWKS, which the daemon's main loop fetches (asynchronously, at
 * start, every [auth] jwks_refresh, on SIGHUP and when a token names a key it
 * does not know) and publishes to the workers; then tsunagu checks the
 * claims itself: issuer, audience, expiry, not-before, and the scopes. */
#ifndef TG_OAUTH_H
#define TG_OAUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tg_err;
struct tg_conf;

/* Scope bits (design brief section 9). */
enum {
  TG_SCOPEBIT_CATALOG_READ = 1,
  TG_SCOPEBIT_CATALOG_WRITE = 2,
  TG_SCOPEBIT_DATA_READ = 4,
  TG_SCOPEBIT_DATA_WRITE = 8,
  TG_SCOPEBIT_ADMIN = 16,
  TG_SCOPEBIT_ALL = 31,
};
/* The bit of one scope name; 0 for a name tsunagu does not know. */
unsigned tg_oauth_scope_bit(const char *name, size_t len);
/* The bits of a space-separated scope list (unknown names ignored). */
unsigned tg_oauth_scope_bits(const char *list);

/* [auth] of tsunagu.conf. */
struct tg_oauth_conf {
  int enabled;           /* an issuer is configured */
  char issuer[512];      /* the exact "iss" tokens must carry */
  char audience[256];    /* must be "aud" or one of its members */
  char jwks_uri[512];    /* https (http only on loopback) */
  char jwks_ca[1024];    /* CA file for the JWKS URL's TLS; "" = system store */
  uint64_t jwks_refresh_ms;
  uint64_t clock_skew_s;
  unsigned anonymous;    /* scope bits of callers without a token */
};
/* Reads [auth] from C into OUT; a clear error for a bad key. */
int tg_oauth_conf_load(const struct tg_conf *c, struct tg_oauth_conf *out, struct tg_err *err);

/* What a token verification found. */
enum tg_oauth_status {
  TG_OAUTH_OK = 0,
  TG_OAUTH_NO_KEYS,    /* the provider's JWKS has not been fetched (yet) */
  TG_OAUTH_MALFORMED,  /* not a JWS compact serialization with a JSON payload */
  TG_OAUTH_SIGNATURE,  /* no key of the JWKS verifies it */
  TG_OAUTH_ISSUER,
  TG_OAUTH_AUDIENCE,
  TG_OAUTH_EXPIRED,    /* exp missing or past */
  TG_OAUTH_NOT_YET,    /* nbf or iat in the future */
};
struct tg_oauth_claims {
  unsigned scopes;
  char subject[96]; /* sub, else client_id; printable ASCII, for logs */
};
/* The time claims of a verified token's CLAIMS (borrowed) at NOW (seconds
 * since the epoch) with SKEW_S seconds of tolerance: TG_OAUTH_OK,
 * TG_OAUTH_EXPIRED (exp missing, not an integer, or not after NOW - SKEW_S)
 * or TG_OAUTH_NOT_YET (nbf or iat not an integer, or after NOW + SKEW_S).
 * A skew over 366 days counts as 366 days. NOW is a clock reading (within
 * +-2^62); the claims may be any integer: they are compared, never added to. */
enum tg_oauth_status tg_oauth_check_times(const json_t *claims, int64_t now, uint64_t skew_s);
/* A short English reason for a status (for problem details). */
const char *tg_oauth_status_text(enum tg_oauth_status st);

/* One worker's verifier (liboauth2 objects are kept per thread). */
struct tg_oauth_verifier;
struct tg_oauth_verifier *tg_oauth_verifier_new(void);
void tg_oauth_verifier_free(struct tg_oauth_verifier *v);
/* Verifies TOKEN (LEN bytes) under CONF with the current JWKS. */
enum tg_oauth_status tg_oauth_verify(struct tg_oauth_verifier *v, const struct tg_oauth_conf *conf,
                                     const char *token, size_t len, struct tg_oauth_claims *out);

/* The JWKS fetcher on the daemon's main loop. DIR is the node directory
 * (its tsunagu.conf is read at start and on tg_oauth_refresh_kick). */
struct tg_oauth_refresh;
int tg_oauth_refresh_start(uv_loop_t *loop, const char *dir, struct tg_oauth_refresh **out,
                           struct tg_err *err);
/* Re-reads the configuration and fetches now (SIGHUP). */
void tg_oauth_refresh_kick(struct tg_oauth_refresh *r);
void tg_oauth_refresh_stop(struct tg_oauth_refresh *r);

/* Installs KEYS_JSON (a JWKS document) fetched from SOURCE (a jwks_uri) as
 * the current key set; they verify tokens only while [auth] jwks_uri is
 * SOURCE. Returns the number of usable signature keys, or a negative TG_E*
 * code (then nothing changes). Used by the fetcher and by tests. */
int tg_oauth_jwks_install(const char *keys_json, size_t len, const char *source,
                          struct tg_err *err);
/* Forgets the key set (at exit). */
void tg_oauth_jwks_clear(void);

#endif
