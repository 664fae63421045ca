/* fuzz_dataset: feeds untrusted bytes to the catalog's dataset reader
 * (tg_cat_parse + tg_cat_validate) and checks that a canonical document
 * validates again to itself and that its public view has no tsunagu: properties. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if any member name at any depth is a tsunagu: (private) property. */
static int has_private_key(const json_t *j) {
  const char *k;
  json_t *v;
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++)
      if (has_private_key(json_array_get(j, i)))
        return 1;
    return 0;
  }
  if (!json_is_object(j))
    return 0;
  json_object_foreach((json_t *)j, k, v) {
    if (strncmp(k, "tsunagu:", 8) == 0 || has_private_key(v))
      return 1;
  }
  return 0;
}

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
    if (pub == NULL || has_private_key(pub))
      abort();
    json_decref(pub);
  } else if (json_array_size(problems) == 0) {
    abort(); /* a refusal always says why */
  }
  json_decref(canon);
  json_decref(problems);
  json_decref(in);
  return 0;
}
