/* harvest_poll: bench/harvest's timer for an incremental harvest of WANT
 * changes of peer SOURCE. Reads SOURCE's last_seq in the node's harvest.db,
 * opens one keep-alive HTTPS connection to the node, sends it SIGHUP (a
 * harvest round now), then watches harvest.db (read-only, every 0.2 ms: no
 * request competes with the round on the node's loop, as back-to-back
 * searches did) until the last_seq moved by WANT, and then searches
 * (scope=federation&mode=harvested) for WORD, which only the changed
 * datasets carry, until WANT hits show. Prints "TOTAL COMMIT SEARCH": the
 * milliseconds from the signal to the answer listing them, to the commit
 * in the index, and of the search(es) after it; "never" after 10 s.
 *   harvest_poll ADDR CA-FILE TOKEN WORD WANT PID HARVEST-DB SOURCE
 * The full harvest's timer: runs the shell command CMD (`tsunagu peer add`)
 * and watches HARVEST-DB the same way (every 2 ms) until SOURCE's last_seq
 * reaches SEQ; prints the milliseconds from just before CMD, or "never"
 * after LIMIT seconds. A curl and a jq every 50 ms took a third of a core
 * from the two nodes being measured.
 *   harvest_poll --until-seq HARVEST-DB SOURCE SEQ LIMIT CMD */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
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

/* SOURCE's last_seq in DB, or -1. */
static long long last_seq(sqlite3_stmt *st) {
  long long v = -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return v;
}

static int until_seq(char **argv) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT last_seq FROM hv_source WHERE node = ?1", -1, &st, NULL) !=
          SQLITE_OK) {
    fprintf(stderr, "harvest_poll: %s: %s\n", argv[2], sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_busy_timeout(db, 1000);
  sqlite3_bind_text(st, 1, argv[3], -1, SQLITE_STATIC);
  long long want = strtoll(argv[4], NULL, 10);
  double limit = strtod(argv[5], NULL) * 1000, t0 = now_ms();
  if (system(argv[6]) != 0) {
    fprintf(stderr, "harvest_poll: %s failed\n", argv[6]);
    return 1;
  }
  struct timespec nap = {0, 2000000};
  long long v;
  while ((v = last_seq(st)) < want && now_ms() - t0 < limit)
    nanosleep(&nap, NULL);
  if (v >= want)
    printf("%.0f\n", now_ms() - t0);
  else
    printf("never\n");
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v >= want ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 7 && strcmp(argv[1], "--until-seq") == 0)
    return until_seq(argv);
  if (argc != 9) {
    fprintf(stderr, "usage: harvest_poll ADDR CA-FILE TOKEN WORD WANT PID HARVEST-DB SOURCE\n");
    return 2;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_open_v2(argv[7], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT last_seq FROM hv_source WHERE node = ?1", -1, &st, NULL) !=
          SQLITE_OK) {
    fprintf(stderr, "harvest_poll: %s: %s\n", argv[7], sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_busy_timeout(db, 1000);
  sqlite3_bind_text(st, 1, argv[8], -1, SQLITE_STATIC);
  long long base = last_seq(st);
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
  double t0 = now_ms(), t1 = 0;
  struct timespec nap = {0, 200000};
  kill(pid, SIGHUP);
  while (last_seq(st) < base + want && now_ms() - t0 < 10000)
    nanosleep(&nap, NULL);
  t1 = now_ms();
  long t = -1;
  while ((t = total(c, &b)) < want && now_ms() - t0 < 10000)
    ;
  double t2 = now_ms();
  if (t >= want)
    printf("%.1f %.1f %.1f\n", t2 - t0, t1 - t0, t2 - t1);
  else
    printf("never\n");
  sqlite3_finalize(st);
  sqlite3_close(db);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  return t >= want ? 0 : 1;
}
