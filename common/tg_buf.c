/* tg_buf: growable byte buffers. */
#include "tg_buf.h"
#include "tg_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tg_buf_init(struct tg_buf *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void tg_buf_close(struct tg_buf *b) {
  free(b->data);
  tg_buf_init(b);
}

int tg_buf_reserve(struct tg_buf *b, size_t n) {
  if (n > ((size_t)-1) / 2 - b->len)
    return TG_ENOMEM;
  size_t need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL)
    return TG_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int tg_buf_append(struct tg_buf *b, const void *p, size_t n) {
  int rc = tg_buf_reserve(b, n);
  if (rc)
    return rc;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int tg_buf_puts(struct tg_buf *b, const char *s) { return tg_buf_append(b, s, strlen(s)); }

int tg_buf_printf(struct tg_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return TG_EINVAL;
  int rc = tg_buf_reserve(b, (size_t)n);
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void tg_buf_consume(struct tg_buf *b, size_t n) {
  if (n >= b->len) {
    tg_buf_reset(b);
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
  b->data[b->len] = '\0';
}

void tg_buf_reset(struct tg_buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

char *tg_buf_take(struct tg_buf *b) {
  if (b->data == NULL) {
    if (tg_buf_reserve(b, 0) != 0)
      return NULL;
    b->data[0] = '\0'; /* an empty buffer gives back an empty string */
  }
  char *p = b->data;
  tg_buf_init(b);
  return p;
}
