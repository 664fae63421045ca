/* tg_metrics_data: the data API's labelled counters for /metrics: requests
 * and bytes per dataset and per peer, refusals by rule, and the upstream
 * time to first byte. Labels come from resolved datasets and verified peers
 * only, and their number is capped, so hostile requests cannot grow it. */
#include "tg_metrics.h"
#include "tg_buf.h"
#include "tg_util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LAB_MAX 2048 /* distinct label sets; more are counted under "other" */
#define LAB_LEN 160

enum lab_kind { LAB_DATASET, LAB_PEER_IN, LAB_PEER_OUT, LAB_REFUSAL };

struct lab {
  int used;
  enum lab_kind kind;
  char a[LAB_LEN], b[LAB_LEN]; /* dataset or peer; rule */
  uint64_t n, bytes;
};

static const double ttfb_ms[] = {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000};
#define NTTFB (int)(sizeof(ttfb_ms) / sizeof(ttfb_ms[0]))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lab tg__labs[LAB_MAX];
static size_t nlabs;
static uint64_t ttfb[2][NTTFB + 1], ttfb_sum_us[2], ttfb_count[2];

static uint64_t hash(enum lab_kind k, const char *a, const char *b) {
  return tg_hash_str(tg_hash_str(TG_HASH_INIT ^ (uint64_t)k, a) ^ 0xff, b);
}

/* The slot for (K, A, B), made when there is room, else the "other" one.
 * Called with the lock held. */
static struct lab *slot(enum lab_kind k, const char *a, const char *b) {
  for (int other = 0; other < 2; other++) {
    if (other) {
      a = "other";
      b = "";
    }
    size_t i = hash(k, a, b) % LAB_MAX;
    for (size_t probe = 0; probe < LAB_MAX; probe++, i = (i + 1) % LAB_MAX) {
      struct lab *l = &tg__labs[i];
      if (l->used && l->kind == k && strncmp(l->a, a, LAB_LEN - 1) == 0 &&
          strncmp(l->b, b, LAB_LEN - 1) == 0)
        return l;
      if (!l->used) {
        if (nlabs >= LAB_MAX - 16 && !other)
          break; /* keep room for the "other" slots */
        l->used = 1;
        l->kind = k;
        snprintf(l->a, LAB_LEN, "%s", a);
        snprintf(l->b, LAB_LEN, "%s", b);
        nlabs++;
        return l;
      }
    }
  }
  return NULL;
}

static void count(enum lab_kind k, const char *a, const char *b, uint64_t bytes) {
  pthread_mutex_lock(&lock);
  struct lab *l = slot(k, a, b);
  if (l != NULL) {
    l->n++;
    l->bytes += bytes;
  }
  pthread_mutex_unlock(&lock);
}

void tg_metrics_data(const char *dataset, const char *peer, int outbound, uint64_t bytes) {
  if (dataset != NULL)
    count(LAB_DATASET, dataset, "", bytes);
  if (peer != NULL)
    count(outbound ? LAB_PEER_OUT : LAB_PEER_IN, peer, "", bytes);
}

void tg_metrics_data_refusal(const char *dataset, const char *rule) {
  /* The purpose a caller declared is its own text: as a label, a caller
   * cycling purposes would fill the label slots (and put its text in the
   * operator's dashboards). The rule is counted without it. */
  char label[200];
  const char *q = rule != NULL ? strstr(rule, "purpose '") : NULL;
  if (q != NULL) {
    snprintf(label, sizeof(label), "%.*sthe purpose is not allowed", (int)(q - rule), rule);
    rule = label;
  }
  count(LAB_REFUSAL, dataset, rule ? rule : "", 0);
}

void tg_metrics_data_ttfb(int owner, uint64_t usec) {
  int k = owner ? 1 : 0, h = NTTFB;
  for (int i = 0; i < NTTFB; i++)
    if ((double)usec <= ttfb_ms[i] * 1000.0) {
      h = i;
      break;
    }
  pthread_mutex_lock(&lock);
  ttfb[k][h]++;
  ttfb_sum_us[k] += usec;
  ttfb_count[k]++;
  pthread_mutex_unlock(&lock);
}

/* A label value in the exposition format: \, " and newlines escaped. */
static void label(struct tg_buf *o, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      tg_buf_printf(o, "\\%c", *v);
    else if (*v == '\n')
      tg_buf_puts(o, "\\n");
    else
      tg_buf_append(o, v, 1);
  }
}

static void render_kind(struct tg_buf *o, enum lab_kind k, const char *name, const char *lname,
                        int bytes) {
  for (size_t i = 0; i < LAB_MAX; i++) {
    const struct lab *l = &tg__labs[i];
    if (!l->used || l->kind != k)
      continue;
    tg_buf_printf(o, "%s{%s=\"", name, lname);
    label(o, l->a);
    if (k == LAB_REFUSAL) {
      tg_buf_puts(o, "\",rule=\"");
      label(o, l->b);
    }
    if (k == LAB_PEER_IN || k == LAB_PEER_OUT)
      tg_buf_printf(o, "\",direction=\"%s", k == LAB_PEER_IN ? "in" : "out");
    tg_buf_printf(o, "\"} %llu\n", (unsigned long long)(bytes ? l->bytes : l->n));
  }
}

static void render_ttfb(struct tg_buf *o) {
  static const char *const kinds[] = {"backend", "owner"};
  tg_buf_puts(o, "# HELP tsunagu_data_upstream_first_byte_seconds Time from sending a data "
                 "request upstream (backend or owner node) to its status line.\n"
                 "# TYPE tsunagu_data_upstream_first_byte_seconds histogram\n");
  for (int k = 0; k < 2; k++) {
    uint64_t cum = 0;
    for (int i = 0; i <= NTTFB; i++) {
      cum += ttfb[k][i];
      if (i < NTTFB)
        tg_buf_printf(o,
                      "tsunagu_data_upstream_first_byte_seconds_bucket{upstream=\"%s\",le=\"%g\"} "
                      "%llu\n",
                      kinds[k], ttfb_ms[i] / 1000.0, (unsigned long long)cum);
      else
        tg_buf_printf(o,
                      "tsunagu_data_upstream_first_byte_seconds_bucket{upstream=\"%s\",le=\"+Inf\"} "
                      "%llu\n",
                      kinds[k], (unsigned long long)cum);
    }
    tg_buf_printf(o, "tsunagu_data_upstream_first_byte_seconds_sum{upstream=\"%s\"} %.6f\n",
                  kinds[k], (double)ttfb_sum_us[k] / 1e6);
    tg_buf_printf(o, "tsunagu_data_upstream_first_byte_seconds_count{upstream=\"%s\"} %llu\n",
                  kinds[k], (unsigned long long)ttfb_count[k]);
  }
}

void tg_metrics_data_render(struct tg_buf *o) {
  pthread_mutex_lock(&lock);
  tg_buf_puts(o, "# HELP tsunagu_data_requests_total Data API answers, by dataset.\n"
                 "# TYPE tsunagu_data_requests_total counter\n");
  render_kind(o, LAB_DATASET, "tsunagu_data_requests_total", "dataset", 0);
  tg_buf_puts(o, "# HELP tsunagu_data_bytes_total Data API body bytes, by dataset.\n"
                 "# TYPE tsunagu_data_bytes_total counter\n");
  render_kind(o, LAB_DATASET, "tsunagu_data_bytes_total", "dataset", 1);
  tg_buf_puts(o, "# HELP tsunagu_data_peer_requests_total Data requests from (in) and to (out) "
                 "peer nodes.\n# TYPE tsunagu_data_peer_requests_total counter\n");
  render_kind(o, LAB_PEER_IN, "tsunagu_data_peer_requests_total", "peer", 0);
  render_kind(o, LAB_PEER_OUT, "tsunagu_data_peer_requests_total", "peer", 0);
  tg_buf_puts(o, "# HELP tsunagu_data_peer_bytes_total Data body bytes served to (in) and "
                 "received from (out) peer nodes.\n# TYPE tsunagu_data_peer_bytes_total counter\n");
  render_kind(o, LAB_PEER_IN, "tsunagu_data_peer_bytes_total", "peer", 1);
  render_kind(o, LAB_PEER_OUT, "tsunagu_data_peer_bytes_total", "peer", 1);
  tg_buf_puts(o, "# HELP tsunagu_data_refusals_total Data requests refused by a dataset's "
                 "policy, by the rule that refused.\n# TYPE tsunagu_data_refusals_total counter\n");
  render_kind(o, LAB_REFUSAL, "tsunagu_data_refusals_total", "dataset", 0);
  render_ttfb(o);
  pthread_mutex_unlock(&lock);
}
