/* tg_provlog: the node's provenance log on the writer thread: staging, one
 * durable append per batch, interval and on-demand tree heads signed with
 * DIR/node.key, and a health snapshot any thread may read. */
#include "tg_provlog.h"

#include "tg_buf.h"
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_util.h"
#include "tg_writer.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SIGN_GAP_MS 250 /* on-demand signatures: at most one per this */
/* DIR/provenance.head: the size and root of the last tree head signed, kept
 * outside provenance.db (head_keep, head_check). */
#define HEAD_FILE "provenance.head"

struct staged {
  struct tg_prov_entry e;        /* strings point into blk */
  char *blk;                     /* from malloc */
  struct tg_provlog_result *res; /* borrowed, or NULL */
};

struct tg_provlog {
  struct tg_prov_log *log; /* NULL if it could not be opened */
  char dir[4096];
  char node[TG_PROV_MAX_NODE + 1];
  uint64_t interval_ms;
  uint64_t last_sign_ms;  /* wall clock of the newest signature */
  uint64_t last_try_ms;   /* wall clock of the newest on-demand attempt (tg_provlog_sth) */
  uint64_t last_fail_ms;  /* and of the newest one that failed */
  uint64_t signed_size;   /* tree size of the newest tree head */
  int have_sth;
  struct stat key_st;     /* DIR/node.key when it signed the newest tree head (st_ino 0: unknown) */
  struct staged *v;       /* from malloc */
  size_t n, cap;
  struct tg_prov_entry *batch; /* scratch for tg_prov_log_append, from malloc */
  size_t batch_cap;
  struct tg_buf enc; /* scratch: a staged entry must encode (one bad entry would sink its batch) */
  struct tg_prov_sync *sync; /* the checkpoint thread, NULL when every append syncs */
  /* A twin (tg_provlog_twin) stages on its own loop and appends to its
   * core's log; CORE is NULL in the log opened by tg_provlog_open, whose MU
   * guards the log, the tree and the signing state for all of them. */
  struct tg_provlog *core;
  pthread_mutex_t mu;
};

#define CORE(p) ((p)->core != NULL ? (p)->core : (p))

static pthread_mutex_t health_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tg_provlog_health health;

void tg_provlog_health(struct tg_provlog_health *out) {
  pthread_mutex_lock(&health_mu);
  *out = health;
  pthread_mutex_unlock(&health_mu);
}

static void health_publish(struct tg_provlog *p, uint64_t appended, uint64_t failed) {
  pthread_mutex_lock(&health_mu);
  health.enabled = 1;
  health.open = p->log != NULL;
  if (p->log != NULL) {
    const struct tg_prov_log_health *h = tg_prov_log_health(p->log);
    health.ok = !h->broken;
    health.size = tg_prov_log_size(p->log);
    health.first_bad = h->first_bad;
    if (h->broken)
      snprintf(health.why, sizeof(health.why), "%s", h->why);
  } else {
    health.ok = 0;
  }
  health.last_sth_ms = p->have_sth ? p->last_sign_ms : 0;
  health.appended += appended;
  health.failed += failed;
  health.commits += appended > 0;
  pthread_mutex_unlock(&health_mu);
}

uint64_t tg_provlog_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define MAX_KEYS 64 /* the node's keys over time that are tried */

static void key_stat(const struct tg_provlog *p, struct stat *st);
static void head_check(struct tg_provlog *p);

/* Adds the keys of the certificates in the PEM file PATH to KEYS (new
 * references), at most CAP in all. */
static void keys_add(const char *path, EVP_PKEY **keys, size_t *n, size_t cap) {
  BIO *bio = BIO_new_file(path, "r");
  X509 *x;
  while (bio != NULL && *n < cap && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    EVP_PKEY *k = X509_get_pubkey(x);
    if (k != NULL)
      keys[(*n)++] = k;
    X509_free(x);
  }
  BIO_free(bio);
  ERR_clear_error();
}

/* Checks the stored tree heads' signatures with the key of DIR/node.crt and
 * those of DIR/retired.crt (keys the node had before a rotation). */
static void check_signatures(struct tg_provlog *p) {
  char path[4200];
  EVP_PKEY *keys[MAX_KEYS];
  size_t n = 0;
  struct tg_err err;
  struct stat sb;
  tg_err_clear(&err);
  tg_node_path(path, sizeof(path), p->dir, TG_NODE_CERT);
  if (stat(path, &sb) != 0)
    return; /* not in a federation yet: nothing was signed */
  keys_add(path, keys, &n, MAX_KEYS);
  tg_node_path(path, sizeof(path), p->dir, TG_NODE_RETIRED);
  keys_add(path, keys, &n, MAX_KEYS);
  int rc = n > 0 ? tg_prov_log_check_signatures_any(p->log, keys, n, &err) : 0;
  if (rc != 0)
    tg_log_warn("provenance: cannot check the tree heads' signatures: %s", tg_err_msg(&err, rc));
  for (size_t i = 0; i < n; i++)
    EVP_PKEY_free(keys[i]);
}

/* tg_prov_sync's hold: every append, the core's and its twins', is made
 * under the core's MU. */
static void hold_appends(void *arg, int on) {
  struct tg_provlog *p = arg;
  if (on)
    pthread_mutex_lock(&p->mu);
  else
    pthread_mutex_unlock(&p->mu);
}

/* With SYNC_MS > 0, appends only reach the operating system (safe from
 * kill -9) and a thread syncs them every SYNC_MS; 0 syncs each batch. */
static void set_sync(struct tg_provlog *p, const char *path, uint64_t sync_ms) {
  struct tg_err err;
  tg_err_clear(&err);
  if (sync_ms == 0)
    return;
  int rc = tg_prov_log_set_sync(p->log, TG_PROV_SYNC_OS, &err);
  if (rc == 0)
    rc = tg_prov_sync_start(path, sync_ms, &p->sync, &err);
  if (rc == 0)
    tg_prov_sync_set_hold(p->sync, hold_appends, p);
  if (rc != 0) {
    tg_log_warn("provenance: every append is synced to disk before its answer: %s",
                tg_err_msg(&err, rc));
    tg_prov_log_set_sync(p->log, TG_PROV_SYNC_FULL, NULL);
  }
}

int tg_provlog_open(const char *dir, const char *node_id, uint64_t sth_interval_ms,
                    uint64_t sync_interval_ms, struct tg_provlog **out) {
  struct tg_provlog *p = calloc(1, sizeof(*p));
  *out = NULL;
  if (p == NULL)
    return TG_ENOMEM;
  pthread_mutex_init(&p->mu, NULL);
  snprintf(p->dir, sizeof(p->dir), "%s", dir);
  snprintf(p->node, sizeof(p->node), "%s", node_id);
  p->interval_ms = sth_interval_ms;
  tg_buf_init(&p->enc);
  char path[4200];
  struct tg_err err;
  tg_err_clear(&err);
  tg_node_path(path, sizeof(path), dir, "provenance.db");
  int rc = tg_prov_log_open(path, &p->log, &err);
  if (rc != 0) {
    const char *why = tg_err_msg(&err, rc);
    if (strstr(why, path) != NULL) /* tg_db_open names the file and the reason */
      tg_log_error("provenance: %s; nothing is logged", why);
    else
      tg_log_error("provenance: cannot open %s: %s; nothing is logged", path, why);
    pthread_mutex_lock(&health_mu);
    snprintf(health.why, sizeof(health.why), "the log cannot be opened");
    pthread_mutex_unlock(&health_mu);
    p->log = NULL;
  } else {
    check_signatures(p);
    head_check(p);
    const struct tg_prov_log_health *h = tg_prov_log_health(p->log);
    struct tg_prov_sth sth;
    if (tg_prov_log_sth_latest(p->log, &sth, NULL) == 0) {
      p->have_sth = 1;
      p->signed_size = sth.tree_size;
      p->last_sign_ms = sth.timestamp_ms;
      /* Signed with today's key? Else (a rotation) a head with the new key
       * follows at the first tick (key_changed). */
      char crt[4200];
      EVP_PKEY *cur[1];
      size_t n = 0;
      tg_node_path(crt, sizeof(crt), dir, TG_NODE_CERT);
      keys_add(crt, cur, &n, 1);
      if (n == 1 && tg_prov_sth_verify(&sth, cur[0], NULL) == 0)
        key_stat(p, &p->key_st);
      if (n == 1)
        EVP_PKEY_free(cur[0]);
    }
    if (h->broken)
      tg_log_error("provenance: the log is broken from entry %llu on: %s; no tree head is "
                   "signed until it is repaired",
                   (unsigned long long)h->first_bad, h->why);
    else
      tg_log_info("provenance: %llu entries, verified", (unsigned long long)h->size);
    set_sync(p, path, sync_interval_ms);
  }
  health_publish(p, 0, 0);
  *out = p;
  return 0;
}

static void staged_clear(struct staged *s) {
  free(s->blk);
  s->blk = NULL;
}

void tg_provlog_unstage(struct tg_provlog *p, size_t mark) {
  while (p->n > mark) {
    struct staged *s = &p->v[--p->n];
    if (s->res != NULL)
      s->res->rc = TG_ECANCELED;
    staged_clear(s);
  }
}

void tg_provlog_unstage_range(struct tg_provlog *p, size_t from, size_t to) {
  if (to > p->n)
    to = p->n;
  if (from >= to)
    return;
  for (size_t i = from; i < to; i++) {
    if (p->v[i].res != NULL)
      p->v[i].res->rc = TG_ECANCELED;
    staged_clear(&p->v[i]);
  }
  memmove(&p->v[from], &p->v[to], (p->n - to) * sizeof(p->v[0]));
  p->n -= to - from;
}

size_t tg_provlog_mark(const struct tg_provlog *p) { return p->n; }

/* Copies the strings of E into one block, pointing D's at it. */
static int entry_copy(struct staged *d, const struct tg_prov_entry *e) {
  const char *const src[] = {e->dataset, e->requester_node, e->requester_subject,
                             e->owner_node, e->purpose,     e->rule,
                             e->has_ref ? e->ref.node : NULL};
  size_t len[7], total = 0;
  for (int i = 0; i < 7; i++) {
    len[i] = src[i] ? strnlen(src[i], TG_PROV_MAX_STR + 1) : 0;
    total += len[i] + 1;
  }
  d->blk = malloc(total);
  if (d->blk == NULL)
    return TG_ENOMEM;
  d->e = *e;
  const char **dst[] = {&d->e.dataset, &d->e.requester_node, &d->e.requester_subject,
                        &d->e.owner_node, &d->e.purpose, &d->e.rule, &d->e.ref.node};
  char *q = d->blk;
  for (int i = 0; i < 7; i++) {
    if (src[i] == NULL) {
      *dst[i] = NULL;
      continue;
    }
    memcpy(q, src[i], len[i]);
    q[len[i]] = '\0';
    *dst[i] = q;
    q += len[i] + 1;
  }
  return 0;
}

int tg_provlog_stage(struct tg_provlog *p, const struct tg_prov_entry *e,
                     struct tg_provlog_result *res) {
  if (res != NULL)
    res->rc = TG_EPERM;
  if (p == NULL || CORE(p)->log == NULL)
    return TG_EPERM;
  pthread_mutex_lock(&CORE(p)->mu);
  int broken = tg_prov_log_health(CORE(p)->log)->broken;
  pthread_mutex_unlock(&CORE(p)->mu);
  if (broken)
    return TG_EPERM;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    struct staged *v = realloc(p->v, cap * sizeof(*v));
    if (v == NULL)
      return TG_ENOMEM;
    p->v = v;
    p->cap = cap;
  }
  struct staged *s = &p->v[p->n];
  if (entry_copy(s, e) != 0)
    return TG_ENOMEM;
  if (s->e.time_us == 0)
    s->e.time_us = tg_provlog_now_us();
  struct tg_err err;
  tg_err_clear(&err);
  tg_buf_reset(&p->enc);
  int rc = tg_prov_entry_encode(&s->e, &p->enc, &err);
  if (rc != 0) {
    tg_log_warn("provenance: an entry (%s) refused: %s", tg_prov_kind_name(e->kind),
                tg_err_msg(&err, rc));
    staged_clear(s);
    return rc;
  }
  s->res = res;
  p->n++;
  return 0;
}

/* Appends the staged entries (one transaction); 0 or the log's code. */
static int flush_append(struct tg_provlog *p, struct tg_err *err) {
  if (p->batch_cap < p->n) {
    struct tg_prov_entry *b = realloc(p->batch, p->n * sizeof(*b));
    if (b == NULL)
      return tg_err_set(err, TG_ENOMEM, "out of memory");
    p->batch = b;
    p->batch_cap = p->n;
  }
  for (size_t i = 0; i < p->n; i++)
    p->batch[i] = p->v[i].e;
  return tg_prov_log_append(CORE(p)->log, p->batch, p->n, err);
}

void tg_provlog_flush(struct tg_provlog *p) {
  if (p == NULL || p->n == 0)
    return;
  struct tg_provlog *c = CORE(p);
  struct tg_err err;
  tg_err_clear(&err);
  pthread_mutex_lock(&c->mu);
  int rc = flush_append(p, &err);
  uint64_t size = tg_prov_log_size(c->log);
  uint8_t root[TG_PROV_HASH] = {0};
  if (rc == 0)
    rc = tg_prov_tree_root(tg_prov_log_tree(c->log), size, root);
  health_publish(c, rc == 0 ? p->n : 0, rc == 0 ? 0 : p->n);
  pthread_mutex_unlock(&c->mu);
  if (rc != 0)
    tg_log_error("provenance: %zu entries not appended: %s", p->n, tg_err_msg(&err, rc));
  for (size_t i = 0; i < p->n; i++) {
    struct tg_provlog_result *r = p->v[i].res;
    if (r != NULL) {
      r->rc = rc;
      /* no index without an append (p->batch may be short: out of memory) */
      r->index = rc == 0 ? p->batch[i].index : 0;
      r->tree_size = size;
      memcpy(r->root, root, TG_PROV_HASH);
      snprintf(r->node, sizeof(r->node), "%s", c->node);
    }
    staged_clear(&p->v[i]);
  }
  p->n = 0;
}

/* Whether DIR/node.key is another file than the one that signed the newest
 * tree head (a key rotation): then a new head is signed with the new key,
 * for the same tree too, so verifiers find one their certificate checks. */
static int key_changed(const struct tg_provlog *p) {
  char path[4200];
  struct stat st;
  tg_node_path(path, sizeof(path), p->dir, TG_NODE_KEY);
  if (stat(path, &st) != 0)
    return 0; /* no key: nothing can be signed anyway */
  return st.st_ino != p->key_st.st_ino || st.st_dev != p->key_st.st_dev ||
         st.st_mtim.tv_sec != p->key_st.st_mtim.tv_sec ||
         st.st_mtim.tv_nsec != p->key_st.st_mtim.tv_nsec;
}

/* DIR/node.key's identity now into ST (zeroed when there is none). */
static void key_stat(const struct tg_provlog *p, struct stat *st) {
  char path[4200];
  tg_node_path(path, sizeof(path), p->dir, TG_NODE_KEY);
  if (stat(path, st) != 0)
    memset(st, 0, sizeof(*st));
}

/* Keeps STH's size and root in DIR/provenance.head (written atomically and
 * synced): deleting the last entries together with the tree heads stored
 * beside them in provenance.db no longer opens as a whole log. A failure is
 * logged: the head is signed and stored all the same. */
static void head_keep(const struct tg_provlog *p, const struct tg_prov_sth *sth) {
  char path[4200], text[120], hex[2 * TG_PROV_HASH + 1];
  struct tg_err err;
  tg_err_clear(&err);
  tg_hex(sth->root, TG_PROV_HASH, hex);
  int n = snprintf(text, sizeof(text), "%llu %s\n", (unsigned long long)sth->tree_size, hex);
  tg_node_path(path, sizeof(path), p->dir, HEAD_FILE);
  int rc = tg_file_write(path, text, (size_t)n, 0644, 0, &err);
  if (rc != 0)
    tg_log_warn("provenance: cannot keep the last tree head: %s", tg_err_msg(&err, rc));
}

/* Checks the opened log against DIR/provenance.head, when there is one. */
static void head_check(struct tg_provlog *p) {
  char path[4200], hex[2 * TG_PROV_HASH + 1];
  unsigned long long size;
  uint8_t root[TG_PROV_HASH];
  tg_node_path(path, sizeof(path), p->dir, HEAD_FILE);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return; /* nothing signed yet, or a log from before the file */
  int ok = fscanf(f, "%20llu %64[0-9a-f]", &size, hex) == 2 && strlen(hex) == 2 * TG_PROV_HASH;
  fclose(f);
  for (int i = 0; ok && i < TG_PROV_HASH; i++) {
    unsigned v;
    ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
    root[i] = (uint8_t)v;
  }
  if (!ok) {
    tg_log_warn("provenance: %s is malformed: the log is not checked against it", path);
    return;
  }
  tg_prov_log_expect(p->log, (uint64_t)size, root);
}

/* Signs a tree head over the whole log now. On the writer thread, the one
 * thread that signs, without the lock: loading the key, the signature and
 * the sync of the entries the head covers (5-10 ms on a virtual disk) do not
 * hold up the loops' appends (tg_provlog_direct); taking the head and
 * storing it, without a sync, do. The stored head reaches the disk with the
 * next checkpoint, the entries it covers before it is stored or shown. */
static int sign_now(struct tg_provlog *p, uint64_t now_ms, struct tg_prov_sth *sth,
                    struct tg_err *err) {
  char path[4200];
  EVP_PKEY *key = NULL;
  struct stat key_st;
  pthread_mutex_lock(&p->mu);
  int rc = tg_prov_log_head(p->log, p->node, now_ms, sth, err);
  pthread_mutex_unlock(&p->mu);
  key_stat(p, &key_st); /* before the load: a rotation meanwhile signs again */
  tg_node_path(path, sizeof(path), p->dir, TG_NODE_KEY);
  if (rc == 0)
    rc = tg_cert_key_load(path, &key, err);
  if (rc == 0)
    rc = tg_prov_sth_sign(sth, key, err);
  EVP_PKEY_free(key);
  if (rc == 0)
    rc = tg_prov_log_sync_entries(p->log, err);
  if (rc != 0)
    return rc;
  pthread_mutex_lock(&p->mu);
  rc = tg_prov_log_store(p->log, sth, 0, err);
  if (rc == 0) {
    p->have_sth = 1;
    p->signed_size = sth->tree_size;
    p->last_sign_ms = now_ms;
    p->key_st = key_st;
    health_publish(p, 0, 0);
  }
  pthread_mutex_unlock(&p->mu);
  /* Its two syncs outside the lock the loops append under; signing is the
   * writer thread's alone, so the file follows the heads in order. */
  if (rc == 0)
    head_keep(p, sth);
  return rc;
}

uint64_t tg_provlog_tick(struct tg_provlog *p, uint64_t now_ms) {
  if (p == NULL || p->log == NULL || p->interval_ms == 0)
    return 60000;
  pthread_mutex_lock(&p->mu);
  uint64_t due = p->last_sign_ms + p->interval_ms, next = p->interval_ms;
  int sign = 0;
  /* A clock stepped back behind the newest signature makes it due now,
   * rather than when the clock catches up. */
  if (now_ms < due && p->have_sth && now_ms >= p->last_sign_ms)
    next = due - now_ms;
  else
    sign = !tg_prov_log_health(p->log)->broken && tg_prov_log_size(p->log) > 0 &&
           (!p->have_sth || tg_prov_log_size(p->log) > p->signed_size || key_changed(p));
  pthread_mutex_unlock(&p->mu);
  if (sign) {
    struct tg_prov_sth sth;
    struct tg_err err;
    tg_err_clear(&err);
    int rc = sign_now(p, now_ms, &sth, &err);
    if (rc != 0) {
      tg_log_warn("provenance: no tree head signed: %s", tg_err_msg(&err, rc));
      pthread_mutex_lock(&p->mu);
      p->last_sign_ms = now_ms; /* try again after an interval, not in a loop */
      pthread_mutex_unlock(&p->mu);
    }
  }
  return next;
}

int tg_provlog_sth(struct tg_provlog *p, struct tg_prov_sth *sth, struct tg_err *err) {
  if (p == NULL || CORE(p)->log == NULL)
    return tg_err_set(err, TG_EPERM, "the provenance log is not open");
  p = CORE(p);
  pthread_mutex_lock(&p->mu);
  const struct tg_prov_log_health *h = tg_prov_log_health(p->log);
  int rc = 0, sign = 0;
  if (h->broken) {
    rc = tg_err_set(err, TG_EPERM, "the provenance log is broken from entry %llu on: %s",
                    (unsigned long long)h->first_bad, h->why);
  } else {
    uint64_t now = tg_provlog_now_us() / 1000;
    uint64_t size = tg_prov_log_size(p->log);
    /* Anyone may ask: a grown log is signed at most once per SIGN_GAP_MS.
     * With no head yet, or none with today's key (after a rotation, a head
     * with the old key would not check against node.crt), it is signed now,
     * unless an attempt failed within SIGN_GAP_MS: a failing sync must not
     * cost a signature and an fsync per anonymous request. */
    int gap = now >= p->last_try_ms + SIGN_GAP_MS || now < p->last_try_ms;
    int fail_gap = now >= p->last_fail_ms + SIGN_GAP_MS || now < p->last_fail_ms;
    int must = !p->have_sth || (size > 0 && key_changed(p));
    sign = must ? fail_gap : size > p->signed_size && gap;
    if (sign)
      p->last_try_ms = now;
    else
      rc = tg_prov_log_sth_latest(p->log, sth, err);
  }
  pthread_mutex_unlock(&p->mu);
  if (sign && (rc = sign_now(p, tg_provlog_now_us() / 1000, sth, err)) != 0) {
    pthread_mutex_lock(&p->mu);
    p->last_fail_ms = tg_provlog_now_us() / 1000;
    pthread_mutex_unlock(&p->mu);
  }
  return rc;
}

struct tg_prov_log *tg_provlog_log(struct tg_provlog *p) { return p ? CORE(p)->log : NULL; }

void tg_provlog_lock(struct tg_provlog *p) {
  if (p != NULL)
    pthread_mutex_lock(&CORE(p)->mu);
}

void tg_provlog_unlock(struct tg_provlog *p) {
  if (p == NULL)
    return;
  struct tg_provlog *c = CORE(p);
  /* A read under the lock may have found a row changed or gone under the
   * running node (tg_prov_log_read): /healthz and /metrics say so now, and
   * the log says it once. */
  const struct tg_prov_log_health *h = c->log != NULL ? tg_prov_log_health(c->log) : NULL;
  if (h != NULL && h->broken) {
    pthread_mutex_lock(&health_mu);
    int was_ok = health.ok;
    pthread_mutex_unlock(&health_mu);
    if (was_ok) {
      health_publish(c, 0, 0);
      tg_log_error("provenance: the log is broken from entry %llu on: %s; no tree head is "
                   "signed until it is repaired",
                   (unsigned long long)h->first_bad, h->why);
    }
  }
  pthread_mutex_unlock(&c->mu);
}

const char *tg_provlog_dir(const struct tg_provlog *p) { return CORE(p)->dir; }

const char *tg_provlog_node(const struct tg_provlog *p) { return CORE(p)->node; }

int tg_provlog_direct(const struct tg_provlog *p) {
  return p != NULL && CORE(p)->log != NULL && CORE(p)->sync != NULL;
}

int tg_provlog_twin(struct tg_provlog *p, struct tg_provlog **out) {
  struct tg_provlog *t = calloc(1, sizeof(*t));
  *out = NULL;
  if (t == NULL)
    return TG_ENOMEM;
  t->core = CORE(p);
  tg_buf_init(&t->enc);
  *out = t;
  return 0;
}

/* Drops what P has staged and frees its staging (a twin's or the core's). */
static void staging_close(struct tg_provlog *p) {
  tg_provlog_unstage(p, 0);
  free(p->v);
  free(p->batch);
  tg_buf_close(&p->enc);
}

void tg_provlog_twin_free(struct tg_provlog *t) {
  if (t == NULL)
    return;
  staging_close(t);
  free(t);
}

void tg_provlog_close(struct tg_provlog *p) {
  if (p == NULL)
    return;
  tg_provlog_unstage(p, 0);
  if (p->log != NULL && !tg_prov_log_health(p->log)->broken && tg_prov_log_size(p->log) > 0 &&
      (!p->have_sth || tg_prov_log_size(p->log) > p->signed_size)) {
    struct tg_prov_sth sth;
    sign_now(p, tg_provlog_now_us() / 1000, &sth, NULL);
  }
  tg_prov_sync_stop(p->sync); /* its last checkpoint makes everything durable */
  tg_prov_log_close(p->log);
  staging_close(p);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* ---- notes from a loop ---------------------------------------------------- */

struct note {
  struct staged copy; /* the entry, its strings in copy.blk */
};

void tg_provlog_event(struct tg_provlog *p, int kind, const char *what) {
  struct tg_prov_entry e;
  if (p == NULL || CORE(p)->log == NULL)
    return;
  memset(&e, 0, sizeof(e));
  e.kind = kind;
  e.outcome = TG_PROV_COMPLETE;
  e.dataset = what;
  e.owner_node = CORE(p)->node;
  tg_provlog_stage(p, &e, NULL);
}

void tg_provlog_note_event(struct tg_writer_port *port, int kind, const char *what) {
  struct tg_prov_entry e;
  memset(&e, 0, sizeof(e));
  e.kind = kind;
  e.outcome = TG_PROV_COMPLETE;
  e.dataset = what;
  tg_provlog_note(port, &e);
}

static int note_run(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err) {
  struct note *n = arg;
  if (n->copy.e.owner_node == NULL && ctx->prov != NULL)
    n->copy.e.owner_node = tg_provlog_node(ctx->prov);
  if (ctx->prov == NULL)
    return 0; /* [provenance] log = off */
  /* A failure to stage (no memory, an entry that does not encode) is said
   * by note_done; a log that is not open or broken was said once, at open
   * and in /healthz, not again for every note a caller can cause; an
   * append that fails later is said by tg_provlog_flush. */
  int rc = tg_provlog_stage(ctx->prov, &n->copy.e, NULL);
  return rc == 0 || rc == TG_EPERM ? 0 : tg_err_set(err, rc, "the log refused it");
}

static void note_done(void *arg, int rc, const struct tg_err *err) {
  struct note *n = arg;
  if (rc != 0)
    tg_log_warn("provenance: an entry (%s) was not logged: %s", tg_prov_kind_name(n->copy.e.kind),
                tg_err_msg(err, rc));
  free(n->copy.blk);
  free(n);
}

void tg_provlog_note(struct tg_writer_port *port, const struct tg_prov_entry *e) {
  struct note *n = calloc(1, sizeof(*n));
  if (n == NULL || entry_copy(&n->copy, e) != 0) {
    free(n);
    tg_log_warn("provenance: an entry (%s) was not logged: out of memory",
                tg_prov_kind_name(e->kind));
    return;
  }
  if (n->copy.e.time_us == 0)
    n->copy.e.time_us = tg_provlog_now_us();
  if (tg_writer_submit_log(tg_writer_get(), port, note_run, note_done, n) != 0) {
    free(n->copy.blk);
    free(n);
  }
}
