/* prov_int.h: what provenance/'s files share and nobody else sees: a reusable
 * SHA-256 context and big-endian byte helpers. */
#ifndef TG_PROV_INT_H
#define TG_PROV_INT_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* A SHA-256 context kept for many hashes (one fetch, one context). */
struct tg__prov_sha {
  EVP_MD *md;      /* from EVP_MD_fetch */
  EVP_MD_CTX *ctx; /* from EVP_MD_CTX_new */
};

/* 0 or TG_ECRYPTO; close with tg__prov_sha_close even on failure. */
int tg__prov_sha_init(struct tg__prov_sha *s);
void tg__prov_sha_close(struct tg__prov_sha *s);
/* OUT = SHA-256(0x00 || P). 0 or TG_ECRYPTO. */
int tg__prov_sha_leaf(struct tg__prov_sha *s, const void *p, size_t len, uint8_t out[32]);
/* OUT = SHA-256(0x01 || L || R). 0 or TG_ECRYPTO. */
int tg__prov_sha_node(struct tg__prov_sha *s, const uint8_t l[32], const uint8_t r[32],
                      uint8_t out[32]);

/* The largest power of two smaller than N (N >= 2), the split of RFC 9162
 * 2.1.1; written so that no shift overflows for any N. */
static inline uint64_t tg__prov_split(uint64_t n) {
  uint64_t k = 1;
  while (k <= (n - 1) >> 1)
    k <<= 1;
  return k;
}

/* Checks that P[0..LEN) decodes as tg_prov_entry_decode would, without
 * building the entry; *INDEX gets its index. 0, TG_EINVAL or TG_EUNSUP. */
int tg__prov_entry_check(const void *p, size_t len, uint64_t *index);

static inline void tg__prov_put64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)(v & 0xff);
    v >>= 8;
  }
}

static inline uint64_t tg__prov_get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

#endif
