/* tg_voc_fast: the converter's fast path. A record that is a flat-enough JSON object
 * is checked and split into members by one scan, and the output is written from the
 * input text: untouched values are copied (minified), converted ones written from
 * their exact decimal or string form. No DOM, no floating point. Anything unusual
 * (escapes in keys or converted strings, \u escapes, deep nesting, duplicate keys,
 * very long numbers) falls back to the jansson path, which has the last word. */
#include "tg_voc_prof.h"
#include "tg_voc_int.h"

#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { MAX_MEMBERS = 128, MAX_DEPTH = 32, MAX_DIGITS = 15 };

struct span {
  const char *p;
  size_t n;
};

struct member {
  struct span key;   /* between the quotes, no escapes */
  struct span val;   /* the raw value */
  int esc;           /* the value is a string with escapes */
};

static const char *ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* Checks a string starting at P (after the opening quote). Returns the position after
 * the closing quote, or NULL to fall back. *ESC is set if it has escapes. */
static const char *scan_string(const char *p, const char *end, int *esc) {
  *esc = 0;
  while ((p = tg__voc_json_plain_run(p, end)) < end) {
    unsigned char c = (unsigned char)*p;
    if (c == '"')
      return p + 1;
    if (c < 0x20)
      return NULL;
    if (c == '\\') {
      if (p + 1 >= end || strchr("\"\\/bfnrt", p[1]) == NULL || p[1] == '\0')
        return NULL; /* \u and bad escapes: let jansson judge */
      *esc = 1;
      p += 2;
    } else if (c < 0x80) {
      p++;
    } else {
      size_t pos = 0, left = (size_t)(end - p);
      if (tg_utf8_next(p, left, &pos) < 0)
        return NULL;
      p += pos;
    }
  }
  return NULL;
}

/* Checks a JSON number at P: -?(0|[1-9][0-9]*)(.[0-9]+)?. Exponents, "-0" and more
 * than 15 digits (where a double, as jansson keeps numbers, stops being exact) fall back,
 * so both paths read the same number. */
static const char *scan_number(const char *p, const char *end) {
  const char *s = p;
  int digits = 0;
  if (p < end && *p == '-')
    p++;
  if (p >= end || *p < '0' || *p > '9')
    return NULL;
  if (*p == '0') {
    p++, digits++;
    if (*s == '-' && (p >= end || *p != '.'))
      return NULL;
  } else {
    while (p < end && *p >= '0' && *p <= '9')
      p++, digits++;
  }
  if (p < end && *p == '.') {
    if (++p >= end || *p < '0' || *p > '9')
      return NULL;
    while (p < end && *p >= '0' && *p <= '9')
      p++, digits++;
  }
  if (p < end && (*p == 'e' || *p == 'E'))
    return NULL;
  return digits > MAX_DIGITS ? NULL : p;
}

/* Checks any JSON value at P. Returns the position after it or NULL to fall back. */
static const char *scan_value(const char *p, const char *end, int depth, int *esc) {
  *esc = 0;
  if (p >= end || depth > MAX_DEPTH)
    return NULL;
  switch (*p) {
  case '"':
    return scan_string(p + 1, end, esc);
  case 't':
    return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
  case 'f':
    return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
  case 'n':
    return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
  case '{':
  case '[': {
    char close = *p == '{' ? '}' : ']';
    int e;
    p = ws(p + 1, end);
    if (p < end && *p == close)
      return p + 1;
    for (;;) {
      if (close == '}') {
        if (p >= end || *p != '"' || (p = scan_string(p + 1, end, &e)) == NULL)
          return NULL;
        p = ws(p, end);
        if (p >= end || *p != ':')
          return NULL;
        p = ws(p + 1, end);
      }
      if ((p = scan_value(p, end, depth + 1, &e)) == NULL)
        return NULL;
      p = ws(p, end);
      if (p < end && *p == close)
        return p + 1;
      if (p >= end || *p != ',')
        return NULL;
      p = ws(p + 1, end);
    }
  }
  default:
    return scan_number(p, end);
  }
}

/* Splits the record into members. Returns the number of members, or -1 to fall back. */
static int split(const char *rec, size_t len, struct member *m) {
  const char *p = rec, *end = rec + len;
  int n = 0, esc;
  p = ws(p, end);
  if (p >= end || *p != '{')
    return -1;
  p = ws(p + 1, end);
  if (p < end && *p == '}')
    return ws(p + 1, end) == end ? 0 : -1;
  for (;;) {
    if (n == MAX_MEMBERS || p >= end || *p != '"')
      return -1;
    const char *k = p + 1;
    if ((p = scan_string(k, end, &esc)) == NULL || esc)
      return -1;
    m[n].key.p = k;
    m[n].key.n = (size_t)(p - 1 - k);
    p = ws(p, end);
    if (p >= end || *p != ':')
      return -1;
    p = ws(p + 1, end);
    const char *v = p;
    if ((p = scan_value(p, end, 1, &m[n].esc)) == NULL)
      return -1;
    m[n].val.p = v;
    m[n].val.n = (size_t)(p - v);
    for (int j = 0; j < n; j++) /* duplicate keys: jansson's rules apply */
      if (m[j].key.n == m[n].key.n && memcmp(m[j].key.p, m[n].key.p, m[n].key.n) == 0)
        return -1;
    n++;
    p = ws(p, end);
    if (p < end && *p == '}')
      return ws(p + 1, end) == end ? n : -1;
    if (p >= end || *p != ',')
      return -1;
    p = ws(p + 1, end);
  }
}

static int find(const struct member *m, int n, const char *name, size_t len) {
  for (int i = 0; i < n; i++)
    if (m[i].key.n == len && memcmp(m[i].key.p, name, len) == 0)
      return i;
  return -1;
}

/* The view of a raw value (strings only without escapes). */
static void view_of(const struct member *m, struct tg__voc_view *v) {
  const char *p = m->val.p;
  v->kind = 'o';
  v->text = p;
  v->len = m->val.n;
  if (*p == '"' && !m->esc) {
    v->kind = 's';
    v->text = p + 1;
    v->len = m->val.n - 2;
  } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
    v->kind = memchr(p, '.', m->val.n) ? 'n' : 'i';
  }
}

/* Appends N bytes of P to B: the common case without a call. */
static int app(struct tg_buf *b, const char *p, size_t n) {
  if (b->data != NULL && b->len + n + 1 <= b->cap) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
  }
  return tg_buf_append(b, p, n);
}

/* One output member: a key and a value, each raw input text or generated. */
struct outm {
  const char *key;   /* a rule's name (escaped when written), or NULL for KEYSPAN */
  size_t keylen;
  struct span keyspan;
  struct span val;   /* raw input text to copy (minified), when GEN < 0 */
  long gen;          /* offset of generated JSON in the scratch buffer, or -1 */
  size_t genlen;
};

static int same_key(const struct outm *o, const char *name, size_t len) {
  if (o->key)
    return o->keylen == len && memcmp(o->key, name, len) == 0;
  return o->keyspan.n == len && memcmp(o->keyspan.p, name, len) == 0;
}

/* Appends V with white space outside strings removed. */
static int put_minified(struct tg_buf *b, struct span v) {
  const char *p = v.p, *end = v.p + v.n, *run = p;
  int in_str = 0;
  if (v.n == 0 || (*p != '{' && *p != '['))
    return app(b, v.p, v.n);
  for (; p < end; p++) {
    if (in_str) {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        in_str = 0;
    } else if (*p == '"') {
      in_str = 1;
    } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
      if (app(b, run, (size_t)(p - run)))
        return TG_ENOMEM;
      run = p + 1;
    }
  }
  return app(b, run, (size_t)(end - run));
}

/* Sets KEY to the value in O's list: replaced in place if present, else appended. */
static void set_out(struct outm *o, int *no, const struct outm *x) {
  for (int i = 0; i < *no; i++)
    if (x->key ? same_key(&o[i], x->key, x->keylen)
               : (o[i].key ? same_key(x, o[i].key, o[i].keylen)
                           : (o[i].keyspan.n == x->keyspan.n &&
                              memcmp(o[i].keyspan.p, x->keyspan.p, x->keyspan.n) == 0))) {
      o[i].val = x->val;
      o[i].gen = x->gen;
      o[i].genlen = x->genlen;
      return;
    }
  o[(*no)++] = *x;
}

static int write_result(struct tg_buf *scratch, const struct tg__voc_result *res) {
  if (res->kind == 'j')
    return tg_voc_json_write(scratch, res->j);
  if (res->kind == 's')
    return tg__voc_json_string(scratch, res->buf, strlen(res->buf));
  return tg_buf_puts(scratch, res->buf);
}

static int emit_object(struct tg_buf *out, const struct outm *o, int no,
                       const struct tg_buf *scratch) {
  if (app(out, "{", 1))
    return TG_ENOMEM;
  for (int i = 0; i < no; i++) {
    int rc = i ? app(out, ",", 1) : 0;
    if (rc == 0 && o[i].key)
      rc = tg__voc_json_string(out, o[i].key, o[i].keylen);
    else if (rc == 0)
      rc = app(out, "\"", 1) || app(out, o[i].keyspan.p, o[i].keyspan.n) || app(out, "\"", 1);
    if (rc == 0)
      rc = app(out, ":", 1);
    if (rc == 0)
      rc = o[i].gen >= 0 ? app(out, scratch->data + o[i].gen, o[i].genlen)
                         : put_minified(out, o[i].val);
    if (rc)
      return TG_ENOMEM;
  }
  return app(out, "}", 1);
}

int tg__voc_fast_apply(const struct tg_voc_profile *p, const char *rec, size_t len,
                       size_t record, struct tg_buf *out, struct tg_buf *scratch,
                       tg_voc_conv_report_cb cb, void *ud) {
  struct member m[MAX_MEMBERS];
  struct outm o[MAX_MEMBERS + 64];
  unsigned char consumed[MAX_MEMBERS] = {0};
  int src[64];
  char why[600];
  int n, no = 0, nfail = 0, rc = 0;
  if (!p->fast || p->n > 64 || (n = split(rec, len, m)) < 0)
    return TG__VOC_FALLBACK;
  /* Strings that need unescaping before conversion go the slow way. */
  for (size_t i = 0; i < p->n; i++) {
    const struct rule *r = &p->rules[i];
    src[i] = r->from ? find(m, n, r->from, r->from_len) : -1;
    if (src[i] >= 0 && m[src[i]].esc && r->kind != K_COPY && r->kind != K_DROP)
      return TG__VOC_FALLBACK;
  }
  tg_buf_reset(scratch);
  struct outm conv[64];
  for (size_t i = 0; i < p->n; i++) {
    const struct rule *r = &p->rules[i];
    struct outm *x = &conv[i];
    memset(x, 0, sizeof(*x));
    x->key = r->to;
    x->keylen = r->to_len;
    x->gen = -1;
    if (r->kind == K_CONST) {
      x->gen = (long)scratch->len;
      rc = tg_buf_puts(scratch, r->const_text);
      x->genlen = scratch->len - (size_t)x->gen;
    } else if (r->kind == K_DROP) {
      if (src[i] >= 0)
        consumed[src[i]] = 1;
      x->key = NULL;
    } else if (src[i] < 0) {
      x->key = NULL;
      if (r->required) {
        tg__voc_report(cb, ud, record, r->from, r->to, "required field is missing", !p->lenient);
        nfail++;
      }
    } else if (r->kind == K_COPY || (m[src[i]].val.n == 4 && memcmp(m[src[i]].val.p, "null", 4) == 0)) {
      x->val = m[src[i]].val;
      consumed[src[i]] = 1;
    } else {
      struct tg__voc_view v;
      struct tg__voc_result res;
      view_of(&m[src[i]], &v);
      int crc = tg__voc_convert_view(r, &v, &res, why, sizeof(why));
      if (crc == TG_EINVAL) { /* not convertible: an issue in the data */
        tg__voc_report(cb, ud, record, r->from, r->to, why, !p->lenient);
        nfail++;
        x->key = NULL;
        if (p->drop_unmapped) { /* the unconverted value stays under its own name */
          x->key = r->from;
          x->keylen = r->from_len;
          x->val = m[src[i]].val;
        }
      } else if (crc != 0) {
        rc = crc;
      } else {
        consumed[src[i]] = 1;
        x->gen = (long)scratch->len;
        rc = write_result(scratch, &res);
        x->genlen = scratch->len - (size_t)x->gen;
      }
    }
    if (rc)
      break;
  }
  if (rc == 0 && nfail > 0 && !p->lenient)
    rc = TG_EINVAL;
  if (rc == 0) {
    const char *renamed[MAX_MEMBERS] = {0};
    for (int i = 0; p->renames && i < n; i++)
      renamed[i] = tg__voc_rename(p, m[i].key.p, m[i].key.n);
    if (!p->drop_unmapped)
      for (int i = 0; i < n; i++)
        if (!consumed[i] && !renamed[i]) {
          o[no].key = NULL;
          o[no].keyspan = m[i].key;
          o[no].val = m[i].val;
          o[no].gen = -1;
          o[no].genlen = 0;
          no++;
        }
    for (int i = 0; i < n; i++) /* renamed members, in their order */
      if (renamed[i]) {
        struct outm x = {renamed[i], strlen(renamed[i]), {NULL, 0}, m[i].val, -1, 0};
        set_out(o, &no, &x);
      }
    for (size_t i = 0; i < p->n; i++)
      if (conv[i].key != NULL)
        set_out(o, &no, &conv[i]);
    rc = emit_object(out, o, no, scratch);
  }
  return rc;
}
