/* cat_lex: lexical checks for catalog input: IRIs, language tags, xsd:date
 * and xsd:dateTime with a real calendar check, WKT bounding boxes, media types. */
#include "cat_int.h"
#include "tg_err.h"
#include "tg_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Characters never allowed in an IRI (RFC 3987 excludes them outright). */
static int iri_forbidden(unsigned char c) {
  return c <= 0x20 || c == 0x7f || strchr("<>\"{}|\\^`", c) != NULL;
}

int tg__cat_iri_ok(const char *s) {
  if (s == NULL || !is_alpha((unsigned char)s[0]))
    return 0;
  const char *p = s + 1;
  while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '+' || *p == '-' ||
         *p == '.')
    p++;
  if (*p != ':' || p[1] == '\0')
    return 0;
  for (const char *q = p + 1; *q; q++) {
    if (iri_forbidden((unsigned char)*q))
      return 0;
    if (*q == '%' && !(is_hex((unsigned char)q[1]) && is_hex((unsigned char)q[2])))
      return 0;
  }
  size_t slen = (size_t)(p - s);
  if ((slen == 4 && strncasecmp(s, "http", 4) == 0) || (slen == 5 && strncasecmp(s, "https", 5) == 0))
    return tg__cat_http_ok(s);
  if (slen == 6 && strncasecmp(s, "mailto", 6) == 0) {
    const char *at = strchr(p + 1, '@');
    return at != NULL && at > p + 1 && at[1] != '\0' && strchr(at + 1, '@') == NULL;
  }
  if (slen == 3 && strncasecmp(s, "urn", 3) == 0) {
    /* urn:<nid>:<nss> */
    const char *nid = p + 1, *c = strchr(nid, ':');
    return c != NULL && c > nid && c[1] != '\0';
  }
  return 1;
}

/* Checks host[:port] of an http(s) authority (userinfo not allowed). */
static int authority_ok(const char *a, size_t n) {
  if (n == 0)
    return 0;
  if (memchr(a, '@', n) != NULL)
    return 0;
  size_t hostlen = n;
  if (a[0] == '[') {
    const char *close = memchr(a, ']', n);
    if (close == NULL || close == a + 1)
      return 0;
    for (const char *q = a + 1; q < close; q++)
      if (!is_hex((unsigned char)*q) && *q != ':' && *q != '.')
        return 0;
    hostlen = (size_t)(close - a) + 1;
  } else {
    const char *colon = memchr(a, ':', n);
    if (colon != NULL)
      hostlen = (size_t)(colon - a);
    if (hostlen == 0)
      return 0;
    size_t label = 0;
    for (size_t i = 0; i < hostlen; i++) {
      unsigned char c = (unsigned char)a[i];
      if (c == '.') {
        if (label == 0)
          return 0;
        label = 0;
      } else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '~' || c == '%' ||
                 c >= 0x80) {
        label++;
      } else {
        return 0;
      }
    }
  }
  if (hostlen < n) {
    if (a[hostlen] != ':')
      return 0;
    size_t digits = n - hostlen - 1;
    if (digits == 0 || digits > 5)
      return 0;
    long port = 0;
    for (size_t i = hostlen + 1; i < n; i++) {
      if (!is_digit((unsigned char)a[i]))
        return 0;
      port = port * 10 + (a[i] - '0');
    }
    if (port < 1 || port > 65535)
      return 0;
  }
  return 1;
}

int tg__cat_http_ok(const char *s) {
  const char *rest;
  if (s == NULL)
    return 0;
  if (strncasecmp(s, "http://", 7) == 0)
    rest = s + 7;
  else if (strncasecmp(s, "https://", 8) == 0)
    rest = s + 8;
  else
    return 0;
  for (const char *q = rest; *q; q++) {
    if (iri_forbidden((unsigned char)*q))
      return 0;
    if (*q == '%' && !(is_hex((unsigned char)q[1]) && is_hex((unsigned char)q[2])))
      return 0;
  }
  size_t n = strcspn(rest, "/?#");
  return authority_ok(rest, n);
}

int tg__cat_lang_ok(const char *s) {
  size_t part = 0, nparts = 0;
  if (s == NULL || *s == '\0')
    return 0;
  for (const char *p = s;; p++) {
    if (*p == '-' || *p == '\0') {
      if (part == 0 || part > 8)
        return 0;
      nparts++;
      part = 0;
      if (*p == '\0')
        break;
      continue;
    }
    if (nparts == 0 ? !is_alpha((unsigned char)*p)
                    : !(is_alpha((unsigned char)*p) || is_digit((unsigned char)*p)))
      return 0;
    part++;
  }
  return 1;
}

/* Reads exactly N digits at *P into *V, advancing *P. */
static int digits(const char **p, int n, int *v) {
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (!is_digit((unsigned char)(*p)[i]))
      return 0;
    x = x * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *v = x;
  return 1;
}

/* Parses an optional zone at P (Z or +hh:mm / -hh:mm); P must then end. */
static int zone(const char *p, int *offset_min) {
  int hh, mm;
  *offset_min = 0;
  if (*p == '\0')
    return 1;
  if (p[0] == 'Z')
    return p[1] == '\0';
  if (p[0] != '+' && p[0] != '-')
    return 0;
  int sign = p[0] == '-' ? -1 : 1;
  p++;
  if (!digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mm) || *p != '\0')
    return 0;
  if (mm > 59 || hh > 14 || (hh == 14 && mm != 0))
    return 0;
  *offset_min = sign * (hh * 60 + mm);
  return 1;
}

int tg__cat_xsd_time(const char *s, int is_datetime, int64_t *epoch) {
  int y, mo, d, h = 0, mi = 0, se = 0, off;
  const char *p = s;
  if (s == NULL)
    return TG_EINVAL;
  if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
      !digits(&p, 2, &d))
    return TG_EINVAL;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || !tg_time_date_valid(y, mo, d))
    return TG_EINVAL;
  if (is_datetime) {
    if (*p++ != 'T' || !digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) ||
        *p++ != ':' || !digits(&p, 2, &se))
      return TG_EINVAL;
    int frac = 0;
    if (*p == '.') {
      p++;
      while (is_digit((unsigned char)*p)) {
        if (*p != '0')
          frac = 1;
        p++;
      }
      if (p[-1] == '.')
        return TG_EINVAL;
    }
    if (h == 24) {
      if (mi != 0 || se != 0 || frac) /* only 24:00:00 is allowed */
        return TG_EINVAL;
    } else if (h > 23 || mi > 59 || se > 59) {
      return TG_EINVAL;
    }
  }
  if (!zone(p, &off))
    return TG_EINVAL;
  if (epoch != NULL)
    *epoch = tg_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
             (int64_t)off * 60;
  return 0;
}

int tg_cat_parse_time(const char *s, int64_t *out) {
  if (s == NULL)
    return TG_EINVAL;
  return tg__cat_xsd_time(s, strchr(s, 'T') != NULL, out);
}

void tg__cat_box_empty(double box[4]) {
  box[0] = box[1] = INFINITY;
  box[2] = box[3] = -INFINITY;
}

int tg__cat_wkt_bbox(const char *s, double box[4]) {
  const char *p = s;
  int depth = 0, npoints = 0, seen_paren = 0;
  while (*p == ' ')
    p++;
  if (*p == '<') { /* a CRS IRI; only CRS84 / WGS 84 lon-lat is understood */
    const char *end = strchr(p, '>');
    if (end == NULL)
      return TG_EINVAL;
    if (strstr(p, "CRS84") == NULL || strstr(p, "CRS84") > end)
      return TG_EINVAL;
    p = end + 1;
    while (*p == ' ')
      p++;
  }
  if (!is_alpha((unsigned char)*p))
    return TG_EINVAL;
  while (is_alpha((unsigned char)*p))
    p++;
  while (*p) {
    if (*p == ' ' || *p == ',') {
      p++;
    } else if (*p == '(') {
      depth++;
      seen_paren = 1;
      if (depth > 4)
        return TG_EINVAL;
      p++;
    } else if (*p == ')') {
      if (--depth < 0)
        return TG_EINVAL;
      p++;
    } else {
      /* a point: two or three numbers */
      double c[3];
      int k = 0;
      if (depth == 0)
        return TG_EINVAL;
      while (k < 3 && *p && *p != ',' && *p != ')') {
        char *end;
        c[k] = strtod(p, &end);
        if (end == p || !isfinite(c[k]))
          return TG_EINVAL;
        k++;
        p = end;
        while (*p == ' ')
          p++;
      }
      if (k < 2 || (*p != ',' && *p != ')'))
        return TG_EINVAL;
      if (c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90)
        return TG_EINVAL;
      if (c[0] < box[0]) box[0] = c[0];
      if (c[1] < box[1]) box[1] = c[1];
      if (c[0] > box[2]) box[2] = c[0];
      if (c[1] > box[3]) box[3] = c[1];
      npoints++;
    }
  }
  return depth == 0 && seen_paren && npoints > 0 ? 0 : TG_EINVAL;
}

static int tchar(int c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$&^_.+-", c) != NULL);
}

int tg__cat_mediatype_ok(const char *s) {
  const char *p = s;
  size_t n = 0;
  while (tchar((unsigned char)*p)) {
    p++;
    n++;
  }
  if (n == 0 || n > 127 || *p++ != '/')
    return 0;
  n = 0;
  while (tchar((unsigned char)*p)) {
    p++;
    n++;
  }
  return n > 0 && n <= 127 && *p == '\0';
}
