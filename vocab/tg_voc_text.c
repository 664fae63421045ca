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

static int is_space(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v';
}

int tg__voc_normalize(const char *s, size_t len, struct tg_buf *out) {
  size_t pos = 0;
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
    if (pending_space && tg_buf_append(out, " ", 1) != 0)
      return TG_ENOMEM;
    pending_space = 0;
    any = 1;
    if (tg__voc_utf8_put(out, cp) != 0)
      return TG_ENOMEM;
  }
  /* Appending nothing still allocates and terminates an empty result. */
  return tg_buf_append(out, "", 0);
}
