/* tg_backends: [backend.NAME] sections of tsunagu.conf (see tg_backends.h).
 * Origins are compared after libcurl's URL parser has taken them apart, so
 * "HTTP://Example:80/x" and "http://example" are the same backend. */
#include "tg_backends.h"

#include "tg_conf.h"
#include "tg_err.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct tg_backend tg_backend_default = {
    .connect_ms = 5000, .first_byte_ms = 30000, .idle_ms = 30000};

int tg_backend_origin(const char *url, char *out, size_t cap) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = TG_EINVAL;
  if (u == NULL)
    return TG_ENOMEM;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT); /* none for the default */
    for (char *p = host; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    int n = port ? snprintf(out, cap, "%s://%s:%s", scheme, host, port)
                 : snprintf(out, cap, "%s://%s", scheme, host);
    rc = n > 0 && (size_t)n < cap ? 0 : TG_ETOOBIG;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

const struct tg_backend *tg_backend_find(const struct tg_backend *b, size_t n, const char *url) {
  char origin[300];
  if (n == 0)
    return NULL;
  /* The usual case without parsing (it cost 2% of a pass-through's CPU): URL
   * starts with an origin exactly as written in its section, and the
   * authority ends right there. Anything else (upper case, an explicit
   * default port, user info) goes through the parser below. */
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(b[i].origin);
    if (strncmp(url, b[i].origin, len) == 0 && strchr("/?#", url[len]) != NULL)
      return &b[i];
  }
  if (tg_backend_origin(url, origin, sizeof(origin)) != 0)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(b[i].origin, origin) == 0)
      return &b[i];
  return NULL;
}

struct load {
  const struct tg_conf *conf;
  struct tg_backend *v;
  size_t n;
  struct tg_err *err;
};

static int set_str(char *dst, size_t cap, const char *v) {
  size_t n = strlen(v);
  if (n >= cap || strpbrk(v, "\r\n") != NULL)
    return TG_EINVAL;
  memcpy(dst, v, n + 1);
  return 0;
}

static int header_ok(const char *h) {
  const char *colon = strchr(h, ':');
  if (colon == NULL || colon == h)
    return 0;
  for (const char *p = h; p < colon; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
      return 0;
  return 1;
}

static int set_key(struct load *l, struct tg_backend *b, const char *sec, const char *key,
                   const char *v) {
  int rc = TG_EINVAL;
  if (strcmp(key, "origin") == 0)
    rc = tg_backend_origin(v, b->origin, sizeof(b->origin));
  else if (strcmp(key, "header") == 0)
    rc = header_ok(v) ? set_str(b->header, sizeof(b->header), v) : TG_EINVAL;
  else if (strcmp(key, "basic") == 0)
    rc = strchr(v, ':') ? set_str(b->basic, sizeof(b->basic), v) : TG_EINVAL;
  else if (strcmp(key, "ca_file") == 0)
    rc = set_str(b->ca_file, sizeof(b->ca_file), v);
  else if (strcmp(key, "client_cert") == 0)
    rc = set_str(b->cert_file, sizeof(b->cert_file), v);
  else if (strcmp(key, "client_key") == 0)
    rc = set_str(b->key_file, sizeof(b->key_file), v);
  else if (strcmp(key, "connect_timeout") == 0)
    rc = tg_conf_get_ms(l->conf, sec, key, 0, &b->connect_ms, NULL);
  else if (strcmp(key, "first_byte_timeout") == 0)
    rc = tg_conf_get_ms(l->conf, sec, key, 0, &b->first_byte_ms, NULL);
  else if (strcmp(key, "idle_timeout") == 0)
    rc = tg_conf_get_ms(l->conf, sec, key, 0, &b->idle_ms, NULL);
  else
    return tg_err_set(l->err, TG_EINVAL, "[%s] %s: unknown key", sec, key);
  if (rc != 0)
    return tg_err_set(l->err, TG_EINVAL, "[%s] %s: bad value", sec, key);
  return 0;
}

static struct tg_backend *section(struct load *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].name, name) == 0)
      return &l->v[i];
  struct tg_backend *v = realloc(l->v, (l->n + 1) * sizeof(*v));
  if (v == NULL)
    return NULL;
  l->v = v;
  v[l->n] = tg_backend_default;
  snprintf(v[l->n].name, sizeof(v[l->n].name), "%s", name);
  return &v[l->n++];
}

static int each(void *ud, const char *sec, const char *key, const char *value) {
  struct load *l = ud;
  if (strncmp(sec, "backend.", 8) != 0)
    return 0;
  if (sec[8] == '\0' || strlen(sec + 8) >= sizeof(l->v->name))
    return tg_err_set(l->err, TG_EINVAL, "[%s]: bad backend name", sec);
  struct tg_backend *b = section(l, sec + 8);
  if (b == NULL)
    return tg_err_set(l->err, TG_ENOMEM, "out of memory");
  return set_key(l, b, sec, key, value);
}

static int check(struct load *l) {
  for (size_t i = 0; i < l->n; i++) {
    struct tg_backend *b = &l->v[i];
    if (b->origin[0] == '\0')
      return tg_err_set(l->err, TG_EINVAL, "[backend.%s]: origin = http(s)://HOST[:PORT] is missing",
                        b->name);
    if ((b->cert_file[0] != '\0') != (b->key_file[0] != '\0'))
      return tg_err_set(l->err, TG_EINVAL, "[backend.%s]: client_cert and client_key go together",
                        b->name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(l->v[j].origin, b->origin) == 0)
        return tg_err_set(l->err, TG_EINVAL, "[backend.%s]: origin %s is also [backend.%s]'s",
                          b->name, b->origin, l->v[j].name);
  }
  return 0;
}

int tg_backends_load(const struct tg_conf *conf, struct tg_backend **out, size_t *n,
                     struct tg_err *err) {
  struct load l = {conf, NULL, 0, err};
  int rc = tg_conf_each(conf, each, &l);
  if (rc == 0)
    rc = check(&l);
  if (rc != 0) {
    free(l.v);
    return rc;
  }
  *out = l.v;
  *n = l.n;
  return 0;
}
