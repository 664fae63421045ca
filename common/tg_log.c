/* tg_log: line-oriented logging to stderr, safe to call from any worker thread. */
#include "tg_log.h"
#include "tg_err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic int tg__log_level = TG_LOG_INFO;
static const char *const tg__lvl[] = {"error", "warn", "info", "debug"};

void tg_log_set_level(enum tg_log_level level) { atomic_store(&tg__log_level, (int)level); }

int tg_log_parse_level(const char *s, enum tg_log_level *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, tg__lvl[i]) == 0) {
      *out = (enum tg_log_level)i;
      return 0;
    }
  }
  return TG_EINVAL;
}

void tg_log(enum tg_log_level level, const char *fmt, ...) {
  char raw[2048], line[4200];
  size_t o = 0;
  va_list ap;

  if ((int)level > atomic_load(&tg__log_level))
    return;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  o = (size_t)snprintf(line, sizeof(line), "%s ", tg__lvl[level]);
  /* One record is one line: control characters from the network are escaped. */
  for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < sizeof(line); p++) {
    if (*p < 0x20 || *p == 0x7f)
      o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x", *p);
    else
      line[o++] = (char)*p;
  }
  line[o++] = '\n';
  /* A single write() keeps lines from different threads whole. */
  ssize_t w = write(STDERR_FILENO, line, o);
  (void)w;
}
