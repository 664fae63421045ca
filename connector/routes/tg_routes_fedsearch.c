/* tg_routes_fedsearch: GET /api/v1/search?scope=federation: this node's own
 * search plus every peer's, asked in parallel over mutual TLS with one
 * deadline, merged into one ranked page (tg_cat_merge) with a "sources" list
 * saying how each peer did. With hops > 1 peers ask their own peers in turn;
 * the via-list names every node already asked, so none is asked twice. */
#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_fanout.h"
#include "tg_fed_peers.h"
#include "tg_http_server.h"
#include "tg_qs.h"
#include "tg_routes.h"
#include "tg_routes_data.h"
#include "tg_settings.h"
#include "tg_util.h"
#include "tg_worker.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FED_MAX_PEERS 256
#define FED_MAX_ANSWER (4 * 1024 * 1024)
#define FED_MAX_HOPS 4
#define FED_VIA "Tsunagu-Via"

/* One federated search in flight. */
struct fsearch {
  struct tg_http_req *req; /* NULL once the request is gone */
  struct tg_fed_fanout *fan;
  json_t *local;           /* this node's answer */
  json_t *harvested;       /* the harvested index's answer, or NULL (live mode) */
  /* The harvested peers' source entries, rendered: ",{...}" each. At
   * national scale there are 1,741 of them in every answer; as jansson
   * objects, built, dumped and freed per search, they were a third of it. */
  struct tg_buf hv_text;
  const char *mode;        /* "live", "harvested" or "auto" (static) */
  json_t *peers;           /* the peers table as asked: node -> url */
  char self[64];
  char peer[64];           /* the calling node, or "": what it may not see is left out */
  enum tg_cat_sort sort;
  int64_t offset, limit;
  uint64_t local_ms;
  int deferred;            /* the local and harvested hits come without documents */
  int facets;              /* the caller asked for facets */
  char *qtext;             /* the query's words (malloc), for the kept hits' highlights */
};

static void fsearch_free(struct fsearch *s) {
  json_decref(s->harvested);
  tg_buf_close(&s->hv_text);
  json_decref(s->local);
  json_decref(s->peers);
  free(s->qtext);
  free(s);
}

static void fsearch_req_gone(void *ud) {
  struct fsearch *s = ud;
  s->req = NULL;
  if (s->fan != NULL) {
    tg_fed_fanout_cancel(s->fan); /* DONE will not come */
    fsearch_free(s);
  }
}

/* Nodes named in a via-list VIA ("a, b") into the object SEEN. */
static void via_names(const char *via, json_t *seen) {
  while (via != NULL && *via) {
    while (*via == ' ' || *via == ',')
      via++;
    size_t n = strcspn(via, ", ");
    if (n == 0 || n >= 64)
      break;
    char node[64];
    memcpy(node, via, n);
    node[n] = '\0';
    json_object_set_new(seen, node, json_true());
    via += n;
  }
}

/* The query for the peers: the caller's parameters but paging (each source
 * answers from 0), and the scope, hops and timeout of the next hop. */
static int peer_query(const struct tg_qs *q, int64_t want, int hops, uint64_t timeout_ms,
                      struct tg_buf *out) {
  static const char *const own[] = {"offset", "limit", "scope", "hops", "timeout", "mode", NULL};
  int rc = tg_buf_puts(out, "/api/v1/search?");
  for (size_t i = 0; i < q->n && rc == 0; i++) {
    int skip = 0;
    for (size_t k = 0; own[k]; k++)
      skip |= strcmp(q->key[i], own[k]) == 0;
    if (!skip)
      rc = tg_buf_printf(out, "%s=", q->key[i]) || tg_qs_encode(out, q->val[i]) ||
           tg_buf_append(out, "&", 1);
  }
  if (rc == 0)
    rc = tg_buf_printf(out, "offset=0&limit=%lld", (long long)want);
  if (rc == 0 && hops > 1)
    rc = tg_buf_printf(out, "&scope=federation&mode=live&hops=%d&timeout=%llu", hops - 1,
                       (unsigned long long)timeout_ms);
  return rc ? TG_ENOMEM : 0;
}

static json_t *source_entry(const char *node, const char *status, uint64_t ms, size_t hits,
                            const char *via) {
  json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "node", node, "status", status, "ms",
                        (json_int_t)ms, "hits", (json_int_t)hits);
  if (o != NULL && via != NULL)
    json_object_set_new(o, "via", json_string(via));
  return o;
}

/* The owner's URL for each item: ours, a peer's from the table, or what the
 * relaying peer said. */
static void set_owner_urls(struct fsearch *s, sqlite3 *db, json_t *items) {
  char self_url[600], peer_url[600];
  tg_routes_self_url(self_url, sizeof(self_url), 0);
  size_t i;
  json_t *it, *seen = json_object(); /* owners looked up for this page */
  json_array_foreach(items, i, it) {
    const char *owner = json_string_value(json_object_get(it, "owner"));
    const char *url = NULL;
    if (owner != NULL && strcmp(owner, s->self) == 0)
      url = self_url[0] ? self_url : NULL;
    else if (owner != NULL)
      url = json_string_value(json_object_get(s->peers, owner));
    if (url == NULL && owner != NULL)
      url = json_string_value(json_object_get(seen, owner));
    /* Harvested mode lists no peers: the page's few owners are looked up,
     * each once. */
    if (url == NULL && owner != NULL && db != NULL &&
        tg_fed_peer_url(db, owner, peer_url, sizeof(peer_url), NULL) == 0) {
      url = peer_url;
      json_object_set_new(seen, owner, json_string(peer_url));
    }
    if (url != NULL)
      json_object_set_new(it, "owner_url", json_string(url));
  }
  json_decref(seen);
}

/* Loads the documents of the page's hits that came without them (a
 * deferred search) from this node's catalog or its harvested index, one
 * batch each; a hit deleted since leaves the page. */
static void fill_page(struct fsearch *s, struct tg_worker *w, json_t *items) {
  json_t *mine[100], *theirs[100];
  size_t nm = 0, nt = 0, i;
  json_t *it;
  json_array_foreach(items, i, it) {
    if (json_object_get(it, "dataset") != NULL || nm + nt >= 100)
      continue;
    const char *owner = json_string_value(json_object_get(it, "owner"));
    if (owner != NULL && strcmp(owner, s->self) == 0)
      mine[nm++] = it;
    else
      theirs[nt++] = it;
  }
  if (nm > 0)
    tg_cat_search_fill(w->cat, s->qtext, mine, nm, NULL);
  if (nt > 0 && w->harvested != NULL)
    tg_cat_search_fill(w->harvested, s->qtext, theirs, nt, NULL);
  for (size_t k = json_array_size(items); k-- > 0;)
    if (json_object_get(json_array_get(items, k), "dataset") == NULL)
      json_array_remove(items, k);
}

/* Answers OUT (taken) with "sources": SELF's entry, then the harvested
 * peers' rendered entries HV, then the entries of REST (taken): the same
 * JSON as one object, spliced as text. */
static void answer(struct tg_http_req *req, json_t *out, json_t *self, const struct tg_buf *hv,
                   json_t *rest) {
  char *body = json_dumps(out, JSON_COMPACT), *me = json_dumps(self, JSON_COMPACT);
  char *others = json_array_size(rest) > 0 ? json_dumps(rest, JSON_COMPACT) : NULL;
  json_decref(out);
  json_decref(self);
  json_decref(rest);
  struct tg_buf b;
  tg_buf_init(&b);
  size_t bl = body ? strlen(body) : 0;
  /* BODY is an object with members ("{...}"): its last brace gives way. */
  int rc = body == NULL || me == NULL || bl < 3 || body[bl - 1] != '}' ||
           (json_array_size(rest) > 0 && others == NULL);
  if (!rc)
    rc = tg_buf_append(&b, body, bl - 1) || tg_buf_puts(&b, ",\"sources\":[") ||
         tg_buf_puts(&b, me) || (hv->len > 0 && tg_buf_append(&b, hv->data, hv->len));
  if (!rc && others != NULL) /* "[a,b]" -> ",a,b" */
    rc = tg_buf_puts(&b, ",") || tg_buf_append(&b, others + 1, strlen(others) - 2);
  if (!rc)
    rc = tg_buf_puts(&b, "]}");
  if (rc)
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
  else
    tg_http_res_send(req, 200, "application/json", b.data, b.len);
  tg_buf_close(&b);
  free(body);
  free(me);
  free(others);
}

static void fsearch_done(void *ud, struct tg_fed_ask *asks, size_t n) {
  struct fsearch *s = ud;
  struct tg_http_req *req = s->req;
  s->fan = NULL;
  tg_http_req_on_free(req, NULL, NULL); /* S is freed here, before the answer */
  struct tg_cat_merge_in *in = calloc(n + 2, sizeof(*in));
  json_t *sources = json_array(), *out = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (in == NULL || sources == NULL) {
    free(in);
    json_decref(sources);
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    fsearch_free(s);
    return;
  }
  /* A node asking for another sees only what the owners' policies let it:
   * the datasets this node found for it, here or through its peers, too. */
  for (size_t i = 0; s->peer[0] && i < n; i++)
    if (asks[i].answer != NULL)
      tg_route_search_hide(asks[i].answer, s->peer);
  if (s->peer[0])
    tg_route_search_hide(s->local, s->peer);
  in[0].source = s->self;
  in[0].answer = s->local;
  json_t *self_src = source_entry(s->self, "ok", s->local_ms,
                                  json_array_size(json_object_get(s->local, "items")), NULL);
  size_t m = 1;
  if (s->harvested != NULL) {
    if (s->peer[0])
      tg_route_search_hide(s->harvested, s->peer);
    in[m].source = NULL; /* each hit's own "source": its owner */
    in[m++].answer = s->harvested;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *e = source_entry(asks[i].node, tg_fed_ask_state_name(asks[i].state), asks[i].ms,
                             json_array_size(json_object_get(asks[i].answer, "items")), NULL);
    if (asks[i].state != TG_FED_ASK_OK)
      json_object_set_new(e, "error", json_string(asks[i].error));
    json_array_append_new(sources, e);
    if (asks[i].state != TG_FED_ASK_OK)
      continue;
    in[m].source = asks[i].node;
    in[m++].answer = asks[i].answer;
    /* What the peer asked in turn, found through it. */
    size_t k;
    json_t *sub;
    json_array_foreach(json_object_get(asks[i].answer, "sources"), k, sub) {
      const char *node = json_string_value(json_object_get(sub, "node"));
      if (node == NULL || strcmp(node, asks[i].node) == 0)
        continue;
      json_t *c = json_deep_copy(sub);
      if (json_object_get(c, "via") == NULL)
        json_object_set_new(c, "via", json_string(asks[i].node));
      json_array_append_new(sources, c);
    }
  }
  int rc = tg_cat_merge(in, m, s->sort, s->offset, s->limit, &out, &err);
  free(in);
  if (rc != 0) {
    json_decref(self_src);
    json_decref(sources);
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "%s", tg_err_msg(&err, rc));
    fsearch_free(s);
    return;
  }
  if (s->deferred)
    fill_page(s, tg_http_req_worker(req), json_object_get(out, "items"));
  set_owner_urls(s, tg_http_req_worker(req)->db, json_object_get(out, "items"));
  if (s->peer[0] && s->facets) { /* as a local search withholds them from a node */
    json_object_del(out, "facets");
    json_object_set_new(out, "facets_withheld", json_true());
  }
  json_object_set_new(out, "scope", json_string("federation"));
  json_object_set_new(out, "mode", json_string(s->mode));
  answer(req, out, self_src, &s->hv_text, sources);
  fsearch_free(s); /* the request stays ours until the answer is sent */
}

/* The peers to ask: every peer not in SEEN (ours and the via-list's), into
 * ASKS; each is added to SEEN and to S->peers. Returns how many. */
static size_t pick_peers(struct fsearch *s, sqlite3 *db, json_t *seen, struct tg_fed_ask *asks) {
  json_t *list = NULL;
  size_t n = 0, i;
  json_t *p;
  if (tg_fed_peers_list(db, &list, NULL) != 0)
    return 0;
  json_array_foreach(json_object_get(list, "peers") ? json_object_get(list, "peers") : list, i, p) {
    const char *node = json_string_value(json_object_get(p, "node_id"));
    const char *url = json_string_value(json_object_get(p, "url"));
    if (node != NULL && url != NULL) /* owners' URLs, asked or not */
      json_object_set_new(s->peers, node, json_string(url));
    if (node == NULL || url == NULL || json_object_get(seen, node) || n >= FED_MAX_PEERS ||
        strlen(node) >= sizeof(asks[n].node) || strlen(url) >= sizeof(asks[n].url))
      continue;
    memset(&asks[n], 0, sizeof(asks[n]));
    snprintf(asks[n].node, sizeof(asks[n].node), "%s", node);
    snprintf(asks[n].url, sizeof(asks[n].url), "%s", url);
    n++;
  }
  for (size_t k = 0; k < n; k++)
    json_object_set_new(seen, asks[k].node, json_true());
  json_decref(list);
  return n;
}

/* The via-list for the next hop: every node in SEEN. */
static int via_header(json_t *seen, struct tg_buf *out) {
  const char *node;
  json_t *v;
  int rc = tg_buf_puts(out, FED_VIA ": ");
  int first = 1;
  json_object_foreach(seen, node, v) {
    rc = rc || (!first && tg_buf_puts(out, ", ")) || tg_buf_puts(out, node);
    first = 0;
  }
  return rc ? TG_ENOMEM : 0;
}

static int fed_params(struct tg_http_req *req, const struct tg_qs *q, int64_t *timeout,
                      int64_t *hops, const char **mode_out) {
  const char *mode = tg_qs_get(q, "mode");
  if (mode != NULL && strcmp(mode, "live") != 0 && strcmp(mode, "auto") != 0 &&
      strcmp(mode, "harvested") != 0) {
    tg_route_bad_param(req, "mode", "must be live, harvested or auto");
    return TG_ROUTE_ANSWERED;
  }
  *mode_out = mode == NULL || strcmp(mode, "auto") == 0 ? "auto"
              : strcmp(mode, "live") == 0              ? "live"
                                                       : "harvested";
  if (tg_route_query_int(req, q, "timeout", 50, 30000, 2000, timeout) ||
      tg_route_query_int(req, q, "hops", 1, FED_MAX_HOPS, 2, hops))
    return TG_ROUTE_ANSWERED;
  return 0;
}

/* The index of NODE in the sorted SRC[0..N), or -1. */
static long source_find(const struct tg_cat_harvest_time *src, size_t n, const char *node) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(src[mid].node, node);
    if (c == 0)
      return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

/* The harvested index's answer for LQ into S (mode harvested or auto): only
 * hits of sources harvested within FRESH_S seconds (all, for harvested),
 * each marked with its owner as source; each such source gets a "harvested"
 * entry in S->hv_text and, in auto mode (FRESH_S > 0), its node goes into
 * SEEN (asked no further). */
static void harvested_part(struct fsearch *s, struct tg_worker *w, const struct tg_cat_query *lq,
                           json_t *seen, int64_t fresh_s) {
  const struct tg_cat_harvest_time *src = NULL;
  size_t ns = 0;
  int64_t now = (int64_t)time(NULL);
  if (w->harvested == NULL || tg_cat_index_harvest_times(w->harvested, &src, &ns, NULL) != 0 ||
      tg_cat_search(w->harvested, lq, &s->harvested, NULL) != 0)
    return;
  size_t *hits = calloc(ns ? ns : 1, sizeof(*hits)); /* (size_t)-1: not a source here */
  if (hits == NULL) {
    json_decref(s->harvested);
    s->harvested = NULL;
    return;
  }
  for (size_t i = 0; i < ns; i++)
    if (src[i].at <= 0 || json_object_get(seen, src[i].node) != NULL ||
        (fresh_s > 0 && now - src[i].at > fresh_s))
      hits[i] = (size_t)-1;
  /* Keep the fresh sources' hits, marked with their owner. */
  json_t *items = json_object_get(s->harvested, "items");
  for (size_t k = json_array_size(items); k-- > 0;) {
    json_t *it = json_array_get(items, k);
    const char *id = json_string_value(json_object_get(it, "id"));
    char owner[64];
    long at = id != NULL && tg_cat_dataset_owner(id, owner, sizeof(owner)) == 0
                  ? source_find(src, ns, owner)
                  : -1;
    if (at < 0 || hits[at] == (size_t)-1) {
      json_array_remove(items, k);
      continue;
    }
    json_object_set_new(it, "source", json_string(owner));
    json_object_set_new(it, "harvested", json_true());
    hits[at]++;
  }
  for (size_t i = 0; i < ns; i++) {
    /* Node ids are [a-z0-9-] (tg_node_id_valid): nothing to escape. */
    if (hits[i] == (size_t)-1 || !tg_node_id_valid(src[i].node))
      continue;
    tg_buf_printf(&s->hv_text,
                  ",{\"node\":\"%s\",\"status\":\"harvested\",\"ms\":0,\"hits\":%zu,"
                  "\"age_s\":%lld}",
                  src[i].node, hits[i], (long long)(now - src[i].at));
    if (fresh_s > 0)
      json_object_set_new(seen, src[i].node, json_true());
  }
  free(hits);
}

/* Runs the local search and starts the fan-out; 0, or TG_ROUTE_ANSWERED. */
static int fsearch_start(struct fsearch *s, struct tg_http_req *req, const struct tg_qs *q,
                         struct tg_cat_query *cq, int64_t timeout, int64_t hops) {
  struct tg_worker *w = tg_http_req_worker(req);
  struct tg_err err;
  tg_err_clear(&err);
  struct tg_cat_query lq = *cq;
  lq.offset = 0;
  lq.limit = cq->offset + cq->limit;
  /* Relevance pages for a user load only the documents they keep (a node
   * asking for another gets whole hits: what it may see is decided on them). */
  s->deferred = lq.deferred = !s->peer[0] && cq->sort == TG_CAT_SORT_RELEVANCE;
  s->facets = cq->facets;
  if (s->peer[0])
    lq.facets = 0; /* withheld from a node (tg_route_search) */
  if (s->deferred && (s->qtext = strdup(cq->q ? cq->q : "")) == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return TG_ROUTE_ANSWERED;
  }
  /* Harvested answers rank the newest TG_CAT_RANK_CANDIDATES matches in
   * all, as one node holding every dataset would, not that many here and
   * as many again in the index (ranking was a third of a search): the local
   * part's share goes by its size, the index gets the rest. */
  struct tg_cat_query hq = lq;
  if (strcmp(s->mode, "live") != 0 && w->harvested != NULL) {
    int64_t mine = tg_cat_size_hint(w->cat), theirs = tg_cat_size_hint(w->harvested);
    if (mine > 0 && theirs > 0)
      lq.rank_candidates = 1 + TG_CAT_RANK_CANDIDATES * mine / (mine + theirs);
  }
  int split = lq.rank_candidates > 0; /* the window is shared */
  uint64_t t0 = uv_hrtime();
  int rc = tg_cat_search(w->cat, &lq, &s->local, &err);
  s->local_ms = (uv_hrtime() - t0) / 1000000;
  if (rc != 0) {
    if (rc == TG_EINVAL)
      tg_route_bad_param(req, "q", tg_err_msg(&err, rc));
    else
      tg_http_res_problem(req, 503, "unavailable", "Catalog unavailable", NULL, "%s",
                          tg_err_msg(&err, rc));
    return TG_ROUTE_ANSWERED;
  }
  /* What the local part's matches leave of the window goes to the index. */
  int64_t local_total = json_integer_value(json_object_get(s->local, "total"));
  if (split) {
    hq.rank_candidates = TG_CAT_RANK_CANDIDATES -
                         (local_total < lq.rank_candidates ? local_total : lq.rank_candidates);
    if (hq.rank_candidates < 1)
      hq.rank_candidates = 1; /* 0 would be the whole window */
  }
  json_t *seen = json_object();
  via_names(tg_http_req_header(req, FED_VIA), seen);
  json_object_set_new(seen, s->self, json_true());
  if (strcmp(s->mode, "live") != 0) {
    /* Fresh: harvested within two intervals (and a minute); harvested mode
     * takes every source, however old, and asks nobody. */
    struct tg_settings *st = tg_settings_get();
    int64_t fresh_s = (int64_t)(st->harvest_interval_ms * 2 / 1000) + 60;
    tg_settings_put(st);
    harvested_part(s, w, &hq, seen, strcmp(s->mode, "auto") == 0 ? fresh_s : 0);
    /* ... and what the index's matches leave, to the local part when its
     * share cut it short: together they rank the newest 1,000 matches, or
     * all of them when there are fewer (a second local search, only then). */
    int64_t their_total = json_integer_value(json_object_get(s->harvested, "total"));
    if (split && s->harvested != NULL && local_total > lq.rank_candidates &&
        their_total < hq.rank_candidates) {
      json_t *again = NULL;
      lq.rank_candidates += hq.rank_candidates - their_total;
      if (tg_cat_search(w->cat, &lq, &again, NULL) == 0) {
        json_decref(s->local);
        s->local = again;
      }
    }
  }
  /* Harvested mode asks nobody: no peer list (at national scale, listing
   * 1,741 peers was a fifth of a search); owners' URLs are looked up for
   * the page alone (set_owner_urls). */
  int harvested_only = strcmp(s->mode, "harvested") == 0;
  struct tg_fed_ask *asks = harvested_only ? NULL : calloc(FED_MAX_PEERS, sizeof(*asks));
  size_t n = asks ? pick_peers(s, w->db, seen, asks) : 0;
  struct tg_buf path, via;
  tg_buf_init(&path);
  tg_buf_init(&via);
  /* A peer asking further gets most of our time, so its answer is in before our deadline. */
  rc = peer_query(q, lq.limit, (int)hops, (uint64_t)timeout * 3 / 4, &path);
  if (rc == 0)
    rc = via_header(seen, &via);
  json_decref(seen);
  const char *hdrs[] = {via.data, NULL};
  /* Without a federation client (no certificate yet) every peer fails with why. */
  struct tg_client *c = rc == 0 && n > 0 ? tg_routes_data_fed_client(w, NULL) : NULL;
  if (rc == 0)
    rc = tg_fed_fanout_start(&w->loop, c, path.data, hdrs, asks, n, (uint64_t)timeout,
                             FED_MAX_ANSWER, fsearch_done, s, &s->fan, &err);
  free(asks);
  tg_buf_close(&path);
  tg_buf_close(&via);
  if (rc != 0) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "%s", tg_err_msg(&err, rc));
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

void tg_route_search_federation(struct tg_http_req *req, const struct tg_qs *q,
                                struct tg_cat_query *cq) {
  int64_t timeout, hops;
  const char *mode = "auto";
  if (fed_params(req, q, &timeout, &hops, &mode))
    return;
  if (cq->offset + cq->limit > 100) {
    tg_route_bad_param(req, "offset", "a federated search pages through its first 100 hits");
    return;
  }
  struct fsearch *s = calloc(1, sizeof(*s));
  if (s == NULL || (s->peers = json_object()) == NULL) {
    free(s);
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return;
  }
  struct tg_settings *st = tg_settings_get();
  snprintf(s->self, sizeof(s->self), "%s", st->node_id);
  tg_settings_put(st);
  s->req = req;
  s->mode = mode;
  const char *peer = tg_http_req_peer(req);
  snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "");
  s->sort = cq->sort;
  s->offset = cq->offset;
  s->limit = cq->limit;
  if (fsearch_start(s, req, q, cq, timeout, hops) != 0) {
    fsearch_free(s);
    return;
  }
  tg_http_req_on_free(req, fsearch_req_gone, s);
}
