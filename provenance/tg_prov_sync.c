/* tg_prov_sync: the checkpointing thread behind a log appended with
 * TG_PROV_SYNC_OS. The appender's commits only write the WAL (a process
 * crash keeps them, the kernel has the bytes); this thread, on a connection
 * of its own, runs a passive checkpoint every interval, which syncs the WAL
 * and then the database, so that a power loss can take at most the last
 * interval's entries and the appender never waits for the disk. */
#include "tg_prov.h"

#include "tg_db.h"
#include "tg_err.h"
#include "tg_log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct tg_prov_sync {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* signalled to stop */
  int stop;
  sqlite3 *db; /* the thread's own connection, from tg_db_open */
  uint64_t interval_ms;
  _Atomic uint64_t done, failed;
  int warned; /* a failing checkpoint is logged once until one succeeds */
  /* tg_prov_sync_set_hold's function and argument (under MU). */
  void (*hold)(void *arg, int on);
  void *hold_arg;
};

/* A WAL of this many frames (4 KiB pages) or more after a checkpoint is
 * copied back whole with appends held (tg_prov_sync_set_hold). */
#define WAL_RESET_FRAMES 1024

/* A passive checkpoint syncs the WAL only when it can copy frames: one that
 * copied fewer frames than the WAL holds (a reader still on an older
 * snapshot) may have synced nothing, so it is tried again a little later,
 * and counted as failed if the frames still cannot all be copied (or the
 * log stays busy). */
static void checkpoint(struct tg_prov_sync *s) {
  int rc = SQLITE_OK, nlog = 0, nckpt = 0;
  pthread_mutex_lock(&s->mu);
  void (*hold)(void *, int) = s->hold;
  void *arg = s->hold_arg;
  pthread_mutex_unlock(&s->mu);
  for (int i = 0; i < 4; i++) {
    if (i > 0)
      nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
    rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
    /* SQLITE_BUSY: an appender was starting the WAL over (after a
     * truncation below), a moment's work; tried again like a partial copy. */
    if ((rc != SQLITE_OK && rc != SQLITE_BUSY) || (rc == SQLITE_OK && nckpt >= nlog))
      break;
  }
  /* SQLite writes the WAL from its start again only when a write begins
   * with every frame copied back, and an appender that commits while a
   * passive checkpoint runs (every loop turn under load) leaves frames the
   * checkpoint did not see: the WAL never restarts and grows without end
   * (500 MB in 40 s of 1 KiB answers). So once it is big, and the pass above
   * copied all it saw (no reader pinning frames), the frames appended
   * meanwhile are copied with the appenders held (few: 4-8 ms here, once an
   * interval under load); the next append then starts the WAL over, cut
   * back to 4 MiB (journal_size_limit, tg_prov_log_set_sync). Passive under
   * the hold too: it waits for no lock and no reader. */
  if (rc == SQLITE_OK && nckpt >= nlog && hold != NULL && nlog >= WAL_RESET_FRAMES) {
    int l2 = 0, c2 = 0;
    hold(arg, 1);
    int rc2 = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &l2, &c2);
    hold(arg, 0);
    if (rc2 == SQLITE_OK && c2 >= l2)
      nlog = nckpt = l2;
  }
  if (rc == SQLITE_OK && nckpt >= nlog) {
    atomic_fetch_add(&s->done, 1);
    s->warned = 0;
    return;
  }
  atomic_fetch_add(&s->failed, 1);
  if (!s->warned) {
    if (rc != SQLITE_OK)
      tg_log_warn("provenance: checkpoint failed (%s, errno %d); recent entries are not yet "
                  "safe from a power loss",
                  sqlite3_errmsg(s->db), sqlite3_system_errno(s->db));
    else
      tg_log_warn("provenance: checkpoint copied %d of %d frames (a reader holds an older "
                  "snapshot); recent entries are not yet safe from a power loss",
                  nckpt, nlog);
  }
  s->warned = 1;
}

/* Now on the monotonic clock plus MS (the condition variable waits on it:
 * a wall clock stepped back does not stretch the interval). */
static void deadline_in(struct timespec *ts, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static void *sync_main(void *arg) {
  struct tg_prov_sync *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    struct timespec ts;
    deadline_in(&ts, s->interval_ms);
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    if (s->stop)
      break;
    pthread_mutex_unlock(&s->mu);
    checkpoint(s);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  checkpoint(s); /* what was committed before the stop */
  return NULL;
}

int tg_prov_sync_start(const char *path, uint64_t interval_ms, struct tg_prov_sync **out,
                       struct tg_err *err) {
  struct tg_prov_sync *s = calloc(1, sizeof(*s));
  *out = NULL;
  if (s == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  s->interval_ms = interval_ms ? interval_ms : 1;
  int rc = tg_db_open(path, 0, &s->db, err);
  if (rc != 0) {
    free(s);
    return rc;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    tg_db_close(s->db);
    free(s);
    return tg_err_set(err, TG_EIO, "provenance: cannot start the checkpoint thread");
  }
  *out = s;
  return 0;
}

void tg_prov_sync_stop(struct tg_prov_sync *s) {
  if (s == NULL)
    return;
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  tg_db_close(s->db);
  free(s);
}

void tg_prov_sync_set_hold(struct tg_prov_sync *s, void (*hold)(void *arg, int on), void *arg) {
  pthread_mutex_lock(&s->mu);
  s->hold = hold;
  s->hold_arg = arg;
  pthread_mutex_unlock(&s->mu);
}

void tg_prov_sync_counts(struct tg_prov_sync *s, uint64_t *done, uint64_t *failed) {
  *done = s ? atomic_load(&s->done) : 0;
  *failed = s ? atomic_load(&s->failed) : 0;
}
