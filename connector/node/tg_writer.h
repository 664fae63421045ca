/* tg_writer: the process's one database writer: a thread with its own SQLite
 * connection that takes jobs from any worker loop, runs every queued job in
 * one transaction (a savepoint each: a failing job is undone alone), commits
 * durably once (group commit), then hands each result back to the loop that
 * submitted the job, where its callback runs. No disk write on a loop. */
#ifndef TG_WRITER_H
#define TG_WRITER_H

#include <sqlite3.h>
#include <uv.h>

struct tg_err;
struct tg_cat_obs;
struct tg_cat_store;
struct tg_voc_store;
struct tg_writer;
struct tg_provlog;

/* What a job's work function may use, on the writer thread only. */
struct tg_writer_ctx {
  sqlite3 *db;            /* the writer's connection */
  struct tg_cat_obs *obs; /* the observation store on DB */
  struct tg_cat_store *cat; /* the catalog on DB (nested: the writer commits) */
  struct tg_voc_store *voc; /* the vocabularies on DB (nested too) */
  /* The provenance log (tg_provlog.h): a job stages entries with
   * tg_provlog_stage; they are appended durably, in one transaction for the
   * whole batch, after the batch's commit and before any job's DONE runs;
   * a job rolled back loses its entries. */
  struct tg_provlog *prov;
};

/* Runs on the writer thread inside a savepoint of the open transaction (no
 * BEGIN/COMMIT). Returns 0 (kept) or a TG_E* code (the savepoint is rolled
 * back), detail in ERR. */
typedef int (*tg_writer_fn)(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err);
/* Runs on the submitting loop's thread once the job's transaction committed
 * (RC 0) or failed (RC the job's code, or TG_EDB when the commit failed; ERR
 * says why, borrowed for the call). Always called exactly once per accepted
 * job. */
typedef void (*tg_writer_done_fn)(void *arg, int rc, const struct tg_err *err);

/* A loop's mailbox for finished jobs: one per loop that submits. */
struct tg_writer_port;

/* Starts the writer on the database at PATH (the node database, opened with
 * tg_db_open: WAL, synchronous=FULL) of node NODE_ID, with the provenance log
 * PROV (stolen, closed by tg_writer_stop; may be NULL). *OUT is stopped with
 * tg_writer_stop(). 0 or a TG_E* code (PROV is closed then too). */
int tg_writer_start(const char *path, const char *node_id, struct tg_provlog *prov,
                    struct tg_writer **out, struct tg_err *err);
/* Runs the jobs still queued, stops the thread and closes its connection.
 * Every port must be closed first. NULL is a no-op. */
void tg_writer_stop(struct tg_writer *w);

/* A port on LOOP (called on LOOP's thread). The port keeps LOOP alive only
 * while jobs submitted through it are in flight. 0 or TG_ENOMEM/TG_EIO. */
int tg_writer_port_new(uv_loop_t *loop, struct tg_writer_port **out);
/* Closes P's handle (on its loop's thread; nothing may be in flight, which
 * holds once the loop ran out of work), freed by the close; or, when a walk
 * over the ended loop closed the handle already, frees P at once (then from
 * any thread). NULL is a no-op. */
void tg_writer_port_close(struct tg_writer_port *p);

/* Queues FN(ARG) on W; DONE(ARG, ...) then runs on P's loop. Called on P's
 * loop thread. 0, or TG_ECANCELED when W is stopping (DONE is then never
 * called) or TG_ENOMEM. */
int tg_writer_submit(struct tg_writer *w, struct tg_writer_port *p, tg_writer_fn fn,
                     tg_writer_done_fn done, void *arg);

/* As tg_writer_submit, for a job that only stages provenance entries
 * (ctx->prov; nothing else of CTX is set): it runs outside the node
 * database's transaction, and a failing FN loses only the entries it staged.
 * The turn's log jobs go together at the end of the loop turn: when the
 * log's appends cost no disk wait (tg_provlog_direct: [provenance]
 * sync_interval > 0) they are appended on this loop thread, one append for
 * all of them, so that they never wait behind a database batch or for
 * another thread; else to the writer (one wake-up for all; in submission
 * order with database jobs, every append synced). If W stops before then,
 * DONE gets TG_ECANCELED. */
int tg_writer_submit_log(struct tg_writer *w, struct tg_writer_port *p, tg_writer_fn fn,
                         tg_writer_done_fn done, void *arg);

/* The process's writer (set by the server at start, NULL before), for route
 * handlers. */
struct tg_writer *tg_writer_get(void);
void tg_writer_set(struct tg_writer *w);

#endif
