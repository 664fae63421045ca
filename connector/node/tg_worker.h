/* tg_worker: one worker thread's context: its loop and everything it owns
 * (the HTTP engine's state, database, stores, token verifier, the data
 * API's clients). Route handlers reach it with tg_http_req_worker(). */
#ifndef TG_WORKER_H
#define TG_WORKER_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

#include "tg_http_server.h"
#include "tg_settings.h"

struct tg_cat_store;
struct tg_voc_store;
struct tg_oauth_verifier;
struct tg_fed_worker;
struct tg_fed_harvest;
struct tg_cat_obs;
struct tg_writer_port;

/* Per-worker state; everything here belongs to the worker's thread. */
struct tg_worker {
  int index;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t wake;        /* the main thread asks for drain/stop */
  pthread_t thread;
  int listen_fd;
  int draining;           /* set with http.draining when SIGTERM arrives */
  struct tg_http_worker http; /* the HTTP engine's state: connections, buffers */
  sqlite3 *db;            /* this worker's connection to the node database */
  struct tg_cat_store *cat; /* the catalog on DB */
  struct tg_voc_store *voc; /* the vocabularies on DB */
  struct tg_oauth_verifier *oauth; /* bearer JWT verification (liboauth2) */
  struct tg_fed_worker *fed; /* federation state: peer checks (fed/, opaque here) */
  sqlite3 *hdb;           /* this worker's connection to harvest.db */
  struct tg_cat_store *harvested; /* the harvested index of peers' datasets, on HDB */
  struct tg_fed_harvest *harvest; /* worker 0: following peers' feeds (fed/), else NULL */
  void *broker;           /* the data API's clients (tg_routes_data.c) */
  struct tg_cat_obs *obs; /* accumulated observations on DB (reads) */
  struct tg_writer_port *wport; /* results from the writer thread (tg_writer.h) */
  void *obs_retention;    /* worker 0: the retention timer (tg_routes_obs.c) */
};

#endif
