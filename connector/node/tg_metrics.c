/* tg_metrics: process-wide counters shared by the workers (atomics), rendered
 * in the Prometheus text format for GET /metrics. */
#include "tg_metrics.h"
#include "tg_buf.h"
#include "tg_settings.h"
#include "tg_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#define TG_MAX_ROUTES 128
static const int tg__codes[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 408, 409,
                                410, 412, 413, 415, 417, 422, 428, 429, 431, 500, 502, 503,
                                504, 505, 0};
#define TG_NCODES (int)(sizeof(tg__codes) / sizeof(tg__codes[0]))
static const double tg__buckets_ms[] = {0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
#define TG_NBUCKETS (int)(sizeof(tg__buckets_ms) / sizeof(tg__buckets_ms[0]))

/* Counters live per thread, written only by their thread (no contention on
 * the request path) and summed when /metrics is rendered. */
struct tg_mblock {
  _Atomic uint64_t req[TG_MAX_ROUTES + 1][TG_NCODES]; /* route index +1; 0 = none */
  _Atomic uint64_t hist[TG_NBUCKETS + 1];
  _Atomic uint64_t lat_sum_us, lat_count, bytes_in, bytes_out;
  struct tg_mblock *next;
};
static pthread_mutex_t tg__mlock = PTHREAD_MUTEX_INITIALIZER;
static struct tg_mblock *tg__mblocks;
static _Thread_local struct tg_mblock *tg__mine;
static _Atomic long tg__open_conns;
static _Atomic uint64_t tg__conns_total;
static _Atomic uint64_t tg__conns_refused;

static struct tg_mblock *mine(void) {
  if (tg__mine == NULL) {
    /* One block per thread for the life of the process. */
    struct tg_mblock *b = calloc(1, sizeof(*b));
    if (b == NULL)
      abort();
    pthread_mutex_lock(&tg__mlock);
    b->next = tg__mblocks;
    tg__mblocks = b;
    pthread_mutex_unlock(&tg__mlock);
    tg__mine = b;
  }
  return tg__mine;
}

/* Only the owning thread writes: a relaxed load and store is enough. */
static inline void bump(_Atomic uint64_t *x, uint64_t n) {
  atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

static uint64_t sum(size_t off) {
  uint64_t v = 0;
  pthread_mutex_lock(&tg__mlock);
  for (struct tg_mblock *b = tg__mblocks; b; b = b->next)
    v += atomic_load_explicit((_Atomic uint64_t *)((char *)b + off), memory_order_relaxed);
  pthread_mutex_unlock(&tg__mlock);
  return v;
}
#define SUM(field) sum(offsetof(struct tg_mblock, field))

void tg_metrics_request(int route, int status, uint64_t usec, uint64_t in, uint64_t out) {
  struct tg_mblock *b = mine();
  /* route -2: byte counts only (socket reads and writes). */
  if (in)
    bump(&b->bytes_in, in);
  if (out)
    bump(&b->bytes_out, out);
  if (route == -2)
    return;
  int r = route + 1, k = TG_NCODES - 1;
  if (r < 0 || r > TG_MAX_ROUTES)
    r = 0;
  for (int i = 0; i < TG_NCODES - 1; i++)
    if (tg__codes[i] == status) {
      k = i;
      break;
    }
  bump(&b->req[r][k], 1);
  int h = TG_NBUCKETS;
  for (int i = 0; i < TG_NBUCKETS; i++)
    if ((double)usec <= tg__buckets_ms[i] * 1000.0) {
      h = i;
      break;
    }
  bump(&b->hist[h], 1);
  bump(&b->lat_sum_us, usec);
  bump(&b->lat_count, 1);
}

void tg_metrics_conn(int delta) {
  atomic_fetch_add(&tg__open_conns, delta);
  if (delta > 0)
    atomic_fetch_add(&tg__conns_total, (uint64_t)delta);
}

void tg_metrics_conn_refused(void) { atomic_fetch_add(&tg__conns_refused, 1); }

long tg_metrics_open_conns(void) { return atomic_load(&tg__open_conns); }

void tg_metrics_render(struct tg_buf *o) {
  tg_buf_puts(o, "# HELP tsunagu_http_requests_total HTTP requests answered, by route and status.\n"
                 "# TYPE tsunagu_http_requests_total counter\n");
  for (int r = 0; r <= TG_MAX_ROUTES && r <= tg_settings_route_count(); r++) {
    const char *name = r == 0 ? "none" : tg_settings_route_name(r - 1);
    for (int k = 0; k < TG_NCODES; k++) {
      uint64_t v = SUM(req[r][k]);
      if (v == 0)
        continue;
      if (tg__codes[k])
        tg_buf_printf(o, "tsunagu_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", name,
                      tg__codes[k], (unsigned long long)v);
      else
        tg_buf_printf(o, "tsunagu_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                      name, (unsigned long long)v);
    }
  }
  tg_buf_puts(o, "# HELP tsunagu_http_request_duration_seconds Time from request head to response end.\n"
                 "# TYPE tsunagu_http_request_duration_seconds histogram\n");
  uint64_t cum = 0;
  for (int i = 0; i < TG_NBUCKETS; i++) {
    cum += SUM(hist[i]);
    tg_buf_printf(o, "tsunagu_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                  tg__buckets_ms[i] / 1000.0, (unsigned long long)cum);
  }
  cum += SUM(hist[TG_NBUCKETS]);
  tg_buf_printf(o, "tsunagu_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)cum);
  tg_buf_printf(o, "tsunagu_http_request_duration_seconds_sum %.6f\n",
                (double)SUM(lat_sum_us) / 1e6);
  tg_buf_printf(o, "tsunagu_http_request_duration_seconds_count %llu\n",
                (unsigned long long)SUM(lat_count));
  tg_buf_printf(o, "# HELP tsunagu_open_connections Client connections open now.\n"
                   "# TYPE tsunagu_open_connections gauge\ntsunagu_open_connections %ld\n",
                atomic_load(&tg__open_conns));
  tg_buf_printf(o, "# HELP tsunagu_connections_total Client connections accepted.\n"
                   "# TYPE tsunagu_connections_total counter\ntsunagu_connections_total %llu\n",
                (unsigned long long)atomic_load(&tg__conns_total));
  tg_buf_printf(o, "# HELP tsunagu_connections_refused_total Connections closed at accept: over "
                   "[limits] connections or connections_per_client.\n"
                   "# TYPE tsunagu_connections_refused_total counter\n"
                   "tsunagu_connections_refused_total %llu\n",
                (unsigned long long)atomic_load(&tg__conns_refused));
  tg_buf_printf(o, "# HELP tsunagu_bytes_received_total Bytes read from client sockets.\n"
                   "# TYPE tsunagu_bytes_received_total counter\ntsunagu_bytes_received_total %llu\n",
                (unsigned long long)SUM(bytes_in));
  tg_buf_printf(o, "# HELP tsunagu_bytes_sent_total Bytes written to client sockets.\n"
                   "# TYPE tsunagu_bytes_sent_total counter\ntsunagu_bytes_sent_total %llu\n",
                (unsigned long long)SUM(bytes_out));
  tg_metrics_expiry_render(o);
  tg_metrics_data_render(o);
  tg_metrics_harvest_render(o);
}

void tg_metrics_expiry_render(struct tg_buf *o) {
  /* The times were read with the settings; only the subtraction is new. */
  struct tg_settings *s = tg_settings_get();
  int64_t now = tg_time_now();
  tg_buf_puts(o, "# HELP tsunagu_cert_expiry_seconds Seconds until the node certificate's, the "
                 "federation CA certificate's notAfter or the installed CRL's nextUpdate "
                 "(negative: past).\n"
                 "# TYPE tsunagu_cert_expiry_seconds gauge\n");
  for (int w = 0; s != NULL && w < TG_EXPIRY_N; w++)
    if (s->expiry[w] > 0)
      tg_buf_printf(o, "tsunagu_cert_expiry_seconds{which=\"%s\"} %lld\n", tg_expiry_name(w),
                    (long long)(s->expiry[w] - now));
  if (s != NULL)
    tg_settings_put(s);
}
