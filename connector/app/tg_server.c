/* tg_server: process setup for tsunagud: settings, TLS context, one listening
 * socket and libuv loop per worker thread (SO_REUSEPORT spreads connections),
 * SIGTERM drain and SIGHUP reload handled on the main thread's loop. */
#include "tg_server.h"
#include "tg_app.h"
#include "tg_router.h"
#include "tg_routes.h"
#include "tg_routes_data.h"
#include "cat_obs.h"
#include "tg_cat.h"
#include "tg_client.h"
#include "tg_conf.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_harvest.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_tls.h"
#include "tg_util.h"
#include "tg_routes_obs.h"
#include "tg_voc_store.h"
#include "tg_writer.h"
#include "tg_provlog.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- listening sockets --- */

static int listen_socket(const char *host, int port, int *out_fd, int *out_port, struct tg_err *err) {
  struct addrinfo hints = {0}, *ai = NULL;
  char portstr[16];
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  snprintf(portstr, sizeof(portstr), "%d", port);
  int g = getaddrinfo(host, portstr, &hints, &ai);
  if (g != 0)
    return tg_err_set(err, TG_EINVAL, "cannot resolve listen address %s: %s", host, gai_strerror(g));
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    freeaddrinfo(ai);
    return tg_err_set(err, TG_EIO, "cannot listen on %s:%d: %s", host, port, strerror(e));
  }
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
  *out_fd = fd;
  return 0;
}

/* --- workers --- */

enum { TG_WAKE_NONE, TG_WAKE_DRAIN, TG_WAKE_STOP };
static _Atomic int tg__wake_what;

static void worker_stop_timer_cb(uv_timer_t *t) {
  struct tg_worker *w = t->data;
  tg_conn_close_all(&w->http);
  uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void worker_on_wake(uv_async_t *a) {
  struct tg_worker *w = a->data;
  int what = atomic_load(&tg__wake_what);
  if (what == TG_WAKE_NONE || w->draining)
    return;
  w->draining = w->http.draining = 1;
  uv_close((uv_handle_t *)&w->listener, NULL);
  uv_close((uv_handle_t *)&w->wake, NULL);
  tg_fed_worker_free(w->fed); /* answers the peer checks in flight */
  w->fed = NULL;
  tg_fed_harvest_free(w->harvest); /* pages in flight are dropped, nothing more written */
  w->harvest = NULL;
  tg_routes_data_worker_free(w);
  if (w->index == 0)
    tg_routes_obs_retention_stop(w);
  tg_conn_drain_all(&w->http);
  if (w->http.conns != NULL) {
    struct tg_settings *s = tg_settings_get();
    uv_timer_t *t = malloc(sizeof(*t));
    if (t != NULL) {
      uv_timer_init(&w->loop, t);
      t->data = w;
      uv_timer_start(t, worker_stop_timer_cb, s->drain_timeout_ms, 0);
      uv_unref((uv_handle_t *)t);
    }
    tg_settings_put(s);
  }
}

static void close_left(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h))
    uv_close(h, h->type == UV_TIMER ? (uv_close_cb)free : NULL);
}

static void worker_main(void *arg) {
  struct tg_worker *w = arg;
  uv_run(&w->loop, UV_RUN_DEFAULT);
  /* Close what is left (the drain timer if connections ended first). */
  uv_walk(&w->loop, close_left, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
}

static int worker_init(struct tg_worker *w, const char *dir, const struct tg_settings *s,
                       int index, int fd, struct tg_err *err) {
  int rc;
  w->index = index;
  w->listen_fd = fd;
  if (uv_loop_init(&w->loop) != 0)
    return tg_err_set(err, TG_EIO, "cannot create an event loop");
  /* Each worker has its own database connection (WAL lets them read at once). */
  if ((rc = tg_node_db_open(dir, &w->db, err)) != 0)
    return rc;
  if ((rc = tg_cat_store_open(w->db, s->node_id, &w->cat, err)) != 0)
    return rc;
  if ((rc = tg_voc_store_open(w->db, &w->voc, err)) != 0)
    return rc;
  /* The harvested index: its own file, so harvesting never holds the node
   * database's write lock; every worker reads it, worker 0 writes it. */
  if ((rc = tg_node_harvest_db_open(dir, &w->hdb, err)) != 0 ||
      (rc = tg_cat_index_open(w->hdb, s->node_id, &w->harvested, err)) != 0)
    return rc;
  if ((rc = tg_cat_obs_open(w->db, &w->obs, err)) != 0)
    return rc;
  if (tg_writer_port_new(&w->loop, &w->wport) != 0)
    return tg_err_set(err, TG_EIO, "cannot create the writer's port");
  if ((w->oauth = tg_oauth_verifier_new()) == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  uv_tcp_init(&w->loop, &w->listener);
  tg_http_worker_init(&w->http, &w->loop, &tg_app_http, w);
  w->listener.data = &w->http;
  if (uv_tcp_open(&w->listener, fd) != 0)
    return tg_err_set(err, TG_EIO, "cannot adopt the listening socket");
  int r = uv_listen((uv_stream_t *)&w->listener, 4096, tg_conn_on_connection);
  if (r != 0)
    return tg_err_set(err, TG_EIO, "listen: %s", uv_strerror(r));
  uv_async_init(&w->loop, &w->wake, worker_on_wake);
  w->wake.data = w;
  if ((rc = tg_fed_worker_new(&w->loop, w->db, &w->fed, err)) != 0)
    return rc;
  if (index == 0) { /* one worker checks the peers and follows their feeds */
    tg_fed_worker_periodic_start(w->fed);
    if ((rc = tg_fed_harvest_new(&w->loop, w->db, w->harvested, dir, &w->harvest, err)) != 0)
      return rc;
    tg_fed_harvest_start(w->harvest);
  }
  if (index == 0)
    tg_routes_obs_retention_start(w);
  return 0;
}

/* --- main thread: signals --- */

struct tg_main {
  struct tg_server *srv;
  uv_signal_t sigterm, sigint, sighup;
  struct tg_fed_refresh *crl; /* periodic CRL refresh (tg_fed_refresh.c) */
  struct tg_fed_renew *renew; /* the node certificate's renewal (tg_fed_renew.c) */
  struct tg_oauth_refresh *jwks; /* the identity provider's keys (tg_oauth.c) */
};

static void on_sigterm(uv_signal_t *h, int signum) {
  struct tg_main *m = h->data;
  tg_log_info("signal %d: draining and exiting", signum);
  atomic_store(&tg__wake_what, TG_WAKE_DRAIN);
  for (int i = 0; i < m->srv->nworkers; i++)
    uv_async_send(&m->srv->workers[i].wake);
  uv_close((uv_handle_t *)&m->sigterm, NULL);
  uv_close((uv_handle_t *)&m->sigint, NULL);
  uv_close((uv_handle_t *)&m->sighup, NULL);
  tg_fed_refresh_stop(m->crl);
  tg_fed_renew_stop(m->renew);
  tg_oauth_refresh_stop(m->jwks);
  m->crl = NULL;
  m->renew = NULL;
  m->jwks = NULL;
}

static void reload(struct tg_main *m) {
  struct tg_settings *s = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_settings_load(m->srv->dir, &s, &err);
  if (rc) {
    tg_log_error("reload failed, keeping the running configuration: %s", tg_err_msg(&err, rc));
    return;
  }
  struct tg_settings *cur = tg_settings_get();
  if (strcmp(cur->listen_host, s->listen_host) != 0 || cur->listen_port != s->listen_port ||
      cur->workers != s->workers)
    tg_log_warn("reload: listen address and workers change only on restart");
  tg_settings_put(cur);
  tg_settings_debug_load(m->srv->dir);
  tg_settings_swap(s);
  tg_log_info("reloaded configuration and certificates");
}

/* A new CRL or certificate was installed: reload as on SIGHUP. */
static void reload_cb(void *ud) { reload(ud); }

static void on_sighup(uv_signal_t *h, int signum) {
  struct tg_main *m = h->data;
  (void)signum;
  reload(m);
  tg_fed_refresh_kick(m->crl); /* and fetch the CRL now */
  tg_fed_renew_kick(m->renew); /* and look at the certificate's renewal */
  tg_oauth_refresh_kick(m->jwks); /* and the identity provider's keys */
  tg_fed_harvest_kick(); /* and a harvest round */
}

/* Writes DIR/tsunagud.addr (the CLI reads the real port there); a failure
 * is logged, not fatal: the node serves without it. */
static void write_addr_file(const char *dir, const char *host, int port) {
  char path[4096], text[300];
  struct tg_err err;
  tg_err_clear(&err);
  tg_node_path(path, sizeof(path), dir, TG_NODE_ADDR);
  int n = snprintf(text, sizeof(text), "%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host,
                   strchr(host, ':') ? "]" : "", port);
  int rc = tg_file_write(path, text, (size_t)n, 0644, 0, &err);
  if (rc != 0)
    tg_log_error("%s; the CLI will not find the node's address", tg_err_msg(&err, rc));
}

/* One daemon per state directory: a second tsunagud on the same DIR would
 * share the port through SO_REUSEPORT and split the traffic silently. The
 * lock (flock on DIR/tsunagud.lock) dies with the process, kill -9 included.
 * Returns the open descriptor, or -1 after logging why. */
static int lock_dir(const char *dir) {
  char path[4096], pid[32] = "";
  if (snprintf(path, sizeof(path), "%s/tsunagud.lock", dir) >= (int)sizeof(path)) {
    tg_log_error("cannot start: path too long");
    return -1;
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    tg_log_error("cannot start: cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ssize_t n = read(fd, pid, sizeof(pid) - 1);
    pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
    if (e == EWOULDBLOCK)
      tg_log_error("cannot start: another tsunagud (pid %s) is serving %s", pid[0] ? pid : "?",
                   dir);
    else
      tg_log_error("cannot start: cannot lock %s: %s", path, strerror(e));
    close(fd);
    return -1;
  }
  int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
    tg_log_warn("cannot write the pid to %s: %s", path, strerror(errno));
  return fd;
}

/* Each connection is a descriptor: take the hard limit, as nginx's
 * worker_rlimit_nofile would. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int tg_server_check(const char *dir) {
  struct tg_settings *s = NULL;
  struct tg_err err;
  char path[4096];
  tg_err_clear(&err);
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  tg_settings_routes(tg_router_count(), tg_router_name);
  int rc = tg_settings_load(dir, &s, &err);
  if (rc != 0) {
    fprintf(stderr, "tsunagud: %s\n", tg_err_msg(&err, rc));
    return 1;
  }
  tg_settings_put(s);
  printf("tsunagud: %s: the configuration and the files it names are good\n", path);
  return 0;
}

int tg_server_run(const char *dir) {
  struct tg_server srv;
  struct tg_settings *s = NULL;
  struct tg_err err;
  int rc, port;
  memset(&srv, 0, sizeof(srv));
  tg_err_clear(&err);
  snprintf(srv.dir, sizeof(srv.dir), "%s", dir);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  tg_settings_routes(tg_router_count(), tg_router_name);
  if ((rc = tg_settings_load(dir, &s, &err)) != 0) {
    tg_log_error("cannot start: %s", tg_err_msg(&err, rc));
    return 1;
  }
  int lockfd = lock_dir(dir);
  if (lockfd < 0) {
    tg_settings_put(s);
    return 1;
  }
  tg_settings_swap(s);
  tg_settings_debug_load(dir);
  /* The one writer (accumulated data), before the workers that feed it. */
  struct tg_writer *writer = NULL;
  {
    char dbpath[4096];
    tg_node_path(dbpath, sizeof(dbpath), dir, TG_NODE_DB);
    struct tg_provlog *prov = NULL;
    if (!s->prov_log)
      tg_log_info("provenance: [provenance] log = off: nothing is logged");
    else if (tg_provlog_open(dir, s->node_id, s->prov_sth_interval_ms,
                                  s->prov_sync_interval_ms, &prov) != 0)
      return 1;
    if ((rc = tg_writer_start(dbpath, s->node_id, prov, &writer, &err)) != 0) {
      tg_log_error("cannot start the writer: %s", tg_err_msg(&err, rc));
      return 1;
    }
    tg_writer_set(writer);
  }
  srv.nworkers = s->workers;
  srv.workers = calloc((size_t)srv.nworkers, sizeof(*srv.workers));
  if (srv.workers == NULL)
    return 1;
  int fd;
  if ((rc = listen_socket(s->listen_host, s->listen_port, &fd, &port, &err)) != 0) {
    tg_log_error("cannot start: %s", tg_err_msg(&err, rc));
    return 1;
  }
  srv.port = port;
  for (int i = 0; i < srv.nworkers; i++) {
    int wfd = fd, p2;
    if (i > 0 && (rc = listen_socket(s->listen_host, port, &wfd, &p2, &err)) != 0) {
      tg_log_error("cannot start worker %d: %s", i, tg_err_msg(&err, rc));
      return 1;
    }
    if ((rc = worker_init(&srv.workers[i], dir, s, i, wfd, &err)) != 0) {
      tg_log_error("cannot start worker %d: %s", i, tg_err_msg(&err, rc));
      return 1;
    }
  }
  for (int i = 0; i < srv.nworkers; i++)
    uv_thread_create(&srv.workers[i].thread, worker_main, &srv.workers[i]);
  write_addr_file(dir, s->listen_host, port);
  tg_log_info("node %s listening on https://%s:%d with %d workers", s->node_id, s->listen_host,
              port, srv.nworkers);

  uv_loop_t loop;
  struct tg_main m = {.srv = &srv};
  uv_loop_init(&loop);
  uv_signal_init(&loop, &m.sigterm);
  uv_signal_init(&loop, &m.sigint);
  uv_signal_init(&loop, &m.sighup);
  m.sigterm.data = m.sigint.data = m.sighup.data = &m;
  uv_signal_start(&m.sigterm, on_sigterm, SIGTERM);
  uv_signal_start(&m.sigint, on_sigterm, SIGINT);
  uv_signal_start(&m.sighup, on_sighup, SIGHUP);
  {
    char ca[4096], crl[4096];
    tg_node_path(ca, sizeof(ca), dir, TG_NODE_CA);
    tg_node_path(crl, sizeof(crl), dir, TG_NODE_CRL);
    if (access(ca, F_OK) == 0 && access(crl, F_OK) != 0)
      tg_log_warn("%s has no CRL (%s): revoked peers are NOT refused until one is installed "
                  "(tsunagu cert install --crl, or [federation] hub to fetch it)",
                  dir, TG_NODE_CRL);
  }
  /* The main loop's writer port: provenance entries of its jobs (revocations). */
  struct tg_writer_port *mport = NULL;
  if (tg_writer_port_new(&loop, &mport) != 0)
    tg_log_warn("provenance: no writer port on the main loop: revocations are not logged");
  if (tg_fed_refresh_start(&loop, dir, mport, reload_cb, &m, &m.crl, &err) != 0)
    tg_log_warn("no CRL refresh: %s", tg_err_msg(&err, TG_ENOMEM));
  if (tg_fed_renew_start(&loop, dir, reload_cb, &m, &m.renew, &err) != 0)
    tg_log_warn("no certificate renewal: %s", tg_err_msg(&err, TG_ENOMEM));
  if (tg_oauth_refresh_start(&loop, dir, &m.jwks, &err) != 0)
    tg_log_warn("no JWKS refresh: %s", tg_err_msg(&err, TG_ENOMEM));
  uv_run(&loop, UV_RUN_DEFAULT);
  tg_writer_port_close(mport);
  uv_run(&loop, UV_RUN_DEFAULT); /* its close */
  for (int i = 0; i < srv.nworkers; i++) {
    uv_thread_join(&srv.workers[i].thread);
    uv_loop_close(&srv.workers[i].loop);
    tg_cat_store_free(srv.workers[i].cat);
    tg_cat_store_free(srv.workers[i].harvested);
    tg_db_close(srv.workers[i].hdb);
    tg_oauth_verifier_free(srv.workers[i].oauth);
    tg_voc_store_close(srv.workers[i].voc);
    tg_http_worker_close(&srv.workers[i].http);
    tg_writer_port_close(srv.workers[i].wport);
    tg_cat_obs_free(srv.workers[i].obs);
    tg_db_close(srv.workers[i].db);
  }
  tg_writer_set(NULL);
  tg_writer_stop(writer);
  uv_loop_close(&loop);
  free(srv.workers);
  tg_settings_swap(NULL);
  tg_oauth_jwks_clear();
  tg_log_info("stopped");
  close(lockfd);
  return 0;
}
