/* tg_prov_proof: checking RFC 9162 inclusion (2.1.3.2) and consistency
 * (2.1.4.2) proofs without the tree, and the proofs' binary form. */
#include "prov_int.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_prov.h"
#include "tg_util.h"

#include <string.h>

#define PROOF_VERSION 1
#define PROOF_HEAD 19 /* version, type, a, b, count */

int tg_prov_proof_len(int type, uint64_t a, uint64_t b) {
  int len = 0;
  if (type == TG_PROV_PROOF_INCLUSION) {
    if (a >= b)
      return -1;
    for (uint64_t m = a, n = b; n > 1; len++) {
      uint64_t k = tg__prov_split(n);
      if (m < k) {
        n = k;
      } else {
        m -= k;
        n -= k;
      }
    }
    return len;
  }
  if (type != TG_PROV_PROOF_CONSISTENCY || a == 0 || a > b)
    return -1;
  int whole = 1;
  for (uint64_t m = a, n = b; m != n; len++) {
    uint64_t k = tg__prov_split(n);
    if (m <= k) {
      n = k;
    } else {
      m -= k;
      n -= k;
      whole = 0;
    }
  }
  return len + (whole ? 0 : 1);
}

/* Shifts FN and SN right together until FN's low bit is set or FN is 0. */
static void shift_to_set(uint64_t *fn, uint64_t *sn) {
  while (*fn != 0 && (*fn & 1) == 0) {
    *fn >>= 1;
    *sn >>= 1;
  }
}

int tg_prov_inclusion_verify(const struct tg_prov_proof *p, const uint8_t leaf[TG_PROV_HASH],
                             const uint8_t root[TG_PROV_HASH]) {
  if (p->type != TG_PROV_PROOF_INCLUSION || p->a >= p->b || p->n > TG_PROV_MAX_PROOF)
    return TG_EINVAL;
  struct tg__prov_sha sha;
  uint8_t r[TG_PROV_HASH];
  uint64_t fn = p->a, sn = p->b - 1;
  int rc = tg__prov_sha_init(&sha);
  memcpy(r, leaf, TG_PROV_HASH);
  for (size_t i = 0; rc == 0 && i < p->n; i++) {
    if (sn == 0) {
      rc = TG_EPROTO;
      break;
    }
    if ((fn & 1) || fn == sn) {
      rc = tg__prov_sha_node(&sha, p->path[i], r, r);
      if ((fn & 1) == 0)
        shift_to_set(&fn, &sn);
    } else {
      rc = tg__prov_sha_node(&sha, r, p->path[i], r);
    }
    fn >>= 1;
    sn >>= 1;
  }
  tg__prov_sha_close(&sha);
  if (rc == 0 && (sn != 0 || !tg_ct_equal(r, root, TG_PROV_HASH)))
    rc = TG_EPROTO;
  return rc;
}

/* Steps 3-7 of 2.1.4.2 over PATH (N hashes, the first one the seed). */
static int consistency_walk(struct tg__prov_sha *sha, const struct tg_prov_proof *p,
                            const uint8_t (*path)[TG_PROV_HASH], size_t n,
                            const uint8_t first_root[32], const uint8_t second_root[32]) {
  uint64_t fn = p->a - 1, sn = p->b - 1;
  uint8_t fr[TG_PROV_HASH], sr[TG_PROV_HASH];
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  memcpy(fr, path[0], TG_PROV_HASH);
  memcpy(sr, path[0], TG_PROV_HASH);
  for (size_t i = 1; i < n; i++) {
    if (sn == 0)
      return TG_EPROTO;
    if ((fn & 1) || fn == sn) {
      if (tg__prov_sha_node(sha, path[i], fr, fr) || tg__prov_sha_node(sha, path[i], sr, sr))
        return TG_ECRYPTO;
      if ((fn & 1) == 0)
        shift_to_set(&fn, &sn);
    } else if (tg__prov_sha_node(sha, sr, path[i], sr)) {
      return TG_ECRYPTO;
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || !tg_ct_equal(fr, first_root, TG_PROV_HASH) ||
      !tg_ct_equal(sr, second_root, TG_PROV_HASH))
    return TG_EPROTO;
  return 0;
}

int tg_prov_consistency_verify(const struct tg_prov_proof *p,
                               const uint8_t first_root[TG_PROV_HASH],
                               const uint8_t second_root[TG_PROV_HASH]) {
  if (p->type != TG_PROV_PROOF_CONSISTENCY || p->a == 0 || p->a > p->b || p->n > TG_PROV_MAX_PROOF)
    return TG_EINVAL;
  if (p->a == p->b)
    return p->n == 0 && tg_ct_equal(first_root, second_root, TG_PROV_HASH) ? 0 : TG_EPROTO;
  if (p->n == 0)
    return TG_EPROTO;
  /* A first size that is a power of two is a complete subtree whose hash the
   * verifier already has: the proof leaves it out, and step 2 puts it back. */
  uint8_t path[TG_PROV_MAX_PROOF + 1][TG_PROV_HASH];
  size_t n = 0;
  if ((p->a & (p->a - 1)) == 0)
    memcpy(path[n++], first_root, TG_PROV_HASH);
  memcpy(path[n], p->path, p->n * TG_PROV_HASH);
  n += p->n;
  struct tg__prov_sha sha;
  int rc = tg__prov_sha_init(&sha);
  if (rc == 0)
    rc =
        consistency_walk(&sha, p, (const uint8_t(*)[TG_PROV_HASH])path, n, first_root, second_root);
  tg__prov_sha_close(&sha);
  return rc;
}

int tg_prov_proof_encode(const struct tg_prov_proof *p, struct tg_buf *out) {
  uint8_t head[PROOF_HEAD];
  head[0] = PROOF_VERSION;
  head[1] = (uint8_t)p->type;
  tg__prov_put64(head + 2, p->a);
  tg__prov_put64(head + 10, p->b);
  head[18] = (uint8_t)p->n;
  if (p->n > TG_PROV_MAX_PROOF)
    return TG_EINVAL;
  int rc = tg_buf_append(out, head, sizeof(head));
  return rc ? rc : tg_buf_append(out, p->path, p->n * TG_PROV_HASH);
}

int tg_prov_proof_decode(const void *data, size_t len, struct tg_prov_proof *p,
                         struct tg_err *err) {
  const uint8_t *d = data;
  if (len < PROOF_HEAD)
    return tg_err_set(err, TG_EINVAL, "proof: %zu bytes, shorter than its header", len);
  if (d[0] != PROOF_VERSION)
    return tg_err_set(err, TG_EUNSUP, "proof: unknown version %u", d[0]);
  if (d[1] != TG_PROV_PROOF_INCLUSION && d[1] != TG_PROV_PROOF_CONSISTENCY)
    return tg_err_set(err, TG_EINVAL, "proof: unknown type %u", d[1]);
  p->type = d[1];
  p->a = tg__prov_get64(d + 2);
  p->b = tg__prov_get64(d + 10);
  p->n = d[18];
  int want = tg_prov_proof_len(p->type, p->a, p->b);
  /* Sizes of 2^63 and more (no log is that large) could ask for more hashes
   * than a proof holds. */
  if (want < 0 || want > TG_PROV_MAX_PROOF || p->b >= (uint64_t)1 << 63)
    return tg_err_set(err, TG_EINVAL, "proof: no proof exists for %llu and %llu",
                      (unsigned long long)p->a, (unsigned long long)p->b);
  if (p->n != (size_t)want)
    return tg_err_set(err, TG_EINVAL, "proof: %zu hashes where %d belong", p->n, want);
  if (len != PROOF_HEAD + p->n * TG_PROV_HASH)
    return tg_err_set(err, TG_EINVAL, "proof: %zu bytes where %zu belong", len,
                      PROOF_HEAD + p->n * TG_PROV_HASH);
  memcpy(p->path, d + PROOF_HEAD, p->n * TG_PROV_HASH);
  return 0;
}
