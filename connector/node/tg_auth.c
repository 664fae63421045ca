/* tg_auth: who may do what. Credentials, strongest first: the node's admin
 * token (every scope), an OAuth 2.0 bearer JWT from the city's identity
 * provider (its scopes; tg_oauth.c), a verified federation certificate
 * (catalog:read), and otherwise the [auth] anonymous scopes. */
#include "tg_auth.h"
#include "tg_log.h"
#include "tg_oauth.h"
#include "tg_http_server.h"
#include "tg_worker.h"
#include "tg_util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Extracts the token of "Authorization: Bearer TOKEN"; NULL if none. */
static const char *bearer(struct tg_http_req *req, size_t *len) {
  const char *h = tg_http_req_header(req, "authorization");
  if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
    return NULL;
  h += 7;
  while (*h == ' ')
    h++;
  *len = strlen(h);
  while (*len > 0 && (h[*len - 1] == ' ' || h[*len - 1] == '\t'))
    (*len)--;
  return *len ? h : NULL;
}

/* SHA-256 fetched once: EVP_sha256() fetches it again in every digest
 * (OpenSSL 3), a lock and a lookup in every request with a token (1.4% of a
 * node's CPU on 1 KiB answers). */
static EVP_MD *admin_md;
static void admin_md_fetch(void) {
  admin_md = EVP_MD_fetch(NULL, "SHA256", NULL);
  if (admin_md == NULL) /* once: every admin token is refused until a restart */
    tg_log_error("auth: OpenSSL has no SHA-256; the admin token cannot be checked");
}

static int is_admin(const struct tg_settings *s, const char *tok, size_t len) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  unsigned char md[32];
  if (!s->has_admin_token)
    return 0;
  pthread_once(&once, admin_md_fetch);
  return admin_md != NULL && EVP_Digest(tok, len, md, NULL, admin_md, NULL) &&
         tg_ct_equal(md, s->admin_token_sha256, sizeof(md));
}

/* The finding for one request, worked out once; it lives in the engine's
 * per-request memo (tg_http_req_app), which starts zeroed. */
struct tg_auth_memo {
  int resolved;
  int kind;         /* enum cred_kind */
  unsigned scopes;  /* TG_SCOPEBIT_* */
  int status;       /* tg_oauth_status, for an invalid token */
  int oauth;        /* OAuth was configured */
  char subject[96];
};
_Static_assert(sizeof(struct tg_auth_memo) <= TG_HTTP_APP_MEMO, "the memo outgrew the engine's");

static struct tg_auth_memo *auth_memo(struct tg_http_req *req) { return tg_http_req_app(req); }

enum cred_kind { CRED_NONE, CRED_ADMIN, CRED_TOKEN, CRED_BAD };

/* The request's credential, worked out on first use and kept in the request
 * (the router's scope check and a handler's tg_auth_has then share one JWT
 * verification). */
static const struct tg_auth_memo *credential(struct tg_http_req *req) {
  struct tg_auth_memo *c = auth_memo(req);
  if (c->resolved)
    return c;
  size_t len = 0;
  const char *tok = bearer(req, &len);
  struct tg_settings *s = tg_settings_get();
  memset(c, 0, sizeof(*c));
  c->resolved = 1;
  c->oauth = s->auth.enabled;
  if (tok == NULL) {
    c->kind = CRED_NONE;
    c->scopes = s->auth.anonymous;
    if (tg_http_req_peer(req) != NULL)
      c->scopes |= TG_SCOPEBIT_CATALOG_READ | TG_SCOPEBIT_DATA_READ;
  } else if (is_admin(s, tok, len)) {
    c->kind = CRED_ADMIN;
    c->scopes = TG_SCOPEBIT_ALL;
    snprintf(c->subject, sizeof(c->subject), "admin");
  } else if (!s->auth.enabled) {
    c->kind = CRED_BAD;
    c->status = TG_OAUTH_SIGNATURE;
  } else {
    struct tg_worker *w = tg_http_req_worker(req);
    struct tg_oauth_claims cl;
    c->status =
        w && w->oauth ? tg_oauth_verify(w->oauth, &s->auth, tok, len, &cl) : TG_OAUTH_NO_KEYS;
    if (c->status == TG_OAUTH_OK) {
      /* What anyone (or any peer) may do, a signed-in caller may do too. */
      c->kind = CRED_TOKEN;
      c->scopes = cl.scopes | s->auth.anonymous;
      if (tg_http_req_peer(req) != NULL)
        c->scopes |= TG_SCOPEBIT_CATALOG_READ | TG_SCOPEBIT_DATA_READ;
      snprintf(c->subject, sizeof(c->subject), "%s", cl.subject);
    } else {
      c->kind = CRED_BAD;
    }
  }
  tg_settings_put(s);
  return c;
}

int tg__auth_grants(unsigned scopes, const char *scope) {
  unsigned bit = tg_oauth_scope_bit(scope, strlen(scope));
  return bit != 0 && (scopes & bit) == bit;
}

int tg_auth_signed_in(struct tg_http_req *req) {
  const struct tg_auth_memo *c = credential(req);
  return c->kind == CRED_ADMIN || c->kind == CRED_TOKEN;
}

int tg_auth_has(struct tg_http_req *req, const char *scope) {
  const struct tg_auth_memo *c = credential(req);
  return c->kind != CRED_BAD && tg__auth_grants(c->scopes, scope);
}

int tg_auth_require(struct tg_http_req *req, const char *scope) {
  const struct tg_auth_memo *c = credential(req);
  enum tg_oauth_status st = (enum tg_oauth_status)c->status;
  char hdr[300];
  if (c->kind != CRED_BAD && tg__auth_grants(c->scopes, scope)) {
    if (c->subject[0])
      tg_http_req_set_subject(req, c->subject);
    return 1;
  }
  switch (c->kind) {
  case CRED_NONE:
    tg_http_res_header(req, "WWW-Authenticate", "Bearer realm=\"tsunagu\"");
    tg_http_res_problem(req, 401, "unauthorized", "Authentication required", NULL,
                        "this operation needs a bearer token with scope %s", scope);
    break;
  case CRED_BAD:
    if (st == TG_OAUTH_NO_KEYS) {
      tg_http_res_header(req, "Retry-After", "5");
      tg_http_res_problem(req, 503, "auth-unavailable", "Authentication unavailable", NULL,
                          "%s; try again shortly", tg_oauth_status_text(st));
      break;
    }
    snprintf(hdr, sizeof(hdr),
             "Bearer realm=\"tsunagu\", error=\"invalid_token\", "
             "error_description=\"%s\"",
             c->oauth ? tg_oauth_status_text(st) : "unknown token");
    tg_http_res_header(req, "WWW-Authenticate", hdr);
    if (c->oauth)
      tg_http_res_problem(req, 401, "invalid-token", "Invalid token", NULL, "%s",
                          tg_oauth_status_text(st));
    else
      tg_http_res_problem(req, 401, "invalid-token", "Invalid token", NULL,
                          "the bearer token is not valid for this node");
    break;
  case CRED_ADMIN:
  case CRED_TOKEN:
    if (c->subject[0])
      tg_http_req_set_subject(req, c->subject);
    snprintf(hdr, sizeof(hdr),
             "Bearer realm=\"tsunagu\", error=\"insufficient_scope\", scope=\"%s\"", scope);
    tg_http_res_header(req, "WWW-Authenticate", hdr);
    tg_http_res_problem(req, 403, "insufficient-scope", "Insufficient scope", NULL,
                        "this operation needs scope %s, which the token does not grant", scope);
    break;
  }
  return 0;
}
