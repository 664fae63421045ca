/* tg_routes_data: GET/HEAD /api/v1/datasets/{id}/data, wherever the data is.
 * The owner node checks the dataset's ODRL policy for the calling node before
 * any backend or store is touched; then the answer comes from the backend
 * (distributed), the node's store (accumulated, tg_routes_obs.c), or, for a
 * dataset another node owns, from that node over mutual TLS. Bodies stream
 * through with back-pressure and are never stored on the way. */
#include "tg_routes_data.h"

#include "tg_backends.h"
#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_harvest.h"
#include "tg_fed_peers.h"
#include "tg_http_server.h"
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_prov.h"
#include "tg_provlog.h"
#include "tg_auth.h"
#include "tg_qs.h"
#include "tg_routes.h"
#include "tg_settings.h"
#include "tg_voc_conv.h"
#include "tg_voc_store.h"
#include "tg_util.h"
#include "tg_worker.h"
#include "tg_writer.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Pending output above which the upstream is paused. Kept at the server's
 * drain mark (64 KiB): the output buffers freed on each drain then stay below
 * glibc's trim threshold (128 KiB), so they are reused instead of being handed
 * back and faulted in again for every 16 KiB of a long stream. */
#define DATA_HIGH_WATER (64 * 1024)
#define DATA_MAX_HOPS 4
#define VIA_HEADER "Tsunagu-Via"
#define ID_CAP 300

/* ---- provenance ---------------------------------------------------------- */

#define PROV_TRAILER "Tsunagu-Prov-Ref"
#define PROV_STR 512 /* bytes kept of a header-given string (subject, purpose) */

/* One answer's provenance record: the SHA-256 of the payload as it crossed
 * the wire, computed while it streams, and the entry logged at its end.
 * Owned by the relay; while its entry is being appended (INFLIGHT) the
 * writer's DONE owns it if the relay goes first (ORPHAN). */
struct tg_data_prov {
  struct tg_worker *w;      /* the loop's worker (its writer port) */
  struct tg_http_req *req;  /* the answer to end, NULL once gone */
  EVP_MD_CTX *sha;          /* from EVP_MD_CTX_new */
  int kind;                 /* TG_PROV_DATA_SERVED or _RECEIVED */
  int hash_in;              /* 1: hash what the upstream sent (consumer side) */
  int logged, inflight, orphan, has_ref;
  uint64_t bytes;           /* payload bytes hashed */
  char dataset[ID_CAP], owner[64], requester[64], subject[PROV_STR], purpose[PROV_STR];
  char ref_node[TG_PROV_MAX_NODE + 1];
  struct tg_prov_ref ref;   /* the owner's reference (consumer side), node -> ref_node */
  struct tg_provlog_result res;
  char reftext[TG_PROV_REF_TEXT];
};

/* Copies a header-given string, keeping printable ASCII only (an entry's
 * strings must be UTF-8; the rest becomes '?'), at most PROV_STR-1 bytes. */
static void prov_str(char *out, const char *in) {
  size_t i = 0;
  for (; in != NULL && in[i] && i + 1 < PROV_STR; i++)
    out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
  out[i] = '\0';
}

static void prov_free(struct tg_data_prov *p) {
  if (p == NULL)
    return;
  EVP_MD_CTX_free(p->sha);
  free(p);
}

/* SHA-256 fetched once: EVP_sha256() in a DigestInit fetches it again each
 * time (OpenSSL 3), a lock and a lookup on every answer. */
static EVP_MD *prov_md;
static void prov_md_fetch(void) { prov_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

/* A record for an answer about DATASET by OWNER to REQUESTER. */
static struct tg_data_prov *prov_new(struct tg_http_req *req, int kind, const char *dataset,
                                     const char *owner, const char *requester,
                                     const char *subject, const char *purpose) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, prov_md_fetch);
  struct tg_data_prov *p = prov_md ? calloc(1, sizeof(*p)) : NULL;
  if (p == NULL || (p->sha = EVP_MD_CTX_new()) == NULL ||
      EVP_DigestInit_ex2(p->sha, prov_md, NULL) != 1) {
    prov_free(p);
    return NULL;
  }
  p->w = tg_http_req_worker(req);
  p->req = req;
  p->kind = kind;
  p->hash_in = kind == TG_PROV_DATA_RECEIVED;
  snprintf(p->dataset, sizeof(p->dataset), "%s", dataset);
  snprintf(p->owner, sizeof(p->owner), "%s", owner);
  snprintf(p->requester, sizeof(p->requester), "%s", requester ? requester : "");
  prov_str(p->subject, subject);
  prov_str(p->purpose, purpose);
  return p;
}

static void prov_hash(struct tg_data_prov *p, const void *data, size_t len) {
  EVP_DigestUpdate(p->sha, data, len);
  p->bytes += len;
}

/* The entry for the answer as it ended (OUTCOME). */
static void prov_entry(struct tg_data_prov *p, int outcome, struct tg_prov_entry *e) {
  memset(e, 0, sizeof(*e));
  e->time_us = tg_provlog_now_us();
  e->kind = p->kind;
  e->outcome = outcome;
  e->dataset = p->dataset;
  e->requester_node = p->requester;
  e->requester_subject = p->subject;
  e->owner_node = p->owner;
  e->purpose = p->purpose;
  e->bytes = p->bytes;
  unsigned int n = 0;
  e->has_payload_hash = EVP_DigestFinal_ex(p->sha, e->payload_sha256, &n) == 1 && n == 32;
  if (p->has_ref) {
    e->has_ref = 1;
    e->ref = p->ref;
  }
}

static int prov_run(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err) {
  struct tg_data_prov *p = arg;
  struct tg_prov_entry e;
  (void)err;
  prov_entry(p, TG_PROV_COMPLETE, &e);
  tg_provlog_stage(ctx->prov, &e, &p->res);
  return 0;
}

/* The entry is durable (or not): the answer ends, with its reference. */
static void prov_done(void *arg, int rc, const struct tg_err *err) {
  struct tg_data_prov *p = arg;
  struct tg_http_req *req = p->req;
  const char *ref = NULL;
  (void)err;
  if (rc == 0 && p->res.rc == 0) {
    struct tg_prov_ref r = {p->res.node, p->res.index, p->res.tree_size, {0}};
    memcpy(r.root, p->res.root, TG_PROV_HASH);
    if (tg_prov_ref_format(&r, p->reftext) == 0)
      ref = p->reftext;
  } else {
    tg_log_warn("provenance: %s of %s not logged", tg_prov_kind_name(p->kind), p->dataset);
  }
  if (req != NULL) {
    p->req = NULL;
    tg_http_res_end_trailer(req, PROV_TRAILER, ref); /* may free the relay: ORPHAN then */
  }
  if (p->orphan)
    prov_free(p);
  else
    p->inflight = 0;
}

/* Logs the answer ending now as complete, then ends it. */
static int prov_end(struct tg_data_out *o) {
  struct tg_data_prov *p = o->prov;
  p->logged = 1;
  p->inflight = 1;
  tg_http_res_cork(o->req); /* the last bytes leave with the trailer */
  if (tg_writer_submit_log(tg_writer_get(), p->w->wport, prov_run, prov_done, p) != 0) {
    p->inflight = 0;
    return tg_http_res_end(o->req);
  }
  return 0;
}

/* The answer went without a complete end (cut, or its client gone). */
static void prov_aborted(struct tg_data_prov *p) {
  struct tg_prov_entry e;
  if (p->logged)
    return;
  p->logged = 1;
  prov_entry(p, TG_PROV_ABORTED, &e);
  tg_provlog_note(p->w->wport, &e);
}

/* A request refused by the owner's policy (RULE). */
static void prov_refused(struct tg_http_req *req, const char *dataset, const char *self,
                         const struct tg_cat_access *a, const char *rule) {
  struct tg_prov_entry e;
  char subject[PROV_STR], purpose[PROV_STR], why[PROV_STR];
  prov_str(subject, a->subject);
  prov_str(purpose, a->purpose);
  prov_str(why, rule);
  memset(&e, 0, sizeof(e));
  e.kind = TG_PROV_REQUEST_REFUSED;
  e.outcome = TG_PROV_REFUSED;
  e.dataset = dataset;
  e.requester_node = a->node_id;
  e.requester_subject = subject;
  e.owner_node = self;
  e.purpose = purpose;
  e.rule = why;
  tg_provlog_note(tg_http_req_worker(req)->wport, &e);
}

/* ---- the answer sink --------------------------------------------------- */

/* Body bytes to the client, hashed on the way when the record says so. */
static int out_send(struct tg_data_out *o, const void *data, size_t len) {
  if (o->req == NULL)
    return TG_ECANCELED; /* its client is gone (a converter may still write) */
  if (o->prov != NULL && !o->prov->hash_in)
    prov_hash(o->prov, data, len);
  return tg_http_res_write(o->req, data, len);
}

static int conv_write(void *ud, const char *data, size_t len) {
  struct tg_data_out *o = ud;
  return out_send(o, data, len);
}

static int conv_ndjson(const char *ctype) {
  size_t n = strcspn(ctype, "; \t");
  return (n == 20 && strncasecmp(ctype, "application/x-ndjson", n) == 0) ||
         (n == 18 && strncasecmp(ctype, "application/ndjson", n) == 0);
}

/* Whether this answer gets a provenance entry: a 2xx answer with a body. */
static int out_logged(const struct tg_data_out *o, int status) {
  return o->prov != NULL && status >= 200 && status < 300 && status != 204 &&
         strcmp(tg_http_req_method(o->req), "HEAD") != 0;
}

int tg_data_out_start(struct tg_data_out *o, int status, const char *ctype, int64_t length) {
  if (o->started)
    return TG_EINVAL;
  o->status = status;
  if (out_logged(o, status)) {
    /* Chunked, so that the entry's reference can follow the last byte. An
     * HTTP/1.0 client gets none (it could only be told the end by the
     * close, and a cut answer would look whole): the length stays. */
    if (tg_http_req_may_chunk(o->req)) {
      tg_http_res_header(o->req, "Trailer", PROV_TRAILER);
      length = -1;
    }
  } else if (o->prov != NULL) {
    o->prov->logged = 1; /* nothing to log */
  }
  if (o->profile != NULL && status >= 200 && status < 300) {
    struct tg_err err;
    int nd = conv_ndjson(ctype);
    tg_err_clear(&err);
    int rc = tg_voc_conv_new(o->profile, nd ? TG_VOC_FMT_NDJSON : TG_VOC_FMT_AUTO, 0, conv_write,
                             NULL, o, &o->conv, &err);
    if (rc != 0)
      return rc; /* not started: the caller may still answer with a problem */
    o->started = 1;
    return tg_http_res_start(o->req, status, nd ? "application/x-ndjson" : "application/json", -1);
  }
  o->started = 1;
  return tg_http_res_start(o->req, status, ctype, length);
}

int tg_data_out_write(struct tg_data_out *o, const void *data, size_t len) {
  o->bytes += len;
  if (o->conv == NULL)
    return out_send(o, data, len);
  struct tg_err err;
  tg_err_clear(&err);
  return tg_voc_conv_feed(o->conv, data, len, &err);
}

int tg_data_out_end(struct tg_data_out *o) {
  if (o->req == NULL)
    return TG_ECANCELED; /* its client is gone */
  if (o->conv != NULL) {
    struct tg_err err;
    tg_err_clear(&err);
    int rc = tg_voc_conv_finish(o->conv, &err);
    if (rc != 0 || o->req == NULL) { /* a write that failed may have closed it */
      tg_data_out_abort(o);
      return rc != 0 ? rc : TG_ECANCELED;
    }
  }
  if (o->prov != NULL && !o->prov->logged)
    return prov_end(o);
  return tg_http_res_end(o->req);
}

void tg_data_out_abort(struct tg_data_out *o) {
  o->failed = 1;
  if (o->req != NULL)
    tg_http_res_abort(o->req);
}

size_t tg_data_out_pending(const struct tg_data_out *o) {
  return o->req != NULL ? tg_http_res_pending(o->req) : 0;
}

/* ---- per-worker clients ------------------------------------------------- */

/* Backends are called with their own TLS settings (trust, client
 * certificate), so each distinct setting gets a client of its own, kept for
 * the worker's life; NULL settings mean the system's trust store. */
struct bclient {
  char key[3200]; /* ca_file \n cert_file \n key_file */
  struct tg_client *c;
};

/* What the broker reads on every request, cached per worker until the
 * catalog or the peers change (tg_cat_generation, tg_fed_peers_generation):
 * parsing a stored dataset was a third of an owner's time per small answer. */
#define DCACHE 64
#define UCACHE 32
struct dcache {
  uint64_t gen;
  char id[ID_CAP];
  json_t *doc; /* owner view, read-only */
};
struct ucache {
  uint64_t gen;
  char node[64];
  char url[600];
};

struct broker_worker {
  struct tg_worker *w;
  struct dcache docs[DCACHE];
  struct ucache urls[UCACHE];
  struct bclient *v; /* backend clients, and federation clients keyed "fed\n<gen>" */
  size_t n;
  size_t live; /* relays not yet released */
  int closing; /* the worker drains: free the clients once LIVE is 0 */
};

static void broker_free(struct broker_worker *b) {
  for (size_t i = 0; i < DCACHE; i++)
    json_decref(b->docs[i].doc);
  for (size_t i = 0; i < b->n; i++)
    tg_client_free(b->v[i].c); /* may be called from inside a callback: allowed */
  free(b->v);
  b->w->broker = NULL;
  free(b);
}

void tg_routes_data_worker_free(struct tg_worker *w) {
  struct broker_worker *b = w->broker;
  if (b == NULL)
    return;
  /* Streams in flight finish (within the drain deadline) on their clients. */
  b->closing = 1;
  if (b->live == 0)
    broker_free(b);
}


static struct broker_worker *broker_of(struct tg_worker *w) {
  if (w->broker == NULL && !w->draining) {
    struct broker_worker *b = calloc(1, sizeof(*b));
    if (b != NULL)
      b->w = w;
    w->broker = b;
  }
  return w->broker;
}

static size_t fnv(const char *s) { return (size_t)tg_hash_str(TG_HASH_INIT, s); }

/* Dataset ID's owner view (a new reference, read-only: it may be shared
 * with the cache), as tg_cat_dataset_get. */
static int cached_dataset(struct tg_worker *w, const char *id, json_t **doc, struct tg_err *err) {
  uint64_t gen = tg_cat_generation(); /* before the read: a write after it misses next time */
  struct broker_worker *b = broker_of(w);
  struct dcache *c = b && strlen(id) < ID_CAP ? &b->docs[fnv(id) % DCACHE] : NULL;
  if (c != NULL && c->doc != NULL && c->gen == gen && strcmp(c->id, id) == 0) {
    *doc = json_incref(c->doc);
    return 0;
  }
  int rc = tg_cat_dataset_get(w->cat, id, TG_CAT_VIEW_OWNER, doc, NULL, err);
  if (rc == 0 && c != NULL) {
    json_decref(c->doc);
    c->doc = json_incref(*doc);
    c->gen = gen;
    snprintf(c->id, sizeof(c->id), "%s", id);
  }
  return rc;
}

/* The URL of peer NODE into OUT, as tg_fed_peer_url. */
static int cached_peer_url(struct tg_worker *w, const char *node, char *out, size_t cap) {
  uint64_t gen = tg_fed_peers_generation();
  struct broker_worker *b = broker_of(w);
  struct ucache *c = b && strlen(node) < 64 ? &b->urls[fnv(node) % UCACHE] : NULL;
  if (c != NULL && c->gen == gen && strcmp(c->node, node) == 0 &&
      snprintf(out, cap, "%s", c->url) < (int)cap)
    return 0;
  int rc = tg_fed_peer_url(w->db, node, out, cap, NULL);
  if (rc == 0 && c != NULL && strlen(out) < sizeof(c->url)) {
    c->gen = gen;
    snprintf(c->node, sizeof(c->node), "%s", node);
    snprintf(c->url, sizeof(c->url), "%s", out);
  }
  return rc;
}

/* The client keyed KEY, made with TLS (NULL: the system's trust store) if
 * the worker has none yet. */
static struct tg_client *worker_client(struct tg_worker *w, const char *key,
                                       const struct tg_client_tls *tls, struct tg_err *err) {
  struct broker_worker *b = broker_of(w);
  if (b == NULL || b->closing) {
    tg_err_set(err, TG_ECANCELED, "the node is stopping");
    return NULL;
  }
  for (size_t i = 0; i < b->n; i++)
    if (strcmp(b->v[i].key, key) == 0)
      return b->v[i].c;
  struct bclient *v = realloc(b->v, (b->n + 1) * sizeof(*v));
  if (v == NULL)
    return NULL;
  b->v = v;
  if (tg_client_new(&w->loop, tls, &v[b->n].c, err) != 0)
    return NULL;
  snprintf(v[b->n].key, sizeof(v[b->n].key), "%s", key);
  return v[b->n++].c;
}

static struct tg_client *backend_client(struct tg_worker *w, const struct tg_backend *be,
                                        struct tg_err *err) {
  char key[sizeof(((struct bclient *)0)->key)];
  snprintf(key, sizeof(key), "be\n%s\n%s\n%s", be->ca_file, be->cert_file, be->key_file);
  struct tg_client_tls tls = {be->ca_file[0] ? be->ca_file : NULL,
                              be->cert_file[0] ? be->cert_file : NULL,
                              be->key_file[0] ? be->key_file : NULL, NULL, NULL};
  int plain = !be->ca_file[0] && !be->cert_file[0];
  return worker_client(w, key, plain ? NULL : &tls, err);
}

/* Frees the worker's clients for other nodes made before the one keyed KEY
 * that carry no request any more: each kept its pooled connections open
 * (an owner's close left them in CLOSE_WAIT), one more per reload. */
static void fed_clients_sweep(struct broker_worker *b, const char *key) {
  for (size_t i = 0; i < b->n;) {
    if (strncmp(b->v[i].key, "fed\n", 4) == 0 && strcmp(b->v[i].key, key) != 0 &&
        !tg_client_busy(b->v[i].c)) {
      tg_client_free(b->v[i].c);
      b->v[i] = b->v[--b->n];
    } else {
      i++;
    }
  }
}

/* The client for calls to other nodes: the federation certificate, the
 * federation CA as the only anchor, the CRL. Made again after each reload
 * (a node that registered or renewed has new material); earlier ones stay
 * for the requests they still carry, and go once those have ended. */
struct tg_client *tg_routes_data_fed_client(struct tg_worker *w, struct tg_err *err) {
  char key[64];
  snprintf(key, sizeof(key), "fed\n%llu", (unsigned long long)tg_settings_generation());
  struct broker_worker *b = broker_of(w);
  if (b != NULL && !b->closing)
    fed_clients_sweep(b, key);
  for (size_t i = 0; b != NULL && !b->closing && i < b->n; i++)
    if (strcmp(b->v[i].key, key) == 0)
      return b->v[i].c;
  struct tg_settings *s = tg_settings_get();
  struct tg_fed_tls ft;
  int fed = tg_fed_tls_paths(s->dir, &ft) == 0;
  tg_settings_put(s);
  if (!fed) {
    tg_err_set(err, TG_ENOENT, "this node is not in a federation yet");
    return NULL;
  }
  struct tg_client_tls tls = {ft.ca, ft.cert, ft.key, ft.crl[0] ? ft.crl : NULL, NULL};
  return worker_client(w, key, &tls, err);
}

/* ---- one relayed answer ------------------------------------------------ */

enum relay_kind { RELAY_BACKEND, RELAY_OWNER };

/* The state of one data request; lives until both the request is freed and
 * (when one was opened) the timer handle has closed. */
struct relay {
  struct broker_worker *bw; /* the worker's clients, counting this relay */
  struct tg_http_req *req;  /* NULL once the request is gone */
  struct tg_data_out out;
  struct tg_voc_profile *profile; /* owned, or NULL */
  struct tg_client_req *creq;     /* the upstream request in flight, or NULL */
  uv_timer_t timer;               /* first-byte and idle deadlines */
  int timer_open, paused, headed, want_convert, in_cb;
  /* A failure found in a client callback, answered when DONE comes. */
  int fail_status;
  const char *fail_slug, *fail_title, *fail_detail;
  json_t *fail_extra;
  enum relay_kind kind;
  uint64_t first_byte_ms, idle_ms;
  char *hdrs[16]; /* upstream request headers, from malloc */
  size_t nhdrs;
  char owner[64];
  char profile_id[130];
  char dataset[ID_CAP]; /* once resolved: counted in /metrics */
  char peer_in[64];     /* the calling node, or "" */
  int prov_on;          /* [provenance] log = on: answers get a provenance record */
  uint64_t t0;          /* when the upstream request left (uv_hrtime) */
};

static void relay_free(struct relay *r) {
  for (size_t i = 0; i < r->nhdrs; i++) {
    if (r->hdrs[i] != NULL)
      OPENSSL_cleanse(r->hdrs[i], strlen(r->hdrs[i])); /* may hold a backend's credential */
    free(r->hdrs[i]);
  }
  tg_voc_conv_free(r->out.conv);
  tg_voc_profile_free(r->profile);
  if (r->out.prov != NULL && r->out.prov->inflight)
    r->out.prov->orphan = 1; /* prov_done frees it */
  else
    prov_free(r->out.prov);
  json_decref(r->fail_extra);
  struct broker_worker *b = r->bw;
  free(r);
  if (--b->live == 0 && b->closing)
    broker_free(b);
}

static void relay_timer_closed(uv_handle_t *h) {
  relay_free(h->data);
}

static void relay_release(struct relay *r) {
  if (r->timer_open)
    uv_close((uv_handle_t *)&r->timer, relay_timer_closed);
  else
    relay_free(r);
}

/* The request is gone (answered or its connection closed). Inside a client
 * callback the client's DONE follows and releases R; otherwise the upstream
 * request is canceled here (no callback after that). */
static void relay_req_gone(void *ud) {
  struct relay *r = ud;
  r->req = NULL;
  r->out.req = NULL; /* a converter or an end under way must not write to it */
  if (r->out.prov != NULL) {
    r->out.prov->req = NULL;
    if (r->out.started && !r->out.prov->inflight)
      prov_aborted(r->out.prov); /* a no-op once logged */
  }
  if (r->dataset[0]) {
    int out = r->kind == RELAY_OWNER && r->t0 != 0;
    tg_metrics_data(r->dataset, out ? r->owner : (r->peer_in[0] ? r->peer_in : NULL), out,
                    r->out.bytes);
  }
  if (r->in_cb)
    return;
  if (r->creq != NULL) {
    tg_client_req_cancel(r->creq);
    r->creq = NULL;
  }
  relay_release(r);
}

static struct relay *relay_new(struct tg_http_req *req) {
  struct broker_worker *b = broker_of(tg_http_req_worker(req));
  if (b == NULL || b->closing)
    return NULL;
  struct relay *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->bw = b;
  b->live++;
  r->req = req;
  r->out.req = req;
  const char *peer = tg_http_req_peer(req);
  snprintf(r->peer_in, sizeof(r->peer_in), "%s", peer ? peer : "");
  tg_http_req_on_free(req, relay_req_gone, r);
  return r;
}

static int relay_add_header(struct relay *r, const char *name, const char *value) {
  if (r->nhdrs + 1 >= sizeof(r->hdrs) / sizeof(r->hdrs[0]))
    return TG_ETOOBIG;
  size_t n = strlen(name) + strlen(value) + 3;
  char *h = malloc(n);
  if (h == NULL)
    return TG_ENOMEM;
  snprintf(h, n, "%s: %s", name, value);
  r->hdrs[r->nhdrs++] = h;
  return 0;
}

/* Copies the consumer's header NAME, if present, to the upstream request. */
static int relay_pass_header(struct relay *r, const char *name) {
  const char *v = tg_http_req_header(r->req, name);
  return v == NULL ? 0 : relay_add_header(r, name, v);
}

static void relay_timeout(uv_timer_t *t);

static void relay_arm(struct relay *r, uint64_t ms) {
  if (r->timer_open && ms > 0)
    uv_timer_start(&r->timer, relay_timeout, ms, 0);
}

/* Answers a failure before the answer started, or cuts a started one. */
static void relay_fail(struct relay *r, int status, const char *slug, const char *title,
                       json_t *extra, const char *detail) {
  struct tg_http_req *req = r->req;
  if (req == NULL) {
    json_decref(extra);
    return;
  }
  if (r->out.started) {
    json_decref(extra);
    tg_data_out_abort(&r->out);
    return;
  }
  tg_http_res_problem(req, status, slug, title, extra, "%s", detail);
}

static void relay_timeout(uv_timer_t *t) {
  struct relay *r = t->data;
  if (r->creq == NULL || r->paused)
    return;
  tg_client_req_cancel(r->creq);
  r->creq = NULL;
  relay_fail(r, 504, "gateway-timeout", "Gateway timeout", NULL,
             r->kind == RELAY_OWNER ? "the owner node did not answer in time"
                                    : "the data source did not answer in time");
}

/* "Name: value" line LINE names header NAME: its value, else NULL. */
static const char *header_value(const char *line, const char *name) {
  size_t n = strlen(name);
  if (strncasecmp(line, name, n) != 0 || line[n] != ':')
    return NULL;
  line += n + 1;
  while (*line == ' ' || *line == '\t')
    line++;
  return line;
}

/* The upstream answer's headers that go on to the consumer. */
static const char *const pass_always[] = {"Last-Modified", "Retry-After", "Cache-Control",
                                          NULL};
/* A converted answer is other bytes: its ranges and tags are not the source's. */
static const char *const pass_unconverted[] = {"ETag", "Accept-Ranges", "Content-Range", NULL};
static const char *const pass_from_owner[] = {"Tsunagu-Owner", "Tsunagu-Profile", "Link",
                                              "WWW-Authenticate", NULL};

/* 1 if header line LINE holds no control character but HTAB: curl hands on a
 * bare CR inside a line, which would end the field at the consumer. */
static int header_line_ok(const char *line) {
  for (const unsigned char *p = (const unsigned char *)line; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return 0;
  return 1;
}

static void copy_headers(struct relay *r, const char *const *headers, const char **ctype,
                         int64_t *length, int *profiled) {
  int chunked = 0;
  *ctype = "application/octet-stream";
  *length = -1;
  *profiled = 0;
  for (size_t i = 0; headers[i] != NULL; i++) {
    const char *v;
    if (!header_line_ok(headers[i]))
      continue;
    if ((v = header_value(headers[i], "Content-Type")) != NULL)
      *ctype = v;
    else if ((v = header_value(headers[i], "Content-Length")) != NULL)
      *length = strtoll(v, NULL, 10);
    else if (header_value(headers[i], "Transfer-Encoding") != NULL)
      chunked = 1;
    for (size_t k = 0; pass_always[k]; k++)
      if ((v = header_value(headers[i], pass_always[k])) != NULL)
        tg_http_res_header(r->req, pass_always[k], v);
    for (size_t k = 0; pass_unconverted[k] && !r->want_convert; k++)
      if ((v = header_value(headers[i], pass_unconverted[k])) != NULL)
        tg_http_res_header(r->req, pass_unconverted[k], v);
    for (size_t k = 0; pass_from_owner[k] && r->kind == RELAY_OWNER; k++)
      if ((v = header_value(headers[i], pass_from_owner[k])) != NULL) {
        tg_http_res_header(r->req, pass_from_owner[k], v);
        if (k == 1)
          *profiled = 1;
      }
  }
  /* A body sent with a transfer coding has no Content-Length of its own
   * (RFC 9112 6.3): curl ignores the field, and so do we, or the consumer
   * would be told a length the bytes that follow do not have. */
  if (chunked)
    *length = -1;
}

/* 1 unless a Content-Length field of HEADERS is not a plain decimal the
 * node can count to (at most 18 digits): one that overflows is taken by
 * libcurl as no length at all, and the consumer would be promised bytes
 * that never come, or told a cut answer was whole. */
static int lengths_ok(const char *const *headers) {
  for (size_t i = 0; headers[i] != NULL; i++) {
    const char *v = header_value(headers[i], "Content-Length");
    if (v == NULL)
      continue;
    size_t n = strspn(v, "0123456789");
    if (n == 0 || n > 18 || v[n + strspn(v + n, " \t")] != '\0')
      return 0;
  }
  return 1;
}

/* 1 for a backend status the consumer gets as is. */
static int backend_status_passes(int status) {
  return (status >= 200 && status < 300) || status == 304 || status == 412 || status == 416;
}

/* Notes a failure to answer when the client's DONE arrives. */
static int relay_defer_fail(struct relay *r, int status, const char *slug, const char *title,
                            json_t *extra, const char *detail) {
  r->fail_status = status;
  r->fail_slug = slug;
  r->fail_title = title;
  r->fail_detail = detail;
  json_decref(r->fail_extra);
  r->fail_extra = extra;
  return TG_ECANCELED;
}

static int relay_head(struct relay *r, int status, const char *const *headers) {
  const char *ctype;
  int64_t length;
  int profiled;
  if (r->kind == RELAY_BACKEND && !backend_status_passes(status))
    return relay_defer_fail(r, 502, "backend-failed", "Backend failed",
                            json_pack("{s:i}", "backend_status", status),
                            "the data source answered with an error status");
  if (!lengths_ok(headers))
    return relay_defer_fail(r, 502, "backend-failed", "Backend failed", NULL,
                            r->kind == RELAY_BACKEND
                                ? "the data source sent an invalid Content-Length"
                                : "the owner node sent an invalid Content-Length");
  r->headed = 1;
  tg_metrics_data_ttfb(r->kind == RELAY_OWNER, (uv_hrtime() - r->t0) / 1000);
  copy_headers(r, headers, &ctype, &length, &profiled);
  if (r->kind == RELAY_BACKEND)
    tg_http_res_header(r->req, "Tsunagu-Owner", r->owner);
  if (r->want_convert && !profiled && status >= 200 && status < 300 && r->profile != NULL) {
    r->out.profile = r->profile;
    tg_http_res_header(r->req, "Tsunagu-Profile", r->profile_id);
  }
  if (tg_data_out_start(&r->out, status, ctype, length) != 0)
    return relay_defer_fail(r, 503, "unavailable", "Unavailable", NULL, "cannot start the answer");
  relay_arm(r, r->idle_ms);
  return 0;
}

static int relay_on_head(void *ud, int status, const char *const *headers) {
  struct relay *r = ud;
  if (r->req == NULL)
    return TG_ECANCELED;
  r->in_cb = 1;
  int rc = relay_head(r, status, headers);
  r->in_cb = 0;
  return r->req == NULL ? TG_ECANCELED : rc;
}

static void relay_drained(struct tg_http_req *req) {
  struct relay *r = tg_http_req_get_data(req);
  if (r == NULL || !r->paused || r->creq == NULL)
    return;
  r->paused = 0;
  relay_arm(r, r->idle_ms);
  tg_client_req_resume(r->creq);
}

static int relay_on_data(void *ud, const char *data, size_t len) {
  struct relay *r = ud;
  if (r->req == NULL)
    return TG_ECANCELED;
  r->in_cb = 1;
  if (r->out.prov != NULL && r->out.prov->hash_in)
    prov_hash(r->out.prov, data, len);
  int rc = tg_data_out_write(&r->out, data, len);
  r->in_cb = 0;
  if (r->req == NULL)
    return TG_ECANCELED;
  if (rc != 0)
    return TG_EPEER;
  relay_arm(r, r->idle_ms);
  if (tg_data_out_pending(&r->out) > DATA_HIGH_WATER) {
    r->paused = 1;
    uv_timer_stop(&r->timer); /* a slow consumer is not the source's fault */
    tg_http_res_on_drain(r->req, relay_drained);
    return TG_EAGAIN;
  }
  return 0;
}

/* The owner's trailer: its entry's reference, kept if it names the owner. */
static void relay_on_trailer(void *ud, const char *line, size_t len) {
  struct relay *r = ud;
  struct tg_data_prov *p = r->out.prov;
  size_t n = sizeof(PROV_TRAILER) - 1;
  char v[TG_PROV_REF_TEXT];
  if (p == NULL || r->kind != RELAY_OWNER || len <= n + 1 ||
      strncasecmp(line, PROV_TRAILER ":", n + 1) != 0)
    return;
  line += n + 1;
  len -= n + 1;
  while (len > 0 && (*line == ' ' || *line == '\t')) {
    line++;
    len--;
  }
  if (len >= sizeof(v))
    return;
  memcpy(v, line, len);
  v[len] = '\0';
  if (tg_prov_ref_parse(v, &p->ref, p->ref_node, NULL) == 0 && strcmp(p->ref_node, r->owner) == 0)
    p->has_ref = 1;
  else
    tg_log_warn("data: owner %s sent a malformed %s trailer", r->owner, PROV_TRAILER);
}

static void relay_on_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct relay *r = ud;
  (void)status;
  r->creq = NULL;
  /* ERR names the upstream URL: for the operator's log, not for the consumer. */
  if (rc != 0 && rc != TG_ECANCELED)
    tg_log_warn("data: %s %s: %s", r->kind == RELAY_OWNER ? "owner" : "backend", r->owner,
                tg_err_msg(err, rc));
  if (r->timer_open)
    uv_timer_stop(&r->timer);
  if (r->req == NULL) {
    relay_release(r);
    return;
  }
  /* Ending the answer writes, and a write that fails closes the connection
   * at once, the request and relay_req_gone with it: R stays until here. */
  r->in_cb = 1;
  if (r->fail_status != 0) {
    json_t *x = r->fail_extra;
    r->fail_extra = NULL;
    relay_fail(r, r->fail_status, r->fail_slug, r->fail_title, x, r->fail_detail);
  } else if (rc == 0 && r->out.started) {
    tg_data_out_end(&r->out);
  } else if (rc == 0 || r->out.started) {
    tg_data_out_abort(&r->out); /* never present a cut answer as complete */
  } else if (rc == TG_ETIMEDOUT) {
    relay_fail(r, 504, "gateway-timeout", "Gateway timeout", NULL,
               r->kind == RELAY_OWNER ? "the owner node did not answer in time"
                                      : "the data source did not answer in time");
  } else if (r->kind == RELAY_OWNER) {
    relay_fail(r, 502, "owner-unreachable", "Owner unreachable", NULL,
               "the node that owns the dataset could not be reached over mutual TLS");
  } else {
    relay_fail(r, 502, "backend-failed", "Backend failed", NULL,
               "the data source could not be reached or sent a malformed answer");
  }
  r->in_cb = 0;
  if (r->req == NULL)
    relay_release(r);
}

/* Starts the upstream request to URL with client C. */
static void relay_start(struct relay *r, struct tg_client *c, const char *url,
                        const char *peer_node_id, uint64_t connect_ms) {
  struct tg_worker *w = tg_http_req_worker(r->req);
  struct tg_err err;
  tg_err_clear(&err);
  uv_timer_init(&w->loop, &r->timer);
  r->timer.data = r;
  r->timer_open = 1;
  struct tg_client_opts o = {0};
  o.method = strcmp(tg_http_req_method(r->req), "HEAD") == 0 ? "HEAD" : "GET";
  o.url = url;
  o.headers = (const char *const *)r->hdrs;
  o.timeout_ms = UINT64_MAX; /* a stream may be long; the gaps are what is bounded */
  o.connect_timeout_ms = connect_ms;
  o.peer_node_id = peer_node_id;
  o.on_trailer = relay_on_trailer;
  static const struct tg_client_cb cb = {relay_on_head, relay_on_data, NULL, relay_on_done};
  tg_http_req_set_data(r->req, r);
  if (tg_client_request(c, &o, &cb, r, &r->creq, &err) != 0) {
    relay_fail(r, 502, r->kind == RELAY_OWNER ? "owner-unreachable" : "backend-failed",
               r->kind == RELAY_OWNER ? "Owner unreachable" : "Backend failed", NULL,
               "the request could not be sent");
    return;
  }
  r->t0 = uv_hrtime();
  relay_arm(r, r->first_byte_ms);
}

/* ---- the request ------------------------------------------------------- */

/* The query string without its profile parameter, into OUT (CAP bytes); the
 * profile's id (decoded) into PROFILE ("" if none). 0, or TG_EINVAL. */
static int split_query(const char *q, char *out, size_t cap, char *profile, size_t pcap) {
  size_t o = 0;
  profile[0] = '\0';
  while (q != NULL && *q && *q != '#') { /* a fragment is the client's, not the backend's */
    size_t n = strcspn(q, "&#");
    if (n >= 8 && strncmp(q, "profile=", 8) == 0) {
      if (tg_qs_decode(q + 8, n - 8, profile, pcap, 1) <= 0)
        return TG_EINVAL;
    } else if (n > 0) {
      if (o + n + 2 > cap)
        return TG_EINVAL;
      if (o > 0)
        out[o++] = '&';
      memcpy(out + o, q, n);
      o += n;
    }
    q += n + (q[n] == '&');
  }
  out[o] = '\0';
  return 0;
}

/* The name of the query parameter at Q (up to '&', ';', '#' or the end),
 * decoded and folded the ways backends read names (ASCII case, as OGC
 * services do; a "[...]" suffix, as PHP does), into OUT; the pair's length
 * in *N. 0, or -1 for a name that does not decode (treated as clashing: the
 * backend might read it some other way). */
static int param_name(const char *q, size_t *n, char *out, size_t cap) {
  *n = strcspn(q, "&;#");
  size_t k = strcspn(q, "=&;#");
  if (tg_qs_decode(q, k, out, cap, 1) < 0)
    return -1;
  out[strcspn(out, "[")] = '\0';
  for (char *c = out; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  return 0;
}

/* The pair after the one of N bytes at P ('&' and ';' both separate). */
static const char *next_pair(const char *p, size_t n) {
  p += n;
  return *p == '&' || *p == ';' ? p + 1 : p;
}

/* Whether the consumer's QUERY names a parameter the backend URL sets
 * itself: appended after it, it could override it (backends differ on which
 * of two values counts) and reach another resource of the backend, with the
 * node's credentials, than the one the dataset's policy was decided for.
 * The name at fault into NAME. */
static int query_clash(const char *url, const char *query, char *name, size_t cap) {
  const char *uq = strchr(url, '?');
  char a[256], b[256];
  size_t n, m;
  for (const char *p = uq ? uq + 1 : NULL; p != NULL && *p && *p != '#'; p = next_pair(p, n)) {
    if (param_name(p, &n, a, sizeof(a)) != 0 || n == 0)
      continue;
    for (const char *q = query; *q && *q != '#'; q = next_pair(q, m)) {
      int bad = param_name(q, &m, b, sizeof(b));
      if (m > 0 && (bad != 0 || strcmp(a, b) == 0)) {
        snprintf(name, cap, "%s", bad != 0 ? "(undecodable)" : a);
        return 1;
      }
    }
  }
  return 0;
}

/* Checks the via-list: 0 to go on (the list for the next hop, ours added, in
 * NEXT), or TG_ROUTE_ANSWERED after a 508. */
static int check_via(struct tg_http_req *req, const char *self, char *next, size_t cap) {
  const char *via = tg_http_req_header(req, VIA_HEADER);
  int hops = 0;
  for (const char *p = via; p != NULL && *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') /* list separators and OWS */
      p++;
    size_t n = strcspn(p, ", \t");
    if (n == 0)
      break;
    hops++;
    if (n == strlen(self) && strncmp(p, self, n) == 0) {
      tg_http_res_problem(req, 508, "loop-detected", "Loop detected", NULL,
                          "the request has already passed through this node (%s: %s)", VIA_HEADER,
                          via);
      return TG_ROUTE_ANSWERED;
    }
    p += n;
  }
  if (hops >= DATA_MAX_HOPS) {
    tg_http_res_problem(req, 508, "loop-detected", "Loop detected", NULL,
                        "the request has passed %d nodes; at most %d hops are allowed", hops,
                        DATA_MAX_HOPS);
    return TG_ROUTE_ANSWERED;
  }
  int n = via && *via ? snprintf(next, cap, "%s, %s", via, self) : snprintf(next, cap, "%s", self);
  if (n < 0 || (size_t)n >= cap) {
    tg_route_bad_param(req, VIA_HEADER, "too long");
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

/* Loads profile ID from this node's vocabularies into R; TG_ENOENT if it has
 * none by that id. */
static int load_profile(struct relay *r, struct tg_worker *w, const char *id) {
  struct tg_err err;
  json_t *doc = NULL;
  tg_err_clear(&err);
  int rc = tg_voc_profile_get(w->voc, id, &doc, NULL, NULL, &err);
  if (rc == 0)
    rc = tg_voc_profile_new(doc, &r->profile, &err);
  if (rc == 0)
    rc = tg_voc_store_bind_profile(w->voc, r->profile, &err);
  json_decref(doc);
  if (rc == 0)
    snprintf(r->profile_id, sizeof(r->profile_id), "%s", id);
  return rc;
}

/* The distribution of DOC that says where its data is, or NULL. */
static const json_t *data_distribution(const json_t *doc) {
  const json_t *d = json_object_get(doc, "dcat:distribution");
  if (json_is_object(d))
    return json_object_get(d, "tsunagu:mode") ? d : NULL;
  size_t i;
  const json_t *v;
  json_array_foreach(d, i, v) if (json_object_get(v, "tsunagu:mode")) return v;
  return NULL;
}

static const char *backend_url(const json_t *dist) {
  const json_t *b = json_object_get(dist, "tsunagu:backend");
  if (json_is_object(b))
    b = json_object_get(b, "@id");
  return json_string_value(b);
}

/* Headers the consumer may send on to where the data is. */
static int pass_request_headers(struct relay *r, int ranges) {
  int rc = relay_pass_header(r, "Accept");
  if (rc == 0 && ranges)
    rc = relay_pass_header(r, "Range");
  if (rc == 0 && ranges)
    rc = relay_pass_header(r, "If-Range");
  if (rc == 0)
    rc = relay_pass_header(r, "If-None-Match");
  if (rc == 0)
    rc = relay_pass_header(r, "If-Modified-Since");
  return rc;
}

static int backend_credentials(struct relay *r, const struct tg_backend *be) {
  int rc = 0;
  if (be->header[0]) {
    char *h = strdup(be->header);
    if (h == NULL || r->nhdrs + 1 >= sizeof(r->hdrs) / sizeof(r->hdrs[0])) {
      free(h);
      return TG_ENOMEM;
    }
    r->hdrs[r->nhdrs++] = h;
  }
  if (rc == 0 && be->basic[0]) {
    unsigned char b64[800];
    size_t n = strlen(be->basic);
    if (n > 500)
      return TG_ETOOBIG;
    EVP_EncodeBlock(b64, (const unsigned char *)be->basic, (int)n);
    char v[820];
    snprintf(v, sizeof(v), "Basic %s", (char *)b64);
    rc = relay_add_header(r, "Authorization", v);
    OPENSSL_cleanse(v, sizeof(v));
    OPENSSL_cleanse(b64, sizeof(b64));
  }
  return rc;
}

/* Distributed mode: pass the request through to the backend at URL. */
static void serve_backend(struct relay *r, const char *url, const char *query) {
  struct tg_worker *w = tg_http_req_worker(r->req);
  struct tg_settings *s = tg_settings_get();
  struct tg_err err;
  const struct tg_backend *be = tg_backend_find(s->backends, s->nbackends, url);
  struct tg_backend conf = be ? *be : tg_backend_default;
  tg_settings_put(s);
  r->kind = RELAY_BACKEND;
  r->first_byte_ms = conf.first_byte_ms;
  r->idle_ms = conf.idle_ms;
  size_t ul = strlen(url) + strlen(query) + 2;
  char *full = malloc(ul);
  tg_err_clear(&err);
  struct tg_client *c = full ? backend_client(w, &conf, &err) : NULL;
  int rc = c == NULL ? TG_ENOMEM : pass_request_headers(r, !r->want_convert);
  if (rc == 0)
    rc = backend_credentials(r, &conf);
  OPENSSL_cleanse(&conf, sizeof(conf));
  if (rc != 0) {
    free(full);
    relay_fail(r, 503, "unavailable", "Unavailable", NULL, "cannot prepare the backend request");
    return;
  }
  snprintf(full, ul, "%s%s%s", url, query[0] ? (strchr(url, '?') ? "&" : "?") : "", query);
  relay_start(r, c, full, NULL, conf.connect_ms ? conf.connect_ms : 5000);
  free(full);
}

/* Not a node id (node ids are [a-z0-9-]): what an anonymous caller is to a
 * policy, which no assignee names. */
#define ANONYMOUS_NODE "(anonymous)"

/* The subject this request is made for, passed to the owner for its record. */
static const char *request_subject(struct tg_http_req *req) {
  if (tg_http_req_peer(req) != NULL)
    return tg_http_req_header(req, "Tsunagu-Subject");
  const char *s = tg_http_req_subject(req);
  return s && *s ? s : NULL;
}

/* Owned here: the policy first, then the data. */
static void serve_owned(struct relay *r, const char *id, const char *query, const char *self) {
  struct tg_http_req *req = r->req;
  struct tg_worker *w = tg_http_req_worker(req);
  struct tg_err err;
  json_t *doc = NULL;
  tg_err_clear(&err);
  int rc = cached_dataset(w, id, &doc, &err);
  if (rc == TG_ENOENT) {
    tg_http_res_problem(req, 404, "unknown-dataset", "Unknown dataset", NULL,
                        "this node has no dataset %s", id);
    return;
  }
  if (rc != 0) {
    tg_http_res_problem(req, 503, "unavailable", "Catalog unavailable", NULL, "%s",
                        tg_err_msg(&err, rc));
    return;
  }
  const char *peer = tg_http_req_peer(req);
  /* The owner's own signed-in users (the admin token, a token of its
   * identity provider) use its data as the owner; a peer as the node its
   * certificate names; anyone else (anonymous, when [auth] anonymous grants
   * data:read, or a peer without its certificate) as no node at all, so
   * only a permission without an assignee lets them in. */
  int anonymous = peer == NULL && !tg_auth_signed_in(req);
  struct tg_cat_access a = {peer ? peer : anonymous ? ANONYMOUS_NODE : self,
                            request_subject(req),
                            tg_http_req_header(req, "Tsunagu-Purpose"),
                            "use",
                            (int64_t)time(NULL),
                            peer != NULL,
                            peer == NULL && !anonymous};
  struct tg_cat_decision d;
  tg_cat_policy_decide(json_object_get(doc, "odrl:hasPolicy"), &a, &d);
  snprintf(r->dataset, sizeof(r->dataset), "%s", id);
  if (d.verdict != TG_CAT_PERMIT) {
    tg_metrics_data_refusal(id, d.reason);
    if (r->prov_on)
      prov_refused(req, id, self, &a, d.reason);
    json_t *x = json_pack("{s:s, s:s, s:s}", "dataset", id, "node", a.node_id, "rule", d.reason);
    json_decref(doc);
    tg_http_res_header(req, "Tsunagu-Owner", self);
    tg_http_res_problem(req, 403, "owner-refused", "Refused by the owner's policy", x,
                        "the owner's policy does not permit node %s to use this dataset: %s",
                        a.node_id, d.reason);
    return;
  }
  const json_t *dist = data_distribution(doc);
  const char *mode = json_string_value(json_object_get(dist, "tsunagu:mode"));
  snprintf(r->owner, sizeof(r->owner), "%s", self);
  if (r->prov_on)
    r->out.prov = prov_new(req, TG_PROV_DATA_SERVED, id, self, a.node_id, a.subject, a.purpose);
  if (mode != NULL && strcmp(mode, "accumulated") == 0) {
    json_decref(doc);
    tg_http_res_header(req, "Tsunagu-Owner", self);
    if (r->profile != NULL) {
      r->out.profile = r->profile;
      tg_http_res_header(req, "Tsunagu-Profile", r->profile_id);
    }
    tg_routes_obs_get(req, id, &r->out);
    return;
  }
  const char *url = backend_url(dist);
  if (mode == NULL || url == NULL || strcmp(mode, "distributed") != 0) {
    json_decref(doc);
    tg_http_res_problem(req, 404, "no-data", "No data distribution", NULL,
                        "dataset %s has no distribution with tsunagu:mode", id);
    return;
  }
  char clash[256];
  if (query_clash(url, query, clash, sizeof(clash))) {
    json_decref(doc);
    tg_route_bad_param(req, clash, "fixed by the dataset's distribution");
    return;
  }
  r->want_convert = r->profile != NULL;
  char *u = strdup(url);
  json_decref(doc);
  if (u == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return;
  }
  serve_backend(r, u, query);
  free(u);
}

/* Owned by another node: forward over mutual TLS with our federation
 * certificate, requiring the owner's. */
static void serve_forward(struct relay *r, const char *id, const char *owner, const char *via,
                          const char *raw_query) {
  struct tg_http_req *req = r->req;
  struct tg_worker *w = tg_http_req_worker(req);
  char base[600];
  struct tg_fed_location loc;
  /* The peers table first (cached); else location management: the harvested
   * index and, on a CA node, the federation directory. */
  if (cached_peer_url(w, owner, base, sizeof(base)) != 0 &&
      (tg_fed_locate(w, id, &loc, NULL) != 0 || loc.url[0] == '\0' ||
       strcmp(loc.owner, owner) != 0 ||
       snprintf(base, sizeof(base), "%s", loc.url) >= (int)sizeof(base))) {
    tg_http_res_problem(req, 404, "owner-unknown", "Owner unknown", NULL,
                        "dataset %s belongs to node %s, which is not a known peer of this node", id,
                        owner);
    return;
  }
  snprintf(r->owner, sizeof(r->owner), "%s", owner);
  snprintf(r->dataset, sizeof(r->dataset), "%s", id);
  r->kind = RELAY_OWNER;
  r->first_byte_ms = 30000;
  r->idle_ms = 30000;
  r->want_convert = r->profile_id[0] != '\0';
  const char *subject = request_subject(req);
  struct tg_settings *st = tg_settings_get();
  const char *peer = tg_http_req_peer(req);
  if (r->prov_on)
    r->out.prov = prov_new(req, TG_PROV_DATA_RECEIVED, id, owner, peer ? peer : st->node_id,
                           subject, tg_http_req_header(req, "Tsunagu-Purpose"));
  tg_settings_put(st);
  /* Converted here (an owner without the profile answers the source's
   * bytes), a range would cut the source, not the answer. */
  int rc = pass_request_headers(r, !r->want_convert);
  if (rc == 0)
    rc = relay_add_header(r, VIA_HEADER, via);
  if (rc == 0)
    rc = relay_pass_header(r, "Tsunagu-Purpose");
  if (rc == 0 && subject != NULL)
    rc = relay_add_header(r, "Tsunagu-Subject", subject);
  if (rc == 0 && r->profile != NULL)
    rc = relay_add_header(r, "Tsunagu-Profile-Fallback", "yes");
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/')
    base[--bl] = '\0';
  struct tg_buf url;
  tg_buf_init(&url);
  if (rc == 0)
    rc = tg_buf_printf(&url, "%s/api/v1/datasets/", base);
  if (rc == 0)
    rc = tg_qs_encode(&url, id);
  if (rc == 0)
    rc = tg_buf_printf(&url, "/data%s%s", raw_query[0] ? "?" : "", raw_query);
  if (rc != 0) {
    tg_buf_close(&url);
    relay_fail(r, 503, "unavailable", "Unavailable", NULL, "cannot prepare the request");
    return;
  }
  struct tg_err err;
  tg_err_clear(&err);
  struct tg_client *fc = tg_routes_data_fed_client(w, &err);
  if (fc == NULL) {
    tg_buf_close(&url);
    relay_fail(r, 502, "owner-unreachable", "Owner unreachable", NULL,
               "this node has no federation certificate to call the owner with");
    return;
  }
  relay_start(r, fc, url.data, owner, 5000);
  tg_buf_close(&url);
}

void tg_route_data_get(struct tg_http_req *req) {
  char id[ID_CAP], owner[64], via[600], query[4096], profile[130];
  struct tg_settings *s = tg_settings_get();
  char self[64];
  snprintf(self, sizeof(self), "%s", s->node_id);
  int prov_on = s->prov_log;
  tg_settings_put(s);
  if (tg_route_path_seg(req, "/data", "bad-dataset-id", "dataset id", id, sizeof(id)))
    return;
  if (tg_cat_dataset_owner(id, owner, sizeof(owner)) != 0) {
    tg_http_res_problem(req, 400, "bad-dataset-id", "Bad dataset id", NULL,
                        "a dataset id is urn:tsunagu:<node>:dataset:<local-id>");
    return;
  }
  if (check_via(req, self, via, sizeof(via)))
    return;
  if (tg_http_req_peer(req) != NULL && strcmp(owner, self) != 0) {
    /* Forwarded, the request would reach the owner with this node's
     * certificate, and the owner's policy would judge this node instead of
     * the caller: a peer asks the owner itself (nodes forward to the owner
     * directly, so no honest request comes here). */
    tg_http_res_problem(req, 403, "not-owner", "Not the owner node", NULL,
                        "%s is not a dataset of this node (%s): a node asks the owner, %s, itself",
                        id, self, owner);
    return;
  }
  const char *raw = tg_http_req_query(req);
  if (split_query(raw, query, sizeof(query), profile, sizeof(profile)) != 0) {
    tg_route_bad_param(req, "profile", "badly encoded or too long");
    return;
  }
  struct relay *r = relay_new(req);
  if (r == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL,
                        "the node is stopping (or out of memory)");
    return;
  }
  r->prov_on = prov_on;
  int local = strcmp(owner, self) == 0;
  if (profile[0]) {
    snprintf(r->profile_id, sizeof(r->profile_id), "%s", profile);
    int rc = load_profile(r, tg_http_req_worker(req), profile);
    /* The owner converts when it holds the profile; a forwarding node that
     * holds it converts what an owner without it sends. */
    int fallback = tg_http_req_peer(req) != NULL &&
                   tg_http_req_header(req, "Tsunagu-Profile-Fallback") != NULL;
    if (rc != 0 && local && !fallback) {
      tg_http_res_problem(req, 404, "unknown-profile", "Unknown profile", NULL,
                          "no conversion profile %s on this node", profile);
      return;
    }
  }
  if (local) {
    serve_owned(r, id, query, self);
  } else if (tg_http_req_peer(req) == NULL && !tg_auth_signed_in(req)) {
    /* Forwarded, it would reach the owner as this node, with what the
     * owner grants this node: not for anyone who did not sign in here. */
    tg_http_res_header(req, "WWW-Authenticate", "Bearer realm=\"tsunagu\"");
    tg_http_res_problem(req, 401, "unauthorized", "Authentication required", NULL,
                        "reading another node's dataset needs a signed-in user of this node");
  } else {
    serve_forward(r, id, owner, via, raw ? raw : "");
  }
}
