/* tg_app: the application's callbacks to the HTTP engine (tg_http_server.h):
 * the routing table, authorization, metrics, the access log and the limits of
 * the current settings. */
#include "tg_app.h"
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_router.h"
#include "tg_routes.h"
#include "tg_settings.h"

#include <stddef.h>

/* The settings that hold LIM (every tg_http_limits the engine sees is one's). */
static const struct tg_settings *settings_of(const struct tg_http_limits *lim) {
  return (const struct tg_settings *)((const char *)lim - offsetof(struct tg_settings, http));
}

static const struct tg_http_limits *app_limits_get(void) { return &tg_settings_get()->http; }

static void app_limits_put(const struct tg_http_limits *lim) {
  tg_settings_put((struct tg_settings *)settings_of(lim));
}

static const void *app_match(struct tg_http_req *req, const char *method, const char *path,
                             int *allowed, const char **rest, struct tg_http_route_opts *opts) {
  const struct tg_route *r = tg_router_match(method, path, allowed, rest);
  if (r == NULL)
    return NULL;
  /* [limits] body_bytes.<route> sets a route's limit; otherwise body_bytes caps
   * every buffered body and streaming routes keep their own. */
  const struct tg_settings *s = settings_of(tg_http_req_limits(req));
  uint64_t limit = r->max_body;
  int ri = tg_router_index(r);
  if (ri >= 0 && ri < 128 && s->route_body[ri] > 0)
    limit = s->route_body[ri];
  else if (!r->stream_body && s->http.max_body_bytes < limit)
    limit = s->http.max_body_bytes;
  opts->max_body = limit;
  opts->stream_body = r->stream_body;
  opts->peer_only = r->peer_only;
  return r;
}

static int app_admit(struct tg_http_req *req, const void *route) {
  return tg_router_admit(req, route);
}

static void app_run(struct tg_http_req *req, const void *route) { tg_router_run(req, route); }

static void app_done(struct tg_http_req *req, const void *route, int status, uint64_t usec,
                     uint64_t bytes_in, uint64_t bytes_out) {
  tg_metrics_request(tg_router_index(route), status, usec, bytes_in, 0);
  const struct tg_settings *s = settings_of(tg_http_req_limits(req));
  if (!s->access_log)
    return;
  const char *peer = tg_http_req_peer(req), *subject = tg_http_req_subject(req);
  const char *path = tg_http_req_path(req);
  tg_log_info("access %s %s %s %s \"%s %s\" %d %llu %llu.%03llums", s->node_id,
              peer ? peer : "-", subject[0] ? subject : "-", tg_http_req_client(req),
              tg_http_req_method(req), path ? path : "-", status, (unsigned long long)bytes_out,
              (unsigned long long)(usec / 1000), (unsigned long long)(usec % 1000));
}

/* Every 5xx problem is logged with its detail: the client sees a short
 * answer, the operator must see what failed (a file that cannot be opened
 * names its path and the system's reason there). An upstream that failed
 * (502, 504) is a warning, the node's own failure an error. */
static const char *app_problem(struct tg_http_req *req, json_t *p) {
  int status = (int)json_integer_value(json_object_get(p, "status"));
  if (status >= 500) {
    const char *path = tg_http_req_path(req);
    tg_log(status == 502 || status == 504 ? TG_LOG_WARN : TG_LOG_ERROR, "%s %s: %d %s: %s",
           tg_http_req_method(req), path ? path : "-", status,
           json_string_value(json_object_get(p, "type")),
           json_string_value(json_object_get(p, "detail")));
  }
  return tg_route_dsp_problem(req, p);
}

static void app_io(uint64_t bytes_in, uint64_t bytes_out) {
  tg_metrics_request(-2, 0, 0, bytes_in, bytes_out);
}

const struct tg_http_app tg_app_http = {
    .limits_get = app_limits_get,
    .limits_put = app_limits_put,
    .generation = tg_settings_generation,
    .match = app_match,
    .admit = app_admit,
    .run = app_run,
    .done = app_done,
    .io = app_io,
    .conn = tg_metrics_conn,
    .refused = tg_metrics_conn_refused,
    .problem = app_problem,
};
