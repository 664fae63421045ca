/* tg_fed_refresh: keeps a node's crl.pem current: a periodic fetcher
 * (http/tg_periodic) on the daemon's main loop fetches the hub's CRL (or, on
 * a CA node, its tick reads its CA's crl.pem), installs it when it is newer
 * and signed by the federation CA, and asks the server to reload its TLS
 * settings. */
#include "tg_buf.h"
#include "tg_cert_ca.h"
#include "tg_client.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_periodic.h"
#include "tg_prov.h"
#include "tg_provlog.h"
#include "tg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TG_FED_CRL_DEFAULT_MS (5 * 60 * 1000)
#define TG_FED_CRL_WATCH_MS 2000 /* [ca] crl_watch default */

struct tg_fed_refresh {
  uv_timer_t defer; /* the reload runs from here, outside client callbacks */
  uv_timer_t watch; /* a CA node: looks at its CA's crl.pem every [ca] crl_watch */
  struct stat seen; /* that file when last installed (st_ino 0: not yet) */
  uint64_t watch_ms;
  int open_timers;  /* defer and watch until their close callbacks ran */
  struct tg_periodic *fetch; /* the hub's CRL each interval; its tick does the rest */
  int has_client;   /* the fetcher has a client for the hub */
  char dir[4096];
  char hub[600];     /* "" when the node has no hub */
  char hub_id[64];   /* [federation] hub_id: required of the hub's certificate, or "" */
  char ca_dir[4096]; /* "" unless the node runs the CA */
  uint64_t interval_ms;
  void (*reload)(void *ud);
  void *ud;
  struct tg_writer_port *port; /* the main loop's, for provenance entries; may be NULL */
};

/* ---- a CA node's revocations in its provenance log ----------------------
 * `tsunagu ca revoke` runs offline, beside the node; the node learns of a
 * revocation when the CA's crl.pem changes, and writes a cert-revoked entry
 * for each serial it has not logged before. DIR/prov-revoked lists those
 * serials, one a line, so that a restart does not log them again. */
#define REVOKED_FILE "prov-revoked"

struct revoked_scan {
  struct tg_fed_refresh *r;
  const char *seen;     /* the file, "\n" + serials + "\n" */
  struct tg_buf add;    /* serials logged now, one a line */
};

static int revoked_one(void *ud, const char *serial) {
  struct revoked_scan *s = ud;
  char key[140], what[160];
  if (snprintf(key, sizeof(key), "\n%s\n", serial) >= (int)sizeof(key) ||
      strstr(s->seen, key) != NULL || strstr(s->add.data ? s->add.data : "", key + 1) != NULL)
    return 0;
  snprintf(what, sizeof(what), "certificate serial %s", serial);
  tg_provlog_note_event(s->r->port, TG_PROV_CERT_REVOKED, what);
  tg_log_info("provenance: certificate serial %s revoked", serial);
  return tg_buf_append(&s->add, key + 1, strlen(key + 1));
}

static void revoked_note(struct tg_fed_refresh *r, const char *pem, size_t len) {
  X509_CRL *crl = NULL;
  char path[4200], *old = NULL, *seen = NULL;
  size_t olen = 0;
  struct tg_provlog_health h;
  tg_provlog_health(&h);
  /* Without a working log nothing is written, and nothing is marked logged. */
  if (r->port == NULL || !h.enabled || !h.ok || tg_cert_crl_parse(pem, len, NULL, &crl, NULL) != 0)
    return;
  tg_node_path(path, sizeof(path), r->dir, REVOKED_FILE);
  if (tg_file_read(path, 1u << 24, &old, &olen, NULL) != 0)
    olen = 0;
  struct revoked_scan s = {r, NULL, {0}};
  tg_buf_init(&s.add);
  if ((seen = malloc(olen + 2)) != NULL) {
    seen[0] = '\n';
    if (olen)
      memcpy(seen + 1, old, olen);
    seen[olen + 1] = '\0';
    s.seen = seen;
    if (tg_cert_crl_each(crl, revoked_one, &s) == 0 && s.add.len > 0) {
      struct tg_buf all;
      tg_buf_init(&all);
      struct tg_err err;
      tg_err_clear(&err);
      int rc = tg_buf_append(&all, old ? old : "", olen);
      if (rc == 0)
        rc = tg_buf_append(&all, s.add.data, s.add.len);
      if (rc == 0)
        rc = tg_file_write(path, all.data, all.len, 0600, 0, &err);
      if (rc != 0)
        tg_log_warn("provenance: cannot record the logged revocations in %s: %s", path,
                    tg_err_msg(&err, rc));
      tg_buf_close(&all);
    }
  }
  tg_buf_close(&s.add);
  free(seen);
  free(old);
  X509_CRL_free(crl);
}

static void on_defer(uv_timer_t *t) {
  struct tg_fed_refresh *r = t->data;
  r->reload(r->ud);
}

static void refresh_install(struct tg_fed_refresh *r, const char *pem, size_t len,
                            const char *from) {
  struct tg_err err;
  int changed = 0;
  tg_err_clear(&err);
  int rc = tg_fed_crl_install(r->dir, pem, len, &changed, &err);
  if (rc != 0) {
    tg_log_warn("CRL refresh from %s refused: %s", from, tg_err_msg(&err, rc));
    return;
  }
  if (changed) {
    tg_log_info("installed a new CRL from %s; reloading", from);
    uv_timer_start(&r->defer, on_defer, 0, 0);
  }
}

static int on_body(void *ud, const char *body, size_t len) {
  struct tg_fed_refresh *r = ud;
  refresh_install(r, body, len, r->hub);
  return 0; /* a refused CRL waits for the next interval, as a fetched one */
}

static void on_fail(void *ud, int rc, int status, const struct tg_err *err) {
  struct tg_fed_refresh *r = ud;
  if (rc != 0)
    tg_log_warn("CRL refresh: cannot fetch from %s: %s", r->hub, tg_err_msg(err, rc));
  else
    tg_log_warn("CRL refresh: %s answered %d", r->hub, status);
}

/* Seconds from now to the nextUpdate of the CRL at PATH, and its whole
 * lifetime (nextUpdate - lastUpdate); TG_EINVAL when unreadable. */
static int crl_times(const char *path, long *left, long *life) {
  X509_CRL *crl = NULL;
  int dd = 0, ds = 0, ld = 0, ls = 0;
  if (tg_cert_crl_load(path, &crl, NULL) != 0)
    return TG_EINVAL;
  const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl), *next = X509_CRL_get0_nextUpdate(crl);
  int ok = last && next && ASN1_TIME_diff(&dd, &ds, NULL, next) && ASN1_TIME_diff(&ld, &ls, last, next);
  X509_CRL_free(crl);
  if (!ok)
    return TG_EINVAL;
  *left = (long)dd * 86400 + ds;
  *life = (long)ld * 86400 + ls;
  return 0;
}

/* A CA node re-issues its CRL once half of its lifetime has passed, so that
 * the federation never runs on an expired CRL (which refuses every peer). */
static void ca_crl_keep_fresh(struct tg_fed_refresh *r, const char *path) {
  long left, life;
  if (crl_times(path, &left, &life) != 0 || left > life / 2)
    return;
  struct tg_cert_ca *ca = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_cert_ca_open(r->ca_dir, &ca, &err);
  if (rc == 0)
    rc = tg_cert_ca_crl_renew(ca, &err);
  tg_cert_ca_close(ca);
  if (rc != 0)
    tg_log_warn("cannot re-issue the CRL (it expires in %ld s): %s", left, tg_err_msg(&err, rc));
  else
    tg_log_info("re-issued the federation CRL (the old one had %ld s left)", left);
}

static void crl_expiry_warn(struct tg_fed_refresh *r) {
  char path[4200];
  long left, life;
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CRL);
  if (crl_times(path, &left, &life) == 0 && left < 7 * 86400)
    tg_log_warn("the installed CRL %s in %ld h: peers are refused once it has expired; "
                "the CA must issue a new one (tsunagu ca crl)",
                left > 0 ? "expires" : "expired", (left > 0 ? left : -left) / 3600);
}

static void refresh_configure(struct tg_fed_refresh *r);

/* A CA node applies its own revocations at once: tsunagu ca revoke (or a
 * key rotation through renew) writes the CA's crl.pem, and a changed file
 * is installed and the TLS settings reloaded within [ca] crl_watch, without
 * waiting for the CRL refresh interval or a SIGHUP. A stat() per interval. */
static void on_watch(uv_timer_t *t) {
  struct tg_fed_refresh *r = t->data;
  char path[4200], *pem = NULL;
  size_t len = 0;
  struct stat st;
  if (!r->ca_dir[0] || r->hub[0])
    return;
  snprintf(path, sizeof(path), "%s/%s", r->ca_dir, TG_CA_CRL);
  if (stat(path, &st) != 0)
    return;
  if (st.st_ino == r->seen.st_ino && st.st_dev == r->seen.st_dev &&
      st.st_size == r->seen.st_size && st.st_mtim.tv_sec == r->seen.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == r->seen.st_mtim.tv_nsec)
    return;
  r->seen = st;
  if (tg_file_read(path, TG_CA_MAX_INPUT, &pem, &len, NULL) == 0) {
    refresh_install(r, pem, len, path);
    revoked_note(r, pem, len);
  }
  free(pem);
}

/* Starts or stops the watch as the configuration says. */
static void watch_configure(struct tg_fed_refresh *r) {
  if (r->ca_dir[0] && !r->hub[0] && r->watch_ms > 0)
    uv_timer_start(&r->watch, on_watch, 0, r->watch_ms);
  else
    uv_timer_stop(&r->watch);
}

/* Each tick: warnings, the CA's own CRL, and whether to fetch from the hub. */
static int on_tick(void *ud) {
  struct tg_fed_refresh *r = ud;
  /* Not in a federation yet (no hub, or no ca.crt): look again, so that a
   * hub written by tsunagu peer sync takes effect without a signal. */
  if ((!r->hub[0] && !r->ca_dir[0]) || (r->hub[0] && !r->has_client))
    refresh_configure(r);
  crl_expiry_warn(r);
  if (r->ca_dir[0]) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", r->ca_dir, TG_CA_CRL);
    ca_crl_keep_fresh(r, path);
  }
  if (r->ca_dir[0] && !r->hub[0]) {
    char path[4200], *pem = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", r->ca_dir, TG_CA_CRL);
    if (tg_file_read(path, TG_CA_MAX_INPUT, &pem, &len, NULL) == 0) {
      refresh_install(r, pem, len, path);
      revoked_note(r, pem, len);
    }
    free(pem);
    return 0;
  }
  return r->has_client;
}

/* Reads the configuration and rebuilds the client with the current TLS
 * material; the timer restarts with the interval. */
static void refresh_configure(struct tg_fed_refresh *r) {
  char path[4096];
  struct tg_conf *c = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  r->hub[0] = '\0';
  r->hub_id[0] = '\0';
  r->interval_ms = TG_FED_CRL_DEFAULT_MS;
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CONF);
  if (tg_conf_load(path, &c, &err) == 0) {
    const char *h = tg_conf_get(c, "federation", "hub");
    if (h != NULL && strncmp(h, "https://", 8) == 0 && strlen(h) < sizeof(r->hub))
      snprintf(r->hub, sizeof(r->hub), "%s", h);
    const char *hid = tg_conf_get(c, "federation", "hub_id");
    if (hid != NULL && tg_node_id_valid(hid))
      snprintf(r->hub_id, sizeof(r->hub_id), "%s", hid);
    else if (h != NULL)
      tg_log_warn("[federation] hub = %s: expected an https:// URL", h);
    uint64_t ms = 0;
    if (tg_conf_get_ms(c, "federation", "crl_refresh", TG_FED_CRL_DEFAULT_MS, &ms, &err) == 0 &&
        ms > 0)
      r->interval_ms = ms;
    else
      tg_log_warn("[federation] crl_refresh: keeping %llu ms", (unsigned long long)r->interval_ms);
    r->watch_ms = TG_FED_CRL_WATCH_MS;
    if (tg_conf_get_ms(c, "ca", "crl_watch", TG_FED_CRL_WATCH_MS, &ms, &err) == 0)
      r->watch_ms = ms; /* 0: off */
    else
      tg_log_warn("[ca] crl_watch: keeping %llu ms", (unsigned long long)r->watch_ms);
    tg_conf_free(c);
  }
  if (tg_fed_ca_dir(r->dir, r->ca_dir, sizeof(r->ca_dir)) != 0)
    r->ca_dir[0] = '\0';
  watch_configure(r);
  char url[700];
  snprintf(url, sizeof(url), "%s/api/v1/certs/crl", r->hub);
  struct tg_fed_tls t;
  int fed = r->hub[0] && tg_fed_tls_paths(r->dir, &t) == 0;
  /* No CRL check on this one call: with an expired CRL installed the node
   * could otherwise never fetch the next one. What it fetches is checked
   * (signed by the CA, not older than the installed one) before use. */
  struct tg_client_tls tls = {.ca_file = fed ? t.ca : NULL,
                              .cert_file = fed ? t.cert : NULL,
                              .key_file = fed ? t.key : NULL,
                              .peer_node_id = r->hub_id[0] ? r->hub_id : NULL};
  struct tg_periodic_opts o = {.url = fed ? url : NULL,
                               .period_ms = r->interval_ms,
                               .timeout_ms = 10000,
                               .max_response = TG_CA_MAX_INPUT};
  r->has_client = tg_periodic_configure(r->fetch, &tls, &o, &err) == 0 && fed;
  if (fed && !r->has_client)
    tg_log_warn("CRL refresh: %s", tg_err_msg(&err, TG_EIO));
}

int tg_fed_refresh_start(uv_loop_t *loop, const char *dir, struct tg_writer_port *port,
                         void (*reload)(void *ud), void *ud, struct tg_fed_refresh **out,
                         struct tg_err *err) {
  static const struct tg_periodic_cb cb = {
      .on_tick = on_tick, .on_body = on_body, .on_fail = on_fail};
  struct tg_fed_refresh *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int rc = tg_periodic_new(loop, &cb, r, &r->fetch, err);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->reload = reload;
  r->ud = ud;
  r->port = port;
  snprintf(r->dir, sizeof(r->dir), "%s", dir);
  uv_timer_init(loop, &r->defer);
  uv_timer_init(loop, &r->watch);
  r->defer.data = r->watch.data = r;
  r->open_timers = 2;
  tg_fed_refresh_kick(r);
  *out = r;
  return 0;
}

void tg_fed_refresh_kick(struct tg_fed_refresh *r) {
  if (r == NULL)
    return;
  refresh_configure(r);
  tg_periodic_kick(r->fetch);
}

/* The last of the two timers to close frees R. */
static void refresh_closed(uv_handle_t *h) {
  struct tg_fed_refresh *r = h->data;
  if (--r->open_timers == 0)
    free(r);
}

void tg_fed_refresh_stop(struct tg_fed_refresh *r) {
  if (r == NULL)
    return;
  tg_periodic_stop(r->fetch);
  r->fetch = NULL;
  uv_timer_stop(&r->defer);
  uv_timer_stop(&r->watch);
  uv_close((uv_handle_t *)&r->defer, refresh_closed);
  uv_close((uv_handle_t *)&r->watch, refresh_closed);
}
