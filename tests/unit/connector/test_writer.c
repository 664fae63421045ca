/* Unit tests for tg_writer's batches and their provenance entries: jobs of
 * both kinds stage their entries in the order they were submitted, a failed
 * database job loses only its own entries, and a staged range can be dropped
 * from the middle of a batch with the rest kept in order; the writer is done
 * with a port before its loop can take the last result; a flush out of
 * memory answers its entries with the error. */
#include "tg_writer.h"
#include "tg_provlog.h"
#include "tg_prov.h"
#include "tg_db.h"
#include "tg_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NODE "t"

struct job {
  const char *what; /* the entry's dataset field */
  int fail;         /* the job returns TG_EINVAL after staging */
  int hold;         /* the job waits until RELEASED is set */
  int done_rc;
  int done;
};

static atomic_int started, released, ndone;

static int job_run(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err) {
  struct job *j = arg;
  (void)err;
  if (j->hold) {
    atomic_store(&started, 1);
    for (int i = 0; i < 2000 && !atomic_load(&released); i++)
      nanosleep(&(struct timespec){0, 1000000L}, NULL);
  }
  tg_provlog_event(ctx->prov, TG_PROV_CATALOG_CHANGE, j->what);
  return j->fail ? TG_EINVAL : 0;
}

static void job_done(void *arg, int rc, const struct tg_err *err) {
  struct job *j = arg;
  (void)err;
  j->done_rc = rc;
  j->done = 1;
  atomic_fetch_add(&ndone, 1);
}

/* The writer thread's wake-up of a port (uv_async_send) against the port's
 * end: once the loop took the last result it may end and free the port, so
 * the writer must be done with the port by then. uv_async_send is wrapped
 * (-Wl,--wrap in tests/Makefile.inc): when armed, the writer's second
 * wake-up waits until the test freed the port (or half a second), then reads
 * the handle as uv_async_send does. */
int __real_uv_async_send(uv_async_t *a);
int __wrap_uv_async_send(uv_async_t *a);

static pthread_t main_thread;
static atomic_int slow_armed, sends, slow_entered, port_gone;

int __wrap_uv_async_send(uv_async_t *a) {
  if (atomic_load(&slow_armed) && !pthread_equal(pthread_self(), main_thread) &&
      atomic_fetch_add(&sends, 1) == 1) {
    atomic_store(&slow_entered, 1);
    for (int i = 0; i < 500 && !atomic_load(&port_gone); i++)
      nanosleep(&(struct timespec){0, 1000000L}, NULL);
    (void)*(void *volatile *)&a->data; /* freed with the port? (ASan says) */
  }
  return __real_uv_async_send(a);
}

/* realloc is wrapped too: when armed, the next call (from the node library)
 * fails as when memory runs out. */
void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static atomic_int realloc_fail;

void *__wrap_realloc(void *ptr, size_t size) {
  if (atomic_exchange(&realloc_fail, 0))
    return NULL;
  return __real_realloc(ptr, size);
}

/* Collects the datasets of the log's entries, comma-separated. */
struct seen {
  char text[512];
};

static int seen_cb(void *arg, uint64_t index, const uint8_t *body, size_t len) {
  struct seen *s = arg;
  struct tg_prov_entry *e = NULL;
  (void)index;
  assert_int_equal(tg_prov_entry_decode(body, len, &e, NULL), 0);
  size_t n = strlen(s->text);
  snprintf(s->text + n, sizeof(s->text) - n, "%s%s", n ? "," : "", e->dataset);
  tg_prov_entry_free(e);
  return 0;
}

static void log_text(const char *dir, struct seen *s) {
  char path[512];
  struct tg_prov_log *log = NULL;
  snprintf(path, sizeof(path), "%s/provenance.db", dir);
  memset(s, 0, sizeof(*s));
  assert_int_equal(tg_prov_log_open(path, &log, NULL), 0);
  assert_int_equal(tg_prov_log_read(log, 0, tg_prov_log_size(log), seen_cb, s, NULL), 0);
  tg_prov_log_close(log);
}

static void rm_dir(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void start_sync(char *dir, struct tg_writer **w, uint64_t sync_ms) {
  char db[512];
  struct tg_provlog *prov = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  assert_non_null(mkdtemp(dir));
  snprintf(db, sizeof(db), "%s/node.db", dir);
  sqlite3 *h = NULL; /* the node creates its database before the writer starts */
  assert_int_equal(tg_db_open(db, 1, &h, NULL), 0);
  tg_db_close(h);
  assert_int_equal(tg_provlog_open(dir, NODE, 3600000, sync_ms, &prov), 0);
  int rc = tg_writer_start(db, NODE, prov, w, &err);
  if (rc != 0)
    fail_msg("writer: %s", tg_err_msg(&err, rc));
}

/* Every append synced before its answer: log jobs go through the writer. */
static void start(char *dir, struct tg_writer **w) { start_sync(dir, w, 0); }

/* A writer over DIR (sync interval SYNC_MS) and a loop with its port. */
static void begin(char *dir, struct tg_writer **w, uv_loop_t *loop, struct tg_writer_port **port,
                  uint64_t sync_ms) {
  atomic_store(&started, 0);
  atomic_store(&released, 0);
  atomic_store(&ndone, 0);
  start_sync(dir, w, sync_ms);
  assert_int_equal(uv_loop_init(loop), 0);
  assert_int_equal(tg_writer_port_new(loop, port), 0);
}

/* Closes the port and the loop, stops the writer, and checks that the log's
 * entries are EXPECT (their dataset fields, comma-separated). */
static void finish(const char *dir, uv_loop_t *loop, struct tg_writer_port *port,
                   struct tg_writer *w, const char *expect) {
  tg_writer_port_close(port);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(loop), 0);
  tg_writer_stop(w);
  struct seen s;
  log_text(dir, &s);
  assert_string_equal(s.text, expect);
  rm_dir(dir);
}

/* One batch of mixed jobs, held together behind a first job that waits. */
static void test_mixed_batch_order(void **state) {
  (void)state;
  char dir[] = "/tmp/tg-writer-test.XXXXXX";
  struct tg_writer *w = NULL;
  struct tg_writer_port *port = NULL;
  uv_loop_t loop;
  struct job jobs[] = {
      {"a", 0, 1, 0, 0}, /* held: the rest queue up behind it, one batch */
      {"b", 0, 0, 0, 0}, {"c", 0, 0, 0, 0}, {"d", 1, 0, 0, 0},
      {"e", 0, 0, 0, 0}, {"f", 0, 0, 0, 0},
  };
  const int nodb[] = {0, 0, 1, 0, 1, 0};
  const size_t n = sizeof(jobs) / sizeof(jobs[0]);
  begin(dir, &w, &loop, &port, 0);
  assert_int_equal(tg_writer_submit(w, port, job_run, job_done, &jobs[0]), 0);
  for (int i = 0; i < 2000 && !atomic_load(&started); i++)
    nanosleep(&(struct timespec){0, 1000000L}, NULL);
  assert_true(atomic_load(&started));
  for (size_t i = 1; i < n; i++)
    assert_int_equal((nodb[i] ? tg_writer_submit_log : tg_writer_submit)(w, port, job_run,
                                                                          job_done, &jobs[i]),
                     0);
  atomic_store(&released, 1);
  while (atomic_load(&ndone) < (int)n)
    uv_run(&loop, UV_RUN_ONCE);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(jobs[i].done_rc, jobs[i].fail ? TG_EINVAL : 0);
  /* In submission order; the failed database job's entry alone is gone. */
  finish(dir, &loop, port, w, "a,b,c,e,f");
}

/* Two results: the loop takes both at the first wake-up while the writer is
 * still about to send the second one, ends, and its port is freed (as
 * tsunagud's worker threads do at their end); the second wake-up must not
 * reach the freed port. */
static void test_deliver_then_port_freed(void **state) {
  (void)state;
  char dir[] = "/tmp/tg-writer-test.XXXXXX";
  struct tg_writer *w = NULL;
  struct tg_writer_port *port = NULL;
  uv_loop_t loop;
  struct job jobs[] = {{"x", 0, 0, 0, 0}, {"y", 0, 0, 0, 0}};
  atomic_store(&ndone, 0);
  start(dir, &w);
  main_thread = pthread_self();
  atomic_store(&sends, 0);
  atomic_store(&slow_entered, 0);
  atomic_store(&port_gone, 0);
  atomic_store(&slow_armed, 1);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(tg_writer_port_new(&loop, &port), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(tg_writer_submit(w, port, job_run, job_done, &jobs[i]), 0);
  /* Both results are in the port's list before the loop looks. */
  for (int i = 0; i < 2000 && !atomic_load(&slow_entered); i++)
    nanosleep(&(struct timespec){0, 1000000L}, NULL);
  assert_true(atomic_load(&slow_entered));
  uv_run(&loop, UV_RUN_DEFAULT); /* ends once nothing is in flight */
  assert_int_equal(atomic_load(&ndone), 2);
  tg_writer_port_close(port);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  atomic_store(&port_gone, 1);
  tg_writer_stop(w); /* joins the writer: its last wake-up is over */
  atomic_store(&slow_armed, 0);
  rm_dir(dir);
}

/* tg_provlog_unstage_range drops a middle range and keeps the order. */
static void test_unstage_range(void **state) {
  (void)state;
  char dir[] = "/tmp/tg-writer-test.XXXXXX";
  struct tg_provlog *prov = NULL;
  assert_non_null(mkdtemp(dir));
  assert_int_equal(tg_provlog_open(dir, NODE, 3600000, 0, &prov), 0);
  const char *names[] = {"p", "q", "r", "s", "t"};
  for (int i = 0; i < 5; i++)
    tg_provlog_event(prov, TG_PROV_CATALOG_CHANGE, names[i]);
  assert_int_equal(tg_provlog_mark(prov), 5);
  tg_provlog_unstage_range(prov, 1, 3);
  assert_int_equal(tg_provlog_mark(prov), 3);
  tg_provlog_unstage_range(prov, 2, 99); /* clipped to what is staged */
  assert_int_equal(tg_provlog_mark(prov), 2);
  tg_provlog_unstage_range(prov, 1, 1); /* empty */
  assert_int_equal(tg_provlog_mark(prov), 2);
  tg_provlog_flush(prov);
  tg_provlog_close(prov);
  struct seen s;
  log_text(dir, &s);
  assert_string_equal(s.text, "p,s");
  rm_dir(dir);
}

/* A flush that cannot get its scratch memory answers every staged entry
 * with the error (nothing appended) and stays usable. */
static void test_flush_out_of_memory(void **state) {
  (void)state;
  char dir[] = "/tmp/tg-writer-test.XXXXXX";
  struct tg_provlog *prov = NULL;
  struct tg_provlog_result res[2];
  struct tg_prov_entry e;
  assert_non_null(mkdtemp(dir));
  assert_int_equal(tg_provlog_open(dir, NODE, 3600000, 0, &prov), 0);
  memset(&e, 0, sizeof(e));
  e.kind = TG_PROV_CATALOG_CHANGE;
  e.outcome = TG_PROV_COMPLETE;
  e.owner_node = NODE;
  e.dataset = "lost";
  assert_int_equal(tg_provlog_stage(prov, &e, &res[0]), 0);
  atomic_store(&realloc_fail, 1); /* the flush's scratch array */
  tg_provlog_flush(prov);
  atomic_store(&realloc_fail, 0);
  assert_int_equal(res[0].rc, TG_ENOMEM);
  assert_int_equal(tg_provlog_mark(prov), 0);
  e.dataset = "kept";
  assert_int_equal(tg_provlog_stage(prov, &e, &res[1]), 0);
  tg_provlog_flush(prov);
  assert_int_equal(res[1].rc, 0);
  assert_int_equal(res[1].index, 0);
  tg_provlog_close(prov);
  struct seen s;
  log_text(dir, &s);
  assert_string_equal(s.text, "kept");
  rm_dir(dir);
}

/* With appends that cost no disk wait ([provenance] sync_interval > 0), a
 * log job (the data path's entry) is appended and answered on its loop while
 * the writer is still inside a long database job; before, it queued behind
 * it (a read answered during a 20,000-row ingest waited 240 ms). */
static void test_log_job_not_behind_db(void **state) {
  (void)state;
  char dir[] = "/tmp/tg-writer-test.XXXXXX";
  struct tg_writer *w = NULL;
  struct tg_writer_port *port = NULL;
  uv_loop_t loop;
  struct job held = {"held", 0, 1, 0, 0}, quick = {"quick", 0, 0, 0, 0};
  begin(dir, &w, &loop, &port, 1000);
  assert_int_equal(tg_writer_submit(w, port, job_run, job_done, &held), 0);
  for (int i = 0; i < 2000 && !atomic_load(&started); i++)
    nanosleep(&(struct timespec){0, 1000000L}, NULL);
  assert_true(atomic_load(&started));
  assert_int_equal(tg_writer_submit_log(w, port, job_run, job_done, &quick), 0);
  for (int i = 0; i < 500 && !quick.done; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    nanosleep(&(struct timespec){0, 1000000L}, NULL);
  }
  int quick_first = quick.done && !held.done;
  atomic_store(&released, 1);
  while (atomic_load(&ndone) < 2)
    uv_run(&loop, UV_RUN_ONCE);
  assert_true(quick_first);
  assert_int_equal(quick.done_rc, 0);
  assert_int_equal(held.done_rc, 0);
  finish(dir, &loop, port, w, "quick,held"); /* in the order they were appended */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mixed_batch_order),
      cmocka_unit_test(test_unstage_range),
      cmocka_unit_test(test_deliver_then_port_freed),
      cmocka_unit_test(test_flush_out_of_memory),
      cmocka_unit_test(test_log_job_not_behind_db),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
