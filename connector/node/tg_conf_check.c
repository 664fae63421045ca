/* tg_conf_check: the configuration's known sections and keys (tg_conf_check.h),
 * with a suggestion by edit distance for a name that is not one of them. */
#include "tg_conf_check.h"

#include "tg_conf.h"
#include "tg_err.h"
#include "tg_settings.h"
#include "tg_text.h"

#include <stdio.h>
#include <string.h>

/* A section and its keys; "backend." is every [backend.NAME]; [retention]
 * takes datasets' local ids as keys (checked where it is read). */
static const struct section {
  const char *name;
  const char *const keys[16];
} sections[] = {
    {"node", {"id", "name", "federation", "url"}},
    {"http", {"listen", "workers"}},
    {"tls", {"session_tickets"}},
    {"auth", {"issuer", "audience", "jwks_uri", "jwks_ca", "jwks_refresh", "anonymous",
              "clock_skew"}},
    {"limits", {"header_bytes", "body_bytes", "header_timeout", "body_timeout", "idle_timeout",
                "handshake_timeout", "min_rate", "output_buffer", "connections",
                "connections_per_client", "drain_timeout"}},
    {"federation", {"hub", "hub_id", "crl_refresh", "peer_check", "harvest_interval", "harvest_peer_time", "renew",
                    "renew_check"}},
    {"ca", {"dir", "register_failures", "register_window", "validity", "crl_watch"}},
    {"log", {"level", "access"}},
    {"debug", {"test_routes"}},
    {"provenance", {"log", "sth_interval", "sync_interval"}},
    {"retention", {NULL}},
    {"backend.", {"origin", "header", "basic", "ca_file", "client_cert", "client_key",
                  "connect_timeout", "first_byte_timeout", "idle_timeout"}},
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* The closest of NAMES (N of them, NULL-terminated if shorter) to WANT, when
 * close enough to be a typo (at most two edits, and fewer than WANT has
 * letters); else NULL. */
static const char *closest(const char *want, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t bd = 9;
  for (size_t i = 0; i < n && names[i] != NULL; i++) {
    size_t d = tg_text_distance(want, names[i]);
    if (d < bd) {
      bd = d;
      best = names[i];
    }
  }
  return bd <= 2 && bd < strlen(want) ? best : NULL;
}

static const struct section *find_section(const char *name) {
  for (size_t i = 0; i < NSECTIONS; i++) {
    const char *n = sections[i].name;
    size_t len = strlen(n);
    if (n[len - 1] == '.' ? strncmp(name, n, len) == 0 && name[len] != '\0'
                          : strcmp(name, n) == 0)
      return &sections[i];
  }
  return NULL;
}

/* Whether KEY is a [limits] body_bytes.<route> of a route the node has. */
static int route_limit(const char *key) {
  if (strncmp(key, "body_bytes.", 11) != 0)
    return 0;
  for (int i = 0; i < tg_settings_route_count(); i++)
    if (strcmp(key + 11, tg_settings_route_name(i)) == 0)
      return 1;
  return tg_settings_route_count() == 0; /* the CLI has no routing table */
}

struct walk {
  const char *path;
  struct tg_err *err;
};

static int unknown_section(struct walk *w, const char *section, int line) {
  const char *names[NSECTIONS + 1] = {0};
  for (size_t i = 0; i < NSECTIONS; i++)
    names[i] = sections[i].name;
  const char *hint = closest(section, names, NSECTIONS);
  if (hint != NULL && hint[strlen(hint) - 1] == '.')
    return tg_err_set(w->err, TG_EINVAL, "%s:%d: unknown section [%s] (did you mean [%sNAME]?)",
                      w->path, line, section, hint);
  return tg_err_set(w->err, TG_EINVAL, "%s:%d: unknown section [%s]%s%s%s", w->path, line,
                    section, hint ? " (did you mean [" : "", hint ? hint : "", hint ? "]?)" : "");
}

static int check_one(void *ud, const char *section, const char *key, const char *value, int line) {
  struct walk *w = ud;
  (void)value;
  const struct section *s = find_section(section);
  if (s == NULL)
    return unknown_section(w, section, line);
  if (key == NULL || s->keys[0] == NULL)
    return 0;
  for (size_t i = 0; i < 16 && s->keys[i] != NULL; i++)
    if (strcmp(key, s->keys[i]) == 0)
      return 0;
  if (strcmp(s->name, "limits") == 0 && route_limit(key))
    return 0;
  const char *hint = closest(key, s->keys, 16);
  return tg_err_set(w->err, TG_EINVAL, "%s:%d: unknown key '%s' in [%s]%s%s%s", w->path, line, key,
                    section, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

int tg_conf_check(const struct tg_conf *conf, const char *path, struct tg_err *err) {
  struct walk w = {path, err};
  return tg_conf_walk(conf, check_one, &w);
}
