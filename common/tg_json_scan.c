/* tg_json_scan: spans of members and elements in JSON text (see the header). */
#include "tg_json_scan.h"

#include <string.h>

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static const char *ws(const char *p, const char *end) {
  while (p < end && is_ws(*p))
    p++;
  return p;
}

/* One past the string whose opening quote is at P, or NULL. */
static const char *string_end(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '\\') {
      if (end - p < 2)
        return NULL;
      p++;
    } else if (*p == '"') {
      return p + 1;
    }
  }
  return NULL;
}

const char *tg_json_value_end(const char *p, const char *end) {
  p = ws(p, end);
  if (p >= end)
    return NULL;
  if (*p != '"' && *p != '{' && *p != '[') { /* a number, true, false or null */
    const char *b = p;
    while (p < end && !is_ws(*p) && *p != ',' && *p != ']' && *p != '}' && *p != ':')
      p++;
    return p > b ? p : NULL;
  }
  size_t depth = 0;
  do {
    if (p >= end)
      return NULL;
    if (*p == '"') {
      if ((p = string_end(p, end)) == NULL)
        return NULL;
      continue;
    }
    if (*p == '{' || *p == '[')
      depth++;
    else if (*p == '}' || *p == ']')
      depth--;
    p++;
  } while (depth > 0);
  return p;
}

/* The member at P (its key's quote) into *M; one past its value, or NULL. */
static const char *member_at(const char *p, const char *end, struct tg_json_span *m) {
  if (p >= end || *p != '"')
    return NULL;
  const char *k = p, *ke = string_end(p, end);
  if (ke == NULL)
    return NULL;
  p = ws(ke, end);
  if (p >= end || *p != ':')
    return NULL;
  const char *vb = ws(p + 1, end), *ve = tg_json_value_end(vb, end);
  if (ve == NULL)
    return NULL;
  m->key = k, m->ke = ke, m->b = vb, m->e = ve;
  return ve;
}

/* The next item of the container OPEN ... CLOSE that *IT walks (see
 * tg_json_next): a member (MEMBER) or an element. */
static int next_item(const char **it, const char *end, char open, char close, int member,
                     struct tg_json_span *m) {
  const char *p = ws(*it, end);
  if (p >= end)
    return -1;
  if (*p == open) { /* the first call */
    p = ws(p + 1, end);
    if (p < end && *p == close) {
      *it = p;
      return 0;
    }
  } else if (*p == ',') {
    p = ws(p + 1, end);
  } else {
    return *p == close ? 0 : -1;
  }
  const char *e = member ? member_at(p, end, m) : tg_json_value_end(p, end);
  if (e == NULL)
    return -1;
  if (!member)
    m->key = m->ke = NULL, m->b = p, m->e = e;
  *it = e;
  return 1;
}

int tg_json_next_member(const char **it, const char *end, struct tg_json_span *m) {
  return next_item(it, end, '{', '}', 1, m);
}

int tg_json_member(const char *obj, const char *end, const char *key, struct tg_json_span *m) {
  const char *it = obj;
  size_t kl = strlen(key);
  int r;
  while ((r = tg_json_next_member(&it, end, m)) == 1) {
    if ((size_t)(m->ke - m->key) == kl + 2 && memcmp(m->key + 1, key, kl) == 0)
      return 0;
  }
  return r == 0 ? 1 : -1;
}

int tg_json_next(const char **it, const char *end, struct tg_json_span *m) {
  return next_item(it, end, '[', ']', 0, m);
}

int tg_json_compact(const char *p, const char *end) {
  while (p < end) {
    if (*p == '"') {
      if ((p = string_end(p, end)) == NULL)
        return 0;
    } else if (is_ws(*p)) {
      return 0;
    } else {
      p++;
    }
  }
  return 1;
}
