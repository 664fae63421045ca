/* tg_fed_fanout: parallel GETs to peers with one deadline (tg_fed_fanout.h).
 * The fan-out owns one timer: it fires at the deadline (cancelling what is
 * still in flight), or on the next loop turn once every answer is in, and
 * DONE is called from it, never from inside a client callback. */
#include "tg_fed_fanout.h"

#include "tg_buf.h"
#include "tg_client.h"
#include "tg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct one {
  struct tg_fed_fanout *f;
  struct tg_fed_ask *ask;
  struct tg_client_req *req; /* in flight, or NULL */
  struct tg_buf body;
};

struct tg_fed_fanout {
  uv_timer_t timer;
  struct tg_fed_ask *asks;
  struct one *ones;
  size_t n, pending;
  uint64_t t0;
  int canceled, called;
  tg_fed_fanout_done done;
  void *ud;
};

const char *tg_fed_ask_state_name(enum tg_fed_ask_state s) {
  switch (s) {
  case TG_FED_ASK_OK:
    return "ok";
  case TG_FED_ASK_REFUSED:
    return "refused";
  case TG_FED_ASK_ERROR:
    return "error";
  case TG_FED_ASK_TIMEOUT:
    return "timeout";
  default:
    return "pending";
  }
}

static void fanout_closed(uv_handle_t *h) {
  struct tg_fed_fanout *f = h->data;
  for (size_t i = 0; i < f->n; i++) {
    json_decref(f->asks[i].answer);
    tg_buf_close(&f->ones[i].body);
  }
  free(f->asks);
  free(f->ones);
  free(f);
}

static void cancel_pending(struct tg_fed_fanout *f) {
  for (size_t i = 0; i < f->n; i++)
    if (f->ones[i].req != NULL) {
      tg_client_req_cancel(f->ones[i].req);
      f->ones[i].req = NULL;
    }
}

static void fanout_fire(uv_timer_t *t) {
  struct tg_fed_fanout *f = t->data;
  uint64_t ms = (uv_hrtime() - f->t0) / 1000000;
  cancel_pending(f);
  for (size_t i = 0; i < f->n; i++)
    if (f->asks[i].state == TG_FED_ASK_PENDING) {
      f->asks[i].state = TG_FED_ASK_TIMEOUT;
      f->asks[i].ms = ms;
      snprintf(f->asks[i].error, sizeof(f->asks[i].error), "no answer within %llu ms",
               (unsigned long long)ms);
    }
  f->called = 1;
  f->done(f->ud, f->asks, f->n);
  uv_close((uv_handle_t *)&f->timer, fanout_closed);
}

static int one_data(void *ud, const char *data, size_t len) {
  struct one *o = ud;
  return tg_buf_append(&o->body, data, len);
}

static void one_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct one *o = ud;
  struct tg_fed_ask *a = o->ask;
  struct tg_fed_fanout *f = o->f;
  o->req = NULL;
  a->http_status = status;
  a->ms = (uv_hrtime() - f->t0) / 1000000;
  if (rc != 0) {
    a->state = rc == TG_ETIMEDOUT ? TG_FED_ASK_TIMEOUT : TG_FED_ASK_ERROR;
    snprintf(a->error, sizeof(a->error), "%s", tg_err_msg(err, rc));
  } else if (status == 401 || status == 403) {
    a->state = TG_FED_ASK_REFUSED;
    snprintf(a->error, sizeof(a->error), "the peer refused (HTTP %d)", status);
  } else if (status < 200 || status >= 300) {
    a->state = TG_FED_ASK_ERROR;
    snprintf(a->error, sizeof(a->error), "the peer answered HTTP %d", status);
  } else {
    json_error_t je;
    a->answer = json_loadb(o->body.data ? o->body.data : "", o->body.len, 0, &je);
    a->state = json_is_object(a->answer) ? TG_FED_ASK_OK : TG_FED_ASK_ERROR;
    if (a->state != TG_FED_ASK_OK) {
      json_decref(a->answer);
      a->answer = NULL;
      snprintf(a->error, sizeof(a->error), "the answer is not a JSON object");
    }
  }
  tg_buf_close(&o->body);
  if (--f->pending == 0 && !f->canceled)
    uv_timer_start(&f->timer, fanout_fire, 0, 0); /* DONE from the loop, not from here */
}

static int start_one(struct tg_fed_fanout *f, struct tg_client *client, struct one *o,
                     const char *path, const char *const *headers, uint64_t deadline_ms,
                     size_t max_body, struct tg_err *err) {
  struct tg_buf url;
  tg_buf_init(&url);
  if (client == NULL) {
    o->ask->state = TG_FED_ASK_ERROR;
    snprintf(o->ask->error, sizeof(o->ask->error), "this node has no federation certificate");
    return 0;
  }
  if (tg_buf_printf(&url, "%s%s", o->ask->url, path) != 0)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  struct tg_client_opts opts = {0};
  opts.url = url.data;
  opts.headers = headers;
  opts.timeout_ms = deadline_ms + 1000; /* the fan-out's timer decides; this is a backstop */
  opts.connect_timeout_ms = deadline_ms;
  opts.max_response = max_body;
  opts.peer_node_id = o->ask->node;
  static const struct tg_client_cb cb = {NULL, one_data, NULL, one_done};
  int rc = tg_client_request(client, &opts, &cb, o, &o->req, err);
  tg_buf_close(&url);
  if (rc != 0) {
    o->ask->state = TG_FED_ASK_ERROR;
    snprintf(o->ask->error, sizeof(o->ask->error), "%s", tg_err_msg(err, rc));
    return 0; /* that peer failed; the others go on */
  }
  f->pending++;
  return 0;
}

int tg_fed_fanout_start(uv_loop_t *loop, struct tg_client *client, const char *path,
                        const char *const *headers, const struct tg_fed_ask *asks, size_t n,
                        uint64_t deadline_ms, size_t max_body, tg_fed_fanout_done done, void *ud,
                        struct tg_fed_fanout **out, struct tg_err *err) {
  struct tg_fed_fanout *f = calloc(1, sizeof(*f));
  if (f == NULL || (n > 0 && ((f->asks = calloc(n, sizeof(*asks))) == NULL ||
                              (f->ones = calloc(n, sizeof(*f->ones))) == NULL))) {
    if (f != NULL) {
      free(f->asks);
      free(f);
    }
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  f->n = n;
  f->done = done;
  f->ud = ud;
  f->t0 = uv_hrtime();
  uv_timer_init(loop, &f->timer);
  f->timer.data = f;
  for (size_t i = 0; i < n; i++) {
    f->asks[i] = asks[i];
    f->asks[i].state = TG_FED_ASK_PENDING;
    f->asks[i].answer = NULL;
    f->ones[i].f = f;
    f->ones[i].ask = &f->asks[i];
    tg_buf_init(&f->ones[i].body);
    struct tg_err e1;
    tg_err_clear(&e1);
    start_one(f, client, &f->ones[i], path, headers, deadline_ms, max_body, &e1);
  }
  uv_timer_start(&f->timer, fanout_fire, f->pending == 0 ? 0 : deadline_ms, 0);
  *out = f;
  return 0;
}

void tg_fed_fanout_cancel(struct tg_fed_fanout *f) {
  if (f == NULL || f->canceled || f->called)
    return;
  f->canceled = 1;
  cancel_pending(f);
  uv_timer_stop(&f->timer);
  uv_close((uv_handle_t *)&f->timer, fanout_closed);
}
