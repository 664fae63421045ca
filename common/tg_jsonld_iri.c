/* tg_jsonld_iri: keywords, IRI syntax checks and relative IRI reference
 * resolution (RFC 3986 section 5.2, no normalisation) for the JSON-LD
 * processor. */
#include "tg_jsonld_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const keywords[] = {
    "@base",   "@container", "@context", "@direction", "@graph",     "@id",
    "@import", "@included",  "@index",   "@json",      "@language",  "@list",
    "@nest",   "@none",      "@prefix",  "@propagate", "@protected", "@reverse",
    "@set",    "@type",      "@value",   "@version",   "@vocab",
};

int tg_jsonld__is_keyword(const char *s) {
  if (s == NULL || s[0] != '@')
    return 0;
  for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
    if (strcmp(s, keywords[i]) == 0)
      return 1;
  return 0;
}

static int is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

int tg_jsonld__keyword_form(const char *s) {
  if (s == NULL || s[0] != '@' || s[1] == '\0')
    return 0;
  for (const char *p = s + 1; *p; p++)
    if (!is_alpha(*p))
      return 0;
  return 1;
}

/* Length of the scheme of S (without ':'), or 0 if S has none. */
static size_t scheme_len(const char *s) {
  size_t i = 0;
  if (!is_alpha(s[0]))
    return 0;
  while (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
    i++;
  return s[i] == ':' ? i : 0;
}

int tg_jsonld__iri_absolute(const char *s) {
  if (s == NULL || scheme_len(s) == 0)
    return 0;
  /* An IRI has no spaces or characters JSON-LD's tests call invalid. */
  for (const char *p = s; *p; p++)
    if (*p == ' ' || *p == '<' || *p == '>' || *p == '"' || *p == '{' || *p == '}' || *p == '|' ||
        *p == '\\' || *p == '^' || *p == '`')
      return 0;
  return 1;
}

int tg_jsonld__iri_gendelim_end(const char *s) {
  size_t n = strlen(s);
  return n > 0 && strchr(":/?#[]@", s[n - 1]) != NULL;
}

/* The five components of an IRI reference; a NULL pointer is undefined. */
struct iri_parts {
  const char *scheme, *auth, *path, *query, *frag;
  size_t scheme_n, auth_n, path_n, query_n, frag_n;
};

static void iri_split(const char *s, struct iri_parts *p) {
  memset(p, 0, sizeof(*p));
  size_t sl = scheme_len(s);
  if (sl > 0) {
    p->scheme = s;
    p->scheme_n = sl;
    s += sl + 1;
  }
  if (s[0] == '/' && s[1] == '/') {
    p->auth = s + 2;
    p->auth_n = strcspn(p->auth, "/?#");
    s = p->auth + p->auth_n;
  }
  p->path = s;
  p->path_n = strcspn(s, "?#");
  s += p->path_n;
  if (*s == '?') {
    p->query = s + 1;
    p->query_n = strcspn(p->query, "#");
    s = p->query + p->query_n;
  }
  if (*s == '#') {
    p->frag = s + 1;
    p->frag_n = strlen(p->frag);
  }
}

/* Removes the last segment (and its '/') from OUT of length *N. */
static void drop_last_segment(char *out, size_t *n) {
  while (*n > 0 && out[*n - 1] != '/')
    (*n)--;
  if (*n > 0)
    (*n)--;
}

/* RFC 3986 5.2.4 on IN (length N), written to OUT (room for N + 1). */
static void remove_dots(const char *in, size_t n, char *out, size_t *outn) {
  size_t i = 0, o = 0;
  while (i < n) {
    const char *s = in + i;
    size_t left = n - i;
    if (left >= 3 && memcmp(s, "../", 3) == 0)
      i += 3;
    else if (left >= 2 && memcmp(s, "./", 2) == 0)
      i += 2;
    else if (left >= 3 && memcmp(s, "/./", 3) == 0)
      i += 2;
    else if (left == 2 && memcmp(s, "/.", 2) == 0) {
      out[o++] = '/';
      i += 2;
    } else if (left >= 4 && memcmp(s, "/../", 4) == 0) {
      drop_last_segment(out, &o);
      i += 3;
    } else if (left == 3 && memcmp(s, "/..", 3) == 0) {
      drop_last_segment(out, &o);
      out[o++] = '/';
      i += 3;
    } else if ((left == 1 && s[0] == '.') || (left == 2 && memcmp(s, "..", 2) == 0)) {
      i += left;
    } else {
      size_t k = 1;
      if (s[0] != '/')
        k = 0;
      while (k < left && s[k] != '/')
        k++;
      if (k == 0)
        k = 1;
      memcpy(out + o, s, k);
      o += k;
      i += k;
    }
  }
  out[o] = '\0';
  *outn = o;
}

static void put(char **w, const char *s, size_t n) {
  memcpy(*w, s, n);
  *w += n;
}

/* Writes the target's path for relative reference R on base B into *W. */
static void target_path(const struct iri_parts *b, const struct iri_parts *r, char *tmp, char **w) {
  size_t n = 0, tn;
  if (r->path_n > 0 && r->path[0] == '/') {
    memcpy(tmp, r->path, r->path_n);
    n = r->path_n;
  } else if (b->auth != NULL && b->path_n == 0) {
    tmp[n++] = '/';
    memcpy(tmp + n, r->path, r->path_n);
    n += r->path_n;
  } else {
    size_t keep = b->path_n;
    while (keep > 0 && b->path[keep - 1] != '/')
      keep--;
    memcpy(tmp, b->path, keep);
    memcpy(tmp + keep, r->path, r->path_n);
    n = keep + r->path_n;
  }
  remove_dots(tmp, n, *w, &tn);
  *w += tn;
}

char *tg_jsonld__iri_resolve(const char *base, const char *ref) {
  struct iri_parts b, r;
  if (base == NULL)
    return strdup(ref);
  iri_split(base, &b);
  iri_split(ref, &r);
  size_t cap = strlen(base) + strlen(ref) + 8;
  char *out = malloc(cap), *tmp = malloc(cap), *w = out;
  if (out == NULL || tmp == NULL) {
    free(out);
    free(tmp);
    return NULL;
  }
  const struct iri_parts *q = &r; /* where the query comes from */
  if (r.scheme != NULL) {
    put(&w, r.scheme, r.scheme_n + 1);
  } else {
    if (b.scheme != NULL)
      put(&w, b.scheme, b.scheme_n + 1);
  }
  if (r.scheme != NULL || r.auth != NULL) {
    if (r.auth != NULL) {
      put(&w, "//", 2);
      put(&w, r.auth, r.auth_n);
    }
    size_t tn;
    remove_dots(r.path, r.path_n, w, &tn);
    w += tn;
  } else {
    if (b.auth != NULL) {
      put(&w, "//", 2);
      put(&w, b.auth, b.auth_n);
    }
    if (r.path_n == 0) {
      put(&w, b.path, b.path_n);
      if (r.query == NULL)
        q = &b;
    } else {
      target_path(&b, &r, tmp, &w);
    }
  }
  if (q->query != NULL) {
    put(&w, "?", 1);
    put(&w, q->query, q->query_n);
  }
  if (r.frag != NULL) {
    put(&w, "#", 1);
    put(&w, r.frag, r.frag_n);
  }
  *w = '\0';
  free(tmp);
  return out;
}
