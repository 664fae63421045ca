/* tg_server: the daemon's process: settings from tsunagu.conf, worker threads
 * each with its own libuv loop and listening socket (SO_REUSEPORT), signals
 * (SIGTERM drains, SIGHUP reloads), and the shared state workers read. */
#ifndef TG_SERVER_H
#define TG_SERVER_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "tg_http.h"
#include "tg_oauth.h"

struct tg_err;
struct tg_conf;
struct tg_client;
struct tg_buf;
struct tg_cat_store;
struct tg_voc_store;

/* Limits and knobs read from tsunagu.conf; replaced whole on SIGHUP. */
struct tg_settings {
  _Atomic int refs;
  uint64_t gen; /* 1, 2, ...: which load this is (set when it becomes current) */
  char node_id[64];
  char node_name[128];
  char federation[128];
  char url[520]; /* [node] url: how peers reach this node ("" = from [http] listen) */
  char listen_host[256];
  int listen_port;
  int workers;
  uint64_t max_header_bytes;   /* [limits] header_bytes */
  uint64_t max_body_bytes;     /* [limits] body_bytes: ceiling for buffered bodies */
  uint64_t route_body[128];    /* [limits] body_bytes.<route> overrides; 0 = none */
  uint64_t header_timeout_ms;  /* [limits] header_timeout */
  uint64_t body_timeout_ms;    /* [limits] body_timeout: between body bytes */
  uint64_t idle_timeout_ms;    /* [limits] idle_timeout: keep-alive */
  uint64_t handshake_timeout_ms; /* [limits] handshake_timeout: from accept, absolute */
  uint64_t min_rate;           /* [limits] min_rate: bytes/s a slow sender or reader keeps */
  uint64_t out_high_water;     /* [limits] output_buffer: pending output that stops parsing */
  uint64_t max_conns;          /* [limits] connections */
  uint64_t max_conns_per_client; /* [limits] connections_per_client */
  uint64_t drain_timeout_ms;   /* [limits] drain_timeout */
  int access_log;              /* [log] access = on|off */
  char fingerprint[65];        /* SHA-256 of node.crt */
  char dir[4096];              /* the node's state directory */
  int has_admin_token;
  unsigned char admin_token_sha256[32]; /* of DIR/admin.token's token */
  SSL_CTX *tls;                /* owned: SSL_CTX_free on release */
  struct tg_oauth_conf auth;   /* [auth]: the identity provider, anonymous scopes */
  uint64_t peer_check_ms;      /* [federation] peer_check: 0 = off */
};

/* Takes a reference to the current settings (release with tg_settings_put). */
struct tg_settings *tg_settings_get(void);
void tg_settings_put(struct tg_settings *s);
/* The generation of the current settings (gen), without taking a reference. */
uint64_t tg_settings_generation(void);

/* Per-worker state; everything here belongs to the worker's thread. */
struct tg_worker {
  int index;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t wake;        /* the main thread asks for drain/stop */
  pthread_t thread;
  int listen_fd;
  int draining;
  uint64_t nconns;
  void *conns;            /* list head of open connections (tg_conn.c) */
  char readbuf[65536];    /* shared read buffer: connections keep only leftovers */
  char *spare_in;         /* one idle plaintext buffer for reuse, from malloc() */
  size_t spare_cap;
  sqlite3 *db;            /* this worker's connection to the node database */
  struct tg_cat_store *cat; /* the catalog on DB */
  struct tg_voc_store *voc; /* the vocabularies on DB */
  struct tg_client *client; /* outgoing HTTP (libcurl multi on this loop) */
  struct tg_oauth_verifier *oauth; /* bearer JWT verification (liboauth2) */
  uv_timer_t peer_timer;  /* worker 0: the periodic peer check */
  void *peer_batch;       /* its checks in flight, or NULL (tg_routes_peers.c) */
};

/* The server as a whole. */
struct tg_server {
  char dir[4096];
  int nworkers;
  struct tg_worker *workers;
  uv_loop_t *main_loop;
  int port;               /* the real port bound */
};

/* Reads DIR/tsunagu.conf and the TLS material into new settings. */
int tg_settings_load(const char *dir, struct tg_settings **out, struct tg_err *err);
/* Runs the node in DIR until SIGTERM; returns the exit status. */
int tg_server_run(const char *dir);

/* Routing (tg_router.c): the route for METHOD and PATH, or NULL. *ALLOWED is
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

/* Connections (tg_conn.c). */
void tg_conn_on_connection(uv_stream_t *server, int status);
/* Closes idle connections and marks busy ones to close after their response. */
void tg_conn_drain_all(struct tg_worker *w);
/* Closes every connection at once. */
void tg_conn_close_all(struct tg_worker *w);

/* Metrics (tg_metrics.c). */
void tg_metrics_request(int route, int status, uint64_t usec, uint64_t in, uint64_t out);
void tg_metrics_conn(int delta);
/* Counts a connection refused at accept (over a connection limit). */
void tg_metrics_conn_refused(void);
void tg_metrics_render(struct tg_buf *out);
long tg_metrics_open_conns(void);

#endif
