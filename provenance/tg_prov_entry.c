/* tg_prov_entry: a provenance entry's canonical byte encoding (version 1,
 * docs/provenance.md "Entry encoding") and its strict decoder: one encoding
 * per entry, so anyone can recompute the leaf hash from the fields. */
#include "prov_int.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_prov.h"
#include "tg_text.h"
#include "tg_time.h"
#include "tg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSTR 6 /* dataset, requester node, requester subject, owner node, purpose, rule */

static const char *const kind_names[TG_PROV_KIND_MAX + 1] = {NULL,
                                                             "data-served",
                                                             "data-received",
                                                             "request-refused",
                                                             "data-ingested",
                                                             "catalog-change",
                                                             "vocab-change",
                                                             "cert-issued",
                                                             "cert-revoked",
                                                             "cert-renewed",
                                                             "peer-added",
                                                             "peer-removed",
                                                             "subscription-created",
                                                             "notification-sent"};

static const char *const outcome_names[TG_PROV_OUTCOME_MAX + 1] = {NULL, "complete", "aborted",
                                                                   "refused"};

static const char *const str_names[NSTR] = {"dataset",    "requester_node", "requester_subject",
                                            "owner_node", "purpose",        "rule"};

const char *tg_prov_kind_name(int kind) {
  return kind >= 1 && kind <= TG_PROV_KIND_MAX ? kind_names[kind] : NULL;
}

int tg_prov_kind_parse(const char *name) {
  for (int k = 1; name != NULL && k <= TG_PROV_KIND_MAX; k++)
    if (strcmp(kind_names[k], name) == 0)
      return k;
  return 0;
}

const char *tg_prov_outcome_name(int outcome) {
  return outcome >= 1 && outcome <= TG_PROV_OUTCOME_MAX ? outcome_names[outcome] : NULL;
}

void tg_prov_time_text(uint64_t time_us, char out[TG_PROV_TIME_TEXT]) {
  int64_t y;
  int mo, d;
  uint64_t s = time_us / 1000000, us = time_us % 1000000, sod = s % 86400;
  tg_time_civil_from_days((int64_t)(s / 86400), &y, &mo, &d);
  if (y > 9999) {
    snprintf(out, TG_PROV_TIME_TEXT, "%s", "9999-12-31T23:59:59.999999Z");
    return;
  }
  snprintf(out, TG_PROV_TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, mo, d,
           (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)us);
}

/* The entry's strings in encoding order (borrowed). */
static void strings_of(const struct tg_prov_entry *e, const char *s[NSTR]) {
  s[0] = e->dataset;
  s[1] = e->requester_node;
  s[2] = e->requester_subject;
  s[3] = e->owner_node;
  s[4] = e->purpose;
  s[5] = e->rule;
}

/* 1 if S[0..LEN) may be a string field: short enough, UTF-8, no NUL. */
static int str_ok(const char *s, size_t len) {
  return len <= TG_PROV_MAX_STR && memchr(s, 0, len) == NULL && tg_utf8_valid(s, len);
}

static int put_str(struct tg_buf *out, const char *s, size_t len) {
  uint8_t l[2] = {(uint8_t)(len >> 8), (uint8_t)(len & 0xff)};
  int rc = tg_buf_append(out, l, 2);
  return rc || len == 0 ? rc : tg_buf_append(out, s, len);
}

static int put_ref(struct tg_buf *out, const struct tg_prov_ref *r) {
  uint8_t tail[16];
  int rc = put_str(out, r->node, strlen(r->node));
  tg__prov_put64(tail, r->index);
  tg__prov_put64(tail + 8, r->tree_size);
  if (rc == 0)
    rc = tg_buf_append(out, tail, sizeof(tail));
  return rc ? rc : tg_buf_append(out, r->root, TG_PROV_HASH);
}

/* Checks what the encoding cannot carry; 0 or TG_EINVAL. */
static int entry_check(const struct tg_prov_entry *e, struct tg_err *err) {
  const char *s[NSTR];
  if (tg_prov_kind_name(e->kind) == NULL)
    return tg_err_set(err, TG_EINVAL, "entry: unknown kind %d", e->kind);
  if (tg_prov_outcome_name(e->outcome) == NULL)
    return tg_err_set(err, TG_EINVAL, "entry: unknown outcome %d", e->outcome);
  strings_of(e, s);
  for (int i = 0; i < NSTR; i++)
    if (s[i] != NULL && !str_ok(s[i], strlen(s[i])))
      return tg_err_set(err, TG_EINVAL, "entry: %s is too long or not UTF-8", str_names[i]);
  if (e->has_ref && (e->ref.node == NULL || !tg_node_id_valid(e->ref.node)))
    return tg_err_set(err, TG_EINVAL, "entry: the reference's node id is not valid");
  return 0;
}

int tg_prov_entry_encode(const struct tg_prov_entry *e, struct tg_buf *out, struct tg_err *err) {
  uint8_t head[27];
  const char *s[NSTR];
  int rc = entry_check(e, err);
  if (rc)
    return rc;
  head[0] = TG_PROV_ENTRY_VERSION;
  tg__prov_put64(head + 1, e->index);
  tg__prov_put64(head + 9, e->time_us);
  head[17] = (uint8_t)e->kind;
  head[18] = (uint8_t)e->outcome;
  tg__prov_put64(head + 19, e->bytes);
  rc = tg_buf_append(out, head, sizeof(head));
  strings_of(e, s);
  for (int i = 0; rc == 0 && i < NSTR; i++)
    rc = put_str(out, s[i], s[i] ? strlen(s[i]) : 0);
  uint8_t flag = e->has_payload_hash ? 1 : 0;
  if (rc == 0)
    rc = tg_buf_append(out, &flag, 1);
  if (rc == 0 && flag)
    rc = tg_buf_append(out, e->payload_sha256, TG_PROV_HASH);
  flag = e->has_ref ? 1 : 0;
  if (rc == 0)
    rc = tg_buf_append(out, &flag, 1);
  if (rc == 0 && flag)
    rc = put_ref(out, &e->ref);
  return rc ? tg_err_set(err, rc, "entry: out of memory") : 0;
}

/* A cursor over the input being decoded. */
struct rd {
  const uint8_t *p;
  size_t len, off;
};

static const uint8_t *take(struct rd *r, size_t n) {
  if (r->len - r->off < n)
    return NULL;
  const uint8_t *q = r->p + r->off;
  r->off += n;
  return q;
}

/* A length-prefixed string: *S and *N point into the input. */
static int take_str(struct rd *r, const char **s, size_t *n) {
  const uint8_t *l = take(r, 2);
  if (l == NULL)
    return TG_EINVAL;
  *n = (size_t)l[0] << 8 | l[1];
  *s = (const char *)take(r, *n);
  return *s != NULL && str_ok(*s, *n) ? 0 : TG_EINVAL;
}

static int take_flag(struct rd *r, int *flag) {
  const uint8_t *f = take(r, 1);
  if (f == NULL || *f > 1)
    return TG_EINVAL;
  *flag = *f;
  return 0;
}

/* 1 if S[0..N) is a node id (tg_node_id_valid wants a C string). */
static int node_id_ok(const char *s, size_t n) {
  char id[TG_PROV_MAX_NODE + 1];
  if (n == 0 || n > TG_PROV_MAX_NODE)
    return 0;
  memcpy(id, s, n);
  id[n] = '\0';
  return tg_node_id_valid(id);
}

/* What the fixed part and the strings of an input decode to, before copying. */
struct raw {
  struct tg_prov_entry e;
  const char *s[NSTR + 1]; /* the six strings and the reference's node */
  size_t n[NSTR + 1];
};

static int decode_tail(struct rd *r, struct raw *w) {
  const uint8_t *q;
  if (take_flag(r, &w->e.has_payload_hash))
    return TG_EINVAL;
  if (w->e.has_payload_hash) {
    if ((q = take(r, TG_PROV_HASH)) == NULL)
      return TG_EINVAL;
    memcpy(w->e.payload_sha256, q, TG_PROV_HASH);
  }
  if (take_flag(r, &w->e.has_ref))
    return TG_EINVAL;
  if (!w->e.has_ref)
    return 0;
  if (take_str(r, &w->s[NSTR], &w->n[NSTR]) || (q = take(r, 16 + TG_PROV_HASH)) == NULL)
    return TG_EINVAL;
  w->e.ref.index = tg__prov_get64(q);
  w->e.ref.tree_size = tg__prov_get64(q + 8);
  memcpy(w->e.ref.root, q + 16, TG_PROV_HASH);
  return 0;
}

static int decode_raw(struct rd *r, struct raw *w, struct tg_err *err) {
  const uint8_t *h = take(r, 27);
  if (h == NULL)
    return tg_err_set(err, TG_EINVAL, "entry: %zu bytes, shorter than its header", r->len);
  if (h[0] != TG_PROV_ENTRY_VERSION)
    return tg_err_set(err, TG_EUNSUP, "entry: unknown version %u", h[0]);
  w->e.index = tg__prov_get64(h + 1);
  w->e.time_us = tg__prov_get64(h + 9);
  w->e.kind = h[17];
  w->e.outcome = h[18];
  w->e.bytes = tg__prov_get64(h + 19);
  if (tg_prov_kind_name(w->e.kind) == NULL || tg_prov_outcome_name(w->e.outcome) == NULL)
    return tg_err_set(err, TG_EINVAL, "entry: unknown kind %d or outcome %d", w->e.kind,
                      w->e.outcome);
  for (int i = 0; i < NSTR; i++)
    if (take_str(r, &w->s[i], &w->n[i]))
      return tg_err_set(err, TG_EINVAL, "entry: bad %s at byte %zu", str_names[i], r->off);
  if (decode_tail(r, w))
    return tg_err_set(err, TG_EINVAL, "entry: bad hash or reference at byte %zu", r->off);
  if (w->e.has_ref && !node_id_ok(w->s[NSTR], w->n[NSTR]))
    return tg_err_set(err, TG_EINVAL, "entry: the reference's node id is not valid");
  if (r->off != r->len)
    return tg_err_set(err, TG_EINVAL, "entry: %zu bytes after the end", r->len - r->off);
  return 0;
}

/* Copies string I of W into the block at *AT (NUL-terminated); NULL if absent. */
static const char *copy_str(const struct raw *w, int i, char **at) {
  if (w->n[i] == 0)
    return NULL;
  char *s = *at;
  memcpy(s, w->s[i], w->n[i]);
  s[w->n[i]] = '\0';
  *at += w->n[i] + 1;
  return s;
}

int tg__prov_entry_check(const void *p, size_t len, uint64_t *index) {
  struct rd r = {p, len, 0};
  struct raw w;
  memset(&w, 0, sizeof(w));
  int rc = decode_raw(&r, &w, NULL);
  if (rc == 0)
    *index = w.e.index;
  return rc;
}

int tg_prov_entry_decode(const void *p, size_t len, struct tg_prov_entry **out,
                         struct tg_err *err) {
  struct rd r = {p, len, 0};
  struct raw w;
  memset(&w, 0, sizeof(w));
  int rc = decode_raw(&r, &w, err);
  if (rc)
    return rc;
  size_t total = sizeof(struct tg_prov_entry);
  for (int i = 0; i <= NSTR; i++)
    total += w.n[i] + 1;
  struct tg_prov_entry *e = malloc(total);
  if (e == NULL)
    return tg_err_set(err, TG_ENOMEM, "entry: out of memory");
  *e = w.e;
  char *at = (char *)(e + 1);
  e->dataset = copy_str(&w, 0, &at);
  e->requester_node = copy_str(&w, 1, &at);
  e->requester_subject = copy_str(&w, 2, &at);
  e->owner_node = copy_str(&w, 3, &at);
  e->purpose = copy_str(&w, 4, &at);
  e->rule = copy_str(&w, 5, &at);
  e->ref.node = copy_str(&w, NSTR, &at);
  *out = e;
  return 0;
}

void tg_prov_entry_free(struct tg_prov_entry *e) {
  free(e);
}
