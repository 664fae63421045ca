/* tg_server: the daemon's process: worker threads each with its own libuv
 * loop and listening socket (SO_REUSEPORT), signals (SIGTERM drains, SIGHUP
 * reloads the settings, node/tg_settings.h), and the periodic jobs. */
#ifndef TG_SERVER_H
#define TG_SERVER_H

#include <uv.h>

#include "tg_worker.h"

/* The server as a whole. */
struct tg_server {
  char dir[4096];
  int nworkers;
  struct tg_worker *workers;
  uv_loop_t *main_loop;
  int port;               /* the real port bound */
};

/* Runs the node in DIR until SIGTERM; returns the exit status. */
int tg_server_run(const char *dir);

#endif
