/* tg_err: tsunagu's one error type. Fallible functions return 0 or a negative
 * TG_E* code; detail for humans travels in an optional struct tg_err. */
#ifndef TG_ERR_H
#define TG_ERR_H

#include <stddef.h>

enum {
  TG_OK = 0,
  TG_ENOMEM = -1,     /* out of memory */
  TG_EINVAL = -2,     /* invalid argument or input */
  TG_EIO = -3,        /* I/O error (file, socket) */
  TG_ENOENT = -4,     /* not found */
  TG_EEXIST = -5,     /* already exists */
  TG_EPERM = -6,      /* not allowed */
  TG_ETIMEDOUT = -7,  /* deadline passed */
  TG_ETOOBIG = -8,    /* over a size limit */
  TG_ECRYPTO = -9,    /* TLS / crypto library failure */
  TG_EDB = -10,       /* database failure */
  TG_EPROTO = -11,    /* protocol violation by the peer */
  TG_ECONFLICT = -12, /* version conflict (ETag) */
  TG_EUNSUP = -13,    /* unsupported feature or form */
  TG_EAGAIN = -14,    /* try again later */
  TG_ECANCELED = -15, /* operation canceled */
  TG_EPEER = -16,     /* the remote side failed */
  TG_ECODE_MIN = -16
};

/* Optional out-parameter carrying a human-readable reason. */
struct tg_err {
  int code;       /* the TG_E* code last set */
  char msg[512];  /* NUL-terminated, may be empty */
};

/* Returns a static description of a TG_E* code; never NULL. */
const char *tg_strerror(int code);

/* Records CODE and a printf-style message in ERR (which may be NULL) and
 * returns CODE, so callers can write `return tg_err_set(err, TG_EINVAL, ...)`. */
int tg_err_set(struct tg_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears ERR (NULL allowed). */
void tg_err_clear(struct tg_err *err);

/* Returns ERR's message, or tg_strerror(code) when ERR is NULL or empty. */
const char *tg_err_msg(const struct tg_err *err, int code);

#endif
