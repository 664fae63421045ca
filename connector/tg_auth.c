/* tg_auth: bearer credentials. The admin token grants every scope. */
#include "tg_auth.h"
#include "tg_server.h"
#include "tg_util.h"

#include <openssl/evp.h>
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
  return *len ? h : NULL;
}

static int is_admin(const char *tok, size_t len) {
  unsigned char md[32];
  struct tg_settings *s = tg_settings_get();
  int ok = 0;
  if (s->has_admin_token && EVP_Digest(tok, len, md, NULL, EVP_sha256(), NULL))
    ok = tg_ct_equal(md, s->admin_token_sha256, sizeof(md));
  tg_settings_put(s);
  return ok;
}

int tg_auth_has(struct tg_http_req *req, const char *scope) {
  size_t len;
  const char *tok = bearer(req, &len);
  (void)scope;
  return tok != NULL && is_admin(tok, len);
}

int tg_auth_require(struct tg_http_req *req, const char *scope) {
  size_t len;
  const char *tok = bearer(req, &len);
  if (tok != NULL && is_admin(tok, len)) {
    tg_http_req_set_subject(req, "admin");
    return 1;
  }
  tg_http_res_header(req, "WWW-Authenticate", "Bearer realm=\"tsunagu\"");
  if (tok == NULL)
    tg_http_res_problem(req, 401, "unauthorized", "Authentication required", NULL,
                        "this operation needs a bearer token with scope %s", scope);
  else
    tg_http_res_problem(req, 401, "invalid-token", "Invalid token", NULL,
                        "the bearer token is not valid for this node");
  return 0;
}
