/* tg_fed_renew: renewing a node's federation certificate from its hub. The
 * request (a CSR over mutual TLS) and the installation of the answer are
 * shared by tsunagu renew and the daemon, which renews by itself at two
 * thirds of the certificate's life (with jitter, and exponential backoff
 * after a failure) from a periodic client on its main loop, then reloads. */
#include "tg_ca_node.h"
#include "tg_cert.h"
#include "tg_buf.h"
#include "tg_cert_ca.h"
#include "tg_client.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_periodic.h"
#include "tg_util.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --- the request and the installation (tsunagu renew and the daemon) --- */

int tg_fed_renew_request(const char *dir, const char *node_id, int new_key,
                         struct tg_fed_renew_req *out, struct tg_err *err) {
  char path[4096];
  X509_REQ *req = NULL;
  char *csr_pem = NULL;
  int rc;
  memset(out, 0, sizeof(*out));
  tg_node_path(path, sizeof(path), dir, TG_NODE_KEY);
  if (new_key) {
    /* A new P-256 key, kept beside the current one until the CA has
     * certified it. */
    snprintf(out->key_new, sizeof(out->key_new), "%s.new", path);
    unlink(out->key_new);
    rc = tg_cert_key_new(&out->key, err);
    if (rc == 0)
      rc = tg_cert_key_save(out->key, out->key_new, err);
  } else {
    rc = tg_cert_key_load(path, &out->key, err);
  }
  if (rc == 0 && (rc = tg_cert_csr_new(out->key, node_id, NULL, &req, err)) == 0)
    rc = tg_cert_csr_pem(req, &csr_pem, err);
  if (rc == 0) {
    /* A new key is asked for as a rotation, which the CA records (and which
     * retires the old certificates); a plain renewal keeps the key. */
    json_t *in = json_pack("{s:s, s:b}", "csr", csr_pem, "rotate_key", new_key);
    out->body = in ? json_dumps(in, JSON_COMPACT) : NULL;
    json_decref(in);
    if (out->body == NULL)
      rc = tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  free(csr_pem);
  X509_REQ_free(req);
  if (rc != 0)
    tg_fed_renew_request_close(out);
  return rc;
}

void tg_fed_renew_request_close(struct tg_fed_renew_req *r) {
  if (r == NULL)
    return;
  if (r->key_new[0])
    unlink(r->key_new); /* gone after a successful rename; else no stray key */
  EVP_PKEY_free(r->key);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

/* Before a key rotation: the certificate at CERT_PATH is appended to
 * DIR/retired.crt, so that what its key signed (the provenance log's tree
 * heads) can still be checked after the key is gone. */
static int retire_cert(const char *dir, const char *cert_path, struct tg_err *err) {
  char path[4096], *cur = NULL, *old = NULL;
  size_t clen = 0, olen = 0;
  struct tg_buf all;
  tg_node_path(path, sizeof(path), dir, TG_NODE_RETIRED);
  if (tg_file_read(cert_path, TG_CA_MAX_INPUT, &cur, &clen, NULL) != 0)
    return 0; /* no certificate yet: nothing was signed with a certified key */
  if (tg_file_read(path, 64u << 20, &old, &olen, NULL) != 0)
    olen = 0;
  tg_buf_init(&all);
  int rc = tg_buf_append(&all, old ? old : "", olen);
  if (rc == 0 && olen > 0 && old[olen - 1] != '\n')
    rc = tg_buf_append(&all, "\n", 1);
  if (rc == 0)
    rc = tg_buf_append(&all, cur, clen);
  if (rc == 0)
    rc = tg_file_write(path, all.data, all.len, 0644, 0, err);
  else
    tg_err_set(err, rc, "out of memory");
  tg_buf_close(&all);
  free(cur);
  free(old);
  return rc;
}

int tg_fed_renew_install(const char *dir, const char *id, EVP_PKEY *key, const char *new_key,
                         json_t *j, char *serial, size_t sn, struct tg_err *err) {
  const char *cert_pem = json_string_value(json_object_get(j, "certificate"));
  const char *ca_got = json_string_value(json_object_get(j, "ca_certificate"));
  const char *crl_pem = json_string_value(json_object_get(j, "crl"));
  char path[4096];
  X509 *cert = NULL, *ca = NULL, *ca2 = NULL;
  X509_CRL *crl = NULL;
  int rc = 0;
  if (cert_pem == NULL || ca_got == NULL || crl_pem == NULL)
    return tg_err_set(err, TG_EPROTO, "the hub's answer lacks certificate, ca_certificate or crl");
  tg_node_path(path, sizeof(path), dir, TG_NODE_CA);
  if ((rc = tg_cert_load(path, &ca, err)) == 0 &&
      (rc = tg_cert_parse(ca_got, strlen(ca_got), &ca2, err)) == 0 && X509_cmp(ca, ca2) != 0)
    rc = tg_err_set(err, TG_EPROTO, "the hub answered with another CA certificate");
  if (rc == 0)
    rc = tg_fed_crl_install(dir, crl_pem, strlen(crl_pem), NULL, err);
  tg_node_path(path, sizeof(path), dir, TG_NODE_CRL);
  if (rc == 0)
    rc = tg_cert_crl_load(path, &crl, err);
  if (rc == 0)
    rc = tg_cert_parse(cert_pem, strlen(cert_pem), &cert, err);
  if (rc == 0)
    rc = tg_cert_verify(cert, key, ca, crl, id, err);
  if (rc == 0)
    rc = tg_cert_serial_hex(cert, serial, sn);
  tg_node_path(path, sizeof(path), dir, TG_NODE_CERT);
  if (rc == 0 && new_key != NULL)
    rc = retire_cert(dir, path, err);
  if (rc == 0 && new_key != NULL) {
    /* The certificate is written (and synced) beside node.crt first; then
     * node.key and node.crt are renamed into place. Nothing can fail between
     * the two renames but the renames themselves, and a reload in between
     * finds a mismatched pair, refuses it and keeps serving the old one. */
    char crt_new[4200], key_path[4096];
    snprintf(crt_new, sizeof(crt_new), "%s.new", path);
    tg_node_path(key_path, sizeof(key_path), dir, TG_NODE_KEY);
    rc = tg_file_write(crt_new, cert_pem, strlen(cert_pem), 0644, 0, err);
    if (rc == 0 && rename(new_key, key_path) != 0) {
      rc = tg_err_set(err, TG_EIO, "cannot replace %s: %s", key_path, strerror(errno));
      unlink(crt_new); /* nothing changed */
    } else if (rc == 0 && rename(crt_new, path) != 0) {
      rc = tg_err_set(err, TG_EIO,
                      "cannot replace %s (node.key is already the new key; "
                      "move %s there by hand): %s",
                      path, crt_new, strerror(errno));
    }
    if (rc == 0)
      tg_file_sync_dir(path); /* both renames reach the disk */
  } else if (rc == 0) {       /* atomic: the node reads either the old or the new file */
    rc = tg_file_write(path, cert_pem, strlen(cert_pem), 0644, 0, err);
  }
  ERR_clear_error();
  X509_free(cert);
  X509_free(ca);
  X509_free(ca2);
  X509_CRL_free(crl);
  return rc;
}

/* --- the daemon's own renewal --- */

#define TG_FED_RENEW_CHECK_MS (60 * 60 * 1000) /* [federation] renew_check default */
#define TG_FED_RENEW_BACKOFF_MAX_S (6 * 3600)

struct tg_fed_renew {
  uv_timer_t defer;          /* the reload runs from here, outside client callbacks */
  struct tg_periodic *fetch; /* POST {hub}/api/v1/certs/renew when on_tick says so */
  int has_client;            /* a hub, a federation CA and renew = on */
  char dir[4096];
  char id[64];        /* [node] id */
  char hub[600];      /* [federation] hub, "" when none */
  char hub_id[64];    /* [federation] hub_id, or "" */
  char ca_dir[4096]; /* a CA node without a hub renews from its own CA; else "" */
  uint64_t check_ms;  /* [federation] renew_check */
  int64_t sched_for;  /* the notAfter DUE was worked out for; 0: none yet */
  int64_t due;        /* Unix time: two thirds of the life, with jitter */
  int64_t retry_at;   /* Unix time: no attempt before, after a failure */
  int64_t backoff_s;  /* the wait after the last failure; 0 after a success */
  int64_t life_s;     /* of the current certificate */
  int64_t renewed_at; /* Unix time of the last successful renewal, 0 before any */
  EVP_PKEY *key;      /* the key of the request in flight (its CSR's), or NULL */
  void (*reload)(void *ud);
  void *ud;
};

static void fmt_utc(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(out, n, "?");
}

/* A uniform random number in [-SPAN, SPAN]; 0 when SPAN is 0. */
static int64_t jitter(int64_t span) {
  uint64_t x = 0;
  if (span <= 0 || tg_random_bytes(&x, sizeof(x)) != 0)
    return 0;
  return (int64_t)(x % (uint64_t)(2 * span + 1)) - span;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Works out when the certificate valid from NB to NA is renewed: at two
 * thirds of its life, moved by up to a thirtieth of it either way so that
 * nodes enrolled together do not all ask the hub at once. */
static void schedule(struct tg_fed_renew *r, int64_t nb, int64_t na) {
  char until[32], at[32];
  r->life_s = na > nb ? na - nb : 0;
  r->due = nb + r->life_s * 2 / 3 + jitter(r->life_s / 30);
  /* A CA that backdates much, or issues short lives, must not make every
   * renewal due at once: after one, half of what is left passes first. */
  if (r->renewed_at > 0 && na > r->renewed_at && r->due < r->renewed_at + (na - r->renewed_at) / 2)
    r->due = r->renewed_at + (na - r->renewed_at) / 2;
  r->sched_for = na;
  r->retry_at = 0;
  r->backoff_s = 0;
  fmt_utc(na, until, sizeof(until));
  fmt_utc(r->due, at, sizeof(at));
  tg_log_info("certificate renewal: the node certificate is valid until %s; renewal from %s "
              "due at %s",
              until, r->hub[0] ? r->hub : "the node's own CA", at);
}

/* After a failure: the next attempt waits twice as long as the last one
 * (from a thousandth of the life, 1 s to 1 min, up to a tenth of it, at
 * most 6 h), with a tenth of jitter. */
static void fail_later(struct tg_fed_renew *r, const char *why) {
  int64_t lo = clamp(r->life_s / 1000, 1, 60),
          hi = clamp(r->life_s / 10, lo, TG_FED_RENEW_BACKOFF_MAX_S);
  r->backoff_s = r->backoff_s ? clamp(r->backoff_s * 2, lo, hi) : lo;
  int64_t wait = r->backoff_s + jitter(r->backoff_s / 10);
  if (wait < 1)
    wait = 1;
  /* The attempt comes with a tick, every renew_check: say when that is. */
  int64_t check_s = (int64_t)((r->check_ms + 999) / 1000);
  if (check_s > 0)
    wait = (wait + check_s - 1) / check_s * check_s;
  r->retry_at = tg_time_now() + wait;
  char until[32];
  fmt_utc(r->sched_for, until, sizeof(until));
  tg_log_warn("certificate renewal from %s failed: %s; next attempt in %lld s (the certificate "
              "is valid until %s)",
              r->hub[0] ? r->hub : "the node's own CA", why, (long long)wait, until);
}

static void renew_configure(struct tg_fed_renew *r);

static void on_defer(uv_timer_t *t) {
  struct tg_fed_renew *r = t->data;
  r->reload(r->ud);
  renew_configure(r); /* the client presents the new certificate from now on */
}

/* The node's certificate, when the federation CA issued it: 0 and its
 * validity, else TG_ENOENT (a bootstrap certificate is not renewed here). */
static int current_cert(struct tg_fed_renew *r, int64_t *nb, int64_t *na) {
  char path[4096];
  X509 *cert = NULL, *ca = NULL;
  int rc = TG_ENOENT;
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CERT);
  if (tg_cert_load(path, &cert, NULL) == 0) {
    tg_node_path(path, sizeof(path), r->dir, TG_NODE_CA);
    if (tg_cert_load(path, &ca, NULL) == 0 && X509_check_issued(ca, cert) == X509_V_OK) {
      *nb = tg_cert_not_before(cert);
      *na = tg_cert_not_after(cert);
      rc = *na > 0 ? 0 : TG_ENOENT;
    }
  }
  ERR_clear_error();
  X509_free(cert);
  X509_free(ca);
  return rc;
}

/* A CA node without a hub: its certificate comes from its own CA, as the
 * hub would issue it (same hosts, recorded as a renewal of the current one,
 * [ca] validity); checked against the node's ca.crt and key, then installed.
 * The CA's signature is quick enough for the main loop. */
static int renew_local(struct tg_fed_renew *r, struct tg_err *err) {
  char path[4096], hosts[2048], serial[64], until[32];
  EVP_PKEY *key = NULL;
  X509 *current = NULL, *cert = NULL, *ca_crt = NULL;
  X509_REQ *req = NULL;
  struct tg_cert_ca *ca = NULL;
  char *pem = NULL;
  int rc, lent = 0;
  int64_t validity = tg_ca_node_validity();
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_KEY);
  rc = tg_cert_key_load(path, &key, err);
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CERT);
  if (rc == 0)
    rc = tg_cert_load(path, &current, err);
  if (rc == 0 && tg_cert_hosts(current, hosts, sizeof(hosts)) != 0)
    rc = tg_err_set(err, TG_EINVAL, "cannot read the host names of %s", path);
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CA);
  if (rc == 0)
    rc = tg_cert_load(path, &ca_crt, err);
  if (rc == 0)
    rc = tg_cert_csr_new(key, r->id, NULL, &req, err);
  if (rc == 0)
    lent = (rc = tg_ca_node_acquire(&ca, NULL, 0, err)) == 0;
  if (rc == 0) {
    struct tg_cert_issue o = {.node_id = r->id,
                              .hosts = hosts[0] ? hosts : NULL,
                              .valid_s = validity,
                              .how = "renew",
                              .renews = current};
    rc = tg_cert_ca_issue(ca, &o, req, &cert, err);
  }
  if (lent)
    tg_ca_node_release();
  if (rc == 0)
    rc = tg_cert_verify(cert, key, ca_crt, NULL, r->id, err);
  if (rc == 0)
    rc = tg_cert_serial_hex(cert, serial, sizeof(serial));
  if (rc == 0)
    rc = tg_cert_pem(cert, &pem, err);
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CERT);
  if (rc == 0) /* atomic: the node reads either the old or the new file */
    rc = tg_file_write(path, pem, strlen(pem), 0644, 0, err);
  if (rc == 0) {
    fmt_utc(tg_cert_not_after(cert), until, sizeof(until));
    tg_log_info("certificate renewal: installed certificate %s from the node's own CA (%s), "
                "valid until %s; reloading",
                serial, r->ca_dir, until);
  }
  ERR_clear_error();
  free(pem);
  X509_REQ_free(req);
  X509_free(cert);
  X509_free(ca_crt);
  X509_free(current);
  EVP_PKEY_free(key);
  return rc;
}

/* Each tick: is the renewal due (and not waiting after a failure)? Then the
 * request is made and the fetch allowed. */
static int on_tick(void *ud) {
  struct tg_fed_renew *r = ud;
  int64_t nb = 0, na = 0, now = tg_time_now();
  if ((!r->has_client && !r->ca_dir[0]) || current_cert(r, &nb, &na) != 0)
    return 0;
  if (na != r->sched_for)
    schedule(r, nb, na);
  if (now < r->due || now < r->retry_at)
    return 0;
  struct tg_fed_renew_req q;
  struct tg_err err;
  tg_err_clear(&err);
  if (!r->has_client) { /* a CA node without a hub: no request, its own CA issues */
    int lrc = renew_local(r, &err);
    if (lrc != 0) {
      fail_later(r, tg_err_msg(&err, lrc));
    } else {
      r->sched_for = 0;
      r->renewed_at = tg_time_now();
      r->backoff_s = 0;
      uv_timer_start(&r->defer, on_defer, 0, 0);
    }
    return 0;
  }
  int rc = tg_fed_renew_request(r->dir, r->id, 0, &q, &err);
  if (rc == 0)
    rc = tg_periodic_set_body(r->fetch, q.body, strlen(q.body), &err);
  if (rc != 0) {
    tg_fed_renew_request_close(&q);
    fail_later(r, tg_err_msg(&err, rc));
    return 0;
  }
  EVP_PKEY_free(r->key);
  r->key = q.key; /* the answer is checked against it */
  q.key = NULL;
  tg_fed_renew_request_close(&q);
  char until[32];
  fmt_utc(na, until, sizeof(until));
  tg_log_info("certificate renewal: asking %s for a new certificate (the current one is valid "
              "until %s)",
              r->hub, until);
  return 1;
}

static int on_body(void *ud, const char *body, size_t len) {
  struct tg_fed_renew *r = ud;
  struct tg_err err;
  char serial[64], until[32];
  tg_err_clear(&err);
  json_t *j = json_loadb(body, len, 0, NULL);
  int rc = r->key
               ? tg_fed_renew_install(r->dir, r->id, r->key, NULL, j, serial, sizeof(serial), &err)
               : tg_err_set(&err, TG_EINVAL, "no request in flight");
  json_decref(j);
  EVP_PKEY_free(r->key);
  r->key = NULL;
  if (rc != 0) {
    fail_later(r, tg_err_msg(&err, rc));
    return rc;
  }
  int64_t nb = 0, na = 0;
  current_cert(r, &nb, &na);
  fmt_utc(na, until, sizeof(until));
  tg_log_info("certificate renewal: installed certificate %s from %s, valid until %s; reloading",
              serial, r->hub, until);
  r->sched_for = 0; /* worked out again for the new one */
  r->renewed_at = tg_time_now();
  r->backoff_s = 0;
  uv_timer_start(&r->defer, on_defer, 0, 0);
  return 0;
}

static void on_fail(void *ud, int rc, int status, const struct tg_err *err) {
  struct tg_fed_renew *r = ud;
  char why[600];
  EVP_PKEY_free(r->key);
  r->key = NULL;
  if (rc != 0)
    snprintf(why, sizeof(why), "cannot reach it: %s", tg_err_msg(err, rc));
  else
    snprintf(why, sizeof(why), "it answered %d", status);
  fail_later(r, why);
}

/* Reads the configuration and rebuilds the client with the current TLS
 * material. */
static void renew_configure(struct tg_fed_renew *r) {
  char path[4096], url[700];
  struct tg_conf *c = NULL;
  struct tg_err err;
  int on = 1;
  tg_err_clear(&err);
  r->hub[0] = r->hub_id[0] = r->id[0] = '\0';
  r->check_ms = TG_FED_RENEW_CHECK_MS;
  tg_node_path(path, sizeof(path), r->dir, TG_NODE_CONF);
  if (tg_conf_load(path, &c, &err) == 0) {
    const char *h = tg_conf_get(c, "federation", "hub");
    if (h != NULL && strncmp(h, "https://", 8) == 0 && strlen(h) < sizeof(r->hub))
      snprintf(r->hub, sizeof(r->hub), "%s", h);
    const char *hid = tg_conf_get(c, "federation", "hub_id");
    if (hid != NULL && tg_node_id_valid(hid))
      snprintf(r->hub_id, sizeof(r->hub_id), "%s", hid);
    const char *id = tg_conf_get(c, "node", "id");
    if (id != NULL && tg_node_id_valid(id))
      snprintf(r->id, sizeof(r->id), "%s", id);
    const char *v = tg_conf_get(c, "federation", "renew");
    if (v != NULL && strcmp(v, "off") == 0)
      on = 0;
    else if (v != NULL && strcmp(v, "on") != 0)
      tg_log_warn("[federation] renew = %s: expected on or off; keeping on", v);
    uint64_t ms = 0;
    if (tg_conf_get_ms(c, "federation", "renew_check", TG_FED_RENEW_CHECK_MS, &ms, &err) == 0 &&
        ms > 0)
      r->check_ms = ms;
    else
      tg_log_warn("[federation] renew_check: keeping %llu ms", (unsigned long long)r->check_ms);
    tg_conf_free(c);
  }
  struct tg_fed_tls t;
  int fed = on && r->hub[0] && r->id[0] && tg_fed_tls_paths(r->dir, &t) == 0;
  r->ca_dir[0] = '\0';
  if (on && !r->hub[0] && r->id[0] && tg_fed_ca_dir(r->dir, r->ca_dir, sizeof(r->ca_dir)) != 0)
    r->ca_dir[0] = '\0';
  snprintf(url, sizeof(url), "%s/api/v1/certs/renew", r->hub);
  /* No CRL check of the hub here (as for the CRL refresh): an expired CRL
   * must not also stop the certificate's renewal. The hub is the CA's
   * certificate holder with the recorded node id. */
  struct tg_client_tls tls = {.ca_file = fed ? t.ca : NULL,
                              .cert_file = fed ? t.cert : NULL,
                              .key_file = fed ? t.key : NULL,
                              .peer_node_id = r->hub_id[0] ? r->hub_id : NULL};
  struct tg_periodic_opts o = {.url = fed ? url : NULL,
                               .period_ms = r->check_ms,
                               .timeout_ms = 30000,
                               .max_response = 1u << 20,
                               .method = "POST",
                               .content_type = "application/json",
                               .ok_status = 201};
  EVP_PKEY_free(r->key); /* a fetch in flight is canceled by the reconfiguration */
  r->key = NULL;
  r->has_client = tg_periodic_configure(r->fetch, &tls, &o, &err) == 0 && fed;
  if (fed && !r->has_client)
    tg_log_warn("certificate renewal: %s", tg_err_msg(&err, TG_EIO));
}

int tg_fed_renew_start(uv_loop_t *loop, const char *dir, void (*reload)(void *ud), void *ud,
                       struct tg_fed_renew **out, struct tg_err *err) {
  static const struct tg_periodic_cb cb = {
      .on_tick = on_tick, .on_body = on_body, .on_fail = on_fail};
  struct tg_fed_renew *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  int rc = tg_periodic_new(loop, &cb, r, &r->fetch, err);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->reload = reload;
  r->ud = ud;
  snprintf(r->dir, sizeof(r->dir), "%s", dir);
  uv_timer_init(loop, &r->defer);
  r->defer.data = r;
  tg_fed_renew_kick(r);
  *out = r;
  return 0;
}

void tg_fed_renew_kick(struct tg_fed_renew *r) {
  if (r == NULL)
    return;
  renew_configure(r);
  tg_periodic_kick(r->fetch);
}

static void renew_closed(uv_handle_t *h) {
  struct tg_fed_renew *r = h->data;
  EVP_PKEY_free(r->key);
  free(r);
}

void tg_fed_renew_stop(struct tg_fed_renew *r) {
  if (r == NULL)
    return;
  tg_periodic_stop(r->fetch);
  r->fetch = NULL;
  uv_timer_stop(&r->defer);
  uv_close((uv_handle_t *)&r->defer, renew_closed);
}
