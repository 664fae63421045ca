/* tg_cli_ca: the federation CA from the command line (ca init|token|sign|
 * revoke|crl), a node's CSR (csr), installing a CA-issued certificate into a
 * node directory (cert install), and enrolling with a CA node (register). */
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_node.h"
#include "tg_util.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int x509_fingerprint(X509 *x, char out[65]);

static void print_fingerprint(FILE *f, const char *label, X509 *x) {
  unsigned char md[32];
  unsigned int l = sizeof(md);
  char hex[65];
  if (X509_digest(x, EVP_sha256(), md, &l)) {
    tg_hex(md, 32, hex);
    fprintf(f, "%s%s\n", label, hex);
  }
}

static int ca_init(struct tg_cli *cli, int argc, char **argv) {
  const char *name = NULL, *days_s = NULL;
  const struct tg_cli_opt opts[] = {{"name", 0, &name, NULL, NULL},
                                    {"days", 0, &days_s, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  uint64_t days = 0;
  struct tg_err err;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "ca init", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("ca init", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  if (cli->dir == NULL || name == NULL)
    return tg_cli_usage("ca init: --dir CA and --name NAME are required");
  if (days_s != NULL && (tg_parse_u64(days_s, 36500, &days) != 0 || days == 0))
    return tg_cli_fail("ca init: --days must be a number of days from 1 to 36500");
  int rc = tg_cert_ca_init(cli->dir, name, (int)days, &err);
  if (rc != 0)
    return tg_cli_fail("ca init: %s", tg_err_msg(&err, rc));
  struct tg_cert_ca *ca = NULL;
  if ((rc = tg_cert_ca_open(cli->dir, &ca, &err)) != 0)
    return tg_cli_fail("ca init: %s", tg_err_msg(&err, rc));
  if (cli->json) {
    char fp[65];
    x509_fingerprint(tg_cert_ca_cert_get(ca), fp);
    tg_cli_done(cli, json_pack("{s:s, s:s, s:s}", "name", name, "dir", cli->dir, "sha256", fp),
                "created CA '%s' in %s", name, cli->dir);
  } else {
    printf("created CA '%s' in %s\n", name, cli->dir);
    print_fingerprint(stdout, "CA certificate SHA-256: ", tg_cert_ca_cert_get(ca));
  }
  tg_cert_ca_close(ca);
  return 0;
}

static int ca_token(struct tg_cli *cli, int argc, char **argv) {
  const char *node = NULL, *ttl_s = "24h", *hosts = NULL;
  const struct tg_cli_opt opts[] = {{"node", 0, &node, NULL, NULL},
                                    {"ttl", 0, &ttl_s, NULL, NULL},
                                    {"hosts", 0, &hosts, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  uint64_t ttl;
  char tok[TG_CA_TOKEN_LEN + 1];
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "ca token", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("ca token", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  if (cli->dir == NULL || node == NULL)
    return tg_cli_usage("ca token: --dir CA and --node NODE-ID are required");
  if (tg_parse_duration(ttl_s, &ttl) != 0 || ttl == 0)
    return tg_cli_fail("ca token: --ttl '%s' is not a duration like 30m, 24h or 7d", ttl_s);
  int rc = tg_cert_ca_open(cli->dir, &ca, &err);
  if (rc == 0)
    rc = tg_cert_ca_token_new_hosts(ca, node, ttl, hosts, tok, sizeof(tok), &err);
  tg_cert_ca_close(ca);
  if (rc != 0)
    return tg_cli_fail("ca token: %s", tg_err_msg(&err, rc));
  if (cli->json) {
    json_t *o = json_pack("{s:s, s:s}", "token", tok, "node_id", node);
    tg_cli_print_json(o);
    json_decref(o);
  } else {
    printf("%s\n", tok);
  }
  fprintf(stderr, "tsunagu: one-time token for node %s%s%s, valid %s; it is not shown again\n",
          node, hosts ? " on " : "", hosts ? hosts : "", ttl_s);
  return 0;
}

/* Appends the host of URL ("https://host:port/...") to HOSTS (size N). */
static int url_host(const char *url, char *hosts, size_t n) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  char host[256];
  size_t l;
  if (*p == '[') {
    const char *e = strchr(p, ']');
    if (e == NULL)
      return TG_EINVAL;
    l = (size_t)(e - p - 1);
    p++;
  } else {
    l = strcspn(p, ":/?#");
  }
  if (l == 0 || l >= sizeof(host))
    return TG_EINVAL;
  memcpy(host, p, l);
  host[l] = '\0';
  size_t o = strlen(hosts);
  int w = snprintf(hosts + o, n - o, "%s%s", o ? "," : "", host);
  return w > 0 && (size_t)w < n - o ? 0 : TG_ETOOBIG;
}

static int ca_sign(struct tg_cli *cli, int argc, char **argv) {
  const char *node = NULL, *hosts = NULL, *valid_s = NULL, *file = NULL;
  const struct tg_cli_opt opts[] = {{"node", 0, &node, NULL, NULL},
                                    {"hosts", 0, &hosts, NULL, NULL},
                                    {"valid", 0, &valid_s, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  X509_REQ *req = NULL;
  X509 *x = NULL;
  char *data = NULL, *pem = NULL, hostbuf[2048] = "";
  size_t len = 0;
  uint64_t valid = 0;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "ca sign", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("ca sign", argc, argv, 0, 1, NULL)) != 0)
    return prc;
  file = argc ? argv[0] : NULL;
  if (cli->dir == NULL || node == NULL || file == NULL)
    return tg_cli_usage("ca sign: --dir CA, --node NODE-ID and FILE.csr are required");
  if (valid_s != NULL && (tg_parse_duration(valid_s, &valid) != 0 || valid == 0))
    return tg_cli_fail("ca sign: --valid '%s' is not a duration like 90d or 1h", valid_s);
  if (hosts != NULL)
    snprintf(hostbuf, sizeof(hostbuf), "%s", hosts);
  char uh[256], up[16];
  if (cli->url != NULL && (strncmp(cli->url, "https://", 8) != 0 || strlen(cli->url) > 512 ||
                           tg_fed_url_split(cli->url, uh, sizeof(uh), up, sizeof(up)) != 0 ||
                           url_host(cli->url, hostbuf, sizeof(hostbuf)) != 0))
    return tg_cli_fail("ca sign: --url '%s' is not an https://HOST[:PORT] URL", cli->url);
  int rc = tg_cli_read(file, TG_CA_MAX_INPUT, &data, &len, &err);
  if (rc == 0)
    rc = tg_cert_csr_parse(data, len, &req, &err);
  if (rc == 0)
    rc = tg_cert_ca_open(cli->dir, &ca, &err);
  if (rc == 0) {
    struct tg_cert_issue o = {.node_id = node,
                              .hosts = hostbuf,
                              .valid_s = (int64_t)valid,
                              .how = "offline"};
    rc = tg_cert_ca_issue(ca, &o, req, &x, &err);
  }
  if (rc == 0)
    rc = tg_cert_pem(x, &pem, &err);
  /* --url goes into the federation directory, as a registration's URL does. */
  if (rc == 0 && cli->url != NULL)
    rc = tg_fed_member_record(cli->dir, node, cli->url, &err);
  if (rc == 0) {
    char serial[48];
    tg_cert_serial_hex(x, serial, sizeof(serial));
    if (cli->json) {
      json_t *o = json_pack("{s:s, s:s, s:s}", "certificate", pem, "serial", serial, "node_id", node);
      tg_cli_print_json(o);
      json_decref(o);
    } else {
      fputs(pem, stdout);
    }
    fprintf(stderr, "tsunagu: issued a certificate for node %s, serial %s\n", node, serial);
  }
  free(pem);
  free(data);
  X509_free(x);
  X509_REQ_free(req);
  tg_cert_ca_close(ca);
  if (rc != 0)
    return tg_cli_fail("ca sign: %s: %s", file, tg_err_msg(&err, rc));
  return 0;
}

static int ca_revoke(struct tg_cli *cli, int argc, char **argv) {
  const char *node = NULL, *serial = NULL, *reason_s = "unspecified";
  const struct tg_cli_opt opts[] = {{"node", 0, &node, NULL, NULL},
                                    {"serial", 0, &serial, NULL, NULL},
                                    {"reason", 0, &reason_s, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  int n = 0;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "ca revoke", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("ca revoke", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  if (cli->dir == NULL || (node == NULL) == (serial == NULL))
    return tg_cli_usage("ca revoke: --dir CA and one of --node ID or --serial S are required");
  int reason = tg_cert_crl_reason(reason_s);
  if (reason < 0)
    return tg_cli_fail("ca revoke: unknown reason '%s' (unspecified, keyCompromise, "
                       "affiliationChanged, superseded, cessationOfOperation, "
                       "privilegeWithdrawn)",
                       reason_s);
  int rc = tg_cert_ca_open(cli->dir, &ca, &err);
  if (rc == 0)
    rc = tg_cert_ca_revoke(ca, node, serial, reason, &n, &err);
  tg_cert_ca_close(ca);
  if (rc != 0)
    return tg_cli_fail("ca revoke: %s", tg_err_msg(&err, rc));
  return tg_cli_done(cli, json_pack("{s:i}", "revoked", n), "revoked %d certificate(s); new CRL in %s/%s",
                     n, cli->dir, TG_CA_CRL);
}

static int ca_crl(struct tg_cli *cli, int argc, char **argv) {
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "ca crl", &argc, argv, NULL, 0);
  if (prc || (prc = tg_cli_nargs("ca crl", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  if (cli->dir == NULL)
    return tg_cli_usage("ca crl: --dir CA is required");
  int rc = tg_cert_ca_open(cli->dir, &ca, &err);
  if (rc == 0)
    rc = tg_cert_ca_crl_renew(ca, &err);
  tg_cert_ca_close(ca);
  if (rc != 0)
    return tg_cli_fail("ca crl: %s", tg_err_msg(&err, rc));
  return tg_cli_done(cli, NULL, "issued a new CRL in %s/%s", cli->dir, TG_CA_CRL);
}

int tg_cli_ca(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "ca", &argc, argv, NULL, TG_CLI_OPT_FIRST);
  if (rc || (rc = tg_cli_nargs("ca", argc, argv, 1, argc,
                               "which? init, token, sign, revoke or crl")) != 0)
    return rc;
  const char *sub = argv[0];
  if (strcmp(sub, "init") == 0)
    return ca_init(cli, argc - 1, argv + 1);
  if (strcmp(sub, "token") == 0)
    return ca_token(cli, argc - 1, argv + 1);
  if (strcmp(sub, "sign") == 0)
    return ca_sign(cli, argc - 1, argv + 1);
  if (strcmp(sub, "revoke") == 0)
    return ca_revoke(cli, argc - 1, argv + 1);
  if (strcmp(sub, "crl") == 0)
    return ca_crl(cli, argc - 1, argv + 1);
  return tg_cli_usage("ca: unknown subcommand '%s' (try tsunagu ca --help)", sub);
}

/* The node id in DIR/tsunagu.conf into OUT. */
static int node_id_of(const char *dir, char *out, size_t n, struct tg_err *err) {
  char path[4096];
  struct tg_conf *c = NULL;
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  int rc = tg_conf_load(path, &c, err);
  if (rc != 0)
    return rc;
  const char *id = tg_conf_get(c, "node", "id");
  if (id == NULL || !tg_node_id_valid(id) || strlen(id) >= n)
    rc = tg_err_set(err, TG_EINVAL, "%s has no valid [node] id", path);
  else
    memcpy(out, id, strlen(id) + 1);
  tg_conf_free(c);
  return rc;
}

int tg_cli_csr(struct tg_cli *cli, int argc, char **argv) {
  const char *hosts = NULL;
  const struct tg_cli_opt opts[] = {{"hosts", 0, &hosts, NULL, NULL}, {NULL, 0, NULL, NULL, NULL}};
  char id[64], path[4096], *pem = NULL;
  struct tg_err err;
  EVP_PKEY *key = NULL;
  X509_REQ *req = NULL;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "csr", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("csr", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  if (cli->dir == NULL)
    return tg_cli_usage("csr: --dir NODE-DIR is required");
  int rc = node_id_of(cli->dir, id, sizeof(id), &err);
  tg_node_path(path, sizeof(path), cli->dir, TG_NODE_KEY);
  if (rc == 0)
    rc = tg_cert_key_load(path, &key, &err);
  if (rc == 0)
    rc = tg_cert_csr_new(key, id, hosts, &req, &err);
  if (rc == 0)
    rc = tg_cert_csr_pem(req, &pem, &err);
  if (rc == 0 && cli->json) {
    json_t *o = json_pack("{s:s, s:s}", "csr", pem, "node_id", id);
    tg_cli_print_json(o);
    json_decref(o);
  } else if (rc == 0) {
    fputs(pem, stdout);
  }
  free(pem);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  if (rc != 0)
    return tg_cli_fail("csr: %s", tg_err_msg(&err, rc));
  return 0;
}

/* Writes FILE's bytes (already checked) into DIR/NAME atomically. */
static int install_file(const char *dir, const char *name, const char *data, size_t len,
                        struct tg_err *err) {
  char path[4096];
  tg_node_path(path, sizeof(path), dir, name);
  return tg_file_write(path, data, len, 0644, 0, err);
}

static int cert_install(struct tg_cli *cli, int argc, char **argv) {
  const char *cert_f = NULL, *ca_f = NULL, *crl_f = NULL;
  const struct tg_cli_opt opts[] = {{"cert", 0, &cert_f, NULL, NULL},
                                    {"ca", 0, &ca_f, NULL, NULL},
                                    {"crl", 0, &crl_f, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  char id[64], path[4096];
  char *cert_pem = NULL, *ca_pem = NULL, *crl_pem = NULL;
  struct tg_err err;
  EVP_PKEY *key = NULL;
  X509 *cert = NULL, *ca = NULL;
  X509_CRL *crl = NULL;
  tg_err_clear(&err);
  int prc = tg_cli_getopt(cli, "cert install", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("cert install", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  if (cli->dir == NULL || cert_f == NULL || ca_f == NULL)
    return tg_cli_usage("cert install: --dir NODE-DIR, --cert FILE and --ca FILE are required");
  int rc = node_id_of(cli->dir, id, sizeof(id), &err);
  tg_node_path(path, sizeof(path), cli->dir, TG_NODE_KEY);
  if (rc == 0)
    rc = tg_cert_key_load(path, &key, &err);
  if (rc == 0)
    rc = tg_cert_load(cert_f, &cert, &err);
  if (rc == 0)
    rc = tg_cert_load(ca_f, &ca, &err);
  if (rc == 0 && crl_f != NULL && (rc = tg_cert_crl_load(crl_f, &crl, &err)) == 0 &&
      tg_cert_crl_check(crl, ca, NULL) != 0)
    rc = tg_err_set(&err, TG_EPERM, "%s is not signed by the CA in %s", crl_f, ca_f);
  if (rc == 0 && crl_f == NULL) {
    /* A CRL left from another CA would make every peer check fail. */
    X509_CRL *old = NULL;
    tg_node_path(path, sizeof(path), cli->dir, TG_NODE_CRL);
    if (tg_cert_crl_load(path, &old, NULL) != 0)
      rc = tg_err_set(&err, TG_EINVAL,
                      "--crl FILE is required: without a CRL the node could not refuse revoked "
                      "peers (the CA's crl.pem, or GET /api/v1/certs/crl from its node)");
    else if (tg_cert_crl_check(old, ca, NULL) != 0)
      rc = tg_err_set(&err, TG_EPERM, "%s is from another CA: give the new one with --crl", path);
    X509_CRL_free(old);
    ERR_clear_error();
  }
  if (rc == 0)
    rc = tg_cert_verify(cert, key, ca, crl, id, &err);
  if (rc == 0 && (rc = tg_cert_pem(cert, &cert_pem, &err)) == 0 &&
      (rc = tg_cert_pem(ca, &ca_pem, &err)) == 0 && crl != NULL)
    rc = tg_cert_crl_pem(crl, &crl_pem, &err);
  /* The trust anchor and CRL first, the served certificate last. */
  if (rc == 0)
    rc = install_file(cli->dir, TG_NODE_CA, ca_pem, strlen(ca_pem), &err);
  if (rc == 0 && crl_pem != NULL)
    rc = install_file(cli->dir, TG_NODE_CRL, crl_pem, strlen(crl_pem), &err);
  if (rc == 0)
    rc = install_file(cli->dir, TG_NODE_CERT, cert_pem, strlen(cert_pem), &err);
  free(cert_pem);
  free(ca_pem);
  free(crl_pem);
  EVP_PKEY_free(key);
  X509_free(cert);
  X509_free(ca);
  X509_CRL_free(crl);
  if (rc != 0)
    return tg_cli_fail("cert install: %s", tg_err_msg(&err, rc));
  return tg_cli_done(cli, json_pack("{s:s, s:s}", "node_id", id, "dir", cli->dir),
                     "installed the federation certificate of node %s in %s; reload with SIGHUP",
                     id, cli->dir);
}

int tg_cli_cert(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "cert", &argc, argv, NULL, TG_CLI_OPT_FIRST);
  if (rc)
    return rc;
  if (argc >= 1 && strcmp(argv[0], "install") == 0)
    return cert_install(cli, argc - 1, argv + 1);
  return tg_cli_usage("cert: the only subcommand is install (try tsunagu cert --help)");
}

/* --- tsunagu register --- */

struct grow {
  char *data; /* from malloc */
  size_t len;
};

static size_t grow_write(char *p, size_t size, size_t n, void *ud) {
  struct grow *g = ud;
  size_t add = size * n;
  if (g->len + add > TG_CA_MAX_INPUT)
    return 0;
  char *nd = realloc(g->data, g->len + add + 1);
  if (nd == NULL)
    return 0;
  memcpy(nd + g->len, p, add);
  g->len += add;
  nd[g->len] = '\0';
  g->data = nd;
  return add;
}

/* Fetches HUB's CA certificate WITHOUT verifying the hub's TLS certificate:
 * nothing is trusted yet, and the answer is only accepted if it hashes to
 * the fingerprint given out of band. tg_client verifies peers always, so this
 * one bootstrap request uses libcurl directly. */
static int fetch_ca_unverified(const char *hub, X509 **out, struct tg_err *err) {
  char url[1024];
  struct grow g = {NULL, 0};
  long status = 0;
  snprintf(url, sizeof(url), "%s/api/v1/certs/ca", hub);
  CURL *h = curl_easy_init();
  if (h == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
  CURLcode cc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  int rc;
  if (cc != CURLE_OK)
    rc = tg_err_set(err, TG_EPEER, "cannot reach %s: %s", url, curl_easy_strerror(cc));
  else if (status != 200)
    rc = tg_err_set(err, TG_EPEER, "%s answered %ld: the hub runs no CA", url, status);
  else
    rc = tg_cert_parse(g.data, g.len, out, err);
  free(g.data);
  return rc;
}

/* Normalises a SHA-256 fingerprint (hex, any case, ':' allowed) into OUT. */
static int fingerprint_norm(const char *in, char out[65]) {
  size_t o = 0;
  for (; *in; in++) {
    if (*in == ':')
      continue;
    char c = (char)(*in >= 'A' && *in <= 'F' ? *in + 32 : *in);
    if (o >= 64 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return TG_EINVAL;
    out[o++] = c;
  }
  out[o] = '\0';
  return o == 64 ? 0 : TG_EINVAL;
}

static int x509_fingerprint(X509 *x, char out[65]) {
  unsigned char md[32];
  unsigned int l = sizeof(md);
  if (!X509_digest(x, EVP_sha256(), md, &l))
    return TG_ECRYPTO;
  tg_hex(md, 32, out);
  return 0;
}

/* The URL the node in DIR enrols with, into OUT (size N): --node-url
 * (GIVEN), else [node] url, else the first of HOSTS (--hosts) with the
 * [http] listen port, else the listen address itself. A wildcard address
 * reaches nobody and is refused (with LOCAL, in the last case, 127.0.0.1
 * stands for it); a loopback one reaches only this machine and is refused
 * unless LOCAL (a federation on one machine, as in tests and demos). */
static int node_url(const char *dir, const char *given, const char *hosts, int local, char *out,
                    size_t n, struct tg_err *err) {
  char path[4096], host[256], lport[16], port_s[16];
  int port = 0, rc;
  struct tg_conf *c = NULL;
  const char *from = "[http] listen";
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  if ((rc = tg_conf_load(path, &c, err)) != 0)
    return rc;
  const char *l = tg_conf_get(c, "http", "listen");
  const char *u = tg_conf_get(c, "node", "url");
  rc = tg_node_split_hostport(l ? l : "127.0.0.1:8443", host, sizeof(host), &port);
  snprintf(lport, sizeof(lport), "%d", port);
  if (rc != 0) {
    rc = tg_err_set(err, TG_EINVAL, "%s: bad [http] listen", path);
  } else if (given != NULL || (u != NULL && u[0])) {
    from = given ? "--node-url" : "[node] url";
    snprintf(out, n, "%s", given ? given : u);
    if (tg_client_url_split(out, "https", host, sizeof(host), port_s, sizeof(port_s)) != 0)
      rc = tg_err_set(err, TG_EINVAL, "%s %s is not an https:// URL", from, out);
  } else if (hosts != NULL && hosts[0]) {
    from = "--hosts";
    size_t hl = strcspn(hosts, ",");
    if (hl == 0 || hl >= sizeof(host))
      rc = tg_err_set(err, TG_EINVAL, "--hosts %s: expected NAME[,NAME…]", hosts);
    else {
      memcpy(host, hosts, hl);
      host[hl] = '\0';
      snprintf(out, n, strchr(host, ':') ? "https://[%s]:%d" : "https://%s:%d", host, port);
    }
  } else {
    from = "[http] listen";
    if (local && tg_node_host_wildcard(host))
      snprintf(host, sizeof(host), "127.0.0.1");
    snprintf(out, n, strchr(host, ':') ? "https://[%s]:%d" : "https://%s:%d", host, port);
  }
  if (rc == 0 && tg_node_host_wildcard(host))
    rc = tg_err_set(err, TG_EINVAL,
                    "%s gives %s, a wildcard address that peers cannot reach; give the address "
                    "peers use: --node-url https://NAME:%s, [node] url or --hosts NAME",
                    from, out, lport);
  else if (rc == 0 && !local && tg_node_host_loopback(host))
    rc = tg_err_set(err, TG_EINVAL,
                    "%s gives %s, a loopback address that only this machine reaches; give the "
                    "address peers use (--node-url https://NAME:%s, [node] url or --hosts NAME), "
                    "or --local for a federation on this machine",
                    from, out, lport);
  tg_conf_free(c);
  return rc;
}

int tg_cli_register(struct tg_cli *cli, int argc, char **argv) {
  const char *hub = NULL, *token = NULL, *fp_s = NULL, *url = NULL, *token_file = NULL,
             *hosts = NULL;
  int local = 0;
  const struct tg_cli_opt opts[] = {{"hub", 0, &hub, NULL, NULL},
                                    {"token", 0, &token, NULL, NULL},
                                    {"token-file", 0, &token_file, NULL, NULL},
                                    {"ca-fingerprint", 0, &fp_s, NULL, NULL},
                                    {"node-url", 0, &url, NULL, NULL},
                                    {"hosts", 0, &hosts, NULL, NULL},
                                    {"local", 0, NULL, &local, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  char id[64], path[4096], want[65], got[65], urlbuf[600], capath[] = "/tmp/tg-ca-pin-XXXXXX";
  char *csr_pem = NULL, *ca_pem = NULL, *body = NULL, *resp = NULL;
  int capath_made = 0, status = 0, unreachable = 0;
  size_t len = 0;
  struct tg_err err;
  EVP_PKEY *key = NULL;
  X509 *ca = NULL, *cert = NULL, *ca2 = NULL;
  X509_REQ *req = NULL;
  X509_CRL *crl = NULL;
  json_t *j = NULL;
  tg_err_clear(&err);
  char tokbuf[512];
  int prc = tg_cli_getopt(cli, "register", &argc, argv, opts, 0);
  if (prc || (prc = tg_cli_nargs("register", argc, argv, 0, 0, NULL)) != 0)
    return prc;
  /* --token-file keeps the one-time token out of argv (ps, shell history).
   * tsunagu's global option parser may have taken it first. */
  if (token_file == NULL)
    token_file = cli->token_file;
  if (token_file != NULL && token == NULL) {
    char *t = NULL;
    if (tg_cli_read(token_file, sizeof(tokbuf) - 1, &t, NULL, NULL) != 0)
      return tg_cli_fail("register: cannot read --token-file %s", token_file);
    t[strcspn(t, "\r\n")] = '\0';
    snprintf(tokbuf, sizeof(tokbuf), "%s", t);
    OPENSSL_cleanse(t, strlen(t));
    free(t);
    token = tokbuf;
  }
  if (cli->dir == NULL || hub == NULL || token == NULL || fp_s == NULL)
    return tg_cli_usage("register: --dir DIR, --hub URL, --token T (or --token-file FILE) and "
                       "--ca-fingerprint SHA256 are required");
  if (strncmp(hub, "https://", 8) != 0 || strlen(hub) > 512)
    return tg_cli_fail("register: --hub must be an https:// URL of at most 512 bytes");
  if (fingerprint_norm(fp_s, want) != 0)
    return tg_cli_fail("register: --ca-fingerprint must be 64 hex digits (SHA-256)");
  int rc = node_id_of(cli->dir, id, sizeof(id), &err);
  if (rc == 0 && (rc = node_url(cli->dir, url, hosts, local, urlbuf, sizeof(urlbuf), &err)) == 0)
    url = urlbuf;
  tg_node_path(path, sizeof(path), cli->dir, TG_NODE_KEY);
  if (rc == 0)
    rc = tg_cert_key_load(path, &key, &err);
  if (rc == 0 && (rc = fetch_ca_unverified(hub, &ca, &err)) == TG_EPEER)
    unreachable = 1;
  if (rc == 0 && (rc = x509_fingerprint(ca, got)) == 0 && strcmp(got, want) != 0)
    rc = tg_err_set(&err, TG_EPERM,
                    "the hub's CA has fingerprint %s, not the %s given: refusing to enroll", got,
                    want);
  if (rc == 0 && (rc = tg_cert_pem(ca, &ca_pem, &err)) == 0) {
    int fd = mkstemp(capath);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    capath_made = fd >= 0;
    if (f == NULL || fputs(ca_pem, f) < 0 || fclose(f) != 0)
      rc = tg_err_set(&err, TG_EIO, "cannot write %s", capath);
  }
  if (rc == 0 && (rc = tg_cert_csr_new(key, id, NULL, &req, &err)) == 0)
    rc = tg_cert_csr_pem(req, &csr_pem, &err);
  if (rc == 0) {
    json_t *in = json_pack("{s:s, s:s, s:s, s:s}", "node_id", id, "url", url, "csr", csr_pem,
                           "token", token);
    body = in ? json_dumps(in, JSON_COMPACT) : NULL;
    json_decref(in);
    if (body == NULL)
      rc = tg_err_set(&err, TG_ENOMEM, "out of memory");
  }
  if (rc == 0) {
    /* From here the hub is authenticated by the pinned CA. */
    char u[1100];
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    snprintf(u, sizeof(u), "%s/api/v1/certs/register", hub);
    struct tg_client_tls tls = {.ca_file = capath};
    struct tg_client_opts o = {.method = "POST", .url = u, .headers = hdrs, .body = body,
                               .body_len = strlen(body), .timeout_ms = 30000,
                               .max_response = 1u << 20};
    rc = tg_client_fetch(&tls, &o, &status, &resp, &len, &err);
    unreachable = rc != 0;
    if (rc != 0) {
      char why[sizeof(err.msg)];
      snprintf(why, sizeof(why), "%s", err.msg);
      tg_err_set(&err, rc, "cannot reach the hub with the pinned CA (its TLS certificate must "
                           "be issued by that CA): %.300s", why);
    }
  }
  if (rc == 0) {
    j = json_loadb(resp, len, 0, NULL);
    if (status != 201) {
      const char *d = json_string_value(json_object_get(j, "detail"));
      rc = tg_err_set(&err, TG_EPEER, "the hub refused: %d %s", status, d ? d : "");
    }
  }
  const char *cert_pem = json_string_value(json_object_get(j, "certificate"));
  const char *ca_got = json_string_value(json_object_get(j, "ca_certificate"));
  const char *crl_pem = json_string_value(json_object_get(j, "crl"));
  if (rc == 0 && (cert_pem == NULL || ca_got == NULL || crl_pem == NULL))
    rc = tg_err_set(&err, TG_EPROTO, "the hub's answer lacks certificate, ca_certificate or crl");
  if (rc == 0 && (rc = tg_cert_parse(cert_pem, strlen(cert_pem), &cert, &err)) == 0 &&
      (rc = tg_cert_parse(ca_got, strlen(ca_got), &ca2, &err)) == 0 && X509_cmp(ca, ca2) != 0)
    rc = tg_err_set(&err, TG_EPROTO, "the hub answered with another CA certificate");
  if (rc == 0 && tg_cert_crl_parse(crl_pem, strlen(crl_pem), ca, &crl, &err) != 0) {
    char why[sizeof(err.msg)];
    snprintf(why, sizeof(why), "%s", err.msg);
    rc = tg_err_set(&err, TG_EPROTO, "the hub's CRL is refused: %s", why);
  }
  if (rc == 0)
    rc = tg_cert_verify(cert, key, ca, crl, id, &err);
  if (rc == 0)
    rc = install_file(cli->dir, TG_NODE_CA, ca_pem, strlen(ca_pem), &err);
  char *crl_canon = NULL; /* the verified CRL alone, whatever else the answer held */
  if (rc == 0 && (rc = tg_cert_crl_pem(crl, &crl_canon, &err)) == 0)
    rc = install_file(cli->dir, TG_NODE_CRL, crl_canon, strlen(crl_canon), &err);
  free(crl_canon);
  if (rc == 0)
    rc = install_file(cli->dir, TG_NODE_CERT, cert_pem, strlen(cert_pem), &err);
  if (rc == 0) /* for CRL refresh, peer sync and renew */
    rc = tg_fed_conf_set_hub(cli->dir, hub, &err);
  /* The hub's node id, which later calls require of its certificate; the
   * CA signed that certificate, so the id is checked against it now. */
  /* The hub's node id, which CRL refresh, peer sync and renew then require
   * of the hub's certificate; checked against that certificate here first. */
  const char *hub_id = json_string_value(json_object_get(j, "hub_node_id"));
  if (rc == 0 && hub_id != NULL) {
    char ca_installed[4096], hurl[700];
    int hst = 0;
    tg_node_path(ca_installed, sizeof(ca_installed), cli->dir, TG_NODE_CA);
    snprintf(hurl, sizeof(hurl), "%s/healthz", hub);
    struct tg_client_tls ptls = {.ca_file = ca_installed, .peer_node_id = hub_id};
    struct tg_client_opts po = {.url = hurl, .timeout_ms = 10000, .max_response = 4096};
    char *pb = NULL;
    size_t pl = 0;
    if (!tg_node_id_valid(hub_id) || tg_client_fetch(&ptls, &po, &hst, &pb, &pl, &err) != 0)
      rc = tg_err_set(&err, TG_EPROTO, "the hub says it is node '%.64s' but its certificate does "
                                       "not name it",
                      hub_id);
    free(pb);
    if (rc == 0)
      rc = tg_fed_conf_set_hub_id(cli->dir, hub_id, &err);
  }
  if (capath_made)
    unlink(capath);
  json_decref(j);
  free(resp);
  free(body);
  free(csr_pem);
  free(ca_pem);
  X509_REQ_free(req);
  X509_free(cert);
  X509_free(ca);
  X509_free(ca2);
  X509_CRL_free(crl);
  EVP_PKEY_free(key);
  if (rc != 0) {
    tg_cli_fail("register: %s", tg_err_msg(&err, rc));
    return unreachable ? TG_CLI_EUNREACH : TG_CLI_EFAIL;
  }
  return tg_cli_done(cli, json_pack("{s:s, s:s, s:s}", "node_id", id, "hub", hub, "url", url),
                     "node %s enrolled with %s as %s; its federation certificate is installed in "
                     "%s (reload with SIGHUP)",
                     id, hub, url, cli->dir);
}
