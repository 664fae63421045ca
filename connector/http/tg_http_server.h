/* tg_http_server: the HTTPS engine as the application drives it: the limits
 * it enforces, the callbacks it makes (routing, admission, the end of each
 * request) and each worker's engine state. The engine knows nothing of routes,
 * authorization, metrics or the node's settings: it carries the application's
 * route as an opaque pointer and keeps a zeroed memo per request for it. */
#ifndef TG_HTTP_SERVER_H
#define TG_HTTP_SERVER_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tg_http.h"

/* What a connection is held to; taken (limits_get) at accept and kept for
 * the connection's life, so a reload applies to new connections only. */
struct tg_http_limits {
  uint64_t gen;                  /* which load this is; trust changes bump it */
  SSL_CTX *tls;                  /* the server context (owned by the application) */
  uint64_t max_header_bytes;     /* [limits] header_bytes */
  uint64_t max_body_bytes;       /* [limits] body_bytes: ceiling for buffered bodies */
  uint64_t header_timeout_ms;    /* [limits] header_timeout */
  uint64_t body_timeout_ms;      /* [limits] body_timeout: between body bytes */
  uint64_t idle_timeout_ms;      /* [limits] idle_timeout: keep-alive */
  uint64_t handshake_timeout_ms; /* [limits] handshake_timeout: from accept, absolute */
  uint64_t min_rate;             /* [limits] min_rate: bytes/s a slow sender or reader keeps */
  uint64_t out_high_water;       /* [limits] output_buffer: pending output that stops parsing */
  uint64_t max_conns;            /* [limits] connections */
  uint64_t max_conns_per_client; /* [limits] connections_per_client */
};

/* What the application's match tells the engine about a route. */
struct tg_http_route_opts {
  uint64_t max_body; /* the body bytes the request may send; 0 = none */
  int stream_body;   /* run the route at the head and stream the body */
  int peer_only;     /* callers must present a valid federation certificate */
};

/* The application's callbacks, all called on the worker's loop. ROUTE is what
 * match returned (borrowed; it must outlive the request), or NULL for a
 * request no route took. None of them may be NULL. */
struct tg_http_app {
  /* A reference to the current limits, and its release. */
  const struct tg_http_limits *(*limits_get)(void);
  void (*limits_put)(const struct tg_http_limits *lim);
  /* The current limits' gen, without a reference (cheap: asked per request). */
  uint64_t (*generation)(void);
  /* The route for METHOD and PATH, or NULL; then *ALLOWED says whether the
   * path exists under another method (405). *REST: what a prefix matched. */
  const void *(*match)(struct tg_http_req *req, const char *method, const char *path,
                       int *allowed, const char **rest, struct tg_http_route_opts *opts);
  /* Returns 1 if the caller may use ROUTE (asked at the head, before any body
   * byte); otherwise it has answered REQ and returns 0. */
  int (*admit)(struct tg_http_req *req, const void *route);
  /* Runs ROUTE's handler (at the head for streaming routes, else at the end). */
  void (*run)(struct tg_http_req *req, const void *route);
  /* A response ended (metrics, the access log); REQ is freed after it. */
  void (*done)(struct tg_http_req *req, const void *route, int status, uint64_t usec,
               uint64_t bytes_in, uint64_t bytes_out);
  /* Bytes read from or written to a socket. */
  void (*io)(uint64_t bytes_in, uint64_t bytes_out);
  /* A connection opened (+1) or closed (-1); one refused at accept. */
  void (*conn)(int delta);
  void (*refused)(void);
  /* Optional: fits the RFC 9457 problem document P (borrowed, may be
   * amended) of an error answer to REQ into the shape a protocol bound to
   * its path requires; returns the media type to send it as, or NULL for
   * application/problem+json. Every error goes through it, the engine's and
   * the router's too. */
  const char *(*problem)(struct tg_http_req *req, json_t *p);
};

/* One worker's engine state; belongs to the worker's thread. */
struct tg_http_worker {
  uv_loop_t *loop;             /* borrowed */
  const struct tg_http_app *app; /* borrowed */
  struct tg_worker *owner;     /* the application's worker (tg_http_req_worker) */
  int draining;                /* no new keep-alive: set by the application */
  uint64_t nconns;
  void *conns;                 /* list head of open connections (tg_conn.c) */
  char readbuf[65536];         /* shared read buffer: connections keep only leftovers */
  char *spare_in;              /* one idle plaintext buffer for reuse, from malloc() */
  size_t spare_cap;
  char *spare_out[32];         /* idle output blocks (TG_OUT_BLOCK bytes) for reuse */
  int nspare_out;
  uv_check_t flush;            /* writes what handlers queued outside the parse loop */
  int flush_init;
  void *dirty;                 /* connections with output to write (tg_conn.c) */
};

void tg_http_worker_init(struct tg_http_worker *hw, uv_loop_t *loop,
                         const struct tg_http_app *app, struct tg_worker *owner);
/* Frees what the worker keeps once its loop has ended. */
void tg_http_worker_close(struct tg_http_worker *hw);

/* uv_listen's callback: the listener's data must be its struct tg_http_worker. */
void tg_conn_on_connection(uv_stream_t *server, int status);
/* Closes idle connections and marks busy ones to close after their response. */
void tg_conn_drain_all(struct tg_http_worker *hw);
/* Closes every connection at once. */
void tg_conn_close_all(struct tg_http_worker *hw);

/* The application's memo for REQ: TG_HTTP_APP_MEMO bytes, zeroed when the
 * request starts, suitably aligned for any type. */
#define TG_HTTP_APP_MEMO 192
void *tg_http_req_app(struct tg_http_req *req);
/* The limits REQ's connection was accepted with (borrowed for the request). */
const struct tg_http_limits *tg_http_req_limits(const struct tg_http_req *req);
/* The subject set with tg_http_req_set_subject, or "". */
const char *tg_http_req_subject(const struct tg_http_req *req);

#endif
