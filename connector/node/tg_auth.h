/* tg_auth: who may do what: the node's admin token (DIR/admin.token,
 * compared in constant time against its SHA-256; every scope), OAuth 2.0
 * bearer JWTs from the city's identity provider ([auth], tg_oauth.h; their
 * scopes), a verified federation certificate (catalog:read), and for callers
 * without a token the [auth] anonymous scopes (default catalog:read). */
#ifndef TG_AUTH_H
#define TG_AUTH_H

#include "tg_http.h"

/* Scopes of the design brief. */
#define TG_SCOPE_CATALOG_READ "catalog:read"
#define TG_SCOPE_CATALOG_WRITE "catalog:write"
#define TG_SCOPE_DATA_READ "data:read"
#define TG_SCOPE_DATA_WRITE "data:write"
#define TG_SCOPE_ADMIN "admin"

/* Returns 1 if REQ's credential (or, without one, the anonymous scopes)
 * grants SCOPE. Otherwise answers REQ and returns 0: 401 without a token or
 * with an invalid one (RFC 6750 WWW-Authenticate, the reason in the problem),
 * 403 insufficient-scope, 503 while the provider's keys are not loaded. The
 * handler must then return without touching REQ. */
int tg_auth_require(struct tg_http_req *req, const char *scope);
/* Returns 1 if REQ carries a credential granting SCOPE; never answers. */
/* 1 if the caller signed in here: the admin token or a verified bearer token
 * (whatever its subject), 0 for anonymous callers and bad tokens. */
int tg_auth_signed_in(struct tg_http_req *req);
int tg_auth_has(struct tg_http_req *req, const char *scope);

/* Internal, for tests: 1 if the scope bits SCOPES (TG_SCOPEBIT_*) grant
 * SCOPE, a known scope name; an unknown name is granted to nobody. */
int tg__auth_grants(unsigned scopes, const char *scope);

#endif
