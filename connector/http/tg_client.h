/* tg_client: outgoing HTTP(S) for the node: libcurl's multi interface driven
 * by a worker's libuv loop (nothing blocks the loop), connection reuse,
 * client certificates for mutual TLS, per-request deadlines, and streaming in
 * both directions with pause/resume for back-pressure. */
#ifndef TG_CLIENT_H
#define TG_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tg_err;
struct tg_client;
struct tg_client_req;

/* TLS material used for every request of a client (paths are copied). */
struct tg_client_tls {
  const char *ca_file;   /* trust anchors for the server (federation CA); NULL: system store */
  const char *cert_file; /* client certificate for mutual TLS, or NULL */
  const char *key_file;  /* its private key, or NULL */
  const char *crl_file;  /* CRL to check the server against, or NULL */
  /* The node the server must be: its certificate's SAN URI must be
   * urn:tsunagu:node:<this>; NULL for no such check. A request may name
   * another (tg_client_opts.peer_node_id): one client can call many peers. */
  const char *peer_node_id;
};

/* What the server's certificate says, as seen before a request is sent. */
struct tg_client_peer {
  char node_id[64];     /* from its SAN URI urn:tsunagu:node:<id>, or "" */
  char fingerprint[65]; /* SHA-256 of the certificate in lower-case hex */
  char serial[65];      /* its serial number in upper-case hex (as in a CRL), or "" */
  int64_t not_after;    /* its expiry (Unix time), 0 if unreadable */
};

/* Callbacks of one request. All run on the client's loop thread. */
struct tg_client_cb {
  /* The response status and headers have arrived. HEADERS is a NULL-terminated
   * array of "Name: value" strings, borrowed for the call. Return 0 to go on,
   * or a negative TG_E* code to abort the request (then DONE is called with it). */
  int (*on_head)(void *ud, int status, const char *const *headers);
  /* A span of response body (borrowed). Return 0 to go on, TG_EAGAIN to pause
   * receiving (the span counts as consumed; call tg_client_req_resume later),
   * or another negative code to abort. */
  int (*on_data)(void *ud, const char *data, size_t len);
  /* Fills BUF (up to N bytes) with request body; returns the byte count, 0 at
   * the end, or TG_EAGAIN to pause sending until tg_client_req_resume. Used only
   * when the options give no fixed body. */
  long (*read_body)(void *ud, char *buf, size_t n);
  /* Always called exactly once, unless the request was canceled or
   * tg_client_request failed: RC is 0 for a complete response, or a negative
   * TG_E* code (TG_ETIMEDOUT for the deadline, TG_EPEER for a connection or TLS
   * failure, including a body cut short); ERR describes it (borrowed). */
  void (*on_done)(void *ud, int rc, int status, const struct tg_err *err);
};

struct tg_client_opts {
  const char *method;            /* "GET" (default), "POST", … */
  const char *url;               /* http:// or https:// */
  const char *const *headers;    /* NULL-terminated "Name: value" strings, or NULL (copied) */
  const char *body;              /* a fixed request body (borrowed until DONE), or NULL */
  size_t body_len;
  int stream_body;               /* 1: take the body from cb.read_body (chunked upload) */
  uint64_t timeout_ms;           /* whole-request deadline; 0 means 30 s */
  uint64_t connect_timeout_ms;   /* 0 means 5 s */
  size_t max_response;           /* abort with TG_ETOOBIG past this many body bytes; 0: no limit */
  /* The node the server must be for this request (its certificate's SAN URI
   * urn:tsunagu:node:<id>), instead of the client's tls.peer_node_id; NULL
   * for the client's. Checked on every connection, new or reused, before
   * the request is sent: a mismatch ends it with TG_EPEER. (Copied.) */
  const char *peer_node_id;
  /* 1: a new connection with a full TLS handshake (no reuse, no session
   * resumption), closed afterwards: for checks of the peer's current state. */
  int fresh_connection;
  /* Optional, called with the callbacks' UD: the server's certificate (PEER,
   * borrowed for the call) on the connection the request is about to be sent
   * on, new or reused; before the node id check, so a mismatch is seen too.
   * https only. (Here rather than in tg_client_cb, whose users list its
   * members in order.) */
  void (*on_peer)(void *ud, const struct tg_client_peer *peer);
  /* Optional, called with the callbacks' UD for each trailer field line of a
   * chunked answer ("Name: value", LEN bytes without the line end, not
   * NUL-terminated, borrowed for the call; at most 2048 bytes, and as many
   * lines as headers), after the last ON_DATA and before ON_DONE. */
  void (*on_trailer)(void *ud, const char *line, size_t len);
};

/* 1 when URL is https://HOST…, or http:// to exactly 127.0.0.1, [::1] or
 * localhost (parsed with libcurl's URL parser); with REFUSE_USERINFO, a URL
 * carrying user:password@ is refused too. */
int tg_client_url_safe(const char *url, int refuse_userinfo);

/* Splits URL with libcurl's URL parser: its scheme must be SCHEME ("https"),
 * HOST (brackets of an IPv6 address removed) into HOST (size HN), the port
 * (the scheme's default when none) into PORT (size PN). TG_EINVAL when URL
 * does not parse, has another scheme or no host; TG_ETOOBIG when a part does
 * not fit. */
int tg_client_url_split(const char *url, const char *scheme, char *host, size_t hn, char *port,
                        size_t pn);

/* Creates a client on LOOP (which must outlive it). TLS may be NULL. */
int tg_client_new(uv_loop_t *loop, const struct tg_client_tls *tls, struct tg_client **out,
                  struct tg_err *err);
/* Cancels every pending request (their DONE callbacks are NOT called) and
 * frees the client once its handles have closed; NULL is a no-op. The loop
 * must be run afterwards for the handles to close. */
void tg_client_free(struct tg_client *c);
/* 1 while C carries a request that has not ended (its DONE not yet called or
 * it not yet canceled), 0 when freeing it would cancel nothing. */
int tg_client_busy(const struct tg_client *c);
/* Starts a request. On success *OUT (may be NULL) identifies it until DONE.
 * If this returns an error, no callback is ever called. */
int tg_client_request(struct tg_client *c, const struct tg_client_opts *o,
                      const struct tg_client_cb *cb, void *ud, struct tg_client_req **out,
                      struct tg_err *err);
/* Resumes a request paused by ON_DATA or READ_BODY returning TG_EAGAIN. */
void tg_client_req_resume(struct tg_client_req *r);
/* Cancels a request: no callback is called after this returns. */
void tg_client_req_cancel(struct tg_client_req *r);

/* Blocking request for command-line tools (not for use on a loop): sends O,
 * stores the status in *STATUS and the body (NUL-terminated, from malloc) in
 * *BODY / *LEN. Returns 0 or a TG_E* code with ERR set. */
int tg_client_fetch(const struct tg_client_tls *tls, const struct tg_client_opts *o, int *status,
                    char **body, size_t *len, struct tg_err *err);

#endif
