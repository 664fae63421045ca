/* tg_router: the node's routing table (method, path pattern, limits, scope,
 * handler) and its matcher. */
#ifndef TG_ROUTER_H
#define TG_ROUTER_H

#include <stddef.h>

#include "tg_http.h"

/* One entry of the routing table. PATTERN is an exact path, a prefix when
 * it ends in '*', or has one '*' standing for a path segment inside. */
struct tg_route {
  const char *method;      /* "GET", "POST", … */
  const char *pattern;
  const char *name;        /* label in metrics and [limits] body_bytes.<name> */
  tg_http_handler handler;
  size_t max_body;         /* bytes; 0 means the route takes no body */
  int stream_body;         /* call HANDLER at the head and stream the body */
  int peer_only;           /* callers must present a valid federation certificate */
  const char *scope;       /* scope the caller needs (tg_auth_require), or NULL */
};

/* The route for METHOD and PATH, or NULL. *ALLOWED is
 * set when the path exists under another method (405). */
const struct tg_route *tg_router_match(const char *method, const char *path, int *allowed,
                                       const char **rest);
/* Returns 1 if REQ's caller holds ROUTE's scope (checked at the head, before
 * any body byte is read); otherwise REQ is answered (401/403/503) and 0. */
int tg_router_admit(struct tg_http_req *req, const struct tg_route *route);
/* Runs ROUTE's handler for REQ once the caller holds the route's scope;
 * otherwise REQ gets tg_auth_require's 401/403/503. */
void tg_router_run(struct tg_http_req *req, const struct tg_route *route);
/* Index of ROUTE in the table (for metrics); -1 for none. */
int tg_router_index(const struct tg_route *route);
/* Number of routes and the name of route I. */
int tg_router_count(void);
const char *tg_router_name(int i);

/* Internal, for tests: route I of the table (borrowed, static), or NULL. */
const struct tg_route *tg__router_route(int i);

#endif
