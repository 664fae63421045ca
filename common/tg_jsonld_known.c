/* tg_jsonld_known: the registry of JSON-LD contexts shipped with the node
 * (embedded at build time from common/contexts/) and the built-in document
 * loader, which answers only these and never touches the network. */
#include "tg_jsonld_int.h"
#include "tg_err.h"

#include <string.h>

/* Published URLs and their text. The DCAT-AP context is the published one
 * less its five "Xsd:*" terms, which JSON-LD 1.1 refuses (a term that looks
 * like an IRI must expand to itself): see tests/standards/README.md. */
static const struct {
  const char *url;
  const char *text;
} known[] = {
    {"https://w3id.org/dspace/2025/1/context.jsonld", tg_jsonld__ctx_dspace_2025_1},
    {"https://w3id.org/dspace/2025/1/odrl-profile.jsonld", tg_jsonld__ctx_dspace_2025_1_odrl},
    {"https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld",
     tg_jsonld__ctx_dcat_ap_3_0_1},
    {"http://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld",
     tg_jsonld__ctx_dcat_ap_3_0_1},
};

int tg_jsonld_known_load(void *user, const char *url, json_t **doc, struct tg_err *err) {
  (void)user;
  for (size_t i = 0; url != NULL && i < sizeof(known) / sizeof(known[0]); i++) {
    if (strcmp(url, known[i].url) != 0)
      continue;
    json_error_t je;
    *doc = json_loads(known[i].text, 0, &je);
    if (*doc == NULL)
      return tg_err_set(err, TG_ENOMEM, "known context %s: %s", url, je.text);
    return 0;
  }
  return tg_err_set(err, TG_ENOENT, "%s is not a known context (remote contexts are never fetched)",
                    url != NULL ? url : "(null)");
}
