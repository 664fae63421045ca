/* tg_routes: the handlers behind the routing table (tg_router.c). */
#ifndef TG_ROUTES_H
#define TG_ROUTES_H

#include "tg_http.h"

void tg_route_well_known(struct tg_http_req *req);
void tg_route_healthz(struct tg_http_req *req);
void tg_route_metrics(struct tg_http_req *req);
void tg_route_peer_whoami(struct tg_http_req *req);
void tg_route_debug_stream(struct tg_http_req *req);
void tg_route_debug_echo(struct tg_http_req *req);
void tg_route_debug_sink(struct tg_http_req *req);

#endif
