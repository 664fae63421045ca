/* tg_qs: strict, bounded decoding of URL query strings and path segments
 * (RFC 3986 percent-encoding, '+' as space in queries), for route handlers. */
#ifndef TG_QS_H
#define TG_QS_H

#include <stddef.h>

struct tg_buf;

#define TG_QS_MAX_BYTES 4096 /* a longer query string is refused */
#define TG_QS_MAX_PARAMS 32  /* more parameters are refused */

/* A parsed query string: decoded keys and values, all in BUF. */
struct tg_qs {
  size_t n;
  const char *key[TG_QS_MAX_PARAMS];
  const char *val[TG_QS_MAX_PARAMS];
  char buf[TG_QS_MAX_BYTES + TG_QS_MAX_PARAMS * 2];
  char bad[64]; /* after a failure: the parameter at fault, or "(why)" */
};

/* The node's one percent-decoder: decodes IN[0..N) into OUT (CAP bytes
 * including the NUL). Every '%' must be followed by two hex digits; %00, raw
 * control bytes and output that is not well-formed UTF-8 are refused;
 * PLUS_SPACE turns '+' into ' ' (query strings; path segments keep '+').
 * Returns the decoded length (>= 0), TG_EINVAL for bad input or TG_ETOOBIG
 * when OUT is too small; OUT's content is undefined after a failure. */
long tg_qs_decode(const char *in, size_t n, char *out, size_t cap, int plus_space);

/* The node's one percent-encoder: appends S to B with every byte but RFC
 * 3986's unreserved characters (ASCII letters, digits, "-._~") as %XX,
 * fit for a path segment or a query key or value. Returns 0 or TG_ENOMEM. */
int tg_qs_encode(struct tg_buf *b, const char *s);

/* Parses QUERY (the text after '?', borrowed) into Q (caller's storage).
 * Keys must be non-empty; a repeated key is refused (ambiguous); empty pairs
 * ("a=1&&b=2") are skipped; a key without '=' has the value "". Returns 0, or
 * TG_EINVAL with Q->bad naming the parameter at fault. Q's strings live in Q. */
int tg_qs_parse(const char *query, struct tg_qs *q);

/* The decoded value of KEY in Q (borrowed from Q), or NULL. */
const char *tg_qs_get(const struct tg_qs *q, const char *key);

#endif
