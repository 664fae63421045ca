/* tg_fed: federation membership of a node: its federation TLS paths, the
 * blocking mutual-TLS peer check (one connection: verify the peer's
 * certificate and SAN node id, then GET /api/v1/peer/whoami), the CA node's
 * member directory, and installing a CRL fetched from the hub. */
#include "tg_fed.h"
#include "tg_cert_ca.h"
#include "tg_conf.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_node.h"
#include "tg_tls.h"
#include "tg_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

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

/* --- the peer check --- */

static void check_fail(struct tg_fed_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void check_fail(struct tg_fed_check *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error, sizeof(c->error), fmt, ap);
  va_end(ap);
}

/* The last OpenSSL error as text, or WHAT. */
static const char *ssl_why(char *buf, size_t n, const char *what) {
  unsigned long e = ERR_peek_last_error();
  if (e == 0)
    return what;
  ERR_error_string_n(e, buf, n);
  return buf;
}

/* Splits https://HOST[:PORT][/...] into HOST and PORT. */
int tg_fed_url_split(const char *url, char *host, size_t hn, char *port, size_t pn) {
  if (strncmp(url, "https://", 8) != 0)
    return TG_EINVAL;
  const char *p = url + 8, *e;
  size_t l;
  if (*p == '[') {
    e = strchr(++p, ']');
    if (e == NULL)
      return TG_EINVAL;
    l = (size_t)(e - p);
    e++;
  } else {
    l = strcspn(p, ":/?#");
    e = p + l;
  }
  if (l == 0 || l >= hn)
    return TG_EINVAL;
  memcpy(host, p, l);
  host[l] = '\0';
  if (*e == ':') {
    size_t pl = strspn(e + 1, "0123456789");
    if (pl == 0 || pl >= pn)
      return TG_EINVAL;
    memcpy(port, e + 1, pl);
    port[pl] = '\0';
  } else {
    snprintf(port, pn, "443");
  }
  return 0;
}

/* Connects to HOST:PORT within TIMEOUT_MS; returns a blocking socket whose
 * reads and writes time out after TIMEOUT_MS, or -1. */
static int dial(const char *host, const char *port, uint64_t timeout_ms, char *why, size_t wn) {
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int g = getaddrinfo(host, port, &hints, &ai);
  if (g != 0) {
    snprintf(why, wn, "cannot resolve %s: %s", host, gai_strerror(g));
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
      continue;
    int r = connect(fd, a->ai_addr, a->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      struct pollfd pfd = {.fd = fd, .events = POLLOUT};
      int soerr = 0;
      socklen_t sl = sizeof(soerr);
      if (poll(&pfd, 1, (int)timeout_ms) == 1 &&
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
        r = 0;
      else
        errno = soerr ? soerr : ETIMEDOUT;
    }
    if (r != 0) {
      snprintf(why, wn, "cannot connect to %s:%s: %s", host, port, strerror(errno));
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(ai);
  if (fd < 0)
    return -1;
  struct timeval tv = {.tv_sec = (time_t)(timeout_ms / 1000),
                       .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    snprintf(why, wn, "cannot set up the socket: %s", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* A client context with the node's certificate that trusts only the
 * federation CA and checks the CRL when there is one. */
static SSL_CTX *client_ctx(const struct tg_fed_tls *t, char *why, size_t wn) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  X509_CRL *crl = NULL;
  int ok = ctx != NULL && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
           SSL_CTX_load_verify_locations(ctx, t->ca, NULL) == 1 &&
           SSL_CTX_use_certificate_chain_file(ctx, t->cert) == 1 &&
           SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) == 1 &&
           SSL_CTX_check_private_key(ctx) == 1;
  if (ok && t->crl[0]) {
    struct tg_err e;
    ok = tg_cert_crl_load(t->crl, &crl, &e) == 0 &&
         X509_STORE_add_crl(SSL_CTX_get_cert_store(ctx), crl) == 1;
    X509_CRL_free(crl);
    if (ok)
      X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_CRL_CHECK);
  }
  if (ok)
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_X509_STRICT);
  if (!ok) {
    char b[256];
    snprintf(why, wn, "cannot load this node's federation TLS material: %s",
             ssl_why(b, sizeof(b), "unknown error"));
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  /* The node closes without close_notify; the body length is checked. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return ctx;
}

static int64_t asn1_unix(const ASN1_TIME *t) {
  struct tm tm;
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
    return 0;
  return (int64_t)timegm(&tm);
}

/* Reads the whole answer (Connection: close) into BUF; returns its length or -1. */
static long read_all(SSL *ssl, char *buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    if (len + 1 >= cap)
      return -1;
    int n = SSL_read(ssl, buf + len, (int)(cap - 1 - len));
    if (n > 0) {
      len += (size_t)n;
      continue;
    }
    int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && len > 0))
      break;
    return -1;
  }
  buf[len] = '\0';
  return (long)len;
}

/* Checks the answer to whoami in BUF. */
static void check_answer(struct tg_fed_check *c, char *buf, size_t len) {
  int status = 0;
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
    check_fail(c, "%s answered something that is not HTTP", c->url);
    return;
  }
  char *body = strstr(buf, "\r\n\r\n");
  if (body == NULL) {
    check_fail(c, "%s answered no complete HTTP head", c->url);
    return;
  }
  body += 4;
  size_t blen = len - (size_t)(body - buf);
  const char *cl = strcasestr(buf, "\r\ncontent-length:");
  uint64_t want = 0;
  if (cl == NULL || cl > body) {
    check_fail(c, "%s answered without Content-Length", c->url);
    return;
  }
  cl += 17;
  cl += strspn(cl, " \t");
  char num[24];
  size_t nl = strspn(cl, "0123456789");
  if (nl == 0 || nl >= sizeof(num)) {
    check_fail(c, "%s answered a bad Content-Length", c->url);
    return;
  }
  memcpy(num, cl, nl);
  num[nl] = '\0';
  if (tg_parse_u64(num, 1u << 20, &want) != 0 || want != blen) {
    check_fail(c, "%s answered a body cut short", c->url);
    return;
  }
  json_t *j = json_loadb(body, blen, 0, NULL);
  if (status != 200) {
    const char *d = json_string_value(json_object_get(j, "detail"));
    check_fail(c, "the peer refused us: %d %s", status, d ? d : "(no detail)");
  } else {
    const char *seen = json_string_value(json_object_get(j, "node_id"));
    if (seen == NULL || strcmp(seen, c->self_id) != 0)
      check_fail(c, "the peer saw us as '%s', not '%s'", seen ? seen : "(nobody)", c->self_id);
    else
      c->ok = 1;
  }
  json_decref(j);
}

void tg_fed_check_run(struct tg_fed_check *c) {
  char host[256], port[16], b[256];
  unsigned char ip[16];
  uint64_t t0 = uv_hrtime();
  SSL_CTX *ctx = NULL;
  SSL *ssl = NULL;
  X509 *peer = NULL;
  int fd = -1;
  c->ok = 0;
  c->not_after = 0;
  c->fingerprint[0] = c->cert_node[0] = '\0';
  ERR_clear_error();
  if (c->timeout_ms == 0)
    c->timeout_ms = 5000;
  if (tg_fed_url_split(c->url, host, sizeof(host), port, sizeof(port)) != 0) {
    check_fail(c, "bad peer URL %s", c->url);
    goto out;
  }
  if ((ctx = client_ctx(&c->tls, c->error, sizeof(c->error))) == NULL)
    goto out;
  if ((fd = dial(host, port, c->timeout_ms, c->error, sizeof(c->error))) < 0)
    goto out;
  ssl = SSL_new(ctx);
  int is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
  X509_VERIFY_PARAM *vp = ssl ? SSL_get0_param(ssl) : NULL;
  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
      X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER) != 1 ||
      (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1
             : (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1))) {
    check_fail(c, "cannot set up TLS: %s", ssl_why(b, sizeof(b), "unknown error"));
    goto out;
  }
  if (SSL_connect(ssl) != 1) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
      check_fail(c, "the peer's certificate was refused: %s", X509_verify_cert_error_string(v));
    else
      check_fail(c, "TLS handshake with %s failed: %s", c->url,
                 ssl_why(b, sizeof(b), "connection closed"));
    goto out;
  }
  peer = SSL_get1_peer_certificate(ssl);
  if (peer == NULL) {
    check_fail(c, "%s presented no certificate", c->url);
    goto out;
  }
  unsigned char md[32];
  unsigned int mdlen = sizeof(md);
  if (X509_digest(peer, EVP_sha256(), md, &mdlen) == 1)
    tg_hex(md, sizeof(md), c->fingerprint);
  c->not_after = asn1_unix(X509_get0_notAfter(peer));
  if (tg_cert_node_id(peer, c->cert_node, sizeof(c->cert_node)) != 0) {
    check_fail(c, "the certificate at %s names no node", c->url);
    goto out;
  }
  if (strcmp(c->cert_node, c->node_id) != 0) {
    check_fail(c, "the certificate at %s is node '%s', not '%s'", c->url, c->cert_node, c->node_id);
    goto out;
  }
  char req[600];
  int rl = snprintf(req, sizeof(req),
                    "GET /api/v1/peer/whoami HTTP/1.1\r\nHost: %s%s%s:%s\r\nAccept: "
                    "application/json\r\nConnection: close\r\n\r\n",
                    is_ip && strchr(host, ':') ? "[" : "", host,
                    is_ip && strchr(host, ':') ? "]" : "", port);
  if (SSL_write(ssl, req, rl) != rl) {
    check_fail(c, "the peer closed the connection: %s", ssl_why(b, sizeof(b), "write failed"));
    goto out;
  }
  char *buf = malloc(65536);
  long len = buf ? read_all(ssl, buf, 65536) : -1;
  if (len < 0)
    check_fail(c, "the peer refused the connection: %s",
               ssl_why(b, sizeof(b), "no answer (timeout or closed)"));
  else
    check_answer(c, buf, (size_t)len);
  free(buf);
out:
  c->latency_ms = (int64_t)((uv_hrtime() - t0) / 1000000u);
  c->checked_at = tg_time_now();
  X509_free(peer);
  if (ssl != NULL)
    SSL_shutdown(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  if (fd >= 0)
    close(fd);
  ERR_clear_error();
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

static const struct tg_db_migration fed_schema[] = {
    {1, "CREATE TABLE fed_urls(node_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
        " updated_at INTEGER NOT NULL);"},
};

static int fed_db(const char *ca_dir, sqlite3 **db, struct tg_err *err) {
  char path[4200];
  int rc;
  if (tg_path_join(path, sizeof(path), ca_dir, TG_CA_DB) != 0)
    return tg_err_set(err, TG_ETOOBIG, "path too long");
  if ((rc = tg_db_open(path, 0, db, err)) != 0)
    return rc;
  if ((rc = tg_db_migrate(*db, "federation", fed_schema, 1, err)) != 0) {
    tg_db_close(*db);
    *db = NULL;
  }
  return rc;
}

int tg_fed_member_record(const char *ca_dir, const char *node_id, const char *url,
                         struct tg_err *err) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = fed_db(ca_dir, &db, err);
  if (rc != 0)
    return rc;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO fed_urls(node_id, url, updated_at) VALUES(?1, ?2, ?3)"
                         " ON CONFLICT(node_id) DO UPDATE SET url = ?2, updated_at = ?3",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(db));
  } else {
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, tg_time_now());
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  tg_db_close(db);
  return rc;
}

int tg_fed_member_url(const char *ca_dir, const char *node_id, char *out, size_t n,
                      struct tg_err *err) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = fed_db(ca_dir, &db, err);
  if (rc != 0)
    return rc;
  if (sqlite3_prepare_v2(db, "SELECT url FROM fed_urls WHERE node_id = ?", -1, &st, NULL) !=
      SQLITE_OK) {
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(db));
  } else {
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *u = (const char *)sqlite3_column_text(st, 0);
      if (u == NULL || strlen(u) >= n)
        rc = tg_err_set(err, TG_ETOOBIG, "the recorded URL is too long");
      else
        memcpy(out, u, strlen(u) + 1);
    } else {
      rc = tg_err_set(err, TG_ENOENT, "no URL recorded for node %s", node_id);
    }
  }
  sqlite3_finalize(st);
  tg_db_close(db);
  return rc;
}

int tg_fed_members(const char *ca_dir, json_t **out, struct tg_err *err) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = fed_db(ca_dir, &db, err);
  if (rc != 0)
    return rc;
  /* Each node's newest certificate decides its status. */
  if (sqlite3_prepare_v2(db,
                         "SELECT c.node_id, c.sha256, c.not_after, c.revoked_at, u.url"
                         " FROM ca_certs c LEFT JOIN fed_urls u ON u.node_id = c.node_id"
                         " WHERE c.rowid = (SELECT max(rowid) FROM ca_certs c2"
                         "                  WHERE c2.node_id = c.node_id)"
                         " ORDER BY c.node_id",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(db));
    tg_db_close(db);
    return rc;
  }
  json_t *a = json_array();
  int64_t now = tg_time_now();
  int s;
  while (a != NULL && (s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    int64_t not_after = sqlite3_column_int64(st, 2);
    const char *status = sqlite3_column_type(st, 3) != SQLITE_NULL ? "revoked"
                         : not_after < now                         ? "expired"
                                                                   : "active";
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:I, s:s}", "node_id", id, "name", id, "url",
                          (const char *)sqlite3_column_text(st, 4), "fingerprint",
                          (const char *)sqlite3_column_text(st, 1), "not_after",
                          (json_int_t)not_after, "status", status);
    json_array_append_new(a, o ? o : json_null());
  }
  sqlite3_finalize(st);
  tg_db_close(db);
  if (a == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  *out = a;
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
