/* tg_auth: who may do what. For now the node's admin token (DIR/admin.token,
 * compared in constant time against its SHA-256); OAuth 2.0 bearer tokens
 * from the city's identity provider come with the authentication work. */
#ifndef TG_AUTH_H
#define TG_AUTH_H

#include "tg_http.h"

/* Scopes of the design brief. */
#define TG_SCOPE_CATALOG_READ "catalog:read"
#define TG_SCOPE_CATALOG_WRITE "catalog:write"
#define TG_SCOPE_DATA_READ "data:read"
#define TG_SCOPE_DATA_WRITE "data:write"
#define TG_SCOPE_ADMIN "admin"

/* Returns 1 if REQ carries a credential granting SCOPE. Otherwise answers
 * REQ with 401 (no or unknown credential, with WWW-Authenticate) or 403 and
 * returns 0: the handler must then return without touching REQ. */
int tg_auth_require(struct tg_http_req *req, const char *scope);
/* Returns 1 if REQ carries a credential granting SCOPE; never answers. */
int tg_auth_has(struct tg_http_req *req, const char *scope);

#endif
