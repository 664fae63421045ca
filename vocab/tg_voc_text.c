/* tg_voc_text: UTF-8 decoding and the NFKC-ish folding that label search and the
 * era-date parser share. */
#include "tg_voc_int.h"

#include "tg_buf.h"
#include "tg_err.h"

int32_t tg__voc_utf8_next(const char *s, size_t len, size_t *pos) {
  const unsigned char *p = (const unsigned char *)s + *pos;
  size_t left = len - *pos;
  uint32_t cp, min;
  size_t n;
  if (left == 0)
    return -1;
  if (p[0] < 0x80) {
    *pos += 1;
    return p[0];
  } else if ((p[0] & 0xE0) == 0xC0) {
    n = 2, cp = p[0] & 0x1F, min = 0x80;
  } else if ((p[0] & 0xF0) == 0xE0) {
    n = 3, cp = p[0] & 0x0F, min = 0x800;
  } else if ((p[0] & 0xF8) == 0xF0) {
    n = 4, cp = p[0] & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (left < n)
    return -1;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return -1;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return -1;
  *pos += n;
  return (int32_t)cp;
}

int tg__voc_utf8_put(struct tg_buf *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp, n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  }
  return tg_buf_append(b, u, n);
}

uint32_t tg__voc_fold(uint32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E)
    cp -= 0xFF01 - 0x21;
  else if (cp == 0x3000)
    cp = ' ';
  if (cp >= 'A' && cp <= 'Z')
    cp += 'a' - 'A';
  return cp;
}

/* Half-width katakana U+FF61-FF9F and their full-width forms (NFKC). */
static const uint16_t halfwidth_kana[0x3F] = {
  0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9,
  0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB,
  0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1,
  0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5,
  0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9,
  0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, 0x309B, 0x309C};

/* The full-width kana BASE with a (semi-)voiced sound mark, or 0 if it takes none. */
static uint32_t voiced(uint32_t base, int semi) {
  if (semi)
    return (base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0) ? base + 2 : 0;
  if (base == 0x30A6)
    return 0x30F4; /* ウ゛ -> ヴ */
  if ((base >= 0x30AB && base <= 0x30C1 && (base - 0x30AB) % 2 == 0) || base == 0x30C4 ||
      base == 0x30C6 || base == 0x30C8 || (base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0))
    return base + 1;
  return 0;
}

static int is_space(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v';
}

int tg__voc_normalize(const char *s, size_t len, struct tg_buf *out) {
  size_t pos = 0, last_at = 0;
  uint32_t last = 0;
  int pending_space = 0, any = 0;
  while (pos < len) {
    int32_t c = tg__voc_utf8_next(s, len, &pos);
    uint32_t cp;
    if (c < 0) {
      pos++;
      cp = 0xFFFD;
    } else {
      cp = tg__voc_fold((uint32_t)c);
    }
    if (is_space(cp)) {
      pending_space = any;
      continue;
    }
    if (cp >= 0xFF61 && cp <= 0xFF9F) {
      cp = halfwidth_kana[cp - 0xFF61];
      uint32_t v = (cp == 0x309B || cp == 0x309C) && !pending_space ? voiced(last, cp == 0x309C) : 0;
      if (v != 0) { /* ｶﾞ -> ガ: replace the kana just written */
        out->len = last_at;
        cp = v;
      }
    }
    if (pending_space && tg_buf_append(out, " ", 1) != 0)
      return TG_ENOMEM;
    pending_space = 0;
    any = 1;
    last_at = out->len;
    last = cp;
    if (tg__voc_utf8_put(out, cp) != 0)
      return TG_ENOMEM;
  }
  /* Appending nothing still allocates and terminates an empty result. */
  return tg_buf_append(out, "", 0);
}
