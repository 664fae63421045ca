/* tg_prov_sth: signed tree heads: the bytes a signature covers
 * (docs/provenance.md "Signed tree heads"), ECDSA P-256 signing and checking,
 * and the base64 text fields a JSON answer carries. */
#include "prov_int.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_prov.h"
#include "tg_util.h"

#include <openssl/core_names.h>
#include <string.h>

static const char sth_label[] = "tsunagu/sth/v1"; /* 14 bytes, no NUL */

int tg_prov_sth_tbs(const struct tg_prov_sth *sth, struct tg_buf *out) {
  uint8_t len = (uint8_t)strlen(sth->node), nums[16];
  tg__prov_put64(nums, sth->tree_size);
  tg__prov_put64(nums + 8, sth->timestamp_ms);
  int rc = tg_buf_append(out, sth_label, sizeof(sth_label) - 1);
  if (rc == 0)
    rc = tg_buf_append(out, &len, 1);
  if (rc == 0)
    rc = tg_buf_append(out, sth->node, len);
  if (rc == 0)
    rc = tg_buf_append(out, nums, sizeof(nums));
  return rc ? rc : tg_buf_append(out, sth->root, TG_PROV_HASH);
}

/* 0 if KEY is an EC key on P-256, else TG_EINVAL. */
static int key_check(EVP_PKEY *key, struct tg_err *err) {
  char group[32];
  size_t n = 0;
  if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
      !EVP_PKEY_get_group_name(key, group, sizeof(group), &n) || strcmp(group, "prime256v1") != 0)
    return tg_err_set(err, TG_EINVAL, "tree head: the key is not ECDSA P-256");
  return 0;
}

/* Checks the node id and builds the signed bytes into B. */
static int tbs_build(const struct tg_prov_sth *sth, struct tg_buf *b, struct tg_err *err) {
  if (memchr(sth->node, 0, sizeof(sth->node)) == NULL || !tg_node_id_valid(sth->node))
    return tg_err_set(err, TG_EINVAL, "tree head: the node id is not valid");
  tg_buf_init(b);
  if (tg_prov_sth_tbs(sth, b) != 0) {
    tg_buf_close(b);
    return tg_err_set(err, TG_ENOMEM, "tree head: out of memory");
  }
  return 0;
}

int tg_prov_sth_sign(struct tg_prov_sth *sth, EVP_PKEY *key, struct tg_err *err) {
  struct tg_buf b;
  int rc = key_check(key, err);
  if (rc == 0)
    rc = tbs_build(sth, &b, err);
  if (rc)
    return rc;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t n = sizeof(sth->sig);
  if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
      EVP_DigestSign(ctx, sth->sig, &n, (const uint8_t *)b.data, b.len) != 1)
    rc = tg_err_set(err, TG_ECRYPTO, "tree head: signing failed");
  else
    sth->sig_len = n;
  EVP_MD_CTX_free(ctx);
  tg_buf_close(&b);
  return rc;
}

int tg_prov_sth_verify(const struct tg_prov_sth *sth, EVP_PKEY *key, struct tg_err *err) {
  struct tg_buf b;
  int rc = key_check(key, err);
  if (rc == 0 && (sth->sig_len == 0 || sth->sig_len > sizeof(sth->sig)))
    rc = tg_err_set(err, TG_EPROTO, "tree head: no signature");
  if (rc == 0)
    rc = tbs_build(sth, &b, err);
  if (rc)
    return rc;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) != 1)
    rc = tg_err_set(err, TG_ECRYPTO, "tree head: cannot verify");
  else if (EVP_DigestVerify(ctx, sth->sig, sth->sig_len, (const uint8_t *)b.data, b.len) != 1)
    rc = tg_err_set(err, TG_EPROTO, "tree head: the signature does not verify");
  EVP_MD_CTX_free(ctx);
  tg_buf_close(&b);
  return rc;
}

int tg_prov_sth_verify_cert(const struct tg_prov_sth *sth, X509 *cert, struct tg_err *err) {
  EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
  if (key == NULL)
    return tg_err_set(err, TG_EINVAL, "tree head: the certificate has no public key");
  return tg_prov_sth_verify(sth, key, err);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void tg_prov_b64_encode(const uint8_t *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len)
      v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len)
      v |= in[i + 2];
    out[o++] = b64[v >> 18];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? b64[v & 63] : '=';
  }
  out[o] = '\0';
}

static int b64_val(char c) {
  const char *p = c ? strchr(b64, c) : NULL;
  return p ? (int)(p - b64) : -1;
}

/* Decodes one 4-character group at S into OUT; returns bytes (1-3) or -1. */
static int b64_group(const char *s, int last, uint8_t out[3]) {
  int v[4], pad = 0;
  for (int i = 0; i < 4; i++) {
    if (s[i] == '=' && last && i >= 2) {
      pad++;
      v[i] = 0;
    } else if (pad > 0 || (v[i] = b64_val(s[i])) < 0) {
      return -1;
    }
  }
  uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
  if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
    return -1; /* non-canonical: bits set under the padding */
  out[0] = (uint8_t)(w >> 16);
  out[1] = (uint8_t)(w >> 8);
  out[2] = (uint8_t)w;
  return 3 - pad;
}

int tg_prov_b64_decode(const char *s, uint8_t *out, size_t cap, size_t *out_len) {
  size_t len = strlen(s), n = 0;
  if (len % 4 != 0)
    return TG_EINVAL;
  for (size_t i = 0; i < len; i += 4) {
    uint8_t g[3];
    int k = b64_group(s + i, i + 4 == len, g);
    if (k < 0 || n + (size_t)k > cap)
      return TG_EINVAL;
    memcpy(out + n, g, (size_t)k);
    n += (size_t)k;
  }
  *out_len = n;
  return 0;
}

void tg_prov_sth_to_text(const struct tg_prov_sth *sth, struct tg_prov_sth_text *t) {
  tg_prov_b64_encode(sth->root, TG_PROV_HASH, t->root_b64);
  tg_prov_b64_encode(sth->sig, sth->sig_len <= TG_PROV_MAX_SIG ? sth->sig_len : 0, t->sig_b64);
}

int tg_prov_sth_from_text(const char *node, uint64_t tree_size, uint64_t timestamp_ms,
                          const char *root_b64, const char *sig_b64, struct tg_prov_sth *sth,
                          struct tg_err *err) {
  size_t n = 0;
  memset(sth, 0, sizeof(*sth));
  if (node == NULL || strlen(node) > TG_PROV_MAX_NODE || !tg_node_id_valid(node))
    return tg_err_set(err, TG_EINVAL, "tree head: the node id is not valid");
  memcpy(sth->node, node, strlen(node) + 1);
  sth->tree_size = tree_size;
  sth->timestamp_ms = timestamp_ms;
  if (root_b64 == NULL || tg_prov_b64_decode(root_b64, sth->root, TG_PROV_HASH, &n) ||
      n != TG_PROV_HASH)
    return tg_err_set(err, TG_EINVAL, "tree head: the root hash is not 32 bytes of base64");
  if (sig_b64 == NULL || tg_prov_b64_decode(sig_b64, sth->sig, TG_PROV_MAX_SIG, &n) || n < 8)
    return tg_err_set(err, TG_EINVAL, "tree head: the signature is not base64 of 8 to %d bytes",
                      TG_PROV_MAX_SIG);
  sth->sig_len = n;
  return 0;
}
