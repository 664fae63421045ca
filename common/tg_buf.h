/* tg_buf: a growable byte buffer, always NUL-terminated for convenience. */
#ifndef TG_BUF_H
#define TG_BUF_H

#include <stddef.h>

struct tg_buf {
  char *data;   /* from malloc(); NULL until the first append */
  size_t len;   /* bytes used, not counting the terminating NUL */
  size_t cap;   /* bytes allocated */
};

/* Initialises an empty buffer (no allocation). */
void tg_buf_init(struct tg_buf *b);
/* Releases the buffer's memory and leaves it empty. */
void tg_buf_close(struct tg_buf *b);
/* Ensures room for N more bytes; returns 0 or TG_ENOMEM. */
int tg_buf_reserve(struct tg_buf *b, size_t n);
/* Appends N bytes (copied); returns 0 or TG_ENOMEM. */
int tg_buf_append(struct tg_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string (copied). */
int tg_buf_puts(struct tg_buf *b, const char *s);
/* Appends printf-formatted text. */
int tg_buf_printf(struct tg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first N bytes, keeping the rest. */
void tg_buf_consume(struct tg_buf *b, size_t n);
/* Empties the buffer, keeping its memory. */
void tg_buf_reset(struct tg_buf *b);
/* Hands the data to the caller (who frees it) and leaves the buffer empty.
 * Returns a heap string ("" allocated if the buffer was empty), or NULL on ENOMEM. */
char *tg_buf_take(struct tg_buf *b);

#endif
