/* tg_conf: a small INI reader. Values are kept as strings and typed on lookup. */
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct tg_conf_ent {
  char *section; /* from malloc() */
  char *key;     /* from malloc(); NULL for a section header */
  char *value;   /* from malloc(); NULL for a section header */
  int line;
};

/* Entries in file order, section headers included (key NULL): the lookups
 * skip the headers, tg_conf_walk shows them so a checker can name an empty
 * unknown section's line. */
struct tg_conf {
  struct tg_conf_ent *ents; /* from malloc() */
  size_t n, cap;
};

void tg_conf_free(struct tg_conf *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->ents[i].section);
    free(c->ents[i].key);
    free(c->ents[i].value);
  }
  free(c->ents);
  free(c);
}

static char *tg__trim(char *s, char *e) {
  while (s < e && isspace((unsigned char)*s))
    s++;
  while (e > s && isspace((unsigned char)e[-1]))
    e--;
  *e = '\0';
  return s;
}

static int tg__conf_add(struct tg_conf *c, const char *sec, const char *k, const char *v,
                        int line) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    struct tg_conf_ent *e = realloc(c->ents, cap * sizeof(*e));
    if (e == NULL)
      return TG_ENOMEM;
    c->ents = e;
    c->cap = cap;
  }
  struct tg_conf_ent *e = &c->ents[c->n];
  e->line = line;
  e->section = strdup(sec);
  e->key = k ? strdup(k) : NULL;
  e->value = v ? strdup(v) : NULL;
  if (!e->section || (k && !e->key) || (v && !e->value)) {
    free(e->section);
    free(e->key);
    free(e->value);
    return TG_ENOMEM;
  }
  c->n++;
  return 0;
}

static int tg__conf_line(struct tg_conf *c, char *line, char *section, size_t seclen,
                         int lineno, struct tg_err *err) {
  char *end = line + strlen(line);
  char *s = tg__trim(line, end);
  if (*s == '\0' || *s == '#' || *s == ';')
    return 0;
  if (*s == '[') {
    char *close = strchr(s, ']');
    if (close == NULL || close[1] != '\0')
      return tg_err_set(err, TG_EINVAL, "line %d: malformed section header", lineno);
    char *name = tg__trim(s + 1, close);
    if (*name == '\0' || strlen(name) >= seclen)
      return tg_err_set(err, TG_EINVAL, "line %d: bad section name", lineno);
    memcpy(section, name, strlen(name) + 1);
    return tg__conf_add(c, section, NULL, NULL, lineno) ? tg_err_set(err, TG_ENOMEM, "out of memory")
                                                         : 0;
  }
  char *eq = strchr(s, '=');
  if (eq == NULL)
    return tg_err_set(err, TG_EINVAL, "line %d: expected 'key = value'", lineno);
  char *key = tg__trim(s, eq);
  char *val = tg__trim(eq + 1, eq + 1 + strlen(eq + 1));
  if (*key == '\0')
    return tg_err_set(err, TG_EINVAL, "line %d: empty key", lineno);
  if (tg__conf_add(c, section, key, val, lineno))
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  return 0;
}

int tg_conf_parse(const char *text, size_t len, struct tg_conf **out, struct tg_err *err) {
  struct tg_conf *c = calloc(1, sizeof(*c));
  char section[128] = "";
  char *copy = malloc(len + 1);
  int rc = 0, lineno = 0;
  if (c == NULL || copy == NULL) {
    free(c);
    free(copy);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  memcpy(copy, text, len);
  copy[len] = '\0';
  if (memchr(copy, '\0', len) != NULL) {
    rc = tg_err_set(err, TG_EINVAL, "configuration contains a NUL byte");
    goto done;
  }
  for (char *p = copy; p != NULL && rc == 0;) {
    char *nl = strchr(p, '\n');
    if (nl)
      *nl = '\0';
    rc = tg__conf_line(c, p, section, sizeof(section), ++lineno, err);
    p = nl ? nl + 1 : NULL;
  }
done:
  free(copy);
  if (rc) {
    tg_conf_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int tg_conf_load(const char *path, struct tg_conf **out, struct tg_err *err) {
  char *text;
  size_t len;
  int rc = tg_file_read(path, 1 << 20, &text, &len, err);
  if (rc)
    return rc;
  rc = tg_conf_parse(text, len, out, err);
  free(text);
  if (rc && err)
    tg_err_set(err, rc, "%s: %s", path, (const char *)err->msg);
  return rc;
}

int tg_conf_each(const struct tg_conf *c,
                 int (*fn)(void *ud, const char *section, const char *key, const char *value),
                 void *ud) {
  for (size_t i = 0; c != NULL && i < c->n; i++) {
    if (c->ents[i].key == NULL)
      continue;
    int rc = fn(ud, c->ents[i].section, c->ents[i].key, c->ents[i].value);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int tg_conf_walk(const struct tg_conf *c,
                 int (*fn)(void *ud, const char *section, const char *key, const char *value,
                           int line),
                 void *ud) {
  for (size_t i = 0; c != NULL && i < c->n; i++) {
    int rc = fn(ud, c->ents[i].section, c->ents[i].key, c->ents[i].value, c->ents[i].line);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The entry SECTION.KEY that counts (the last), or NULL. */
static const struct tg_conf_ent *conf_find(const struct tg_conf *c, const char *section,
                                           const char *key) {
  const struct tg_conf_ent *e = NULL;
  for (size_t i = 0; c != NULL && i < c->n; i++)
    if (c->ents[i].key != NULL && strcmp(c->ents[i].section, section) == 0 &&
        strcmp(c->ents[i].key, key) == 0)
      e = &c->ents[i];
  return e;
}

int tg_conf_line(const struct tg_conf *c, const char *section, const char *key) {
  const struct tg_conf_ent *e = conf_find(c, section, key);
  return e ? e->line : 0;
}

const char *tg_conf_get(const struct tg_conf *c, const char *section, const char *key) {
  /* The last assignment wins, as in most INI readers. */
  const struct tg_conf_ent *e = conf_find(c, section, key);
  return e ? e->value : NULL;
}

int tg_conf_each_in(const struct tg_conf *c, const char *section,
                    int (*cb)(void *ud, const char *key, const char *value), void *ud) {
  for (size_t i = 0; c != NULL && i < c->n; i++) {
    if (c->ents[i].key == NULL || strcmp(c->ents[i].section, section) != 0)
      continue;
    int rc = cb(ud, c->ents[i].key, c->ents[i].value);
    if (rc)
      return rc;
  }
  return 0;
}

int tg_conf_get_u64(const struct tg_conf *c, const char *section, const char *key, uint64_t def,
                    uint64_t min, uint64_t max, uint64_t *out, struct tg_err *err) {
  const char *v = tg_conf_get(c, section, key);
  uint64_t x;
  if (v == NULL) {
    *out = def;
    return 0;
  }
  if (tg_parse_u64(v, max, &x) || x < min)
    return tg_err_set(err, TG_EINVAL, "line %d: [%s] %s = %s: expected an integer from %llu to %llu",
                      tg_conf_line(c, section, key), section, key, v, (unsigned long long)min,
                      (unsigned long long)max);
  *out = x;
  return 0;
}

int tg_conf_get_ms(const struct tg_conf *c, const char *section, const char *key, uint64_t def_ms,
                   uint64_t *out_ms, struct tg_err *err) {
  const char *v = tg_conf_get(c, section, key);
  uint64_t s;
  if (v == NULL) {
    *out_ms = def_ms;
    return 0;
  }
  size_t n = strlen(v);
  if (n > 2 && strcmp(v + n - 2, "ms") == 0) {
    char num[32];
    if (n - 2 >= sizeof(num))
      goto bad;
    memcpy(num, v, n - 2);
    num[n - 2] = '\0';
    if (tg_parse_u64(num, UINT64_MAX / 2, &s))
      goto bad;
    *out_ms = s;
    return 0;
  }
  if (tg_parse_duration(v, &s) || s > UINT64_MAX / 1000)
    goto bad;
  *out_ms = s * 1000;
  return 0;
bad:
  return tg_err_set(err, TG_EINVAL, "line %d: [%s] %s = %s: expected a duration like 30s, 5m or 500ms",
                    tg_conf_line(c, section, key), section, key, v);
}

int tg_conf_get_size(const struct tg_conf *c, const char *section, const char *key, uint64_t def,
                     uint64_t *out, struct tg_err *err) {
  const char *v = tg_conf_get(c, section, key);
  char num[32];
  uint64_t mult = 1, x;
  if (v == NULL) {
    *out = def;
    return 0;
  }
  size_t n = strlen(v);
  if (n == 0 || n >= sizeof(num))
    goto bad;
  memcpy(num, v, n + 1);
  switch (tolower((unsigned char)num[n - 1])) {
  case 'k': mult = 1024; num[n - 1] = '\0'; break;
  case 'm': mult = 1024 * 1024; num[n - 1] = '\0'; break;
  case 'g': mult = 1024ull * 1024 * 1024; num[n - 1] = '\0'; break;
  default: break;
  }
  if (tg_parse_u64(num, UINT64_MAX / mult, &x))
    goto bad;
  *out = x * mult;
  return 0;
bad:
  return tg_err_set(err, TG_EINVAL, "line %d: [%s] %s = %s: expected a size like 16384, 16k or 1m",
                    tg_conf_line(c, section, key), section, key, v);
}
