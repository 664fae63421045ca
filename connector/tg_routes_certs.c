/* tg_routes_certs: the CA role of a node ([ca] dir = … in tsunagu.conf):
 * POST /api/v1/certs/register enrolls a node with a one-time token and a CSR,
 * GET /api/v1/certs/ca and /api/v1/certs/crl publish the CA certificate and
 * the current CRL. Without [ca] dir these answer 404. */
#include "tg_cert_ca.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_node.h"
#include "tg_routes.h"
#include "tg_server.h"
#include "tg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CA directory from the node's configuration into OUT; 0, or TG_ENOENT
 * when the node has no CA role. */
static int ca_dir(char *out, size_t n) {
  struct tg_settings *s = tg_settings_get();
  char path[4096];
  struct tg_conf *c = NULL;
  int rc = TG_ENOENT;
  tg_node_path(path, sizeof(path), s->dir, TG_NODE_CONF);
  if (tg_conf_load(path, &c, NULL) == 0) {
    const char *d = tg_conf_get(c, "ca", "dir");
    if (d != NULL && d[0] != '\0') {
      int w = d[0] == '/' ? snprintf(out, n, "%s", d) : snprintf(out, n, "%s/%s", s->dir, d);
      rc = w > 0 && (size_t)w < n ? 0 : TG_ETOOBIG;
    }
    tg_conf_free(c);
  }
  tg_settings_put(s);
  return rc;
}

static int no_ca(struct tg_http_req *req) {
  return tg_http_res_problem(req, 404, "not-found", "Not Found", NULL,
                             "this node does not run a certificate authority");
}

static void send_ca_file(struct tg_http_req *req, const char *file) {
  char dir[4096], path[4200], *data = NULL;
  size_t len = 0;
  if (ca_dir(dir, sizeof(dir)) != 0) {
    no_ca(req);
    return;
  }
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  if (tg_file_read(path, TG_CA_MAX_INPUT, &data, &len, NULL) != 0) {
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

/* Maps a CA library error to its HTTP problem. */
static void refuse(struct tg_http_req *req, int rc, const struct tg_err *err) {
  const char *msg = tg_err_msg(err, rc);
  switch (rc) {
  case TG_EINVAL:
  case TG_ETOOBIG:
    tg_http_res_problem(req, 400, "bad-csr", "Bad certificate signing request", NULL, "%s", msg);
    break;
  case TG_EUNSUP:
    tg_http_res_problem(req, 422, "unsupported-key", "Unsupported key type", NULL, "%s", msg);
    break;
  case TG_ECRYPTO:
    tg_http_res_problem(req, 400, "bad-csr-signature", "CSR signature does not verify", NULL,
                        "%s", msg);
    break;
  case TG_ENOENT:
  case TG_EPERM:
  case TG_ECONFLICT:
  case TG_ETIMEDOUT:
    tg_http_res_problem(req, 403, "enrollment-token-refused", "Enrollment token refused", NULL,
                        "%s", msg);
    break;
  default:
    tg_http_res_problem(req, 500, "ca-failure", "The CA failed", NULL, "%s", msg);
  }
}

void tg_route_certs_register(struct tg_http_req *req) {
  char dir[4096], host[256];
  struct tg_err err;
  json_error_t jerr;
  size_t len = 0;
  struct tg_cert_ca *ca = NULL;
  X509_REQ *csr = NULL;
  X509 *cert = NULL;
  char *cert_pem = NULL, *ca_pem = NULL, *crl = NULL, path[4200];
  tg_err_clear(&err);
  if (ca_dir(dir, sizeof(dir)) != 0) {
    no_ca(req);
    return;
  }
  const char *body = tg_http_req_body(req, &len);
  json_t *in = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
  const char *node = json_string_value(json_object_get(in, "node_id"));
  const char *url = json_string_value(json_object_get(in, "url"));
  const char *pem = json_string_value(json_object_get(in, "csr"));
  const char *token = json_string_value(json_object_get(in, "token"));
  if (!json_is_object(in) || node == NULL || url == NULL || pem == NULL || token == NULL) {
    tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                        "the body must be a JSON object with strings node_id, url, csr, token");
    json_decref(in);
    return;
  }
  if (!tg_node_id_valid(node) || url_host(url, host, sizeof(host)) != 0) {
    tg_http_res_problem(req, 400, "bad-request", "Bad Request", NULL,
                        "node_id must be a node id and url an http(s) URL");
    json_decref(in);
    return;
  }
  int rc = tg_cert_csr_parse(pem, strlen(pem), &csr, &err);
  if (rc == 0)
    rc = tg_cert_ca_open(dir, &ca, &err);
  if (rc == 0) {
    struct tg_cert_issue o = {.node_id = node, .token = token, .hosts = host, .how = "register"};
    rc = tg_cert_ca_issue(ca, &o, csr, &cert, &err);
  }
  snprintf(path, sizeof(path), "%s/%s", dir, TG_CA_CRL);
  if (rc == 0 && (rc = tg_cert_pem(cert, &cert_pem, &err)) == 0 &&
      (rc = tg_cert_pem(tg_cert_ca_cert_get(ca), &ca_pem, &err)) == 0)
    rc = tg_file_read(path, TG_CA_MAX_INPUT, &crl, NULL, &err);
  if (rc != 0) {
    refuse(req, rc, &err);
  } else {
    tg_http_req_set_subject(req, node);
    tg_fed_member_record(dir, node, url, NULL); /* for the federation directory */
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
  tg_cert_ca_close(ca);
  json_decref(in);
}
