/* tg_app: the node as the HTTP engine sees it: the callbacks that route a
 * request (tg_router), admit it (tg_auth), count it (tg_metrics), log it, and
 * hand the engine the current settings' limits. */
#ifndef TG_APP_H
#define TG_APP_H

#include "tg_http_server.h"

/* Registered with each worker's engine (tg_http_worker_init). */
extern const struct tg_http_app tg_app_http;

#endif
