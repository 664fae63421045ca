/* vocab_conv: the driver bench/vocab runs.
 *   vocab_conv gen N            writes N realistic NDJSON water-level observations
 *                               (cm, era dates in several forms, local station codes,
 *                               5- and 6-digit local government codes) to stdout
 *   vocab_conv conv PROFILE     converts NDJSON on stdin with the profile (a JSON file)
 *                               through tg_voc_conv to stdout; counters to stderr
 *   vocab_conv run CMD [ARG...] runs CMD and prints "SECONDS PEAK_RSS_KB EXIT" to stderr
 *                               (wall time and the child's peak RSS from wait4) */
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_voc_conv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int gen(unsigned long n) {
  static const char *const stations[] = {"A-01", "A-02", "A-03"};
  static const char *const codes[] = {"27100", "271004"};
  unsigned long x = 12345;
  char line[512];
  for (unsigned long i = 0; i < n; i++) {
    x = x * 6364136223846793005ul + 1442695040888963407ul;
    unsigned r = (unsigned)(x >> 33);
    int day = 1 + (int)(r % 28), month = 1 + (int)((r >> 5) % 12), hour = (int)((r >> 9) % 24);
    int minute = (int)((r >> 14) % 6) * 10, year = 2 + (int)((r >> 17) % 6);
    char date[64];
    if (r & 1)
      snprintf(date, sizeof(date), "令和%d年%d月%d日 %d時%d分", year, month, day, hour, minute);
    else
      snprintf(date, sizeof(date), "R%d.%d.%d %d:%02d", year, month, day, hour, minute);
    const char *st = stations[r % 3];
    int len = snprintf(line, sizeof(line),
                       "{\"obs_id\":\"urn:ngsi-ld:WaterObserved:%s-%07lu\",\"station\":\"%s\","
                       "\"city_code\":\"%s\",\"pos\":{\"type\":\"Point\",\"coordinates\":"
                       "[135.50%02u,34.69%02u]},\"observed\":\"%s\",\"level_cm\":%u%s,"
                       "\"flow_lps\":%u%s}\n",
                       st, i, st, codes[(r >> 3) & 1], r % 97, (r >> 7) % 89, date, (r >> 4) % 900,
                       (r & 6) == 6 ? ".5" : "", (r >> 11) % 20000,
                       (r & 24) == 24 ? ",\"memo\":\"定時観測\"" : "");
    if (fwrite(line, 1, (size_t)len, stdout) != (size_t)len)
      return 1;
  }
  return fflush(stdout) != 0;
}

static int out_write(void *ud, const char *data, size_t len) {
  (void)ud;
  return fwrite(data, 1, len, stdout) == len ? 0 : TG_EIO;
}

static void count_issue(void *ud, const struct tg_voc_conv_issue *is) {
  (void)is;
  (*(size_t *)ud)++;
}

static int conv(const char *profile_file) {
  struct tg_err err;
  struct tg_voc_profile *p = NULL;
  struct tg_voc_conv *c = NULL;
  struct tg_voc_conv_stats st;
  size_t issues = 0, bytes = 0;
  static char buf[1 << 16];
  tg_err_clear(&err);
  FILE *f = fopen(profile_file, "r");
  struct tg_buf text;
  tg_buf_init(&text);
  size_t n;
  while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
    tg_buf_append(&text, buf, n);
  if (f)
    fclose(f);
  int rc = text.len ? tg_voc_profile_load(text.data, text.len, &p, &err) : TG_ENOENT;
  tg_buf_close(&text);
  if (rc == 0)
    rc = tg_voc_conv_new(p, TG_VOC_FMT_NDJSON, 0, out_write, count_issue, &issues, &c, &err);
  double t0 = now_s();
  while (rc == 0 && (n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
    bytes += n;
    rc = tg_voc_conv_feed(c, buf, n, &err);
  }
  if (rc == 0)
    rc = tg_voc_conv_finish(c, &err);
  fflush(stdout);
  double t = now_s() - t0;
  if (rc) {
    fprintf(stderr, "vocab_conv: %s\n", tg_err_msg(&err, rc));
  } else {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    tg_voc_conv_stats(c, &st);
    fprintf(stderr,
            "records %zu written %zu skipped %zu issues %zu bytes %zu seconds %.3f "
            "MB/s %.1f peak_rss_kb %ld\n",
            st.records, st.written, st.skipped, issues, bytes, t, (double)bytes / 1e6 / t,
            ru.ru_maxrss);
  }
  tg_voc_conv_free(c);
  tg_voc_profile_free(p);
  return rc ? 1 : 0;
}

static int run(char **argv) {
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "vocab_conv: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR)
      return 1;
  fprintf(stderr, "%.3f %ld %d\n", now_s() - t0, ru.ru_maxrss,
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "gen") == 0)
    return gen(strtoul(argv[2], NULL, 10));
  if (argc == 3 && strcmp(argv[1], "conv") == 0)
    return conv(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "run") == 0)
    return run(argv + 2);
  fprintf(stderr, "usage: vocab_conv gen N | conv PROFILE.json | run CMD [ARG...]\n");
  return 2;
}
