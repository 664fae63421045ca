/* cat_plain: reads the plain-JSON dataset form a CKAN user writes ("title",
 * "keywords", "themes" by label, "license": "CC-BY-4.0", dates in ISO 8601 or
 * 和暦, "distribution", "grant") into the DCAT-AP JSON-LD that cat_validate
 * checks and canonicalises, so both forms store the same document. Errors
 * name the plain field, what was expected, an example and a likely fix. */
#include "cat_int.h"
#include "cat_plain.h"
#include "cat_store.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"
#include "tg_util.h"
#include "tg_voc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plain {
  json_t *problems; /* borrowed: where problems go */
  json_t *map;      /* converted pointer -> plain pointer */
  const char *node_id;
};

/* ---- problems and pointers ---- */

/* Appends a problem at plain pointer PTR: the message, then what was
 * EXPECTED, an EXAMPLE and a SUGGESTION (each may be NULL), each also as a
 * member of its own. */
static void problem(struct plain *p, const char *ptr, const char *expected, const char *example,
                    const char *suggestion, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void problem(struct plain *p, const char *ptr, const char *expected, const char *example,
                    const char *suggestion, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  struct tg_buf b;
  tg_buf_init(&b);
  int rc = tg_buf_puts(&b, msg);
  if (expected)
    rc |= tg_buf_printf(&b, "; expected %s", expected);
  if (example)
    rc |= tg_buf_printf(&b, ", e.g. %s", example);
  if (suggestion)
    rc |= tg_buf_printf(&b, "; did you mean %s?", suggestion);
  json_t *o = rc ? NULL : json_pack("{s:s, s:s}", "pointer", ptr, "detail", b.data);
  tg_buf_close(&b);
  if (o == NULL)
    return;
  if (expected)
    json_object_set_new(o, "expected", json_string(expected));
  if (example)
    json_object_set_new(o, "example", json_string(example));
  if (suggestion)
    json_object_set_new(o, "suggestion", json_string(suggestion));
  json_array_append_new(p->problems, o);
}

/* PTR + "/" + KEY (escaped) into the caller's buffer OUT (N bytes). */
static const char *at_key(char *out, size_t n, const char *ptr, const char *key) {
  char *s = tg__cat_ptr_key(ptr, key);
  if (snprintf(out, n, "%s", s ? s : ptr) >= (int)n)
    out[0] = '\0'; /* too deep to name: the root */
  free(s);
  return out;
}

static const char *at_idx(char *out, size_t n, const char *ptr, size_t i) {
  if (snprintf(out, n, "%s/%zu", ptr, i) >= (int)n)
    out[0] = '\0';
  return out;
}

static void map(struct plain *p, const char *gen, const char *plain) {
  json_object_set_new(p->map, gen, json_string(plain));
}

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "a list";
  case JSON_STRING:
    return "text";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "true/false";
  default:
    return "null";
  }
}

/* ---- names: fields and what a misspelling meant ---- */

/* Edit distance between two names, case-insensitive (the catalog's folded
 * distance, tg_text_distance); long ones are never near. */
static size_t name_distance(const char *a, const char *b) {
  if (strlen(a) >= 63 || strlen(b) >= 63)
    return 99;
  return tg_text_distance(a, b);
}

/* Names other tools use for a field (CKAN, DCAT), for suggestions only. */
static const struct {
  const char *other, *ours;
} aliases[] = {
    {"notes", "description"},
    {"name", "id"},
    {"tags", "keywords"},
    {"keyword", "keywords"},
    {"theme", "themes"},
    {"groups", "themes"},
    {"license_id", "license"},
    {"license_url", "license"},
    {"licence", "license"},
    {"resources", "distribution"},
    {"distributions", "distribution"},
    {"organization", "publisher"},
    {"author", "publisher"},
    {"maintainer", "contact"},
    {"maintainer_email", "contact"},
    {"author_email", "contact"},
    {"contactPoint", "contact"},
    {"url", "access_url"},
    {"accessURL", "access_url"},
    {"access_url", "access_url"},
    {"mediaType", "media_type"},
    {"mimetype", "media_type"},
    {"format", "media_type"},
    {"downloadURL", "download_url"},
    {"metadata_created", "issued"},
    {"metadata_modified", "modified"},
    {"created", "issued"},
    {"updated", "modified"},
    {"policy", "grant"},
    {"grants", "grant"},
    {"assignee", "grant"},
    {"period", "temporal"},
    {"start_date", "temporal"},
    {"end_date", "temporal"},
    {"begin", "start"},
    {"from", "start"},
    {"to", "end"},
    {"until", "end"},
    {"mail", "email"},
};

/* The field of ALLOWED (NULL-terminated) that KEY most likely meant, or
 * NULL. */
static const char *meant(const char *key, const char *const *allowed) {
  for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
    if (strcasecmp(key, aliases[i].other) == 0)
      for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, aliases[i].ours) == 0)
          return *a;
  const char *best = NULL;
  size_t bd = 99;
  for (const char *const *a = allowed; *a; a++) {
    size_t d = name_distance(key, *a);
    if (d < bd) {
      bd = d;
      best = *a;
    }
  }
  size_t len = strlen(key);
  return bd <= (len >= 4 ? 2u : 1u) ? best : NULL;
}

/* Reports every key of O (at PTR) not in ALLOWED, in WHAT. */
static void unknown_keys(struct plain *p, const json_t *o, const char *ptr, const char *what,
                         const char *const *allowed) {
  const char *k;
  json_t *v;
  char at[512], list[400] = "", sug[80];
  for (const char *const *a = allowed; *a; a++)
    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", a == allowed ? "" : ", ",
             *a);
  json_object_foreach((json_t *)o, k, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = strcmp(k, *a) == 0;
    if (ok)
      continue;
    /* "dct:description": what the part after the prefix names here. */
    const char *colon = strrchr(k, ':');
    const char *m = meant(colon ? colon + 1 : k, allowed);
    snprintf(sug, sizeof(sug), "\"%s\"", m ? m : "");
    at_key(at, sizeof(at), ptr, k);
    if (k[0] == '@' || strchr(k, ':') != NULL)
      problem(p, at, NULL, NULL, m ? sug : NULL,
              "\"%.60s\" is a JSON-LD term: the plain form names fields without prefixes (%s); "
              "to write DCAT-AP JSON-LD instead, give an \"@context\"",
              k, list);
    else
      problem(p, at, list, NULL, m ? sug : NULL, "unknown field \"%.60s\" in %s", k, what);
  }
}

/* ---- values ---- */

/* A non-empty string at PTR, else a problem. */
static const char *text(struct plain *p, const json_t *v, const char *ptr, const char *field,
                        const char *example) {
  const char *s = json_string_value(v);
  if (s == NULL) {
    problem(p, ptr, "text", example, NULL, "%s must be text, not %s", field, json_kind(v));
    return NULL;
  }
  if (s[strspn(s, " \t\r\n")] == '\0') {
    problem(p, ptr, "text", example, NULL, "%s is empty", field);
    return NULL;
  }
  return s;
}

/* Text or a language map {"ja": ..., "en": ...} as an array of JSON-LD
 * literals; each one's pointer GEN/i is mapped to its plain pointer. */
static json_t *texts(struct plain *p, const json_t *v, const char *ptr, const char *gen,
                     const char *field, const char *example) {
  char g[512], at[512];
  json_t *out = json_array();
  if (json_is_string(v)) {
    if (text(p, v, ptr, field, example) != NULL) {
      json_array_append(out, (json_t *)v);
      map(p, at_idx(g, sizeof(g), gen, 0), ptr);
    }
    return out;
  }
  if (!json_is_object(v) || json_object_size(v) == 0) {
    problem(p, ptr, "text, or text per language {\"ja\": \"…\", \"en\": \"…\"}", example, NULL,
            "%s must be text or a map of language to text, not %s", field,
            json_object_size(v) == 0 && json_is_object(v) ? "an empty object" : json_kind(v));
    return out;
  }
  const char *lang;
  json_t *t;
  json_object_foreach((json_t *)v, lang, t) {
    at_key(at, sizeof(at), ptr, lang);
    if (!tg__cat_lang_ok(lang)) {
      problem(p, at, "a language tag such as \"ja\" or \"en\"", NULL, NULL,
              "\"%.40s\" is not a language tag", lang);
      continue;
    }
    if (text(p, t, at, field, example) == NULL)
      continue;
    map(p, at_idx(g, sizeof(g), gen, json_array_size(out)), at);
    json_array_append_new(out, json_pack("{s:O, s:s}", "@value", t, "@language", lang));
  }
  return out;
}

/* ---- dates ---- */

/* Y-M-D read from "2024/4/1", "2024.4.1", "2024年4月1日" (with full-width
 * digits folded): 1 and the ISO form into OUT when it is a real date. */
static int loose_date(const char *s, char *out, size_t n) {
  char a[64];
  size_t k = 0, pos = 0, len = strlen(s);
  while (pos < len && k + 1 < sizeof(a)) {
    int32_t c = tg_utf8_next(s, len, &pos);
    if (c < 0)
      return 0;
    uint32_t f = tg_text_fold_width((uint32_t)c);
    if (f == 0x5E74 || f == 0x6708) /* 年 月 */
      f = '-';
    else if (f == 0x65E5) /* 日 */
      continue;
    if (f >= 0x80)
      return 0;
    a[k++] = (char)f;
  }
  a[k] = '\0';
  int y, m, d;
  char sep1, sep2, tail;
  if (sscanf(a, " %4d%c%2d%c%2d %c", &y, &sep1, &m, &sep2, &d, &tail) != 5 || sep1 != sep2 ||
      !strchr("-/.", sep1))
    return 0;
  snprintf(out, n, "%04d-%02d-%02d", y, m, d);
  return tg__cat_xsd_time(out, 0, NULL) == 0;
}

/* An era date S as ISO 8601: 1 (date) or 2 (with the time, at +09:00). */
static int era_iso(const char *s, char *out, size_t n, struct tg_err *err) {
  struct tg_voc_date d;
  if (tg_voc_era_parse(s, strlen(s), &d, err) != 0)
    return 0;
  if (d.has_time) {
    d.has_tz = 1;
    d.tz_min = 540; /* an era date is a date in Japan */
  }
  if (tg_voc_iso_format(&d, out, n) != 0)
    return 0;
  return d.has_time ? 2 : 1;
}

int tg__cat_date_suggest(const char *s, char *out, size_t n) {
  int r = era_iso(s, out, n, NULL);
  if (r)
    return r;
  return loose_date(s, out, n);
}

/* A date value: ISO 8601 date or date-time, or 和暦, as a typed literal. */
static json_t *date(struct plain *p, const json_t *v, const char *ptr, const char *field) {
  static const char *const expected =
      "a date in ISO 8601 (YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a zone) or 和暦";
  static const char *const example = "\"2024-04-01\" or \"令和6年4月1日\"";
  const char *s = json_string_value(v);
  char iso[64], sug[80];
  if (s == NULL) {
    problem(p, ptr, expected, example, NULL, "%s must be a date as text, not %s", field,
            json_kind(v));
    return NULL;
  }
  if (tg__cat_xsd_time(s, 0, NULL) == 0)
    return json_pack("{s:s, s:s}", "@value", s, "@type", "xsd:date");
  if (tg__cat_xsd_time(s, 1, NULL) == 0)
    return json_pack("{s:s, s:s}", "@value", s, "@type", "xsd:dateTime");
  struct tg_err err;
  tg_err_clear(&err);
  int r = era_iso(s, iso, sizeof(iso), &err);
  if (r)
    return json_pack("{s:s, s:s}", "@value", iso, "@type", r == 2 ? "xsd:dateTime" : "xsd:date");
  if (loose_date(s, iso, sizeof(iso))) {
    snprintf(sug, sizeof(sug), "\"%s\"", iso);
    problem(p, ptr, expected, example, sug, "\"%.60s\" is not written as a date the catalog reads",
            s);
  } else if (err.msg[0] != '\0' && strstr(s, "\xE5\xB9\xB4") != NULL) {
    /* Written like an era date (with 年), but the era reader refused it:
     * say why (平成31年5月1日: the era had ended). */
    problem(p, ptr, expected, example, NULL, "\"%.60s\" is not a date: %s", s,
            tg_err_msg(&err, TG_EINVAL));
  } else {
    problem(p, ptr, expected, example, NULL, "\"%.60s\" is not a date", s);
  }
  return NULL;
}

/* ---- the fields ---- */

static void f_id(struct plain *p, const json_t *v, json_t *out) {
  const char *s = json_string_value(v);
  static const char *const expected =
      "a local id of 1-64 letters, digits, '.', '_' or '-', or urn:tsunagu:<node>:dataset:<id>";
  if (s != NULL && tg__cat_local_id_ok(s)) {
    if (p->node_id != NULL) {
      struct tg_buf b;
      tg_buf_init(&b);
      if (tg_buf_printf(&b, "urn:tsunagu:%s:dataset:%s", p->node_id, s) == 0)
        json_object_set_new(out, "@id", json_string(b.data));
      tg_buf_close(&b);
      map(p, "/@id", "/id");
    }
    return;
  }
  if (s != NULL && strncmp(s, "urn:tsunagu:", 12) == 0 && strstr(s, ":dataset:") != NULL &&
      tg__cat_iri_ok(s)) {
    json_object_set_new(out, "@id", json_string(s));
    map(p, "/@id", "/id");
    return;
  }
  char sug[80] = "";
  if (s != NULL) { /* "River Level" -> "river-level" */
    size_t k = 0;
    for (const char *c = s; *c && k + 2 < sizeof(sug) - 1; c++) {
      if (isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == '-')
        sug[++k] = (char)tolower((unsigned char)*c);
      else if (k > 0 && sug[k] != '-')
        sug[++k] = '-';
    }
    while (k > 0 && sug[k] == '-')
      k--;
    sug[0] = '"';
    sug[k + 1] = '"';
    sug[k + 2] = '\0';
    if (k == 0 || k > 64)
      sug[0] = '\0';
  }
  problem(p, "/id", expected, "\"river-level\"", sug[0] ? sug : NULL, "id %s is not a dataset id",
          s ? "text" : json_kind(v));
}

static void f_keywords(struct plain *p, const json_t *v, json_t *out) {
  char at[512], g[64], sug[400];
  json_t *arr = json_array();
  if (json_is_string(v)) {
    /* "水位, 河川" or "水位、河川" -> ["水位", "河川"] */
    const char *str = json_string_value(v);
    json_t *words = json_array();
    size_t len = strlen(str), start = 0, pos = 0;
    while (words != NULL && start <= len) {
      size_t at_sep = pos;
      int32_t c = pos < len ? tg_utf8_next(str, len, &pos) : -1;
      if (c == -1 && pos < len)
        pos++; /* not UTF-8: keep going byte by byte */
      if (c == ',' || c == 0x3001 /* 、 */ || c == 0xFF0C /* ， */ || pos >= len) {
        size_t end = (c == ',' || c == 0x3001 || c == 0xFF0C) ? at_sep : len;
        while (start < end && str[start] == ' ')
          start++;
        while (end > start && str[end - 1] == ' ')
          end--;
        if (end > start)
          json_array_append_new(words, json_stringn(str + start, end - start));
        start = pos;
        if (pos >= len)
          break;
      }
    }
    char *sg = json_array_size(words) > 0 ? json_dumps(words, 0) : NULL;
    snprintf(sug, sizeof(sug), "%s", sg ? sg : "");
    free(sg);
    json_decref(words);
    problem(p, "/keywords", "a list of words", "[\"水位\", \"河川\"]", sug[0] ? sug : NULL,
            "keywords must be a list, not text");
    json_decref(arr);
    return;
  }
  if (json_is_object(v)) { /* per language: {"ja": [...], "en": [...]} */
    const char *lang;
    json_t *list;
    json_object_foreach((json_t *)v, lang, list) {
      char lp[512];
      at_key(lp, sizeof(lp), "/keywords", lang);
      if (!tg__cat_lang_ok(lang)) {
        problem(p, lp, "a language tag such as \"ja\" or \"en\"", NULL, NULL,
                "\"%.40s\" is not a language tag", lang);
        continue;
      }
      if (!json_is_array(list)) {
        problem(p, lp, "a list of words", "[\"水位\", \"河川\"]", NULL,
                "keywords in %s must be a list, not %s", lang, json_kind(list));
        continue;
      }
      size_t i;
      json_t *w;
      json_array_foreach(list, i, w) {
        at_idx(at, sizeof(at), lp, i);
        if (text(p, w, at, "a keyword", "\"水位\"") == NULL)
          continue;
        map(p, at_idx(g, sizeof(g), "/dcat:keyword", json_array_size(arr)), at);
        json_array_append_new(arr, json_pack("{s:O, s:s}", "@value", w, "@language", lang));
      }
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *w;
    json_array_foreach(v, i, w) {
      at_idx(at, sizeof(at), "/keywords", i);
      if (text(p, w, at, "a keyword", "\"水位\"") == NULL)
        continue;
      map(p, at_idx(g, sizeof(g), "/dcat:keyword", json_array_size(arr)), at);
      json_array_append(arr, w);
    }
  } else {
    problem(p, "/keywords", "a list of words", "[\"水位\", \"河川\"]", NULL,
            "keywords must be a list, not %s", json_kind(v));
  }
  if (json_array_size(arr) > 0)
    json_object_set_new(out, "dcat:keyword", arr);
  else
    json_decref(arr);
}

/* The theme's display name for messages: "防災" (disaster-prevention). */
static void theme_name(const json_t *t, char *out, size_t n) {
  const char *id = json_string_value(json_object_get(t, "id"));
  const char *tail = id ? strrchr(id, ':') : NULL;
  const char *label =
      json_string_value(json_object_get(json_array_get(json_object_get(t, "pref"), 0), "@value"));
  snprintf(out, n, "\"%s\" (%s)", label ? label : "?", tail ? tail + 1 : "?");
}

static void f_themes(struct plain *p, const json_t *v, json_t *out) {
  char at[512], g[64];
  json_t *arr = json_array(), *one = NULL;
  if (json_is_string(v))
    v = one = json_pack("[O]", v); /* one theme may be given alone */
  if (!json_is_array(v)) {
    problem(p, "/themes", "a list of theme labels or ids from the themes scheme",
            "[\"防災\", \"environment-energy\"]", NULL, "themes must be a list, not %s",
            json_kind(v));
    json_decref(arr);
    return;
  }
  size_t i;
  json_t *t;
  json_array_foreach(v, i, t) {
    if (one != NULL)
      snprintf(at, sizeof(at), "/themes");
    else
      at_idx(at, sizeof(at), "/themes", i);
    const char *s = text(p, t, at, "a theme", "\"防災\"");
    if (s == NULL)
      continue;
    const json_t *th = tg__cat_theme_find(s);
    json_t *node = NULL;
    if (th != NULL) {
      node = json_pack("{s:O, s:O}", "@id", json_object_get(th, "id"), "skos:prefLabel",
                       json_object_get(th, "pref"));
    } else if (strchr(s, ':') != NULL && tg__cat_iri_ok(s)) {
      node = json_pack("{s:s}", "@id", s); /* another scheme's concept, by IRI */
    } else {
      json_t *near = tg__cat_theme_nearest(s, 3);
      char sug[300] = "", name[120];
      size_t k;
      json_t *c;
      json_array_foreach(near, k, c) {
        theme_name(c, name, sizeof(name));
        snprintf(sug + strlen(sug), sizeof(sug) - strlen(sug), "%s%s", k ? " or " : "", name);
      }
      json_decref(near);
      problem(p, at,
              "a label (in any language), id or IRI of a theme in the shipped themes scheme "
              "(urn:tsunagu:vocab:themes), or a concept IRI of another known scheme",
              "\"防災\", \"disaster prevention\" or \"disaster-prevention\"", sug[0] ? sug : NULL,
              "\"%.60s\" is not a known theme", s);
      continue;
    }
    /* "防災" and "disaster-prevention" are one theme: say so once. */
    const char *nid = json_string_value(json_object_get(node, "@id"));
    size_t k, dup = 0;
    json_t *prev;
    json_array_foreach(arr, k, prev) dup |=
        strcmp(json_string_value(json_object_get(prev, "@id")), nid) == 0;
    if (dup) {
      problem(p, at, NULL, NULL, NULL, "\"%.60s\" is %.120s, which is already given", s, nid);
      json_decref(node);
      continue;
    }
    map(p, at_idx(g, sizeof(g), "/dcat:theme", json_array_size(arr)), at);
    json_array_append_new(arr, node);
  }
  json_decref(one);
  if (json_array_size(arr) > 0)
    json_object_set_new(out, "dcat:theme", arr);
  else
    json_decref(arr);
}

/* SPDX licence ids the plain form knows, and the licence document each
 * stands for (the licence's own page, as the catalog's examples use). */
static const struct {
  const char *spdx, *url;
} licenses[] = {
    {"CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"},
    {"CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"},
    {"CC-BY-NC-4.0", "https://creativecommons.org/licenses/by-nc/4.0/"},
    {"CC-BY-ND-4.0", "https://creativecommons.org/licenses/by-nd/4.0/"},
    {"CC-BY-NC-SA-4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"},
    {"CC-BY-NC-ND-4.0", "https://creativecommons.org/licenses/by-nc-nd/4.0/"},
    {"CC-BY-2.1-JP", "https://creativecommons.org/licenses/by/2.1/jp/"},
    {"CC-BY-3.0", "https://creativecommons.org/licenses/by/3.0/"},
    {"CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"},
    {"ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/"},
    {"ODC-By-1.0", "https://opendatacommons.org/licenses/by/1-0/"},
    {"PDDL-1.0", "https://opendatacommons.org/licenses/pddl/1-0/"},
    {"OGL-UK-3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"},
    {"MIT", "https://opensource.org/licenses/MIT"},
    {"Apache-2.0", "https://www.apache.org/licenses/LICENSE-2.0"},
};
#define NLICENSES (sizeof(licenses) / sizeof(licenses[0]))

/* S with spaces and underscores as '-', "CC BY 4.0" -> "CC-BY-4.0". */
static void license_norm(const char *s, char *out, size_t n) {
  size_t k = 0;
  for (; *s && k + 1 < n; s++)
    if (*s == ' ' || *s == '_' || *s == '-') {
      if (k > 0 && out[k - 1] != '-')
        out[k++] = '-';
    } else {
      out[k++] = *s;
    }
  while (k > 0 && out[k - 1] == '-')
    k--;
  out[k] = '\0';
}

const char *tg__cat_license_url(const char *s, const char **spdx) {
  char norm[80];
  license_norm(s, norm, sizeof(norm));
  for (size_t i = 0; i < NLICENSES; i++)
    if (strcasecmp(s, licenses[i].spdx) == 0 || strcasecmp(norm, licenses[i].spdx) == 0) {
      if (spdx != NULL)
        *spdx = licenses[i].spdx;
      return licenses[i].url;
    }
  return NULL;
}

static void f_license(struct plain *p, const json_t *v, json_t *out) {
  static const char *const expected =
      "an SPDX licence id (CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0, CC-BY-2.1-JP, ODbL-1.0, ...) or the "
      "licence's URL";
  const char *s = text(p, v, "/license", "license", "\"CC-BY-4.0\"");
  if (s == NULL)
    return;
  for (size_t i = 0; i < NLICENSES; i++)
    if (strcasecmp(s, licenses[i].spdx) == 0) {
      json_object_set_new(out, "dct:license", json_pack("{s:s}", "@id", licenses[i].url));
      map(p, "/dct:license", "/license");
      return;
    }
  if ((strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) && tg__cat_http_ok(s)) {
    json_object_set_new(out, "dct:license", json_pack("{s:s}", "@id", s));
    map(p, "/dct:license", "/license");
    return;
  }
  char norm[80], sug[100] = "";
  license_norm(s, norm, sizeof(norm));
  size_t best = NLICENSES, bd = 99;
  for (size_t i = 0; i < NLICENSES; i++) {
    size_t d = strcasecmp(norm, licenses[i].spdx) == 0 ? 0 : name_distance(norm, licenses[i].spdx);
    if (d < bd) {
      bd = d;
      best = i;
    }
  }
  if (best < NLICENSES && bd <= 3)
    snprintf(sug, sizeof(sug), "\"%s\"", licenses[best].spdx);
  problem(p, "/license", expected, "\"CC-BY-4.0\"", sug[0] ? sug : NULL,
          "\"%.60s\" is not a licence id the node knows nor a URL", s);
}

static const char *const publisher_keys[] = {"name", "url", NULL};

static void f_publisher(struct plain *p, const json_t *v, json_t *out) {
  json_t *o = json_pack("{s:s}", "@type", "foaf:Agent");
  const json_t *name = v;
  if (json_is_object(v) && (json_object_get(v, "name") != NULL || json_object_get(v, "url"))) {
    unknown_keys(p, v, "/publisher", "publisher", publisher_keys);
    name = json_object_get(v, "name");
    if (name == NULL)
      problem(p, "/publisher/name", "the publisher's name", "\"A市\"", NULL,
              "the publisher's name is required");
    const json_t *u = json_object_get(v, "url");
    if (u != NULL) {
      const char *s = json_string_value(u);
      if (s == NULL || !tg__cat_http_ok(s))
        problem(p, "/publisher/url", "an http(s) URL", "\"https://www.city.example.lg.jp/\"", NULL,
                "the publisher's url is not a URL");
      else {
        json_object_set_new(o, "@id", json_string(s));
        map(p, "/dct:publisher/@id", "/publisher/url");
      }
    }
    if (name != NULL)
      json_object_set_new(o, "foaf:name",
                          texts(p, name, "/publisher/name", "/dct:publisher/foaf:name",
                                "publisher name", "\"A市\""));
  } else {
    json_t *n = texts(p, name, "/publisher", "/dct:publisher/foaf:name", "publisher",
                      "\"A市\" or {\"name\": \"A市\", \"url\": \"https://…\"}");
    json_object_set_new(o, "foaf:name", n);
  }
  map(p, "/dct:publisher", "/publisher");
  json_object_set_new(out, "dct:publisher", o);
}

static const char *const contact_keys[] = {"name", "email", "url", NULL};

static void f_contact(struct plain *p, const json_t *v, json_t *out) {
  if (!json_is_object(v)) {
    problem(p, "/contact", "an object with name, email and/or url",
            "{\"name\": \"情報政策課\", \"email\": \"opendata@city.example.lg.jp\"}", NULL,
            "contact must be an object, not %s", json_kind(v));
    return;
  }
  unknown_keys(p, v, "/contact", "contact", contact_keys);
  json_t *o = json_pack("{s:s}", "@type", "vcard:Kind");
  if (json_object_get(v, "name"))
    json_object_set_new(o, "vcard:fn",
                        texts(p, json_object_get(v, "name"), "/contact/name",
                              "/dcat:contactPoint/0/vcard:fn", "contact name", "\"情報政策課\""));
  const json_t *e = json_object_get(v, "email");
  if (e != NULL) {
    const char *s = json_string_value(e);
    const char *addr = s && strncmp(s, "mailto:", 7) == 0 ? s + 7 : s;
    const char *atc = addr ? strchr(addr, '@') : NULL;
    if (atc == NULL || atc == addr || strchr(atc + 1, '@') || !strchr(atc, '.') ||
        strpbrk(addr, " <>\"") != NULL) {
      problem(p, "/contact/email", "an e-mail address", "\"opendata@city.example.lg.jp\"", NULL,
              "contact email is not an e-mail address");
    } else {
      struct tg_buf b;
      tg_buf_init(&b);
      if (tg_buf_printf(&b, "mailto:%s", addr) == 0)
        json_object_set_new(o, "vcard:hasEmail", json_pack("{s:s}", "@id", b.data));
      tg_buf_close(&b);
      map(p, "/dcat:contactPoint/0/vcard:hasEmail", "/contact/email");
    }
  }
  const json_t *u = json_object_get(v, "url");
  if (u != NULL) {
    if (json_string_value(u) == NULL || !tg__cat_http_ok(json_string_value(u)))
      problem(p, "/contact/url", "an http(s) URL", "\"https://www.city.example.lg.jp/contact\"",
              NULL, "contact url is not a URL");
    else
      json_object_set_new(o, "vcard:hasURL", json_pack("{s:O}", "@id", u));
    map(p, "/dcat:contactPoint/0/vcard:hasURL", "/contact/url");
  }
  map(p, "/dcat:contactPoint/0", "/contact");
  json_object_set_new(out, "dcat:contactPoint", json_pack("[o]", o));
}

static const char *const temporal_keys[] = {"start", "end", NULL};

static void f_temporal(struct plain *p, const json_t *v, json_t *out) {
  char at[512], a2[512], g[128];
  json_t *arr = json_array(), *one = NULL;
  if (json_is_object(v))
    v = one = json_pack("[O]", v);
  if (!json_is_array(v)) {
    problem(p, "/temporal", "a period {\"start\": date, \"end\": date} (or a list of them)",
            "{\"start\": \"2020-04-01\", \"end\": \"令和6年3月31日\"}", NULL,
            "temporal must be an object, not %s", json_kind(v));
    json_decref(arr);
    return;
  }
  size_t i;
  json_t *t;
  json_array_foreach(v, i, t) {
    if (one)
      snprintf(at, sizeof(at), "/temporal");
    else
      at_idx(at, sizeof(at), "/temporal", i);
    if (!json_is_object(t) || (!json_object_get(t, "start") && !json_object_get(t, "end"))) {
      problem(p, at, "a period with start and/or end", "{\"start\": \"2020-04-01\"}", NULL,
              "a period needs start and/or end");
      continue;
    }
    unknown_keys(p, t, at, "a period", temporal_keys);
    json_t *node = json_pack("{s:s}", "@type", "dct:PeriodOfTime");
    size_t gi = json_array_size(arr);
    for (int k = 0; k < 2; k++) {
      const char *key = k ? "end" : "start", *prop = k ? "dcat:endDate" : "dcat:startDate";
      const json_t *d = json_object_get(t, key);
      if (d == NULL)
        continue;
      json_t *lit = date(p, d, at_key(a2, sizeof(a2), at, key), k ? "end" : "start");
      if (lit == NULL)
        continue;
      snprintf(g, sizeof(g), "/dct:temporal/%zu/%s", gi, prop);
      map(p, g, a2);
      json_object_set_new(node, prop, lit);
    }
    map(p, at_idx(g, sizeof(g), "/dct:temporal", gi), at);
    json_array_append_new(arr, node);
  }
  json_decref(one);
  if (json_array_size(arr) > 0)
    json_object_set_new(out, "dct:temporal", arr);
  else
    json_decref(arr);
}

static const char *const spatial_keys[] = {"bbox", NULL};

/* Spatial coverage: a place IRI, a 6-digit 全国地方公共団体コード, or
 * {"bbox": [west, south, east, north]} in WGS 84 degrees. */
static void f_spatial(struct plain *p, const json_t *v, json_t *out) {
  static const char *const expected =
      "a place IRI, a 全国地方公共団体コード such as \"011002\", or {\"bbox\": [west, south, east, "
      "north]} in degrees";
  char at[512], g[64];
  json_t *arr = json_array(), *one = NULL;
  if (!json_is_array(v))
    v = one = json_pack("[O]", v);
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s) {
    if (one)
      snprintf(at, sizeof(at), "/spatial");
    else
      at_idx(at, sizeof(at), "/spatial", i);
    json_t *node = NULL;
    const char *str = json_string_value(s);
    char code[7];
    if (str != NULL && strlen(str) <= 7 &&
        tg_voc_lgcode_normalize(str, strlen(str), code, NULL) == 0) {
      char iri[64];
      snprintf(iri, sizeof(iri), "urn:tsunagu:vocab:lg-code:%s", code);
      node = json_pack("{s:s}", "@id", iri);
    } else if (str != NULL && strchr(str, ':') != NULL && tg__cat_iri_ok(str)) {
      node = json_pack("{s:s}", "@id", str);
    } else if (json_is_object(s) && json_is_array(json_object_get(s, "bbox"))) {
      unknown_keys(p, s, at, "a place", spatial_keys);
      json_t *b = json_object_get(s, "bbox");
      double c[4];
      int ok = json_array_size(b) == 4;
      for (size_t k = 0; ok && k < 4; k++) {
        ok = json_is_number(json_array_get(b, k));
        c[k] = json_number_value(json_array_get(b, k));
      }
      ok = ok && c[0] >= -180 && c[2] <= 180 && c[0] < c[2] && c[1] >= -90 && c[3] <= 90 &&
           c[1] < c[3];
      if (!ok) {
        problem(p, at_key(g, sizeof(g), at, "bbox"), "[west, south, east, north] in WGS 84 degrees",
                "[141.2, 43.0, 141.5, 43.2]", NULL,
                "bbox must be four numbers, west < east and south < north");
        continue;
      }
      char wkt[300];
      snprintf(wkt, sizeof(wkt),
               "POLYGON((%.15g %.15g, %.15g %.15g, %.15g %.15g, %.15g %.15g, "
               "%.15g %.15g))",
               c[0], c[1], c[2], c[1], c[2], c[3], c[0], c[3], c[0], c[1]);
      node = json_pack("{s:s, s:s}", "@type", "dct:Location", "dcat:bbox", wkt);
    } else {
      problem(p, at, expected, "\"011002\" or {\"bbox\": [141.2, 43.0, 141.5, 43.2]}", NULL,
              "spatial is not a place the node reads");
      continue;
    }
    map(p, at_idx(g, sizeof(g), "/dct:spatial", json_array_size(arr)), at);
    json_array_append_new(arr, node);
  }
  json_decref(one);
  if (json_array_size(arr) > 0)
    json_object_set_new(out, "dct:spatial", arr);
  else
    json_decref(arr);
}

static const char *const dist_keys[] = {"access_url", "download_url", "media_type",  "mode",
                                        "backend",    "title",        "description", NULL};

/* A URL field of a distribution. */
static int dist_url(struct plain *p, const json_t *d, json_t *node, const char *key,
                    const char *prop, const char *at, const char *gat, const char *example) {
  char a[512], g[512];
  const json_t *u = json_object_get(d, key);
  if (u == NULL)
    return 0;
  const char *s = json_string_value(u);
  at_key(a, sizeof(a), at, key);
  if (s == NULL || !tg__cat_http_ok(s)) {
    problem(p, a, "an http:// or https:// URL", example, NULL, "%s is not a URL", key);
    return -1;
  }
  json_object_set_new(node, prop, json_pack("{s:s}", "@id", s));
  map(p, at_key(g, sizeof(g), gat, prop), a);
  return 1;
}

/* A distribution's mode and backend (at AT; GAT in the converted
 * document): distributed needs a backend, accumulated refuses one. */
static void dist_mode(struct plain *p, const json_t *d, json_t *node, const char *at,
                      const char *gat) {
  char a2[512], g[128];
  const json_t *m = json_object_get(d, "mode");
  const char *mode = json_string_value(m);
  const json_t *be = json_object_get(d, "backend");
  at_key(a2, sizeof(a2), at, "mode");
  if (m != NULL && (mode == NULL || (strcmp(mode, "distributed") && strcmp(mode, "accumulated")))) {
    const char *sug = NULL;
    if (mode && (strncasecmp(mode, "dist", 4) == 0 || strcasecmp(mode, "proxy") == 0 ||
                 strcasecmp(mode, "pass-through") == 0))
      sug = "\"distributed\"";
    else if (mode && (strncasecmp(mode, "acc", 3) == 0 || strcasecmp(mode, "stored") == 0 ||
                      strcasecmp(mode, "store") == 0))
      sug = "\"accumulated\"";
    problem(p, a2,
            "\"distributed\" (requests pass through to your backend) or \"accumulated\" (the "
            "node stores the data sent to it)",
            "\"distributed\"", sug, "mode is not a distribution mode");
    mode = NULL;
  } else if (mode != NULL) {
    json_object_set_new(node, "tsunagu:mode", json_string(mode));
    map(p, at_key(g, sizeof(g), gat, "tsunagu:mode"), a2);
  }
  if (be != NULL && mode != NULL && strcmp(mode, "accumulated") == 0) {
    problem(p, at_key(a2, sizeof(a2), at, "backend"), NULL, NULL, NULL,
            "backend is only for mode \"distributed\": an accumulated dataset's data is kept "
            "by the node");
  } else if (be == NULL && mode != NULL && strcmp(mode, "distributed") == 0) {
    problem(p, at_key(a2, sizeof(a2), at, "backend"), "the URL of the backend that serves the data",
            "\"http://10.0.0.5:8080/water\"", NULL, "backend is required for mode \"distributed\"");
  } else {
    dist_url(p, d, node, "backend", "tsunagu:backend", at, gat, "\"http://10.0.0.5:8080/water\"");
  }
}

static void f_distribution(struct plain *p, const json_t *v, json_t *out) {
  char at[512], g[128], a2[512];
  json_t *arr = json_array(), *one = NULL;
  if (json_is_object(v))
    v = one = json_pack("[O]", v);
  if (!json_is_array(v)) {
    problem(p, "/distribution", "an object (or a list of them) with access_url and mode",
            "{\"access_url\": \"https://city.example.lg.jp/api/v1/datasets/river/data\", "
            "\"mode\": \"distributed\", \"backend\": \"http://10.0.0.5:8080/water\"}",
            NULL, "distribution must be an object, not %s", json_kind(v));
    json_decref(arr);
    return;
  }
  size_t i;
  json_t *d;
  json_array_foreach(v, i, d) {
    if (one)
      snprintf(at, sizeof(at), "/distribution");
    else
      at_idx(at, sizeof(at), "/distribution", i);
    if (!json_is_object(d)) {
      problem(p, at, "an object with access_url and mode", NULL, NULL,
              "a distribution must be an object, not %s", json_kind(d));
      continue;
    }
    unknown_keys(p, d, at, "a distribution", dist_keys);
    size_t gi = json_array_size(arr);
    char gat[64];
    at_idx(gat, sizeof(gat), "/dcat:distribution", gi);
    json_t *node = json_pack("{s:s}", "@type", "dcat:Distribution");
    if (dist_url(p, d, node, "access_url", "dcat:accessURL", at, gat,
                 "\"https://city.example.lg.jp/api/v1/datasets/river/data\"") == 0)
      problem(p, at_key(a2, sizeof(a2), at, "access_url"),
              "the URL where the data is reached (the node's /api/v1/datasets/<id>/data)",
              "\"https://city.example.lg.jp/api/v1/datasets/river/data\"", NULL,
              "access_url is required");
    dist_url(p, d, node, "download_url", "dcat:downloadURL", at, gat,
             "\"https://city.example.lg.jp/files/river.csv\"");
    const json_t *mt = json_object_get(d, "media_type");
    if (mt != NULL) {
      const char *s = json_string_value(mt);
      at_key(a2, sizeof(a2), at, "media_type");
      if (s == NULL || !tg__cat_mediatype_ok(s)) {
        problem(p, a2, "a media type", "\"application/json\" or \"text/csv\"", NULL,
                "media_type is not a media type");
      } else {
        json_object_set_new(node, "dcat:mediaType", json_string(s));
        map(p, at_key(g, sizeof(g), gat, "dcat:mediaType"), a2);
      }
    }
    if (json_object_get(d, "title"))
      json_object_set_new(node, "dct:title",
                          texts(p, json_object_get(d, "title"), at_key(a2, sizeof(a2), at, "title"),
                                at_key(g, sizeof(g), gat, "dct:title"), "title", "\"CSV\""));
    if (json_object_get(d, "description"))
      json_object_set_new(
          node, "dct:description",
          texts(p, json_object_get(d, "description"), at_key(a2, sizeof(a2), at, "description"),
                at_key(g, sizeof(g), gat, "dct:description"), "description", "\"10分毎の水位\""));
    dist_mode(p, d, node, at, gat);
    map(p, gat, at);
    json_array_append_new(arr, node);
  }
  json_decref(one);
  if (json_array_size(arr) > 0)
    json_object_set_new(out, "dcat:distribution", arr);
  else
    json_decref(arr);
}

/* grant: "federation", or a list of node ids and/or "federation": one
 * odrl:Offer permitting odrl:use to each, as the JSON-LD form writes it. */
static void f_grant(struct plain *p, const json_t *v, json_t *out) {
  static const char *const expected =
      "\"federation\" (every member node) or a list of node ids and/or \"federation\"";
  static const char *const example = "[\"b-town\", \"c-village\"]";
  char at[512], g[128];
  json_t *as = json_array(), *one = NULL;
  if (json_is_string(v))
    v = one = json_pack("[O]", v);
  if (!json_is_array(v) || json_array_size(v) == 0) {
    problem(p, "/grant", expected, example, NULL,
            json_is_array(v) ? "grant is empty (a dataset is always offered to someone; the owner "
                               "node always has access)"
                             : "grant must be a list, not %s",
            json_kind(v));
    json_decref(as);
    json_decref(one);
    return;
  }
  size_t i;
  json_t *n;
  json_array_foreach(v, i, n) {
    if (one)
      snprintf(at, sizeof(at), "/grant");
    else
      at_idx(at, sizeof(at), "/grant", i);
    const char *s = text(p, n, at, "a grant", "\"b-town\"");
    if (s == NULL)
      continue;
    char iri[128];
    if (strcmp(s, "federation") == 0 || strcmp(s, "urn:tsunagu:federation") == 0)
      snprintf(iri, sizeof(iri), "urn:tsunagu:federation");
    else if (tg_node_id_valid(s))
      snprintf(iri, sizeof(iri), "urn:tsunagu:node:%s", s);
    else if (strncmp(s, "urn:tsunagu:node:", 17) == 0 && tg_node_id_valid(s + 17))
      snprintf(iri, sizeof(iri), "%s", s);
    else {
      const char *sug = NULL;
      if (strcmp(s, "*") == 0 || strcasecmp(s, "all") == 0 || strcasecmp(s, "public") == 0 ||
          strcasecmp(s, "everyone") == 0 || name_distance(s, "federation") <= 3)
        sug = "\"federation\"";
      problem(p, at, expected, example, sug, "\"%.60s\" is not a node id nor \"federation\"", s);
      continue;
    }
    int dup = 0;
    size_t k;
    json_t *e;
    json_array_foreach(as, k, e) dup |=
        strcmp(json_string_value(json_object_get(e, "@id")), iri) == 0;
    if (dup) {
      problem(p, at, NULL, NULL, NULL, "\"%.60s\" is granted twice", s);
      continue;
    }
    snprintf(g, sizeof(g), "/odrl:hasPolicy/odrl:permission/0/odrl:assignee/%zu",
             json_array_size(as));
    map(p, g, at);
    json_array_append_new(as, json_pack("{s:s}", "@id", iri));
  }
  json_decref(one);
  if (json_array_size(as) == 0) {
    json_decref(as);
    return;
  }
  map(p, "/odrl:hasPolicy", "/grant");
  json_object_set_new(out, "odrl:hasPolicy",
                      json_pack("{s:s, s:[{s:{s:s}, s:o}]}", "@type", "odrl:Offer",
                                "odrl:permission", "odrl:action", "@id", "odrl:use",
                                "odrl:assignee", as));
}

/* ---- the document ---- */

static const char *const fields[] = {"id",        "title",   "description",  "keywords", "themes",
                                     "license",   "issued",  "modified",     "temporal", "spatial",
                                     "publisher", "contact", "distribution", "grant",    NULL};

int tg__cat_plain_is(const json_t *in) {
  if (!json_is_object(in))
    return 0;
  const char *k;
  json_t *v;
  int prefixed = 0, plain = 0;
  json_object_foreach((json_t *)in, k, v) {
    if (k[0] == '@')
      return 0;
    if (strchr(k, ':') != NULL)
      prefixed++;
    else
      plain++;
  }
  return plain > 0 || prefixed == 0;
}

int tg__cat_plain_convert(const json_t *in, const char *node_id, json_t *problems, json_t **out,
                          json_t **mapp) {
  struct plain p = {problems, json_object(), node_id};
  json_t *o = json_pack("{s:s}", "@type", "dcat:Dataset");
  size_t before = json_array_size(problems);
  *out = NULL;
  *mapp = NULL;
  if (p.map == NULL || o == NULL) {
    json_decref(p.map);
    json_decref(o);
    return TG_ENOMEM;
  }
  map(&p, "", "");
  unknown_keys(&p, in, "", "a dataset", fields);
  const json_t *v;
  if ((v = json_object_get(in, "id")) != NULL)
    f_id(&p, v, o);
  static const struct {
    const char *field, *prop, *example;
  } lits[] = {
      {"title", "dct:title", "\"河川水位\" or {\"ja\": \"河川水位\", \"en\": \"River level\"}"},
      {"description", "dct:description",
       "\"10分毎の水位\" or {\"ja\": \"10分毎の水位\", \"en\": \"Levels every 10 minutes\"}"}};
  for (size_t i = 0; i < 2; i++) {
    char ptr[32], gen[32];
    snprintf(ptr, sizeof(ptr), "/%s", lits[i].field);
    snprintf(gen, sizeof(gen), "/%s", lits[i].prop);
    v = json_object_get(in, lits[i].field);
    if (v == NULL) {
      problem(&p, ptr, "text, or text per language", lits[i].example, NULL, "%s is required",
              lits[i].field);
      continue;
    }
    json_object_set_new(o, lits[i].prop, texts(&p, v, ptr, gen, lits[i].field, lits[i].example));
  }
  if ((v = json_object_get(in, "keywords")) != NULL)
    f_keywords(&p, v, o);
  if ((v = json_object_get(in, "themes")) != NULL)
    f_themes(&p, v, o);
  if ((v = json_object_get(in, "license")) != NULL)
    f_license(&p, v, o);
  for (int k = 0; k < 2; k++) {
    const char *f = k ? "modified" : "issued";
    char ptr[16], gen[16];
    snprintf(ptr, sizeof(ptr), "/%s", f);
    snprintf(gen, sizeof(gen), "/dct:%s", f);
    if ((v = json_object_get(in, f)) == NULL)
      continue;
    json_t *lit = date(&p, v, ptr, f);
    if (lit != NULL) {
      json_object_set_new(o, gen + 1, lit);
      map(&p, gen, ptr);
    }
  }
  if ((v = json_object_get(in, "temporal")) != NULL)
    f_temporal(&p, v, o);
  if ((v = json_object_get(in, "spatial")) != NULL)
    f_spatial(&p, v, o);
  if ((v = json_object_get(in, "publisher")) != NULL)
    f_publisher(&p, v, o);
  if ((v = json_object_get(in, "contact")) != NULL)
    f_contact(&p, v, o);
  if ((v = json_object_get(in, "distribution")) != NULL)
    f_distribution(&p, v, o);
  if ((v = json_object_get(in, "grant")) != NULL)
    f_grant(&p, v, o);
  if (json_array_size(problems) > before) {
    json_decref(o);
    json_decref(p.map);
    return TG_EINVAL;
  }
  *out = o;
  *mapp = p.map;
  return 0;
}

void tg__cat_plain_map_problems(json_t *problems, const json_t *mp) {
  size_t i;
  json_t *pr;
  json_array_foreach(problems, i, pr) {
    const char *ptr = json_string_value(json_object_get(pr, "pointer"));
    const char *k, *best = NULL;
    json_t *v;
    size_t blen = 0;
    if (ptr == NULL)
      continue;
    json_object_foreach((json_t *)mp, k, v) {
      size_t n = strlen(k);
      if (strncmp(ptr, k, n) == 0 && (ptr[n] == '\0' || ptr[n] == '/') &&
          (best == NULL || n > blen)) {
        best = json_string_value(v);
        blen = n;
      }
    }
    if (best != NULL)
      json_object_set_new(pr, "pointer", json_string(best));
  }
}

char *tg__cat_plain_id(const json_t *in, const char *node_id) {
  if (!tg__cat_plain_is(in))
    return NULL;
  const char *s = json_string_value(json_object_get(in, "id"));
  if (s == NULL)
    return NULL;
  if (!tg__cat_local_id_ok(s))
    return strdup(s);
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_buf_printf(&b, "urn:tsunagu:%s:dataset:%s", node_id, s)) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}
