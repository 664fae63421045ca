/* tg_routes_peers: the node's peers (admin: list, add, remove, check each
 * over mutual TLS with the node's federation certificate) and, on a CA node,
 * the federation directory GET /api/v1/federation/members (peers only). */
#include "tg_ca_node.h"
#include "tg_cert_ca.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_harvest.h"
#include "tg_fed_peers.h"
#include "tg_node.h"
#include "tg_provlog.h"
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
  else {
    tg_fed_harvest_kick(); /* its datasets now, not a whole interval later */
    tg_provlog_note_event(tg_http_req_worker(req)->wport, TG_PROV_PEER_ADDED, id);
    tg_http_res_json(req, 201, json_pack("{s:s, s:s}", "node_id", id, "url", url), NULL);
  }
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
  else {
    tg_fed_harvest_kick(); /* the round drops its datasets from the index */
    tg_provlog_note_event(tg_http_req_worker(req)->wport, TG_PROV_PEER_REMOVED, id);
    tg_http_res_send(req, 204, NULL, NULL, 0);
  }
}

/* --- checking peers: a round of checks on the worker's loop (fed/), the
 * answer once every check has ended. */

static json_t *check_json(const struct tg_fed_check *c) {
  json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:s}", "node_id", c->node_id, "url", c->url,
                        "reachable", c->ok, "latency_ms", (json_int_t)c->latency_ms, "status",
                        c->ok ? "reachable" : "unreachable");
  if (o == NULL)
    return NULL;
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
  return o;
}

static void check_answer(void *ud, const struct tg_fed_check *checks, size_t n) {
  struct tg_http_req *req = ud;
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++) {
    json_t *o = check_json(&checks[i]);
    if (o != NULL)
      json_array_append_new(a, o);
  }
  tg_http_req_set_data(req, NULL);
  tg_http_res_json(req, 200, json_pack("{s:o}", "peers", a), NULL);
}

static void check_abort(struct tg_http_req *req) {
  /* the checks finish and are recorded; nobody is answered */
  tg_fed_round_forget(tg_http_req_get_data(req));
}

void tg_route_peers_check(struct tg_http_req *req) {
  struct tg_fed_round *r = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_fed_round_start(tg_http_req_worker(req)->fed, check_answer, req, &r, &err);
  if (rc == TG_ENOENT)
    tg_http_res_problem(req, 409, "no-federation-certificate", "Not in a federation", NULL,
                        "this node has no federation CA (ca.crt); register it first");
  else if (rc == TG_EDB)
    db_problem(req, &err, rc);
  else if (rc != 0)
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "%s", tg_err_msg(&err, rc));
  else if (r != NULL) {
    tg_http_req_set_data(req, r);
    tg_http_req_on_abort(req, check_abort);
  }
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
  int64_t validity = tg_ca_node_validity();
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
                              .rotate = rot,
                              .valid_s = validity};
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
  if (rc == 0)
    tg_provlog_note_event(tg_http_req_worker(req)->wport, TG_PROV_CERT_RENEWED, peer);
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
