/* cat_themes: the shipped themes scheme (vocab/schemes/themes.jsonld, embedded
 * at build time) as a lookup table for the plain dataset form: a theme named
 * by any label, its id, notation or IRI, and the nearest labels to a name
 * that matches none. Read once, through the JSON-LD processor. */
#include "cat_int.h"
#include "tg_buf.h"
#include "tg_jsonld.h"
#include "tg_text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Generated from vocab/schemes/themes.jsonld (catalog/Makefile.inc). */
extern const char tg__cat_themes_jsonld[];

#define THEMES_IRI "urn:tsunagu:vocab:themes:"

/* [{"id": IRI, "pref": [value objects], "keys": [folded names]}], built
 * once and then only read. */
static json_t *themes;
static pthread_once_t themes_once = PTHREAD_ONCE_INIT;

static char *fold(const char *s) {
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_text_fold_key(s, strlen(s), &b)) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

static void add_key(json_t *keys, const char *s) {
  char *k = s ? fold(s) : NULL;
  if (k != NULL && *k)
    json_array_append_new(keys, json_string(k));
  free(k);
}

static void add_values(json_t *keys, const json_t *arr) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) add_key(keys, json_string_value(json_object_get(v, "@value")));
}

static void load_themes(void) {
  json_t *doc = json_loads(tg__cat_themes_jsonld, 0, NULL), *ex = NULL;
  themes = json_array();
  if (doc == NULL || themes == NULL || tg_jsonld_expand(doc, NULL, &ex, NULL) != 0) {
    json_decref(doc);
    return;
  }
  json_decref(doc);
  json_t *graph = json_object_get(json_array_get(ex, 0), "@graph");
  size_t i;
  json_t *n;
  json_array_foreach(graph ? graph : ex, i, n) {
    const char *id = json_string_value(json_object_get(n, "@id"));
    json_t *pref = json_object_get(n, NS_SKOS "prefLabel");
    if (id == NULL || strncmp(id, THEMES_IRI, strlen(THEMES_IRI)) != 0 || pref == NULL)
      continue;
    json_t *keys = json_array();
    add_key(keys, id);
    add_key(keys, id + strlen(THEMES_IRI));
    add_values(keys, pref);
    add_values(keys, json_object_get(n, NS_SKOS "altLabel"));
    add_values(keys, json_object_get(n, NS_SKOS "notation"));
    json_t *labels = json_array();
    size_t k;
    json_t *v;
    json_array_foreach(pref, k, v) {
      json_t *l = json_pack("{s:O}", "@value", json_object_get(v, "@value"));
      if (json_object_get(v, "@language"))
        json_object_set(l, "@language", json_object_get(v, "@language"));
      json_array_append_new(labels, l);
    }
    json_array_append_new(themes,
                          json_pack("{s:s, s:o, s:o}", "id", id, "pref", labels, "keys", keys));
  }
  json_decref(ex);
}

static json_t *table(void) {
  pthread_once(&themes_once, load_themes);
  return themes;
}

const json_t *tg__cat_theme_find(const char *s) {
  char *k = fold(s);
  const json_t *found = NULL;
  size_t i, j;
  json_t *t, *key;
  json_array_foreach(table(), i, t) {
    json_array_foreach(json_object_get(t, "keys"), j, key) {
      if (k != NULL && strcmp(json_string_value(key), k) == 0)
        found = t;
    }
    if (found)
      break;
  }
  free(k);
  return found;
}

json_t *tg__cat_theme_nearest(const char *s, size_t max) {
  json_t *out = json_array();
  size_t best[8] = {0};
  json_t *pick[8] = {NULL};
  size_t n = 0, i, j;
  json_t *t, *key;
  if (max > 8)
    max = 8;
  json_array_foreach(table(), i, t) {
    size_t d = (size_t)-1;
    json_array_foreach(json_object_get(t, "keys"), j, key) {
      size_t dk = tg_text_distance(s, json_string_value(key));
      if (dk < d)
        d = dk;
    }
    /* Insert in order of distance; ties keep the scheme's order. */
    size_t at = n;
    while (at > 0 && best[at - 1] > d)
      at--;
    if (at >= max)
      continue;
    for (size_t m = (n < max ? n : max - 1); m > at; m--) {
      best[m] = best[m - 1];
      pick[m] = pick[m - 1];
    }
    best[at] = d;
    pick[at] = t;
    if (n < max)
      n++;
  }
  for (i = 0; out != NULL && i < n; i++)
    json_array_append(out, pick[i]);
  return out;
}
