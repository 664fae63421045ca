/* tg_qs: strict, bounded decoding of URL query strings and path segments.
 * Route handlers get decoded keys and values or a clear refusal naming the
 * parameter; nothing here allocates. */
#include "tg_qs.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

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

long tg_qs_decode(const char *in, size_t n, char *out, size_t cap, int plus_space) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)in[i];
    if (c == '%') {
      if (i + 2 >= n)
        return TG_EINVAL;
      int h = hexval((unsigned char)in[i + 1]), l = h < 0 ? -1 : hexval((unsigned char)in[i + 2]);
      if (h < 0 || l < 0)
        return TG_EINVAL;
      c = h * 16 + l;
      i += 2;
      if (c == 0)
        return TG_EINVAL;
    } else if (c == '+' && plus_space) {
      c = ' ';
    } else if (c < 0x20 || c == 0x7f) {
      return TG_EINVAL;
    }
    if (o + 1 >= cap)
      return TG_ETOOBIG;
    out[o++] = (char)c;
  }
  if (cap == 0)
    return TG_ETOOBIG;
  out[o] = '\0';
  if (!tg_utf8_valid(out, o))
    return TG_EINVAL;
  return (long)o;
}

int tg_qs_encode(struct tg_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
               *p == '-' || *p == '.' || *p == '_' || *p == '~';
    char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
    if (tg_buf_append(b, keep ? (const char *)p : e, keep ? 1 : 3))
      return TG_ENOMEM;
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
