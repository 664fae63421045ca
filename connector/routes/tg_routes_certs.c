/* tg_routes_certs: the CA role of a node ([ca] dir = … in tsunagu.conf):
 * POST /api/v1/certs/register enrolls a node with a one-time token and a CSR,
 * GET /api/v1/certs/ca and /api/v1/certs/crl publish the CA certificate and
 * the current CRL. Without [ca] dir these answer 404. */
#include "tg_ca_node.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_provlog.h"
#include "tg_routes.h"
#include "tg_worker.h"
#include "tg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int no_ca(struct tg_http_req *req) {
  return tg_http_res_problem(req, 404, "not-found", "Not Found", NULL,
                             "this node does not run a certificate authority");
}

static void send_ca_file(struct tg_http_req *req, const char *file) {
  char dir[4096], path[4200], *data = NULL;
  size_t len = 0;
  if (tg_ca_node_dir(dir, sizeof(dir)) != 0) {
    no_ca(req);
    return;
  }
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_file_read(path, TG_CA_MAX_INPUT, &data, &len, &err);
  if (rc != 0) {
    tg_log_error("%s", tg_err_msg(&err, rc)); /* the path for the operator, not the client */
    tg_http_res_problem(req, 503, "ca-unavailable", "CA unavailable", NULL, "cannot read %s",
                        file);
    return;
  }
  tg_http_res_header(req, "Cache-Control", "no-cache");
  tg_http_res_send(req, 200, "application/x-pem-file", data, len);
  free(data);
}

void tg_route_certs_ca(struct tg_http_req *req) { send_ca_file(req, TG_CA_CERT); }

void tg_route_certs_crl(struct tg_http_req *req) { send_ca_file(req, TG_CA_CRL); }

/* The host of URL ("https://host:port/…", "[v6]" allowed) into OUT. */
static int url_host(const char *url, char *out, size_t n) {
  const char *p = strstr(url, "://");
  if (p == NULL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
    return TG_EINVAL;
  p += 3;
  size_t l;
  if (*p == '[') {
    const char *e = strchr(++p, ']');
    if (e == NULL)
      return TG_EINVAL;
    l = (size_t)(e - p);
  } else {
    l = strcspn(p, ":/?#");
  }
  if (l == 0 || l >= n)
    return TG_EINVAL;
  memcpy(out, p, l);
  out[l] = '\0';
  return 0;
}

/* Maps a CA library error to its HTTP problem; returns the status. */
static int refuse(struct tg_http_req *req, int rc, const struct tg_err *err) {
  const char *msg = tg_err_msg(err, rc);
  switch (rc) {
  case TG_EINVAL:
  case TG_ETOOBIG:
    tg_http_res_problem(req, 400, "bad-csr", "Bad certificate signing request", NULL, "%s", msg);
    return 400;
  case TG_EUNSUP:
    tg_http_res_problem(req, 422, "unsupported-key", "Unsupported key type", NULL, "%s", msg);
    return 422;
  case TG_ECRYPTO:
    tg_http_res_problem(req, 400, "bad-csr-signature", "CSR signature does not verify", NULL,
                        "%s", msg);
    return 400;
  case TG_ENOENT:
  case TG_EPERM:
  case TG_ECONFLICT:
  case TG_ETIMEDOUT:
    tg_http_res_problem(req, 403, "enrollment-token-refused", "Enrollment token refused", NULL,
                        "%s", msg);
    return 403;
  default:
    tg_http_res_problem(req, 500, "ca-failure", "The CA failed", NULL, "%s", msg);
    return 500;
  }
}

/* The client's address, for counting its failed enrolments. */
static const char *client_of(const struct tg_http_req *req) {
  const char *a = tg_http_req_client(req);
  return a != NULL && a[0] ? a : "*";
}

/* Answers 429 while CLIENT has had too many refused enrolments:
 * TG_ROUTE_ANSWERED then, else 0. */
static int too_many(struct tg_http_req *req, const char *client) {
  uint64_t wait_ms = tg_ca_node_wait(client);
  if (wait_ms == 0)
    return 0;
  char secs[24];
  snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((wait_ms + 999) / 1000));
  tg_http_res_header(req, "Retry-After", secs);
  tg_http_res_problem(req, 429, "too-many-enrolment-failures", "Too many failed enrolments", NULL,
                      "too many refused enrolments from this address; try again in %s s", secs);
  return TG_ROUTE_ANSWERED;
}

/* Checks the enrolment request's JSON (borrowed strings into IN); 0, or
 * TG_ROUTE_ANSWERED after a 400. */
static int enrol_fields(struct tg_http_req *req, json_t *in, const char **node, const char **url,
                        const char **pem, const char **token, char *host, size_t hn) {
  *node = json_string_value(json_object_get(in, "node_id"));
  *url = json_string_value(json_object_get(in, "url"));
  *pem = json_string_value(json_object_get(in, "csr"));
  *token = json_string_value(json_object_get(in, "token"));
  if (!json_is_object(in) || *node == NULL || *url == NULL || *pem == NULL || *token == NULL) {
    tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                        "the body must be a JSON object with strings node_id, url, csr, token");
    return TG_ROUTE_ANSWERED;
  }
  if (!tg_node_id_valid(*node) || url_host(*url, host, hn) != 0) {
    tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                        "node_id must be a node id and url an http(s) URL");
    return TG_ROUTE_ANSWERED;
  }
  /* A listen-anywhere address reaches nobody: it must never be certified
   * nor enter the federation directory. */
  if (tg_node_host_wildcard(host)) {
    tg_http_res_problem(req, 400, "wildcard-address", "Unusable address", NULL,
                        "url %s names a wildcard address, which peers cannot reach; register "
                        "with the node's DNS name or address (tsunagu register --node-url)",
                        *url);
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

/* Issues the certificate (CA lent by the caller) and answers 201. */
static int enrol(struct tg_http_req *req, struct tg_cert_ca *ca, const char *dir, const char *node,
                 const char *url, const char *pem, const char *token, const char *host,
                 int64_t validity, struct tg_err *err) {
  X509_REQ *csr = NULL;
  X509 *cert = NULL;
  char *cert_pem = NULL, *ca_pem = NULL, *crl = NULL, path[4200];
  int rc = tg_cert_csr_parse(pem, strlen(pem), &csr, err);
  if (rc == 0) {
    struct tg_cert_issue o = {.node_id = node, .token = token, .hosts = host, .how = "register",
                              .valid_s = validity};
    rc = tg_cert_ca_issue(ca, &o, csr, &cert, err);
  }
  snprintf(path, sizeof(path), "%s/%s", dir, TG_CA_CRL);
  if (rc == 0 && (rc = tg_cert_pem(cert, &cert_pem, err)) == 0 &&
      (rc = tg_cert_pem(tg_cert_ca_cert_get(ca), &ca_pem, err)) == 0)
    rc = tg_file_read(path, TG_CA_MAX_INPUT, &crl, NULL, err);
  if (rc == 0) {
    tg_http_req_set_subject(req, node);
    tg_fed_member_record(dir, node, url, NULL); /* for the federation directory */
    tg_provlog_note_event(tg_http_req_worker(req)->wport, TG_PROV_CERT_ISSUED, node);
    /* hub_node_id: the node id the enrolled node will require of this hub's
     * certificate from now on (it reached us by host name only so far). */
    struct tg_settings *s = tg_settings_get();
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "certificate", cert_pem, "ca_certificate",
                          ca_pem, "crl", crl, "hub_node_id", s->node_id);
    tg_settings_put(s);
    tg_http_res_json(req, 201, o, NULL);
  }
  free(cert_pem);
  free(ca_pem);
  free(crl);
  X509_free(cert);
  X509_REQ_free(csr);
  return rc;
}

/* POST /api/v1/certs/register, anonymous: the cheap refusals come first.
 * A client with too many refusals gets 429 before its body is looked at; a
 * token that cannot be one is refused without the CA; a well-formed one is
 * looked up by its hash in the CA's record (opened once, the key untouched)
 * before the CSR is parsed or anything is signed. */
void tg_route_certs_register(struct tg_http_req *req) {
  char dir[4096], host[256];
  const char *node, *url, *pem, *token, *client = client_of(req);
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  size_t len = 0;
  tg_err_clear(&err);
  if (tg_ca_node_dir(dir, sizeof(dir)) != 0) {
    no_ca(req);
    return;
  }
  if (too_many(req, client))
    return;
  const char *body = tg_http_req_body(req, &len);
  json_t *in = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, NULL);
  int status = 0, rc = 0;
  int64_t validity = 0;
  if (enrol_fields(req, in, &node, &url, &pem, &token, host, sizeof(host)) != 0)
    status = 400;
  else if (!tg_cert_ca_token_plausible(token))
    status = refuse(req, tg_err_set(&err, TG_ENOENT, "unknown enrollment token"), &err);
  else if ((validity = tg_ca_node_validity()) < 0 ||
           (rc = tg_ca_node_acquire(&ca, dir, sizeof(dir), &err)) != 0)
    tg_http_res_problem(req, 503, "ca-unavailable", "CA unavailable", NULL, "%s",
                        tg_err_msg(&err, rc));
  else {
    rc = tg_cert_ca_token_check(ca, token, node, host, &err);
    if (rc == 0)
      rc = enrol(req, ca, dir, node, url, pem, token, host, validity, &err);
    tg_ca_node_release();
    if (rc != 0)
      status = refuse(req, rc, &err);
  }
  if (status >= 400 && status < 500)
    tg_ca_node_failed(client); /* the client's doing, not the CA's */
  json_decref(in);
}
