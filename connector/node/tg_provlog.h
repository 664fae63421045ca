/* tg_provlog: the node's provenance log (DIR/provenance.db): entries staged
 * by writer jobs are appended in one durable transaction per batch (group
 * commit), tree heads are signed with the node key at [provenance]
 * sth_interval when the tree grew, and the log's health is published for
 * /healthz and /metrics. The log opened by tg_provlog_open stages the writer
 * thread's entries and signs; a twin (tg_provlog_twin) stages and appends on
 * one loop thread (tg_writer.h: the data path's entries). One mutex in the core guards the
 * log, its tree and the signing state: appends, signatures and
 * tg_provlog_lock'ed readers take it; staging is each object's own. */
#ifndef TG_PROVLOG_H
#define TG_PROVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "tg_prov.h"

struct tg_err;
struct tg_provlog;

/* Where a staged entry ended up, filled on the writer thread before the
 * job's DONE runs. RC is 0 when the entry is durable; then INDEX is its
 * position and TREE_SIZE / ROOT the tree right after its batch. */
struct tg_provlog_result {
  int rc;
  uint64_t index;
  uint64_t tree_size;
  uint8_t root[TG_PROV_HASH];
  char node[TG_PROV_MAX_NODE + 1]; /* this node's id */
};

/* Opens DIR/provenance.db for node NODE_ID, checks it (tg_prov_log_open, and
 * the stored tree heads' signatures against DIR/node.crt when there is one)
 * and logs a broken log with its first bad index. A log that cannot be opened
 * at all is not fatal either: *OUT then logs nothing and says so in its
 * health. SYNC_INTERVAL_MS ([provenance] sync_interval): 0 syncs every batch
 * to disk before any of its jobs is answered; otherwise a batch is answered
 * once written (it survives the process's crash) and a checkpoint thread
 * syncs the log every SYNC_INTERVAL_MS (what a power loss can take).
 * Never fails but for memory: 0 or TG_ENOMEM. */
int tg_provlog_open(const char *dir, const char *node_id, uint64_t sth_interval_ms,
                    uint64_t sync_interval_ms, struct tg_provlog **out);
/* Signs a last tree head if the tree grew, closes the log. NULL is a no-op. */
void tg_provlog_close(struct tg_provlog *p);

/* Stages a copy of E (its strings too) for the next flush; RES (borrowed until
 * the flush, may be NULL) gets the outcome. 0, TG_EPERM (log broken or not
 * open), TG_ENOMEM. */
int tg_provlog_stage(struct tg_provlog *p, const struct tg_prov_entry *e,
                     struct tg_provlog_result *res);
/* The number of staged entries, and dropping those past MARK (a job rolled back). */
size_t tg_provlog_mark(const struct tg_provlog *p);
void tg_provlog_unstage(struct tg_provlog *p, size_t mark);
/* Drops the staged entries FROM..TO-1 (a rolled-back job's in a batch whose
 * later entries stay), keeping the others in their order. */
void tg_provlog_unstage_range(struct tg_provlog *p, size_t from, size_t to);
/* Appends every staged entry in one transaction and fills their results. */
void tg_provlog_flush(struct tg_provlog *p);
/* Signs a tree head when the interval passed and the tree grew (NOW_MS: the
 * wall clock). Returns the milliseconds until the next look. */
uint64_t tg_provlog_tick(struct tg_provlog *p, uint64_t now_ms);
/* A tree head over the whole log in *STH: a new one when the tree grew since
 * the newest (at most one signature per 250 ms; the newest otherwise).
 * 0, TG_ENOENT (empty and never signed), TG_EPERM (broken: refused), or the
 * signer's code. */
int tg_provlog_sth(struct tg_provlog *p, struct tg_prov_sth *sth, struct tg_err *err);
/* This node's id (borrowed). */
const char *tg_provlog_node(const struct tg_provlog *p);
/* The node directory (borrowed). */
const char *tg_provlog_dir(const struct tg_provlog *p);
/* The open log (borrowed), or NULL when it could not be opened. Reading it
 * (entries, proofs, sizes) while twins may append: between tg_provlog_lock
 * and tg_provlog_unlock (not around tg_provlog_sth, which locks itself). */
struct tg_prov_log *tg_provlog_log(struct tg_provlog *p);
void tg_provlog_lock(struct tg_provlog *p);
void tg_provlog_unlock(struct tg_provlog *p);
/* 1 when entries may be appended by twins on loop threads: the log is open
 * and its appends only reach the operating system ([provenance]
 * sync_interval > 0; an append then waits for no sync, but for the first
 * append after the WAL starts over, which syncs the new WAL's header). */
int tg_provlog_direct(const struct tg_provlog *p);
/* A twin of P for one loop thread: its own staging (tg_provlog_stage, mark,
 * unstage, flush) over P's log. Freed before P is closed. 0 or TG_ENOMEM. */
int tg_provlog_twin(struct tg_provlog *p, struct tg_provlog **out);
void tg_provlog_twin_free(struct tg_provlog *t);

/* The log's state for /healthz and /metrics, from any thread. */
struct tg_provlog_health {
  int enabled;              /* 0 with [provenance] log = off (then the rest means nothing) */
  int open;                 /* 1 once a log was opened */
  int ok;                   /* 1 when open and not broken */
  uint64_t size;            /* entries */
  uint64_t first_bad;       /* when broken */
  uint64_t last_sth_ms;     /* time of the newest tree head, 0 if none */
  uint64_t appended, failed; /* entries appended / refused since start */
  uint64_t commits;          /* durable commits that appended them (group commit) */
  char why[160];            /* when not ok */
};
void tg_provlog_health(struct tg_provlog_health *out);

/* The node's own entries from a loop: time set to now, appended through the
 * process's writer (fire and forget, failures logged). For hooks where a
 * change is committed outside the writer (peers, certificates). */
struct tg_writer_port;
void tg_provlog_note(struct tg_writer_port *port, const struct tg_prov_entry *e);

/* A change this node committed (catalog, vocabulary, peer, certificate):
 * an entry of KIND whose dataset field names WHAT (a dataset id, scheme URI,
 * profile, peer or certificate; borrowed) and whose owner is this node.
 * tg_provlog_event stages it inside a writer job (one line where the job
 * commits the change); tg_provlog_note_event sends it from a loop. */
void tg_provlog_event(struct tg_provlog *p, int kind, const char *what);
void tg_provlog_note_event(struct tg_writer_port *port, int kind, const char *what);

/* Microseconds since the epoch (wall clock). */
uint64_t tg_provlog_now_us(void);

#endif
