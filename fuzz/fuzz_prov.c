/* fuzz_prov: untrusted bytes into the provenance decoders that take other
 * nodes' data: entries (tg_prov_entry_decode), proofs (tg_prov_proof_decode)
 * and entry references (tg_prov_ref_parse). Whatever decodes must re-encode
 * to the same bytes, and a decoded proof must verify or fail cleanly against
 * arbitrary hashes. The first byte modulo 3 picks the decoder (0 entry,
 * 1 proof, 2 reference); the rest is its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_buf.h"
#include "tg_prov.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void entry_case(const uint8_t *p, size_t n) {
  struct tg_prov_entry *e = NULL;
  struct tg_buf b;
  if (tg_prov_entry_decode(p, n, &e, NULL) != 0)
    return;
  tg_buf_init(&b);
  if (tg_prov_entry_encode(e, &b, NULL) != 0 || b.len != n || memcmp(b.data, p, n) != 0)
    abort(); /* one encoding per entry */
  tg_buf_close(&b);
  tg_prov_entry_free(e);
}

static void proof_case(const uint8_t *p, size_t n) {
  static struct tg_prov_proof proof;
  struct tg_buf b;
  uint8_t h1[TG_PROV_HASH], h2[TG_PROV_HASH];
  if (tg_prov_proof_decode(p, n, &proof, NULL) != 0)
    return;
  tg_buf_init(&b);
  if (tg_prov_proof_encode(&proof, &b) != 0 || b.len != n || memcmp(b.data, p, n) != 0)
    abort();
  tg_buf_close(&b);
  memset(h1, 0x11, sizeof(h1));
  memset(h2, 0x22, sizeof(h2));
  if (proof.type == TG_PROV_PROOF_INCLUSION)
    (void)tg_prov_inclusion_verify(&proof, h1, h2);
  else
    (void)tg_prov_consistency_verify(&proof, h1, h2);
}

static void ref_case(const uint8_t *p, size_t n) {
  char s[512], node[TG_PROV_MAX_NODE + 1], back[TG_PROV_REF_TEXT];
  struct tg_prov_ref ref;
  if (n >= sizeof(s))
    return;
  memcpy(s, p, n);
  s[n] = '\0';
  if (tg_prov_ref_parse(s, &ref, node, NULL) != 0)
    return;
  if (tg_prov_ref_format(&ref, back) != 0 || strcmp(back, s) != 0)
    abort(); /* one spelling per reference */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  switch (data[0] % 3) {
  case 0:
    entry_case(data + 1, size - 1);
    break;
  case 1:
    proof_case(data + 1, size - 1);
    break;
  default:
    ref_case(data + 1, size - 1);
    break;
  }
  return 0;
}
