/* tg_backends: what the node knows about the backends its distributed
 * datasets pass through to, from [backend.NAME] sections of tsunagu.conf:
 * the origin, credentials sent to it (never shown in the catalog, logs or
 * errors), TLS trust and timeouts. */
#ifndef TG_BACKENDS_H
#define TG_BACKENDS_H

#include <stddef.h>
#include <stdint.h>

struct tg_conf;
struct tg_err;

/* One [backend.NAME] section. Strings are NUL-terminated, "" when unset. */
struct tg_backend {
  char name[64];
  char origin[300];       /* scheme://host[:port], lower-case, default port dropped */
  char header[1024];      /* "Name: value" sent with every request (an API key) */
  char basic[512];        /* "user:password" for HTTP basic authentication */
  char ca_file[1024];     /* trust anchors for https (else the system store) */
  char cert_file[1024];   /* client certificate for backends that want mutual TLS */
  char key_file[1024];    /* its private key */
  uint64_t connect_ms;    /* connect_timeout, default 5s */
  uint64_t first_byte_ms; /* first_byte_timeout: request sent to status line, default 30s */
  uint64_t idle_ms;       /* idle_timeout: longest gap between body bytes, default 30s */
};

/* The defaults for an origin without a section. */
extern const struct tg_backend tg_backend_default;

/* Reads every [backend.NAME] section of CONF into a new array *OUT of *N
 * entries (free() it). Unknown keys, a missing or malformed origin, an
 * origin given twice, a header that is not "Name: value" or holds a line
 * break, or cert without key are TG_EINVAL naming the section and key —
 * never a value, which may be a secret. */
int tg_backends_load(const struct tg_conf *conf, struct tg_backend **out, size_t *n,
                     struct tg_err *err);

/* Writes the origin of URL (http or https) into OUT (size CAP): scheme and
 * host lower-case, the port only when it is not the scheme's default.
 * TG_EINVAL when URL is not an absolute http(s) URL. */
int tg_backend_origin(const char *url, char *out, size_t cap);

/* The entry of BACKENDS (N entries) whose origin is URL's, or NULL. */
const struct tg_backend *tg_backend_find(const struct tg_backend *backends, size_t n,
                                         const char *url);

#endif
