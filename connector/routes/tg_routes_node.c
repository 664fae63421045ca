/* tg_routes_node: what every node serves about itself: /.well-known/tsunagu,
 * /healthz, /metrics, the peer identity check, and test-only streaming routes. */
#include "config.h"
#include "tg_buf.h"
#include "tg_node.h"
#include "tg_provlog.h"
#include "tg_routes.h"
#include "tg_metrics.h"
#include "tg_worker.h"
#include "tg_util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int tg_server_debug_routes(void);

/* The advertised URLs of the current settings generation, worked out once:
 * the bound address is read from tsunagud.addr, not on every request. */
static struct {
  pthread_mutex_t mu;
  uint64_t gen; /* 0: not worked out */
  char exact[600], guess[600];
} self = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int wildcard(const char *host) {
  return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || host[0] == '\0';
}

/* Fills self.exact and self.guess from S; 0, or a TG_E* code while
 * tsunagud.addr cannot be read or parsed (then nothing is kept). */
static int self_compute(const struct tg_settings *s) {
  char path[4200], host[256], name[256], *addr = NULL;
  int port = 0;
  self.exact[0] = self.guess[0] = '\0';
  if (s->url[0]) {
    snprintf(self.exact, sizeof(self.exact), "%s", s->url);
    snprintf(self.guess, sizeof(self.guess), "%s", s->url);
    return 0;
  }
  int rc = tg_node_path(path, sizeof(path), s->dir, TG_NODE_ADDR);
  if (rc == 0)
    rc = tg_file_read(path, 300, &addr, NULL, NULL);
  if (rc != 0)
    return rc;
  addr[strcspn(addr, "\r\n")] = '\0';
  rc = tg_node_split_hostport(addr, host, sizeof(host), &port);
  if (rc == 0 && !wildcard(host)) {
    snprintf(self.exact, sizeof(self.exact), "https://%s", addr);
    snprintf(self.guess, sizeof(self.guess), "%s", self.exact);
  } else if (rc == 0 && gethostname(name, sizeof(name)) == 0) {
    name[sizeof(name) - 1] = '\0';
    snprintf(self.guess, sizeof(self.guess), "https://%s:%d", name, port);
  }
  free(addr);
  return rc;
}

void tg_routes_self_url(char *out, size_t n, int guess) {
  struct tg_settings *s = tg_settings_get();
  pthread_mutex_lock(&self.mu);
  if (self.gen != s->gen)
    self.gen = self_compute(s) == 0 ? s->gen : 0;
  snprintf(out, n, "%s", guess ? self.guess : self.exact);
  pthread_mutex_unlock(&self.mu);
  tg_settings_put(s);
}

void tg_route_well_known(struct tg_http_req *req) {
  struct tg_settings *s = tg_settings_get();
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}}",
                        "node_id", s->node_id, "node_uri", "", "name", s->node_name, "federation",
                        s->federation, "version", PACKAGE_VERSION, "endpoints", "health",
                        "/healthz", "metrics", "/metrics", "dsp_version",
                        "/.well-known/dspace-version", "api", "/api/v1", "certificate",
                        "sha256", s->fingerprint, "algorithm", "ECDSA P-256");
  char uri[128];
  snprintf(uri, sizeof(uri), "urn:tsunagu:node:%s", s->node_id);
  json_object_set_new(o, "node_uri", json_string(uri));
  tg_settings_put(s);
  tg_http_res_header(req, "Cache-Control", "no-cache");
  tg_http_res_json(req, 200, o, NULL);
}

/* The expiry warnings of S at NOW: a new JSON array, one object per
 * certificate or CRL that expires within TG_EXPIRY_WARN_S (or has expired). */
static json_t *expiry_warnings(const struct tg_settings *s, int64_t now) {
  static const char *const what[TG_EXPIRY_N] = {"the node certificate",
                                                "the federation CA certificate",
                                                "the installed CRL"};
  json_t *a = json_array();
  for (int w = 0; a != NULL && w < TG_EXPIRY_N; w++) {
    int64_t at = s->expiry[w], left = at - now;
    if (at <= 0 || left > TG_EXPIRY_WARN_S)
      continue;
    char when[32], msg[160];
    time_t t = (time_t)at;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
      snprintf(when, sizeof(when), "?");
    snprintf(msg, sizeof(msg), "%s %s %s", what[w], left > 0 ? "expires" : "expired", when);
    json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:s}", "which", tg_expiry_name(w),
                                       "expires_at", when, "seconds_left", (json_int_t)left,
                                       "message", msg));
  }
  return a;
}

void tg_route_healthz(struct tg_http_req *req) {
  /* Still 200 when degraded: the node serves; the warnings (certificates
   * near expiry, a provenance log that no longer matches its signed tree
   * head) are for the operator and the monitoring that reads the body. */
  static const char ok[] = "{\"status\":\"ok\"}";
  struct tg_settings *s = tg_settings_get();
  json_t *warn = expiry_warnings(s, tg_time_now());
  tg_settings_put(s);
  struct tg_provlog_health h;
  tg_provlog_health(&h);
  tg_http_res_header(req, "Cache-Control", "no-store");
  if (json_array_size(warn) == 0 && (h.ok || !h.enabled)) {
    json_decref(warn);
    tg_http_res_send(req, 200, "application/json", ok, sizeof(ok) - 1);
    return;
  }
  json_t *out = json_pack("{s:s}", "status", "degraded");
  if (json_array_size(warn) > 0)
    json_object_set(out, "warnings", warn);
  json_decref(warn);
  if (!(h.ok || !h.enabled)) {
    /* The node still serves data, but signs no tree head. */
    json_t *p = json_pack("{s:b, s:s}", "ok", 0, "why", h.open ? h.why : "the log is not open");
    if (p != NULL && h.open)
      json_object_set_new(p, "first_bad_index", json_integer((json_int_t)h.first_bad));
    json_object_set_new(out, "provenance", p);
  }
  tg_http_res_json(req, 200, out, NULL);
}

void tg_route_metrics(struct tg_http_req *req) {
  struct tg_buf b;
  tg_buf_init(&b);
  tg_metrics_render(&b);
  struct tg_provlog_health h;
  tg_provlog_health(&h);
  uint64_t now = tg_provlog_now_us() / 1000;
  if (h.enabled)
    tg_buf_printf(&b,
                "# HELP tsunagu_provenance_log_ok 1 when the provenance log is open and intact.\n"
                "# TYPE tsunagu_provenance_log_ok gauge\ntsunagu_provenance_log_ok %d\n"
                "# HELP tsunagu_provenance_entries Entries in the provenance log.\n"
                "# TYPE tsunagu_provenance_entries gauge\ntsunagu_provenance_entries %llu\n"
                "# HELP tsunagu_provenance_appends_total Entries appended durably since start.\n"
                "# TYPE tsunagu_provenance_appends_total counter\n"
                "tsunagu_provenance_appends_total %llu\n"
                "# HELP tsunagu_provenance_append_failures_total Entries that could not be appended.\n"
                "# TYPE tsunagu_provenance_append_failures_total counter\n"
                "tsunagu_provenance_append_failures_total %llu\n"
                "# HELP tsunagu_provenance_commits_total Durable commits of appended entries"
                " (entries per commit: the group commit's batch).\n"
                "# TYPE tsunagu_provenance_commits_total counter\n"
                "tsunagu_provenance_commits_total %llu\n",
                h.ok, (unsigned long long)h.size, (unsigned long long)h.appended,
                (unsigned long long)h.failed, (unsigned long long)h.commits);
  if (h.enabled && h.last_sth_ms > 0)
    tg_buf_printf(&b,
                  "# HELP tsunagu_provenance_sth_age_seconds Age of the newest signed tree head.\n"
                  "# TYPE tsunagu_provenance_sth_age_seconds gauge\n"
                  "tsunagu_provenance_sth_age_seconds %.3f\n",
                  now > h.last_sth_ms ? (double)(now - h.last_sth_ms) / 1000.0 : 0.0);
  tg_http_res_send(req, 200, "text/plain; version=0.0.4", b.data, b.len);
  tg_buf_close(&b);
}

void tg_route_peer_whoami(struct tg_http_req *req) {
  json_t *o = json_pack("{s:s}", "node_id", tg_http_req_peer(req));
  tg_http_res_json(req, 200, o, NULL);
}

/* --- test-only: a large streamed response, and a streaming echo --- */

struct tg_stream {
  uint64_t left;
  char block[16384];
};

static void stream_more(struct tg_http_req *req) {
  struct tg_stream *st = tg_http_req_get_data(req);
  /* Produce only while the connection keeps up: memory stays bounded. */
  while (st->left > 0 && tg_http_res_pending(req) < 256 * 1024) {
    size_t n = st->left < sizeof(st->block) ? (size_t)st->left : sizeof(st->block);
    tg_http_res_write(req, st->block, n);
    st->left -= n;
  }
  if (st->left > 0) {
    tg_http_res_on_drain(req, stream_more);
    return;
  }
  tg_http_req_set_data(req, NULL);
  free(st);
  tg_http_res_end(req);
}

static void stream_abort(struct tg_http_req *req) { free(tg_http_req_get_data(req)); }

static uint64_t query_u64(const char *q, const char *key, uint64_t def) {
  size_t kl = strlen(key);
  for (const char *p = q; p && *p;) {
    if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
      char num[24];
      size_t i = 0;
      for (p += kl + 1; *p && *p != '&' && i + 1 < sizeof(num); p++)
        num[i++] = *p;
      num[i] = '\0';
      uint64_t v;
      return tg_parse_u64(num, UINT64_MAX, &v) ? def : v;
    }
    p = strchr(p, '&');
    p = p ? p + 1 : NULL;
  }
  return def;
}

void tg_route_debug_stream(struct tg_http_req *req) {
  if (!tg_server_debug_routes()) {
    tg_http_res_problem(req, 404, "not-found", "Not found", NULL, "no such resource");
    return;
  }
  struct tg_stream *st = malloc(sizeof(*st));
  if (st == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return;
  }
  st->left = query_u64(tg_http_req_query(req), "bytes", 1024 * 1024);
  memset(st->block, 'x', sizeof(st->block));
  tg_http_req_set_data(req, st);
  tg_http_req_on_abort(req, stream_abort);
  tg_http_res_start(req, 200, "application/octet-stream",
                    query_u64(tg_http_req_query(req), "chunked", 0) ? -1 : (int64_t)st->left);
  stream_more(req);
}

static void echo_drained(struct tg_http_req *req) { tg_http_req_resume(req); }

static void echo_body(struct tg_http_req *req, const char *data, size_t len) {
  tg_http_res_write(req, data, len);
  if (tg_http_res_pending(req) > 256 * 1024) {
    /* The client is not reading our answer: stop reading its body. */
    tg_http_req_pause(req);
    tg_http_res_on_drain(req, echo_drained);
  }
}

static void echo_end(struct tg_http_req *req) { tg_http_res_end(req); }

void tg_route_debug_echo(struct tg_http_req *req) {
  if (!tg_server_debug_routes()) {
    tg_http_res_problem(req, 404, "not-found", "Not found", NULL, "no such resource");
    return;
  }
  tg_http_req_on_body(req, echo_body, echo_end);
  tg_http_res_start(req, 200, "application/octet-stream", -1);
}

void tg_route_debug_sink(struct tg_http_req *req) {
  unsigned char md[32];
  char hex[65];
  size_t len;
  if (!tg_server_debug_routes()) {
    tg_http_res_problem(req, 404, "not-found", "Not found", NULL, "no such resource");
    return;
  }
  const char *body = tg_http_req_body(req, &len);
  EVP_Digest(body, len, md, NULL, EVP_sha256(), NULL);
  tg_hex(md, sizeof(md), hex);
  tg_http_res_json(req, 200, json_pack("{s:I, s:s}", "bytes", (json_int_t)len, "sha256", hex),
                   NULL);
}
