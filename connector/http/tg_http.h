/* tg_http: the HTTPS server's request/response API, as route handlers see it.
 * A handler gets a request once its body is in (or at the head, for streaming
 * routes) and answers with tg_http_res_*; it may answer later, from another
 * callback on the same loop, as long as the request was not aborted. */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct tg_http_req;
struct tg_worker;

typedef void (*tg_http_handler)(struct tg_http_req *req);
/* Streaming request bodies: called for each span of body bytes (borrowed). */
typedef void (*tg_http_body_cb)(struct tg_http_req *req, const char *data, size_t len);

/* --- the request --- */
const char *tg_http_req_method(const struct tg_http_req *req);
/* 1 when an answer of unknown length can go chunked (HTTP/1.1), 0 when it
 * can only end with the connection (HTTP/1.0): no trailer then. */
int tg_http_req_may_chunk(const struct tg_http_req *req);
/* Path without the query, percent-encoding kept. Borrowed. */
const char *tg_http_req_path(const struct tg_http_req *req);
/* The text after '?', or "" (borrowed). */
const char *tg_http_req_query(const struct tg_http_req *req);
/* For prefix routes: the part of the path the '*' matched (borrowed). */
const char *tg_http_req_rest(const struct tg_http_req *req);
/* First header named NAME (case-insensitive), or NULL. Borrowed. */
const char *tg_http_req_header(const struct tg_http_req *req, const char *name);
/* The buffered body (non-streaming routes) and its length; never NULL. */
const char *tg_http_req_body(const struct tg_http_req *req, size_t *len);
/* The client's IP address as text (borrowed for the request). */
const char *tg_http_req_client(const struct tg_http_req *req);
/* The calling node's id from a verified federation certificate, or NULL. */
const char *tg_http_req_peer(const struct tg_http_req *req);
/* That node's verified certificate (borrowed for the request), or NULL. */
X509 *tg_http_req_peer_cert(const struct tg_http_req *req);
/* The worker whose loop serves this request. */
struct tg_worker *tg_http_req_worker(const struct tg_http_req *req);
/* Handler-owned pointer for asynchronous answers. */
void tg_http_req_set_data(struct tg_http_req *req, void *data);
void *tg_http_req_get_data(const struct tg_http_req *req);
/* Called once if the connection dies before the response ends; after it the
 * handler must not touch REQ. */
void tg_http_req_on_abort(struct tg_http_req *req, void (*cb)(struct tg_http_req *));
/* Calls CB(UD) when REQ is freed (answered, aborted or its connection gone),
 * whatever else the handler registered: for state that must live exactly as
 * long as the request. One per request. */
void tg_http_req_on_free(struct tg_http_req *req, void (*cb)(void *), void *ud);
/* Streaming routes: set at the head; END is called when the body is complete. */
void tg_http_req_on_body(struct tg_http_req *req, tg_http_body_cb body, tg_http_handler end);
/* Stops / restarts reading the request body (back-pressure). */
void tg_http_req_pause(struct tg_http_req *req);
void tg_http_req_resume(struct tg_http_req *req);
/* The subject (user) the request is made for, for the access log. Copied. */
void tg_http_req_set_subject(struct tg_http_req *req, const char *subject);

/* --- the response --- */
/* Adds a header to the response (before tg_http_res_start). Copied. */
int tg_http_res_header(struct tg_http_req *req, const char *name, const char *value);
/* Sends the status line and headers. LENGTH -1 means chunked. */
int tg_http_res_start(struct tg_http_req *req, int status, const char *content_type,
                      int64_t length);
/* Queues body bytes (copied). */
int tg_http_res_write(struct tg_http_req *req, const void *data, size_t len);
/* Finishes the response. The request must not be touched afterwards. */
int tg_http_res_end(struct tg_http_req *req);
/* Finishes a chunked response with the trailer field NAME: VALUE (RFC 9112
 * 7.1.2; at most 64 and 1024 bytes, no CR or LF: else it is left out), or,
 * for an answer that is not chunked, just ends it. Announce the field with a
 * "Trailer" header before tg_http_res_start. As tg_http_res_end. */
int tg_http_res_end_trailer(struct tg_http_req *req, const char *name, const char *value);
/* Abandons a started response that cannot be completed: what was queued is
 * sent, then the connection closes without the terminating chunk (or before
 * the announced Content-Length), so no client can take the truncated answer
 * for a complete one. The request's abort callback is not called; the
 * request must not be touched afterwards. */
void tg_http_res_abort(struct tg_http_req *req);
/* Keeps what the answer queued from leaving (unless it reaches the flush
 * threshold) until it ends or is abandoned: an answer whose end follows in a
 * moment (a trailer computed on another thread) then leaves in one write with
 * it instead of two. Only for an end that is sure to come soon. */
void tg_http_res_cork(struct tg_http_req *req);
/* Bytes accepted but not yet handed to the kernel. */
size_t tg_http_res_pending(const struct tg_http_req *req);
/* Calls CB once pending output falls under the low-water mark (64 KiB). */
void tg_http_res_on_drain(struct tg_http_req *req, tg_http_handler cb);
/* A whole response at once; ends it. */
int tg_http_res_send(struct tg_http_req *req, int status, const char *content_type,
                     const void *body, size_t len);
/* A JSON response (the reference to JSON is stolen); ends it. */
int tg_http_res_json(struct tg_http_req *req, int status, json_t *json, const char *content_type);
/* An RFC 9457 problem: type "urn:tsunagu:problem:SLUG"; EXTRA (stolen, may be
 * NULL) adds members such as "errors". Ends the response. */
int tg_http_res_problem(struct tg_http_req *req, int status, const char *slug, const char *title,
                        json_t *extra, const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Reason phrase for STATUS. */
const char *tg_http_reason(int status);

#endif
