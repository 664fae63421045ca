/* tg_prov_hash: the RFC 9162 leaf and node hashes over OpenSSL's SHA-256,
 * with a context kept per user so that hashing a million leaves does not
 * fetch the algorithm a million times. */
#include "prov_int.h"
#include "tg_err.h"
#include "tg_prov.h"

#include <string.h>

int tg__prov_sha_init(struct tg__prov_sha *s) {
  s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->ctx = EVP_MD_CTX_new();
  return s->md != NULL && s->ctx != NULL ? 0 : TG_ECRYPTO;
}

void tg__prov_sha_close(struct tg__prov_sha *s) {
  EVP_MD_CTX_free(s->ctx);
  EVP_MD_free(s->md);
  s->ctx = NULL;
  s->md = NULL;
}

/* SHA-256 of PREFIX || A || B (B may be empty). Short inputs are gathered
 * into one buffer first: each EVP call costs about as much as hashing a
 * block, and the tree hashes millions of short inputs. */
static int sha_3(struct tg__prov_sha *s, uint8_t prefix, const void *a, size_t alen, const void *b,
                 size_t blen, uint8_t out[32]) {
  uint8_t buf[512];
  unsigned int n = 0;
  if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1)
    return TG_ECRYPTO;
  if (1 + alen + blen <= sizeof(buf)) {
    buf[0] = prefix;
    if (alen > 0)
      memcpy(buf + 1, a, alen);
    if (blen > 0)
      memcpy(buf + 1 + alen, b, blen);
    if (EVP_DigestUpdate(s->ctx, buf, 1 + alen + blen) != 1)
      return TG_ECRYPTO;
  } else if (EVP_DigestUpdate(s->ctx, &prefix, 1) != 1 ||
             (alen > 0 && EVP_DigestUpdate(s->ctx, a, alen) != 1) ||
             (blen > 0 && EVP_DigestUpdate(s->ctx, b, blen) != 1)) {
    return TG_ECRYPTO;
  }
  return EVP_DigestFinal_ex(s->ctx, out, &n) == 1 && n == 32 ? 0 : TG_ECRYPTO;
}

int tg__prov_sha_leaf(struct tg__prov_sha *s, const void *p, size_t len, uint8_t out[32]) {
  return sha_3(s, 0x00, p, len, NULL, 0, out);
}

int tg__prov_sha_node(struct tg__prov_sha *s, const uint8_t l[32], const uint8_t r[32],
                      uint8_t out[32]) {
  return sha_3(s, 0x01, l, 32, r, 32, out);
}

int tg_prov_leaf_hash(const void *p, size_t len, uint8_t out[TG_PROV_HASH]) {
  struct tg__prov_sha s;
  int rc = tg__prov_sha_init(&s);
  if (rc == 0)
    rc = tg__prov_sha_leaf(&s, p, len, out);
  tg__prov_sha_close(&s);
  return rc;
}

int tg_prov_node_hash(const uint8_t l[TG_PROV_HASH], const uint8_t r[TG_PROV_HASH],
                      uint8_t out[TG_PROV_HASH]) {
  struct tg__prov_sha s;
  int rc = tg__prov_sha_init(&s);
  if (rc == 0)
    rc = tg__prov_sha_node(&s, l, r, out);
  tg__prov_sha_close(&s);
  return rc;
}
