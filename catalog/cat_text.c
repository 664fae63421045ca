/* cat_text: search text for the catalog: tokenising text folded by
 * tg_text_fold (common/tg_text.c) into Latin words and CJK bigrams and
 * unigrams for the index, and HTML-safe highlighting of matches on the
 * original text. */
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

#include <stdlib.h>
#include <string.h>

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
    rc = tg_utf8_put(&w, cps[i]);
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
  int rc = tg_text_fold(s, len, &cps, NULL, NULL, &n);
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
        rc |= tg_utf8_put(b, cps[k]);
        rc |= tg_utf8_put(b, cps[k + 1]);
      }
      for (size_t k = i; k < j && rc == 0; k++) {
        rc = tg_buf_puts(b, " ");
        rc |= tg_utf8_put(b, cps[k]);
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
  int rc = tg_text_fold(s, strlen(s), &cps, &st, &en, &n);
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
    if (tg_text_fold(w, strlen(w), &wc, NULL, NULL, &wn) != 0)
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
  /* A cluster folded to several code points (㍻ -> 平成) is marked whole. */
  for (size_t i = 1; i < n; i++)
    if (st[i] == st[i - 1] && mark[i - 1])
      mark[i] = 1;
  for (size_t i = n; i > 1; i--)
    if (st[i - 1] == st[i - 2] && mark[i - 1])
      mark[i - 2] = 1;
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
  /* Bytes that folded to nothing (U+00AD, U+200B) sit between runs: shown
   * unmarked, so the text comes out whole. */
  size_t pos = from < n ? st[from] : 0;
  for (size_t i = from; i < to && rc == 0;) {
    size_t j = i;
    while (j < to && mark[j] == mark[i])
      j++;
    if (st[i] > pos)
      rc |= put_escaped(out, s + pos, st[i] - pos);
    if (mark[i])
      rc |= tg_buf_puts(out, "<mark>");
    rc |= put_escaped(out, s + st[i], en[j - 1] - st[i]);
    if (mark[i])
      rc |= tg_buf_puts(out, "</mark>");
    pos = en[j - 1];
    i = j;
  }
  if (to == n && pos < strlen(s))
    rc |= put_escaped(out, s + pos, strlen(s) - pos);
  if (to < n)
    rc |= tg_buf_puts(out, "\xe2\x80\xa6");
  free(mark);
  free(cps);
  free(st);
  free(en);
  return rc ? TG_ENOMEM : 0;
}
