/* harvest_poll: bench/harvest's timer for an incremental harvest. Opens one
 * keep-alive HTTPS connection to a node, sends SIGHUP to the node (a harvest
 * round now) and polls its harvested search for WORD until WANT hits show;
 * prints the milliseconds from the signal to that answer (or "never" after
 * 10 s). Each poll is one request on the open connection (~1 ms), so the
 * poll's resolution is that of the search itself.
 *   harvest_poll ADDR CA-FILE TOKEN WORD WANT PID */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct body {
  char buf[1 << 16];
  size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct body *b = ud;
  size_t k = sz * n;
  if (b->len + k >= sizeof(b->buf))
    k = sizeof(b->buf) - 1 - b->len;
  memcpy(b->buf + b->len, p, k);
  b->len += k;
  return sz * n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The total of one harvested search, or -1. */
static long total(CURL *c, struct body *b) {
  b->len = 0;
  if (curl_easy_perform(c) != CURLE_OK)
    return -1;
  b->buf[b->len] = '\0';
  json_t *j = json_loads(b->buf, 0, NULL);
  long t = j ? (long)json_integer_value(json_object_get(j, "total")) : -1;
  json_decref(j);
  return t;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: harvest_poll ADDR CA-FILE TOKEN WORD WANT PID\n");
    return 2;
  }
  char url[512], auth[512];
  snprintf(url, sizeof(url),
           "https://%s/api/v1/search?scope=federation&mode=harvested&limit=1&q=%s", argv[1],
           argv[4]);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[3]);
  long want = strtol(argv[5], NULL, 10);
  pid_t pid = (pid_t)strtol(argv[6], NULL, 10);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, auth);
  static struct body b;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  if (total(c, &b) < 0) { /* the connection is up before the clock starts */
    fprintf(stderr, "harvest_poll: the search failed\n");
    return 1;
  }
  double t0 = now_ms();
  kill(pid, SIGHUP);
  long t = -1;
  while ((t = total(c, &b)) < want && now_ms() - t0 < 10000)
    ;
  if (t >= want)
    printf("%.1f\n", now_ms() - t0);
  else
    printf("never\n");
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  return t >= want ? 0 : 1;
}
