/* tg_prov_tree: the RFC 9162 Merkle tree in memory. Every complete, aligned
 * power-of-two subtree keeps its hash (level j holds size >> j hashes), so a
 * root or proof for any earlier size combines O(log n) stored hashes. */
#include "prov_int.h"
#include "tg_err.h"
#include "tg_prov.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LEVELS 64

struct level {
  uint8_t (*h)[TG_PROV_HASH]; /* from realloc(); n used, cap allocated */
  uint64_t n, cap;
};

struct tg_prov_tree {
  struct tg__prov_sha sha; /* appends' hashing; readers use their own */
  uint64_t size;
  struct level lv[LEVELS];
};

int tg_prov_tree_new(struct tg_prov_tree **out) {
  struct tg_prov_tree *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return TG_ENOMEM;
  if (tg__prov_sha_init(&t->sha) != 0) {
    tg_prov_tree_free(t);
    return TG_ECRYPTO;
  }
  *out = t;
  return 0;
}

void tg_prov_tree_free(struct tg_prov_tree *t) {
  if (t == NULL)
    return;
  for (int j = 0; j < LEVELS; j++)
    free(t->lv[j].h);
  tg__prov_sha_close(&t->sha);
  free(t);
}

uint64_t tg_prov_tree_size(const struct tg_prov_tree *t) {
  return t->size;
}

/* Level arrays past this size go on transparent huge pages: a million-entry
 * tree is 64 MB, and faulting it in 4 KiB pages costs more than hashing it. */
#define HUGE_PAGE (2u << 20)

/* Makes room for WANT hashes in L, keeping its contents. */
static int level_grow(struct level *l, uint64_t want) {
  if (want <= l->cap)
    return 0;
  uint64_t cap = l->cap ? l->cap : 64;
  while (cap < want)
    cap *= 2;
  if (cap > (SIZE_MAX / 2) / TG_PROV_HASH)
    return TG_ENOMEM;
  size_t bytes = (size_t)cap * TG_PROV_HASH;
  void *h;
  if (bytes >= HUGE_PAGE) {
    bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    h = aligned_alloc(HUGE_PAGE, bytes);
    if (h != NULL)
      (void)madvise(h, bytes, MADV_HUGEPAGE); /* a hint: without it, small pages */
  } else {
    h = malloc(bytes);
  }
  if (h == NULL)
    return TG_ENOMEM;
  if (l->n > 0)
    memcpy(h, l->h, (size_t)l->n * TG_PROV_HASH);
  free(l->h);
  l->h = h;
  l->cap = cap;
  return 0;
}

int tg_prov_tree_reserve(struct tg_prov_tree *t, uint64_t size) {
  for (int j = 0; j < LEVELS && (size >> j) > 0; j++)
    if (level_grow(&t->lv[j], size >> j) != 0)
      return TG_ENOMEM;
  return 0;
}

/* Number of trailing zero bits of V (V > 0). */
static int ctz64(uint64_t v) {
  return __builtin_ctzll(v);
}

int tg_prov_tree_append(struct tg_prov_tree *t, const uint8_t leaf[TG_PROV_HASH]) {
  uint8_t add[LEVELS][TG_PROV_HASH];
  uint64_t s = t->size + 1;
  int top = ctz64(s); /* levels 0..top each gain one hash */
  if (top >= LEVELS - 1)
    return TG_ETOOBIG;
  memcpy(add[0], leaf, TG_PROV_HASH);
  for (int j = 0; j < top; j++)
    if (tg__prov_sha_node(&t->sha, t->lv[j].h[t->lv[j].n - 1], add[j], add[j + 1]) != 0)
      return TG_ECRYPTO;
  for (int j = 0; j <= top; j++)
    if (level_grow(&t->lv[j], t->lv[j].n + 1) != 0)
      return TG_ENOMEM;
  for (int j = 0; j <= top; j++)
    memcpy(t->lv[j].h[t->lv[j].n++], add[j], TG_PROV_HASH);
  t->size = s;
  return 0;
}

void tg_prov_tree_truncate(struct tg_prov_tree *t, uint64_t size) {
  if (size >= t->size)
    return;
  for (int j = 0; j < LEVELS; j++)
    t->lv[j].n = size >> j;
  t->size = size;
}

const uint8_t *tg_prov_tree_leaf(const struct tg_prov_tree *t, uint64_t index) {
  return index < t->size ? t->lv[0].h[index] : NULL;
}

/* One root or proof computation over a tree it only reads. Its own hashing
 * context, set up only if a range is not a stored subtree, is what lets
 * readers of one tree run at the same time. */
struct walk {
  const struct tg_prov_tree *t;
  struct tg__prov_sha sha;
  int ready; /* sha initialised */
};

/* Releases W's context; returns RC. */
static int walk_done(struct walk *w, int rc) {
  if (w->ready)
    tg__prov_sha_close(&w->sha);
  return rc;
}

/* OUT = MTH(D[A:B]) for 0 <= A < B <= size. */
static int subtree(struct walk *w, uint64_t a, uint64_t b, uint8_t out[32]) {
  uint64_t width = b - a;
  if ((width & (width - 1)) == 0 && a % width == 0) {
    int k = ctz64(width);
    memcpy(out, w->t->lv[k].h[a >> k], TG_PROV_HASH);
    return 0;
  }
  uint8_t l[TG_PROV_HASH], r[TG_PROV_HASH];
  uint64_t k = tg__prov_split(width);
  int rc = subtree(w, a, a + k, l);
  if (rc == 0)
    rc = subtree(w, a + k, b, r);
  if (rc == 0 && !w->ready) {
    rc = tg__prov_sha_init(&w->sha);
    w->ready = 1;
  }
  if (rc == 0)
    rc = tg__prov_sha_node(&w->sha, l, r, out);
  return rc;
}

int tg_prov_tree_root(const struct tg_prov_tree *t, uint64_t size, uint8_t out[TG_PROV_HASH]) {
  if (size > t->size)
    return TG_EINVAL;
  if (size == 0) {
    unsigned int n = 0;
    return EVP_Digest("", 0, out, &n, t->sha.md, NULL) == 1 ? 0 : TG_ECRYPTO;
  }
  struct walk w = {t, {NULL, NULL}, 0};
  return walk_done(&w, subtree(&w, 0, size, out));
}

/* Appends MTH(D[A:B]) to P's path. */
static int path_add(struct walk *w, uint64_t a, uint64_t b, struct tg_prov_proof *p) {
  if (p->n >= TG_PROV_MAX_PROOF)
    return TG_ETOOBIG;
  int rc = subtree(w, a, b, p->path[p->n]);
  if (rc == 0)
    p->n++;
  return rc;
}

/* PATH(M, D[A:B]) of RFC 9162 2.1.3.1, M relative to A. */
static int inclusion(struct walk *w, uint64_t m, uint64_t a, uint64_t b, struct tg_prov_proof *p) {
  if (b - a <= 1)
    return 0;
  uint64_t k = tg__prov_split(b - a);
  int rc;
  if (m < k) {
    rc = inclusion(w, m, a, a + k, p);
    return rc ? rc : path_add(w, a + k, b, p);
  }
  rc = inclusion(w, m - k, a + k, b, p);
  return rc ? rc : path_add(w, a, a + k, p);
}

int tg_prov_tree_inclusion(const struct tg_prov_tree *t, uint64_t index, uint64_t size,
                           struct tg_prov_proof *p) {
  if (index >= size || size > t->size)
    return TG_EINVAL;
  p->type = TG_PROV_PROOF_INCLUSION;
  p->a = index;
  p->b = size;
  p->n = 0;
  struct walk w = {t, {NULL, NULL}, 0};
  return walk_done(&w, inclusion(&w, index, 0, size, p));
}

/* SUBPROOF(M, D[A:B], WHOLE) of RFC 9162 2.1.4.1, M relative to A. */
static int subproof(struct walk *w, uint64_t m, uint64_t a, uint64_t b, int whole,
                    struct tg_prov_proof *p) {
  if (m == b - a)
    return whole ? 0 : path_add(w, a, b, p);
  uint64_t k = tg__prov_split(b - a);
  int rc;
  if (m <= k) {
    rc = subproof(w, m, a, a + k, whole, p);
    return rc ? rc : path_add(w, a + k, b, p);
  }
  rc = subproof(w, m - k, a + k, b, 0, p);
  return rc ? rc : path_add(w, a, a + k, p);
}

int tg_prov_tree_consistency(const struct tg_prov_tree *t, uint64_t first, uint64_t second,
                             struct tg_prov_proof *p) {
  if (first == 0 || first > second || second > t->size)
    return TG_EINVAL;
  p->type = TG_PROV_PROOF_CONSISTENCY;
  p->a = first;
  p->b = second;
  p->n = 0;
  struct walk w = {t, {NULL, NULL}, 0};
  return walk_done(&w, subproof(&w, first, 0, second, 1, p));
}
