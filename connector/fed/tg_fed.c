/* tg_fed: federation membership of a node: its federation TLS paths, the
 * CA node's member directory, the [federation] keys of tsunagu.conf, and
 * installing a CRL fetched from the hub. (Peer checks: tg_fed_check.c.) */
#include "tg_fed.h"
#include "tg_cert_ca.h"
#include "tg_client.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_node.h"
#include "tg_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tg_fed_tls_paths(const char *dir, struct tg_fed_tls *out) {
  struct stat st;
  if (tg_node_path(out->ca, sizeof(out->ca), dir, TG_NODE_CA) ||
      tg_node_path(out->crl, sizeof(out->crl), dir, TG_NODE_CRL) ||
      tg_node_path(out->cert, sizeof(out->cert), dir, TG_NODE_CERT) ||
      tg_node_path(out->key, sizeof(out->key), dir, TG_NODE_KEY))
    return TG_ETOOBIG;
  if (stat(out->crl, &st) != 0)
    out->crl[0] = '\0';
  return stat(out->ca, &st) == 0 ? 0 : TG_ENOENT;
}

int tg_fed_url_split(const char *url, char *host, size_t hn, char *port, size_t pn) {
  int rc = tg_client_url_split(url, "https", host, hn, port, pn);
  return rc == TG_ETOOBIG ? TG_EINVAL : rc;
}

/* --- the CA node's directory --- */

int tg_fed_ca_dir(const char *node_dir, char *out, size_t n) {
  char path[4096];
  struct tg_conf *c = NULL;
  int rc = TG_ENOENT;
  if (tg_node_path(path, sizeof(path), node_dir, TG_NODE_CONF) != 0)
    return TG_ETOOBIG;
  if (tg_conf_load(path, &c, NULL) == 0) {
    const char *d = tg_conf_get(c, "ca", "dir");
    if (d != NULL && d[0] != '\0') {
      int w = d[0] == '/' ? snprintf(out, n, "%s", d) : snprintf(out, n, "%s/%s", node_dir, d);
      rc = w > 0 && (size_t)w < n ? 0 : TG_ETOOBIG;
    }
    tg_conf_free(c);
  }
  return rc;
}

int tg_fed_member_record(const char *ca_dir, const char *node_id, const char *url,
                         struct tg_err *err) {
  struct tg_cert_ca *ca = NULL;
  int rc = tg_cert_ca_open(ca_dir, &ca, err);
  if (rc == 0)
    rc = tg_cert_ca_url_set(ca, node_id, url, err);
  tg_cert_ca_close(ca);
  return rc;
}

int tg_fed_member_url(const char *ca_dir, const char *node_id, char *out, size_t n,
                      struct tg_err *err) {
  struct tg_cert_ca *ca = NULL;
  int rc = tg_cert_ca_open(ca_dir, &ca, err);
  if (rc == 0)
    rc = tg_cert_ca_url_get(ca, node_id, out, n, err);
  tg_cert_ca_close(ca);
  return rc;
}

struct members_ctx {
  json_t *a;
  int64_t now;
};

static int member_add(void *ud, const struct tg_cert_ca_member *m) {
  struct members_ctx *x = ud;
  const char *status = m->revoked ? "revoked" : m->not_after < x->now ? "expired" : "active";
  json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:I, s:s}", "node_id", m->node_id, "name",
                        m->node_id, "url", m->url, "fingerprint", m->sha256, "not_after",
                        (json_int_t)m->not_after, "status", status);
  return o != NULL && json_array_append_new(x->a, o) == 0 ? 0 : TG_ENOMEM;
}

int tg_fed_members(const char *ca_dir, json_t **out, struct tg_err *err) {
  struct tg_cert_ca *ca = NULL;
  struct members_ctx x = {json_array(), tg_time_now()};
  int rc = x.a ? tg_cert_ca_open(ca_dir, &ca, err) : TG_ENOMEM;
  if (rc == 0)
    rc = tg_cert_ca_members(ca, member_add, &x, err);
  tg_cert_ca_close(ca);
  if (rc == TG_ENOMEM)
    tg_err_set(err, rc, "out of memory");
  if (rc != 0) {
    json_decref(x.a);
    return rc;
  }
  *out = x.a;
  return 0;
}

/* --- configuration --- */

/* Adds "KEY = VALUE" to the [federation] section of DIR's tsunagu.conf
 * (replacing the file atomically); a no-op when KEY is already set. */
static int conf_add_federation_key(const char *dir, const char *key, const char *value,
                                   struct tg_err *err) {
  char path[4096], *text = NULL;
  size_t len = 0;
  int rc;
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  if ((rc = tg_file_read(path, 1 << 20, &text, &len, err)) != 0)
    return rc;
  struct tg_conf *c = NULL;
  int has = tg_conf_parse(text, len, &c, NULL) == 0 && tg_conf_get(c, "federation", key);
  tg_conf_free(c);
  if (has) {
    free(text);
    return 0;
  }
  size_t cap = len + strlen(key) + strlen(value) + 64;
  char *out = malloc(cap);
  if (out == NULL) {
    free(text);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  /* Into an existing [federation] section, else a new one at the end. */
  const char *sec = strstr(text, "\n[federation]\n");
  int n;
  if (sec != NULL || strncmp(text, "[federation]\n", 13) == 0) {
    size_t at = sec ? (size_t)(sec - text) + 14 : 13;
    n = snprintf(out, cap, "%.*s%s = %s\n%s", (int)at, text, key, value, text + at);
  } else {
    n = snprintf(out, cap, "%s%s\n[federation]\n%s = %s\n", text,
                 len > 0 && text[len - 1] != '\n' ? "\n" : "", key, value);
  }
  rc = tg_file_write(path, out, (size_t)n, 0644, 0, err);
  free(out);
  free(text);
  return rc;
}

int tg_fed_conf_set_hub(const char *dir, const char *hub, struct tg_err *err) {
  return conf_add_federation_key(dir, "hub", hub, err);
}

int tg_fed_conf_set_hub_id(const char *dir, const char *hub_id, struct tg_err *err) {
  if (!tg_node_id_valid(hub_id))
    return tg_err_set(err, TG_EINVAL, "invalid hub node id");
  return conf_add_federation_key(dir, "hub_id", hub_id, err);
}

/* --- CRL refresh --- */

int tg_fed_crl_install(const char *node_dir, const char *pem, size_t len, int *changed,
                       struct tg_err *err) {
  char ca_path[4096], crl_path[4096];
  X509 *ca = NULL;
  X509_CRL *crl = NULL, *old = NULL;
  char *cur = NULL;
  size_t cur_len = 0;
  int rc;
  if (changed)
    *changed = 0;
  if (tg_node_path(ca_path, sizeof(ca_path), node_dir, TG_NODE_CA) ||
      tg_node_path(crl_path, sizeof(crl_path), node_dir, TG_NODE_CRL))
    return tg_err_set(err, TG_ETOOBIG, "path too long");
  if ((rc = tg_cert_load(ca_path, &ca, err)) != 0)
    return rc;
  char *canon = NULL; /* what is installed: the verified CRL re-encoded, nothing else */
  if ((rc = tg_cert_crl_parse(pem, len, ca, &crl, err)) != 0) {
    /* rc set */
  } else if ((rc = tg_cert_crl_pem(crl, &canon, err)) != 0) {
    /* rc set */
  } else if (tg_file_read(crl_path, TG_CA_MAX_INPUT, &cur, &cur_len, NULL) == 0 &&
             cur_len == strlen(canon) && memcmp(cur, canon, cur_len) == 0) {
    rc = 0; /* unchanged */
  } else {
    if (tg_cert_crl_load(crl_path, &old, NULL) == 0 &&
        tg_cert_crl_number(old) > tg_cert_crl_number(crl))
      rc = tg_err_set(err, TG_ECONFLICT, "the CRL (number %ld) is older than the installed one",
                      tg_cert_crl_number(crl));
    else if ((rc = tg_file_write(crl_path, canon, strlen(canon), 0644, 0, err)) == 0 && changed)
      *changed = 1;
  }
  ERR_clear_error();
  free(canon);
  free(cur);
  X509_CRL_free(old);
  X509_CRL_free(crl);
  X509_free(ca);
  return rc;
}
