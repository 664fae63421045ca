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

/* Checks DIR's configuration and the files it names (key, certificates,
 * CRL, backends) as a start would, without starting, as `nginx -t` does:
 * prints what is wrong (stderr) or that all is good (stdout); returns the
 * exit status (0 or 1). */
int tg_server_check(const char *dir);
/* Runs the node in DIR until SIGTERM; returns the exit status. */
int tg_server_run(const char *dir);

#endif
