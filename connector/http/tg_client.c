/* tg_client: the node's outgoing HTTP(S) client. libcurl's multi interface is
 * driven by the worker's libuv loop (one uv_poll_t per socket curl watches, one
 * uv_timer_t for curl's timeout), so nothing blocks the loop. Work that curl
 * forbids inside its callbacks (removing or adding handles, unpausing) is
 * deferred to a zero-delay timer. Also the blocking tg_client_fetch for CLIs. */
#include "tg_client.h"

#include "tg_buf.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_tls.h"
#include "tg_util.h"

#include <curl/curl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TG__DEF_TIMEOUT_MS 30000u
#define TG__DEF_CONNECT_MS 5000u
#define TG__MAX_HOST_CONNS 64 /* per origin and worker: as many as a loaded data path
                               * keeps busy (8 held the two-node path at ~0.75x); more wait */
#define TG__MAX_CONNS 256     /* connections kept for reuse: several busy origins */
#define TG__MAX_HEADER_LINES 256

#define TG__CONTAINER(p, type, field) ((type *)(void *)((char *)(p)-offsetof(type, field)))

/* One socket curl asked us to watch. Freed in its close callback. */
struct tg__sock {
  uv_poll_t poll;
  struct tg_client *c;
  curl_socket_t fd;
  int closing;
  int ours;   /* opened by client_open_fn: closed through client_close_fn */
  int parked; /* curl let go of it between transfers: see client_socket_fn */
  int ev;     /* the events it is polled for (0: stopped) */
  struct tg__sock *prev, *next;
};

/* What the client knows of a file descriptor number. */
struct tg__slot {
  struct tg__sock *sock; /* its poll handle, or NULL */
  int ours;              /* a connection socket curl opened through client_open_fn */
};

struct tg_client {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer; /* curl's timeout */
  uv_timer_t defer; /* work that must not run inside a curl call */
  char *ca_file, *cert_file, *key_file, *crl_file; /* from malloc, or NULL */
  char *peer_node_id;                              /* from malloc, or NULL */
  struct tg_client_req *reqs;                      /* every live request */
  struct tg__sock *socks;                          /* every open poll handle */
  struct tg__slot *slots;                          /* by descriptor; from malloc */
  size_t nslots;
  CURL *idle_easy[64]; /* easy handles of ended transfers, reset, for the next ones */
  int nidle_easy;
  int open_handles; /* uv handles not closed yet; the client is freed at 0 */
  int in_curl;      /* depth of our calls into curl (its callbacks may run) */
  int freeing;      /* tg_client_free was called */
  int torn_down;    /* requests, multi and handles released or closing */
};

struct tg_client_req {
  struct tg_client *c; /* NULL for tg_client_fetch */
  CURL *easy;
  struct curl_slist *hdrs;
  struct tg_client_cb cb;
  void *ud;
  struct tg_client_req *prev, *next;
  char **head; /* header lines of the response being read; from malloc */
  size_t nhead, cap_head;
  int status;
  int head_done;
  int in_multi, want_add, want_resume, canceled, finished, nobody;
  int abort_rc; /* set when a callback stopped the transfer */
  char abort_msg[256];
  size_t skip;       /* bytes curl will deliver again after a pause */
  uint64_t received; /* body bytes handed on */
  size_t max_response;
  uint64_t timeout_ms;
  char what[200]; /* "METHOD url-without-query" for messages */
  char *pin;      /* the node id the server must be; from malloc, or NULL */
  void (*on_peer)(void *ud, const struct tg_client_peer *peer);
  void (*on_trailer)(void *ud, const char *line, size_t len);
  int ntrailers; /* trailer lines seen */
  char errbuf[CURL_ERROR_SIZE];
};

static void client_check_done(struct tg_client *c);
static void client_after_curl(struct tg_client *c);
static void client_defer_cb(uv_timer_t *t);

/* ---------- requests: callbacks from curl ---------- */

static int req_dead(const struct tg_client_req *r) {
  return r->canceled || (r->c != NULL && r->c->freeing);
}

static void req_abort(struct tg_client_req *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void req_abort(struct tg_client_req *r, int rc, const char *fmt, ...) {
  if (r->abort_rc != 0)
    return;
  r->abort_rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->abort_msg, sizeof(r->abort_msg), fmt, ap);
  va_end(ap);
}

static void req_head_clear(struct tg_client_req *r) {
  for (size_t i = 0; i < r->nhead; i++)
    free(r->head[i]);
  r->nhead = 0;
}

static int req_head_push(struct tg_client_req *r, const char *p, size_t n) {
  if (r->nhead + 2 > r->cap_head) {
    size_t cap = r->cap_head ? r->cap_head * 2 : 16;
    char **h = realloc(r->head, cap * sizeof(*h));
    if (h == NULL)
      return TG_ENOMEM;
    r->head = h;
    r->cap_head = cap;
  }
  char *s = malloc(n + 1);
  if (s == NULL)
    return TG_ENOMEM;
  memcpy(s, p, n);
  s[n] = '\0';
  r->head[r->nhead++] = s;
  return 0;
}

/* The blank line ending a header block: a final status hands the headers on. */
static size_t req_head_end(struct tg_client_req *r, size_t total) {
  long code = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 100 && code < 200) { /* interim response: the real one follows */
    req_head_clear(r);
    return total;
  }
  r->status = (int)code;
  r->head_done = 1;
  int rc = 0;
  if (r->cb.on_head != NULL) {
    r->head[r->nhead] = NULL; /* req_head_push keeps room for it */
    rc = r->cb.on_head(r->ud, r->status, (const char *const *)r->head);
  }
  req_head_clear(r);
  if (rc < 0) {
    req_abort(r, rc, "response (status %d) rejected: %s", r->status, tg_strerror(rc));
    return 0;
  }
  return req_dead(r) ? 0 : total;
}

static size_t req_header_cb(char *p, size_t size, size_t nmemb, void *ud) {
  struct tg_client_req *r = ud;
  size_t total = size * nmemb, n = total;
  if (req_dead(r))
    return 0;
  if (r->head_done) { /* trailers: handed on when asked for, bounded like headers */
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
      n--;
    if (r->on_trailer != NULL && n > 0 && n <= 2048 && r->ntrailers++ < TG__MAX_HEADER_LINES)
      r->on_trailer(r->ud, p, n);
    return total;
  }
  while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
    n--;
  if (n == 0)
    return req_head_end(r, total);
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* status line: a new block */
    req_head_clear(r);
    return total;
  }
  if (r->nhead >= TG__MAX_HEADER_LINES) {
    req_abort(r, TG_EPROTO, "more than %d response header lines", TG__MAX_HEADER_LINES);
    return 0;
  }
  if (req_head_push(r, p, n) != 0) {
    req_abort(r, TG_ENOMEM, "out of memory storing response headers");
    return 0;
  }
  return total;
}

/* On TG_EAGAIN the span counts as consumed, yet curl keeps it and delivers it
 * again after the unpause: r->skip drops those bytes then. */
static size_t req_write_cb(char *p, size_t size, size_t nmemb, void *ud) {
  struct tg_client_req *r = ud;
  size_t total = size * nmemb, len = total;
  if (req_dead(r))
    return 0;
  if (r->skip > 0) {
    size_t k = r->skip < len ? r->skip : len;
    r->skip -= k;
    p += k;
    len -= k;
    if (len == 0)
      return total;
  }
  if (r->max_response > 0 && r->received + len > r->max_response) {
    req_abort(r, TG_ETOOBIG, "response body over the limit of %zu bytes", r->max_response);
    return 0;
  }
  r->received += len;
  if (r->cb.on_data == NULL)
    return total;
  int rc = r->cb.on_data(r->ud, p, len);
  if (rc == TG_EAGAIN) {
    if (req_dead(r))
      return 0;
    r->skip = total;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (rc < 0) {
    req_abort(r, rc, "response body rejected: %s", tg_strerror(rc));
    return 0;
  }
  return req_dead(r) ? 0 : total;
}

static size_t req_read_cb(char *buf, size_t size, size_t nmemb, void *ud) {
  struct tg_client_req *r = ud;
  size_t n = size * nmemb;
  if (req_dead(r))
    return CURL_READFUNC_ABORT;
  long got = r->cb.read_body(r->ud, buf, n);
  if (got == TG_EAGAIN)
    return req_dead(r) ? CURL_READFUNC_ABORT : CURL_READFUNC_PAUSE;
  if (got < 0) {
    req_abort(r, (int)got, "request body failed: %s", tg_strerror((int)got));
    return CURL_READFUNC_ABORT;
  }
  if ((size_t)got > n) {
    req_abort(r, TG_EINVAL, "read_body returned %ld bytes for a %zu-byte buffer", got, n);
    return CURL_READFUNC_ABORT;
  }
  return req_dead(r) ? CURL_READFUNC_ABORT : (size_t)got;
}

/* ---------- requests: setup, result, release ---------- */

static int has_header(const char *const *h, const char *name) {
  size_t n = strlen(name);
  for (; h != NULL && *h != NULL; h++)
    if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
      return 1;
  return 0;
}

static int method_valid(const char *m) {
  size_t n = strlen(m);
  if (n == 0 || n > 16)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((m[i] >= 'A' && m[i] <= 'Z') || m[i] == '-' || m[i] == '_'))
      return 0;
  return 1;
}

static int url_valid(const char *u) {
  return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

static int hdr_add(struct tg_client_req *r, const char *h) {
  struct curl_slist *l = curl_slist_append(r->hdrs, h);
  if (l == NULL)
    return TG_ENOMEM;
  r->hdrs = l;
  return 0;
}

/* The request headers: the caller's, minus what curl would add on its own. */
static int req_headers(struct tg_client_req *r, const struct tg_client_opts *o, int has_body) {
  for (const char *const *h = o->headers; h != NULL && *h != NULL; h++)
    if (hdr_add(r, *h) != 0)
      return TG_ENOMEM;
  if (!has_header(o->headers, "Expect") && hdr_add(r, "Expect:") != 0)
    return TG_ENOMEM; /* no 100-continue round trip */
  if (has_body && !has_header(o->headers, "Content-Type") && hdr_add(r, "Content-Type:") != 0)
    return TG_ENOMEM; /* not curl's form-urlencoded guess */
  if (o->stream_body && !has_header(o->headers, "Transfer-Encoding") &&
      hdr_add(r, "Transfer-Encoding: chunked") != 0)
    return TG_ENOMEM;
  return 0;
}

#define SETOPT(opt, val)                                                                        \
  do {                                                                                          \
    CURLcode cc_ = curl_easy_setopt(e, opt, val);                                               \
    if (cc_ != CURLE_OK)                                                                        \
      return tg_err_set(err, cc_ == CURLE_OUT_OF_MEMORY ? TG_ENOMEM : TG_EUNSUP,                \
                        "libcurl refused %s: %s", #opt, curl_easy_strerror(cc_));               \
  } while (0)

int tg_client_url_safe(const char *url, int refuse_userinfo) {
  CURLU *h = curl_url();
  char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
  int ok = 0;
  if (h != NULL && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      (!refuse_userinfo ||
       (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
        curl_url_get(h, CURLUPART_PASSWORD, &pass, 0) == CURLUE_NO_PASSWORD))) {
    if (strcmp(scheme, "https") == 0)
      ok = host[0] != '\0';
    else if (strcmp(scheme, "http") == 0)
      ok = strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
           strcmp(host, "localhost") == 0;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(user);
  curl_free(pass);
  curl_url_cleanup(h);
  return ok;
}

/* Copies S (without the brackets of an IPv6 literal when UNBRACKET) into
 * OUT (size N). */
static int url_part_copy(const char *s, int unbracket, char *out, size_t n) {
  size_t l = strlen(s);
  if (unbracket && l >= 2 && s[0] == '[' && s[l - 1] == ']') {
    s++;
    l -= 2;
  }
  if (l == 0)
    return TG_EINVAL;
  if (l >= n)
    return TG_ETOOBIG;
  memcpy(out, s, l);
  out[l] = '\0';
  return 0;
}

int tg_client_url_split(const char *url, const char *scheme, char *host, size_t hn, char *port,
                        size_t pn) {
  CURLU *h = curl_url();
  char *sc = NULL, *ho = NULL, *po = NULL;
  int rc = TG_EINVAL;
  if (h != NULL && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_SCHEME, &sc, 0) == CURLUE_OK && strcmp(sc, scheme) == 0 &&
      curl_url_get(h, CURLUPART_HOST, &ho, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_PORT, &po, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    rc = url_part_copy(ho, 1, host, hn);
    rc = rc ? rc : url_part_copy(po, 0, port, pn);
  }
  curl_free(sc);
  curl_free(ho);
  curl_free(po);
  curl_url_cleanup(h);
  return rc;
}

/* A certificate's facts, computed once and kept on the certificate object
 * itself (X509 ex_data, freed with it): a reused connection's requests do
 * not digest and parse the same certificate again (that was 6% of a
 * forwarding node's CPU). */
static int peer_facts_idx = -1;
static pthread_once_t peer_facts_once = PTHREAD_ONCE_INIT;

static void peer_facts_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp) {
  (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
  free(ptr);
}

static void peer_facts_init(void) {
  peer_facts_idx = X509_get_ex_new_index(0, NULL, NULL, NULL, peer_facts_free);
}

/* What the server's certificate on R's connection says into P; 0, or
 * TG_EPEER when the connection is not TLS or shows no certificate. */
static int req_peer_facts(struct tg_client_req *r, struct tg_client_peer *p) {
  struct curl_tlssessioninfo *ti = NULL;
  memset(p, 0, sizeof(*p));
  if (curl_easy_getinfo(r->easy, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || ti == NULL ||
      ti->backend != CURLSSLBACKEND_OPENSSL || ti->internals == NULL)
    return TG_EPEER;
  X509 *x = SSL_get0_peer_certificate((SSL *)ti->internals);
  if (x == NULL)
    return TG_EPEER;
  pthread_once(&peer_facts_once, peer_facts_init);
  const struct tg_client_peer *known =
      peer_facts_idx >= 0 ? X509_get_ex_data(x, peer_facts_idx) : NULL;
  if (known != NULL) {
    *p = *known;
    return 0;
  }
  unsigned char md[32];
  unsigned int mdlen = sizeof(md);
  if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == sizeof(md))
    tg_hex(md, sizeof(md), p->fingerprint);
  BIGNUM *sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  char *hex = sn != NULL ? BN_bn2hex(sn) : NULL;
  if (hex != NULL && strlen(hex) < sizeof(p->serial))
    memcpy(p->serial, hex, strlen(hex) + 1);
  OPENSSL_free(hex);
  BN_free(sn);
  struct tm tm;
  const ASN1_TIME *na = X509_get0_notAfter(x);
  if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1)
    p->not_after = (int64_t)timegm(&tm);
  if (tg_cert_node_id(x, p->node_id, sizeof(p->node_id)) != 0)
    p->node_id[0] = '\0';
  struct tg_client_peer *keep = peer_facts_idx >= 0 ? malloc(sizeof(*keep)) : NULL;
  if (keep != NULL) {
    *keep = *p;
    if (X509_set_ex_data(x, peer_facts_idx, keep) != 1)
      free(keep);
  }
  return 0;
}

/* CURLOPT_PREREQFUNCTION: the connection (new or reused) is up and the
 * request not sent yet. The node id is checked here rather than during the
 * handshake so that a reused connection or a resumed session, verified for
 * another request, is held to this request's pin too. */
static int req_prereq_cb(void *ud, char *primary_ip, char *local_ip, int primary_port,
                         int local_port) {
  struct tg_client_req *r = ud;
  struct tg_client_peer p;
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  if (req_dead(r))
    return CURL_PREREQFUNC_ABORT;
  int seen = req_peer_facts(r, &p) == 0;
  if (seen && r->on_peer != NULL) {
    r->on_peer(r->ud, &p);
    if (req_dead(r))
      return CURL_PREREQFUNC_ABORT;
  }
  if (r->pin == NULL)
    return CURL_PREREQFUNC_OK;
  if (!seen) {
    req_abort(r, TG_EPEER, "certificate verification failure: no server certificate to check "
                           "against node '%s'", r->pin);
    return CURL_PREREQFUNC_ABORT;
  }
  if (strcmp(p.node_id, r->pin) != 0) {
    req_abort(r, TG_EPEER,
              "certificate verification failure: the server's certificate is node '%s', "
              "not '%s'", p.node_id[0] ? p.node_id : "(none)", r->pin);
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

static int req_setopt_tls(CURL *e, const struct tg_client_tls *tls, struct tg_err *err) {
  SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  if (tls == NULL)
    return 0;
  if (tls->ca_file != NULL) { /* only the federation's anchors, not also the system's */
    SETOPT(CURLOPT_CAINFO, tls->ca_file);
    SETOPT(CURLOPT_CAPATH, (char *)NULL);
  }
  if (tls->cert_file != NULL) {
    SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
    SETOPT(CURLOPT_SSLCERT, tls->cert_file);
  }
  if (tls->key_file != NULL) {
    SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
    SETOPT(CURLOPT_SSLKEY, tls->key_file);
  }
  if (tls->crl_file != NULL)
    SETOPT(CURLOPT_CRLFILE, tls->crl_file);
  return 0;
}

/* The node id pin, the peer callback and a fresh connection, as asked. */
static int req_setopt_peer(struct tg_client_req *r, const struct tg_client_opts *o,
                           struct tg_err *err) {
  CURL *e = r->easy;
  r->on_peer = o->on_peer;
  r->on_trailer = o->on_trailer;
  if (r->pin != NULL || r->on_peer != NULL) {
    SETOPT(CURLOPT_PREREQFUNCTION, req_prereq_cb);
    SETOPT(CURLOPT_PREREQDATA, (void *)r);
  }
  if (o->fresh_connection) {
    SETOPT(CURLOPT_FRESH_CONNECT, 1L);
    SETOPT(CURLOPT_FORBID_REUSE, 1L);
    SETOPT(CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
  return 0;
}

static int req_setopt_method(struct tg_client_req *r, const struct tg_client_opts *o,
                             const char *m, struct tg_err *err) {
  CURL *e = r->easy;
  if (strcmp(m, "HEAD") == 0) {
    r->nobody = 1;
    SETOPT(CURLOPT_NOBODY, 1L);
  } else if (o->stream_body) {
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    SETOPT(CURLOPT_READFUNCTION, req_read_cb);
    SETOPT(CURLOPT_READDATA, r);
  } else if (o->body != NULL || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
    /* POST and PUT without a body send an empty one (Content-Length: 0);
     * without this curl would fall back to GET. */
    SETOPT(CURLOPT_POST, 1L);
    /* Copied: a request canceled from inside a curl callback is only
     * detached later, and curl could still read a borrowed body then. */
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(o->body ? o->body_len : 0));
    SETOPT(CURLOPT_COPYPOSTFIELDS, o->body ? o->body : "");
  } else if (strcmp(m, "GET") == 0) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  }
  /* With a body curl would say POST: other methods are named explicitly. */
  int has_body = o->stream_body || o->body != NULL || strcmp(m, "PUT") == 0;
  if (strcmp(m, "POST") != 0 && (has_body || (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)))
    SETOPT(CURLOPT_CUSTOMREQUEST, m);
  return 0;
}

static void sock_close(struct tg__sock *s);

/* Makes C's table of descriptors hold FD. */
static int slots_reserve(struct tg_client *c, curl_socket_t fd) {
  if (fd < 0 || (size_t)fd < c->nslots)
    return 0;
  size_t n = c->nslots ? c->nslots : 64;
  while (n <= (size_t)fd)
    n *= 2;
  struct tg__slot *ns = realloc(c->slots, n * sizeof(*ns));
  if (ns == NULL)
    return -1;
  memset(ns + c->nslots, 0, (n - c->nslots) * sizeof(*ns));
  c->slots = ns;
  c->nslots = n;
  return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: a connection's socket, marked as one that
 * client_close_fn will see closed (so that its poll handle may outlive a
 * transfer: client_socket_fn). */
static curl_socket_t client_open_fn(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  struct tg_client *c = clientp;
  (void)purpose;
  int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (fd < 0)
    return CURL_SOCKET_BAD;
  if (slots_reserve(c, fd) != 0) {
    close(fd);
    return CURL_SOCKET_BAD;
  }
  if (c->slots[fd].sock != NULL) /* its descriptor was closed behind our back */
    sock_close(c->slots[fd].sock);
  c->slots[fd].ours = 1;
  return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the socket's poll handle is closed (out of the
 * loop's epoll set) before the descriptor is. */
static int client_close_fn(void *clientp, curl_socket_t fd) {
  struct tg_client *c = clientp;
  if (fd >= 0 && (size_t)fd < c->nslots) {
    if (c->slots[fd].sock != NULL)
      sock_close(c->slots[fd].sock);
    c->slots[fd].ours = 0;
  }
  return close(fd);
}

static long ms_long(uint64_t ms) { return ms > (uint64_t)LONG_MAX ? LONG_MAX : (long)ms; }

static int req_setopt_all(struct tg_client_req *r, const struct tg_client_tls *tls,
                          const struct tg_client_opts *o, const char *m, struct tg_err *err) {
  CURL *e = r->easy;
  SETOPT(CURLOPT_URL, o->url);
  SETOPT(CURLOPT_PRIVATE, (void *)r);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SETOPT(CURLOPT_TIMEOUT_MS, ms_long(r->timeout_ms));
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
         ms_long(o->connect_timeout_ms ? o->connect_timeout_ms : TG__DEF_CONNECT_MS));
  SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
  SETOPT(CURLOPT_HEADERFUNCTION, req_header_cb);
  SETOPT(CURLOPT_HEADERDATA, (void *)r);
  SETOPT(CURLOPT_WRITEFUNCTION, req_write_cb);
  SETOPT(CURLOPT_WRITEDATA, (void *)r);
  SETOPT(CURLOPT_HTTPHEADER, r->hdrs);
  if (r->c != NULL) {
    SETOPT(CURLOPT_OPENSOCKETFUNCTION, client_open_fn);
    SETOPT(CURLOPT_OPENSOCKETDATA, (void *)r->c);
    SETOPT(CURLOPT_CLOSESOCKETFUNCTION, client_close_fn);
    SETOPT(CURLOPT_CLOSESOCKETDATA, (void *)r->c);
  }
  int rc = req_setopt_tls(e, tls, err);
  rc = rc ? rc : req_setopt_peer(r, o, err);
  return rc ? rc : req_setopt_method(r, o, m, err);
}

/* Prepares R (zeroed by the caller, callbacks set) and its easy handle for O. */
static int req_setup(struct tg_client_req *r, const struct tg_client_tls *tls,
                     const struct tg_client_opts *o, struct tg_err *err) {
  if (o == NULL || o->url == NULL || !url_valid(o->url))
    return tg_err_set(err, TG_EINVAL, "client request: URL must be http:// or https://");
  const char *m = o->method ? o->method : "GET";
  if (!method_valid(m))
    return tg_err_set(err, TG_EINVAL, "client request: bad method \"%.20s\"", m);
  if (o->stream_body && r->cb.read_body == NULL)
    return tg_err_set(err, TG_EINVAL, "client request: stream_body without read_body");
  if (strcmp(m, "HEAD") == 0 && (o->stream_body || o->body != NULL))
    return tg_err_set(err, TG_EINVAL, "client request: HEAD with a body");
  size_t ul = strcspn(o->url, "?#");
  snprintf(r->what, sizeof(r->what), "%s %.*s", m, (int)(ul < 160 ? ul : 160), o->url);
  r->max_response = o->max_response;
  r->timeout_ms = o->timeout_ms ? o->timeout_ms : TG__DEF_TIMEOUT_MS;
  if (req_headers(r, o, o->stream_body || o->body != NULL) != 0)
    return tg_err_set(err, TG_ENOMEM, "%s: out of memory", r->what);
  const char *pin = o->peer_node_id ? o->peer_node_id : tls ? tls->peer_node_id : NULL;
  if (pin != NULL && (r->pin = strdup(pin)) == NULL)
    return tg_err_set(err, TG_ENOMEM, "%s: out of memory", r->what);
  /* A client's ended transfers leave their easy handles, reset: curl's
   * documentation recommends reusing them, and init and cleanup were a few
   * percent of a proxied request's CPU. */
  r->easy = r->c != NULL && r->c->nidle_easy > 0 ? r->c->idle_easy[--r->c->nidle_easy]
                                                  : curl_easy_init();
  if (r->easy == NULL)
    return tg_err_set(err, TG_ENOMEM, "%s: curl_easy_init failed", r->what);
  return req_setopt_all(r, tls, o, m, err);
}

static int curl_code_to_tg(CURLcode res) {
  switch (res) {
  case CURLE_OPERATION_TIMEDOUT:
    return TG_ETIMEDOUT;
  case CURLE_OUT_OF_MEMORY:
    return TG_ENOMEM;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_BAD_FUNCTION_ARGUMENT:
    return TG_EINVAL;
  case CURLE_FILESIZE_EXCEEDED:
    return TG_ETOOBIG;
  case CURLE_SSL_CERTPROBLEM: /* our own TLS material is unusable */
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
    return TG_ECRYPTO;
  case CURLE_ABORTED_BY_CALLBACK:
  case CURLE_WRITE_ERROR:
  case CURLE_READ_ERROR:
    return TG_EIO;
  default: /* connect, TLS handshake or verification, send, recv, cut body */
    return TG_EPEER;
  }
}

/* Maps the outcome of R's transfer (RES) to 0 or a TG_E* code, with ERR set. */
static int req_result(struct tg_client_req *r, CURLcode res, struct tg_err *err) {
  if (r->abort_rc != 0)
    return tg_err_set(err, r->abort_rc, "%s: %s", r->what, r->abort_msg);
  if (res == CURLE_OK) {
    curl_off_t cl = -1;
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (!r->nobody && cl >= 0 && r->status != 204 && r->status != 304 &&
        (uint64_t)cl != r->received)
      return tg_err_set(err, TG_EPEER, "%s: body cut short (%llu of %lld bytes)", r->what,
                        (unsigned long long)r->received, (long long)cl);
    tg_err_clear(err);
    return 0;
  }
  int rc = curl_code_to_tg(res);
  const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
  if (rc == TG_ETIMEDOUT)
    return tg_err_set(err, rc, "%s: deadline of %llu ms passed (%s)", r->what,
                      (unsigned long long)r->timeout_ms, detail);
  return tg_err_set(err, rc, "%s: %s", r->what, detail);
}

static int req_final_status(struct tg_client_req *r) {
  long code = 0;
  if (r->status == 0 && r->easy != NULL)
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  return r->status ? r->status : (int)code;
}

/* Releases what R holds, not R itself. */
static void req_release(struct tg_client_req *r) {
  struct tg_client *c = r->c;
  if (r->easy != NULL && c != NULL && !c->torn_down && !r->in_multi &&
      c->nidle_easy < (int)(sizeof(c->idle_easy) / sizeof(c->idle_easy[0]))) {
    curl_easy_reset(r->easy);
    c->idle_easy[c->nidle_easy++] = r->easy;
  } else if (r->easy != NULL) {
    curl_easy_cleanup(r->easy);
  }
  r->easy = NULL;
  curl_slist_free_all(r->hdrs);
  r->hdrs = NULL;
  req_head_clear(r);
  free(r->head);
  r->head = NULL;
  free(r->pin);
  r->pin = NULL;
}

/* ---------- requests on a client ---------- */

static void req_link(struct tg_client_req *r) {
  struct tg_client *c = r->c;
  r->prev = NULL;
  r->next = c->reqs;
  if (c->reqs != NULL)
    c->reqs->prev = r;
  c->reqs = r;
}

static void req_unlink(struct tg_client_req *r) {
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    r->c->reqs = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

static void req_detach(struct tg_client_req *r) {
  if (r->in_multi) {
    curl_multi_remove_handle(r->c->multi, r->easy);
    ERR_clear_error(); /* see client_drive */
  }
  r->in_multi = 0;
}

/* Drops R without a callback (canceled, or the client goes away). */
static void req_reap(struct tg_client_req *r) {
  req_unlink(r);
  req_detach(r);
  req_release(r);
  free(r);
}

/* Ends R with RC and calls its DONE callback; R is freed afterwards. */
static void req_complete(struct tg_client_req *r, int rc, const struct tg_err *e) {
  int status = req_final_status(r);
  req_unlink(r);
  req_detach(r);
  r->finished = 1; /* a cancel from inside DONE is a no-op */
  if (r->cb.on_done != NULL)
    r->cb.on_done(r->ud, rc, status, e);
  req_release(r);
  free(r);
}

static int req_attach(struct tg_client_req *r, struct tg_err *err) {
  CURLMcode mc = curl_multi_add_handle(r->c->multi, r->easy);
  if (mc != CURLM_OK)
    return tg_err_set(err, mc == CURLM_OUT_OF_MEMORY ? TG_ENOMEM : TG_EINVAL, "%s: %s",
                      r->what, curl_multi_strerror(mc));
  r->in_multi = 1;
  return 0;
}

/* ---------- the client: libuv handles driving curl ---------- */

static void client_maybe_free(struct tg_client *c) {
  if (!c->torn_down || c->open_handles > 0)
    return;
  free(c->ca_file);
  free(c->cert_file);
  free(c->key_file);
  free(c->crl_file);
  free(c->peer_node_id);
  free(c->slots);
  free(c);
  curl_global_cleanup();
}

static void client_handle_closed(uv_handle_t *h) {
  struct tg_client *c = h->data;
  c->open_handles--;
  client_maybe_free(c);
}

static void sock_closed(uv_handle_t *h) {
  struct tg__sock *s = TG__CONTAINER(h, struct tg__sock, poll);
  struct tg_client *c = s->c;
  free(s);
  c->open_handles--;
  client_maybe_free(c);
}

static void sock_close(struct tg__sock *s) {
  struct tg_client *c = s->c;
  if (s->closing)
    return;
  s->closing = 1;
  if ((size_t)s->fd < c->nslots && c->slots[s->fd].sock == s)
    c->slots[s->fd].sock = NULL;
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    c->socks = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  uv_close((uv_handle_t *)&s->poll, sock_closed);
}

/* Calls into curl for socket FD (or the timeout) and then handles what ended. */
static void client_drive(struct tg_client *c, curl_socket_t fd, int flags) {
  int running = 0;
  if (c->torn_down)
    return;
  c->in_curl++;
  curl_multi_socket_action(c->multi, fd, flags, &running);
  /* Nothing of curl's on this thread's OpenSSL error queue: libcurl (7.88)
   * leaves "shutdown while in init" there when it closes a connection whose
   * handshake failed, and the queue is shared with the worker's server
   * connections (tg_conn.c) and every other OpenSSL user on the thread, whose
   * SSL_get_error and error messages would report it as theirs. */
  ERR_clear_error();
  c->in_curl--;
  client_after_curl(c);
}

static void sock_poll_cb(uv_poll_t *p, int status, int events);

/* Polls S for EV (UV_READABLE, UV_WRITABLE; 0 stops). libuv's uv_poll_start
 * takes the descriptor out of epoll and puts it back even when the events
 * are the same (two epoll_ctl calls): for a socket of ours it is called only
 * for a change. Other sockets (the resolver's) keep the old behaviour. */
static int sock_poll(struct tg__sock *s, int ev) {
  if (s->ours && ev == s->ev)
    return 0;
  int rc = ev == 0 ? uv_poll_stop(&s->poll) : uv_poll_start(&s->poll, ev, sock_poll_cb);
  s->ev = rc == 0 ? ev : 0;
  if (rc != 0)
    uv_poll_stop(&s->poll);
  return rc;
}

static void sock_poll_cb(uv_poll_t *p, int status, int events) {
  struct tg__sock *s = TG__CONTAINER(p, struct tg__sock, poll);
  if (s->parked) {
    /* An idle pooled connection became readable: its server closed it.
     * curl finds that out when it next looks at the connection. */
    uv_poll_stop(p);
    s->ev = 0;
    return;
  }
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
    s->ev = 0; /* libuv stopped the poll: the next sock_poll starts it */
  }
  if (events & (UV_READABLE | UV_DISCONNECT))
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  client_drive(s->c, s->fd, flags);
}

/* Whether FD is the socket of the connection EASY's transfer left in curl's
 * pool. A socket curl stops watching is not always open: libcurl (7.88)
 * closes a socket whose connect had not finished without the close
 * callback, and only then tells us to stop watching it. Watching it on (or
 * polling it again) would hand libuv a closed descriptor, and libuv aborts
 * the process when epoll_ctl fails. */
static int conn_kept(CURL *easy, curl_socket_t fd) {
  curl_socket_t live = CURL_SOCKET_BAD;
  return easy != NULL && curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &live) == CURLE_OK &&
         live == fd;
}

/* CURLMOPT_SOCKETFUNCTION: watch FD for what curl wants. */
static int client_socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp) {
  struct tg_client *c = userp;
  struct tg__sock *s = sockp;
  if (c->torn_down)
    return 0;
  struct tg__slot *slot = fd >= 0 && (size_t)fd < c->nslots ? &c->slots[fd] : NULL;
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      curl_multi_assign(c->multi, fd, NULL);
      /* A connection socket curl keeps for the next transfer stays in the
       * loop, watched for its server closing it; taking it out and adding it
       * again cost two epoll_ctl calls per request through a pooled
       * connection. client_close_fn closes the handle before curl closes the
       * socket. Other sockets (the resolver's) curl may close without
       * calling client_close_fn: their handles go now. */
      if (s->ours && slot != NULL && slot->sock == s && !s->closing && conn_kept(easy, fd)) {
        s->parked = 1;
        if (s->ev != 0 && s->ev != UV_READABLE && sock_poll(s, UV_READABLE) != 0)
          sock_poll(s, 0);
      } else {
        sock_close(s);
      }
    }
    return 0;
  }
  if (s == NULL && slot != NULL && slot->sock != NULL && slot->sock->parked) {
    s = slot->sock; /* kept since its last transfer */
    s->parked = 0;
    curl_multi_assign(c->multi, fd, s);
  }
  if (s == NULL) {
    if (slots_reserve(c, fd) != 0)
      return -1;
    slot = fd >= 0 ? &c->slots[fd] : NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
      return -1;
    if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    s->c = c;
    s->fd = fd;
    s->next = c->socks;
    if (c->socks != NULL)
      c->socks->prev = s;
    c->socks = s;
    c->open_handles++;
    if (slot != NULL) {
      slot->sock = s;
      s->ours = slot->ours;
    }
    curl_multi_assign(c->multi, fd, s);
  }
  if (s->closing)
    return 0;
  int ev = 0;
  if (what & CURL_POLL_IN)
    ev |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    ev |= UV_WRITABLE;
  return sock_poll(s, ev) == 0 ? 0 : -1;
}

static void client_timer_cb(uv_timer_t *t) {
  client_drive(TG__CONTAINER(t, struct tg_client, timer), CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: (re)arm or stop the one timer. */
static int client_timer_fn(CURLM *multi, long timeout_ms, void *userp) {
  struct tg_client *c = userp;
  (void)multi;
  if (c->torn_down)
    return 0;
  if (timeout_ms < 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, client_timer_cb, (uint64_t)timeout_ms, 0);
  return 0;
}

static void client_teardown(struct tg_client *c) {
  c->torn_down = 1;
  while (c->reqs != NULL)
    req_reap(c->reqs);
  while (c->socks != NULL) {
    curl_multi_assign(c->multi, c->socks->fd, NULL);
    sock_close(c->socks);
  }
  while (c->nidle_easy > 0)
    curl_easy_cleanup(c->idle_easy[--c->nidle_easy]);
  curl_multi_cleanup(c->multi);
  ERR_clear_error(); /* see client_drive */
  c->multi = NULL;
  uv_close((uv_handle_t *)&c->timer, client_handle_closed);
  uv_close((uv_handle_t *)&c->defer, client_handle_closed);
}

/* After a call into curl has returned: finish a pending free, or hand on
 * completed transfers. */
static void client_after_curl(struct tg_client *c) {
  if (c->in_curl > 0 || c->torn_down)
    return;
  if (c->freeing) {
    client_teardown(c);
    return;
  }
  client_check_done(c);
}

static void client_check_done(struct tg_client *c) {
  CURLMsg *m;
  int left;
  while (!c->freeing && (m = curl_multi_info_read(c->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURLcode res = m->data.result;
    char *priv = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    struct tg_client_req *r = (struct tg_client_req *)(void *)priv;
    if (r->canceled) {
      req_reap(r);
      continue;
    }
    struct tg_err e;
    tg_err_clear(&e);
    int rc = req_result(r, res, &e);
    req_complete(r, rc, &e);
  }
}

static void client_schedule(struct tg_client *c) {
  if (!c->torn_down)
    uv_timer_start(&c->defer, client_defer_cb, 0, 0);
}

/* One deferred step for R; returns 1 if the request list may have changed. */
static int client_defer_req(struct tg_client *c, struct tg_client_req *r) {
  struct tg_err e;
  tg_err_clear(&e);
  if (r->canceled) {
    req_reap(r);
    return 1;
  }
  if (r->want_add) {
    r->want_add = 0;
    int rc = req_attach(r, &e);
    if (rc != 0) {
      req_complete(r, rc, &e);
      return 1;
    }
  }
  if (r->want_resume) {
    r->want_resume = 0;
    if (!r->in_multi)
      return 0;
    c->in_curl++;
    CURLcode cc = curl_easy_pause(r->easy, CURLPAUSE_CONT);
    c->in_curl--;
    if (c->freeing || r->canceled)
      return 1;
    if (cc != CURLE_OK) { /* a callback failed while curl handed on kept data */
      int rc = req_result(r, cc, &e);
      req_complete(r, rc, &e);
      return 1;
    }
  }
  return 0;
}

static void client_defer_cb(uv_timer_t *t) {
  struct tg_client *c = TG__CONTAINER(t, struct tg_client, defer);
  if (c->torn_down)
    return;
  struct tg_client_req *r = c->reqs;
  while (r != NULL && !c->freeing) {
    struct tg_client_req *next = r->next;
    if (client_defer_req(c, r))
      next = c->reqs; /* start over: steps are idempotent once done */
    r = next;
  }
  client_after_curl(c);
}

/* ---------- public API ---------- */

static int dup_opt(const char *s, char **out) {
  *out = NULL;
  if (s == NULL)
    return 0;
  *out = strdup(s);
  return *out ? 0 : TG_ENOMEM;
}

static int client_init_multi(struct tg_client *c, struct tg_err *err) {
  c->multi = curl_multi_init();
  if (c->multi == NULL)
    return tg_err_set(err, TG_ENOMEM, "curl_multi_init failed");
  CURLMcode mc = CURLM_OK;
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, client_socket_fn);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, client_timer_fn);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)TG__MAX_HOST_CONNS);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)TG__MAX_CONNS);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
  if (mc != CURLM_OK)
    return tg_err_set(err, TG_EUNSUP, "curl_multi_setopt: %s", curl_multi_strerror(mc));
  return 0;
}

int tg_client_new(uv_loop_t *loop, const struct tg_client_tls *tls, struct tg_client **out,
                  struct tg_err *err) {
  *out = NULL;
  if (loop == NULL)
    return tg_err_set(err, TG_EINVAL, "tg_client_new: no loop");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return tg_err_set(err, TG_ECRYPTO, "curl_global_init failed");
  struct tg_client *c = calloc(1, sizeof(*c));
  int rc = c ? 0 : TG_ENOMEM;
  if (rc == 0 && tls != NULL) {
    rc = dup_opt(tls->ca_file, &c->ca_file);
    rc = rc ? rc : dup_opt(tls->cert_file, &c->cert_file);
    rc = rc ? rc : dup_opt(tls->key_file, &c->key_file);
    rc = rc ? rc : dup_opt(tls->crl_file, &c->crl_file);
    rc = rc ? rc : dup_opt(tls->peer_node_id, &c->peer_node_id);
  }
  if (rc != 0)
    tg_err_set(err, rc, "tg_client_new: out of memory");
  else
    rc = client_init_multi(c, err);
  if (rc != 0) {
    if (c != NULL) {
      if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
      c->torn_down = 1;
      client_maybe_free(c);
    } else {
      curl_global_cleanup();
    }
    return rc;
  }
  c->loop = loop;
  uv_timer_init(loop, &c->timer);
  uv_timer_init(loop, &c->defer);
  c->timer.data = c;
  c->defer.data = c;
  c->open_handles = 2;
  *out = c;
  return 0;
}

void tg_client_free(struct tg_client *c) {
  if (c == NULL || c->freeing)
    return;
  c->freeing = 1;
  if (c->in_curl == 0)
    client_teardown(c);
  /* else the call into curl that is under way tears down when it returns */
}

int tg_client_busy(const struct tg_client *c) { return c->reqs != NULL; }

int tg_client_request(struct tg_client *c, const struct tg_client_opts *o,
                      const struct tg_client_cb *cb, void *ud, struct tg_client_req **out,
                      struct tg_err *err) {
  if (out != NULL)
    *out = NULL;
  if (c == NULL || c->freeing)
    return tg_err_set(err, TG_EINVAL, "client request: no client, or it is being freed");
  struct tg_client_req *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return tg_err_set(err, TG_ENOMEM, "client request: out of memory");
  r->c = c;
  if (cb != NULL)
    r->cb = *cb;
  r->ud = ud;
  const struct tg_client_tls tls = {c->ca_file, c->cert_file, c->key_file, c->crl_file,
                                    c->peer_node_id};
  int rc = req_setup(r, &tls, o, err);
  if (rc == 0 && c->in_curl > 0) {
    r->want_add = 1; /* curl refuses new handles from inside its callbacks */
    client_schedule(c);
  } else if (rc == 0) {
    rc = req_attach(r, err);
  }
  if (rc != 0) {
    req_release(r);
    free(r);
    return rc;
  }
  req_link(r);
  if (out != NULL)
    *out = r;
  return 0;
}

void tg_client_req_resume(struct tg_client_req *r) {
  if (r == NULL || r->canceled || r->finished)
    return;
  r->want_resume = 1; /* unpausing hands on kept data: never inside the caller */
  client_schedule(r->c);
}

void tg_client_req_cancel(struct tg_client_req *r) {
  if (r == NULL || r->canceled || r->finished)
    return;
  r->canceled = 1;
  if (r->c->in_curl > 0) {
    client_schedule(r->c); /* curl refuses removal from inside its callbacks */
    return;
  }
  req_reap(r);
}

static int fetch_data(void *ud, const char *data, size_t len) {
  return tg_buf_append(ud, data, len) == 0 ? 0 : TG_ENOMEM;
}

int tg_client_fetch(const struct tg_client_tls *tls, const struct tg_client_opts *o, int *status,
                    char **body, size_t *len, struct tg_err *err) {
  *status = 0;
  *body = NULL;
  if (len != NULL)
    *len = 0;
  if (o != NULL && o->stream_body)
    return tg_err_set(err, TG_EINVAL, "tg_client_fetch: streamed bodies need tg_client_request");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return tg_err_set(err, TG_ECRYPTO, "curl_global_init failed");
  struct tg_buf b;
  tg_buf_init(&b);
  struct tg_client_req r;
  memset(&r, 0, sizeof(r));
  r.cb.on_data = fetch_data;
  r.ud = &b;
  int rc = req_setup(&r, tls, o, err);
  if (rc == 0)
    rc = req_result(&r, curl_easy_perform(r.easy), err);
  *status = req_final_status(&r);
  if (rc == 0) {
    size_t n = b.len;
    *body = tg_buf_take(&b);
    if (*body == NULL)
      rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", r.what);
    else if (len != NULL)
      *len = n;
  }
  tg_buf_close(&b);
  req_release(&r);
  curl_global_cleanup();
  return rc;
}
