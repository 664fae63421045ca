/* fuzz_jsonld: JSON-LD 1.1 expansion (common/tg_jsonld) of arbitrary JSON with
 * the built-in loader. Success must give an array of maps; failure a negative
 * code and a JSON-LD error code in the detail; expanding the output again must
 * not crash or leak. Small limits keep hostile inputs cheap. */
#include "tg_err.h"
#include "tg_jsonld.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_expanded(json_t *out) {
  size_t i;
  json_t *v;
  if (!json_is_array(out))
    abort();
  json_array_foreach(out, i, v) {
    if (!json_is_object(v))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL), *out = NULL;
  struct tg_jsonld_opts o = {
      .base = "https://node.example/doc", .max_depth = 64, .max_nodes = 10000, .max_work = 20000};
  struct tg_err err = {0, ""};
  char code[64];
  if (in == NULL)
    return 0;
  int rc = tg_jsonld_expand(in, &o, &out, &err);
  if (rc == 0) {
    json_t *again = NULL;
    check_expanded(out);
    if (tg_jsonld_expand(out, &o, &again, NULL) == 0)
      check_expanded(again);
    json_decref(again);
  } else {
    tg_jsonld_err_code(&err, code, sizeof(code));
    if (rc >= 0 || code[0] == '\0' || out != NULL)
      abort();
  }
  json_decref(out);
  json_decref(in);
  return 0;
}
