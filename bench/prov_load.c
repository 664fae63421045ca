/* prov_load: the provenance library's numbers for bench/provenance: durable
 * appends/s with group commit (and one entry per commit for contrast),
 * inclusion and consistency proof latency on the full log, and the time to
 * open (verify from scratch) the log. Usage: prov_load DIR ENTRIES BATCH, or
 * prov_load DIR open to time opening the log already in DIR. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tg_err.h"
#include "tg_prov.h"
#include "tg_util.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) this process has used: on a shared machine
 * the wall time also counts the time other jobs held the cores. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void fill(struct tg_prov_entry *e, uint64_t i) {
  static const char *const sets[4] = {"water-level", "rain-gauge", "river-camera", "bus-gtfs"};
  memset(e, 0, sizeof(*e));
  e->time_us = 1796126400000000ull + i * 1000;
  e->kind = TG_PROV_DATA_SERVED;
  e->outcome = TG_PROV_COMPLETE;
  e->dataset = sets[i % 4];
  e->requester_node = "city-b";
  e->requester_subject = "analyst-7";
  e->owner_node = "pref-a";
  e->purpose = "flood-watch";
  e->bytes = 1024 + i % 4096;
  e->has_payload_hash = 1;
  for (int k = 0; k < 32; k++)
    e->payload_sha256[k] = (uint8_t)(i >> (k % 8) ^ (uint64_t)k);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Appends TOTAL entries in commits of BATCH; returns entries per second. */
static double append_rate(struct tg_prov_log *log, uint64_t total, size_t batch) {
  struct tg_prov_entry *es = calloc(batch, sizeof(*es));
  struct tg_err err;
  uint64_t base = tg_prov_log_size(log);
  double t0 = now_s();
  for (uint64_t done = 0; done < total;) {
    size_t n = total - done < batch ? (size_t)(total - done) : batch;
    for (size_t i = 0; i < n; i++)
      fill(&es[i], base + done + i);
    if (tg_prov_log_append(log, es, n, &err) != 0) {
      fprintf(stderr, "prov_load: %s\n", err.msg);
      exit(1);
    }
    done += n;
  }
  double dt = now_s() - t0;
  free(es);
  return (double)total / dt;
}

/* Times ROUNDS proofs of random leaves (or first sizes) in the full tree. */
static void proof_latency(const struct tg_prov_tree *t, int consistency, int rounds) {
  uint64_t size = tg_prov_tree_size(t);
  double *lat = malloc((size_t)rounds * sizeof(*lat));
  struct tg_prov_proof p;
  uint64_t x = 88172645463325252ull;
  double vsum = 0;
  uint8_t root[32];
  tg_prov_tree_root(t, size, root);
  for (int r = 0; r < rounds; r++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint64_t i = x % size;
    double t0 = now_s();
    int rc = consistency ? tg_prov_tree_consistency(t, i + 1, size, &p)
                         : tg_prov_tree_inclusion(t, i, size, &p);
    lat[r] = (now_s() - t0) * 1e6;
    if (rc != 0)
      exit(1);
    if (!consistency && r < 10000) {
      t0 = now_s();
      if (tg_prov_inclusion_verify(&p, tg_prov_tree_leaf(t, i), root) != 0)
        exit(1);
      vsum += (now_s() - t0) * 1e6;
    }
  }
  qsort(lat, (size_t)rounds, sizeof(*lat), cmp_d);
  double sum = 0;
  for (int r = 0; r < rounds; r++)
    sum += lat[r];
  printf("%s proof (tree of %llu): mean %.2f us, p50 %.2f us, p99 %.2f us, max %.1f us "
         "(%d proofs)\n",
         consistency ? "consistency" : "inclusion", (unsigned long long)size, sum / rounds,
         lat[rounds / 2], lat[rounds * 99 / 100], lat[rounds - 1], rounds);
  if (!consistency)
    printf("inclusion proof verification: mean %.2f us\n",
           vsum / (rounds < 10000 ? rounds : 10000));
  free(lat);
}

/* Opens the log at PATH, which verifies it from scratch, and says how long it took. */
static int time_open(const char *path) {
  struct tg_prov_log *log = NULL;
  struct tg_err err;
  double c0 = cpu_s(), t0 = now_s();
  if (tg_prov_log_open(path, &log, &err) != 0) {
    fprintf(stderr, "prov_load: %s\n", err.msg);
    return 1;
  }
  double dt = now_s() - t0, dc = cpu_s() - c0;
  printf("open and verify from scratch: %.3f s wall, %.3f s CPU for %llu entries (%s)\n", dt, dc,
         (unsigned long long)tg_prov_log_size(log),
         tg_prov_log_health(log)->broken ? "BROKEN" : "intact");
  tg_prov_log_close(log);
  return 0;
}

int main(int argc, char **argv) {
  uint64_t total = 0, batch = 0;
  char path[512];
  struct tg_prov_log *log = NULL;
  struct tg_err err;
  if (argc == 3 && strcmp(argv[2], "open") == 0) {
    snprintf(path, sizeof(path), "%s/prov.db", argv[1]);
    return time_open(path);
  }
  if (argc != 4 || tg_parse_u64(argv[2], 1ull << 40, &total) || total == 0 ||
      tg_parse_u64(argv[3], 1u << 20, &batch) || batch == 0) {
    fprintf(stderr, "usage: prov_load DIR ENTRIES BATCH\n");
    return 2;
  }
  snprintf(path, sizeof(path), "%s/prov.db", argv[1]);
  if (tg_prov_log_open(path, &log, &err) != 0) {
    fprintf(stderr, "prov_load: %s\n", err.msg);
    return 1;
  }
  double single = append_rate(log, 200, 1);
  printf("durable appends, one entry per commit: %.0f/s (200 entries)\n", single);
  double rate = append_rate(log, total - 200 > 0 ? total - 200 : 1, batch);
  printf("durable appends, group commit of %llu: %.0f/s (%llu entries)\n",
         (unsigned long long)batch, rate, (unsigned long long)(total - 200));
  proof_latency(tg_prov_log_tree(log), 0, 100000);
  proof_latency(tg_prov_log_tree(log), 1, 100000);
  tg_prov_log_close(log);
  return time_open(path);
}
