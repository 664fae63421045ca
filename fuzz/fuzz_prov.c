/* fuzz_prov: untrusted bytes into the provenance decoders that take other
 * nodes' data: entries (tg_prov_entry_decode) and proofs
 * (tg_prov_proof_decode). Whatever decodes must re-encode to the same bytes,
 * and a decoded proof must verify or fail cleanly against arbitrary hashes.
 * The first byte picks the decoder; the rest is its input. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  if (data[0] & 1)
    proof_case(data + 1, size - 1);
  else
    entry_case(data + 1, size - 1);
  return 0;
}
