/* cat_query: the search box language (words, "quoted phrases", -exclusions,
 * a OR b) compiled into an FTS5 MATCH expression over the catalog's
 * pre-tokenised terms (Latin stems, CJK bigrams/unigrams). Untrusted input:
 * every term is re-tokenised and quoted, so no FTS5 syntax passes through. */
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUERY_BYTES 1024
#define MAX_ITEMS 32

struct item {
  const char *text;
  size_t len;
  int phrase, neg, or_before;
};

/* Splits Q into items. Returns the count or TG_ETOOBIG when there are more
 * than MAX_ITEMS. */
static int split(const char *q, size_t len, struct item *items) {
  int n = 0, or_pending = 0;
  size_t i = 0;
  while (i < len) {
    while (i < len && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r'))
      i++;
    if (i >= len)
      break;
    int neg = 0;
    if (q[i] == '-' && i + 1 < len && q[i + 1] != ' ') {
      neg = 1;
      i++;
    }
    struct item it = {q + i, 0, 0, neg, 0};
    if (q[i] == '"') {
      size_t j = i + 1;
      while (j < len && q[j] != '"')
        j++;
      it.text = q + i + 1;
      it.len = j - i - 1;
      it.phrase = 1;
      i = j < len ? j + 1 : j;
    } else {
      size_t j = i;
      while (j < len && q[j] != ' ' && q[j] != '\t' && q[j] != '\n' && q[j] != '\r' && q[j] != '"')
        j++;
      it.len = j - i;
      i = j;
      if (!neg && it.len == 2 && memcmp(it.text, "OR", 2) == 0) {
        or_pending = n > 0;
        continue;
      }
    }
    if (n == MAX_ITEMS)
      return TG_ETOOBIG;
    it.or_before = or_pending && !neg && n > 0 && !items[n - 1].neg;
    or_pending = 0;
    items[n++] = it;
  }
  return n;
}

/* Appends the FTS5 expression of one item; *EMPTY is set when the item has
 * no searchable character. */
static int item_expr(struct tg_buf *b, const struct item *it, int *empty, size_t *nterms) {
  uint32_t *cps;
  size_t n;
  int rc = tg_text_fold(it->text, it->len, &cps, NULL, NULL, &n);
  if (rc)
    return rc;
  struct tg_buf e;
  tg_buf_init(&e);
  int parts = 0, in_latin_phrase = 0;
  for (size_t i = 0; i < n && rc == 0;) {
    int cc = tg__cat_cclass(cps[i]);
    size_t j = i;
    while (j < n && tg__cat_cclass(cps[j]) == cc)
      j++;
    if (cc == TG__CC_SEP) {
      /* Separators inside a quoted phrase keep Latin words in one phrase. */
      i = j;
      continue;
    }
    if (cc == TG__CC_WORD) {
      struct tg_buf w;
      tg_buf_init(&w);
      for (size_t k = i; k < j && k < i + 64 && rc == 0; k++)
        rc = tg_utf8_put(&w, cps[k]);
      size_t wl = w.len;
      if (rc == 0 && wl > 0) {
        size_t orig = wl;
        tg__cat_stem(w.data, &wl);
        if (it->phrase && in_latin_phrase) {
          /* continue the open phrase: drop its closing quote */
          e.len--;
          rc |= tg_buf_puts(&e, " ");
          rc |= tg_buf_append(&e, w.data, wl);
          rc |= tg_buf_puts(&e, "\"");
        } else {
          rc |= tg_buf_puts(&e, parts ? " AND \"" : "\"");
          rc |= tg_buf_append(&e, w.data, wl);
          rc |= tg_buf_puts(&e, "\"");
          if (!it->phrase && orig >= 3)
            rc |= tg_buf_puts(&e, "*");
          parts++;
          in_latin_phrase = it->phrase;
        }
        (*nterms)++;
      }
      tg_buf_close(&w);
    } else {
      in_latin_phrase = 0;
      rc |= tg_buf_puts(&e, parts ? " AND \"" : "\"");
      if (j - i == 1) {
        rc |= tg_utf8_put(&e, cps[i]);
        (*nterms)++;
      }
      for (size_t k = i; k + 1 < j && rc == 0; k++) {
        if (k > i)
          rc |= tg_buf_puts(&e, " ");
        rc |= tg_utf8_put(&e, cps[k]);
        rc |= tg_utf8_put(&e, cps[k + 1]);
        (*nterms)++;
      }
      rc |= tg_buf_puts(&e, "\"");
      parts++;
    }
    i = j;
  }
  *empty = parts == 0;
  if (rc == 0 && parts > 0)
    rc = tg_buf_printf(b, "(%s)", e.data);
  tg_buf_close(&e);
  free(cps);
  return rc ? TG_ENOMEM : 0;
}

int tg_cat_query_compile(const char *q, size_t len, char **match, char **exclude,
                         struct tg_err *err) {
  struct item items[MAX_ITEMS];
  if (match)
    *match = NULL;
  if (exclude)
    *exclude = NULL;
  if (len > MAX_QUERY_BYTES)
    return tg_err_set(err, TG_EINVAL, "the query is longer than %d bytes", MAX_QUERY_BYTES);
  int n = split(q, len, items);
  if (n < 0)
    return tg_err_set(err, TG_EINVAL, "the query has more than %d words", MAX_ITEMS);
  struct tg_buf pos, neg;
  tg_buf_init(&pos);
  tg_buf_init(&neg);
  int rc = 0, open_group = 0;
  size_t nterms = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    struct tg_buf one;
    int empty;
    tg_buf_init(&one);
    rc = item_expr(&one, &items[i], &empty, &nterms);
    if (rc == 0 && !empty) {
      if (items[i].neg) {
        rc = tg_buf_printf(&neg, "%s%s", neg.len ? " OR " : "", one.data);
      } else if (items[i].or_before && open_group) {
        /* a OR b: replace the group's closing parenthesis */
        pos.len--;
        rc = tg_buf_printf(&pos, " OR %s)", one.data);
      } else {
        rc = tg_buf_printf(&pos, "%s(%s)", pos.len ? " AND " : "", one.data);
        open_group = 1;
      }
    }
    tg_buf_close(&one);
  }
  if (rc == 0 && nterms > 256)
    rc = tg_err_set(err, TG_EINVAL, "the query has too many terms");
  if (rc == 0 && match != NULL && pos.len > 0 && (*match = tg_buf_take(&pos)) == NULL)
    rc = TG_ENOMEM;
  if (rc == 0 && exclude != NULL && neg.len > 0 && (*exclude = tg_buf_take(&neg)) == NULL)
    rc = TG_ENOMEM;
  if (rc != 0 && match != NULL) {
    free(*match);
    *match = NULL;
  }
  tg_buf_close(&pos);
  tg_buf_close(&neg);
  if (rc == TG_ENOMEM)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  return rc;
}

int tg__cat_query_words(const char *q, struct tg_buf *b, size_t *count) {
  struct item items[MAX_ITEMS];
  size_t len = strlen(q);
  *count = 0;
  int n = split(q, len > MAX_QUERY_BYTES ? MAX_QUERY_BYTES : len, items);
  for (int i = 0; i < n; i++) {
    uint32_t *cps;
    size_t m;
    if (items[i].neg || tg_text_fold(items[i].text, items[i].len, &cps, NULL, NULL, &m))
      continue;
    for (size_t k = 0; k < m;) {
      int cc = tg__cat_cclass(cps[k]);
      size_t j = k;
      while (j < m && tg__cat_cclass(cps[j]) == cc)
        j++;
      if (cc != TG__CC_SEP) {
        size_t start = b->len;
        for (size_t x = k; x < j && x < k + 64; x++)
          tg_utf8_put(b, cps[x]);
        size_t wl = b->len - start;
        if (cc == TG__CC_WORD) {
          tg__cat_stem(b->data + start, &wl);
          b->len = start + wl;
        }
        tg_buf_append(b, "", 1);
        (*count)++;
      }
      k = j;
    }
    free(cps);
  }
  return 0;
}
