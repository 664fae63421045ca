/* tg_http_parse: strict HTTP/1.1 request parsing on top of llhttp. llhttp does
 * the grammar; this layer pulls one event at a time and adds the checks a
 * server facing hostile input needs (bare CR/LF, obs-fold, NUL, chunk framing,
 * header-name syntax, Transfer-Encoding codings, header-section size). No I/O. */
#ifndef TG_HTTP_PARSE_H
#define TG_HTTP_PARSE_H

#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_buf.h"

#define TG_HTTP_MAX_HEADERS 100

enum tg_hp_event {
  TG_HP_MORE = 0, /* all input consumed; feed more */
  TG_HP_HEAD,     /* request line and headers are complete and checked */
  TG_HP_BODY,     /* a span of body bytes (chunk framing removed) */
  TG_HP_END       /* the request is complete; feed again for the next one */
};

struct tg_http_parser {
  llhttp_t ll;
  size_t max_head;        /* limit on the request line + header section */
  /* The current request, valid from TG_HP_HEAD until the next request starts. */
  char method[16];
  int http_minor;         /* 0 or 1 (HTTP/1.x) */
  int keep_alive;         /* valid at TG_HP_END */
  int chunked;            /* Transfer-Encoding: chunked */
  int64_t content_length; /* -1 when absent */
  size_t nhdr;
  size_t hdr_off[TG_HTTP_MAX_HEADERS][2]; /* name and value offsets into strs */
  size_t target_off;
  struct tg_buf strs;     /* NUL-separated target, names, values; from malloc() */
  /* Error detail, valid after a negative return. */
  int status;             /* HTTP status to answer with (400, 431, …) */
  const char *reason;     /* static text */
  /* Internal state. */
  struct tg_buf cur;      /* header name/value or URL being accumulated */
  int cur_kind;
  size_t head_bytes;
  int in_head, saw_head, got_end, body_pending;
  uint64_t chunk_left;
  int need_crlf;
  unsigned char prev;
  const char *body_at;
  size_t body_len;
  int cb_err;
};

/* Prepares HP for a new connection; MAX_HEAD bounds the header section.
 * Release with tg_http_parse_close(). */
void tg_http_parse_init(struct tg_http_parser *hp, size_t max_head);
/* Frees HP's memory. */
void tg_http_parse_close(struct tg_http_parser *hp);
/* Parses from DATA (LEN bytes) until the next event. *CONSUMED gets how many
 * bytes were used; *EVENT the event. For TG_HP_BODY, *BODY and *BODY_LEN point
 * into DATA. LEN may be 0 to let the parser finish a request whose end is
 * already known. Returns 0 or TG_EPROTO / TG_ETOOBIG with hp->status and
 * hp->reason set; after an error the connection must be closed. */
int tg_http_parse_next(struct tg_http_parser *hp, const char *data, size_t len, size_t *consumed,
                       int *event, const char **body, size_t *body_len);
/* The request target (path and query, as sent). Borrowed. */
const char *tg_http_parse_target(const struct tg_http_parser *hp);
/* Header I's name and value (borrowed; I < hp->nhdr). */
const char *tg_http_parse_hname(const struct tg_http_parser *hp, size_t i);
const char *tg_http_parse_hvalue(const struct tg_http_parser *hp, size_t i);
/* The value of the first header named NAME (case-insensitive) or NULL. */
const char *tg_http_parse_header(const struct tg_http_parser *hp, const char *name);

#endif
