/* tg_fed_harvest: following every peer's change feed into the harvested
 * index (catalog/cat_index.c) on one worker's loop, and locating a dataset's
 * owner node from that index, the peers table and the federation directory. */
#ifndef TG_FED_HARVEST_H
#define TG_FED_HARVEST_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tg_err;
struct tg_cat_store;
struct tg_worker;
struct tg_fed_harvest;

#define TG_FED_HARVEST_PAGE 1000                /* changes per page (applied on the thread pool) */
#define TG_FED_HARVEST_PARALLEL 8               /* peers harvested at once */
#define TG_FED_HARVEST_MAX_PAGES 100            /* pages per peer and round */
#define TG_FED_HARVEST_MAX_RESPONSE (32u << 20) /* bytes of one page */
#define TG_FED_HARVEST_PAGE_TIMEOUT_MS 30000u
/* JSON values (each '{', '[' and ',' outside strings) in one page, counted
 * in the raw body before it is parsed: jansson spends up to about 300 bytes
 * of memory per value counted (nested empty objects, 5 bytes of body each),
 * so a 32 MiB page of them would take some 2 GB. A real change
 * counts about 90 (examples/datasets/river.json, with its @context and the
 * change's own members), one with all TG_CAT_MAX_KEYWORDS keywords about
 * 190; 256 per change on average leaves that room on every change of a full
 * page and caps one parsed page at about 77 MB. */
#define TG_FED_HARVEST_MAX_VALUES (256L * TG_FED_HARVEST_PAGE)
#define TG_FED_HARVEST_BACKOFF_CAP_MS (30u * 60 * 1000)

/* Creates the harvester on LOOP over the node database DB (the peers table)
 * and the worker's index IX (reads; all borrowed, outliving it), with its
 * own connection to DIR/harvest.db for writing: every write to the index
 * (a page applied, a failure recorded, a source dropped) runs on libuv's
 * thread pool, one at a time, so the loop never waits for it. Nothing runs
 * until tg_fed_harvest_start. One per process: it is the target of
 * tg_fed_harvest_kick. *OUT is freed with tg_fed_harvest_free. */
int tg_fed_harvest_new(uv_loop_t *loop, sqlite3 *db, struct tg_cat_store *ix, const char *dir,
                       struct tg_fed_harvest **out, struct tg_err *err);
/* Harvests every [federation] harvest_interval (default 60 s, 0 = off; read
 * again each round) with ±10 % jitter. Each round: peers no longer in the
 * peers table have their datasets dropped; each peer's feed is followed
 * from the last seq applied, page after page while "more" (at most
 * TG_FED_HARVEST_MAX_PAGES), over mutual TLS pinned to that peer, the next
 * page fetched while the last is written, TG_FED_HARVEST_PARALLEL peers at
 * a time. A page with more than TG_FED_HARVEST_MAX_VALUES JSON values or
 * TG_FED_HARVEST_PAGE changes is refused before it is parsed or queued; one
 * that does not start at the last seq applied (a drop of the peer's
 * datasets reset it after the fetch began) is not applied, and the feed is
 * fetched again from there, not failed. A peer
 * that fails is retried with exponential backoff (the interval doubled per
 * consecutive failure, at most 30 min); one whose certificate is revoked
 * has its datasets dropped. The timer never keeps the loop alive. */
void tg_fed_harvest_start(struct tg_fed_harvest *h);
/* Asks for a round now, ignoring backoff (SIGHUP, a peer added or removed).
 * Safe from any thread; a no-op without a harvester. A round in flight is
 * followed by another. */
void tg_fed_harvest_kick(void);
/* Stops: fetches in flight are canceled, waiting writes dropped (a write
 * running on the thread pool completes); H is freed once its handles closed
 * and that write ended (run the loop). NULL is a no-op. */
void tg_fed_harvest_free(struct tg_fed_harvest *h);

/* Where a dataset lives. */
struct tg_fed_location {
  char owner[64];       /* the owner node's id */
  char url[512];        /* its base URL, "" when no URL is known */
  const char *source;   /* "index" (harvested), "directory" (the id's node part,
                           peers table or CA directory) or "local" (this node's) */
  int64_t harvested_at; /* when the index last saw it; 0 unless source "index" */
};

/* Locates dataset ID for worker W: the harvested index first, then the id's
 * node part (urn:tsunagu:<node>:dataset:...) looked up in the peers table and,
 * on a CA node, the federation directory. 0 with *OUT filled; TG_EINVAL when
 * ID is not a dataset id; TG_ENOENT when no source knows the owner (or its
 * URL, for a node that is neither a peer nor a member); TG_EDB. */
int tg_fed_locate(struct tg_worker *w, const char *id, struct tg_fed_location *out,
                  struct tg_err *err);

#endif
