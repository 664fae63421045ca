/* tg_routes_peers: the node's peers (admin: list, add, remove, check each
 * over mutual TLS with the node's federation certificate) and, on a CA node,
 * the federation directory GET /api/v1/federation/members (peers only). */
#include "tg_ca_node.h"
#include "tg_cert_ca.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_peers.h"
#include "tg_node.h"
#include "tg_routes.h"
#include "tg_worker.h"
#include "tg_tls.h"
#include "tg_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

static int peer_url_ok(const char *u) {
  return u != NULL && strncmp(u, "https://", 8) == 0 && strlen(u) < 512 && u[8] != '\0' &&
         strpbrk(u, " \t\r\n") == NULL;
}

static void db_problem(struct tg_http_req *req, const struct tg_err *err, int rc) {
  tg_http_res_problem(req, 500, "database", "Database failure", NULL, "%s", tg_err_msg(err, rc));
}

void tg_route_peers_list(struct tg_http_req *req) {
  struct tg_err err;
  json_t *a = NULL;
  int rc = tg_fed_peers_list(tg_http_req_worker(req)->db, &a, &err);
  if (rc != 0) {
    db_problem(req, &err, rc);
    return;
  }
  tg_http_res_json(req, 200, json_pack("{s:o}", "peers", a), NULL);
}

void tg_route_peers_post(struct tg_http_req *req) {
  size_t len = 0;
  const char *body = tg_http_req_body(req, &len);
  json_t *in = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
  const char *id = json_string_value(json_object_get(in, "node_id"));
  const char *url = json_string_value(json_object_get(in, "url"));
  const char *fp = json_string_value(json_object_get(in, "fingerprint"));
  if (id == NULL || !tg_node_id_valid(id) || !peer_url_ok(url)) {
    tg_http_res_problem(req, 400, "bad-peer", "Bad peer", NULL,
                        "the body must be {\"node_id\": NODE-ID, \"url\": \"https://HOST:PORT\"}");
    json_decref(in);
    return;
  }
  struct tg_settings *s = tg_settings_get();
  int self = strcmp(s->node_id, id) == 0;
  tg_settings_put(s);
  if (self) {
    tg_http_res_problem(req, 422, "peer-is-self", "A node is not its own peer", NULL,
                        "%s is this node", id);
    json_decref(in);
    return;
  }
  struct tg_err err;
  int rc = tg_fed_peers_upsert(tg_http_req_worker(req)->db, id, url, fp, &err);
  if (rc != 0)
    db_problem(req, &err, rc);
  else
    tg_http_res_json(req, 201, json_pack("{s:s, s:s}", "node_id", id, "url", url), NULL);
  json_decref(in);
}

void tg_route_peers_delete(struct tg_http_req *req) {
  char id[64];
  struct tg_err err;
  if (tg_route_path_id(req, "bad-peer", "peer's node id", id, sizeof(id)))
    return;
  if (!tg_node_id_valid(id)) {
    tg_http_res_problem(req, 400, "bad-peer", "Bad peer", NULL, "not a node id");
    return;
  }
  int rc = tg_fed_peers_delete(tg_http_req_worker(req)->db, id, &err);
  if (rc == TG_ENOENT)
    tg_http_res_problem(req, 404, "no-such-peer", "No such peer", NULL, "%s is not a peer", id);
  else if (rc != 0)
    db_problem(req, &err, rc);
  else
    tg_http_res_send(req, 204, NULL, NULL, 0);
}

/* --- checking peers: each check runs on libuv's thread pool (it blocks on
 * one TLS connection with deadlines) and reports back on the worker's loop. */

struct check_batch;

struct check_one {
  uv_work_t work;
  struct check_batch *b;
  struct tg_fed_check c;
};

struct check_batch {
  struct tg_http_req *req; /* NULL once the client went away */
  struct tg_worker *w;
  int pending;
  size_t n;
  struct check_one *items;
};

static void check_work(uv_work_t *wk) {
  struct check_one *o = wk->data;
  tg_fed_check_run(&o->c);
}

static void batch_free(struct check_batch *b) {
  free(b->items);
  free(b);
}

static void batch_answer(struct check_batch *b) {
  json_t *a = json_array();
  for (size_t i = 0; i < b->n; i++) {
    const struct tg_fed_check *c = &b->items[i].c;
    json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:s}", "node_id", c->node_id, "url", c->url,
                          "reachable", c->ok, "latency_ms", (json_int_t)c->latency_ms, "status",
                          c->ok ? "reachable" : "unreachable");
    if (o == NULL)
      continue;
    if (c->ok)
      json_object_set_new(o, "last_contact", json_integer(c->checked_at));
    else
      json_object_set_new(o, "error", json_string(c->error));
    if (c->not_after != 0)
      json_object_set_new(o, "cert_expires", json_integer(c->not_after));
    if (c->fingerprint[0])
      json_object_set_new(o, "fingerprint", json_string(c->fingerprint));
    if (c->cert_node[0])
      json_object_set_new(o, "cert_node_id", json_string(c->cert_node));
    json_array_append_new(a, o);
  }
  tg_http_res_json(b->req, 200, json_pack("{s:o}", "peers", a), NULL);
}

static void check_after(uv_work_t *wk, int status) {
  struct check_one *o = wk->data;
  struct check_batch *b = o->b;
  (void)status;
  if (status != UV_ECANCELED)
    tg_fed_peers_record(b->w->db, &o->c, NULL);
  if (--b->pending > 0)
    return;
  if (b->w->peer_batch == b)
    b->w->peer_batch = NULL;
  if (b->req != NULL) {
    tg_http_req_set_data(b->req, NULL);
    batch_answer(b);
  }
  batch_free(b);
}

static void check_abort(struct tg_http_req *req) {
  struct check_batch *b = tg_http_req_get_data(req);
  if (b != NULL)
    b->req = NULL; /* the checks finish and are recorded; nobody is answered */
}

/* Starts checks of every peer on W's loop; REQ (or NULL for the periodic
 * check) is answered when all are done. Returns 0, or a negative code after
 * answering REQ (when not NULL). */
static int batch_start(struct tg_worker *w, struct tg_http_req *req) {
  json_t *peers = NULL;
  struct tg_err err;
  int lrc = tg_fed_peers_list(w->db, &peers, &err);
  struct tg_settings *s = tg_settings_get();
  struct tg_fed_tls tls;
  struct check_batch *b = NULL;
  int rc = tg_fed_tls_paths(s->dir, &tls);
  if (lrc != 0) {
    if (req != NULL)
      db_problem(req, &err, lrc);
    rc = lrc;
    goto out;
  }
  if (rc != 0) {
    if (req != NULL)
      tg_http_res_problem(req, 409, "no-federation-certificate", "Not in a federation", NULL,
                          "this node has no federation CA (ca.crt); register it first");
    goto out;
  }
  size_t n = json_array_size(peers);
  if (n == 0) {
    if (req != NULL)
      tg_http_res_json(req, 200, json_pack("{s:[]}", "peers"), NULL);
    goto out;
  }
  b = calloc(1, sizeof(*b));
  if (b != NULL && (b->items = calloc(n, sizeof(*b->items))) == NULL) {
    free(b);
    b = NULL;
  }
  if (b == NULL) {
    if (req != NULL)
      tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    rc = TG_ENOMEM;
    goto out;
  }
  b->req = req;
  b->w = w;
  b->n = n;
  for (size_t i = 0; i < n; i++) {
    struct check_one *o = &b->items[i];
    json_t *p = json_array_get(peers, i);
    o->b = b;
    o->work.data = o;
    o->c.tls = tls;
    snprintf(o->c.self_id, sizeof(o->c.self_id), "%s", s->node_id);
    snprintf(o->c.node_id, sizeof(o->c.node_id), "%s",
             json_string_value(json_object_get(p, "node_id")));
    snprintf(o->c.url, sizeof(o->c.url), "%s", json_string_value(json_object_get(p, "url")));
    o->c.timeout_ms = 5000;
  }
  if (req != NULL) {
    tg_http_req_set_data(req, b);
    tg_http_req_on_abort(req, check_abort);
  } else {
    w->peer_batch = b;
  }
  b->pending = (int)n;
  for (size_t i = 0; i < n; i++)
    if (uv_queue_work(&w->loop, &b->items[i].work, check_work, check_after) != 0) {
      snprintf(b->items[i].c.error, sizeof(b->items[i].c.error), "cannot queue the check");
      check_after(&b->items[i].work, 0);
    }
  rc = 0;
out:
  tg_settings_put(s);
  json_decref(peers);
  return rc;
}

void tg_route_peers_check(struct tg_http_req *req) {
  batch_start(tg_http_req_worker(req), req);
}

/* The periodic check ([federation] peer_check, default 5m, 0 = off): worker 0
 * checks every peer and records reachability, latency and last contact, as
 * peer list does. The interval is read again each time (SIGHUP changes it). */
static void periodic_fire(uv_timer_t *t) {
  struct tg_worker *w = t->data;
  struct tg_settings *s = tg_settings_get();
  uint64_t ms = s->peer_check_ms;
  tg_settings_put(s);
  if (w->draining)
    return;
  if (ms > 0 && w->peer_batch == NULL) /* the last round may still run */
    batch_start(w, NULL);
  uv_timer_start(t, periodic_fire, ms ? ms : 60000, 0);
}

void tg_routes_peers_periodic_stop(struct tg_worker *w) {
  struct check_batch *b = w->peer_batch;
  uv_timer_stop(&w->peer_timer);
  uv_close((uv_handle_t *)&w->peer_timer, NULL);
  /* Checks not started yet are dropped; running ones end within their timeout. */
  for (size_t i = 0; b != NULL && i < b->n; i++)
    uv_cancel((uv_req_t *)&b->items[i].work);
}

void tg_routes_peers_periodic_start(struct tg_worker *w) {
  uv_timer_init(&w->loop, &w->peer_timer);
  w->peer_timer.data = w;
  uv_unref((uv_handle_t *)&w->peer_timer); /* never keeps a draining worker alive */
  struct tg_settings *s = tg_settings_get();
  uint64_t ms = s->peer_check_ms;
  tg_settings_put(s);
  uv_timer_start(&w->peer_timer, periodic_fire, ms ? ms : 60000, 0);
}

/* --- the federation directory (CA node) --- */

void tg_route_federation_members(struct tg_http_req *req) {
  struct tg_settings *s = tg_settings_get();
  char dir[4096], self[600], self_id[64];
  struct tg_err err;
  json_t *members = NULL;
  tg_err_clear(&err);
  int rc = tg_fed_ca_dir(s->dir, dir, sizeof(dir));
  /* The CA node's own entry when its URL was never recorded (its
   * certificate was signed offline without --url). */
  tg_routes_self_url(self, sizeof(self), 0);
  snprintf(self_id, sizeof(self_id), "%s", s->node_id);
  tg_settings_put(s);
  if (rc != 0) {
    tg_http_res_problem(req, 404, "not-found", "Not Found", NULL,
                        "this node does not run a certificate authority");
    return;
  }
  if ((rc = tg_fed_members(dir, &members, &err)) != 0) {
    tg_http_res_problem(req, 503, "ca-unavailable", "CA unavailable", NULL, "%s",
                        tg_err_msg(&err, rc));
    return;
  }
  size_t i;
  json_t *m;
  json_array_foreach(members, i, m) {
    if (self[0] && json_is_null(json_object_get(m, "url")) &&
        strcmp(json_string_value(json_object_get(m, "node_id")), self_id) == 0)
      json_object_set_new(m, "url", json_string(self));
  }
  tg_http_res_header(req, "Cache-Control", "no-cache");
  tg_http_res_json(req, 200, json_pack("{s:o}", "members", members), NULL);
}

/* --- renewal (CA node, peers only) and reload (admin) --- */

void tg_route_certs_renew(struct tg_http_req *req) {
  const char *peer = tg_http_req_peer(req);
  char dir[4096], url[600], host[256], port[16];
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  X509_REQ *csr = NULL;
  X509 *cert = NULL;
  char *cert_pem = NULL, *ca_pem = NULL, *crl = NULL;
  size_t len = 0;
  tg_err_clear(&err);
  int rc = tg_ca_node_dir(dir, sizeof(dir));
  if (rc != 0) {
    tg_http_res_problem(req, 404, "not-found", "Not Found", NULL,
                        "this node does not run a certificate authority");
    return;
  }
  const char *body = tg_http_req_body(req, &len);
  json_t *in = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
  const char *pem = json_string_value(json_object_get(in, "csr"));
  const char *given = json_string_value(json_object_get(in, "url"));
  json_t *rotate = json_object_get(in, "rotate_key");
  if (pem == NULL || (rotate != NULL && !json_is_boolean(rotate))) {
    tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                        "the body must be a JSON object with a string csr (and optionally url "
                        "and a boolean rotate_key)");
    json_decref(in);
    return;
  }
  /* The new certificate names the same hosts as the one presented: a member
   * cannot renew itself into another host name (that takes a new enrollment
   * token). A new URL is accepted for the directory only on one of them. */
  char hosts[2048];
  X509 *current = tg_http_req_peer_cert(req);
  if (current == NULL || tg_cert_hosts(current, hosts, sizeof(hosts)) != 0) {
    tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                        "cannot read the host names of the presented certificate");
    json_decref(in);
    return;
  }
  if (given != NULL) {
    int w = snprintf(url, sizeof(url), "%s", given);
    if (w < 0 || (size_t)w >= sizeof(url)) { /* a cut URL could pass the host check */
      tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                          "url is longer than %zu bytes", sizeof(url) - 1);
      json_decref(in);
      return;
    }
    int listed = 0;
    if (tg_fed_url_split(url, host, sizeof(host), port, sizeof(port)) == 0)
      for (const char *p = hosts; *p && !listed;) {
        size_t l = strcspn(p, ",");
        listed = l == strlen(host) && strncasecmp(p, host, l) == 0;
        p += l + (p[l] == ',');
      }
    if (!listed) {
      tg_http_res_problem(req, 403, "host-not-enrolled", "Host not enrolled", NULL,
                          "%s is not a host of node %s's certificate (%s); a new host name "
                          "needs a new enrollment token",
                          given, peer, hosts[0] ? hosts : "none");
      json_decref(in);
      return;
    }
  }
  rc = tg_cert_csr_parse(pem, strlen(pem), &csr, &err);
  int lent = rc == 0 && (rc = tg_ca_node_acquire(&ca, dir, sizeof(dir), &err)) == 0;
  if (rc == 0) {
    /* The CA checks its own records, not only the (possibly lagging) CRL the
     * TLS layer checked: a certificate revoked a moment ago renews nothing.
     * The presented certificate becomes the new one's predecessor, so that
     * revoking either revokes both; a new key only as a recorded rotation. */
    int rot = json_is_true(rotate);
    struct tg_cert_issue o = {.node_id = peer,
                              .hosts = hosts[0] ? hosts : NULL,
                              .how = rot ? "rotate" : "renew",
                              .renews = current,
                              .rotate = rot};
    rc = tg_cert_ca_issue(ca, &o, csr, &cert, &err);
    if (rc == TG_EPERM || rc == TG_ENOENT || rc == TG_ECONFLICT) {
      if (rc == TG_ECONFLICT)
        tg_http_res_problem(req, 409, "key-mismatch", "The CSR's key does not match the request",
                            NULL, "%s", tg_err_msg(&err, rc));
      else
        tg_http_res_problem(req, 403, "certificate-not-renewable", "Certificate not renewable",
                            NULL, "%s", tg_err_msg(&err, rc));
      X509_REQ_free(csr);
      tg_ca_node_release();
      json_decref(in);
      return;
    }
  }
  char path[4200];
  snprintf(path, sizeof(path), "%s/%s", dir, TG_CA_CRL);
  if (rc == 0 && (rc = tg_cert_pem(cert, &cert_pem, &err)) == 0 &&
      (rc = tg_cert_pem(tg_cert_ca_cert_get(ca), &ca_pem, &err)) == 0)
    rc = tg_file_read(path, TG_CA_MAX_INPUT, &crl, NULL, &err);
  if (lent)
    tg_ca_node_release();
  if (rc == 0 && given != NULL)
    tg_fed_member_record(dir, peer, url, NULL);
  if (rc == TG_EINVAL || rc == TG_ETOOBIG || rc == TG_ECRYPTO)
    tg_http_res_problem(req, 400, "bad-csr", "Bad certificate signing request", NULL, "%s",
                        tg_err_msg(&err, rc));
  else if (rc == TG_EUNSUP)
    tg_http_res_problem(req, 422, "unsupported-key", "Unsupported key type", NULL, "%s",
                        tg_err_msg(&err, rc));
  else if (rc != 0)
    tg_http_res_problem(req, 500, "ca-failure", "The CA failed", NULL, "%s", tg_err_msg(&err, rc));
  else
    tg_http_res_json(
        req, 201,
        json_pack("{s:s, s:s, s:s}", "certificate", cert_pem, "ca_certificate", ca_pem, "crl", crl),
        NULL);
  free(cert_pem);
  free(ca_pem);
  free(crl);
  X509_free(cert);
  X509_REQ_free(csr);
  json_decref(in);
}

void tg_route_node_reload(struct tg_http_req *req) {
  /* The same path as an operator's SIGHUP: settings and TLS material are
   * swapped; open connections keep theirs. */
  if (kill(getpid(), SIGHUP) != 0) {
    tg_http_res_problem(req, 500, "reload-failed", "Reload failed", NULL, "cannot signal");
    return;
  }
  tg_http_res_json(req, 202, json_pack("{s:s}", "status", "reloading"), NULL);
}
