/* search_lat: bench/national's search timer. For each query, ROUNDS
 * sequential GET /api/v1/search?scope=federation&mode=harvested&limit=20&q=
 * on one keep-alive HTTPS connection (after 3 untimed warm-up requests),
 * then prints per query p50/p99/max and hits, and p50/p99 over all of them.
 * A non-200 answer is counted and printed.
 *   search_lat ADDR CA-FILE TOKEN ROUNDS QUERY... */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct body {
  char *buf;
  size_t len, cap;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct body *b = ud;
  size_t k = sz * n;
  if (b->len + k + 1 > b->cap) {
    size_t cap = (b->len + k + 1) * 2;
    char *nb = realloc(b->buf, cap);
    if (nb == NULL)
      return 0;
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, p, k);
  b->len += k;
  b->buf[b->len] = '\0';
  return k;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: search_lat ADDR CA-FILE TOKEN ROUNDS QUERY...\n");
    return 2;
  }
  long rounds = strtol(argv[4], NULL, 10);
  int nq = argc - 5;
  char auth[512];
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[3]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, auth);
  struct body b = {0};
  curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  double *all = calloc((size_t)(rounds * nq), sizeof(double)), *one = calloc((size_t)rounds, sizeof(double));
  size_t na = 0;
  long bad = 0;
  for (int q = 0; q < nq; q++) {
    char *enc = curl_easy_escape(c, argv[5 + q], 0);
    char url[1024];
    snprintf(url, sizeof(url),
             "https://%s/api/v1/search?scope=federation&mode=harvested&limit=20&q=%s", argv[1], enc);
    curl_free(enc);
    curl_easy_setopt(c, CURLOPT_URL, url);
    long total = -1, code = 0;
    for (long r = -3; r < rounds; r++) {
      b.len = 0;
      double t0 = now_ms();
      CURLcode rc = curl_easy_perform(c);
      double dt = now_ms() - t0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
      if (rc != CURLE_OK || code != 200) {
        bad++;
        if (bad < 5)
          fprintf(stderr, "search_lat: %s: %s %ld\n", argv[5 + q], curl_easy_strerror(rc), code);
      }
      if (r < 0) {
        if (r == -3 && b.buf != NULL) {
          json_t *j = json_loads(b.buf, 0, NULL);
          total = j ? (long)json_integer_value(json_object_get(j, "total")) : -1;
          json_decref(j);
        }
        continue;
      }
      one[r] = dt;
      all[na++] = dt;
    }
    qsort(one, (size_t)rounds, sizeof(double), cmp_d);
    printf("  query %-16s hits=%-7ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", argv[5 + q], total,
           one[rounds / 2], one[(rounds * 99) / 100], one[rounds - 1]);
  }
  qsort(all, na, sizeof(double), cmp_d);
  printf("all %zu searches: p50_ms=%.2f p99_ms=%.2f non200=%ld\n", na, all[na / 2],
         all[(na * 99) / 100], bad);
  free(all);
  free(one);
  free(b.buf);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  return bad ? 1 : 0;
}
