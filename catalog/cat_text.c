/* cat_text: search text for the catalog: an NFKC subset normaliser (width,
 * half-width katakana, case), tokenising into Latin words and CJK bigrams and
 * unigrams for the index, and HTML-safe highlighting of matches on the
 * original text. */
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_err.h"

#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 sequence at S (N bytes left); returns its length, or 0
 * for an invalid sequence (then *CP is U+FFFD and one byte is skipped). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  uint32_t c = s[0];
  size_t len;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    c &= 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    c &= 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    c &= 0x07;
  } else {
    *cp = 0xFFFD;
    return 0;
  }
  if (len > n) {
    *cp = 0xFFFD;
    return 0;
  }
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFD;
      return 0;
    }
    c = (c << 6) | (s[i] & 0x3F);
  }
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    *cp = 0xFFFD;
    return 0;
  }
  *cp = c;
  return len;
}

int tg__cat_put_utf8(struct tg_buf *b, uint32_t c) {
  unsigned char o[4];
  size_t n;
  if (c < 0x80) {
    o[0] = (unsigned char)c;
    n = 1;
  } else if (c < 0x800) {
    o[0] = (unsigned char)(0xC0 | (c >> 6));
    o[1] = (unsigned char)(0x80 | (c & 0x3F));
    n = 2;
  } else if (c < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (c >> 12));
    o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (c & 0x3F));
    n = 3;
  } else {
    o[0] = (unsigned char)(0xF0 | (c >> 18));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    n = 4;
  }
  return tg_buf_append(b, o, n);
}

/* Half-width katakana U+FF61..U+FF9D as their full-width forms. */
static const uint16_t halfkana[] = {
    0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9,
    0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB,
    0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1,
    0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5,
    0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9,
    0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3};

/* Joins a voiced (0x3099) or semi-voiced (0x309A) mark with katakana BASE;
 * returns the composed character or 0. */
static uint32_t compose_kana(uint32_t base, uint32_t mark) {
  if (mark == 0x3099) {
    if (base == 0x30A6)
      return 0x30F4;
    if ((base >= 0x30AB && base <= 0x30C2 && (base - 0x30AB) % 2 == 0) ||
        base == 0x30C4 || base == 0x30C6 || base == 0x30C8)
      return base + 1;
    if (base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0)
      return base + 1;
  } else if (mark == 0x309A) {
    if (base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0)
      return base + 2;
  }
  return 0;
}

/* Maps one code point; returns 0 to drop it. */
static uint32_t fold(uint32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E)
    c -= 0xFEE0;
  else if (c == 0x3000)
    c = ' ';
  else if (c >= 0xFF61 && c <= 0xFF9D)
    c = halfkana[c - 0xFF61];
  else if (c == 0xFF9E)
    c = 0x3099;
  else if (c == 0xFF9F)
    c = 0x309A;
  if (c >= 'A' && c <= 'Z')
    c += 32;
  else if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
    c += 32;
  return c;
}

int tg__cat_normalise(const char *s, size_t len, uint32_t **cps, size_t **offs, size_t **ends,
                      size_t *n) {
  uint32_t *o = malloc((len + 1) * sizeof(*o));
  size_t *st = offs ? malloc((len + 1) * sizeof(*st)) : NULL;
  size_t *en = ends ? malloc((len + 1) * sizeof(*en)) : NULL;
  if (o == NULL || (offs && st == NULL) || (ends && en == NULL)) {
    free(o);
    free(st);
    free(en);
    return TG_ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < len;) {
    uint32_t c;
    size_t l = utf8_decode((const unsigned char *)s + i, len - i, &c);
    if (l == 0)
      l = 1, c = ' ';
    c = fold(c);
    if ((c == 0x3099 || c == 0x309A) && k > 0) {
      uint32_t j = compose_kana(o[k - 1], c);
      if (j) {
        o[k - 1] = j;
        if (en)
          en[k - 1] = i + l;
        i += l;
        continue;
      }
    }
    o[k] = c;
    if (st)
      st[k] = i;
    if (en)
      en[k] = i + l;
    k++;
    i += l;
  }
  *cps = o;
  if (offs)
    *offs = st;
  if (ends)
    *ends = en;
  *n = k;
  return 0;
}

int tg__cat_cclass(uint32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
    return TG__CC_WORD;
  if (c < 0xC0)
    return TG__CC_SEP;
  if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x370 && c <= 0x3FF) ||
      (c >= 0x400 && c <= 0x4FF))
    return TG__CC_WORD;
  if ((c >= 0x3041 && c <= 0x3096) || (c >= 0x309D && c <= 0x309F) ||
      (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x30FC && c <= 0x30FF) ||
      (c >= 0x3005 && c <= 0x3007) || (c >= 0x31F0 && c <= 0x31FF) ||
      (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
      (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
      (c >= 0x20000 && c <= 0x2FFFF))
    return TG__CC_CJK;
  return TG__CC_SEP;
}

void tg__cat_stem(char *w, size_t *len) {
  size_t n = *len;
  /* Only plain ASCII words are stemmed: a light, predictable English stemmer. */
  for (size_t i = 0; i < n; i++)
    if (!(w[i] >= 'a' && w[i] <= 'z'))
      return;
  if (n > 4 && memcmp(w + n - 3, "ies", 3) == 0) {
    w[n - 3] = 'y';
    n -= 2;
  } else if (n > 4 && memcmp(w + n - 4, "sses", 4) == 0) {
    n -= 2;
  } else if (n > 5 && memcmp(w + n - 3, "ing", 3) == 0) {
    n -= 3;
  } else if (n > 4 && memcmp(w + n - 2, "ed", 2) == 0 && w[n - 3] != 'e') {
    n -= 2;
  } else if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i') {
    n -= 1;
  }
  w[n] = '\0';
  *len = n;
}

/* Appends the Latin word CPS[0..N) (stemmed when STEM) to B. */
static int put_word(struct tg_buf *b, const uint32_t *cps, size_t n, int stem) {
  struct tg_buf w;
  int rc = 0;
  tg_buf_init(&w);
  for (size_t i = 0; i < n && i < 64 && rc == 0; i++)
    rc = tg__cat_put_utf8(&w, cps[i]);
  if (rc == 0 && w.len > 0) {
    size_t len = w.len;
    if (stem)
      tg__cat_stem(w.data, &len);
    rc = tg_buf_append(b, w.data, len);
  }
  tg_buf_close(&w);
  return rc;
}

int tg__cat_index_terms(struct tg_buf *b, const char *s, size_t len) {
  uint32_t *cps;
  size_t n;
  int rc = tg__cat_normalise(s, len, &cps, NULL, NULL, &n);
  if (rc)
    return rc;
  for (size_t i = 0; i < n && rc == 0;) {
    int cc = tg__cat_cclass(cps[i]);
    size_t j = i;
    while (j < n && tg__cat_cclass(cps[j]) == cc)
      j++;
    if (cc == TG__CC_WORD) {
      rc = tg_buf_puts(b, " ");
      if (rc == 0)
        rc = put_word(b, cps + i, j - i, 1);
    } else if (cc == TG__CC_CJK) {
      /* Bigrams first, consecutively, so a phrase of bigrams matches a run. */
      for (size_t k = i; k + 1 < j && rc == 0; k++) {
        rc = tg_buf_puts(b, " ");
        rc |= tg__cat_put_utf8(b, cps[k]);
        rc |= tg__cat_put_utf8(b, cps[k + 1]);
      }
      for (size_t k = i; k < j && rc == 0; k++) {
        rc = tg_buf_puts(b, " ");
        rc |= tg__cat_put_utf8(b, cps[k]);
      }
    }
    i = j;
  }
  free(cps);
  return rc ? TG_ENOMEM : 0;
}

/* ---- highlighting ---- */

static int put_escaped(struct tg_buf *b, const char *s, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    switch (s[i]) {
    case '<': rc = tg_buf_puts(b, "&lt;"); break;
    case '>': rc = tg_buf_puts(b, "&gt;"); break;
    case '&': rc = tg_buf_puts(b, "&amp;"); break;
    case '"': rc = tg_buf_puts(b, "&quot;"); break;
    case '\'': rc = tg_buf_puts(b, "&#39;"); break;
    default: rc = tg_buf_append(b, s + i, 1); break;
    }
  }
  return rc;
}

int tg__cat_highlight(struct tg_buf *out, const char *s, const char *words, size_t nwords,
                      size_t maxcp) {
  uint32_t *cps;
  size_t *st, *en, n;
  int rc = tg__cat_normalise(s, strlen(s), &cps, &st, &en, &n);
  if (rc)
    return rc;
  unsigned char *mark = calloc(n + 1, 1);
  if (mark == NULL) {
    free(cps);
    free(st);
    free(en);
    return TG_ENOMEM;
  }
  const char *w = words;
  for (size_t k = 0; k < nwords; k++, w += strlen(w) + 1) {
    uint32_t *wc;
    size_t wn;
    if (tg__cat_normalise(w, strlen(w), &wc, NULL, NULL, &wn) != 0)
      continue;
    int latin = wn > 0 && tg__cat_cclass(wc[0]) == TG__CC_WORD;
    for (size_t i = 0; wn > 0 && i + wn <= n; i++) {
      if (latin && i > 0 && tg__cat_cclass(cps[i - 1]) == TG__CC_WORD)
        continue;
      if (memcmp(cps + i, wc, wn * sizeof(*wc)) != 0)
        continue;
      size_t end = i + wn;
      while (latin && end < n && tg__cat_cclass(cps[end]) == TG__CC_WORD)
        end++; /* the stem matched: mark the whole word */
      memset(mark + i, 1, end - i);
    }
    free(wc);
  }
  size_t first = 0;
  while (first < n && !mark[first])
    first++;
  size_t from = 0, to = n;
  if (n > maxcp) {
    from = first < n && first > maxcp / 4 ? first - maxcp / 4 : 0;
    to = from + maxcp < n ? from + maxcp : n;
  }
  if (from > 0)
    rc |= tg_buf_puts(out, "\xe2\x80\xa6");
  for (size_t i = from; i < to && rc == 0;) {
    size_t j = i;
    while (j < to && mark[j] == mark[i])
      j++;
    if (mark[i])
      rc |= tg_buf_puts(out, "<mark>");
    rc |= put_escaped(out, s + st[i], en[j - 1] - st[i]);
    if (mark[i])
      rc |= tg_buf_puts(out, "</mark>");
    i = j;
  }
  if (to < n)
    rc |= tg_buf_puts(out, "\xe2\x80\xa6");
  free(mark);
  free(cps);
  free(st);
  free(en);
  return rc ? TG_ENOMEM : 0;
}
