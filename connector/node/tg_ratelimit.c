/* tg_ratelimit: failure counts per client in fixed windows. See tg_ratelimit.h. */
#include "tg_ratelimit.h"

#include <stdio.h>
#include <string.h>

#define PROBES 8 /* slots looked at for one key */

void tg_ratelimit_init(struct tg_ratelimit *rl) {
  memset(rl, 0, sizeof(*rl));
  pthread_mutex_init(&rl->mu, NULL);
}

void tg_ratelimit_close(struct tg_ratelimit *rl) {
  pthread_mutex_destroy(&rl->mu);
}

static unsigned hash(const char *key) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

/* KEY's slot, or with CLAIM a slot for it (a free one, else the one whose
 * window began first among those probed); NULL without CLAIM when absent. */
static struct tg_ratelimit_slot *find(struct tg_ratelimit *rl, const char *key, int claim) {
  unsigned h = hash(key);
  struct tg_ratelimit_slot *spare = NULL;
  for (unsigned i = 0; i < PROBES; i++) {
    struct tg_ratelimit_slot *s = &rl->slot[(h + i) % TG_RATELIMIT_SLOTS];
    if (strncmp(s->key, key, sizeof(s->key) - 1) == 0 && s->key[0])
      return s;
    if (spare == NULL || (spare->key[0] && (!s->key[0] || s->start_ms < spare->start_ms)))
      spare = s;
  }
  if (!claim)
    return NULL;
  snprintf(spare->key, sizeof(spare->key), "%s", key);
  spare->count = 0;
  spare->start_ms = 0;
  return spare;
}

uint64_t tg_ratelimit_wait(struct tg_ratelimit *rl, const char *key, unsigned limit,
                           uint64_t window_ms, uint64_t now_ms) {
  uint64_t wait = 0;
  if (limit == 0 || key[0] == '\0')
    return 0;
  pthread_mutex_lock(&rl->mu);
  struct tg_ratelimit_slot *s = find(rl, key, 0);
  if (s != NULL && s->count >= limit && now_ms - s->start_ms < window_ms)
    wait = s->start_ms + window_ms - now_ms;
  pthread_mutex_unlock(&rl->mu);
  return wait;
}

void tg_ratelimit_fail(struct tg_ratelimit *rl, const char *key, uint64_t window_ms,
                       uint64_t now_ms) {
  if (key[0] == '\0')
    return;
  pthread_mutex_lock(&rl->mu);
  struct tg_ratelimit_slot *s = find(rl, key, 1);
  if (s->count == 0 || now_ms - s->start_ms >= window_ms) {
    s->start_ms = now_ms;
    s->count = 0;
  }
  s->count++;
  pthread_mutex_unlock(&rl->mu);
}
