/* fuzz_qs: feeds untrusted bytes to the query-string and path-segment
 * decoders (tg_qs) and checks what they accept: keys are non-empty and
 * unique, values are NUL-free UTF-8 within bounds, and encoding the result
 * and parsing it again gives the same parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_buf.h"
#include "tg_qs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tg_qs q1, q2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 2 * TG_QS_MAX_BYTES)
    return 0;
  char *in = malloc(size + 1);
  if (in == NULL)
    return 0;
  memcpy(in, data, size);
  in[size] = '\0';
  char seg[256];
  long n = tg_qs_decode(in, size, seg, sizeof(seg), 0);
  if (n >= (long)sizeof(seg) || (n >= 0 && strlen(seg) != (size_t)n))
    abort();
  if (tg_qs_parse(in, &q1) == 0) {
    struct tg_buf b;
    tg_buf_init(&b);
    for (size_t i = 0; i < q1.n; i++) {
      if (q1.key[i][0] == '\0' || tg_qs_get(&q1, q1.key[i]) != q1.val[i])
        abort();
      if ((i && tg_buf_append(&b, "&", 1)) || tg_qs_encode(&b, q1.key[i]) ||
          tg_buf_append(&b, "=", 1) || tg_qs_encode(&b, q1.val[i]))
        abort();
    }
    if (tg_buf_append(&b, "", 1))
      abort();
    /* Encoding may triple the length past the limit; only shorter ones must round-trip. */
    if (b.len - 1 <= TG_QS_MAX_BYTES) {
      if (tg_qs_parse(b.data, &q2) != 0 || q2.n != q1.n)
        abort();
      for (size_t i = 0; i < q1.n; i++)
        if (strcmp(q1.key[i], q2.key[i]) != 0 || strcmp(q1.val[i], q2.val[i]) != 0)
          abort();
    }
    tg_buf_close(&b);
  }
  free(in);
  return 0;
}
