/* tg_conn: one HTTPS connection: TLS through the custom BIO, strict request
 * parsing, keep-alive and pipelining (answered in order), streaming with
 * back-pressure both ways, limits and timeouts. Routing, admission, metrics and
 * the access log are the application's (struct tg_http_app). */
#include "tg_err.h"
#include "tg_http.h"
#include "tg_http_parse.h"
#include "tg_log.h"
#include "tg_http_server.h"
#include "tg_text.h"
#include "tg_tls.h"
#include "tg_util.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TG_HIGH_WATER (256 * 1024) /* pending output above which handlers should wait */
#define TG_LOW_WATER (64 * 1024)   /* drain callbacks fire below this */
#define TG_IN_BACKLOG (64 * 1024)  /* unparsed plaintext above which reading stops */

struct tg_conn;

struct tg_http_req {
  struct tg_conn *conn;
  const void *route;       /* the application's, opaque (NULL: none matched) */
  int stream_body;         /* from the route's options */
  char *target;            /* from malloc(): path, NUL, query */
  const char *query;       /* into target */
  const char *rest;        /* into target */
  char method[16];
  struct tg_buf body;      /* buffered request body */
  struct tg_buf reshdr;    /* extra response header lines */
  struct tg_buf head;      /* status line and headers not yet sent */
  void *data;
  void (*on_abort)(struct tg_http_req *);
  void (*on_free)(void *);  /* with free_ud, when the request is freed */
  void *free_ud;
  tg_http_body_cb on_body;
  tg_http_handler on_end;
  tg_http_handler on_drain;
  char subject[128];
  union {
    max_align_t align;
    unsigned char b[TG_HTTP_APP_MEMO];
  } app;                   /* the application's memo (tg_http_req_app) */
  int status, res_started, res_chunked, res_done, req_done, paused, is_head, has_body;
  int trailer_sent; /* the last chunk went with a trailer (tg_http_res_end_trailer) */
  int64_t res_length; /* the Content-Length sent, or -1 */
  int early;               /* answered before the body was read */
  uint64_t limit;          /* body bytes this request may send */
  uint64_t bytes_in, bytes_out, start_ns;
  uint64_t body_start;     /* ms: when the body's rate clock (re)started */
  uint64_t body_base;      /* bytes_in then */
};

#define TG_FLUSH_AT 65536 /* queued encrypted output written at once */
/* Encrypted output is gathered in blocks of this size, kept by the worker
 * between writes: a flush at TG_FLUSH_AT plus one more 16 KiB TLS record
 * fits, and the block stays below malloc's mmap threshold. Without them the
 * buffer grew from 64 bytes by doubling on every response, and a large one
 * was mapped and unmapped (page faults) on every write. */
#define TG_OUT_BLOCK (96 * 1024)

struct tg_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  struct tg_http_worker *w;
  struct tg_conn *dirty_next; /* on w->dirty while DIRTY */
  int dirty;
  const struct tg_http_limits *st; /* reference taken at accept */
  struct tg_conn *prev, *next;
  SSL *ssl;
  struct tg_tls_io io;
  struct tg_buf eout;      /* encrypted output not yet handed to uv_write */
  struct tg_buf ein;       /* encrypted input OpenSSL has not read yet */
  struct tg_buf in;        /* plaintext not yet parsed, from in_off */
  size_t in_off;
  struct tg_http_parser hp;
  struct tg_http_req *req; /* the request being read or answered */
  size_t inflight;         /* bytes in uv_write requests */
  uint64_t head_start;     /* ms: first byte of the request being read, or 0 */
  uint64_t last_io;        /* ms: last bytes read or written (gap deadlines) */
  uint64_t accept_ms;      /* ms: accepted (the handshake's absolute deadline) */
  uint64_t idle_since;     /* ms: since when the connection waits for a request */
  uint64_t stall_start;    /* ms: since when output has waited for the client, or 0 */
  uint64_t stall_bytes;    /* bytes the client took since stall_start */
  int out_blocked;         /* parsing stopped: pending output above the high-water mark */
  int handshaken, closing, close_after_write, keep_alive, reading, in_process, again;
  int reset_close; /* an aborted answer that only the close delimits: end it by a reset */
  int corked; /* tg_http_res_cork: output waits for the answer's end */
  uint64_t cork_since; /* when it was corked: the idle timeout bounds the wait */
  int parse_more, handles_open, peer_ok, eof, in_pump;
  int linger;              /* answered early: read and drop the rest before closing */
  int has_cert;            /* the client presented a certificate */
  long cert_verify;        /* its X509 verification result */
  uint64_t cert_gen;       /* settings generation (trust store, CRL) it was checked with */
  int lingering;
  uint64_t linger_bytes, linger_start;
  uv_shutdown_t shutdown_req;
  char peer[64];
  char addr[64];
};

struct tg_wr {
  uv_write_t w;
  uv_buf_t b;  /* what is left to write, in mem */
  char *mem;   /* from malloc, or a block (cap TG_OUT_BLOCK) */
  size_t cap;  /* of mem */
  struct tg_conn *c;
};

static void conn_peer_verify(struct tg_conn *c, const struct tg_http_limits *s);
static void conn_resume_input(struct tg_conn *c);
static void conn_close(struct tg_conn *c);
static void conn_close_how(struct tg_conn *c, int reset);
static void conn_process(struct tg_conn *c);
static void conn_arm(struct tg_conn *c);
static void conn_update_reading(struct tg_conn *c);
static void conn_feed(struct tg_conn *c, const char *data, size_t len);
static void conn_flush(struct tg_conn *c);
static void req_finish(struct tg_conn *c);

/* --- per-client connection counts, shared by all workers --- */

struct tg_client_count {
  char addr[64];
  unsigned n;
  struct tg_client_count *next;
};
static pthread_mutex_t tg__cc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tg_client_count *tg__cc[1024];
static _Atomic uint64_t tg__total_conns;

static unsigned cc_hash(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h % 1024;
}

/* Adds DELTA to ADDR's count and returns the new count. */
static unsigned cc_add(const char *addr, int delta) {
  unsigned h = cc_hash(addr), n = 0;
  pthread_mutex_lock(&tg__cc_lock);
  struct tg_client_count **pp = &tg__cc[h], *e;
  while ((e = *pp) != NULL && strcmp(e->addr, addr) != 0)
    pp = &e->next;
  if (e == NULL && delta > 0 && (e = calloc(1, sizeof(*e))) != NULL) {
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    *pp = e;
  }
  if (e != NULL) {
    e->n = (unsigned)((int)e->n + delta);
    n = e->n;
    if (e->n == 0) {
      *pp = e->next;
      free(e);
    }
  }
  pthread_mutex_unlock(&tg__cc_lock);
  return n;
}

/* Closes a connection whose answer has been written. If the client may still
 * be sending a body we did not read, close lingering: send close_notify and a
 * FIN, then read and drop its bytes for a short while, so the kernel does not
 * answer them with a reset that could destroy our response in flight. */
static void conn_done(struct tg_conn *c) {
  if (c->closing)
    return;
  if (c->reset_close) {
    conn_close_how(c, 1);
    return;
  }
  if (!c->linger || c->lingering) {
    conn_close(c);
    return;
  }
  c->lingering = 1;
  c->linger_start = tg_now_ms();
  SSL_shutdown(c->ssl);
  ERR_clear_error();
  conn_flush(c);
  if (c->closing)
    return;
  uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, NULL);
  conn_update_reading(c);
  conn_arm(c);
}

/* --- output --- */

/* Output accepted but not yet taken by the kernel: encrypted and queued. */
static size_t conn_out_pending(const struct tg_conn *c) { return c->inflight + c->eout.len; }

/* Makes room in C's output for LEN more plaintext bytes: a head or a small
 * answer gets one small allocation; a large write moves the output into a
 * block, from the worker's cache if it has one. Without memory, the buffer
 * grows as it is written. */
static void out_reserve(struct tg_conn *c, size_t len) {
  struct tg_http_worker *w = c->w;
  if (c->eout.cap >= TG_OUT_BLOCK)
    return;
  if (len < 8192) {
    if (c->eout.data == NULL)
      (void)tg_buf_reserve(&c->eout, len + 2048);
    return;
  }
  char *p = w->nspare_out > 0 ? w->spare_out[--w->nspare_out] : malloc(TG_OUT_BLOCK);
  if (p == NULL)
    return;
  if (c->eout.len > 0) /* what is queued: less than the block's size */
    memcpy(p, c->eout.data, c->eout.len);
  p[c->eout.len] = '\0';
  free(c->eout.data);
  c->eout.data = p;
  c->eout.cap = TG_OUT_BLOCK;
}

/* Keeps a written block of TG_OUT_BLOCK bytes for the next output; frees
 * anything else. */
static void out_block_put(struct tg_http_worker *w, char *p, size_t cap) {
  if (cap == TG_OUT_BLOCK && w->nspare_out < (int)(sizeof(w->spare_out) / sizeof(w->spare_out[0])))
    w->spare_out[w->nspare_out++] = p;
  else
    free(p);
}

/* Empties C's output buffer, giving its memory back (out_block_put). */
static void out_release(struct tg_conn *c) {
  out_block_put(c->w, c->eout.data, c->eout.cap);
  tg_buf_init(&c->eout);
}

static void on_write(uv_write_t *w, int status) {
  struct tg_wr *wr = (struct tg_wr *)w;
  struct tg_conn *c = wr->c;
  c->inflight -= wr->b.len;
  c->stall_bytes += wr->b.len;
  if (c->inflight == 0)
    c->stall_start = 0;
  out_block_put(c->w, wr->mem, wr->cap);
  free(wr);
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  c->last_io = tg_now_ms();
  if (c->out_blocked && conn_out_pending(c) < TG_LOW_WATER) {
    /* The client caught up: parse and read again (pipelined requests). */
    c->out_blocked = 0;
    conn_resume_input(c);
    if (c->closing)
      return;
  }
  if (c->close_after_write && c->inflight == 0 && !c->lingering) {
    conn_done(c);
    return;
  }
  if (c->req && c->req->on_drain && c->inflight < TG_LOW_WATER) {
    tg_http_handler cb = c->req->on_drain;
    c->req->on_drain = NULL;
    cb(c->req);
  }
  if (!c->closing)
    conn_arm(c);
}

static void conn_flush(struct tg_conn *c) {
  if (c->closing || c->eout.len == 0 || (c->corked && c->eout.len < TG_FLUSH_AT))
    return;
  size_t len = c->eout.len, done = 0;
  c->w->app->io(0, len);
  if (c->inflight == 0) {
    /* Nothing queued: write at once. A uv_write that completes still changes
     * libuv's poll set afterwards (one epoll_ctl per answer); what the kernel
     * takes now needs no write request at all. */
    uv_buf_t b = uv_buf_init(c->eout.data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    /* An error is left to uv_write to report from the loop: a write never
     * closes the connection under the handler that called it. */
    if (n > 0) {
      done = (size_t)n;
      c->last_io = tg_now_ms();
    }
    if (done == len) {
      out_release(c);
      return;
    }
  }
  struct tg_wr *wr = malloc(sizeof(*wr));
  if (wr == NULL) {
    conn_close(c);
    return;
  }
  len -= done;
  char *copy = c->eout.cap == TG_OUT_BLOCK && len < TG_OUT_BLOCK / 3 ? malloc(len) : NULL;
  if (copy != NULL) {
    /* A queued write keeps what it holds until the client takes it: a slow
     * reader's few kilobytes must not hold a block each. */
    memcpy(copy, c->eout.data + done, len);
    out_release(c);
    wr->cap = len;
    wr->mem = copy;
    done = 0;
  } else {
    wr->cap = c->eout.cap;
    wr->mem = tg_buf_take(&c->eout);
  }
  wr->b = uv_buf_init(wr->mem + done, (unsigned)len);
  wr->c = c;
  int stall_starts = c->inflight == 0;
  if (stall_starts) {
    /* The reader's clock starts with the first bytes it has to take. */
    c->stall_start = c->last_io = tg_now_ms();
    c->stall_bytes = 0;
  }
  c->inflight += len;
  if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &wr->b, 1, on_write) != 0) {
    c->inflight -= len;
    out_block_put(c->w, wr->mem, wr->cap);
    free(wr);
    conn_close(c);
    return;
  }
  if (stall_starts)
    conn_arm(c); /* the stall deadline: on_write re-arms it as the client reads */
}

/* Output queued outside the parse loop (a handler answering from a timer or
 * a client callback) is written once per loop turn, after the I/O phase, so
 * a stream passes on what arrives when it arrives without one write per
 * TLS record. */
static void on_flush_check(uv_check_t *h) {
  struct tg_http_worker *w = h->data;
  struct tg_conn *c = w->dirty;
  w->dirty = NULL;
  uv_check_stop(h);
  while (c != NULL) {
    struct tg_conn *next = c->dirty_next;
    c->dirty = 0;
    c->dirty_next = NULL;
    if (!c->closing)
      conn_flush(c);
    c = next;
  }
}

static void conn_mark_dirty(struct tg_conn *c) {
  struct tg_http_worker *w = c->w;
  if (c->dirty)
    return;
  if (!w->flush_init) {
    uv_check_init(w->loop, &w->flush);
    w->flush.data = w;
    w->flush_init = 1;
  }
  c->dirty = 1;
  c->dirty_next = w->dirty;
  w->dirty = c;
  if (!uv_is_active((uv_handle_t *)&w->flush))
    uv_check_start(&w->flush, on_flush_check);
}

static int conn_send(struct tg_conn *c, const void *data, size_t len) {
  if (c->closing)
    return TG_EIO;
  while (len > 0) {
    /* A TLS record at a time: a large answer is written as its queue
     * fills, and the queue stays within its block. */
    out_reserve(c, len);
    int chunk = len > 16384 ? 16384 : (int)len;
    int n = SSL_write(c->ssl, data, chunk);
    if (n <= 0) {
      ERR_clear_error();
      conn_close(c);
      return TG_EIO;
    }
    data = (const char *)data + n;
    len -= (size_t)n;
    if (c->eout.len >= TG_FLUSH_AT) {
      conn_flush(c);
      if (c->closing)
        return TG_EIO;
    }
  }
  if (c->eout.len > 0 && !c->in_process)
    conn_mark_dirty(c);
  return 0;
}

/* --- the response API --- */

const char *tg_http_reason(int s) {
  switch (s) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* Writes N in decimal into OUT (at least 21 bytes); returns the length. */
static size_t fmt_u64(char *out, uint64_t n) {
  char tmp[24];
  size_t i = 0, len;
  do {
    tmp[i++] = (char)('0' + n % 10);
    n /= 10;
  } while (n > 0);
  for (len = 0; i > 0; len++)
    out[len] = tmp[--i];
  return len;
}

static const char *http_date(void) {
  static _Thread_local char buf[40];
  static _Thread_local time_t last;
  time_t now = time(NULL);
  if (now != last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    last = now;
  }
  return buf;
}

int tg_http_res_header(struct tg_http_req *req, const char *name, const char *value) {
  /* Header text must not smuggle line breaks into the response. */
  if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
    return TG_EINVAL;
  if (tg_buf_puts(&req->reshdr, name) || tg_buf_puts(&req->reshdr, ": ") ||
      tg_buf_puts(&req->reshdr, value) || tg_buf_puts(&req->reshdr, "\r\n"))
    return TG_ENOMEM;
  return 0;
}

int tg_http_res_start(struct tg_http_req *req, int status, const char *ctype, int64_t length) {
  struct tg_conn *c = req->conn;
  struct tg_buf *h = &req->head;
  if (req->res_started)
    return TG_EINVAL;
  req->res_started = 1;
  req->status = status;
  if (c->w->draining || req->early)
    c->keep_alive = 0;
  if (length < 0 && c->hp.http_minor == 0)
    c->keep_alive = 0; /* HTTP/1.0: the body ends at close */
  req->res_chunked = length < 0 && c->hp.http_minor == 1 && status != 204 && status != 304;
  req->res_length = -1;
  /* Built without printf: this runs once per response. */
  char num[24];
  tg_buf_reserve(h, 256 + req->reshdr.len);
  tg_buf_puts(h, "HTTP/1.1 ");
  tg_buf_append(h, num, fmt_u64(num, (uint64_t)status));
  tg_buf_puts(h, " ");
  tg_buf_puts(h, tg_http_reason(status));
  tg_buf_puts(h, "\r\nDate: ");
  tg_buf_puts(h, http_date());
  tg_buf_puts(h, "\r\nServer: tsunagu\r\n");
  if (ctype) {
    tg_buf_puts(h, "Content-Type: ");
    tg_buf_puts(h, ctype);
    tg_buf_puts(h, "\r\n");
  }
  if (req->res_chunked) {
    tg_buf_puts(h, "Transfer-Encoding: chunked\r\n");
  } else if (length >= 0 && status != 204 && status != 304) {
    req->res_length = length;
    tg_buf_puts(h, "Content-Length: ");
    tg_buf_append(h, num, fmt_u64(num, (uint64_t)length));
    tg_buf_puts(h, "\r\n");
  }
  if (!c->keep_alive)
    tg_buf_puts(h, "Connection: close\r\n");
  else if (c->hp.http_minor == 0)
    tg_buf_puts(h, "Connection: keep-alive\r\n");
  if (req->reshdr.len)
    tg_buf_append(h, req->reshdr.data, req->reshdr.len);
  /* Sent with the first body bytes, so a small response is one TLS record. */
  return tg_buf_puts(h, "\r\n");
}

/* Sends DATA, preceded by the response head if it is still pending. */
static int req_emit(struct tg_http_req *req, const void *data, size_t len) {
  struct tg_conn *c = req->conn;
  int rc = 0;
  if (req->head.len > 0) {
    if (req->head.len + len <= 16384) {
      tg_buf_append(&req->head, data, len);
      rc = conn_send(c, req->head.data, req->head.len);
      tg_buf_close(&req->head);
      return rc;
    }
    rc = conn_send(c, req->head.data, req->head.len);
    tg_buf_close(&req->head);
  }
  return rc == 0 && len > 0 ? conn_send(c, data, len) : rc;
}

int tg_http_res_write(struct tg_http_req *req, const void *data, size_t len) {
  if (!req->res_started || req->res_done)
    return TG_EINVAL;
  if (len == 0 || req->is_head)
    return 0;
  if (!req->res_chunked && req->res_length >= 0) {
    uint64_t want = (uint64_t)req->res_length;
    uint64_t room = req->bytes_out < want ? want - req->bytes_out : 0;
    if (len > room) {
      /* More than the Content-Length sent: the excess would be read as the
       * next answer on this connection. It is dropped, and the answer's end
       * becomes an abort (tg_http_res_end). */
      req->bytes_out = want + 1;
      return room > 0 ? req_emit(req, data, (size_t)room) : 0;
    }
  }
  req->bytes_out += len;
  if (!req->res_chunked)
    return req_emit(req, data, len);
  char sz[24];
  int n = snprintf(sz, sizeof(sz), "%zx\r\n", len);
  if (len <= 8192) {
    char frame[8192 + 32];
    memcpy(frame, sz, (size_t)n);
    memcpy(frame + n, data, len);
    memcpy(frame + n + len, "\r\n", 2);
    return req_emit(req, frame, (size_t)n + len + 2);
  }
  int rc = req_emit(req, sz, (size_t)n);
  if (rc == 0)
    rc = req_emit(req, data, len);
  if (rc == 0)
    rc = req_emit(req, "\r\n", 2);
  return rc;
}

/* A header field's name or value that may be written as is: no CR, LF or NUL. */
static int field_ok(const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);
  return n > 0 && n <= max && strcspn(s, "\r\n") == n;
}

int tg_http_res_end_trailer(struct tg_http_req *req, const char *name, const char *value) {
  if (!req->res_started || req->res_done)
    return TG_EINVAL;
  if (!req->res_chunked || req->is_head || name == NULL || value == NULL)
    return tg_http_res_end(req);
  if (!field_ok(name, 64) || strcspn(name, ": \t") != strlen(name) || !field_ok(value, 1024))
    return tg_http_res_end(req);
  char buf[1200];
  int n = snprintf(buf, sizeof(buf), "0\r\n%s: %s\r\n\r\n", name, value);
  req->trailer_sent = 1;
  req_emit(req, buf, (size_t)n);
  return tg_http_res_end(req);
}

void tg_http_res_cork(struct tg_http_req *req) {
  if (req->res_started && !req->res_done && !req->conn->corked) {
    req->conn->corked = 1;
    req->conn->cork_since = tg_now_ms();
    conn_arm(req->conn); /* an end that never comes does not hold it forever */
  }
}

int tg_http_res_end(struct tg_http_req *req) {
  struct tg_conn *c = req->conn;
  if (!req->res_started || req->res_done)
    return TG_EINVAL;
  if (req->res_length >= 0 && !req->is_head && req->bytes_out != (uint64_t)req->res_length) {
    /* Not the length the head announced (a relayed answer that promised
     * more than came, or sent more): ended like a complete one, it would
     * take the next answer on the connection for its rest, or the other way
     * round. The client sees a truncated answer instead, ended by a reset:
     * after excess bytes were dropped, the announced length did arrive. */
    c->reset_close = 1;
    tg_http_res_abort(req);
    return TG_EIO;
  }
  if (req->res_chunked && !req->is_head && !req->trailer_sent)
    req_emit(req, "0\r\n\r\n", 5);
  else if (req->head.len > 0)
    req_emit(req, NULL, 0);
  req->res_done = 1;
  c->corked = 0;
  /* Inside the parse loop, pipelined answers leave together at its end. */
  if (!c->in_process)
    conn_flush(c);
  if (c->closing)
    return 0;
  if (!req->req_done) {
    /* Without a body, the request's end is a formality on_end completes. */
    if (!req->has_body)
      return 0;
    /* Answered before the whole body arrived: the rest is not read. */
    c->keep_alive = 0;
    c->close_after_write = 1;
    c->linger = 1;
    if (c->inflight == 0 && c->eout.len == 0)
      conn_done(c);
    return 0;
  }
  req_finish(c);
  return 0;
}

void tg_http_res_abort(struct tg_http_req *req) {
  struct tg_conn *c = req->conn;
  if (req->res_done)
    return;
  /* What was produced leaves (the head included); the terminating chunk or
   * the rest of the announced length never does, and the connection closes
   * once the queue is written, so the client sees a truncated answer. */
  if (req->res_started && req->head.len > 0)
    req_emit(req, NULL, 0);
  req->res_done = 1;
  c->corked = 0;
  c->keep_alive = 0;
  /* An answer without a length or chunks (HTTP/1.0) ends where the
   * connection does: closed normally, a cut one would look whole. */
  if (req->res_started && !req->res_chunked && req->res_length < 0 && !req->is_head &&
      req->status != 204 && req->status != 304)
    c->reset_close = 1;
  if (!c->in_process)
    conn_flush(c);
  if (c->closing)
    return;
  if (!req->req_done && req->has_body) {
    c->close_after_write = 1;
    c->linger = 1;
    if (c->inflight == 0 && c->eout.len == 0)
      conn_done(c);
    return;
  }
  req_finish(c);
}

size_t tg_http_res_pending(const struct tg_http_req *req) {
  return req->conn->inflight + req->conn->eout.len;
}

void tg_http_res_on_drain(struct tg_http_req *req, tg_http_handler cb) {
  req->on_drain = cb;
  if (req->conn->inflight < TG_LOW_WATER) {
    req->on_drain = NULL;
    cb(req);
  }
}

int tg_http_res_send(struct tg_http_req *req, int status, const char *ctype, const void *body,
                     size_t len) {
  int rc = tg_http_res_start(req, status, ctype, (int64_t)len);
  if (rc == 0)
    rc = tg_http_res_write(req, body, len);
  if (rc == 0 || req->res_started)
    rc = tg_http_res_end(req);
  return rc;
}

int tg_http_res_json(struct tg_http_req *req, int status, json_t *json, const char *ctype) {
  char *s = json_dumps(json, JSON_COMPACT);
  json_decref(json);
  if (s == NULL)
    return tg_http_res_problem(req, 500, "internal", "Internal error", NULL, "out of memory");
  int rc = tg_http_res_send(req, status, ctype ? ctype : "application/json", s, strlen(s));
  free(s);
  return rc;
}

int tg_http_res_problem(struct tg_http_req *req, int status, const char *slug, const char *title,
                        json_t *extra, const char *fmt, ...) {
  char detail[1024], type[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  tg_utf8_scrub(detail); /* cut by a byte count, it may end in half a character */
  snprintf(type, sizeof(type), "urn:tsunagu:problem:%s", slug);
  json_t *p = extra && json_is_object(extra) ? extra : json_object();
  if (extra && !json_is_object(extra))
    json_decref(extra);
  json_object_set_new(p, "type", json_string(type));
  json_object_set_new(p, "title", json_string(title));
  json_object_set_new(p, "status", json_integer(status));
  json_object_set_new(p, "detail", json_string(detail));
  if (req->target)
    json_object_set_new(p, "instance", json_string(req->target));
  const struct tg_http_app *app = req->conn->w->app;
  const char *type_out = app->problem ? app->problem(req, p) : NULL;
  return tg_http_res_json(req, status, p, type_out ? type_out : "application/problem+json");
}

/* --- the request API --- */

const char *tg_http_req_method(const struct tg_http_req *r) { return r->method; }
int tg_http_req_may_chunk(const struct tg_http_req *r) { return r->conn->hp.http_minor == 1; }
const char *tg_http_req_path(const struct tg_http_req *r) { return r->target; }
const char *tg_http_req_query(const struct tg_http_req *r) { return r->query; }
const char *tg_http_req_rest(const struct tg_http_req *r) { return r->rest ? r->rest : ""; }
const char *tg_http_req_header(const struct tg_http_req *r, const char *name) {
  return tg_http_parse_header(&r->conn->hp, name);
}
const char *tg_http_req_body(const struct tg_http_req *r, size_t *len) {
  *len = r->body.len;
  return r->body.data ? r->body.data : "";
}
const char *tg_http_req_client(const struct tg_http_req *r) { return r->conn->addr; }
const char *tg_http_req_peer(const struct tg_http_req *r) {
  return r->conn->peer_ok ? r->conn->peer : NULL;
}
void *tg_http_req_app(struct tg_http_req *r) { return r->app.b; }
const struct tg_http_limits *tg_http_req_limits(const struct tg_http_req *r) { return r->conn->st; }
const char *tg_http_req_subject(const struct tg_http_req *r) { return r->subject; }
X509 *tg_http_req_peer_cert(const struct tg_http_req *r) {
  return r->conn->peer_ok ? SSL_get0_peer_certificate(r->conn->ssl) : NULL;
}
struct tg_worker *tg_http_req_worker(const struct tg_http_req *r) { return r->conn->w->owner; }
void tg_http_req_set_data(struct tg_http_req *r, void *data) { r->data = data; }
void *tg_http_req_get_data(const struct tg_http_req *r) { return r->data; }
void tg_http_req_on_free(struct tg_http_req *r, void (*cb)(void *), void *ud) {
  r->on_free = cb;
  r->free_ud = ud;
}
void tg_http_req_on_abort(struct tg_http_req *r, void (*cb)(struct tg_http_req *)) {
  r->on_abort = cb;
}
void tg_http_req_on_body(struct tg_http_req *r, tg_http_body_cb body, tg_http_handler end) {
  r->on_body = body;
  r->on_end = end;
}
void tg_http_req_pause(struct tg_http_req *r) {
  r->paused = 1;
  conn_update_reading(r->conn);
}
void tg_http_req_resume(struct tg_http_req *r) {
  struct tg_conn *c = r->conn;
  if (!r->paused)
    return;
  r->paused = 0;
  /* The time the handler held the body back is not the sender's. */
  r->body_start = tg_now_ms();
  r->body_base = r->bytes_in;
  conn_resume_input(c);
}
void tg_http_req_set_subject(struct tg_http_req *r, const char *subject) {
  snprintf(r->subject, sizeof(r->subject), "%s", subject ? subject : "");
}

static void req_free(struct tg_http_req *r) {
  if (r != NULL && r->on_free != NULL)
    r->on_free(r->free_ud);
  if (r == NULL)
    return;
  free(r->target);
  tg_buf_close(&r->body);
  tg_buf_close(&r->reshdr);
  tg_buf_close(&r->head);
  free(r);
}

static void req_finish(struct tg_conn *c) {
  struct tg_http_req *r = c->req;
  uint64_t usec = (uv_hrtime() - r->start_ns) / 1000;
  c->w->app->done(r, r->route, r->status, usec, r->bytes_in, r->bytes_out);
  c->req = NULL;
  req_free(r);
  c->head_start = 0;
  c->idle_since = tg_now_ms();
  if (!c->keep_alive) {
    c->close_after_write = 1;
    if (c->inflight == 0 && c->eout.len == 0)
      conn_done(c);
    return;
  }
  if (!c->closing) {
    conn_update_reading(c);
    conn_process(c); /* the next pipelined request may be waiting */
  }
}

/* --- request phases --- */

static void req_early(struct tg_http_req *r, int status, const char *slug, const char *title,
                      const char *detail) {
  r->early = r->has_body;
  r->conn->linger = r->has_body;
  tg_http_res_problem(r, status, slug, title, NULL, "%s", detail);
}

/* Answers a peer-only request whose caller is not a verified federation node,
 * saying why: no certificate, revoked, expired, foreign CA, or no node id. */
static void req_peer_refused(struct tg_http_req *r) {
  struct tg_conn *c = r->conn;
  char detail[300];
  const char *slug = "peer-certificate-required", *title = "Peer certificate required";
  if (!c->has_cert) {
    snprintf(detail, sizeof(detail), "this endpoint is for federation nodes: present a valid "
                                     "federation certificate");
  } else if (c->cert_verify == X509_V_ERR_CERT_REVOKED) {
    slug = "peer-certificate-revoked";
    title = "Peer certificate revoked";
    snprintf(detail, sizeof(detail), "peer certificate revoked: the federation CA has revoked "
                                     "the certificate presented");
  } else if (c->cert_verify == X509_V_ERR_CERT_HAS_EXPIRED ||
             c->cert_verify == X509_V_ERR_CERT_NOT_YET_VALID) {
    slug = "peer-certificate-expired";
    title = "Peer certificate not valid now";
    snprintf(detail, sizeof(detail), "peer certificate %s",
             c->cert_verify == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "not yet valid");
  } else if (c->cert_verify != X509_V_OK) {
    slug = "peer-certificate-untrusted";
    title = "Peer certificate not trusted";
    snprintf(detail, sizeof(detail), "peer certificate not accepted by this federation: %s",
             X509_verify_cert_error_string(c->cert_verify));
  } else {
    slug = "peer-certificate-no-node-id";
    title = "Peer certificate names no node";
    snprintf(detail, sizeof(detail), "the certificate presented has no SAN URI "
                                     "urn:tsunagu:node:<id>");
  }
  req_early(r, 403, slug, title, detail);
}

static int conn_want_keepalive(const struct tg_http_parser *hp) {
  const char *conn = tg_http_parse_header(hp, "connection");
  if (hp->http_minor == 0)
    return conn && strcasestr(conn, "keep-alive") != NULL;
  return !(conn && strcasestr(conn, "close") != NULL);
}

static void on_head(struct tg_conn *c) {
  struct tg_http_req *r = calloc(1, sizeof(*r));
  const char *target = tg_http_parse_target(&c->hp);
  int allowed = 0;
  if (r == NULL || (r->target = strdup(target)) == NULL) {
    free(r);
    conn_close(c);
    return;
  }
  r->conn = c;
  r->start_ns = uv_hrtime();
  r->body_start = tg_now_ms();
  tg_buf_init(&r->body);
  tg_buf_init(&r->reshdr);
  tg_buf_init(&r->head);
  memcpy(r->method, c->hp.method, sizeof(r->method));
  char *q = strchr(r->target, '?');
  r->query = "";
  if (q) {
    *q = '\0';
    r->query = q + 1;
  }
  r->is_head = strcmp(r->method, "HEAD") == 0;
  r->has_body = c->hp.chunked || c->hp.content_length > 0;
  c->req = r;
  c->keep_alive = conn_want_keepalive(&c->hp) && !c->w->draining;
  if (r->target[0] != '/') {
    req_early(r, 400, "bad-target", "Bad request target", "the request target must be a path");
    return;
  }
  struct tg_http_route_opts opts = {0};
  r->route = c->w->app->match(r, r->is_head ? "GET" : r->method, r->target, &allowed, &r->rest,
                              &opts);
  if (r->route == NULL) {
    if (allowed)
      req_early(r, 405, "method-not-allowed", "Method not allowed",
                "this resource does not support that method");
    else
      req_early(r, 404, "not-found", "Not found", "no such resource");
    return;
  }
  /* The application decides the route's limit ([limits] body_bytes and its
   * per-route overrides). */
  uint64_t limit = opts.max_body;
  r->stream_body = opts.stream_body;
  r->limit = limit;
  if (r->has_body && limit == 0) {
    req_early(r, 413, "body-too-large", "Content too large", "this resource takes no request body");
    return;
  }
  if (c->hp.content_length > 0 && (uint64_t)c->hp.content_length > limit) {
    req_early(r, 413, "body-too-large", "Content too large",
              "the request body is larger than this resource accepts");
    return;
  }
  if (c->has_cert && c->w->app->generation() != c->cert_gen) {
    /* a CRL or CA installed since the check applies now */
    const struct tg_http_limits *cur = c->w->app->limits_get();
    conn_peer_verify(c, cur);
    c->w->app->limits_put(cur);
  }
  if (opts.peer_only && !c->peer_ok) {
    req_peer_refused(r);
    return;
  }
  /* Authorization at the head: a caller without the route's scope is answered
   * before any body byte is read (and before 100 Continue), and a body it
   * sends anyway is dropped while the connection closes. */
  r->early = r->has_body;
  c->linger = r->has_body;
  if (!c->w->app->admit(r, r->route))
    return;
  r->early = 0;
  c->linger = 0;
  const char *expect = tg_http_parse_header(&c->hp, "expect");
  if (expect && r->has_body) {
    if (strcasecmp(expect, "100-continue") != 0) {
      req_early(r, 417, "expectation-failed", "Expectation failed",
                "only Expect: 100-continue is supported");
      return;
    }
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    conn_send(c, cont, sizeof(cont) - 1);
    conn_flush(c);
  }
  if (r->stream_body)
    c->w->app->run(r, r->route);
}

static void on_body(struct tg_conn *c, const char *data, size_t len) {
  struct tg_http_req *r = c->req;
  r->bytes_in += len;
  if (r->res_done || r->early)
    return;
  if (r->bytes_in > r->limit) {
    if (!r->res_started)
      req_early(r, 413, "body-too-large", "Content too large",
                "the request body is larger than this resource accepts");
    else
      conn_close(c);
    return;
  }
  if (r->stream_body) {
    if (r->on_body)
      r->on_body(r, data, len);
  } else if (tg_buf_append(&r->body, data, len)) {
    req_early(r, 503, "out-of-memory", "Service unavailable", "out of memory");
  }
}

static void on_end(struct tg_conn *c) {
  struct tg_http_req *r = c->req;
  r->req_done = 1;
  if (r->res_done) {
    req_finish(c);
    return;
  }
  if (r->res_started && !r->route)
    return;
  if (!r->stream_body)
    c->w->app->run(r, r->route);
  else if (r->on_end)
    r->on_end(r);
}

static void conn_reject(struct tg_conn *c, int status, const char *reason) {
  /* A parse error or a limit: answer if nothing else is being answered, then close. */
  c->keep_alive = 0;
  if (c->req && c->req->res_started) {
    conn_close(c);
    return;
  }
  if (c->req == NULL) {
    c->req = calloc(1, sizeof(*c->req));
    if (c->req == NULL) {
      conn_close(c);
      return;
    }
    c->req->conn = c;
    c->req->start_ns = uv_hrtime();
    tg_buf_init(&c->req->body);
    tg_buf_init(&c->req->reshdr);
    tg_buf_init(&c->req->head);
    snprintf(c->req->method, sizeof(c->req->method), "-");
  }
  c->req->early = 1;
  c->req->req_done = 1;
  const char *slug = status == 408 ? "timeout" : status == 431 ? "headers-too-large"
                   : status == 413 ? "body-too-large" : status == 503 ? "unavailable"
                   : "bad-request";
  c->close_after_write = 1;
  tg_http_res_problem(c->req, status, slug, tg_http_reason(status), NULL, "%s", reason);
}

static void conn_process(struct tg_conn *c) {
  if (c->in_process) {
    c->again = 1;
    return;
  }
  c->in_process = 1;
parse:
  do {
    c->again = 0;
    while (!c->closing && !c->close_after_write) {
      struct tg_http_req *r = c->req;
      if (r && (r->req_done || r->paused))
        break;
      /* A client that sends requests but does not read the answers gets no
       * more answers queued: parsing waits until on_write drains it. */
      if (conn_out_pending(c) >= c->st->out_high_water) {
        c->out_blocked = 1;
        break;
      }
      size_t avail = c->in.len - c->in_off, used = 0;
      if (avail == 0 && !c->parse_more)
        break;
      const char *body = NULL;
      size_t blen = 0;
      int ev;
      const char *base = c->in.data ? c->in.data + c->in_off : "";
      int rc = tg_http_parse_next(&c->hp, base, avail, &used, &ev, &body, &blen);
      c->in_off += used;
      if (rc) {
        conn_reject(c, c->hp.status, c->hp.reason);
        break;
      }
      c->parse_more = ev != TG_HP_MORE;
      if (ev == TG_HP_HEAD)
        on_head(c);
      else if (ev == TG_HP_BODY)
        on_body(c, body, blen);
      else if (ev == TG_HP_END)
        on_end(c);
      if (ev == TG_HP_MORE)
        break;
    }
  } while (c->again && !c->closing);
  if (c->closing) {
    c->in_process = 0;
    return;
  }
  conn_flush(c);
  if (c->closing) {
    c->in_process = 0;
    return;
  }
  size_t low = c->st->out_high_water < TG_LOW_WATER ? c->st->out_high_water : TG_LOW_WATER;
  if (c->out_blocked && c->inflight == 0 && conn_out_pending(c) < low) {
    /* Parsing stopped for output that the kernel took at once (no write
     * request, so no on_write to resume it): go on. Each pass either uses
     * up input or queues output up to the mark again, so this ends. */
    c->out_blocked = 0;
    conn_update_reading(c);
    goto parse;
  }
  c->in_process = 0;
  if (c->close_after_write && c->inflight == 0) {
    conn_done(c);
    return;
  }
  /* Keep idle connections small: no buffers while there is nothing to parse. */
  if (c->in_off == c->in.len) {
    /* The worker keeps one spare buffer, so busy connections do not
     * allocate per request and idle ones hold nothing. */
    if (c->w->spare_in == NULL && c->in.data != NULL) {
      c->w->spare_in = c->in.data;
      c->w->spare_cap = c->in.cap;
      tg_buf_init(&c->in);
    } else {
      tg_buf_close(&c->in);
    }
    c->in_off = 0;
  } else if (c->in_off > 32768) {
    tg_buf_consume(&c->in, c->in_off);
    c->in_off = 0;
  }
  conn_update_reading(c);
  conn_arm(c);
  /* Records held back while parsing was blocked: decrypt them now. */
  if (!c->in_pump && c->ein.len > 0 && c->in.len - c->in_off < TG_IN_BACKLOG &&
      !c->out_blocked && !(c->req && (c->req->paused || c->req->req_done)))
    conn_feed(c, "", 0);
}

/* Parsing may go on after a pause (the handler's or the output's). */
static void conn_resume_input(struct tg_conn *c) {
  conn_update_reading(c);
  conn_process(c);
}

/* --- TLS input --- */

/* Verifies the client's certificate again against S's trust store and CRL, at
 * the current time: for resumed sessions (whose stored result predates any
 * expiry) and for connections that outlive a reload (a new CRL). */
static void conn_peer_verify(struct tg_conn *c, const struct tg_http_limits *s) {
  X509 *leaf = SSL_get0_peer_certificate(c->ssl);
  X509_STORE_CTX *x = X509_STORE_CTX_new();
  c->cert_gen = s->gen;
  c->peer_ok = 0;
  if (leaf == NULL || x == NULL ||
      !X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(s->tls), leaf, SSL_get_peer_cert_chain(c->ssl))) {
    c->cert_verify = X509_V_ERR_UNSPECIFIED;
  } else {
    X509_STORE_CTX_set_default(x, "ssl_client");
    X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(x), 2);
    c->cert_verify = X509_verify_cert(x) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(x);
  }
  X509_STORE_CTX_free(x);
  ERR_clear_error();
  if (c->cert_verify == X509_V_OK && tg_tls_cert_node_id(leaf, c->peer, sizeof(c->peer)) == 0)
    c->peer_ok = 1;
}

static void conn_handshaken(struct tg_conn *c) {
  c->handshaken = 1;
  c->idle_since = tg_now_ms();
  X509 *peer = SSL_get0_peer_certificate(c->ssl);
  if (peer != NULL) {
    c->has_cert = 1;
    c->cert_gen = c->st->gen;
    c->cert_verify = SSL_get_verify_result(c->ssl);
    if (SSL_session_reused(c->ssl))
      conn_peer_verify(c, c->st); /* the stored result is as old as the session */
    else if (c->cert_verify == X509_V_OK &&
             tg_tls_cert_node_id(peer, c->peer, sizeof(c->peer)) == 0)
      c->peer_ok = 1;
  }
}

static void conn_pump(struct tg_conn *c) {
  if (!c->handshaken) {
    int r = SSL_do_handshake(c->ssl);
    conn_flush(c);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      ERR_clear_error();
      if (e != SSL_ERROR_WANT_READ)
        conn_close(c);
      return;
    }
    conn_handshaken(c);
    if (c->closing || c->close_after_write)
      return;
  }
  c->in_pump = 1;
  for (;;) {
    int starved = 0;
    while (!c->closing && c->in.len - c->in_off < TG_IN_BACKLOG) {
      if (c->in.data == NULL && c->w->spare_in != NULL) {
        c->in.data = c->w->spare_in;
        c->in.cap = c->w->spare_cap;
        c->in.len = 0;
        c->w->spare_in = NULL;
      }
      if (tg_buf_reserve(&c->in, 16384)) {
        conn_close(c);
        break;
      }
      /* SSL_get_error says SSL_ERROR_SSL whenever the thread's error queue
       * holds an error, so one that another OpenSSL user on this worker's
       * thread left behind would turn a plain "no more data yet" (-1,
       * WANT_READ) into a fatal error: the connection would close without
       * answering the request just decrypted. libcurl leaves such errors
       * (7.88 at least): closing a client connection whose handshake failed
       * calls SSL_shutdown, which queues "shutdown while in init"; the
       * node's own requests on this thread (peer checks, harvests) do that
       * whenever a handshake with a peer fails, e.g. once a CRL revokes it.
       * (SSL_do_handshake empties the queue itself; SSL_read does not.) */
      ERR_clear_error();
      int n = SSL_read(c->ssl, c->in.data + c->in.len, 16384);
      if (n > 0) {
        if (c->req == NULL && c->head_start == 0)
          c->head_start = tg_now_ms(); /* pipelined: bytes decrypted from ein */
        c->in.len += (size_t)n;
        c->in.data[c->in.len] = '\0';
        continue;
      }
      int e = SSL_get_error(c->ssl, n);
      ERR_clear_error();
      if (e == SSL_ERROR_ZERO_RETURN)
        c->eof = 1;
      else if (e != SSL_ERROR_WANT_READ)
        conn_close(c);
      starved = 1;
      break;
    }
    conn_flush(c);
    if (c->closing)
      break;
    size_t before = c->in.len - c->in_off;
    conn_process(c);
    /* Stop when OpenSSL has nothing more, or when parsing could not make room
     * (a response is pending): conn_process pumps again once it can. */
    if (starved || c->closing || c->in.len - c->in_off >= before)
      break;
  }
  c->in_pump = 0;
  if (!c->closing && c->eof && c->req == NULL)
    conn_close(c);
}

/* Feeds encrypted bytes to OpenSSL; keeps what it does not take yet. */
static void conn_feed(struct tg_conn *c, const char *data, size_t len) {
  if (c->ein.len > 0) {
    if (tg_buf_append(&c->ein, data, len)) {
      conn_close(c);
      return;
    }
    c->io.in = c->ein.data;
    c->io.in_len = c->ein.len;
  } else {
    c->io.in = data;
    c->io.in_len = len;
  }
  conn_pump(c);
  if (c->closing)
    return;
  size_t left = c->io.in_len;
  if (c->ein.len > 0) {
    tg_buf_consume(&c->ein, c->ein.len - left);
    if (c->ein.len == 0)
      tg_buf_close(&c->ein);
  } else if (left > 0 && tg_buf_append(&c->ein, c->io.in, left)) {
    conn_close(c);
    return;
  }
  c->io.in = NULL;
  c->io.in_len = 0;
  conn_update_reading(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct tg_conn *c = h->data;
  *buf = uv_buf_init(c->w->readbuf, sizeof(c->w->readbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct tg_conn *c = s->data;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread == 0)
    return;
  c->last_io = tg_now_ms();
  /* Any byte after an idle spell starts the next request's header clock,
   * even one that completes no TLS record: trickled bytes buy no time. */
  if (c->handshaken && c->req == NULL && c->head_start == 0)
    c->head_start = c->last_io;
  c->w->app->io((uint64_t)nread, 0);
  if (c->lingering) {
    c->linger_bytes += (size_t)nread;
    if (c->linger_bytes > 4 * 1024 * 1024)
      conn_close(c);
    return;
  }
  conn_feed(c, buf->base, (size_t)nread);
}

static void conn_update_reading(struct tg_conn *c) {
  if (c->closing)
    return;
  int want = c->lingering || (!c->close_after_write && !(c->req && c->req->paused) &&
             !c->out_blocked && c->in.len - c->in_off < TG_IN_BACKLOG &&
             c->ein.len < TG_IN_BACKLOG);
  if (want && !c->reading) {
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* --- timers --- */

static void on_timer(uv_timer_t *t);

/* The time by which a transfer that started at START with a grace of GRACE ms
 * must have moved BYTES, at MIN_RATE bytes a second (0: no rate). */
static uint64_t rate_deadline(uint64_t start, uint64_t grace, uint64_t bytes, uint64_t min_rate) {
  if (min_rate == 0)
    return UINT64_MAX;
  uint64_t earned = bytes / min_rate * 1000 + bytes % min_rate * 1000 / min_rate;
  return start + grace + earned;
}

static uint64_t min_deadline(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* While output waits for the client (stall_start set): when it must have
 * taken some of it (idle_timeout) and enough (min_rate). */
static uint64_t stall_deadline(const struct tg_conn *c) {
  const struct tg_http_limits *st = c->st;
  return min_deadline(c->last_io + st->idle_timeout_ms,
                      rate_deadline(c->stall_start, st->idle_timeout_ms, c->stall_bytes,
                                    st->min_rate));
}

/* Picks the deadline that applies in the connection's state and what happens
 * then: 1 = close quietly, 2 = answer 408 and close. Every phase has a bound
 * that trickled bytes cannot move: the handshake from accept, the head from
 * its first byte, a body and a slow reader by a minimum rate after a grace. */
static uint64_t conn_deadline(struct tg_conn *c, int *action) {
  const struct tg_http_limits *st = c->st;
  struct tg_http_req *r = c->req;
  uint64_t d = UINT64_MAX;
  *action = 1;
  if (c->lingering)
    return c->linger_start + 2000;
  if (!c->handshaken)
    return c->accept_ms + st->handshake_timeout_ms;
  if (c->stall_start != 0) /* output waits for a client that does not read */
    d = stall_deadline(c);
  if (c->corked) /* the answer's end is awaited: at most the idle timeout */
    d = min_deadline(d, c->cork_since + st->idle_timeout_ms);
  if (r == NULL) {
    if (c->head_start == 0 && c->in.len == c->in_off && c->ein.len == 0)
      return min_deadline(d, c->idle_since + st->idle_timeout_ms);
    *action = 2;
    return min_deadline(d, (c->head_start ? c->head_start : c->idle_since) +
                               st->header_timeout_ms);
  }
  if (!r->req_done && !r->paused && !r->res_started && !c->out_blocked) {
    *action = 2;
    uint64_t body = min_deadline(c->last_io + st->body_timeout_ms,
                                 rate_deadline(r->body_start, st->body_timeout_ms,
                                               r->bytes_in - r->body_base, st->min_rate));
    if (body <= d)
      return body;
    *action = 1;
  }
  return d == UINT64_MAX ? 0 : d;
}

static void conn_arm(struct tg_conn *c) {
  int action;
  if (c->closing)
    return;
  uint64_t d = conn_deadline(c, &action), now = tg_now_ms();
  if (d == 0) {
    uv_timer_stop(&c->timer);
    return;
  }
  uv_timer_start(&c->timer, on_timer, d > now ? d - now : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  struct tg_conn *c = t->data;
  int action;
  uint64_t d = conn_deadline(c, &action);
  if (d == 0)
    return;
  if (tg_now_ms() < d) {
    conn_arm(c);
    return;
  }
  /* A 408 only to a client that still reads: one that lets output pile up
   * would never take it. The answer gets its own deadline to leave. */
  if (action == 2 && c->handshaken && !c->close_after_write && c->stall_start == 0) {
    conn_reject(c, 408, "the request took too long to arrive");
    if (!c->closing)
      conn_arm(c);
  } else {
    /* A reader that stopped reading (its stall deadline passed) is reset. */
    conn_close_how(c, c->stall_start != 0 && tg_now_ms() >= stall_deadline(c));
  }
}

/* --- lifecycle --- */

static void on_handle_closed(uv_handle_t *h) {
  struct tg_conn *c = h->data;
  if (--c->handles_open > 0)
    return;
  if (c->dirty) /* not flushed yet: take it off the list before it goes */
    for (struct tg_conn **p = (struct tg_conn **)&c->w->dirty; *p; p = &(*p)->dirty_next)
      if (*p == c) {
        *p = c->dirty_next;
        break;
      }
  cc_add(c->addr, -1);
  atomic_fetch_sub(&tg__total_conns, 1);
  c->w->app->conn(-1);
  SSL_free(c->ssl);
  tg_buf_close(&c->eout);
  tg_buf_close(&c->ein);
  tg_buf_close(&c->in);
  tg_http_parse_close(&c->hp);
  c->w->app->limits_put(c->st);
  free(c);
}

static void conn_close(struct tg_conn *c) { conn_close_how(c, 0); }

/* Closes C; with RESET, by a TCP reset that drops what the kernel still
 * holds for the client: a client that stopped reading would otherwise keep
 * that queue, and the connection half-open, with the node's FIN queued
 * behind it for as long as it advertises no window. */
static void conn_close_how(struct tg_conn *c, int reset) {
  if (c->closing)
    return;
  c->closing = 1;
  struct tg_http_req *r = c->req;
  c->req = NULL;
  if (r != NULL) {
    if (!r->res_done && r->on_abort)
      r->on_abort(r);
    req_free(r);
  }
  if (c->prev)
    c->prev->next = c->next;
  else
    c->w->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->w->nconns--;
  if (!reset || uv_tcp_close_reset(&c->tcp, on_handle_closed) != 0)
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

void tg_conn_on_connection(uv_stream_t *server, int status) {
  struct tg_http_worker *w = server->data;
  if (status < 0)
    return;
  struct tg_conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->w = w;
  c->st = w->app->limits_get();
  uv_tcp_init(w->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    c->handles_open = 1;
    c->tcp.data = c;
    snprintf(c->addr, sizeof(c->addr), "-");
    cc_add(c->addr, 1);
    atomic_fetch_add(&tg__total_conns, 1);
    w->app->conn(1);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  c->tcp.data = c;
  uv_timer_init(w->loop, &c->timer);
  c->timer.data = c;
  c->handles_open = 2;
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage ss;
  int sl = sizeof(ss);
  snprintf(c->addr, sizeof(c->addr), "-");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET)
      uv_ip4_name((struct sockaddr_in *)&ss, c->addr, sizeof(c->addr));
    else if (ss.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&ss, c->addr, sizeof(c->addr));
  }
  unsigned per = cc_add(c->addr, 1);
  uint64_t total = atomic_fetch_add(&tg__total_conns, 1) + 1;
  w->app->conn(1);
  if (total > c->st->max_conns || per > c->st->max_conns_per_client) {
    /* Refused before any TLS work, so a crowd of connections costs an accept
     * and a close each, and holds nothing. */
    w->app->refused();
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  c->next = w->conns;
  if (c->next)
    c->next->prev = c;
  w->conns = c;
  w->nconns++;
  tg_buf_init(&c->eout);
  tg_buf_init(&c->ein);
  tg_buf_init(&c->in);
  tg_http_parse_init(&c->hp, c->st->max_header_bytes);
  c->io.out = &c->eout;
  c->last_io = c->accept_ms = tg_now_ms();
  c->keep_alive = 1;
  c->ssl = SSL_new(c->st->tls);
  BIO *bio = c->ssl ? tg_tls_bio_new(&c->io) : NULL;
  if (bio == NULL) {
    conn_close(c);
    return;
  }
  SSL_set_bio(c->ssl, bio, bio);
  SSL_set_accept_state(c->ssl);
  conn_update_reading(c);
  conn_arm(c);
}

void tg_conn_drain_all(struct tg_http_worker *w) {
  struct tg_conn *c = w->conns, *next;
  for (; c != NULL; c = next) {
    next = c->next;
    c->keep_alive = 0;
    if (c->req == NULL && c->in.len == c->in_off)
      conn_close(c);
  }
}

void tg_conn_close_all(struct tg_http_worker *w) {
  while (w->conns != NULL)
    conn_close(w->conns);
}

void tg_http_worker_init(struct tg_http_worker *hw, uv_loop_t *loop,
                         const struct tg_http_app *app, struct tg_worker *owner) {
  memset(hw, 0, sizeof(*hw));
  hw->loop = loop;
  hw->app = app;
  hw->owner = owner;
}

void tg_http_worker_close(struct tg_http_worker *hw) {
  free(hw->spare_in);
  hw->spare_in = NULL;
  hw->spare_cap = 0;
  while (hw->nspare_out > 0)
    free(hw->spare_out[--hw->nspare_out]);
}
