/* fuzz_era: the era-date and ISO 8601 parsers on arbitrary bytes; whatever parses must
 * format, and what formats must parse back to the same day. */
#include "tg_voc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct tg_voc_date *d) {
  char out[64];
  struct tg_voc_date back;
  for (int style = 0; style <= 2; style++) {
    int rc = tg_voc_era_format(d, style, out, sizeof(out));
    if (rc != 0)
      continue;
    if (tg_voc_era_parse(out, strlen(out), &back, NULL) != 0 || back.year != d->year ||
        back.month != d->month || back.day != d->day)
      abort();
  }
  if (tg_voc_iso_format(d, out, sizeof(out)) != 0 ||
      tg_voc_iso_parse(out, strlen(out), &back, NULL) != 0 || back.year != d->year)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tg_voc_date d;
  if (tg_voc_era_parse((const char *)data, size, &d, NULL) == 0)
    check_round_trip(&d);
  if (tg_voc_iso_parse((const char *)data, size, &d, NULL) == 0)
    check_round_trip(&d);
  return 0;
}
