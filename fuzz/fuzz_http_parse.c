/* fuzz_http_parse: the request parsing path (llhttp + tsunagu's strict layer).
 * The first byte picks how the rest is split into reads, so state kept
 * across buffer boundaries is exercised too. */
#include "tg_http_parse.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tg_http_parser hp;
  size_t step;
  if (size == 0)
    return 0;
  step = (size_t)data[0] % 17 + 1;
  data++;
  size--;
  tg_http_parse_init(&hp, 4096);
  size_t off = 0, fed = 0;
  /* Feed up to FED bytes; the parser sees only what has "arrived". */
  for (int guard = 0; guard < 100000; guard++) {
    if (fed < size && (off == fed || guard % 3 == 0))
      fed = fed + step > size ? size : fed + step;
    size_t used = 0, blen = 0;
    const char *body = NULL;
    int ev;
    int rc = tg_http_parse_next(&hp, (const char *)data + off, fed - off, &used, &ev, &body, &blen);
    if (rc)
      break;
    off += used;
    if (ev == TG_HP_HEAD) {
      (void)tg_http_parse_target(&hp);
      for (size_t i = 0; i < hp.nhdr; i++)
        (void)strlen(tg_http_parse_hvalue(&hp, i));
    }
    if (ev == TG_HP_BODY && blen > 0)
      (void)body[blen - 1];
    if (ev == TG_HP_MORE && fed == size)
      break;
  }
  tg_http_parse_close(&hp);
  return 0;
}
