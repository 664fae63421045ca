/* tg_oauth: bearer JWTs verified with liboauth2 against the identity
 * provider's JWKS; claims checked here. See tg_oauth.h. */
#include "tg_oauth.h"
#include "tg_client.h"
#include "tg_periodic.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_util.h"

#include <jansson.h>
#include <oauth2/cfg.h>
#include <oauth2/log.h>
#include <oauth2/oauth2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TG_OAUTH_MAX_TOKEN 8192
#define TG_OAUTH_MAX_JWKS (256 * 1024)
#define TG_OAUTH_MAX_KEYS 32
#define TG_OAUTH_WANT_MIN_MS 10000 /* unknown key ids refetch at most this often */
#define TG_OAUTH_RETRY_MS 10000    /* after a failed fetch */

/* --- scopes --- */

static const char *const scope_names[] = {"catalog:read", "catalog:write", "data:read",
                                          "data:write", "admin"};

unsigned tg_oauth_scope_bit(const char *name, size_t len) {
  for (unsigned i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
    if (strlen(scope_names[i]) == len && memcmp(scope_names[i], name, len) == 0)
      return 1u << i;
  return 0;
}

/* The scope bits of LIST, whose names are separated by any byte of SEP. */
static unsigned scope_bits_sep(const char *list, const char *sep) {
  unsigned bits = 0;
  while (list != NULL && *list) {
    size_t n = strcspn(list, sep);
    bits |= tg_oauth_scope_bit(list, n);
    list += n;
    list += strspn(list, sep);
  }
  return bits;
}

/* RFC 6749 3.3: scope tokens are separated by spaces; a comma is part of a
 * token (so "foo,catalog:write" grants nothing). */
unsigned tg_oauth_scope_bits(const char *list) { return scope_bits_sep(list, " "); }

/* The configuration's list: spaces, tabs or commas. */
static unsigned conf_scope_bits(const char *list) { return scope_bits_sep(list, " \t,"); }

/* --- configuration --- */

/* https://HOST…, or http:// only to this machine (tests, a provider on the
 * same host); no user info, no look-alike hosts (tg_client_url_safe). */
static int url_ok(const char *u) { return tg_client_url_safe(u, 1); }

int tg_oauth_conf_load(const struct tg_conf *c, struct tg_oauth_conf *out, struct tg_err *err) {
  memset(out, 0, sizeof(*out));
  const char *iss = tg_conf_get(c, "auth", "issuer");
  const char *aud = tg_conf_get(c, "auth", "audience");
  const char *jwks = tg_conf_get(c, "auth", "jwks_uri");
  const char *ca = tg_conf_get(c, "auth", "jwks_ca");
  const char *anon = tg_conf_get(c, "auth", "anonymous");
  int rc = tg_conf_get_ms(c, "auth", "jwks_refresh", 10 * 60 * 1000, &out->jwks_refresh_ms, err);
  uint64_t skew_ms = 0;
  rc = rc ? rc : tg_conf_get_ms(c, "auth", "clock_skew", 60 * 1000, &skew_ms, err);
  if (rc)
    return rc;
  out->clock_skew_s = skew_ms / 1000;
  if (out->jwks_refresh_ms < 1000)
    return tg_err_set(err, TG_EINVAL, "[auth] jwks_refresh must be at least 1s");
  if (anon == NULL) {
    out->anonymous = TG_SCOPEBIT_CATALOG_READ;
  } else if (strcmp(anon, "none") == 0) {
    out->anonymous = 0;
  } else {
    out->anonymous = conf_scope_bits(anon);
    /* Every name must be known: a typo must not silently open or close. */
    for (const char *p = anon; *p;) {
      size_t n = strcspn(p, " \t,");
      if (n && tg_oauth_scope_bit(p, n) == 0)
        return tg_err_set(err, TG_EINVAL,
                          "[auth] anonymous = %s: unknown scope '%.*s' (known: catalog:read "
                          "catalog:write data:read data:write admin, or none)",
                          anon, (int)n, p);
      p += n;
      p += strspn(p, " \t,");
    }
    if (out->anonymous & TG_SCOPEBIT_ADMIN)
      return tg_err_set(err, TG_EINVAL, "[auth] anonymous may not include admin");
  }
  if (iss == NULL) {
    if (aud != NULL || jwks != NULL)
      return tg_err_set(err, TG_EINVAL, "[auth] audience/jwks_uri need [auth] issuer");
    return 0;
  }
  if (!url_ok(iss) || strlen(iss) >= sizeof(out->issuer))
    return tg_err_set(err, TG_EINVAL,
                      "[auth] issuer = %s: expected an https:// URL (http:// only on loopback)",
                      iss);
  if (aud == NULL || !*aud || strlen(aud) >= sizeof(out->audience))
    return tg_err_set(err, TG_EINVAL,
                      "[auth] audience is required with an issuer (the \"aud\" this node's "
                      "tokens carry)");
  if (jwks == NULL || !url_ok(jwks) || strlen(jwks) >= sizeof(out->jwks_uri))
    return tg_err_set(err, TG_EINVAL,
                      "[auth] jwks_uri is required with an issuer: the jwks_uri of "
                      "%s/.well-known/openid-configuration (https; http only on loopback)",
                      iss);
  if (ca != NULL && strlen(ca) >= sizeof(out->jwks_ca))
    return tg_err_set(err, TG_EINVAL, "[auth] jwks_ca: path too long");
  snprintf(out->issuer, sizeof(out->issuer), "%s", iss);
  snprintf(out->audience, sizeof(out->audience), "%s", aud);
  snprintf(out->jwks_uri, sizeof(out->jwks_uri), "%s", jwks);
  snprintf(out->jwks_ca, sizeof(out->jwks_ca), "%s", ca ? ca : "");
  out->enabled = 1;
  return 0;
}

/* --- the current key set, shared by the workers --- */

struct jwks {
  _Atomic int refs;
  uint64_t version;
  json_t *keys;      /* array of usable signature JWKs */
  char source[512];  /* the jwks_uri they came from: keys serve that provider only */
};

static pthread_mutex_t jwks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jwks *jwks_cur;
static uint64_t jwks_versions;

static struct jwks *jwks_get(void) {
  pthread_mutex_lock(&jwks_lock);
  struct jwks *k = jwks_cur;
  if (k != NULL)
    atomic_fetch_add(&k->refs, 1);
  pthread_mutex_unlock(&jwks_lock);
  return k;
}

static void jwks_put(struct jwks *k) {
  if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1) {
    json_decref(k->keys);
    free(k);
  }
}

/* A key liboauth2 can verify signatures with; never a private or symmetric one. */
static int key_usable(json_t *k) {
  const char *kty = json_string_value(json_object_get(k, "kty"));
  const char *use = json_string_value(json_object_get(k, "use"));
  if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0))
    return 0;
  if (json_object_get(k, "d") != NULL) /* private material: refuse to hold it */
    return 0;
  /* OKP (Ed25519) is left out: the cjose liboauth2 uses in Debian 12 cannot
   * import it. */
  return strcmp(kty, "EC") == 0 || strcmp(kty, "RSA") == 0;
}

void tg_oauth_jwks_clear(void) {
  pthread_mutex_lock(&jwks_lock);
  struct jwks *old = jwks_cur;
  jwks_cur = NULL;
  pthread_mutex_unlock(&jwks_lock);
  jwks_put(old);
}

int tg_oauth_jwks_install(const char *keys_json, size_t len, const char *source,
                          struct tg_err *err) {
  json_error_t je;
  json_t *doc = json_loadb(keys_json, len, JSON_REJECT_DUPLICATES, &je);
  json_t *in = json_object_get(doc, "keys");
  if (!json_is_array(in)) {
    json_decref(doc);
    return tg_err_set(err, TG_EINVAL, "not a JWKS document (no \"keys\" array)");
  }
  json_t *keys = json_array();
  size_t i;
  json_t *k;
  json_array_foreach(in, i, k) {
    if (json_array_size(keys) < TG_OAUTH_MAX_KEYS && json_is_object(k) && key_usable(k))
      json_array_append(keys, k);
  }
  json_decref(doc);
  int n = (int)json_array_size(keys);
  if (n == 0) {
    json_decref(keys);
    return tg_err_set(err, TG_EINVAL, "the JWKS has no public signature key");
  }
  struct jwks *nk = calloc(1, sizeof(*nk));
  if (nk == NULL) {
    json_decref(keys);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  atomic_init(&nk->refs, 1);
  nk->keys = keys;
  snprintf(nk->source, sizeof(nk->source), "%s", source ? source : "");
  pthread_mutex_lock(&jwks_lock);
  nk->version = ++jwks_versions;
  struct jwks *old = jwks_cur;
  jwks_cur = nk;
  pthread_mutex_unlock(&jwks_lock);
  jwks_put(old);
  return n;
}

/* Workers ask the main loop for a fresh JWKS through this handle. */
static pthread_mutex_t want_lock = PTHREAD_MUTEX_INITIALIZER;
static uv_async_t *want_async;

static void jwks_want(void) {
  pthread_mutex_lock(&want_lock);
  if (want_async != NULL)
    uv_async_send(want_async);
  pthread_mutex_unlock(&want_lock);
}

/* --- per-worker verification --- */

/* One liboauth2 chain per key: a key liboauth2 cannot import leaves an
 * entry that would stop a shared chain at it, so each key stands alone and
 * only the ones that imported are kept. */
struct verifier_key {
  char kid[128]; /* "" when the JWK has none */
  oauth2_cfg_token_verify_t *chain;
};

struct tg_oauth_verifier {
  uint64_t version;
  oauth2_log_t *log;
  int nkeys;
  struct verifier_key keys[TG_OAUTH_MAX_KEYS];
};

static void verifier_clear(struct tg_oauth_verifier *v) {
  for (int i = 0; i < v->nkeys; i++)
    oauth2_cfg_token_verify_free(v->log, v->keys[i].chain);
  v->nkeys = 0;
}

/* liboauth2's messages can quote tokens and claims: they are never logged. */
static void drop_log(oauth2_log_sink_t *sink, const char *file, unsigned long line,
                     const char *fn, oauth2_log_level_t level, const char *msg) {
  (void)sink, (void)file, (void)line, (void)fn, (void)level, (void)msg;
}

struct tg_oauth_verifier *tg_oauth_verifier_new(void) {
  struct tg_oauth_verifier *v = calloc(1, sizeof(*v));
  if (v == NULL)
    return NULL;
  oauth2_log_sink_t *sink = oauth2_log_sink_create(OAUTH2_LOG_ERROR, drop_log, NULL);
  v->log = sink ? oauth2_log_init(OAUTH2_LOG_ERROR, sink) : NULL;
  if (v->log == NULL) {
    free(v);
    return NULL;
  }
  return v;
}

void tg_oauth_verifier_free(struct tg_oauth_verifier *v) {
  if (v == NULL)
    return;
  verifier_clear(v);
  oauth2_log_free(v->log);
  free(v);
}

/* liboauth2 creates its default result cache lazily in a global list, with
 * no lock of its own: workers build their chains one at a time. */
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

/* Rebuilds V's chains for K. liboauth2's own claim checks are skipped (tsunagu
 * checks iss, aud, exp, nbf and iat itself, with [auth] clock_skew), and a
 * verified token is remembered for at most a second, so that a key removed
 * from the JWKS stops working at once, with or without a kid. */
static int verifier_sync(struct tg_oauth_verifier *v, struct jwks *k) {
  if (v->nkeys > 0 && v->version == k->version)
    return 0;
  pthread_mutex_lock(&build_lock);
  verifier_clear(v);
  size_t i;
  json_t *key;
  json_array_foreach(k->keys, i, key) {
    if (v->nkeys >= TG_OAUTH_MAX_KEYS)
      break;
    oauth2_cfg_token_verify_t *chain = NULL;
    char *s = json_dumps(key, JSON_COMPACT);
    char *rv = s ? oauth2_cfg_token_verify_add_options(
                       v->log, &chain, "jwk", s,
                       "expiry=1&verify.exp=skip&verify.iat=skip&verify.iss=skip")
                 : (char *)"";
    free(s);
    if (rv != NULL) { /* not imported: drop it, keep the others */
      if (*rv)
        free(rv);
      oauth2_cfg_token_verify_free(v->log, chain);
      continue;
    }
    const char *kid = json_string_value(json_object_get(key, "kid"));
    snprintf(v->keys[v->nkeys].kid, sizeof(v->keys[v->nkeys].kid), "%s", kid ? kid : "");
    v->keys[v->nkeys++].chain = chain;
  }
  v->version = k->version;
  pthread_mutex_unlock(&build_lock);
  return v->nkeys > 0 ? 0 : TG_EINVAL;
}

/* Decodes base64url (no padding) into a new NUL-terminated buffer. */
static char *b64url_decode(const char *s, size_t n, size_t *outlen) {
  if (n == 0 || n > TG_OAUTH_MAX_TOKEN)
    return NULL;
  size_t padded = (n + 3) / 4 * 4;
  char *b = malloc(padded + 1);
  unsigned char *out = malloc(padded / 4 * 3 + 1);
  if (b == NULL || out == NULL) {
    free(b);
    free(out);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
  for (size_t i = n; i < padded; i++)
    b[i] = '=';
  b[padded] = '\0';
  int len = EVP_DecodeBlock(out, (unsigned char *)b, (int)padded);
  free(b);
  if (len < 0) {
    free(out);
    return NULL;
  }
  len -= (int)(padded - n); /* EVP_DecodeBlock counts the padding as zero bytes */
  out[len] = '\0';
  *outlen = (size_t)len;
  return (char *)out;
}

static int alg_ok(const char *alg) {
  static const char *const ok[] = {"ES256", "ES384", "ES512", "RS256", "RS384",
                                   "RS512", "PS256", "PS384", "PS512"};
  for (size_t i = 0; alg != NULL && i < sizeof(ok) / sizeof(ok[0]); i++)
    if (strcmp(alg, ok[i]) == 0)
      return 1;
  return 0;
}

static int aud_ok(json_t *aud, const char *want) {
  if (json_is_string(aud))
    return strcmp(json_string_value(aud), want) == 0;
  size_t i;
  json_t *a;
  json_array_foreach(aud, i, a) if (json_is_string(a) && strcmp(json_string_value(a), want) == 0) return 1;
  return 0;
}

static void copy_subject(char *out, size_t n, const char *s) {
  size_t j = 0;
  for (size_t i = 0; s != NULL && s[i] && j + 1 < n; i++)
    out[j++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
  out[j] = '\0';
}

#define TG_OAUTH_MAX_SKEW_S (366 * 86400) /* a larger [auth] clock_skew counts as this */

enum tg_oauth_status tg_oauth_check_times(const json_t *claims, int64_t now, uint64_t skew_s) {
  json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
  json_t *iat = json_object_get(claims, "iat");
  /* A token's integers may be anything up to 2^63 - 1, so they are only ever
   * compared, never added to: the arithmetic is on the clock (|now| is far
   * below 2^62) and a skew of at most a year, which cannot overflow. */
  int64_t skew = skew_s > TG_OAUTH_MAX_SKEW_S ? TG_OAUTH_MAX_SKEW_S : (int64_t)skew_s;
  if (!json_is_integer(exp) || json_integer_value(exp) <= now - skew) /* exp + skew <= now */
    return TG_OAUTH_EXPIRED;
  if ((nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + skew)) ||
      (iat != NULL && (!json_is_integer(iat) || json_integer_value(iat) > now + skew)))
    return TG_OAUTH_NOT_YET;
  return TG_OAUTH_OK;
}

enum tg_oauth_status tg_oauth_verify(struct tg_oauth_verifier *v, const struct tg_oauth_conf *conf,
                                     const char *token, size_t len, struct tg_oauth_claims *out) {
  memset(out, 0, sizeof(*out));
  /* Shape: three base64url segments, the first a JSON header we accept. */
  if (len == 0 || len > TG_OAUTH_MAX_TOKEN)
    return TG_OAUTH_MALFORMED;
  int dots = 0;
  size_t hdr_len = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = token[i];
    if (ch == '.') {
      if (dots++ == 0)
        hdr_len = i;
    } else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_')) {
      return TG_OAUTH_MALFORMED;
    }
  }
  if (dots != 2 || hdr_len == 0)
    return TG_OAUTH_MALFORMED;
  size_t hl = 0;
  char *h = b64url_decode(token, hdr_len, &hl);
  json_t *hdr = h ? json_loadb(h, hl, 0, NULL) : NULL;
  free(h);
  if (!json_is_object(hdr)) {
    json_decref(hdr);
    return TG_OAUTH_MALFORMED;
  }
  int good_alg = alg_ok(json_string_value(json_object_get(hdr, "alg")));
  char kid_buf[128] = "";
  const char *kid = json_string_value(json_object_get(hdr, "kid"));
  int has_kid = kid != NULL;
  if (kid != NULL)
    snprintf(kid_buf, sizeof(kid_buf), "%s", kid);

  struct jwks *k = jwks_get();
  if (k != NULL && strcmp(k->source, conf->jwks_uri) != 0) {
    jwks_put(k); /* another provider's keys (before a reconfiguration) */
    k = NULL;
  }
  if (k == NULL) {
    json_decref(hdr);
    jwks_want();
    return TG_OAUTH_NO_KEYS;
  }
  json_decref(hdr);
  if (!good_alg) { /* "none", HMAC with a public key, ... */
    jwks_put(k);
    return TG_OAUTH_SIGNATURE;
  }
  int synced = verifier_sync(v, k);
  jwks_put(k);
  if (synced != 0)
    return TG_OAUTH_NO_KEYS;

  char *tok = malloc(len + 1);
  if (tok == NULL)
    return TG_OAUTH_MALFORMED;
  memcpy(tok, token, len);
  tok[len] = '\0';
  json_t *claims = NULL;
  bool ok = false;
  int tried = 0;
  /* With a kid, only that key; without one, each key in turn. */
  for (int i = 0; !ok && i < v->nkeys; i++) {
    if (has_kid && strcmp(v->keys[i].kid, kid_buf) != 0)
      continue;
    tried++;
    json_decref(claims);
    claims = NULL;
    ok = oauth2_token_verify(v->log, NULL, v->keys[i].chain, tok, &claims);
  }
  if (tried == 0)
    jwks_want(); /* a key id we do not hold: the provider may have rotated its keys */
  OPENSSL_cleanse(tok, len);
  free(tok);
  if (!ok || !json_is_object(claims)) {
    json_decref(claims);
    return TG_OAUTH_SIGNATURE;
  }
  enum tg_oauth_status st = TG_OAUTH_OK;
  const char *iss = json_string_value(json_object_get(claims, "iss"));
  if (iss == NULL || strcmp(iss, conf->issuer) != 0)
    st = TG_OAUTH_ISSUER;
  else if (!aud_ok(json_object_get(claims, "aud"), conf->audience))
    st = TG_OAUTH_AUDIENCE;
  else
    st = tg_oauth_check_times(claims, (int64_t)time(NULL), conf->clock_skew_s);
  if (st == TG_OAUTH_OK) {
    json_t *scope = json_object_get(claims, "scope"), *scp = json_object_get(claims, "scp");
    if (json_is_string(scope))
      out->scopes = tg_oauth_scope_bits(json_string_value(scope));
    size_t i;
    json_t *s;
    json_array_foreach(scp, i, s) if (json_is_string(s)) out->scopes |=
        tg_oauth_scope_bit(json_string_value(s), strlen(json_string_value(s)));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (sub == NULL)
      sub = json_string_value(json_object_get(claims, "client_id"));
    copy_subject(out->subject, sizeof(out->subject), sub ? sub : "token");
  }
  json_decref(claims);
  return st;
}

const char *tg_oauth_status_text(enum tg_oauth_status st) {
  switch (st) {
  case TG_OAUTH_OK:
    return "valid";
  case TG_OAUTH_NO_KEYS:
    return "the identity provider's keys are not available yet";
  case TG_OAUTH_MALFORMED:
    return "the bearer token is not a JWT";
  case TG_OAUTH_SIGNATURE:
    return "the token's signature does not verify with the identity provider's keys";
  case TG_OAUTH_ISSUER:
    return "the token was issued by another identity provider";
  case TG_OAUTH_AUDIENCE:
    return "the token is not meant for this node (audience)";
  case TG_OAUTH_EXPIRED:
    return "the token has expired";
  case TG_OAUTH_NOT_YET:
    return "the token is not valid yet";
  }
  return "invalid token";
}

/* --- the JWKS fetcher (main loop) --- */

struct tg_oauth_refresh {
  uv_loop_t *loop;
  uv_async_t want; /* a worker met a key id it does not know */
  struct tg_periodic *fetch; /* the JWKS each jwks_refresh, sooner after a failure */
  char dir[4096];
  struct tg_oauth_conf conf;
};

static int on_body(void *ud, const char *body, size_t len) {
  struct tg_oauth_refresh *r = ud;
  struct tg_err e;
  tg_err_clear(&e);
  int n = tg_oauth_jwks_install(body, len, r->conf.jwks_uri, &e);
  if (n < 0) {
    tg_log_warn("JWKS from %s refused: %s", r->conf.jwks_uri, tg_err_msg(&e, n));
    return n;
  }
  tg_log_info("JWKS: %d signature key(s) from %s", n, r->conf.jwks_uri);
  return 0;
}

static void on_fail(void *ud, int rc, int status, const struct tg_err *err) {
  struct tg_oauth_refresh *r = ud;
  if (rc != 0)
    tg_log_warn("JWKS: cannot fetch %s: %s", r->conf.jwks_uri, tg_err_msg(err, rc));
  else
    tg_log_warn("JWKS: %s answered %d", r->conf.jwks_uri, status);
}

static void on_want(uv_async_t *a) {
  struct tg_oauth_refresh *r = a->data;
  if (!tg_periodic_busy(r->fetch) &&
      uv_now(r->loop) - tg_periodic_last_ms(r->fetch) >= TG_OAUTH_WANT_MIN_MS)
    tg_periodic_kick(r->fetch);
}

/* Reads [auth] again. A configuration that does not load changes nothing:
 * the running client, keys and timer stay (as the rest of a failed reload). */
static int refresh_configure(struct tg_oauth_refresh *r) {
  char path[4096];
  struct tg_conf *c = NULL;
  struct tg_err err;
  struct tg_oauth_conf nc;
  tg_err_clear(&err);
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CONF);
  if (tg_conf_load(path, &c, &err) != 0 || tg_oauth_conf_load(c, &nc, &err) != 0) {
    tg_conf_free(c);
    tg_log_warn("JWKS: keeping the running [auth]: %s", tg_err_msg(&err, TG_EINVAL));
    return TG_EINVAL;
  }
  tg_conf_free(c);
  /* Keys serve the provider they came from: another jwks_uri, or none, drops them. */
  if (!nc.enabled || strcmp(nc.jwks_uri, r->conf.jwks_uri) != 0)
    tg_oauth_jwks_clear();
  r->conf = nc;
  struct tg_client_tls tls = {.ca_file = r->conf.jwks_ca[0] ? r->conf.jwks_ca : NULL};
  struct tg_periodic_opts o = {.url = r->conf.enabled ? r->conf.jwks_uri : NULL,
                               .period_ms = r->conf.jwks_refresh_ms,
                               .retry_ms = TG_OAUTH_RETRY_MS,
                               .timeout_ms = 10000,
                               .max_response = TG_OAUTH_MAX_JWKS};
  if (tg_periodic_configure(r->fetch, &tls, &o, &err) != 0) /* cancels a fetch in flight */
    tg_log_warn("JWKS: %s", tg_err_msg(&err, TG_EIO));
  return 0;
}

int tg_oauth_refresh_start(uv_loop_t *loop, const char *dir, struct tg_oauth_refresh **out,
                           struct tg_err *err) {
  static const struct tg_periodic_cb cb = {.on_body = on_body, .on_fail = on_fail};
  struct tg_oauth_refresh *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int rc = tg_periodic_new(loop, &cb, r, &r->fetch, err);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->loop = loop;
  snprintf(r->dir, sizeof(r->dir), "%s", dir);
  uv_async_init(loop, &r->want, on_want);
  r->want.data = r;
  pthread_mutex_lock(&want_lock);
  want_async = &r->want;
  pthread_mutex_unlock(&want_lock);
  tg_oauth_refresh_kick(r);
  *out = r;
  return 0;
}

void tg_oauth_refresh_kick(struct tg_oauth_refresh *r) {
  if (r == NULL)
    return;
  if (refresh_configure(r) == 0)
    tg_periodic_kick(r->fetch);
}

static void refresh_closed(uv_handle_t *h) { free(h->data); }

void tg_oauth_refresh_stop(struct tg_oauth_refresh *r) {
  if (r == NULL)
    return;
  pthread_mutex_lock(&want_lock);
  want_async = NULL;
  pthread_mutex_unlock(&want_lock);
  tg_periodic_stop(r->fetch);
  r->fetch = NULL;
  uv_close((uv_handle_t *)&r->want, refresh_closed);
}
