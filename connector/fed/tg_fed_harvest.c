/* tg_fed_harvest: the harvester (one timer, one uv_async for kicks from any
 * thread, one client per round so each round sees the TLS material and CRL
 * as they are now, up to TG_FED_HARVEST_PARALLEL peers' feeds followed at
 * once; each page parsed and prepared on the thread pool while the next one
 * is fetched (on its Link) and the one before is written; the index written
 * off the loop, one job at a time on the thread pool, and checkpointed
 * beside it on a connection of its own) and tg_fed_locate. */
#include "tg_fed_harvest.h"

#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_peers.h"
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_node.h"
#include "tg_db.h"
#include "tg_settings.h"
#include "tg_worker.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDLE_MS 60000u /* how often an off harvest_interval is looked at again */

/* One peer's harvest within a round: its pages go fetch -> parse and
 * prepare (thread pool, one page of a peer at a time) -> apply (the serial
 * job queue). The next page is fetched as soon as the page before has
 * arrived, from the since its Link rel="next" names (else once it is
 * parsed: its last_seq), so the peer serves page k+2 while page k+1 is
 * parsed and page k written; a Link that disagrees with the parsed page
 * has the pages after it fetched again. At most one page is fetched, one
 * waits for its parse, one is parsed, and with those at most three wait for
 * or are in the index writes per peer. */
struct hv_peer {
  struct tg_fed_harvest *h;
  char node[64], url[512];
  struct tg_client_req *req; /* the page in flight, or NULL */
  struct tg_buf body;
  int64_t since;    /* the next page's since; -1: read it from the index first */
  int fetching;     /* a page is being fetched */
  int parsing;      /* a page is being parsed (at most one) */
  struct hv_parse *held; /* a page fetched while another was parsed: parsed next */
  int64_t link_since; /* the page in flight's Link rel="next" since, or -1 */
  int waiting;      /* parsed pages queued for or being applied */
  int more;         /* the last parsed page said more */
  int stop;         /* failed: fetch nothing more, apply nothing more */
  int halted;       /* a fetch failed (FAIL) with pages before it on their way: fetch nothing
                       more, write those, then end as failed */
  int started, ended;
  int pages;        /* pages fetched and parsed */
  int limit;        /* changes asked per page: TG_FED_HARVEST_PAGE, less after a page
                       too dense with values (parse_after) */
  uint64_t deadline; /* loop time past which it fetches no more this round
                        ([federation] harvest_peer_time from its start), 0: none */
  unsigned gen;     /* bumped when the feed is followed again from the index's
                       last seq: pages fetched before are dropped */
  char fail[600];   /* the first failure, "" when none */
  int transport;    /* that failure was the connection's or TLS's */
  uint64_t refused;
};

/* A page being parsed and prepared on the thread pool (one per peer at a
 * time; any number of peers at once), or held until its peer's page before
 * it is. */
struct hv_parse {
  uv_work_t work;
  struct tg_fed_harvest *h;
  struct hv_peer *p; /* not touched once H is stopping */
  char *body;        /* from malloc */
  size_t len;
  int64_t since;     /* the since it was fetched with */
  int64_t next_since; /* the since the page after it was fetched with, on its Link (-1: none) */
  unsigned gen;      /* the peer's gen when it was fetched */
  char node[64];     /* its peer's */
  struct tg_cat_index_page *pp; /* the page prepared for the index (tg_cat_index_prepare),
                                   or NULL with MSG set */
  int more;          /* the page says more, with an integer last_seq above SINCE */
  int64_t last_seq;  /* its last_seq */
  int dense;         /* refused unparsed: more than TG_FED_HARVEST_MAX_VALUES */
  char msg[300];
};

/* A peer's consecutive failures and when it may be tried again. */
struct hv_backoff {
  char node[64];
  unsigned failures;
  uint64_t due_ms; /* uv_now() */
  int limit;       /* changes a page asked of it, 0 for TG_FED_HARVEST_PAGE: a peer
                      whose pages were too dense keeps the smaller limit (parse_after) */
};

/* A write to the index, run on the thread pool: applying a page, recording
 * a failure, dropping a source. */
enum hv_kind { JOB_APPLY, JOB_FAIL, JOB_DROP, JOB_CHECKPOINT };
struct hv_job {
  uv_work_t work;
  struct tg_fed_harvest *h;
  enum hv_kind kind;
  char node[64];
  struct hv_peer *p; /* APPLY: the peer waiting for it */
  struct tg_cat_index_page *pp; /* APPLY: the page, parsed and prepared */
  int64_t since;     /* APPLY: the since it was fetched with; the index's
                        last seq when the apply found them apart */
  unsigned gen;      /* APPLY: the peer's gen when it was fetched */
  int skip;          /* APPLY: the peer failed meanwhile: apply nothing */
  char msg[600];   /* FAIL: the error to record; APPLY: why it failed */
  int rc, more;    /* APPLY: the outcome */
  json_t *refused; /* APPLY: the entries refused (new reference) */
  int64_t dropped; /* DROP: datasets removed */
  struct hv_job *next;
};

struct tg_fed_harvest {
  uv_timer_t timer; /* first: the close callbacks free H once both handles closed */
  uv_async_t async;
  int open_handles;
  uv_loop_t *loop;
  sqlite3 *db;
  struct tg_cat_store *ix;        /* the worker's index: reads on the loop */
  sqlite3 *wdb;                   /* the harvester's own connection to harvest.db */
  struct tg_cat_store *wix;       /* the index on WDB: written by the jobs only */
  /* The checkpointer: its own connection to harvest.db, on the thread pool
   * beside the writes (WDB does not checkpoint as it commits: that was a
   * fifth of the writer's time in a full harvest), one at a time. */
  sqlite3 *cdb;
  uv_work_t ckpt;
  int ckpt_busy;
  int ckpt_due;   /* pages applied since the last checkpoint started */
  int ckpt_again; /* a checkpoint of all is due once the one running ends */
  struct hv_job *q_head, *q_tail; /* jobs waiting */
  int busy;                       /* a job is on the thread pool */
  int parsing;                    /* pages being parsed on the thread pool */
  struct tg_client *client;       /* this round's, or NULL between rounds */
  struct hv_peer *peers;          /* this round's, from calloc */
  size_t n, pending, next, active; /* peers; not ended; the next to start; started, not ended */
  int filling;                     /* inside fill() */
  int running, again, forced, stopping;
  struct hv_backoff *bo; /* from realloc */
  size_t nbo;
};

static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tg_fed_harvest *tg__harvester; /* the kick target, under kick_lock */

static void round_start(struct tg_fed_harvest *h);

/* ---- timing ---- */

static uint64_t interval_ms(void) {
  struct tg_settings *s = tg_settings_get();
  uint64_t ms = s->harvest_interval_ms;
  tg_settings_put(s);
  return ms;
}

/* MS ±10 %. */
static uint64_t jitter(uint64_t ms) {
  uint64_t span = ms / 5;
  return span == 0 ? ms : ms - ms / 10 + uv_hrtime() % (span + 1);
}

static void on_timer(uv_timer_t *t) {
  round_start(t->data);
}

static void arm(struct tg_fed_harvest *h) {
  uint64_t ms = interval_ms();
  if (!h->stopping)
    uv_timer_start(&h->timer, on_timer, ms ? jitter(ms) : IDLE_MS, 0);
}

static struct hv_backoff *backoff_of(struct tg_fed_harvest *h, const char *node) {
  for (size_t i = 0; i < h->nbo; i++)
    if (strcmp(h->bo[i].node, node) == 0)
      return &h->bo[i];
  struct hv_backoff *b = realloc(h->bo, (h->nbo + 1) * sizeof(*b));
  if (b == NULL)
    return NULL;
  h->bo = b;
  b = &h->bo[h->nbo++];
  memset(b, 0, sizeof(*b));
  snprintf(b->node, sizeof(b->node), "%s", node);
  return b;
}

/* After a failure: the interval doubled per consecutive failure, capped. */
static void backoff_fail(struct tg_fed_harvest *h, const char *node) {
  struct hv_backoff *b = backoff_of(h, node);
  if (b == NULL)
    return;
  uint64_t ms = interval_ms() ? interval_ms() : IDLE_MS;
  unsigned f = b->failures < 16 ? b->failures : 16;
  ms <<= f;
  if (ms > TG_FED_HARVEST_BACKOFF_CAP_MS)
    ms = TG_FED_HARVEST_BACKOFF_CAP_MS;
  b->failures++;
  b->due_ms = uv_now(h->loop) + jitter(ms) - ms / 10; /* never later than the jittered round */
}

static int backoff_due(struct tg_fed_harvest *h, const char *node) {
  struct hv_backoff *b = backoff_of(h, node);
  return b == NULL || h->forced || uv_now(h->loop) >= b->due_ms;
}

/* ---- one peer ---- */

static void peer_fetch(struct hv_peer *p);
static struct hv_job *enqueue(struct tg_fed_harvest *h, enum hv_kind kind, const char *node,
                              const char *msg);
static void pump(struct tg_fed_harvest *h);

static void round_end(struct tg_fed_harvest *h) {
  for (size_t i = 0; i < h->n; i++)
    tg_buf_close(&h->peers[i].body);
  free(h->peers);
  h->peers = NULL;
  h->n = 0;
  tg_client_free(h->client); /* possibly from inside its last callback: allowed */
  h->client = NULL;
  h->running = 0;
  /* The round's pages are applied (a peer ends only then): what is left in
   * the WAL goes to the database file. Searches read a fully checkpointed
   * WAL not at all, where with up to wal_autocheckpoint pages left they
   * looked every page they read up in its index: a fifth of a harvested
   * search's CPU at 150,000 datasets. */
  if (!h->stopping && enqueue(h, JOB_CHECKPOINT, "", NULL) != NULL)
    pump(h);
  if (h->again && !h->stopping) {
    h->again = 0;
    h->forced = 1;
    round_start(h);
    return;
  }
  arm(h);
}

static void peer_start(struct hv_peer *p);

/* Starts waiting peers until TG_FED_HARVEST_PARALLEL are in flight, so at
 * most that many peers' pages are in memory at once however many peers
 * there are; ends the round once every peer ended. A peer that fails at
 * once ends inside peer_start: FILLING keeps that from recursing. */
static void fill(struct tg_fed_harvest *h) {
  if (h->filling)
    return;
  h->filling = 1;
  while (h->running && h->next < h->n && h->active < TG_FED_HARVEST_PARALLEL) {
    struct hv_peer *q = &h->peers[h->next++];
    h->active++;
    peer_start(q);
  }
  h->filling = 0;
  if (h->running && h->pending == 0)
    round_end(h);
}

static void peer_end(struct hv_peer *p) {
  struct tg_fed_harvest *h = p->h;
  p->req = NULL;
  p->ended = 1;
  h->active--;
  h->pending--;
  fill(h);
}

/* ---- jobs ---- */

static void maybe_free(struct tg_fed_harvest *h);
static void peer_applied(struct hv_peer *p, struct hv_job *j);

static void job_free(struct hv_job *j) {
  tg_cat_index_page_free(j->pp);
  json_decref(j->refused);
  free(j);
}

/* Applies the page in J (thread pool). */
static void job_apply(struct hv_job *j) {
  struct tg_err err;
  tg_err_clear(&err);
  j->rc =
      tg_cat_index_apply_page(j->h->wix, j->since, j->pp, &j->since, &j->refused, &err);
  if (j->rc != 0)
    snprintf(j->msg, sizeof(j->msg), "%s", tg_err_msg(&err, j->rc));
}

static void job_run(uv_work_t *w) {
  struct hv_job *j = w->data;
  if (j->kind == JOB_APPLY && j->skip)
    return;
  if (j->kind == JOB_APPLY)
    job_apply(j);
  else if (j->kind == JOB_FAIL)
    tg_cat_index_fail(j->h->wix, j->node, j->msg, NULL);
  else if (j->kind == JOB_CHECKPOINT)
    ; /* a mark in the queue: the checkpointer runs once the writes before it are done */
  else
    j->rc = tg_cat_index_drop_source(j->h->wix, j->node, &j->dropped, NULL);
}

static void pump(struct tg_fed_harvest *h);

static void ckpt_run(uv_work_t *w) {
  struct tg_fed_harvest *h = w->data;
  /* Passive: never waits for the writer or a reader; the WAL restarts at
   * the writer's next commit once it is all copied back. */
  sqlite3_wal_checkpoint_v2(h->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static void ckpt_start(struct tg_fed_harvest *h);

static void ckpt_after(uv_work_t *w, int status) {
  struct tg_fed_harvest *h = w->data;
  (void)status;
  h->ckpt_busy = 0;
  if (h->stopping)
    maybe_free(h);
  else if (h->ckpt_again)
    ckpt_start(h);
}

static void ckpt_start(struct tg_fed_harvest *h) {
  h->ckpt_due = 0;
  h->ckpt_again = 0;
  h->ckpt.data = h;
  if (uv_queue_work(h->loop, &h->ckpt, ckpt_run, ckpt_after) == 0)
    h->ckpt_busy = 1;
}

/* Starts a checkpoint beside the writes every CKPT_PAGES pages applied (at
 * a page of 1,000 datasets, some 25 MiB of WAL). */
#define CKPT_PAGES 8
static void ckpt_maybe(struct tg_fed_harvest *h) {
  if (!h->stopping && h->cdb != NULL && ++h->ckpt_due >= CKPT_PAGES && !h->ckpt_busy)
    ckpt_start(h);
}

/* Every write so far copied back: now, or once the checkpoint running
 * (which may have started before the last ones) ends. */
static void ckpt_all(struct tg_fed_harvest *h) {
  if (h->stopping || h->cdb == NULL)
    return;
  if (h->ckpt_busy)
    h->ckpt_again = 1;
  else
    ckpt_start(h);
}

static void job_after(uv_work_t *w, int status) {
  struct hv_job *j = w->data;
  struct tg_fed_harvest *h = j->h;
  (void)status;
  h->busy = 0;
  if (j->kind == JOB_APPLY && !j->skip)
    ckpt_maybe(h);
  else if (j->kind == JOB_CHECKPOINT)
    ckpt_all(h);
  if (!h->stopping && j->kind == JOB_APPLY)
    peer_applied(j->p, j);
  else if (!h->stopping && j->kind == JOB_DROP && j->rc == 0 && j->dropped > 0)
    tg_log_warn("harvest: dropped the %lld datasets of %s (%s)", (long long)j->dropped, j->node,
                j->msg);
  job_free(j);
  if (h->stopping)
    maybe_free(h);
  else
    pump(h);
}

static void pump(struct tg_fed_harvest *h) {
  struct hv_job *j = h->q_head;
  if (h->busy || j == NULL || h->stopping)
    return;
  h->q_head = j->next;
  if (h->q_head == NULL)
    h->q_tail = NULL;
  h->busy = 1;
  if (j->kind == JOB_APPLY && (j->p->stop || j->gen != j->p->gen))
    j->skip = 1; /* an earlier page of the peer failed or was fetched again: this one must not
                    follow it */
  j->work.data = j;
  if (uv_queue_work(h->loop, &j->work, job_run, job_after) != 0) {
    job_run(&j->work); /* no thread pool: on the loop, as before */
    job_after(&j->work, 0);
  }
}

/* Queues a job for NODE; MSG (may be NULL) is copied. NULL on ENOMEM. */
static struct hv_job *enqueue(struct tg_fed_harvest *h, enum hv_kind kind, const char *node,
                              const char *msg) {
  struct hv_job *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  j->h = h;
  j->kind = kind;
  snprintf(j->node, sizeof(j->node), "%s", node);
  snprintf(j->msg, sizeof(j->msg), "%s", msg ? msg : "");
  if (h->q_tail != NULL)
    h->q_tail->next = j;
  else
    h->q_head = j;
  h->q_tail = j;
  return j;
}

/* ---- one peer's outcome ---- */

/* 1 while P has more pages to fetch this round: not failed, the feed says
 * more, at most TG_FED_HARVEST_MAX_PAGES, and within [federation]
 * harvest_peer_time, so a peer that answers slowly (each page just inside
 * its timeout) holds one of the round's TG_FED_HARVEST_PARALLEL places for
 * that long, not for 100 page timeouts; it goes on from its last seq in the
 * next round. */
static int peer_more_due(const struct hv_peer *p) {
  if (p->stop || p->halted || !p->more || p->pages >= TG_FED_HARVEST_MAX_PAGES)
    return 0;
  return p->deadline == 0 || uv_now(p->h->loop) < p->deadline;
}

/* Ends P once nothing of it is in flight: recorded as a success or as its
 * first failure (logged, recorded, counted, backed off). */
static void peer_maybe_end(struct hv_peer *p) {
  struct tg_fed_harvest *h = p->h;
  if (p->ended || p->fetching || p->parsing || p->held != NULL || p->waiting > 0)
    return;
  if (peer_more_due(p))
    return; /* the next page is due (peer_try_fetch) */
  if (p->fail[0] != '\0') {
    tg_log_warn("harvest of %s failed: %s", p->node, p->fail);
    if (p->transport && strcasestr(p->fail, "revoked") != NULL)
      enqueue(h, JOB_DROP, p->node, "its certificate is revoked");
    enqueue(h, JOB_FAIL, p->node, p->fail);
    pump(h);
    tg_metrics_harvest(p->node, 0, p->refused);
    backoff_fail(h, p->node);
  } else {
    struct hv_backoff *b = backoff_of(h, p->node);
    if (b != NULL) {
      b->failures = 0, b->due_ms = 0;
      /* A smaller page limit grows back, doubling per good round: one rich
       * dataset must not hold a peer to a change a page for good. */
      if (b->limit > 0 && (b->limit *= 2) >= TG_FED_HARVEST_PAGE)
        b->limit = 0;
    }
    tg_metrics_harvest(p->node, 1, p->refused);
  }
  peer_end(p);
}

static void peer_cancel_fetch(struct hv_peer *p);

static int parse_start(struct hv_peer *p, struct hv_parse *x);

/* Starts the parse of P's held page, if any; 1 if it ran on the loop (P
 * may be gone then). */
static int peer_parse_held(struct hv_peer *p) {
  struct hv_parse *y = p->held;
  if (y == NULL)
    return 0;
  p->held = NULL;
  return parse_start(p, y);
}

/* P's pages from SINCE on are fetched again, MORE as the page before said:
 * the pages fetched before are dropped (GEN), those waiting for the index
 * too unless KEEP_QUEUED (they come before SINCE and join up). */
static void peer_rewind(struct hv_peer *p, int64_t since, int more, int keep_queued) {
  unsigned old = p->gen++;
  if (p->halted && !p->stop) { /* the fetch that failed is abandoned with the rest */
    p->halted = 0;
    p->fail[0] = '\0';
    p->transport = 0;
  }
  for (struct hv_job *j = p->h->q_head; keep_queued && j != NULL; j = j->next)
    if (j->kind == JOB_APPLY && j->p == p && j->gen == old)
      j->gen = p->gen;
  p->since = since;
  p->more = more;
  peer_cancel_fetch(p);
}

/* Drops P's page held for its parse, if any. */
static void peer_drop_held(struct hv_peer *p) {
  if (p->held == NULL)
    return;
  free(p->held->body);
  free(p->held);
  p->held = NULL;
}

/* Cancels P's fetch in flight, if any (no callback follows), and drops
 * what it had received. */
static void peer_cancel_fetch(struct hv_peer *p) {
  peer_drop_held(p); /* fetched from the same place: as stale */
  if (p->req == NULL)
    return;
  tg_client_req_cancel(p->req);
  p->req = NULL;
  p->fetching = 0;
  tg_buf_close(&p->body);
  tg_buf_init(&p->body);
}

/* Records MSG as P's failure: the first one counts, but a page's own
 * failure replaces that of a fetch after it (HALTED). */
static void peer_note_fail(struct hv_peer *p, const char *msg, int transport) {
  if (p->fail[0] != '\0' && !p->halted)
    return;
  snprintf(p->fail, sizeof(p->fail), "%s", msg);
  p->transport = transport;
  p->halted = 0;
}

/* P failed with MSG (peer_note_fail): nothing more is fetched or applied;
 * a fetch in flight is canceled. TRANSPORT: the connection or TLS failed
 * (not the peer's answer), where a revoked certificate shows: then the
 * peer's datasets go (its row stays, failing). */
static void peer_fail(struct hv_peer *p, const char *msg, int transport) {
  peer_note_fail(p, msg, transport);
  p->stop = 1;
  peer_cancel_fetch(p);
  peer_maybe_end(p);
}

static void log_refused(const struct hv_peer *p, const json_t *refused) {
  size_t i;
  const json_t *r;
  json_array_foreach(refused, i, r) {
    if (i == 3) {
      tg_log_warn("harvest of %s: %zu more entries refused", p->node, json_array_size(refused) - 3);
      break;
    }
    const char *id = json_string_value(json_object_get(r, "id"));
    tg_log_warn("harvest of %s: refused %s: %s", p->node, id ? id : "(no id)",
                json_string_value(json_object_get(r, "reason")));
  }
}

/* Fetches P's next page if one is due and room is left for it; 1 if it
 * did (P may be gone then: a fetch that fails at once fails P, and the last
 * peer to end ends the round and frees it). */
static int peer_try_fetch(struct hv_peer *p) {
  if (p->fetching || p->held != NULL || p->waiting + p->parsing > 2 || !peer_more_due(p))
    return 0;
  peer_fetch(p);
  return 1;
}

/* The next page of P, or P's end if it is done; callers touch P no more. */
static void peer_next(struct hv_peer *p) {
  if (!peer_try_fetch(p))
    peer_maybe_end(p);
}

/* P's page asked from a since other than the index's last seq LAST was
 * refused: P's feed is followed again from LAST, not failed. The fetch in
 * flight and the pages waiting were asked from the wrong place too: they
 * are dropped (GEN). Each fetch again counts as a page of the round, so a
 * since that keeps moving cannot loop. */
static void peer_refetch(struct hv_peer *p, int64_t last) {
  tg_log_info("harvest of %s: the page did not start at the index's last seq %lld: fetching again"
              " from there",
              p->node, (long long)last);
  peer_rewind(p, last, 1, 0);
}

/* The page job J of P ended: the next page, or the end of P's harvest. */
static void peer_applied(struct hv_peer *p, struct hv_job *j) {
  p->waiting--;
  if (j->skip) {
    peer_next(p); /* room for a page freed: one dropped for GEN is replaced */
    return;
  }
  if (j->rc == TG_ECONFLICT) {
    peer_refetch(p, j->since);
    peer_next(p);
    return;
  }
  if (j->rc != 0) {
    peer_fail(p, j->msg, 0);
    return;
  }
  p->refused += json_array_size(j->refused);
  log_refused(p, j->refused);
  peer_next(p);
}

/* The JSON values in BODY (LEN bytes) as parsing would make them: each
 * '{', '[' and ',' outside strings, counted up to MAX + 1. One pass with no
 * allocation, so a page is measured before jansson spends memory on it. */
static long count_values(const char *body, size_t len, long max) {
  long n = 0;
  int in_string = 0, escaped = 0;
  for (size_t i = 0; i < len && n <= max; i++) {
    char c = body[i];
    if (in_string) {
      if (escaped)
        escaped = 0;
      else if (c == '\\')
        escaped = 1;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{' || c == '[' || c == ',') {
      n++;
    }
  }
  return n;
}

/* 1 if PAGE has the shape of a feed page of at most TG_FED_HARVEST_PAGE
 * changes, else 0 with why in MSG (size N). The apply checks the rest; this
 * much is checked here so a page too big is dropped before it waits. */
static int page_shape_ok(const json_t *page, char *msg, size_t n) {
  const json_t *ch = json_object_get(page, "changes");
  if (!json_is_object(page) || !json_is_array(ch)) {
    snprintf(msg, n, "not a change feed page ({\"changes\": [...], \"last_seq\"})");
    return 0;
  }
  if (json_array_size(ch) > TG_FED_HARVEST_PAGE) {
    snprintf(msg, n, "the feed page has %zu changes (at most %d)", json_array_size(ch),
             TG_FED_HARVEST_PAGE);
    return 0;
  }
  return 1;
}

static void parse_run(uv_work_t *w) {
  struct hv_parse *x = w->data;
  json_t *page = NULL;
  json_error_t je;
  const char *body = x->body ? x->body : "";
  /* Parsed, a page dense with values (empty objects) takes some 80 times
   * the bytes of its text: the values are counted first, and a page with
   * more than a real page of changes could hold is refused unparsed. */
  if ((x->dense = count_values(body, x->len, TG_FED_HARVEST_MAX_VALUES) >
                  TG_FED_HARVEST_MAX_VALUES)) {
    snprintf(x->msg, sizeof(x->msg), "the feed page has more than %ld JSON values: not parsed",
             TG_FED_HARVEST_MAX_VALUES);
    goto done;
  }
  /* The text goes along only when it holds nothing the tree does not (no
   * key twice in an object): datasets are then stored as their bytes came.
   * A page with a key twice is read as before (the last one counts). */
  int raw = 1;
  page = json_loadb(body, x->len, JSON_REJECT_DUPLICATES, &je);
  if (page == NULL && json_error_code(&je) == json_error_duplicate_key) {
    raw = 0;
    page = json_loadb(body, x->len, 0, &je);
  }
  if (page == NULL) {
    snprintf(x->msg, sizeof(x->msg), "the feed is not JSON: %s", je.text);
  } else if (page_shape_ok(page, x->msg, sizeof(x->msg))) {
    /* Checked, validated and worked out for the index here, so the writer
     * (one job at a time) runs SQL only; the tree is freed here too. */
    struct tg_err err;
    tg_err_clear(&err);
    int rc = tg_cat_index_prepare(x->node, page, raw ? body : NULL, x->len, &x->pp, &err);
    if (rc != 0)
      snprintf(x->msg, sizeof(x->msg), "%s", tg_err_msg(&err, rc));
    const json_t *ls = json_object_get(page, "last_seq");
    /* A page whose last_seq is missing or goes nowhere fails in the apply. */
    x->more = json_is_true(json_object_get(page, "more")) && json_is_integer(ls) &&
              json_integer_value(ls) > x->since;
    x->last_seq = json_integer_value(ls);
  }
  json_decref(page);
done:
  free(x->body);
  x->body = NULL;
}

static void parse_after(uv_work_t *w, int status);

/* Parses X of P on the thread pool (on the loop without one: then 1, and P
 * may be gone, as the round may have ended in parse_after). */
static int parse_start(struct hv_peer *p, struct hv_parse *x) {
  p->parsing = 1;
  p->h->parsing++;
  x->work.data = x;
  if (uv_queue_work(p->h->loop, &x->work, parse_run, parse_after) != 0) {
    parse_run(&x->work);
    parse_after(&x->work, 0);
    return 1;
  }
  return 0;
}

/* Page X of its peer is parsed: queued for the index; the page held for
 * the parse is parsed next, and the next page fetched if it is due and was
 * not already (since = this page's last_seq; the apply checks that the
 * pages join up, as ever). */
static void parse_after(uv_work_t *w, int status) {
  struct hv_parse *x = w->data;
  struct tg_fed_harvest *h = x->h;
  struct hv_peer *p = x->p;
  (void)status;
  h->parsing--;
  if (h->stopping) {
    tg_cat_index_page_free(x->pp);
    free(x);
    maybe_free(h);
    return;
  }
  p->parsing = 0;
  struct tg_cat_index_page *pp = x->pp;
  int more = x->more;
  int64_t last = x->last_seq;
  char msg[300];
  snprintf(msg, sizeof(msg), "%s", x->msg);
  int64_t since = x->since, next_since = x->next_since;
  unsigned gen = x->gen;
  int dense = x->dense;
  free(x);
  if (p->stop) { /* failed meanwhile */
    tg_cat_index_page_free(pp);
    peer_maybe_end(p);
    return;
  }
  if (gen != p->gen) { /* asked from the wrong place: the feed is followed again */
    tg_cat_index_page_free(pp);
    if (p->held != NULL && p->held->gen == p->gen) {
      peer_parse_held(p);
      return;
    }
    peer_drop_held(p);
    peer_next(p);
    return;
  }
  if (pp == NULL && dense && p->limit > 1) {
    /* Real datasets can be that rich (up to 100 distributions each): the
     * same place again, fewer changes a page. What was fetched after it
     * came from its Link, and is fetched again. A single change still too
     * dense fails. */
    p->limit = p->limit / 8 > 0 ? p->limit / 8 : 1;
    struct hv_backoff *b = backoff_of(h, p->node);
    if (b != NULL)
      b->limit = p->limit; /* and in later rounds: a dense page is not fetched again each round */
    tg_log_info("harvest of %s: %s; asking %d changes a page", p->node, msg, p->limit);
    peer_rewind(p, since, 1, 1);
    peer_next(p);
    return;
  }
  if (pp == NULL) {
    peer_fail(p, msg, 0);
    return;
  }
  struct hv_job *j = enqueue(h, JOB_APPLY, p->node, NULL);
  if (j == NULL) {
    tg_cat_index_page_free(pp);
    peer_fail(p, "out of memory", 0);
    return;
  }
  p->pages++;
  if (next_since < 0) {
    p->more = more;
    if (more)
      p->since = last;
  } else if (!more || last != next_since) {
    /* The Link named another place than the page's own last_seq: what
     * was fetched after it is fetched again from there (or nothing). */
    tg_log_info("harvest of %s: the feed's Link said since=%lld, its page last_seq %lld",
                p->node, (long long)next_since, (long long)last);
    peer_rewind(p, more ? last : since, more, 1);
  }
  j->p = p;
  j->pp = pp;
  j->since = since;
  j->gen = p->gen;
  p->waiting++;
  pump(h);
  if (peer_parse_held(p))
    return;
  peer_try_fetch(p);
}

/* The since= of URL [B, E) (its query), or -1. */
static int64_t url_since(const char *b, const char *e) {
  for (const char *q = memchr(b, '?', (size_t)(e - b)); q != NULL && q < e;
       q = memchr(q + 1, '&', (size_t)(e - q - 1))) {
    if (e - q < 8 || strncmp(q + 1, "since=", 6) != 0)
      continue;
    int64_t n = 0;
    const char *d = q + 7;
    for (; d < e && *d >= '0' && *d <= '9' && n <= (INT64_MAX - 9) / 10; d++)
      n = n * 10 + (*d - '0');
    return d > q + 7 && (d == e || *d == '&' || *d == '#') ? n : -1;
  }
  return -1;
}

/* The since of the link whose rel is "next" in HEADERS' Link headers
 * ("<URL>; rel=\"next\", <URL>; rel=\"last\"" -- each URL with its own
 * parameters), or -1. */
static int64_t link_next_since(const char *const *headers) {
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
    if (strncasecmp(headers[i], "Link:", 5) != 0)
      continue;
    for (const char *lt = strchr(headers[i], '<'); lt != NULL;) {
      const char *gt = strchr(lt, '>');
      if (gt == NULL)
        break;
      const char *next = strchr(gt, '<'); /* the next link's URL; its parameters end there */
      size_t plen = next ? (size_t)(next - gt) : strlen(gt);
      char params[256];
      snprintf(params, sizeof(params), "%.*s", (int)(plen < 255 ? plen : 255), gt + 1);
      if (strstr(params, "rel=\"next\"") != NULL || strstr(params, "rel=next") != NULL)
        return url_since(lt + 1, gt);
      lt = next;
    }
  }
  return -1;
}

static int peer_on_head(void *ud, int status, const char *const *headers) {
  struct hv_peer *p = ud;
  p->link_since = status == 200 ? link_next_since(headers) : -1;
  return 0;
}

static int peer_on_data(void *ud, const char *data, size_t len) {
  struct hv_peer *p = ud;
  return tg_buf_append(&p->body, data, len) == 0 ? 0 : TG_ENOMEM;
}

static void peer_on_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct hv_peer *p = ud;
  char msg[600];
  p->req = NULL;
  p->fetching = 0;
  if (rc != 0 || status != 200) {
    tg_buf_close(&p->body);
    tg_buf_init(&p->body);
    if (rc != 0)
      snprintf(msg, sizeof(msg), "%s", tg_err_msg(err, rc));
    else
      snprintf(msg, sizeof(msg), "the peer answered %d", status);
    if (p->parsing || p->held != NULL || p->waiting > 0) {
      /* A page fetched ahead failed: the pages before it are written
       * first (they are good), then P ends with this failure. */
      peer_note_fail(p, msg, rc != 0);
      p->halted = 1;
      peer_maybe_end(p);
      return;
    }
    peer_fail(p, msg, rc != 0);
    return;
  }
  struct hv_parse *x = calloc(1, sizeof(*x));
  if (x == NULL) {
    peer_fail(p, "out of memory", 0);
    return;
  }
  x->h = p->h;
  x->p = p;
  snprintf(x->node, sizeof(x->node), "%s", p->node);
  x->since = p->since; /* unchanged while its fetch is in flight */
  x->next_since = -1;
  x->gen = p->gen;
  x->len = p->body.len;
  x->body = tg_buf_take(&p->body); /* the page is parsed off the loop */
  tg_buf_init(&p->body);
  if (p->link_since > p->since) { /* the next page now, while this one is parsed */
    x->next_since = p->link_since;
    p->since = p->link_since;
    p->more = 1;
  } else {
    p->more = 0; /* its parse tells */
  }
  if (p->parsing)
    p->held = x;
  else if (parse_start(p, x))
    return;
  peer_try_fetch(p);
}

static void peer_fetch(struct hv_peer *p) {
  static const char *const hdrs[] = {"Accept: application/json", NULL};
  char url[700], msg[600];
  struct tg_err err;
  tg_err_clear(&err);
  size_t ul = strlen(p->url);
  while (ul > 0 && p->url[ul - 1] == '/')
    ul--;
  int rc = 0;
  if (p->since < 0)
    rc = tg_cat_index_last_seq(p->h->ix, p->node, &p->since, &err);
  snprintf(url, sizeof(url), "%.*s/api/v1/catalog/changes?since=%lld&limit=%d", (int)ul, p->url,
           (long long)p->since, p->limit);
  struct tg_client_opts o = {.url = url,
                             .headers = hdrs,
                             .timeout_ms = TG_FED_HARVEST_PAGE_TIMEOUT_MS,
                             .max_response = TG_FED_HARVEST_MAX_RESPONSE,
                             .peer_node_id = p->node};
  struct tg_client_cb cb = {.on_head = peer_on_head, .on_data = peer_on_data, .on_done = peer_on_done};
  if (rc == 0 && strncmp(p->url, "https://", 8) != 0)
    rc = tg_err_set(&err, TG_EINVAL, "bad peer URL %s", p->url);
  p->fetching = 1;
  p->link_since = -1;
  if (rc == 0)
    rc = tg_client_request(p->h->client, &o, &cb, p, &p->req, &err);
  if (rc != 0) {
    p->fetching = 0;
    snprintf(msg, sizeof(msg), "cannot start: %s", tg_err_msg(&err, rc));
    peer_fail(p, msg, 0);
  }
}

/* Starts P's harvest: its first page. */
static void peer_start(struct hv_peer *p) {
  struct tg_settings *s = tg_settings_get();
  uint64_t budget = s->harvest_peer_time_ms;
  tg_settings_put(s);
  p->started = 1;
  p->deadline = budget ? uv_now(p->h->loop) + budget : 0;
  peer_fetch(p);
}

/* ---- rounds ---- */

/* 1 if NODE is in the peers list PEERS. */
static int listed(const json_t *peers, const char *node) {
  size_t i;
  const json_t *p;
  json_array_foreach(peers, i, p) {
    if (strcmp(json_string_value(json_object_get(p, "node_id")), node) == 0)
      return 1;
  }
  return 0;
}

/* 1 if NODE is one of the strings of A. */
static int among(const json_t *a, const char *node) {
  size_t i;
  const json_t *v;
  json_array_foreach(a, i, v) {
    if (strcmp(json_string_value(v), node) == 0)
      return 1;
  }
  return 0;
}

/* Drops the datasets of sources that are no longer among PEERS, or whose
 * certificate the CRL revokes (REVOKED: their ids). */
static void prune(struct tg_fed_harvest *h, const json_t *peers, const json_t *revoked) {
  json_t *src = NULL;
  if (tg_cat_index_sources_brief(h->ix, &src, NULL) != 0)
    return;
  size_t i;
  json_t *s;
  json_array_foreach(src, i, s) {
    const char *node = json_string_value(json_object_get(s, "node"));
    if (among(revoked, node))
      enqueue(h, JOB_DROP, node, "its certificate is revoked");
    else if (!listed(peers, node))
      enqueue(h, JOB_DROP, node, "no longer a peer");
  }
  json_decref(src);
  pump(h);
}

/* Fills the round's peers from PEERS, those due only. A revoked one is
 * still asked (its datasets were dropped by prune): the failure shows why. */
static int round_fill(struct tg_fed_harvest *h, const json_t *peers) {
  h->peers = calloc(json_array_size(peers) + 1, sizeof(*h->peers));
  if (h->peers == NULL)
    return TG_ENOMEM;
  size_t i;
  const json_t *j;
  json_array_foreach(peers, i, j) {
    const char *node = json_string_value(json_object_get(j, "node_id"));
    const char *url = json_string_value(json_object_get(j, "url"));
    if (node == NULL || url == NULL || !backoff_due(h, node))
      continue;
    struct hv_peer *p = &h->peers[h->n++];
    p->h = h;
    snprintf(p->node, sizeof(p->node), "%s", node);
    snprintf(p->url, sizeof(p->url), "%s", url);
    p->since = -1;
    p->more = 1;
    struct hv_backoff *b = backoff_of(h, node);
    p->limit = b != NULL && b->limit > 0 ? b->limit : TG_FED_HARVEST_PAGE;
    tg_buf_init(&p->body);
  }
  return 0;
}

static void round_start(struct tg_fed_harvest *h) {
  json_t *peers = NULL, *revoked = NULL;
  struct tg_settings *s = tg_settings_get();
  char crl[4200];
  tg_node_path(crl, sizeof(crl), s->dir, TG_NODE_CRL);
  int rc = h->stopping || interval_ms() == 0 ? TG_ECANCELED : 0;
  if (rc == 0)
    rc = tg_fed_peers_list(h->db, &peers, NULL);
  /* A peer revoked while it cannot be reached fails no fetch with a
   * revocation to show it: the CRL and the serial it last showed do. */
  if (rc == 0)
    rc = tg_fed_peers_revoked(h->db, crl, &revoked, NULL);
  if (rc == 0)
    prune(h, peers, revoked);
  if (rc == 0 && json_array_size(peers) > 0)
    rc = tg_fed_client_new(h->loop, s->dir, &h->client, NULL); /* TG_ENOENT: no federation yet */
  tg_settings_put(s);
  if (rc == 0 && json_array_size(peers) > 0)
    rc = round_fill(h, peers);
  json_decref(peers);
  json_decref(revoked);
  h->forced = 0;
  if (rc != 0 || h->n == 0) {
    free(h->peers);
    h->peers = NULL;
    tg_client_free(h->client);
    h->client = NULL;
    arm(h);
    return;
  }
  h->running = 1;
  h->pending = h->n;
  h->next = 0;
  h->active = 0;
  fill(h);
}

static void on_async(uv_async_t *a) {
  struct tg_fed_harvest *h = a->data;
  if (h->stopping)
    return;
  if (h->running) {
    h->again = 1;
    return;
  }
  uv_timer_stop(&h->timer);
  h->forced = 1;
  round_start(h);
}

/* ---- life ---- */

/* The harvester's own connection to DIR's harvest.db, for the jobs. */
static int open_writer(struct tg_fed_harvest *h, const char *dir, struct tg_err *err) {
  struct tg_settings *s = tg_settings_get();
  int rc = tg_node_harvest_db_open(dir, &h->wdb, err);
  /* The checkpointer copies the WAL back beside the writes (ckpt_maybe);
   * the writer checkpoints itself only past 256 MiB of WAL, should that
   * fall behind. Its own connection: a checkpoint on WDB would wait for
   * the write in progress. */
  if (rc == 0)
    rc = tg_db_exec(h->wdb, "PRAGMA wal_autocheckpoint = 65536", err);
  /* ... and a WAL grown by a large harvest is cut back to 64 MiB when it
   * starts over (SQLite keeps the file at its largest otherwise). */
  if (rc == 0)
    rc = tg_db_exec(h->wdb, "PRAGMA journal_size_limit = 67108864", err);
  if (rc == 0)
    rc = tg_node_harvest_db_open(dir, &h->cdb, err);
  if (rc == 0)
    rc = tg_cat_index_open(h->wdb, s->node_id, &h->wix, err);
  tg_settings_put(s);
  return rc;
}

int tg_fed_harvest_new(uv_loop_t *loop, sqlite3 *db, struct tg_cat_store *ix, const char *dir,
                       struct tg_fed_harvest **out, struct tg_err *err) {
  struct tg_fed_harvest *h = calloc(1, sizeof(*h));
  *out = NULL;
  if (h == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  h->loop = loop;
  h->db = db;
  h->ix = ix;
  int rc = open_writer(h, dir, err);
  if (rc != 0) {
    tg_cat_store_free(h->wix);
    tg_db_close(h->wdb);
    tg_db_close(h->cdb);
    free(h);
    return rc;
  }
  uv_timer_init(loop, &h->timer);
  uv_async_init(loop, &h->async, on_async);
  h->timer.data = h->async.data = h;
  h->open_handles = 2;
  uv_unref((uv_handle_t *)&h->timer);
  uv_unref((uv_handle_t *)&h->async);
  pthread_mutex_lock(&kick_lock);
  tg__harvester = h;
  pthread_mutex_unlock(&kick_lock);
  *out = h;
  return 0;
}

void tg_fed_harvest_start(struct tg_fed_harvest *h) {
  uv_timer_start(&h->timer, on_timer, 1000, 0); /* the first round soon after start */
}

void tg_fed_harvest_kick(void) {
  pthread_mutex_lock(&kick_lock);
  if (tg__harvester != NULL)
    uv_async_send(&tg__harvester->async);
  pthread_mutex_unlock(&kick_lock);
}

/* Frees H once its handles closed and no job runs. */
static void maybe_free(struct tg_fed_harvest *h) {
  if (h->open_handles > 0 || h->busy || h->parsing > 0 || h->ckpt_busy)
    return;
  tg_cat_store_free(h->wix);
  tg_db_close(h->wdb);
  tg_db_close(h->cdb);
  free(h->bo);
  free(h);
}

static void closed(uv_handle_t *hd) {
  struct tg_fed_harvest *h = hd->data;
  h->open_handles--;
  maybe_free(h);
}

void tg_fed_harvest_free(struct tg_fed_harvest *h) {
  if (h == NULL)
    return;
  pthread_mutex_lock(&kick_lock);
  if (tg__harvester == h)
    tg__harvester = NULL;
  pthread_mutex_unlock(&kick_lock);
  h->stopping = 1;
  tg_client_free(h->client); /* cancels the pages in flight: no callbacks */
  h->client = NULL;
  while (h->q_head != NULL) { /* waiting jobs are dropped; a running one ends first */
    struct hv_job *j = h->q_head;
    h->q_head = j->next;
    job_free(j);
  }
  h->q_tail = NULL;
  for (size_t i = 0; i < h->n; i++) {
    tg_buf_close(&h->peers[i].body);
    peer_drop_held(&h->peers[i]);
  }
  free(h->peers);
  h->peers = NULL;
  h->n = 0;
  h->running = 0;
  uv_timer_stop(&h->timer);
  uv_close((uv_handle_t *)&h->timer, closed);
  uv_close((uv_handle_t *)&h->async, closed);
}

/* ---- locate ---- */

/* The URL of NODE into OUT: the peers table, then (on a CA node) the
 * federation directory. */
static int node_url(struct tg_worker *w, const char *node, char *out, size_t n) {
  char ca[4096];
  if (tg_fed_peer_url(w->db, node, out, n, NULL) == 0)
    return 0;
  struct tg_settings *s = tg_settings_get();
  int rc = tg_fed_ca_dir(s->dir, ca, sizeof(ca));
  tg_settings_put(s);
  if (rc == 0)
    rc = tg_fed_member_url(ca, node, out, n, NULL);
  return rc == 0 ? 0 : TG_ENOENT;
}

int tg_fed_locate(struct tg_worker *w, const char *id, struct tg_fed_location *out,
                  struct tg_err *err) {
  memset(out, 0, sizeof(*out));
  if (tg_cat_dataset_owner(id, out->owner, sizeof(out->owner)) != 0)
    return tg_err_set(err, TG_EINVAL, "%s is not a dataset id (urn:tsunagu:NODE:dataset:ID)", id);
  struct tg_settings *s = tg_settings_get();
  int self = strcmp(out->owner, s->node_id) == 0;
  tg_settings_put(s);
  if (self) {
    out->source = "local";
    return 0;
  }
  int rc = w->harvested ? tg_cat_index_locate(w->harvested, id, out->owner, sizeof(out->owner),
                                              &out->harvested_at, err)
                        : TG_ENOENT;
  if (rc != 0 && rc != TG_ENOENT)
    return rc;
  out->source = rc == 0 ? "index" : "directory";
  if (node_url(w, out->owner, out->url, sizeof(out->url)) != 0 && rc != 0)
    return tg_err_set(err, TG_ENOENT,
                      "no owner known for %s: %s is neither a peer nor a member of the "
                      "federation directory, and no peer's feed carried the dataset",
                      id, out->owner);
  return 0;
}
