/* tg_metrics_harvest: the harvester's labelled counters for /metrics, per
 * peer: rounds, failures, refused datasets and the time of the last
 * success. Labels are peers of this node only, capped in number. */
#include "tg_metrics.h"
#include "tg_buf.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HV_MAX 256 /* peers with counters; more are not counted */

struct hv {
  char peer[64];
  uint64_t rounds, failures, refused;
  int64_t last_ok; /* Unix time, 0 never */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hv tg__hv[HV_MAX];
static size_t nhv;

/* PEER's slot, made when there is room; called with the lock held. */
static struct hv *slot(const char *peer) {
  for (size_t i = 0; i < nhv; i++)
    if (strcmp(tg__hv[i].peer, peer) == 0)
      return &tg__hv[i];
  if (nhv == HV_MAX)
    return NULL;
  struct hv *h = &tg__hv[nhv++];
  snprintf(h->peer, sizeof(h->peer), "%s", peer);
  return h;
}

void tg_metrics_harvest(const char *peer, int ok, uint64_t refused) {
  pthread_mutex_lock(&lock);
  struct hv *h = slot(peer);
  if (h != NULL) {
    h->rounds++;
    h->refused += refused;
    if (ok)
      h->last_ok = (int64_t)time(NULL);
    else
      h->failures++;
  }
  pthread_mutex_unlock(&lock);
}

static void series(struct tg_buf *o, const char *name, const char *help, const char *type,
                   int which) {
  tg_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
  int64_t now = (int64_t)time(NULL);
  for (size_t i = 0; i < nhv; i++) {
    const struct hv *h = &tg__hv[i];
    if (which == 3) {
      if (h->last_ok > 0)
        tg_buf_printf(o, "%s{peer=\"%s\"} %lld\n", name, h->peer, (long long)(now - h->last_ok));
      continue;
    }
    uint64_t v = which == 0 ? h->rounds : which == 1 ? h->failures : h->refused;
    tg_buf_printf(o, "%s{peer=\"%s\"} %llu\n", name, h->peer, (unsigned long long)v);
  }
}

void tg_metrics_harvest_render(struct tg_buf *o) {
  pthread_mutex_lock(&lock);
  series(o, "tsunagu_harvest_rounds_total", "Harvests of a peer's change feed, by peer.", "counter",
         0);
  series(o, "tsunagu_harvest_failures_total",
         "Harvests that failed (unreachable, garbage, backwards or oversized feed), by peer.",
         "counter", 1);
  series(o, "tsunagu_harvest_refused_total",
         "Feed entries refused (foreign ids, malformed datasets), by peer.", "counter", 2);
  series(o, "tsunagu_harvest_last_success_age_seconds",
         "Seconds since a peer's feed was last harvested successfully.", "gauge", 3);
  pthread_mutex_unlock(&lock);
}
