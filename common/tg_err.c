/* tg_err: error codes and their descriptions. */
#include "tg_err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const tg__errstr[] = {
  "success",
  "out of memory",
  "invalid argument",
  "input/output error",
  "not found",
  "already exists",
  "not allowed",
  "timed out",
  "too large",
  "cryptographic or TLS failure",
  "database failure",
  "protocol error",
  "version conflict",
  "not supported",
  "try again",
  "canceled",
  "remote side failed",
};

const char *tg_strerror(int code) {
  if (code > 0 || code < TG_ECODE_MIN)
    return "unknown error";
  return tg__errstr[-code];
}

int tg_err_set(struct tg_err *err, int code, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
  }
  return code;
}

void tg_err_clear(struct tg_err *err) {
  if (err != NULL) {
    err->code = 0;
    err->msg[0] = '\0';
  }
}

const char *tg_err_msg(const struct tg_err *err, int code) {
  if (err != NULL && err->msg[0] != '\0')
    return err->msg;
  return tg_strerror(code);
}
