/* fuzz_dataset: feeds untrusted bytes to the catalog's dataset reader
 * (tg_cat_parse + tg_cat_validate) and checks that a canonical document
 * validates again to itself and that its public view has no tsunagu: terms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *in = NULL, *problems = NULL, *canon = NULL;
  if (tg_cat_parse((const char *)data, size, &in, &problems) != 0) {
    json_decref(problems);
    return 0;
  }
  int rc = tg_cat_validate(in, NULL, &canon, &problems);
  if (rc == 0) {
    json_t *again = NULL;
    if (tg_cat_validate(canon, NULL, &again, NULL) != 0 || !json_equal(canon, again))
      abort(); /* the canonical form must be a fixed point */
    json_decref(again);
    json_t *pub = tg_cat_public_view(canon);
    char *s = json_dumps(pub, 0);
    if (s == NULL || strstr(s, "\"tsunagu:") != NULL)
      abort();
    free(s);
    json_decref(pub);
  } else if (json_array_size(problems) == 0) {
    abort(); /* a refusal always says why */
  }
  json_decref(canon);
  json_decref(problems);
  json_decref(in);
  return 0;
}
