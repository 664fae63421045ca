/* tg_http_parse: llhttp in pull style plus the strictness llhttp 8.1 lacks.
 * Each llhttp_execute() stops (HPE_PAUSED) at the first event; the bytes it
 * consumed that are not body data are then checked as framing (CRLF only, no
 * NUL, no folded lines, CRLF after chunk data) before the event is reported. */
#include "tg_http_parse.h"
#include "tg_err.h"

#include <string.h>
#include <stdio.h>
#include <strings.h>

/* What hp->cur accumulates; AFTER_FIELD means a value may begin now. */
enum { CUR_NONE, CUR_URL, CUR_FIELD, CUR_AFTER_FIELD, CUR_VALUE };

static struct tg_http_parser *hp_of(llhttp_t *p) { return (struct tg_http_parser *)p->data; }

static int hp_fail(struct tg_http_parser *hp, int status, const char *reason) {
  hp->status = status;
  hp->reason = reason;
  hp->cb_err = 1;
  return HPE_USER;
}

static int hp_on_message_begin(llhttp_t *p) {
  struct tg_http_parser *hp = hp_of(p);
  hp->nhdr = 0;
  tg_buf_reset(&hp->strs);
  tg_buf_reset(&hp->cur);
  hp->cur_kind = CUR_NONE;
  hp->in_head = 1;
  hp->chunked = 0;
  hp->content_length = -1;
  hp->chunk_left = 0;
  hp->need_crlf = 0;
  hp->target_off = 0;
  return 0;
}

static int hp_accum(llhttp_t *p, int kind, const char *at, size_t len) {
  struct tg_http_parser *hp = hp_of(p);
  if (kind == CUR_VALUE && hp->cur_kind != CUR_VALUE && hp->cur_kind != CUR_AFTER_FIELD)
    return hp_fail(hp, 400, "obsolete line folding in a header");
  if (hp->cur_kind != kind) {
    tg_buf_reset(&hp->cur);
    hp->cur_kind = kind;
  }
  if (hp->cur.len + len > hp->max_head)
    return hp_fail(hp, 431, "request header section too large");
  if (tg_buf_append(&hp->cur, at, len))
    return hp_fail(hp, 503, "out of memory");
  return 0;
}

static int hp_on_url(llhttp_t *p, const char *at, size_t len) { return hp_accum(p, CUR_URL, at, len); }

static int hp_on_url_complete(llhttp_t *p) {
  struct tg_http_parser *hp = hp_of(p);
  hp->target_off = hp->strs.len;
  if (tg_buf_append(&hp->strs, hp->cur.data, hp->cur.len) || tg_buf_append(&hp->strs, "", 1))
    return hp_fail(hp, 503, "out of memory");
  hp->cur_kind = CUR_NONE;
  return 0;
}

static int hp_on_field(llhttp_t *p, const char *at, size_t len) { return hp_accum(p, CUR_FIELD, at, len); }

static int hp_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hp_on_field_complete(llhttp_t *p) {
  struct tg_http_parser *hp = hp_of(p);
  if (hp->cur.len == 0)
    return hp_fail(hp, 400, "empty header name");
  for (size_t i = 0; i < hp->cur.len; i++)
    if (!hp_tchar((unsigned char)hp->cur.data[i]))
      return hp_fail(hp, 400, "invalid character in a header name");
  if (hp->in_head) {
    if (hp->nhdr == TG_HTTP_MAX_HEADERS)
      return hp_fail(hp, 431, "too many request headers");
    hp->hdr_off[hp->nhdr][0] = hp->strs.len;
    if (tg_buf_append(&hp->strs, hp->cur.data, hp->cur.len + 1))
      return hp_fail(hp, 503, "out of memory");
  }
  tg_buf_reset(&hp->cur);
  hp->cur_kind = CUR_AFTER_FIELD;
  return 0;
}

static int hp_on_value(llhttp_t *p, const char *at, size_t len) { return hp_accum(p, CUR_VALUE, at, len); }

static int hp_check_te(const char *v) {
  /* The only coding this server decodes is chunked, and it must be alone. */
  return strcasecmp(v, "chunked") == 0;
}

static int hp_on_value_complete(llhttp_t *p) {
  struct tg_http_parser *hp = hp_of(p);
  if (hp->cur_kind != CUR_VALUE && hp->cur_kind != CUR_AFTER_FIELD)
    return hp_fail(hp, 400, "obsolete line folding in a header");
  size_t n = hp->cur_kind == CUR_VALUE ? hp->cur.len : 0;
  const char *v = n ? hp->cur.data : "";
  while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return hp_fail(hp, 400, "invalid character in a header value");
  }
  if (hp->in_head) {
    const char *name = hp->strs.data + hp->hdr_off[hp->nhdr][0];
    hp->hdr_off[hp->nhdr][1] = hp->strs.len;
    if (tg_buf_append(&hp->strs, v, n) || tg_buf_append(&hp->strs, "", 1))
      return hp_fail(hp, 503, "out of memory");
    const char *val = hp->strs.data + hp->hdr_off[hp->nhdr][1];
    name = hp->strs.data + hp->hdr_off[hp->nhdr][0];
    hp->nhdr++;
    if (strcasecmp(name, "transfer-encoding") == 0 && !hp_check_te(val))
      return hp_fail(hp, 400, "unsupported Transfer-Encoding (only a single 'chunked' is accepted)");
  }
  tg_buf_reset(&hp->cur);
  hp->cur_kind = CUR_NONE;
  return 0;
}

static int hp_on_headers_complete(llhttp_t *p) {
  struct tg_http_parser *hp = hp_of(p);
  int hosts = 0, tes = 0;
  if (p->http_major != 1 || p->http_minor > 1)
    return hp_fail(hp, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
  for (size_t i = 0; i < hp->nhdr; i++) {
    const char *name = hp->strs.data + hp->hdr_off[i][0];
    hosts += strcasecmp(name, "host") == 0;
    tes += strcasecmp(name, "transfer-encoding") == 0;
  }
  if (tes > 1)
    return hp_fail(hp, 400, "more than one Transfer-Encoding header");
  if (hosts > 1 || (hosts == 0 && p->http_minor == 1))
    return hp_fail(hp, 400, "an HTTP/1.1 request needs exactly one Host header");
  const char *m = llhttp_method_name((llhttp_method_t)p->method);
  size_t ml = strlen(m);
  if (ml >= sizeof(hp->method))
    ml = sizeof(hp->method) - 1;
  memcpy(hp->method, m, ml);
  hp->method[ml] = '\0';
  hp->http_minor = p->http_minor;
  hp->chunked = (p->flags & F_CHUNKED) != 0;
  hp->content_length = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
  if (tes == 1 && !hp->chunked)
    return hp_fail(hp, 400, "unsupported Transfer-Encoding");
  hp->saw_head = 1;
  return HPE_PAUSED;
}

static int hp_on_chunk_header(llhttp_t *p) {
  hp_of(p)->chunk_left = p->content_length;
  return 0;
}

static int hp_on_body(llhttp_t *p, const char *at, size_t len) {
  struct tg_http_parser *hp = hp_of(p);
  if (len == 0)
    return 0; /* llhttp reports an empty span when fed nothing mid-body */
  hp->body_at = at;
  hp->body_len = len;
  hp->body_pending = 1;
  return HPE_PAUSED;
}

static int hp_on_message_complete(llhttp_t *p) {
  struct tg_http_parser *hp = hp_of(p);
  hp->keep_alive = llhttp_should_keep_alive(p);
  hp->got_end = 1;
  return HPE_PAUSED;
}

static const llhttp_settings_t hp_settings = {
  .on_message_begin = hp_on_message_begin,
  .on_url = hp_on_url,
  .on_header_field = hp_on_field,
  .on_header_value = hp_on_value,
  .on_url_complete = hp_on_url_complete,
  .on_header_field_complete = hp_on_field_complete,
  .on_header_value_complete = hp_on_value_complete,
  .on_headers_complete = hp_on_headers_complete,
  .on_body = hp_on_body,
  .on_message_complete = hp_on_message_complete,
  .on_chunk_header = hp_on_chunk_header,
};

void tg_http_parse_init(struct tg_http_parser *hp, size_t max_head) {
  memset(hp, 0, sizeof(*hp));
  llhttp_init(&hp->ll, HTTP_REQUEST, &hp_settings);
  hp->ll.data = hp;
  hp->max_head = max_head;
  hp->content_length = -1;
  hp->in_head = 1;
  tg_buf_init(&hp->strs);
  tg_buf_init(&hp->cur);
}

void tg_http_parse_close(struct tg_http_parser *hp) {
  tg_buf_close(&hp->strs);
  tg_buf_close(&hp->cur);
}

/* Checks framing bytes: CRLF line ends only, no NUL, no line starting with
 * whitespace (obs-fold), and CRLF right after each chunk's data. */
static int hp_scan(struct tg_http_parser *hp, const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c == 0)
      return hp_fail(hp, 400, "NUL byte in the request framing");
    if (hp->need_crlf == 2) {
      if (c != '\r')
        return hp_fail(hp, 400, "chunk data not followed by CRLF");
      hp->need_crlf = 1;
    } else if (hp->need_crlf == 1) {
      if (c != '\n')
        return hp_fail(hp, 400, "chunk data not followed by CRLF");
      hp->need_crlf = 0;
    }
    if (hp->prev == '\r' && c != '\n')
      return hp_fail(hp, 400, "bare CR in the request framing");
    if (c == '\n' && hp->prev != '\r')
      return hp_fail(hp, 400, "bare LF in the request framing");
    if (hp->prev == '\n' && (c == ' ' || c == '\t'))
      return hp_fail(hp, 400, "obsolete line folding (a line starts with whitespace)");
    hp->prev = c;
  }
  return 0;
}

int tg_http_parse_next(struct tg_http_parser *hp, const char *data, size_t len, size_t *consumed,
                       int *event, const char **body, size_t *body_len) {
  size_t feed = len, used;
  hp->saw_head = hp->got_end = hp->body_pending = 0;
  hp->cb_err = 0;
  *event = TG_HP_MORE;
  *consumed = 0;
  if (hp->in_head && feed > hp->max_head - hp->head_bytes + 1)
    feed = hp->max_head - hp->head_bytes + 1;
  llhttp_errno_t e = llhttp_execute(&hp->ll, data, feed);
  if (e == HPE_PAUSED) {
    used = (size_t)(llhttp_get_error_pos(&hp->ll) - data);
    llhttp_resume(&hp->ll);
  } else if (e == HPE_OK) {
    used = feed;
  } else {
    if (!hp->cb_err) {
      hp->status = 400;
      hp->reason = llhttp_get_error_reason(&hp->ll);
      if (hp->reason == NULL)
        hp->reason = llhttp_errno_name(e);
    }
    return TG_EPROTO;
  }
  /* Framing check over what llhttp consumed, skipping the body span. */
  const unsigned char *u = (const unsigned char *)data;
  if (hp->body_pending) {
    size_t b0 = (size_t)(hp->body_at - data), b1 = b0 + hp->body_len;
    if (hp_scan(hp, u, b0) || hp_scan(hp, u + b1, used - b1))
      return TG_EPROTO;
  } else if (hp_scan(hp, u, used)) {
    return TG_EPROTO;
  }
  if (hp->in_head) {
    hp->head_bytes += used;
    if (hp->head_bytes > hp->max_head) {
      hp->status = 431;
      hp->reason = "request header section too large";
      return TG_ETOOBIG;
    }
  }
  *consumed = used;
  if (hp->saw_head) {
    hp->in_head = 0;
    hp->head_bytes = 0;
    *event = TG_HP_HEAD;
  } else if (hp->body_pending) {
    if (hp->chunked) {
      hp->chunk_left -= hp->body_len;
      if (hp->chunk_left == 0)
        hp->need_crlf = 2;
    }
    *body = hp->body_at;
    *body_len = hp->body_len;
    *event = TG_HP_BODY;
  } else if (hp->got_end) {
    hp->in_head = 1;
    hp->need_crlf = 0;
    *event = TG_HP_END;
  }
  return 0;
}

const char *tg_http_parse_target(const struct tg_http_parser *hp) {
  return hp->strs.data ? hp->strs.data + hp->target_off : "";
}

const char *tg_http_parse_hname(const struct tg_http_parser *hp, size_t i) {
  return hp->strs.data + hp->hdr_off[i][0];
}

const char *tg_http_parse_hvalue(const struct tg_http_parser *hp, size_t i) {
  return hp->strs.data + hp->hdr_off[i][1];
}

const char *tg_http_parse_header(const struct tg_http_parser *hp, const char *name) {
  for (size_t i = 0; i < hp->nhdr; i++)
    if (strcasecmp(tg_http_parse_hname(hp, i), name) == 0)
      return tg_http_parse_hvalue(hp, i);
  return NULL;
}
