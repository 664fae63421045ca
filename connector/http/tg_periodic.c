/* tg_periodic: one timer and one tg_client per fetcher; the timer is
 * single-shot and re-armed after each tick or fetch with the period or the
 * retry delay. */
#include "tg_periodic.h"

#include "tg_buf.h"
#include "tg_client.h"
#include "tg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tg_periodic {
  uv_timer_t timer; /* first: freed with P in its close callback */
  uv_loop_t *loop;
  struct tg_periodic_cb cb;
  void *ud;
  struct tg_client *client;  /* NULL without a URL */
  struct tg_client_req *req; /* the fetch in flight, or NULL */
  struct tg_buf body;
  char *url; /* from malloc, or NULL */
  char *method, *ctype; /* from malloc, or NULL */
  char *req_body;       /* from malloc, or NULL: tg_periodic_set_body */
  size_t req_body_len;
  struct tg_periodic_opts o;
  uint64_t last_ms;
};

static void tick(struct tg_periodic *p);
static void on_timer(uv_timer_t *t) { tick(t->data); }

static void arm(struct tg_periodic *p, uint64_t ms) {
  if (p->url == NULL && p->cb.on_tick == NULL)
    uv_timer_stop(&p->timer);
  else
    uv_timer_start(&p->timer, on_timer, ms, 0);
}

static uint64_t retry_ms(const struct tg_periodic *p) {
  return p->o.retry_ms ? p->o.retry_ms : p->o.period_ms;
}

static int on_data(void *ud, const char *data, size_t len) {
  struct tg_periodic *p = ud;
  return tg_buf_append(&p->body, data, len) == 0 ? 0 : TG_ENOMEM;
}

static void on_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct tg_periodic *p = ud;
  uint64_t next = p->o.period_ms;
  p->req = NULL;
  if (rc != 0 || status != (p->o.ok_status ? p->o.ok_status : 200)) {
    if (p->cb.on_fail != NULL)
      p->cb.on_fail(p->ud, rc, status, err);
    next = retry_ms(p);
  } else if (p->cb.on_body(p->ud, p->body.data ? p->body.data : "", p->body.len) < 0) {
    next = retry_ms(p);
  }
  tg_buf_reset(&p->body);
  arm(p, next);
}

/* Starts the fetch; 0, or a negative code after reporting it. */
static int fetch(struct tg_periodic *p) {
  char ct[300];
  const char *hdrs[] = {ct, NULL};
  snprintf(ct, sizeof(ct), "Content-Type: %s", p->ctype ? p->ctype : "");
  struct tg_client_opts o = {.method = p->method,
                             .url = p->url,
                             .headers = p->ctype ? hdrs : NULL,
                             .body = p->req_body,
                             .body_len = p->req_body_len,
                             .timeout_ms = p->o.timeout_ms,
                             .max_response = p->o.max_response};
  struct tg_client_cb cb = {.on_data = on_data, .on_done = on_done};
  struct tg_err err;
  tg_err_clear(&err);
  tg_buf_reset(&p->body);
  p->last_ms = uv_now(p->loop);
  int rc = tg_client_request(p->client, &o, &cb, p, &p->req, &err);
  if (rc != 0) {
    p->req = NULL;
    if (p->cb.on_fail != NULL)
      p->cb.on_fail(p->ud, rc, 0, &err);
  }
  return rc;
}

static void tick(struct tg_periodic *p) {
  if (p->req != NULL)
    return;
  int want = p->cb.on_tick == NULL || p->cb.on_tick(p->ud);
  /* on_tick may have reconfigured P: read its fields only now. */
  if (!want || p->client == NULL || p->req != NULL) {
    arm(p, p->o.period_ms);
    return;
  }
  if (fetch(p) != 0)
    arm(p, retry_ms(p));
  /* else on_done re-arms */
}

int tg_periodic_new(uv_loop_t *loop, const struct tg_periodic_cb *cb, void *ud,
                    struct tg_periodic **out, struct tg_err *err) {
  struct tg_periodic *p = calloc(1, sizeof(*p));
  *out = NULL;
  if (p == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  p->loop = loop;
  p->cb = *cb;
  p->ud = ud;
  tg_buf_init(&p->body);
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  *out = p;
  return 0;
}

/* Drops the client, its fetch and the URL. */
static void unconfigure(struct tg_periodic *p) {
  tg_client_free(p->client); /* cancels a fetch in flight: no callback */
  p->client = NULL;
  p->req = NULL;
  free(p->url);
  p->url = NULL;
  free(p->method);
  free(p->ctype);
  p->method = p->ctype = NULL;
  tg_buf_reset(&p->body);
}

int tg_periodic_configure(struct tg_periodic *p, const struct tg_client_tls *tls,
                          const struct tg_periodic_opts *o, struct tg_err *err) {
  unconfigure(p);
  p->o = *o;
  p->o.url = p->o.method = p->o.content_type = NULL;
  uv_timer_stop(&p->timer);
  int rc = 0;
  if (o->url != NULL) {
    if ((p->url = strdup(o->url)) == NULL ||
        (o->method != NULL && (p->method = strdup(o->method)) == NULL) ||
        (o->content_type != NULL && (strlen(o->content_type) > 200 ||
                                     (p->ctype = strdup(o->content_type)) == NULL)))
      rc = tg_err_set(err, TG_ENOMEM, "out of memory or content type too long");
    else
      rc = tg_client_new(p->loop, tls, &p->client, err);
    if (rc != 0)
      unconfigure(p);
  }
  arm(p, p->o.period_ms);
  return rc;
}

int tg_periodic_set_body(struct tg_periodic *p, const char *body, size_t len, struct tg_err *err) {
  char *copy = NULL;
  if (p->req != NULL) /* the fetch in flight sends the old one */
    return tg_err_set(err, TG_EAGAIN, "a fetch is in flight");
  if (body != NULL && (copy = malloc(len + 1)) == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  if (copy != NULL) {
    memcpy(copy, body, len);
    copy[len] = '\0';
  }
  free(p->req_body);
  p->req_body = copy;
  p->req_body_len = copy ? len : 0;
  return 0;
}

void tg_periodic_kick(struct tg_periodic *p) {
  if (p != NULL)
    tick(p);
}

int tg_periodic_busy(const struct tg_periodic *p) { return p->req != NULL; }

uint64_t tg_periodic_last_ms(const struct tg_periodic *p) { return p->last_ms; }

static void closed(uv_handle_t *h) {
  struct tg_periodic *p = h->data;
  tg_buf_close(&p->body);
  free(p->req_body);
  free(p);
}

void tg_periodic_stop(struct tg_periodic *p) {
  if (p == NULL)
    return;
  unconfigure(p);
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, closed);
}
