/* tg_qs: strict, bounded decoding of URL query strings and path segments.
 * Route handlers get decoded keys and values or a clear refusal naming the
 * parameter; nothing here allocates. */
#include "tg_qs.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Is S[0..N) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
static int utf8_ok(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n)
      return 0;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += len;
  }
  return 1;
}

/* Decodes IN[0..N) into OUT (CAP bytes incl. the NUL). '%' must be followed
 * by two hex digits; %00 and raw control bytes are refused; PLUS_SPACE turns
 * '+' into ' ' (query strings). Returns the decoded length or -1. */
long tg_qs_decode(const char *in, size_t n, char *out, size_t cap, int plus_space) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)in[i];
    if (c == '%') {
      if (i + 2 >= n)
        return -1;
      int h = hexval((unsigned char)in[i + 1]), l = h < 0 ? -1 : hexval((unsigned char)in[i + 2]);
      if (h < 0 || l < 0)
        return -1;
      c = h * 16 + l;
      i += 2;
      if (c == 0)
        return -1;
    } else if (c == '+' && plus_space) {
      c = ' ';
    } else if (c < 0x20 || c == 0x7f) {
      return -1;
    }
    if (o + 1 >= cap)
      return -1;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  if (!utf8_ok((const unsigned char *)out, o))
    return -1;
  return (long)o;
}

/* Percent-encodes S for use as one path segment (RFC 3986 unreserved kept). */
int tg_qs_encode(struct tg_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      if (tg_buf_append(b, (const char *)p, 1))
        return TG_ENOMEM;
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      if (tg_buf_append(b, e, 3))
        return TG_ENOMEM;
    }
  }
  return 0;
}

int tg_qs_parse(const char *query, struct tg_qs *q) {
  size_t len = strlen(query), used = 0;
  q->n = 0;
  q->bad[0] = '\0';
  if (len > TG_QS_MAX_BYTES) {
    snprintf(q->bad, sizeof(q->bad), "(query string)");
    return TG_EINVAL;
  }
  const char *p = query, *end = query + len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    if (pe > p) {
      const char *eq = memchr(p, '=', (size_t)(pe - p));
      const char *ke = eq ? eq : pe;
      if (q->n >= TG_QS_MAX_PARAMS) {
        snprintf(q->bad, sizeof(q->bad), "(too many parameters)");
        return TG_EINVAL;
      }
      long kl = tg_qs_decode(p, (size_t)(ke - p), q->buf + used, sizeof(q->buf) - used, 1);
      if (kl <= 0) {
        snprintf(q->bad, sizeof(q->bad), "(parameter name)");
        return TG_EINVAL;
      }
      q->key[q->n] = q->buf + used;
      used += (size_t)kl + 1;
      const char *vs = eq ? eq + 1 : pe;
      long vl = tg_qs_decode(vs, (size_t)(pe - vs), q->buf + used, sizeof(q->buf) - used, 1);
      if (vl < 0) {
        snprintf(q->bad, sizeof(q->bad), "%s", q->key[q->n]);
        return TG_EINVAL;
      }
      q->val[q->n] = q->buf + used;
      used += (size_t)vl + 1;
      for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->key[i], q->key[q->n]) == 0) {
          snprintf(q->bad, sizeof(q->bad), "%s", q->key[q->n]);
          return TG_EINVAL; /* repeated parameter: ambiguous */
        }
      q->n++;
    }
    p = pe + 1;
  }
  return 0;
}

const char *tg_qs_get(const struct tg_qs *q, const char *key) {
  for (size_t i = 0; i < q->n; i++)
    if (strcmp(q->key[i], key) == 0)
      return q->val[i];
  return NULL;
}
