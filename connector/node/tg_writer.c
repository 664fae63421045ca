/* tg_writer: one writer thread per process with group commit: every job
 * queued while the previous transaction committed goes into the next one,
 * so many small writes share one fsync; results travel back to each job's
 * loop through its port's uv_async. */
#include "tg_writer.h"
#include "tg_cat.h"
#include "tg_voc_store.h"
#include "cat_obs.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_provlog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
  tg_writer_fn fn;
  tg_writer_done_fn done;
  void *arg;
  struct tg_writer_port *port;
  int nodb; /* tg_writer_submit_log: runs outside the node database's transaction */
  size_t staged_from, staged_to; /* a database job's staged entries in its batch */
  struct job *staged_next;       /* run_batch's reversed list of database jobs */
  int rc;
  struct tg_err err;
  struct job *next;
};

struct tg_writer_port {
  uv_async_t async;   /* wakes the loop when results arrive */
  pthread_mutex_t mu; /* guards head/tail (the writer appends) */
  struct job *head, *tail;
  int inflight;       /* jobs submitted and not yet delivered (loop thread only) */
  /* Log jobs of this loop turn (loop thread only): handed to the writer
   * together by IDLE at the next turn, or before a database job submitted
   * after them, so that a busy loop wakes the writer once per turn, not
   * once per answer. */
  uv_idle_t idle;
  struct job *pend_head, *pend_tail;
  struct tg_writer *pend_w;
  int handles;        /* open handles (async, idle) */
  /* When the log's appends cost no disk wait (tg_provlog_direct), the log
   * jobs are run and appended here on the loop through this twin: they
   * never queue behind the writer's database batches (a read answered
   * during a 20,000-row ingest waited for its commit: 240 ms) nor wait for
   * the writer thread to be scheduled. */
  struct tg_provlog *twin;
};

struct tg_writer {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct job *head, *tail; /* the queue */
  int stop;
  struct tg_writer_ctx ctx;
};

static _Atomic(struct tg_writer *) tg__writer;
struct tg_writer *tg_writer_get(void) { return atomic_load(&tg__writer); }
void tg_writer_set(struct tg_writer *w) { atomic_store(&tg__writer, w); }

/* --- ports --- */

static void port_on_async(uv_async_t *a) {
  struct tg_writer_port *p = a->data;
  pthread_mutex_lock(&p->mu);
  struct job *j = p->head;
  p->head = p->tail = NULL;
  pthread_mutex_unlock(&p->mu);
  while (j != NULL) {
    struct job *next = j->next;
    if (--p->inflight == 0)
      uv_unref((uv_handle_t *)&p->async);
    j->done(j->arg, j->rc, &j->err);
    free(j);
    j = next;
  }
}

int tg_writer_port_new(uv_loop_t *loop, struct tg_writer_port **out) {
  struct tg_writer_port *p = calloc(1, sizeof(*p));
  *out = NULL;
  if (p == NULL)
    return TG_ENOMEM;
  if (uv_async_init(loop, &p->async, port_on_async) != 0) {
    free(p);
    return TG_EIO;
  }
  uv_idle_init(loop, &p->idle);
  pthread_mutex_init(&p->mu, NULL);
  p->async.data = p;
  p->idle.data = p;
  p->handles = 2;
  uv_unref((uv_handle_t *)&p->async);
  *out = p;
  return 0;
}

static void port_free(struct tg_writer_port *p) {
  tg_provlog_twin_free(p->twin);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static void port_closed(uv_handle_t *h) {
  struct tg_writer_port *p = h->data;
  if (--p->handles == 0)
    port_free(p);
}

void tg_writer_port_close(struct tg_writer_port *p) {
  if (p == NULL)
    return;
  if (uv_is_closing((uv_handle_t *)&p->async)) {
    /* closed by a walk over the finished loop's handles: free the memory
     * (nothing is pending: the idle handle keeps a loop running until its
     * jobs are handed over) */
    port_free(p);
    return;
  }
  uv_close((uv_handle_t *)&p->async, port_closed);
  uv_close((uv_handle_t *)&p->idle, port_closed);
}

static void port_deliver(struct job *j) {
  struct tg_writer_port *p = j->port;
  j->next = NULL;
  pthread_mutex_lock(&p->mu);
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  /* Sent before the unlock: once the loop can take J (the last in flight),
   * it may end and free P, so nothing here may touch P after that. */
  uv_async_send(&p->async);
  pthread_mutex_unlock(&p->mu);
}

/* --- the writer thread --- */

static int exec(sqlite3 *db, const char *sql, struct tg_err *err) {
  return tg_db_exec(db, sql, err);
}

/* One job in its savepoint. */
static void run_job(struct tg_writer *w, struct job *j) {
  tg_err_clear(&j->err);
  size_t mark = w->ctx.prov ? tg_provlog_mark(w->ctx.prov) : 0;
  j->rc = exec(w->ctx.db, "SAVEPOINT tg_job", &j->err);
  if (j->rc == 0)
    j->rc = j->fn(&w->ctx, j->arg, &j->err);
  if (j->rc != 0) {
    exec(w->ctx.db, "ROLLBACK TO tg_job", NULL);
    if (w->ctx.prov)
      tg_provlog_unstage(w->ctx.prov, mark);
  }
  exec(w->ctx.db, "RELEASE tg_job", NULL);
  j->staged_from = mark;
  j->staged_to = w->ctx.prov ? tg_provlog_mark(w->ctx.prov) : 0;
}

/* A job of tg_writer_submit_log: no savepoint, its entries dropped if it fails. */
static void run_log_job(struct tg_writer_ctx *ctx, struct job *j) {
  tg_err_clear(&j->err);
  size_t mark = ctx->prov ? tg_provlog_mark(ctx->prov) : 0;
  j->rc = j->fn(ctx, j->arg, &j->err);
  if (j->rc != 0 && ctx->prov)
    tg_provlog_unstage(ctx->prov, mark);
}

/* The log jobs J.. (linked by next) with CTX, then one append of their
 * entries: on the writer thread, or on a loop through its twin. */
static void run_log_jobs(struct tg_writer_ctx *ctx, struct job *j) {
  for (; j != NULL; j = j->next)
    run_log_job(ctx, j);
  tg_provlog_flush(ctx->prov);
}

/* The batch J..: one transaction, one durable commit. Jobs run, and stage
 * their entries, in the order they were submitted, log jobs among the
 * database jobs; if the transaction fails, only the database jobs' entries
 * are dropped. */
static void run_batch(struct tg_writer *w, struct job *batch) {
  struct tg_err err;
  int rc = 0, db = 0;
  tg_err_clear(&err);
  for (struct job *j = batch; j && !db; j = j->next)
    db = !j->nodb;
  /* A batch of log jobs only (the data path's entries) leaves the node
   * database alone: no lock, no transaction. */
  if (db)
    rc = exec(w->ctx.db, "BEGIN IMMEDIATE", &err);
  for (struct job *j = batch; j; j = j->next) {
    if (j->nodb)
      run_log_job(&w->ctx, j);
    else if (rc == 0)
      run_job(w, j);
  }
  if (db && rc == 0) {
    rc = exec(w->ctx.db, "COMMIT", &err);
    if (rc != 0)
      exec(w->ctx.db, "ROLLBACK", NULL);
    else
      tg_cat_generation_bump(); /* catalog readers' caches see the commit */
  }
  if (rc != 0) {
    tg_log_error("writer: transaction failed: %s", tg_err_msg(&err, rc));
    /* Backwards, so that the earlier ranges keep their positions. */
    struct job *rev = NULL;
    for (struct job *j = batch; j; j = j->next)
      if (!j->nodb) {
        if (j->rc == 0) {
          j->rc = TG_EDB;
          j->err = err;
        }
        j->staged_next = rev;
        rev = j;
      }
    for (struct job *j = rev; j && w->ctx.prov; j = j->staged_next)
      tg_provlog_unstage_range(w->ctx.prov, j->staged_from, j->staged_to);
  }
  /* The entries of what was committed, in one more durable transaction of
   * their own file, before any job is answered. */
  if (w->ctx.prov)
    tg_provlog_flush(w->ctx.prov);
}

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits on W's queue (its mutex held) at most MS milliseconds, on the
 * monotonic clock (the condition variable's: see tg_writer_start). */
static void wait_ms(struct tg_writer *w, uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

static void *writer_main(void *arg) {
  struct tg_writer *w = arg;
  for (;;) {
    /* Tree heads are signed here, between batches, when their time came. */
    uint64_t due = tg_provlog_tick(w->ctx.prov, wall_ms());
    pthread_mutex_lock(&w->mu);
    if (w->head == NULL && !w->stop)
      wait_ms(w, due);
    if (w->head == NULL && !w->stop) {
      pthread_mutex_unlock(&w->mu);
      continue;
    }
    struct job *batch = w->head;
    w->head = w->tail = NULL;
    int stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    if (batch == NULL && stop)
      break;
    /* Log jobs reach this batch only when every append is synced (else their
     * loops append them: port_flush), or when a loop had no memory for its
     * twin; they are appended with the batch's entries. */
    run_batch(w, batch);
    while (batch != NULL) {
      struct job *next = batch->next;
      port_deliver(batch);
      batch = next;
    }
  }
  return NULL;
}

int tg_writer_start(const char *path, const char *node_id, struct tg_provlog *prov,
                    struct tg_writer **out, struct tg_err *err) {
  struct tg_writer *w = calloc(1, sizeof(*w));
  int rc;
  *out = NULL;
  if (w == NULL) {
    tg_provlog_close(prov);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  w->ctx.prov = prov;
  /* The writer's own page cache (64 MiB) keeps the indexes' hot pages. */
  if ((rc = tg_db_open(path, 0, &w->ctx.db, err)) != 0 ||
      (rc = tg_db_exec(w->ctx.db, "PRAGMA cache_size = -65536", err)) != 0 ||
      (rc = tg_cat_obs_open(w->ctx.db, &w->ctx.obs, err)) != 0 ||
      (rc = tg_cat_store_open(w->ctx.db, node_id, &w->ctx.cat, err)) != 0 ||
      (rc = tg_voc_store_open(w->ctx.db, &w->ctx.voc, err)) != 0) {
    tg_cat_store_free(w->ctx.cat);
    tg_cat_obs_free(w->ctx.obs);
    tg_db_close(w->ctx.db);
    tg_provlog_close(w->ctx.prov);
    free(w);
    return rc;
  }
  tg_cat_store_nest(w->ctx.cat);
  tg_voc_store_nest(w->ctx.voc);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
    tg_voc_store_close(w->ctx.voc);
    tg_cat_store_free(w->ctx.cat);
    tg_cat_obs_free(w->ctx.obs);
    tg_db_close(w->ctx.db);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    tg_provlog_close(w->ctx.prov);
    free(w);
    return tg_err_set(err, TG_EIO, "cannot start the writer thread");
  }
  *out = w;
  return 0;
}

void tg_writer_stop(struct tg_writer *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  tg_voc_store_close(w->ctx.voc);
  tg_cat_store_free(w->ctx.cat);
  tg_cat_obs_free(w->ctx.obs);
  tg_db_close(w->ctx.db);
  tg_provlog_close(w->ctx.prov);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

/* 1 when W is stopping. */
static int writer_stopping(struct tg_writer *w) {
  pthread_mutex_lock(&w->mu);
  int stop = w->stop;
  pthread_mutex_unlock(&w->mu);
  return stop;
}

/* Appends the jobs FIRST..LAST to W's queue and wakes the writer; 0 or
 * TG_ECANCELED when W is stopping. */
static int enqueue(struct tg_writer *w, struct job *first, struct job *last) {
  pthread_mutex_lock(&w->mu);
  if (w->stop) {
    pthread_mutex_unlock(&w->mu);
    return TG_ECANCELED;
  }
  if (w->tail)
    w->tail->next = first;
  else
    w->head = first;
  w->tail = last;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

/* Answers the jobs J.. on P's loop: with their own RC, or TG_ECANCELED. */
static void port_answer(struct tg_writer_port *p, struct job *j, int cancel) {
  while (j != NULL) {
    struct job *next = j->next;
    if (cancel) {
      tg_err_clear(&j->err);
      j->rc = TG_ECANCELED;
    }
    if (--p->inflight == 0)
      uv_unref((uv_handle_t *)&p->async);
    j->done(j->arg, j->rc, &j->err);
    free(j);
    j = next;
  }
}

/* Runs the log jobs J.. here, through P's twin of W's log: one append for
 * all, then their answers. 0, or TG_ENOMEM when no twin could be made (the
 * jobs untouched). */
static int port_run_direct(struct tg_writer_port *p, struct tg_writer *w, struct job *j) {
  if (p->twin == NULL && tg_provlog_twin(w->ctx.prov, &p->twin) != 0)
    return TG_ENOMEM;
  struct tg_writer_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.prov = p->twin; /* a log job touches nothing else */
  run_log_jobs(&ctx, j);
  port_answer(p, j, 0);
  return 0;
}

/* Runs P's pending log jobs here when the log's appends cost no disk wait
 * (tg_provlog_direct), else hands them to their writer, which syncs them
 * with its next batch. Run here, an answer never waits for another thread:
 * handing a loop turn's entries to the writer and their results back cost
 * two thread switches per turn (3,000 a second at 15,000 answers/s on one
 * core) and a turn of latency, more than the append itself; the writer was
 * only worth it to group the loops' turns into fewer commits, and a commit
 * that is not synced costs little. A writer that stopped in the meantime
 * answers them TG_ECANCELED here. */
static void port_flush(struct tg_writer_port *p) {
  struct job *j = p->pend_head, *last = p->pend_tail;
  struct tg_writer *w = p->pend_w;
  if (j == NULL)
    return;
  p->pend_head = p->pend_tail = NULL;
  if (tg_provlog_direct(w->ctx.prov)) {
    if (writer_stopping(w)) {
      uv_idle_stop(&p->idle);
      port_answer(p, j, 1);
      return;
    }
    /* Run here, the idle handle stays on for one more turn: the answers just
     * ended leave in the check phase after the poll, and an active idle
     * handle keeps that poll from blocking until the next event or timer
     * while they wait (port_on_idle stops it). */
    if (port_run_direct(p, w, j) == 0)
      return;
    /* no twin: to the writer after all */
  }
  uv_idle_stop(&p->idle);
  if (enqueue(w, j, last) != 0)
    port_answer(p, j, 1); /* a stopping writer */
}

static void port_on_idle(uv_idle_t *h) {
  struct tg_writer_port *p = h->data;
  if (p->pend_head == NULL)
    uv_idle_stop(h); /* the turn after a direct append, with nothing new */
  else
    port_flush(p);
}

static int submit(struct tg_writer *w, struct tg_writer_port *p, tg_writer_fn fn,
                  tg_writer_done_fn done, void *arg, int nodb) {
  if (w == NULL || p == NULL)
    return TG_ECANCELED;
  struct job *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return TG_ENOMEM;
  j->nodb = nodb;
  j->fn = fn;
  j->done = done;
  j->arg = arg;
  j->port = p;
  if (nodb && (p->pend_head == NULL || p->pend_w == w)) {
    /* A log job waits for the end of the loop turn, with the others. */
    if (p->pend_tail)
      p->pend_tail->next = j;
    else
      p->pend_head = j;
    p->pend_tail = j;
    p->pend_w = w;
    uv_idle_start(&p->idle, port_on_idle);
  } else {
    /* The log jobs submitted before it go first, to the writer. Run here
     * (tg_provlog_direct) they wait for the loop's next turn: their answers
     * must not run inside this caller's call. */
    if (p->pend_head != NULL && !tg_provlog_direct(p->pend_w->ctx.prov))
      port_flush(p);
    int rc = enqueue(w, j, j);
    if (rc != 0) {
      free(j);
      return rc;
    }
  }
  if (p->inflight++ == 0)
    uv_ref((uv_handle_t *)&p->async);
  return 0;
}

int tg_writer_submit(struct tg_writer *w, struct tg_writer_port *p, tg_writer_fn fn,
                     tg_writer_done_fn done, void *arg) {
  return submit(w, p, fn, done, arg, 0);
}

int tg_writer_submit_log(struct tg_writer *w, struct tg_writer_port *p, tg_writer_fn fn,
                         tg_writer_done_fn done, void *arg) {
  return submit(w, p, fn, done, arg, 1);
}
