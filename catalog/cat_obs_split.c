/* cat_obs_split: cuts a streamed body into records with bounded memory: the
 * top-level elements of a JSON array (a scanner tracking depth and strings),
 * a single JSON object, or NDJSON lines. Records are handed over as bytes;
 * the caller parses each one. A record over the limit is skipped, not kept. */
#include "cat_obs.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <stdlib.h>
#include <string.h>

enum state {
  S_START,   /* JSON: before the first non-blank byte */
  S_BEFORE,  /* array: before an element or ']' */
  S_ELEM,    /* inside a record (array element, the object, or an NDJSON line) */
  S_AFTER,   /* array: after an element: ',' or ']' */
  S_END,     /* JSON: after the top-level value: only blanks */
};

struct tg_cat_obs_split {
  enum tg_cat_obs_fmt fmt;
  size_t max;
  tg_cat_obs_rec_cb cb;
  void *ud;
  enum state st;
  int top;          /* the body is one object, not an array */
  int depth;        /* JSON: nesting inside the current record */
  int in_str, esc;  /* JSON: inside a string / after a backslash */
  int too_big;      /* the current record passed MAX: bytes are dropped */
  int trailing;     /* array: a ',' was just seen (no ']' may follow) */
  size_t index;     /* records handed over so far */
  uint64_t off;     /* bytes fed */
  struct tg_buf rec;
};

int tg_cat_obs_split_new(enum tg_cat_obs_fmt fmt, size_t max, tg_cat_obs_rec_cb cb, void *ud,
                         struct tg_cat_obs_split **out) {
  struct tg_cat_obs_split *s = calloc(1, sizeof(*s));
  *out = s;
  if (s == NULL)
    return TG_ENOMEM;
  s->fmt = fmt;
  s->max = max;
  s->cb = cb;
  s->ud = ud;
  s->st = fmt == TG_OBS_FMT_NDJSON ? S_BEFORE : S_START;
  tg_buf_init(&s->rec);
  return 0;
}

void tg_cat_obs_split_free(struct tg_cat_obs_split *s) {
  if (s == NULL)
    return;
  tg_buf_close(&s->rec);
  free(s);
}

uint64_t tg_cat_obs_split_offset(const struct tg_cat_obs_split *s) { return s->off; }

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int syntax(struct tg_cat_obs_split *s, size_t i, struct tg_err *err, const char *what) {
  return tg_err_set(err, TG_EINVAL, "the body is not valid JSON: %s at byte %llu", what,
                    (unsigned long long)(s->off + i));
}

/* Hands the current record over and starts the next. */
static int emit(struct tg_cat_obs_split *s) {
  int rc;
  if (s->too_big)
    rc = s->cb(s->ud, s->index, NULL, 0, 1, s->top);
  else
    rc = s->cb(s->ud, s->index, s->rec.data ? s->rec.data : "", s->rec.len, 0, s->top);
  s->index++;
  tg_buf_reset(&s->rec);
  s->too_big = 0;
  return rc;
}

/* Appends SPAN (record bytes) unless the record is already over the limit. */
static int keep(struct tg_cat_obs_split *s, const char *p, size_t n) {
  if (s->too_big || n == 0)
    return 0;
  if (s->rec.len + n > s->max) {
    s->too_big = 1;
    tg_buf_reset(&s->rec);
    return 0;
  }
  return tg_buf_append(&s->rec, p, n);
}

/* --- NDJSON --- */

static int feed_ndjson(struct tg_cat_obs_split *s, const char *d, size_t len) {
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(d + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - d) : len;
    int rc = keep(s, d + i, end - i);
    if (rc)
      return rc;
    if (nl == NULL)
      return 0;
    i = end + 1;
    /* a line of blanks is no record */
    size_t n = s->rec.len;
    while (n > 0 && is_blank(s->rec.data[n - 1]))
      n--;
    size_t b = 0;
    while (b < n && is_blank(s->rec.data[b]))
      b++;
    if (b == n && !s->too_big) {
      tg_buf_reset(&s->rec);
      continue;
    }
    s->rec.len = n; /* the CR of CRLF and trailing blanks go */
    if ((rc = emit(s)) != 0)
      return rc;
  }
  return 0;
}

/* --- JSON --- */

/* Scans record bytes from D[I]; returns the index just past the record's end
 * (the closing bracket or brace at depth 0, or a scalar's end) or LEN when it
 * continues; *DONE tells which. */
static size_t scan_elem(struct tg_cat_obs_split *s, const char *d, size_t i, size_t len,
                        int *done) {
  *done = 0;
  for (; i < len; i++) {
    char c = d[i];
    if (s->in_str) {
      if (s->esc)
        s->esc = 0;
      else if (c == '\\')
        s->esc = 1;
      else if (c == '"')
        s->in_str = 0;
      continue;
    }
    if (c == '"') {
      s->in_str = 1;
    } else if (c == '{' || c == '[') {
      s->depth++;
    } else if (c == '}' || c == ']') {
      if (s->depth == 0) { /* the array's own ']' after a scalar */
        *done = 1;
        return i;
      }
      if (--s->depth == 0) {
        *done = 1;
        return i + 1;
      }
    } else if (s->depth == 0 && (c == ',' || is_blank(c))) {
      *done = 1; /* a scalar element ends */
      return i;
    }
  }
  return len;
}

static int json_elem(struct tg_cat_obs_split *s, const char *d, size_t *i, size_t len) {
  int done;
  size_t e = scan_elem(s, d, *i, len, &done);
  int rc = keep(s, d + *i, e - *i);
  *i = e;
  if (rc || !done)
    return rc;
  s->st = s->top ? S_END : S_AFTER;
  return emit(s);
}

static int json_start(struct tg_cat_obs_split *s, char c, size_t i, struct tg_err *err) {
  if (c == '[') {
    s->st = S_BEFORE;
    return 0;
  }
  if (c != '{')
    return syntax(s, i, err, "expected an object or an array");
  s->top = 1;
  s->st = S_ELEM;
  return 1; /* the byte belongs to the record */
}

static int feed_json(struct tg_cat_obs_split *s, const char *d, size_t len, struct tg_err *err) {
  size_t i = 0;
  int rc;
  while (i < len) {
    char c = d[i];
    if (s->st == S_ELEM) {
      if ((rc = json_elem(s, d, &i, len)) != 0)
        return rc;
      continue;
    }
    if (is_blank(c)) {
      i++;
      continue;
    }
    switch (s->st) {
    case S_START:
      rc = json_start(s, c, i, err);
      if (rc < 0)
        return rc;
      i += rc ? 0 : 1;
      break;
    case S_BEFORE:
      if (c == ']' && !s->trailing) {
        s->st = S_END;
      } else if (c == ']' || c == ',') {
        return syntax(s, i, err, "expected a value");
      } else {
        s->st = S_ELEM;
        s->trailing = 0;
        s->depth = 0;
        continue;
      }
      i++;
      break;
    case S_AFTER:
      if (c == ',') {
        s->st = S_BEFORE;
        s->trailing = 1;
      } else if (c == ']') {
        s->st = S_END;
      } else {
        return syntax(s, i, err, "expected ',' or ']'");
      }
      i++;
      break;
    default: /* S_END */
      return syntax(s, i, err, "data after the end");
    }
  }
  return 0;
}

int tg_cat_obs_split_feed(struct tg_cat_obs_split *s, const char *data, size_t len,
                          struct tg_err *err) {
  int rc = s->fmt == TG_OBS_FMT_NDJSON ? feed_ndjson(s, data, len) : feed_json(s, data, len, err);
  s->off += len;
  if (rc == TG_ENOMEM)
    tg_err_set(err, rc, "out of memory");
  return rc;
}

int tg_cat_obs_split_finish(struct tg_cat_obs_split *s, struct tg_err *err) {
  if (s->fmt == TG_OBS_FMT_NDJSON)
    return feed_ndjson(s, "\n", 1);
  if (s->st == S_START)
    return tg_err_set(err, TG_EINVAL, "the body is empty");
  if (s->st == S_ELEM && !s->top && s->depth == 0 && !s->in_str) {
    /* a scalar element cut by the end of the body: the array never closed */
    return syntax(s, 0, err, "unexpected end of the body");
  }
  if (s->st != S_END)
    return syntax(s, 0, err, "unexpected end of the body");
  return 0;
}
