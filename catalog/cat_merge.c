/* cat_merge: one ranked, deduplicated page from the search answers of several
 * catalogs (this node's, peers' live answers, a harvested index). bm25 scores
 * are relative to each index's own statistics, so relevance is compared on
 * one scale by dividing each source's scores by that source's best (every
 * source answers from offset 0, so its best is always in hand and the scale
 * does not move from page to page); modified and title sorts compare the
 * datasets' own values. Ties fall to the dataset id, so the order is total. */
#include "tg_cat.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cand {
  json_t *item;    /* borrowed from the input answer */
  const char *id;  /* borrowed */
  const char *source, *via;
  double key;      /* normalised score, or dct:modified for SORT_MODIFIED */
  char *title_key; /* folded title for SORT_TITLE (malloc), or NULL */
  enum tg_cat_sort sort;
};

static const char *first_text(const json_t *v) {
  if (json_is_string(v))
    return json_string_value(v);
  if (json_is_array(v))
    v = json_array_get(v, 0);
  if (json_is_object(v))
    v = json_object_get(v, "@value");
  return json_string_value(v);
}

static double modified_of(const json_t *doc) {
  int64_t t = 0;
  const char *m = first_text(json_object_get(doc, "dct:modified"));
  if (m == NULL || tg_cat_parse_time(m, &t) != 0)
    return 0;
  return (double)t;
}

/* Best-first comparison, then id. */
static int cand_cmp(const void *pa, const void *pb) {
  const struct cand *a = pa, *b = pb;
  if (a->sort == TG_CAT_SORT_TITLE) {
    int c = strcmp(a->title_key ? a->title_key : "", b->title_key ? b->title_key : "");
    if (c != 0)
      return c;
  } else if (a->key != b->key) {
    return a->key > b->key ? -1 : 1;
  }
  return strcmp(a->id, b->id);
}

static double best_score(const json_t *items) {
  double best = 0;
  size_t i;
  const json_t *it;
  json_array_foreach(items, i, it) {
    double s = json_number_value(json_object_get(it, "score"));
    if (s > best)
      best = s;
  }
  return best;
}

/* Adds IT to C (N of them) unless its id is there; a duplicate keeps the
 * better key (and the direct answer over one relayed by another node). */
static void add_cand(struct cand *c, size_t *n, json_t *it, const char *source, const char *via,
                     double key, enum tg_cat_sort sort) {
  const char *id = json_string_value(json_object_get(it, "id"));
  if (id == NULL)
    return;
  for (size_t k = 0; k < *n; k++) {
    if (strcmp(c[k].id, id) != 0)
      continue;
    if (key > c[k].key || (key == c[k].key && c[k].via != NULL && via == NULL)) {
      c[k].item = it;
      c[k].key = key;
      c[k].source = source;
      c[k].via = via;
    }
    return;
  }
  struct cand *x = &c[(*n)++];
  x->item = it;
  x->id = id;
  x->source = source;
  x->via = via;
  x->key = key;
  x->title_key = NULL;
  x->sort = sort;
  if (sort == TG_CAT_SORT_TITLE) {
    const char *t = first_text(json_object_get(json_object_get(it, "dataset"), "dct:title"));
    struct tg_buf b;
    tg_buf_init(&b);
    if (t != NULL && tg_text_fold_key(t, strlen(t), &b) == 0 && b.data != NULL)
      x->title_key = (char *)b.data; /* the buffer's memory is from malloc */
    else
      tg_buf_close(&b);
  }
}

/* Sums the facet counts of every answer: {"kind": [{"value", "count"}]} with
 * the top 20 values of each kind. */
static json_t *merge_facets(const struct tg_cat_merge_in *in, size_t n) {
  json_t *sum = json_object(), *out = json_object();
  for (size_t i = 0; i < n; i++) {
    const char *kind;
    json_t *vals;
    json_object_foreach(json_object_get(in[i].answer, "facets"), kind, vals) {
      json_t *m = json_object_get(sum, kind);
      if (m == NULL)
        json_object_set_new(sum, kind, m = json_object());
      size_t k;
      json_t *v;
      json_array_foreach(vals, k, v) {
        const char *val = json_string_value(json_object_get(v, "value"));
        if (val == NULL)
          continue;
        json_int_t c = json_integer_value(json_object_get(v, "count"));
        json_int_t had = json_integer_value(json_object_get(m, val));
        json_object_set_new(m, val, json_integer(had + c));
      }
    }
  }
  const char *kind;
  json_t *m;
  json_object_foreach(sum, kind, m) {
    json_t *arr = json_array();
    for (int top = 0; top < 20 && json_object_size(m) > 0; top++) {
      const char *best = NULL, *key;
      json_int_t bc = -1;
      json_t *v;
      json_object_foreach(m, key, v) {
        json_int_t c = json_integer_value(v);
        if (c > bc || (c == bc && strcmp(key, best) < 0)) {
          bc = c;
          best = key;
        }
      }
      json_array_append_new(arr, json_pack("{s:s, s:I}", "value", best, "count", bc));
      json_object_del(m, best);
    }
    json_object_set_new(out, kind, arr);
  }
  json_decref(sum);
  return out;
}

static size_t count_items(const struct tg_cat_merge_in *in, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += json_array_size(json_object_get(in[i].answer, "items"));
  return total;
}

static void gather(const struct tg_cat_merge_in *in, size_t n, enum tg_cat_sort sort,
                   struct cand *c, size_t *nc, int64_t *total, int *exact) {
  for (size_t i = 0; i < n; i++) {
    json_t *items = json_object_get(in[i].answer, "items");
    double best = best_score(items);
    *total += json_integer_value(json_object_get(in[i].answer, "total"));
    if (!json_is_true(json_object_get(in[i].answer, "total_exact")))
      *exact = 0;
    size_t k;
    json_t *it;
    json_array_foreach(items, k, it) {
      double key = 0;
      if (sort == TG_CAT_SORT_RELEVANCE)
        key = best > 0 ? json_number_value(json_object_get(it, "score")) / best : 0;
      else if (sort == TG_CAT_SORT_MODIFIED)
        key = modified_of(json_object_get(it, "dataset"));
      /* An item a peer found through another node keeps that node as "via". */
      const char *via = json_string_value(json_object_get(it, "via"));
      const char *src = json_string_value(json_object_get(it, "source"));
      if (via == NULL && src != NULL && in[i].source != NULL && strcmp(src, in[i].source) != 0)
        via = in[i].source;
      add_cand(c, nc, it, src ? src : in[i].source, via, key, sort);
    }
  }
}

static json_t *page_item(const struct cand *c, enum tg_cat_sort sort) {
  json_t *it = json_deep_copy(c->item);
  char owner[64];
  if (it == NULL)
    return NULL;
  if (sort == TG_CAT_SORT_RELEVANCE)
    json_object_set_new(it, "score", json_real(round(c->key * 1e4) / 1e4));
  if (json_object_get(it, "owner") == NULL && tg_cat_dataset_owner(c->id, owner, sizeof(owner)) == 0)
    json_object_set_new(it, "owner", json_string(owner));
  if (c->source != NULL)
    json_object_set_new(it, "source", json_string(c->source));
  if (c->via != NULL)
    json_object_set_new(it, "via", json_string(c->via));
  else
    json_object_del(it, "via");
  return it;
}

int tg_cat_merge(const struct tg_cat_merge_in *in, size_t n, enum tg_cat_sort sort,
                 int64_t offset, int64_t limit, json_t **out, struct tg_err *err) {
  size_t cap = count_items(in, n) + 1, nc = 0;
  struct cand *c = calloc(cap, sizeof(*c));
  int64_t total = 0;
  int exact = 1;
  *out = NULL;
  if (c == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  gather(in, n, sort, c, &nc, &total, &exact);
  if (nc < count_items(in, n))
    exact = 0; /* duplicates were counted in the sources' totals */
  qsort(c, nc, sizeof(*c), cand_cmp);
  json_t *items = json_array();
  for (size_t k = (size_t)offset; k < nc && (int64_t)(k - (size_t)offset) < limit; k++)
    json_array_append_new(items, page_item(&c[k], sort));
  for (size_t k = 0; k < nc; k++)
    free(c[k].title_key);
  free(c);
  int withheld = 0;
  for (size_t i = 0; i < n; i++)
    withheld |= json_is_true(json_object_get(in[i].answer, "facets_withheld"));
  *out = json_pack("{s:I, s:b, s:I, s:I, s:o, s:o}", "total", (json_int_t)total, "total_exact",
                   exact, "offset", (json_int_t)offset, "limit", (json_int_t)limit, "items",
                   items, "facets", merge_facets(in, n));
  if (*out != NULL && withheld) /* a peer kept its facets to itself: these are not all */
    json_object_set_new(*out, "facets_partial", json_true());
  return *out ? 0 : tg_err_set(err, TG_ENOMEM, "out of memory");
}
