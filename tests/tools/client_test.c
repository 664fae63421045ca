/* client_test: drives tg_client against a real tsunagud (base URL and CA file
 * from the command line, test routes on) and against small libuv TCP servers
 * of its own (silent, body cut short); prints TAP. Run by
 * tests/integration/client.sh. Usage: client_test BASE_URL CA_FILE WRONG_CA_FILE
 * [CLIENT_CERT CLIENT_KEY EMPTY_CRL REVOKING_CRL] (the CRLs of the CA that
 * issued the node's certificate; the second revokes it). */
#include "tg_client.h"
#include "tg_err.h"
#include "tg_periodic.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static const char *base_url, *ca_file, *wrong_ca;
static const char *client_cert, *client_key, *empty_crl, *revoking_crl;
static int n_tests, n_failed;

static void tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%sok %d - ", ok ? "" : "not ", ++n_tests);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
  if (!ok)
    n_failed++;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("# ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

static void url(char *out, size_t n, const char *path) { snprintf(out, n, "%s%s", base_url, path); }

/* ---------- running the loop with a watchdog ---------- */

static uv_timer_t watchdog;
static int watchdog_fired;

static void watchdog_cb(uv_timer_t *t) {
  (void)t;
  watchdog_fired = 1;
}

/* Runs the loop until *COUNT reaches WANT or LIMIT_MS pass; returns 0 if reached. */
static int run_until(const int *count, int want, uint64_t limit_ms) {
  watchdog_fired = 0;
  uv_update_time(&loop); /* blocking fetches may have passed since */
  uv_timer_start(&watchdog, watchdog_cb, limit_ms, 0);
  while (*count < want && !watchdog_fired)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&watchdog);
  return *count >= want ? 0 : -1;
}

/* Runs the loop for MS milliseconds. */
static void run_for(uint64_t ms) {
  int never = 0;
  run_until(&never, 1, ms);
}

/* ---------- a request's observed behaviour ---------- */

struct rq {
  int done, rc, status, heads;
  struct tg_err err;
  uint64_t got;          /* body bytes received */
  int bad;               /* protocol violations seen by the callbacks */
  int expect_pattern;    /* body bytes must follow pattern_byte() */
  int expect_x;          /* body bytes must all be 'x' */
  int pause_every;       /* on_data returns TG_EAGAIN every this many spans */
  int up_pause_every;    /* read_body returns TG_EAGAIN every this many calls */
  int spans, reads, pauses, recv_paused, send_paused;
  uint64_t up_total, up_sent;
  uint64_t cancel_after; /* cancel from inside on_data after this many bytes */
  int abort_data_rc, abort_head_rc;
  int saw_ctype;
  char body[256]; /* the first bytes of the body, NUL-terminated */
  uint64_t t0, t_done;
  struct tg_client_req *req;
  uv_timer_t resume;
  int *counter; /* incremented on DONE */
};

static uint8_t pattern_byte(uint64_t i) { return (uint8_t)(((uint32_t)i * 2654435761u) >> 24); }

static void resume_cb(uv_timer_t *t) {
  struct rq *q = t->data;
  q->recv_paused = q->send_paused = 0;
  tg_client_req_resume(q->req);
}

static void rq_pause(struct rq *q) {
  q->pauses++;
  if (!uv_is_active((uv_handle_t *)&q->resume))
    uv_timer_start(&q->resume, resume_cb, 5, 0);
}

static int on_head(void *ud, int status, const char *const *h) {
  struct rq *q = ud;
  q->heads++;
  if (status < 200)
    q->bad++;
  for (; *h; h++)
    if (strncasecmp(*h, "Content-Type:", 13) == 0)
      q->saw_ctype = 1;
  return q->abort_head_rc;
}

static int on_data(void *ud, const char *d, size_t n) {
  struct rq *q = ud;
  if (q->recv_paused || q->heads != 1 || n == 0)
    q->bad++;
  for (size_t i = 0; i < n; i++) {
    if (q->expect_x && d[i] != 'x')
      q->bad++;
    if (q->expect_pattern && (uint8_t)d[i] != pattern_byte(q->got + i))
      q->bad++;
  }
  size_t room = sizeof(q->body) - 1 - strlen(q->body);
  strncat(q->body, d, n < room ? n : room);
  q->got += n;
  q->spans++;
  if (q->abort_data_rc)
    return q->abort_data_rc;
  if (q->cancel_after && q->got >= q->cancel_after) {
    tg_client_req_cancel(q->req);
    return 0;
  }
  if (q->pause_every && q->spans % q->pause_every == 0) {
    q->recv_paused = 1;
    rq_pause(q);
    return TG_EAGAIN;
  }
  return 0;
}

static long read_body(void *ud, char *buf, size_t n) {
  struct rq *q = ud;
  if (q->send_paused)
    q->bad++;
  q->reads++;
  if (q->up_pause_every && q->reads % q->up_pause_every == 0) {
    q->send_paused = 1;
    rq_pause(q);
    return TG_EAGAIN;
  }
  uint64_t left = q->up_total - q->up_sent;
  size_t k = left < n ? (size_t)left : n;
  size_t piece = 7000 + (size_t)(q->reads % 5000); /* uneven pieces */
  if (k > piece)
    k = piece;
  for (size_t i = 0; i < k; i++)
    buf[i] = (char)pattern_byte(q->up_sent + i);
  q->up_sent += k;
  return (long)k;
}

static void on_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct rq *q = ud;
  q->done++;
  q->rc = rc;
  q->status = status;
  q->t_done = uv_now(&loop);
  if (err != NULL)
    q->err = *err;
  if (q->counter)
    (*q->counter)++;
}

static const struct tg_client_cb rq_cb = {on_head, on_data, read_body, on_done};

static void rq_init(struct rq *q) {
  memset(q, 0, sizeof(*q));
  uv_timer_init(&loop, &q->resume);
  q->resume.data = q;
}

static void rq_closed(uv_handle_t *h) { *(int *)h->data = 1; }

/* Closes Q's timer and waits for it: Q may live on the stack. */
static void rq_close(struct rq *q) {
  int closed = 0;
  q->resume.data = &closed;
  uv_close((uv_handle_t *)&q->resume, rq_closed);
  while (!closed)
    uv_run(&loop, UV_RUN_ONCE);
}

/* Starts a request; returns tg_client_request's code. */
static int rq_start(struct tg_client *c, struct rq *q, const struct tg_client_opts *o) {
  uv_update_time(&loop);
  q->t0 = uv_now(&loop);
  int rc = tg_client_request(c, o, &rq_cb, q, &q->req, &q->err);
  if (rc != 0)
    diag("tg_client_request: %s", tg_err_msg(&q->err, rc));
  return rc;
}

/* ---------- test servers on 127.0.0.1:0 ---------- */

struct srv {
  uv_tcp_t tcp;
  int port;
  const char *reply; /* NULL: accept and never answer */
  size_t reply_len;
  uv_tcp_t *peers[64];
  int npeers;
  int keep; /* keep a connection open after the reply (else cut it) */
};

struct peer {
  uv_tcp_t tcp;
  struct srv *s;
  uv_write_t w;
  int answered;
};

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  b->base = malloc(sz);
  b->len = b->base ? sz : 0;
}

static void peer_closed(uv_handle_t *h) {
  struct peer *p = (struct peer *)(void *)h;
  struct srv *s = p->s;
  for (int i = 0; i < s->npeers; i++)
    if (s->peers[i] == &p->tcp)
      s->peers[i] = s->peers[--s->npeers];
  free(p);
}

static void peer_written(uv_write_t *w, int status) {
  struct peer *p = (struct peer *)(void *)w->handle;
  if (status == 0 && p->s->keep)
    return;
  uv_close((uv_handle_t *)w->handle, peer_closed); /* cut the connection */
}

static void peer_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  struct peer *p = (struct peer *)(void *)st;
  free(b->base);
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)st))
      uv_close((uv_handle_t *)st, peer_closed);
    return;
  }
  if (n > 0 && p->s->reply != NULL && !p->answered) {
    p->answered = 1;
    uv_buf_t out = uv_buf_init((char *)p->s->reply, (unsigned)p->s->reply_len);
    uv_write(&p->w, st, &out, 1, peer_written);
  }
}

static void srv_conn(uv_stream_t *l, int status) {
  struct srv *s = l->data;
  if (status < 0)
    return;
  struct peer *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return;
  p->s = s;
  uv_tcp_init(&loop, &p->tcp);
  if (uv_accept(l, (uv_stream_t *)&p->tcp) != 0 || s->npeers == 64) {
    uv_close((uv_handle_t *)&p->tcp, peer_closed);
    return;
  }
  s->peers[s->npeers++] = &p->tcp;
  uv_read_start((uv_stream_t *)&p->tcp, alloc_cb, peer_read);
}

static int srv_start(struct srv *s, const char *reply) {
  memset(s, 0, sizeof(*s));
  s->reply = reply;
  s->reply_len = reply ? strlen(reply) : 0;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&loop, &s->tcp);
  s->tcp.data = s;
  if (uv_tcp_bind(&s->tcp, (const struct sockaddr *)&a, 0) != 0 ||
      uv_listen((uv_stream_t *)&s->tcp, 64, srv_conn) != 0)
    return -1;
  struct sockaddr_in got;
  int len = sizeof(got);
  uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&got, &len);
  s->port = ntohs(got.sin_port);
  return 0;
}

static void srv_closed(uv_handle_t *h) { ((struct srv *)h->data)->port = 0; }

/* Closes S and its connections and waits for them: S may live on the stack. */
static void srv_stop(struct srv *s) {
  for (int i = 0; i < s->npeers; i++) /* peer_closed runs later, from the loop */
    if (!uv_is_closing((uv_handle_t *)s->peers[i]))
      uv_close((uv_handle_t *)s->peers[i], peer_closed);
  uv_close((uv_handle_t *)&s->tcp, srv_closed);
  while (s->port != 0 || s->npeers > 0)
    uv_run(&loop, UV_RUN_ONCE);
}

/* ---------- cases ---------- */

static int metric_connections(uint64_t *out) {
  char u[512];
  url(u, sizeof(u), "/metrics");
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_client_opts o = {.url = u};
  struct tg_err err;
  int status;
  char *body;
  size_t len;
  int rc = tg_client_fetch(&tls, &o, &status, &body, &len, &err);
  if (rc != 0) {
    diag("fetch /metrics: %s", tg_err_msg(&err, rc));
    return -1;
  }
  const char *p = strstr(body, "\ntsunagu_connections_total ");
  rc = p ? 0 : -1;
  if (p)
    *out = strtoull(p + strlen("\ntsunagu_connections_total "), NULL, 10);
  free(body);
  return rc;
}

/* N concurrent GETs of /healthz; returns how many completed with 200. */
static int healthz_wave(struct tg_client *c, int n) {
  struct rq *q = calloc((size_t)n, sizeof(*q));
  int done = 0, good = 0, told = 0;
  char u[512];
  url(u, sizeof(u), "/healthz");
  struct tg_client_opts o = {.url = u};
  for (int i = 0; i < n; i++) {
    rq_init(&q[i]);
    q[i].counter = &done;
    if (rq_start(c, &q[i], &o) != 0)
      done++;
  }
  run_until(&done, n, 30000);
  for (int i = 0; i < n; i++) {
    if (q[i].done == 1 && q[i].rc == 0 && q[i].status == 200 && q[i].heads == 1 && !q[i].bad)
      good++;
    else if (told++ < 3) /* say why, for the first few failures */
      diag("healthz %d: done %d rc %d status %d: %s", i, q[i].done, q[i].rc, q[i].status,
           q[i].err.msg);
    rq_close(&q[i]);
  }
  run_for(1);
  free(q);
  return good;
}

static void case_concurrent(struct tg_client *c) {
  uint64_t m0 = 0, m1 = 0, m2 = 0;
  int ok0 = metric_connections(&m0) == 0;
  int good = healthz_wave(c, 100);
  tap(good == 100, "100 concurrent GET /healthz complete with 200 (%d did)", good);
  int ok1 = metric_connections(&m1) == 0;
  uint64_t used1 = m1 - m0 - 1; /* the second /metrics fetch is one connection */
  tap(ok0 && ok1 && used1 >= 1 && used1 <= 64, "the wave used 1..64 connections (%llu)",
      (unsigned long long)used1);
  good = healthz_wave(c, 50);
  int ok2 = metric_connections(&m2) == 0;
  uint64_t used2 = m2 - m1 - 1;
  tap(good == 50 && ok2 && used2 == 0, "a second wave of 50 reuses the kept connections (%llu new)",
      (unsigned long long)used2);
}

static void case_download(struct tg_client *c, uint64_t n, int chunked, int pause_every) {
  char path[128], u[512];
  snprintf(path, sizeof(path), "/api/v1/debug/stream?bytes=%llu%s", (unsigned long long)n,
           chunked ? "&chunked=1" : "");
  url(u, sizeof(u), path);
  struct tg_client_opts o = {.url = u, .timeout_ms = 120000};
  struct rq q;
  rq_init(&q);
  q.expect_x = 1;
  q.pause_every = pause_every;
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 150000);
  tap(q.done == 1 && q.rc == 0 && q.status == 200 && q.got == n && q.bad == 0 && q.pauses > 10,
      "GET %llu bytes%s with %d pauses: rc %d status %d got %llu, %d violations",
      (unsigned long long)n, chunked ? " (chunked)" : "", q.pauses, q.rc, q.status,
      (unsigned long long)q.got, q.bad);
  if (q.rc)
    diag("%s", q.err.msg);
  rq_close(&q);
}

static void case_echo(struct tg_client *c, uint64_t n) {
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/echo");
  const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
  struct tg_client_opts o = {.method = "POST", .url = u, .headers = hdrs, .stream_body = 1,
                             .timeout_ms = 120000};
  struct rq q;
  rq_init(&q);
  q.expect_pattern = 1;
  q.up_total = n;
  q.up_pause_every = 5;
  q.pause_every = 7;
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 150000);
  tap(q.done == 1 && q.rc == 0 && q.status == 200 && q.up_sent == n && q.got == n && !q.bad,
      "streamed POST of %llu bytes with %d pauses echoes them back: rc %d, sent %llu, got %llu, "
      "%d violations",
      (unsigned long long)n, q.pauses, q.rc, (unsigned long long)q.up_sent,
      (unsigned long long)q.got, q.bad);
  if (q.rc)
    diag("%s", q.err.msg);
  rq_close(&q);
}

static void case_fixed_post(struct tg_client *c) {
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/echo");
  size_t n = 100000;
  char *body = malloc(n);
  for (size_t i = 0; i < n; i++)
    body[i] = (char)pattern_byte(i);
  struct tg_client_opts o = {.method = "POST", .url = u, .body = body, .body_len = n,
                             .timeout_ms = 10000};
  struct rq q;
  rq_init(&q);
  q.expect_pattern = 1;
  int st = rq_start(c, &q, &o);
  free(body); /* tg_client copies a fixed body (ASan would see a borrowed one) */
  if (st == 0)
    run_until(&q.done, 1, 30000);
  tap(q.done == 1 && q.rc == 0 && q.status == 200 && q.got == n && !q.bad && q.saw_ctype,
      "POST with a fixed body of %zu bytes echoes it (got %llu, rc %d)", n,
      (unsigned long long)q.got, q.rc);
  rq_close(&q);
}

/* A POST without a body must still be a POST (curl on its own would send GET). */
static void case_empty_post(struct tg_client *c) {
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/sink");
  struct tg_client_opts o = {.method = "POST", .url = u, .timeout_ms = 10000};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 30000);
  tap(q.done == 1 && q.rc == 0 && q.status == 200,
      "POST without a body is sent as POST (status %d; GET would be 405)", q.status);
  rq_close(&q);
}

static void case_deadline(struct tg_client *c, const char *scheme) {
  struct srv s;
  char u[256];
  if (srv_start(&s, NULL) != 0) {
    tap(0, "silent server");
    return;
  }
  snprintf(u, sizeof(u), "%s://127.0.0.1:%d/never", scheme, s.port);
  struct tg_client_opts o = {.url = u, .timeout_ms = 400};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  uint64_t took = q.t_done - q.t0;
  tap(q.done == 1 && q.rc == TG_ETIMEDOUT && took >= 380 && took <= 2400 &&
          strstr(q.err.msg, "deadline") != NULL,
      "%s deadline of 400 ms against a silent server: rc %d after %llu ms (%s)", scheme, q.rc,
      (unsigned long long)took, q.err.msg);
  rq_close(&q);
  srv_stop(&s);
  run_for(1);
}

static void case_refused(struct tg_client *c) {
  struct srv s;
  char u[256];
  if (srv_start(&s, NULL) != 0) {
    tap(0, "server for a free port");
    return;
  }
  snprintf(u, sizeof(u), "http://127.0.0.1:%d/", s.port);
  srv_stop(&s); /* the port is now closed */
  run_for(1);
  struct tg_client_opts o = {.url = u, .timeout_ms = 5000};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == TG_EPEER && q.err.msg[0] != '\0',
      "connection refused gives TG_EPEER: rc %d (%s)", q.rc, q.err.msg);
  rq_close(&q);
}

static void case_wrong_ca(void) {
  struct tg_client_tls tls = {wrong_ca, NULL, NULL, NULL, NULL};
  struct tg_client *c;
  struct tg_err err;
  if (tg_client_new(&loop, &tls, &c, &err) != 0) {
    tap(0, "client with the wrong CA: %s", err.msg);
    return;
  }
  char u[512];
  url(u, sizeof(u), "/healthz");
  struct tg_client_opts o = {.url = u};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == TG_EPEER && q.heads == 0,
      "a server certificate from another CA gives TG_EPEER: rc %d (%s)", q.rc, q.err.msg);
  rq_close(&q);
  tg_client_free(c);
  run_for(1);
}

static void case_cut(struct tg_client *c, const char *reply, const char *what) {
  struct srv s;
  char u[256];
  if (srv_start(&s, reply) != 0) {
    tap(0, "cutting server");
    return;
  }
  snprintf(u, sizeof(u), "http://127.0.0.1:%d/cut", s.port);
  struct tg_client_opts o = {.url = u, .timeout_ms = 5000};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == TG_EPEER && q.got == 10,
      "%s: body cut after 10 bytes is not complete: rc %d, got %llu (%s)", what, q.rc,
      (unsigned long long)q.got, q.err.msg);
  rq_close(&q);
  srv_stop(&s);
  run_for(1);
}

static uint64_t cpu_ms(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000 +
         (uint64_t)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000;
}

/* A kept connection its server closes while it is idle in the pool: the
 * client's loop must not spin on the readable socket, and the next request
 * to that server still works. */
static void case_idle_close(struct tg_client *c) {
  struct srv s;
  if (srv_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") != 0) {
    tap(0, "keep-alive server");
    return;
  }
  s.keep = 1;
  char u[256];
  snprintf(u, sizeof(u), "http://127.0.0.1:%d/idle", s.port);
  struct tg_client_opts o = {.url = u, .timeout_ms = 5000};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  int first = q.done == 1 && q.rc == 0 && q.status == 200 && q.got == 2;
  rq_close(&q);
  run_for(20);
  int kept = s.npeers;
  for (int i = 0; i < s.npeers; i++) /* the server closes its side */
    if (!uv_is_closing((uv_handle_t *)s.peers[i]))
      uv_close((uv_handle_t *)s.peers[i], peer_closed);
  while (s.npeers > 0)
    uv_run(&loop, UV_RUN_ONCE);
  uint64_t t0 = cpu_ms();
  run_for(300);
  uint64_t used = cpu_ms() - t0;
  tap(first && kept == 1 && used < 100,
      "a kept connection closed by its server while idle: the loop used %llu ms of CPU in 300 ms "
      "(first answer %s, %d kept)",
      (unsigned long long)used, first ? "ok" : "bad", kept);
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == 0 && q.status == 200 && q.got == 2,
      "the next request to that server is answered: rc %d status %d got %llu (%s)", q.rc, q.status,
      (unsigned long long)q.got, q.err.msg);
  rq_close(&q);
  srv_stop(&s);
  run_for(1);
}

static void case_limits_and_aborts(struct tg_client *c) {
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/stream?bytes=100000");
  struct tg_client_opts o = {.url = u, .max_response = 50000};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == TG_ETOOBIG && q.got <= 50000,
      "max_response 50000 on a 100000-byte body gives TG_ETOOBIG: rc %d, got %llu", q.rc,
      (unsigned long long)q.got);
  rq_close(&q);

  o.max_response = 0;
  rq_init(&q);
  q.abort_data_rc = TG_ECANCELED;
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == TG_ECANCELED && q.spans == 1,
      "on_data returning TG_ECANCELED ends the request with it: rc %d after %d spans", q.rc,
      q.spans);
  rq_close(&q);

  rq_init(&q);
  q.abort_head_rc = TG_EPERM;
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == TG_EPERM && q.spans == 0 && q.status == 200,
      "on_head returning TG_EPERM ends the request with it: rc %d, status %d (%s)", q.rc,
      q.status, q.err.msg);
  rq_close(&q);
}

static void cancel_timer_cb(uv_timer_t *t) {
  struct rq *q = t->data;
  uv_timer_stop(&q->resume); /* no resume of a canceled request */
  if (!q->done)              /* after DONE the request is gone */
    tg_client_req_cancel(q->req);
}

static void case_cancel(struct tg_client *c) {
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/stream?bytes=52428800");
  struct tg_client_opts o = {.url = u, .timeout_ms = 60000};
  struct rq a, b, d;
  rq_init(&a);
  a.cancel_after = 1 << 20; /* from inside on_data */
  int started_a = rq_start(c, &a, &o) == 0;
  rq_init(&b); /* from a timer, while the transfer runs (slowed by pauses) */
  b.pause_every = 1;
  int started_b = rq_start(c, &b, &o) == 0;
  uv_timer_t bt;
  uv_timer_init(&loop, &bt);
  bt.data = &b;
  uv_timer_start(&bt, cancel_timer_cb, 100, 0);
  rq_init(&d); /* at once */
  int started_d = rq_start(c, &d, &o) == 0;
  tg_client_req_cancel(d.req);
  run_for(600);
  tap(started_a && started_b && started_d && a.done == 0 && b.done == 0 && d.done == 0 &&
          a.got >= (1u << 20) && b.got > 0 && d.got == 0,
      "canceled requests (in on_data, from a timer, at once) get no callback "
      "(done %d %d %d, got %llu %llu %llu)",
      a.done, b.done, d.done, (unsigned long long)a.got, (unsigned long long)b.got,
      (unsigned long long)d.got);
  uv_close((uv_handle_t *)&bt, NULL);
  rq_close(&a);
  rq_close(&b);
  rq_close(&d);
  int good = healthz_wave(c, 3);
  tap(good == 3, "the client still works after the cancels");
}

/* A request canceled while its connection is still being set up. libcurl
 * closes such a socket itself (no close callback) before it tells the
 * client to stop watching it; a client that then kept watching the closed
 * descriptor made libuv abort the process on the next loop turn (EBADF from
 * epoll_ctl). The listener's accept queue is full, so connects hang. */
static void case_cancel_connecting(struct tg_client *c) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  int fill[4], nfill = 0;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 0) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &alen) != 0) {
    tap(0, "a listener that never accepts");
    if (l >= 0)
      close(l);
    return;
  }
  for (; nfill < 4; nfill++) { /* fill the accept queue */
    fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fill[nfill] < 0)
      break;
    (void)connect(fill[nfill], (struct sockaddr *)&a, sizeof(a));
  }
  run_for(100);
  char u[128];
  snprintf(u, sizeof(u), "http://127.0.0.1:%d/", ntohs(a.sin_port));
  struct tg_client_opts o = {.url = u, .timeout_ms = 20000, .connect_timeout_ms = 20000};
  struct rq q[8];
  int started = 0;
  for (int i = 0; i < 8; i++) {
    rq_init(&q[i]);
    started += rq_start(c, &q[i], &o) == 0;
  }
  run_for(200); /* the connects are under way: curl watches them for writing */
  int pending = 0;
  for (int i = 0; i < 8; i++) {
    pending += q[i].done == 0;
    if (q[i].done == 0)
      tg_client_req_cancel(q[i].req);
  }
  run_for(100); /* the process is still here after this */
  tap(started == 8 && pending == 8,
      "requests canceled while connecting: %d started, %d still connecting when canceled",
      started, pending);
  for (int i = 0; i < 8; i++)
    rq_close(&q[i]);
  for (int i = 0; i < nfill; i++)
    close(fill[i]);
  close(l);
  int good = healthz_wave(c, 3);
  tap(good == 3, "the client still works after canceling connects");
}

static void case_fetch(void) {
  char u[512];
  url(u, sizeof(u), "/healthz");
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_client_opts o = {.url = u};
  struct tg_err err;
  int status;
  char *body = NULL;
  size_t len = 0;
  int rc = tg_client_fetch(&tls, &o, &status, &body, &len, &err);
  tap(rc == 0 && status == 200 && body != NULL && len > 0 && strlen(body) == len,
      "tg_client_fetch GET /healthz: rc %d status %d, %zu bytes", rc, status, len);
  free(body);

  url(u, sizeof(u), "/api/v1/debug/stream?bytes=100000");
  o.max_response = 1000;
  rc = tg_client_fetch(&tls, &o, &status, &body, &len, &err);
  tap(rc == TG_ETOOBIG && body == NULL, "tg_client_fetch past max_response: rc %d", rc);

  o.max_response = 0;
  struct tg_client_tls bad = {wrong_ca, NULL, NULL, NULL, NULL};
  rc = tg_client_fetch(&bad, &o, &status, &body, &len, &err);
  tap(rc == TG_EPEER && body == NULL, "tg_client_fetch with the wrong CA: rc %d (%s)", rc,
      tg_err_msg(&err, rc));

  /* peer_node_id: the server's certificate must name that node ("cl", the
   * node client.sh starts). */
  const char *id = "cl";
  url(u, sizeof(u), "/healthz");
  struct tg_client_tls pinned = {ca_file, NULL, NULL, NULL, id};
  rc = tg_client_fetch(&pinned, &o, &status, &body, &len, &err);
  tap(id[0] && rc == 0 && status == 200, "tg_client_fetch pinned to the server's node id (%s): rc %d",
      id, rc);
  free(body);
  body = NULL;
  struct tg_client_tls other = {ca_file, NULL, NULL, NULL, "some-other-node"};
  rc = tg_client_fetch(&other, &o, &status, &body, &len, &err);
  tap(rc == TG_EPEER && body == NULL, "pinned to another node id it is refused: rc %d (%s)", rc,
      tg_err_msg(&err, rc));
}

/* A client freed with requests in flight calls none of their callbacks. */
static void case_free_in_flight(void) {
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_client *c;
  struct tg_err err;
  struct srv s;
  if (tg_client_new(&loop, &tls, &c, &err) != 0 || srv_start(&s, NULL) != 0) {
    tap(0, "client and silent server");
    return;
  }
  char u1[512], u2[256];
  url(u1, sizeof(u1), "/api/v1/debug/stream?bytes=52428800");
  snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/", s.port);
  struct tg_client_opts o1 = {.url = u1}, o2 = {.url = u2};
  struct rq a, b;
  rq_init(&a);
  rq_init(&b);
  a.pause_every = 1; /* slow enough to be in flight still */
  int st = rq_start(c, &a, &o1) == 0 && rq_start(c, &b, &o2) == 0;
  run_for(150);
  tg_client_free(c);
  uv_timer_stop(&a.resume); /* its requests are gone */
  run_for(200);
  tap(st && a.got > 0 && a.done == 0 && b.done == 0,
      "tg_client_free with requests in flight calls no callback (got %llu)",
      (unsigned long long)a.got);
  rq_close(&a);
  rq_close(&b);
  srv_stop(&s);
  run_for(1);
}

static struct tg_client *self_freeing;

static void free_on_done(void *ud, int rc, int status, const struct tg_err *err) {
  on_done(ud, rc, status, err);
  tg_client_free(self_freeing);
}

/* DONE may free the client. */
static void case_free_in_done(void) {
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_err err;
  if (tg_client_new(&loop, &tls, &self_freeing, &err) != 0) {
    tap(0, "client");
    return;
  }
  char u[512];
  url(u, sizeof(u), "/healthz");
  struct tg_client_opts o = {.url = u};
  struct tg_client_cb cb = rq_cb;
  cb.on_done = free_on_done;
  struct rq a, b;
  rq_init(&a);
  rq_init(&b);
  int st = tg_client_request(self_freeing, &o, &cb, &a, &a.req, &err) == 0 &&
           tg_client_request(self_freeing, &o, &cb, &b, &b.req, &err) == 0;
  int one = 0;
  a.counter = b.counter = &one;
  run_until(&one, 1, 10000);
  run_for(100);
  tap(st && a.done + b.done == 1, "a DONE callback may free its client (%d callbacks)",
      a.done + b.done);
  rq_close(&a);
  rq_close(&b);
}

static struct tg_client *chain_client;
static struct rq chained;

/* Starts a second request from inside the first one's on_head. */
static int chain_on_head(void *ud, int status, const char *const *h) {
  char u[512];
  url(u, sizeof(u), "/healthz");
  struct tg_client_opts o = {.url = u};
  if (rq_start(chain_client, &chained, &o) != 0)
    chained.bad++;
  return on_head(ud, status, h);
}

static void case_chain(struct tg_client *c) {
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/stream?bytes=1000");
  struct tg_client_opts o = {.url = u};
  struct tg_client_cb cb = rq_cb;
  cb.on_head = chain_on_head;
  struct rq q;
  struct tg_err err;
  rq_init(&q);
  rq_init(&chained);
  chain_client = c;
  int st = tg_client_request(c, &o, &cb, &q, &q.req, &err) == 0;
  run_until(&q.done, 1, 10000);
  run_until(&chained.done, 1, 10000);
  tap(st && q.rc == 0 && q.got == 1000 && chained.done == 1 && chained.rc == 0 &&
          chained.status == 200 && !chained.bad,
      "a request started from inside on_head completes (rc %d, status %d)", chained.rc,
      chained.status);
  rq_close(&q);
  rq_close(&chained);
}

static struct tg_client *freed_in_data;

static int free_on_data(void *ud, const char *d, size_t n) {
  struct rq *q = ud;
  (void)d;
  q->got += n;
  tg_client_free(freed_in_data);
  return 0;
}

/* on_data may free the client: the teardown waits until curl has returned. */
static void case_free_in_data(void) {
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_err err;
  if (tg_client_new(&loop, &tls, &freed_in_data, &err) != 0) {
    tap(0, "client");
    return;
  }
  char u[512];
  url(u, sizeof(u), "/api/v1/debug/stream?bytes=10000000");
  struct tg_client_opts o = {.url = u};
  struct tg_client_cb cb = rq_cb;
  cb.on_data = free_on_data;
  struct rq q;
  rq_init(&q);
  int st = tg_client_request(freed_in_data, &o, &cb, &q, &q.req, &err) == 0;
  uint64_t one = 0;
  while (q.got == 0 && one++ < 100)
    run_for(20);
  run_for(100);
  tap(st && q.got > 0 && q.got < 10000000 && q.done == 0,
      "on_data may free its client: no DONE, transfer stopped (got %llu)",
      (unsigned long long)q.got);
  rq_close(&q);
}

/* GET PATH with a fresh client using TLS; fills Q. */
static void get_with(const struct tg_client_tls *tls, const char *path, struct rq *q) {
  struct tg_client *c;
  struct tg_err err;
  rq_init(q);
  if (tg_client_new(&loop, tls, &c, &err) != 0) {
    q->err = err;
    q->rc = 1;
    return;
  }
  char u[512];
  url(u, sizeof(u), path);
  struct tg_client_opts o = {.url = u};
  if (rq_start(c, q, &o) == 0)
    run_until(&q->done, 1, 10000);
  tg_client_free(c);
  run_for(1);
}

static void case_mtls_and_crl(struct tg_client *c) {
  struct tg_client_tls mtls = {ca_file, client_cert, client_key, NULL, NULL};
  struct rq q;
  get_with(&mtls, "/api/v1/peer/whoami", &q);
  tap(q.done == 1 && q.rc == 0 && q.status == 200 && strstr(q.body, "peer1") != NULL,
      "with a client certificate the node sees who we are: status %d, %s", q.status, q.body);
  rq_close(&q);

  char u[512];
  url(u, sizeof(u), "/api/v1/peer/whoami");
  struct tg_client_opts o = {.url = u};
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == 0 && (q.status == 401 || q.status == 403),
      "without one the peer route refuses: status %d", q.status);
  rq_close(&q);

  struct tg_client_opts fo = {.url = u};
  int status = 0;
  char *body = NULL;
  size_t len;
  struct tg_err err;
  int rc = tg_client_fetch(&mtls, &fo, &status, &body, &len, &err);
  tap(rc == 0 && status == 200 && body && strstr(body, "peer1"),
      "tg_client_fetch presents the client certificate too: rc %d, status %d", rc, status);
  free(body);

  struct tg_client_tls crl_ok = {ca_file, NULL, NULL, empty_crl, NULL};
  get_with(&crl_ok, "/healthz", &q);
  tap(q.done == 1 && q.rc == 0 && q.status == 200,
      "a CRL that does not list the node's certificate: rc %d status %d (%s)", q.rc, q.status,
      q.err.msg);
  rq_close(&q);

  struct tg_client_tls crl_rev = {ca_file, NULL, NULL, revoking_crl, NULL};
  get_with(&crl_rev, "/healthz", &q);
  tap(q.done == 1 && q.rc == TG_EPEER && q.heads == 0,
      "a CRL that revokes the node's certificate gives TG_EPEER: rc %d (%s)", q.rc, q.err.msg);
  rq_close(&q);
}

static struct tg_client_peer seen_peer;
static int seen_peers;

static void on_peer(void *ud, const struct tg_client_peer *p) {
  (void)ud;
  seen_peer = *p;
  seen_peers++;
}

/* One request pinned to ID on C (the shared client: its connection to the
 * node may be reused); returns its rc. */
static int pinned_get(struct tg_client *c, const char *id, int fresh, struct rq *q) {
  char u[512];
  url(u, sizeof(u), "/healthz");
  struct tg_client_opts o = {
      .url = u, .peer_node_id = id, .fresh_connection = fresh, .on_peer = on_peer};
  rq_init(q);
  if (tg_client_request(c, &o, &rq_cb, q, &q->req, &q->err) == 0)
    run_until(&q->done, 1, 10000);
  return q->done == 1 ? q->rc : 1;
}

/* Per-request node ids on one client: right, wrong (on a connection that
 * was verified for the right one and kept alive), right again, fresh. */
static void case_pin_per_request(struct tg_client *c) {
  struct rq q;
  seen_peers = 0;
  int rc = pinned_get(c, "cl", 0, &q);
  tap(rc == 0 && q.status == 200 && seen_peers == 1 && strcmp(seen_peer.node_id, "cl") == 0 &&
          strlen(seen_peer.fingerprint) == 64 && seen_peer.not_after > 0,
      "a request pinned to the server's node id passes, on_peer sees it: rc %d node '%s'", rc,
      seen_peer.node_id);
  rq_close(&q);
  rc = pinned_get(c, "peer2", 0, &q);
  tap(rc == TG_EPEER && q.heads == 0 && strstr(q.err.msg, "is node 'cl', not 'peer2'") != NULL,
      "the same client pinned to another node id for one request: TG_EPEER (%s)", q.err.msg);
  rq_close(&q);
  rc = pinned_get(c, "cl", 0, &q);
  tap(rc == 0 && q.status == 200, "and pinned to the right one again it passes: rc %d", rc);
  rq_close(&q);
  rc = pinned_get(c, "peer2", 1, &q);
  tap(rc == TG_EPEER && seen_peers == 4 && strcmp(seen_peer.node_id, "cl") == 0,
      "on a fresh connection too: rc %d (%s)", rc, q.err.msg);
  rq_close(&q);
}

/* ---------- tg_periodic ---------- */

struct per {
  int ticks, bodies, fails, last_rc, last_status;
  uint64_t t_body[4], t_fail[4];
  size_t len;
};

static int per_tick(void *ud) {
  ((struct per *)ud)->ticks++;
  return 1;
}

static int per_body(void *ud, const char *b, size_t n) {
  struct per *p = ud;
  (void)b;
  if (p->bodies < 4)
    p->t_body[p->bodies] = uv_now(&loop);
  p->bodies++;
  p->len = n;
  return 0;
}

static void per_fail(void *ud, int rc, int status, const struct tg_err *err) {
  struct per *p = ud;
  (void)err;
  if (p->fails < 4)
    p->t_fail[p->fails] = uv_now(&loop);
  p->fails++;
  p->last_rc = rc;
  p->last_status = status;
}

/* A fetcher of /healthz every 150 ms (kicked at once), one of a closed port
 * retried every 100 ms (period 10 s), one of a 404 with on_tick; then stops
 * with no callback afterwards. */
static void case_periodic(void) {
  static const struct tg_periodic_cb cb = {.on_body = per_body, .on_fail = per_fail};
  static const struct tg_periodic_cb tcb = {
      .on_tick = per_tick, .on_body = per_body, .on_fail = per_fail};
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_periodic *ok = NULL, *bad = NULL, *nf = NULL;
  struct per a = {0}, b = {0}, n = {0};
  struct tg_err err;
  struct srv s;
  char u[512], closed_url[256], nf_url[512];
  url(u, sizeof(u), "/healthz");
  url(nf_url, sizeof(nf_url), "/no/such/thing");
  if (srv_start(&s, NULL) != 0) {
    tap(0, "server for a free port");
    return;
  }
  snprintf(closed_url, sizeof(closed_url), "http://127.0.0.1:%d/", s.port);
  srv_stop(&s);
  struct tg_periodic_opts oa = {.url = u, .period_ms = 150, .retry_ms = 10000};
  struct tg_periodic_opts ob = {.url = closed_url, .period_ms = 10000, .retry_ms = 100};
  struct tg_periodic_opts on = {.url = nf_url, .period_ms = 10000, .retry_ms = 10000};
  int st = tg_periodic_new(&loop, &cb, &a, &ok, &err) == 0 &&
           tg_periodic_new(&loop, &cb, &b, &bad, &err) == 0 &&
           tg_periodic_new(&loop, &tcb, &n, &nf, &err) == 0 &&
           tg_periodic_configure(ok, &tls, &oa, &err) == 0 &&
           tg_periodic_configure(bad, &tls, &ob, &err) == 0 &&
           tg_periodic_configure(nf, &tls, &on, &err) == 0;
  tg_periodic_kick(ok);
  tg_periodic_kick(bad);
  tg_periodic_kick(nf);
  tg_periodic_kick(nf); /* in flight: no second fetch */
  run_until(&a.bodies, 3, 5000);
  run_until(&b.fails, 3, 5000);
  run_until(&n.fails, 1, 5000);
  tap(st && a.bodies >= 3 && a.fails == 0 && a.len > 0 && a.t_body[2] - a.t_body[1] >= 140,
      "tg_periodic fetches at once and then each period (%d bodies, %llu ms apart)", a.bodies,
      (unsigned long long)(a.t_body[2] - a.t_body[1]));
  tap(b.bodies == 0 && b.fails >= 3 && b.last_rc == TG_EPEER && b.t_fail[2] - b.t_fail[1] >= 90 &&
          b.t_fail[2] - b.t_fail[1] < 5000,
      "a failing fetch comes back after the retry delay, not the period (%d fails, rc %d)",
      b.fails, b.last_rc);
  tap(n.ticks == 1 && n.fails == 1 && n.last_rc == 0 && n.last_status == 404 && n.bodies == 0,
      "on_tick runs before each fetch, a kick during a fetch is dropped, a 404 is a failure "
      "(%d ticks, status %d)", n.ticks, n.last_status);
  tg_periodic_stop(ok);
  tg_periodic_stop(bad);
  tg_periodic_stop(nf);
  int ab = a.bodies, bf = b.fails;
  run_for(400);
  tap(a.bodies == ab && b.fails == bf, "after tg_periodic_stop no callback runs");
}

/* Other methods reach the node as themselves (the routes answer 405). */
static void case_methods(struct tg_client *c) {
  char u1[512], u2[512];
  url(u1, sizeof(u1), "/api/v1/debug/echo");
  url(u2, sizeof(u2), "/healthz");
  struct tg_client_opts put = {.method = "PUT", .url = u1, .body = "abc", .body_len = 3};
  struct tg_client_opts del = {.method = "DELETE", .url = u2};
  struct tg_client_opts head = {.method = "HEAD", .url = u2};
  struct rq a, b, h;
  rq_init(&a);
  rq_init(&b);
  rq_init(&h);
  int done = 0;
  a.counter = b.counter = h.counter = &done;
  int st = rq_start(c, &a, &put) == 0 && rq_start(c, &b, &del) == 0 && rq_start(c, &h, &head) == 0;
  run_until(&done, 3, 10000);
  tap(st && a.rc == 0 && a.status == 405 && b.rc == 0 && b.status == 405 && h.rc == 0 &&
          h.status == 200 && h.got == 0,
      "PUT with a body and DELETE are sent as such (status %d, %d); HEAD gets no body (%d, %llu)",
      a.status, b.status, h.status, (unsigned long long)h.got);
  rq_close(&a);
  rq_close(&b);
  rq_close(&h);
}

/* A host name goes through curl's resolver (a thread): still nothing blocks. */
static void case_hostname(struct tg_client *c) {
  const char *ip = strstr(base_url, "127.0.0.1");
  if (ip == NULL) {
    tap(1, "# SKIP base URL has no 127.0.0.1");
    return;
  }
  char u[512];
  snprintf(u, sizeof(u), "%.*slocalhost%s/healthz", (int)(ip - base_url), base_url, ip + 9);
  struct tg_client_opts o = {.url = u};
  struct rq q;
  rq_init(&q);
  if (rq_start(c, &q, &o) == 0)
    run_until(&q.done, 1, 10000);
  tap(q.done == 1 && q.rc == 0 && q.status == 200, "GET %s: rc %d status %d %s", u, q.rc,
      q.status, q.err.msg);
  rq_close(&q);
}

static void case_bad_args(struct tg_client *c) {
  struct tg_client_opts o = {.url = "ftp://127.0.0.1/x"};
  struct rq q;
  rq_init(&q);
  int rc1 = tg_client_request(c, &o, &rq_cb, &q, &q.req, &q.err);
  o.url = "http://127.0.0.1/x";
  o.stream_body = 1;
  struct tg_client_cb nocb = rq_cb;
  nocb.read_body = NULL;
  int rc2 = tg_client_request(c, &o, &nocb, &q, &q.req, &q.err);
  run_for(20);
  tap(rc1 == TG_EINVAL && rc2 == TG_EINVAL && q.done == 0,
      "bad scheme and stream_body without read_body fail at once, with no callback");
  rq_close(&q);
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 8) {
    fprintf(stderr,
            "usage: %s BASE_URL CA_FILE WRONG_CA_FILE [CERT KEY EMPTY_CRL REVOKING_CRL]\n",
            argv[0]);
    return 2;
  }
  base_url = argv[1];
  ca_file = argv[2];
  wrong_ca = argv[3];
  if (argc == 8) {
    client_cert = argv[4];
    client_key = argv[5];
    empty_crl = argv[6];
    revoking_crl = argv[7];
  }
  uv_loop_init(&loop);
  uv_timer_init(&loop, &watchdog);
  struct tg_client_tls tls = {ca_file, NULL, NULL, NULL, NULL};
  struct tg_client *c;
  struct tg_err err;
  if (tg_client_new(&loop, &tls, &c, &err) != 0) {
    printf("Bail out! tg_client_new: %s\n", err.msg);
    return 1;
  }
  case_concurrent(c);
  case_download(c, 50u * 1024 * 1024, 0, 4);
  case_download(c, 5u * 1024 * 1024 + 17, 1, 3);
  case_echo(c, 8u * 1024 * 1024 + 3);
  case_deadline(c, "http");
  case_deadline(c, "https");
  case_refused(c);
  case_wrong_ca();
  case_cut(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789", "Content-Length");
  case_cut(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n",
           "chunked");
  case_idle_close(c);
  case_limits_and_aborts(c);
  case_cancel(c);
  case_cancel_connecting(c);
  case_fetch();
  case_free_in_flight();
  case_free_in_done();
  case_free_in_data();
  case_chain(c);
  case_bad_args(c);
  case_hostname(c);
  case_methods(c);
  case_pin_per_request(c);
  case_periodic();
  if (client_cert != NULL)
    case_mtls_and_crl(c);
  case_empty_post(c);
  case_fixed_post(c); /* last: a node that hangs on it would fail the cases after it */

  tg_client_free(c);
  uv_close((uv_handle_t *)&watchdog, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop);
  tap(rc == 0, "the loop closes cleanly (uv_loop_close: %s)", rc ? uv_strerror(rc) : "0");
  printf("1..%d\n", n_tests);
  return n_failed ? 1 : 0;
}
