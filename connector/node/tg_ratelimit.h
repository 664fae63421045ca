/* tg_ratelimit: counts failures per client (an address) in fixed windows and
 * says how long a client with too many must wait. A fixed table, shared by
 * the worker threads under a mutex; a client pushed out of a full table
 * simply starts again from zero. */
#ifndef TG_RATELIMIT_H
#define TG_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#define TG_RATELIMIT_SLOTS 1024

struct tg_ratelimit_slot {
  char key[64];      /* "" when free */
  uint64_t start_ms; /* when its window began */
  unsigned count;    /* failures in that window */
};

/* Caller-owned; zero it and set MU with PTHREAD_MUTEX_INITIALIZER, or call
 * tg_ratelimit_init. */
struct tg_ratelimit {
  pthread_mutex_t mu;
  struct tg_ratelimit_slot slot[TG_RATELIMIT_SLOTS];
};

void tg_ratelimit_init(struct tg_ratelimit *rl);
void tg_ratelimit_close(struct tg_ratelimit *rl);
/* 0 when KEY (borrowed) has had fewer than LIMIT failures in its window of
 * WINDOW_MS at NOW_MS (LIMIT 0: no limit), else the milliseconds until its
 * window ends. */
uint64_t tg_ratelimit_wait(struct tg_ratelimit *rl, const char *key, unsigned limit,
                           uint64_t window_ms, uint64_t now_ms);
/* Counts one failure of KEY at NOW_MS (a new window when its last one is
 * over). */
void tg_ratelimit_fail(struct tg_ratelimit *rl, const char *key, uint64_t window_ms,
                       uint64_t now_ms);

#endif
