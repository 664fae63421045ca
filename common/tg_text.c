/* tg_text: text folding for search on utf8proc (NFKC_Casefold), with byte
 * offsets for highlighting, and the UTF-8 helpers. Text is folded one
 * extended grapheme cluster at a time: composition and canonical reordering
 * never cross a cluster boundary, so this equals folding the whole text and
 * lets every folded code point say where it came from. ASCII, and code
 * points that fold to one code point on their own (kept in a table filled
 * from utf8proc on first use), skip utf8proc's buffers: the common case. */
#include "tg_text.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* utf8proc_NFKC_Casefold's options, without NULLTERM. */
#define FOLD_OPTS                                                                                  \
  (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* The longest cluster folded as one: bounds utf8proc's quadratic reordering
 * of combining marks (Unicode's stream-safe format allows 30 in a row). */
enum { MAX_CLUSTER = 32 };

int32_t tg_utf8_next(const char *s, size_t len, size_t *pos) {
  utf8proc_int32_t cp;
  if (*pos >= len)
    return -1;
  unsigned char c = (unsigned char)s[*pos];
  if (c < 0x80) {
    *pos += 1;
    return c;
  }
  utf8proc_ssize_t n =
      utf8proc_iterate((const utf8proc_uint8_t *)s + *pos, (utf8proc_ssize_t)(len - *pos), &cp);
  if (n <= 0 || cp < 0)
    return -1;
  *pos += (size_t)n;
  return cp;
}

void tg_utf8_scrub(char *s) {
  size_t len = strlen(s), pos = 0;
  while (pos < len) {
    size_t at = pos;
    if (tg_utf8_next(s, len, &pos) < 0) {
      s[at] = '?';
      pos = at + 1;
    }
  }
}

int tg_utf8_put(struct tg_buf *b, uint32_t cp) {
  utf8proc_uint8_t u[4];
  if (cp < 0x80) {
    char c = (char)cp;
    return tg_buf_append(b, &c, 1);
  }
  utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, u);
  return n > 0 ? tg_buf_append(b, u, (size_t)n) : TG_EINVAL;
}

int tg_utf8_valid(const char *s, size_t len) {
  size_t pos = 0;
  while (pos < len)
    if (tg_utf8_next(s, len, &pos) < 0)
      return 0;
  return 1;
}

/* What the folding needs to know of a code point, from utf8proc's data:
 * K_ONE: standing alone it folds to one BMP code point (itself for most);
 * K_PLAIN: a grapheme boundary lies between it and any other K_PLAIN code
 * point (grapheme break class Other, not ignorable), so a run of them folds
 * one by one. */
enum { K_KNOWN = 1, K_ONE = 2, K_PLAIN = 4 };

static unsigned kind_of(int32_t c, uint32_t *one) {
  const utf8proc_property_t *p = utf8proc_get_property(c);
  utf8proc_int32_t d[8];
  unsigned k = K_KNOWN;
  utf8proc_ssize_t n = utf8proc_decompose_char(c, d, 8, FOLD_OPTS, NULL);
  if (n > 0 && n <= 8)
    n = utf8proc_normalize_utf32(d, n, FOLD_OPTS);
  if (n == 1 && d[0] < 0x10000 && utf8proc_get_property(d[0])->combining_class == 0) {
    k |= K_ONE;
    *one = (uint32_t)d[0];
  }
  if (p->boundclass == UTF8PROC_BOUNDCLASS_OTHER && !p->ignorable)
    k |= K_PLAIN;
  return k;
}

/* kind_of for the BMP, filled on first use (racing threads store the same):
 * the kind, and for K_ONE what the code point folds to. */
static _Atomic unsigned char kinds[0x10000];
static _Atomic uint16_t ones[0x10000];

static unsigned kind(int32_t c, uint32_t *one) {
  if (c >= 0x10000)
    return kind_of(c, one);
  unsigned k = atomic_load_explicit(&kinds[c], memory_order_acquire);
  if (k == 0) {
    uint32_t t = 0;
    k = kind_of(c, &t);
    atomic_store_explicit(&ones[c], (uint16_t)t, memory_order_relaxed);
    atomic_store_explicit(&kinds[c], (unsigned char)k, memory_order_release);
  }
  if (k & K_ONE)
    *one = atomic_load_explicit(&ones[c], memory_order_relaxed);
  return k;
}

/* tg_utf8_next with the three-byte form (kana, kanji) decoded inline. */
static inline int32_t next_cp(const char *s, size_t len, size_t *pos) {
  const unsigned char *p = (const unsigned char *)s + *pos;
  if (len - *pos >= 3 && (p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
    int32_t c = (int32_t)((p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu));
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
      return -1;
    *pos += 3;
    return c;
  }
  return tg_utf8_next(s, len, pos);
}

/* The folded text being built. */
struct out {
  uint32_t *cp;
  size_t *st, *en;
  size_t n, cap;
  int offsets;
};

static int out_grow(struct out *o, size_t cap) {
  uint32_t *cp = realloc(o->cp, cap * sizeof(*cp));
  if (cp == NULL)
    return TG_ENOMEM;
  o->cp = cp;
  if (o->offsets) {
    size_t *a = realloc(o->st, cap * sizeof(*a));
    if (a == NULL)
      return TG_ENOMEM;
    o->st = a;
    size_t *b = realloc(o->en, cap * sizeof(*b));
    if (b == NULL)
      return TG_ENOMEM;
    o->en = b;
  }
  o->cap = cap;
  return 0;
}

static inline int out_push(struct out *o, uint32_t c, size_t st, size_t en) {
  if (o->n == o->cap && out_grow(o, o->cap * 2 + 16) != 0)
    return TG_ENOMEM;
  o->cp[o->n] = c;
  if (o->offsets) {
    o->st[o->n] = st;
    o->en[o->n] = en;
  }
  o->n++;
  return 0;
}

/* Folds the cluster S[A..B) (well-formed UTF-8) with utf8proc. */
static int fold_cluster(struct out *o, const char *s, size_t a, size_t b) {
  utf8proc_int32_t small[64], *buf = small;
  utf8proc_ssize_t cap = 64, n;
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s + a;
  n = utf8proc_decompose(p, (utf8proc_ssize_t)(b - a), buf, cap, FOLD_OPTS);
  if (n > cap) { /* e.g. U+FDFA, 18 code points */
    if ((buf = malloc((size_t)n * sizeof(*buf))) == NULL)
      return TG_ENOMEM;
    cap = n;
    n = utf8proc_decompose(p, (utf8proc_ssize_t)(b - a), buf, cap, FOLD_OPTS);
  }
  if (n >= 0)
    n = utf8proc_normalize_utf32(buf, n, FOLD_OPTS);
  /* Neither fails on well-formed input without UTF8PROC_REJECTNA; an error
   * would be utf8proc's UTF8PROC_ERROR_NOMEM. */
  int rc = n < 0 ? TG_ENOMEM : 0;
  for (utf8proc_ssize_t i = 0; i < n && rc == 0; i++)
    rc = out_push(o, (uint32_t)buf[i], a, b);
  if (buf != small)
    free(buf);
  return rc;
}

/* Finds the end of the cluster that starts with CP (ending at *POS): extends
 * *POS while no grapheme boundary follows. A default ignorable (U+00AD is a
 * grapheme of its own) is dropped by the folding, so what follows it may
 * still combine with what came before. Returns 1 if CP stands alone. */
static int cluster_end(const char *s, size_t len, int32_t cp, size_t *pos) {
  int count = 1;
  size_t end = *pos;
  for (;;) {
    size_t next = end;
    int32_t d = end < len && (unsigned char)s[end] >= 0x80 ? next_cp(s, len, &next) : -1;
    if (d < 0 || count == MAX_CLUSTER)
      break;
    int ignorable = utf8proc_get_property(d)->ignorable;
    if (!ignorable && utf8proc_grapheme_break(cp, d))
      break;
    if (!ignorable)
      cp = d;
    end = next;
    count++;
  }
  int alone = end == *pos;
  *pos = end;
  return alone;
}

/* A code point decoded with its kind. */
struct dec {
  int32_t cp;   /* -1: none */
  unsigned k;   /* kind(), 0 for ASCII */
  uint32_t one; /* for K_ONE */
  size_t end;   /* the byte after it */
};

static int fold(const char *s, size_t len, struct out *o) {
  int rc = 0;
  /* A K_PLAIN code point already decoded while looking past the one before. */
  struct dec ahead = {-1, 0, 0, 0};
  for (size_t i = 0; i < len && rc == 0;) {
    struct dec c = ahead;
    ahead.cp = -1;
    if (c.cp < 0) {
      unsigned char b = (unsigned char)s[i];
      /* ASCII followed by ASCII (or the end) is a cluster of its own. */
      if (b < 0x80 && (i + 1 == len || (unsigned char)s[i + 1] < 0x80)) {
        rc = out_push(o, b >= 'A' && b <= 'Z' ? b + 32u : b, i, i + 1);
        i++;
        continue;
      }
      c.end = i;
      if ((c.cp = next_cp(s, len, &c.end)) < 0) {
        rc = out_push(o, 0xFFFD, i, i + 1);
        i++;
        continue;
      }
      c.k = c.cp < 0x80 ? 0 : kind(c.cp, &c.one);
    }
    /* Between two K_PLAIN code points, or before ASCII, a broken byte or the
     * end, lies a boundary; anything else asks utf8proc. */
    size_t pos = c.end;
    int alone = 0;
    if (c.k & K_PLAIN) {
      if (pos == len || (unsigned char)s[pos] < 0x80) {
        alone = 1;
      } else {
        struct dec d = {-1, 0, 0, pos};
        if ((d.cp = next_cp(s, len, &d.end)) < 0)
          alone = 1;
        else if ((d.k = kind(d.cp, &d.one)) & K_PLAIN)
          alone = 1, ahead = d;
      }
    }
    if (!alone)
      alone = cluster_end(s, len, c.cp, &pos);
    if (alone && c.cp < 0x80)
      rc = out_push(o, c.cp >= 'A' && c.cp <= 'Z' ? (uint32_t)c.cp + 32u : (uint32_t)c.cp, i, pos);
    else if (alone && (c.k & K_ONE))
      rc = out_push(o, c.one, i, pos);
    else
      rc = fold_cluster(o, s, i, pos);
    i = pos;
  }
  return rc;
}

int tg_text_fold(const char *s, size_t len, uint32_t **cps, size_t **starts, size_t **ends,
                 size_t *n) {
  struct out o = {0};
  o.offsets = starts != NULL || ends != NULL;
  /* Folding rarely makes text longer than its bytes: one allocation. */
  int rc = out_grow(&o, len + 1);
  if (rc == 0)
    rc = fold(s, len, &o);
  if (rc != 0) {
    free(o.cp);
    free(o.st);
    free(o.en);
    return TG_ENOMEM;
  }
  *cps = o.cp;
  *n = o.n;
  if (starts != NULL)
    *starts = o.st;
  else
    free(o.st);
  if (ends != NULL)
    *ends = o.en;
  else
    free(o.en);
  return 0;
}

static int is_space(uint32_t c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

int tg_text_fold_key(const char *s, size_t len, struct tg_buf *out) {
  uint32_t *cps;
  size_t n;
  if (tg_text_fold(s, len, &cps, NULL, NULL, &n) != 0)
    return TG_ENOMEM;
  /* At most four bytes per code point, one space before each, the NUL. */
  if (n > (SIZE_MAX - 1) / 5 || tg_buf_reserve(out, n * 5 + 1) != 0) {
    free(cps);
    return TG_ENOMEM;
  }
  unsigned char *w = (unsigned char *)out->data + out->len;
  int space = 0, any = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = cps[i];
    if (is_space(c)) {
      space = any;
      continue;
    }
    if (space)
      *w++ = ' ';
    space = 0;
    any = 1;
    if (c < 0x80)
      *w++ = (unsigned char)c;
    else
      w += utf8proc_encode_char((utf8proc_int32_t)c, w);
  }
  free(cps);
  out->len = (size_t)((char *)w - out->data);
  out->data[out->len] = '\0';
  return 0;
}

uint32_t tg_text_fold_width(uint32_t cp) {
  if (cp < 0x80)
    return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
  if (cp < 0x3000 || cp > 0xFFEE)
    return cp;
  const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
  utf8proc_int32_t d[2];
  if ((p->decomp_type != UTF8PROC_DECOMP_TYPE_WIDE &&
       p->decomp_type != UTF8PROC_DECOMP_TYPE_NARROW) ||
      utf8proc_decompose_char((utf8proc_int32_t)cp, d, 2, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT,
                              NULL) != 1)
    return cp;
  uint32_t f = (uint32_t)d[0];
  return f >= 'A' && f <= 'Z' ? f + 32 : f;
}

/* Levenshtein distance between code point strings A and B (short: labels). */
static size_t distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
  size_t *row = malloc((nb + 1) * sizeof(*row));
  if (row == NULL)
    return (size_t)-1;
  for (size_t j = 0; j <= nb; j++)
    row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  size_t d = row[nb];
  free(row);
  return d;
}

size_t tg_text_distance(const char *a, const char *b) {
  uint32_t *ca = NULL, *cb = NULL;
  size_t na = 0, nb = 0, d = (size_t)-1;
  if (tg_text_fold(a, strlen(a), &ca, NULL, NULL, &na) == 0 &&
      tg_text_fold(b, strlen(b), &cb, NULL, NULL, &nb) == 0)
    d = distance(ca, na, cb, nb);
  free(ca);
  free(cb);
  return d;
}
