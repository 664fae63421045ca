/* tg_fed_check: checking peers over mutual TLS on a worker's loop with the
 * async client (no thread, no blocking socket): one check, a round of checks
 * of every peer recorded in the peers table, and the periodic round. */
#include "tg_client.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_peers.h"
#include "tg_settings.h"
#include "tg_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TG__CHECK_TIMEOUT_MS 5000u
#define TG__WHOAMI_MAX (64u * 1024)
#define TG__PERIODIC_IDLE_MS 60000u /* how often an off peer_check is looked at again */

/* ---------- one check ---------- */

static void check_fail(struct tg_fed_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void check_fail(struct tg_fed_check *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error, sizeof(c->error), fmt, ap);
  va_end(ap);
}

static void check_on_peer(void *ud, const struct tg_client_peer *p) {
  struct tg_fed_check *c = ud;
  c->seen = 1;
  c->not_after = p->not_after;
  snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", p->fingerprint);
  snprintf(c->serial, sizeof(c->serial), "%s", p->serial);
  snprintf(c->cert_node, sizeof(c->cert_node), "%s", p->node_id);
}

static int check_on_data(void *ud, const char *data, size_t len) {
  struct tg_fed_check *c = ud;
  return tg_buf_append(&c->body, data, len) == 0 ? 0 : TG_ENOMEM;
}

/* Why a check that got no answer failed (RC, ERR from the client). */
static void check_why(struct tg_fed_check *c, int rc, const struct tg_err *err) {
  if (c->seen && c->cert_node[0] == '\0')
    check_fail(c, "the certificate at %s names no node", c->url);
  else if (c->seen && strcmp(c->cert_node, c->node_id) != 0)
    check_fail(c, "the certificate at %s is node '%s', not '%s'", c->url, c->cert_node,
               c->node_id);
  else if (!c->seen)
    check_fail(c, "cannot connect to %s: %s", c->url, tg_err_msg(err, rc));
  else
    check_fail(c, "the peer did not answer: %s", tg_err_msg(err, rc));
}

/* Judges the whoami answer (STATUS, the body in C->body). */
static void check_answer(struct tg_fed_check *c, int status) {
  json_t *j = json_loadb(c->body.data ? c->body.data : "", c->body.len, 0, NULL);
  if (status != 200) {
    const char *d = json_string_value(json_object_get(j, "detail"));
    check_fail(c, "the peer refused us: %d %s", status, d ? d : "(no detail)");
  } else {
    const char *seen = json_string_value(json_object_get(j, "node_id"));
    if (seen == NULL || strcmp(seen, c->self_id) != 0)
      check_fail(c, "the peer saw us as '%s', not '%s'", seen ? seen : "(nobody)", c->self_id);
    else
      c->ok = 1;
  }
  json_decref(j);
}

static void check_on_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct tg_fed_check *c = ud;
  c->req = NULL;
  c->latency_ms = (int64_t)((uv_hrtime() - c->t0) / 1000000u);
  c->checked_at = tg_time_now();
  if (rc != 0)
    check_why(c, rc, err);
  else
    check_answer(c, status);
  tg_buf_close(&c->body);
  c->done(c, c->ud);
}

int tg_fed_check_start(struct tg_client *client, struct tg_fed_check *c,
                       void (*done)(struct tg_fed_check *c, void *ud), void *ud) {
  static const char *const hdrs[] = {"Accept: application/json", NULL};
  char url[600];
  struct tg_err err;
  c->ok = c->seen = 0;
  c->not_after = 0;
  c->fingerprint[0] = c->serial[0] = c->cert_node[0] = c->error[0] = '\0';
  c->t0 = uv_hrtime();
  c->checked_at = tg_time_now();
  c->done = done;
  c->ud = ud;
  tg_buf_init(&c->body);
  size_t ul = strlen(c->url);
  while (ul > 0 && c->url[ul - 1] == '/')
    ul--;
  snprintf(url, sizeof(url), "%.*s/api/v1/peer/whoami", (int)ul, c->url);
  if (strncmp(c->url, "https://", 8) != 0) {
    check_fail(c, "bad peer URL %s", c->url);
    return TG_EINVAL;
  }
  uint64_t ms = c->timeout_ms ? c->timeout_ms : TG__CHECK_TIMEOUT_MS;
  struct tg_client_opts o = {.url = url,
                             .headers = hdrs,
                             .timeout_ms = ms,
                             .connect_timeout_ms = ms,
                             .max_response = TG__WHOAMI_MAX,
                             .peer_node_id = c->node_id,
                             .fresh_connection = 1, /* the peer's state now, not a kept session */
                             .on_peer = check_on_peer};
  struct tg_client_cb cb = {.on_data = check_on_data, .on_done = check_on_done};
  int rc = tg_client_request(client, &o, &cb, c, &c->req, &err);
  if (rc != 0) {
    c->req = NULL;
    check_fail(c, "cannot start the check: %s", tg_err_msg(&err, rc));
  }
  return rc;
}

void tg_fed_check_cancel(struct tg_fed_check *c) {
  if (c == NULL || c->req == NULL)
    return;
  tg_client_req_cancel(c->req);
  c->req = NULL;
  tg_buf_close(&c->body);
}

int tg_fed_client_new(uv_loop_t *loop, const char *dir, struct tg_client **out,
                      struct tg_err *err) {
  struct tg_fed_tls t;
  *out = NULL;
  int rc = tg_fed_tls_paths(dir, &t);
  if (rc != 0)
    return tg_err_set(err, rc,
                      rc == TG_ENOENT ? "this node has no federation CA (ca.crt); register it first"
                                      : "the node directory's path is too long");
  struct tg_client_tls tls = {t.ca, t.cert, t.key, t.crl[0] ? t.crl : NULL, NULL};
  return tg_client_new(loop, &tls, out, err);
}

/* ---------- rounds and the periodic check ---------- */

struct tg_fed_round {
  struct tg_fed_worker *fw;
  struct tg_client *client; /* this round's: the TLS material as it is now */
  struct tg_fed_check *checks; /* N, from calloc */
  size_t n, pending;
  int starting;
  void (*done)(void *ud, const struct tg_fed_check *checks, size_t n);
  void *ud;
  struct tg_fed_round *prev, *next;
};

struct tg_fed_worker {
  uv_timer_t timer; /* the periodic check; first, as the worker's last-resort close frees it */
  uv_loop_t *loop;
  sqlite3 *db;
  struct tg_fed_round *rounds;  /* in flight */
  struct tg_fed_round *periodic; /* the periodic one in flight, or NULL */
};

static void round_unlink(struct tg_fed_round *r) {
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    r->fw->rounds = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
}

/* Every check ended: hands them on and frees R (the client may be inside
 * the last check's callback: freeing it from there is allowed). */
static void round_finish(struct tg_fed_round *r) {
  round_unlink(r);
  if (r->done != NULL)
    r->done(r->ud, r->checks, r->n);
  tg_client_free(r->client);
  free(r->checks);
  free(r);
}

static void round_check_done(struct tg_fed_check *c, void *ud) {
  struct tg_fed_round *r = ud;
  tg_fed_peers_record(r->fw->db, c, NULL);
  if (--r->pending == 0 && !r->starting)
    round_finish(r);
}

/* The round's checks from the peers list PEERS, for this node SELF_ID. */
static int round_fill(struct tg_fed_round *r, json_t *peers, const char *self_id) {
  r->n = json_array_size(peers);
  r->checks = calloc(r->n, sizeof(*r->checks));
  if (r->checks == NULL)
    return TG_ENOMEM;
  for (size_t i = 0; i < r->n; i++) {
    struct tg_fed_check *c = &r->checks[i];
    json_t *p = json_array_get(peers, i);
    snprintf(c->self_id, sizeof(c->self_id), "%s", self_id);
    snprintf(c->node_id, sizeof(c->node_id), "%s",
             json_string_value(json_object_get(p, "node_id")));
    snprintf(c->url, sizeof(c->url), "%s", json_string_value(json_object_get(p, "url")));
  }
  return 0;
}

static void round_launch(struct tg_fed_round *r) {
  r->starting = 1;
  r->pending = r->n;
  for (size_t i = 0; i < r->n; i++)
    if (tg_fed_check_start(r->client, &r->checks[i], round_check_done, r) != 0)
      round_check_done(&r->checks[i], r); /* its error is set */
  r->starting = 0;
}

int tg_fed_round_start(struct tg_fed_worker *fw,
                       void (*done)(void *ud, const struct tg_fed_check *checks, size_t n),
                       void *ud, struct tg_fed_round **out, struct tg_err *err) {
  struct tg_settings *s = tg_settings_get();
  json_t *peers = NULL;
  struct tg_client *client = NULL;
  struct tg_fed_round *r = NULL;
  *out = NULL;
  int rc = tg_fed_client_new(fw->loop, s->dir, &client, err);
  if (rc == 0)
    rc = tg_fed_peers_list(fw->db, &peers, err);
  if (rc == 0 && json_array_size(peers) > 0 &&
      ((r = calloc(1, sizeof(*r))) == NULL || round_fill(r, peers, s->node_id) != 0))
    rc = tg_err_set(err, TG_ENOMEM, "peer check: out of memory");
  tg_settings_put(s);
  json_decref(peers);
  if (rc != 0 || r == NULL) {
    tg_client_free(client);
    if (r != NULL)
      free(r->checks);
    free(r);
    if (rc == 0) /* no peers */
      done(ud, NULL, 0);
    return rc;
  }
  r->fw = fw;
  r->client = client;
  r->done = done;
  r->ud = ud;
  r->next = fw->rounds;
  if (fw->rounds != NULL)
    fw->rounds->prev = r;
  fw->rounds = r;
  round_launch(r);
  if (r->pending == 0) {
    round_finish(r); /* nothing could start */
    return 0;
  }
  *out = r;
  return 0;
}

void tg_fed_round_forget(struct tg_fed_round *r) {
  if (r != NULL)
    r->done = NULL;
}

static void periodic_done(void *ud, const struct tg_fed_check *checks, size_t n) {
  struct tg_fed_worker *fw = ud;
  (void)checks, (void)n;
  fw->periodic = NULL;
}

static uint64_t periodic_ms(void) {
  struct tg_settings *s = tg_settings_get();
  uint64_t ms = s->peer_check_ms;
  tg_settings_put(s);
  return ms;
}

/* The interval is read again each time: SIGHUP may change it. */
static void periodic_fire(uv_timer_t *t) {
  struct tg_fed_worker *fw = t->data;
  uint64_t ms = periodic_ms();
  if (ms > 0 && fw->periodic == NULL) { /* the last round may still run */
    struct tg_fed_round *r = NULL;
    if (tg_fed_round_start(fw, periodic_done, fw, &r, NULL) == 0 && r != NULL)
      fw->periodic = r;
  }
  uv_timer_start(t, periodic_fire, ms ? ms : TG__PERIODIC_IDLE_MS, 0);
}

int tg_fed_worker_new(uv_loop_t *loop, sqlite3 *db, struct tg_fed_worker **out,
                      struct tg_err *err) {
  struct tg_fed_worker *fw = calloc(1, sizeof(*fw));
  *out = NULL;
  if (fw == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  fw->loop = loop;
  fw->db = db;
  uv_timer_init(loop, &fw->timer);
  fw->timer.data = fw;
  uv_unref((uv_handle_t *)&fw->timer); /* never keeps a draining worker alive */
  *out = fw;
  return 0;
}

void tg_fed_worker_periodic_start(struct tg_fed_worker *fw) {
  uint64_t ms = periodic_ms();
  uv_timer_start(&fw->timer, periodic_fire, ms ? ms : TG__PERIODIC_IDLE_MS, 0);
}

/* Ends R now: its client goes (no callbacks), checks still running fail. */
static void round_abandon(struct tg_fed_round *r) {
  tg_client_free(r->client);
  r->client = NULL;
  for (size_t i = 0; i < r->n; i++) {
    struct tg_fed_check *c = &r->checks[i];
    if (c->req == NULL)
      continue;
    c->req = NULL; /* freed with the client */
    tg_buf_close(&c->body);
    snprintf(c->error, sizeof(c->error), "the node is stopping");
  }
  round_finish(r);
}

static void worker_closed(uv_handle_t *h) { free(h->data); }

void tg_fed_worker_free(struct tg_fed_worker *fw) {
  if (fw == NULL)
    return;
  uv_timer_stop(&fw->timer);
  while (fw->rounds != NULL)
    round_abandon(fw->rounds);
  fw->periodic = NULL;
  uv_close((uv_handle_t *)&fw->timer, worker_closed);
}
