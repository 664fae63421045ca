/* tg_router: the node's routing table and its matcher. Paths are matched
 * exactly, by prefix for patterns ending in '*', or with one '*' path segment
 * inside ("/api/v1/datasets/x/data"). */
#include "tg_auth.h"
#include "tg_routes.h"
#include "tg_routes_data.h"
#include "tg_routes_obs.h"
#include "tg_router.h"

#include <stdint.h>
#include <string.h>

#define KiB 1024
#define MiB (1024 * 1024)
/* A streamed conversion body: 4 GiB where size_t allows. */
#define TG_VOC_CONVERT_MAX (SIZE_MAX > 0xffffffffu ? (size_t)0x100000000ull : SIZE_MAX)

/* The scope a route needs; tg_router_run checks it before the handler runs. */
#define R TG_SCOPE_CATALOG_READ /* anonymous by default ([auth] anonymous) */
#define W TG_SCOPE_CATALOG_WRITE
#define A TG_SCOPE_ADMIN
#define D TG_SCOPE_DATA_READ /* peers hold it; the owner's policy decides per dataset */

/* clang-format off */
static const struct tg_route tg__routes[] = {
  {"GET", "/.well-known/tsunagu", "well_known", tg_route_well_known, 0, 0, 0, NULL},
  {"GET", "/healthz", "healthz", tg_route_healthz, 0, 0, 0, NULL},
  {"GET", "/metrics", "metrics", tg_route_metrics, 0, 0, 0, NULL},
  {"GET", "/api/v1/peer/whoami", "peer_whoami", tg_route_peer_whoami, 0, 0, 1, NULL},
  /* The catalog (tg_routes_catalog.c). */
  {"POST", "/api/v1/datasets", "datasets_post", tg_route_datasets_post, 256 * KiB, 0, 0, W},
  {"GET", "/api/v1/datasets", "datasets_list", tg_route_datasets_list, 0, 0, 0, R},
  /* The data API (tg_routes_data.c, tg_routes_obs.c): before the dataset rows. */
  {"GET", "/api/v1/datasets/*/data", "data_get", tg_route_data_get, 0, 0, 0, D},
  {"POST", "/api/v1/datasets/*/data", "data_post", tg_route_data_post, TG_VOC_CONVERT_MAX, 1, 0, TG_SCOPE_DATA_WRITE},
  {"GET", "/api/v1/datasets/*", "dataset_get", tg_route_dataset_get, 0, 0, 0, R},
  {"PUT", "/api/v1/datasets/*", "dataset_put", tg_route_dataset_put, 256 * KiB, 0, 0, W},
  {"DELETE", "/api/v1/datasets/*", "dataset_delete", tg_route_dataset_delete, 0, 0, 0, W},
  {"GET", "/api/v1/catalog", "catalog", tg_route_catalog, 0, 0, 0, R},
  {"GET", "/api/v1/catalog/changes", "catalog_changes", tg_route_catalog_changes, 0, 0, 0, R},
  {"GET", "/api/v1/search", "search", tg_route_search, 0, 0, 0, R},
  {"GET", "/.well-known/dspace-version", "dsp_version", tg_route_dsp_version, 0, 0, 0, NULL},
  {"POST", "/dsp/catalog/request", "dsp_catalog", tg_route_dsp_catalog_request, 64 * KiB, 0, 0, R},
  {"GET", "/dsp/catalog/datasets/*", "dsp_dataset", tg_route_dsp_dataset, 0, 0, 0, R},
  /* Vocabularies and conversion (tg_routes_vocab.c). */
  {"GET", "/api/v1/vocab/schemes", "vocab_schemes", tg_route_vocab_schemes, 0, 0, 0, R},
  {"POST", "/api/v1/vocab/schemes", "vocab_scheme_post", tg_route_vocab_scheme_post, 32 * MiB, 0, 0, A},
  {"GET", "/api/v1/vocab/schemes/*", "vocab_scheme_get", tg_route_vocab_scheme_get, 0, 0, 0, R},
  {"DELETE", "/api/v1/vocab/schemes/*", "vocab_scheme_delete", tg_route_vocab_scheme_delete, 0, 0, 0, A},
  {"GET", "/api/v1/vocab/concepts", "vocab_concept", tg_route_vocab_concept, 0, 0, 0, R},
  {"GET", "/api/v1/vocab/search", "vocab_search", tg_route_vocab_search, 0, 0, 0, R},
  {"GET", "/api/v1/vocab/mappings", "vocab_mappings", tg_route_vocab_mappings, 0, 0, 0, R},
  {"GET", "/api/v1/vocab/broader", "vocab_broader", tg_route_vocab_broader, 0, 0, 0, R},
  {"GET", "/api/v1/vocab/narrower", "vocab_narrower", tg_route_vocab_narrower, 0, 0, 0, R},
  {"GET", "/api/v1/vocab/profiles", "vocab_profiles", tg_route_vocab_profiles, 0, 0, 0, R},
  {"GET", "/api/v1/vocab/profiles/*", "vocab_profile_get", tg_route_vocab_profile_get, 0, 0, 0, R},
  {"PUT", "/api/v1/vocab/profiles/*", "vocab_profile_put", tg_route_vocab_profile_put, 4 * MiB, 0, 0, A},
  {"DELETE", "/api/v1/vocab/profiles/*", "vocab_profile_delete", tg_route_vocab_profile_delete, 0, 0, 0, A},
  {"POST", "/api/v1/vocab/convert", "vocab_convert", tg_route_vocab_convert, TG_VOC_CONVERT_MAX, 1, 0, R},
  /* The CA role, with [ca] dir (tg_routes_certs.c). */
  {"POST", "/api/v1/certs/register", "certs_register", tg_route_certs_register, 64 * KiB, 0, 0, NULL},
  {"GET", "/api/v1/certs/ca", "certs_ca", tg_route_certs_ca, 0, 0, 0, NULL},
  {"GET", "/api/v1/certs/crl", "certs_crl", tg_route_certs_crl, 0, 0, 0, NULL},
  /* Peers and the federation directory (tg_routes_peers.c). */
  {"GET", "/api/v1/peers", "peers_list", tg_route_peers_list, 0, 0, 0, A},
  {"POST", "/api/v1/peers", "peers_post", tg_route_peers_post, 16 * KiB, 0, 0, A},
  {"POST", "/api/v1/peers/check", "peers_check", tg_route_peers_check, 1 * KiB, 0, 0, A},
  {"DELETE", "/api/v1/peers/*", "peers_delete", tg_route_peers_delete, 0, 0, 0, A},
  /* The harvested index (tg_routes_harvest.c). */
  {"GET", "/api/v1/harvest", "harvest", tg_route_harvest, 0, 0, 0, A},
  {"GET", "/api/v1/locate", "locate", tg_route_locate, 0, 0, 0, R},
  {"GET", "/api/v1/federation/members", "federation_members", tg_route_federation_members, 0, 0, 1, NULL},
  {"POST", "/api/v1/certs/renew", "certs_renew", tg_route_certs_renew, 64 * KiB, 0, 1, NULL},
  {"POST", "/api/v1/node/reload", "node_reload", tg_route_node_reload, 1 * KiB, 0, 0, A},
  /* The provenance log (tg_routes_prov.c). */
  {"GET", "/api/v1/provenance/sth", "prov_sth", tg_route_prov_sth, 0, 0, 0, NULL},
  {"GET", "/api/v1/provenance/entries", "prov_entries", tg_route_prov_entries, 0, 0, 0, NULL},
  {"GET", "/api/v1/provenance/proof/inclusion", "prov_inclusion", tg_route_prov_inclusion, 0, 0, 0, NULL},
  {"GET", "/api/v1/provenance/proof/consistency", "prov_consistency", tg_route_prov_consistency, 0, 0, 0, NULL},
  /* Test-only routes; answer 404 unless [debug] test_routes = on. */
  {"GET", "/api/v1/debug/stream", "debug_stream", tg_route_debug_stream, 0, 0, 0, NULL},
  {"POST", "/api/v1/debug/echo", "debug_echo", tg_route_debug_echo, 64 * MiB, 1, 0, NULL},
  {"POST", "/api/v1/debug/sink", "debug_sink", tg_route_debug_sink, 1 * MiB, 0, 0, NULL},
};
/* clang-format on */
#define TG_NROUTES (int)(sizeof(tg__routes) / sizeof(tg__routes[0]))
#undef R
#undef W
#undef A
#undef D

int tg_router_admit(struct tg_http_req *req, const struct tg_route *route) {
  return route->scope == NULL || tg_auth_require(req, route->scope);
}

void tg_router_run(struct tg_http_req *req, const struct tg_route *route) {
  if (tg_router_admit(req, route))
    route->handler(req);
}

/* PATTERN is an exact path; a prefix when it ends in '*'; or, with a '*'
 * inside, a prefix, one non-empty segment and the exact rest. *REST points
 * at what the '*' matched (to the end of PATH). */
static int route_path_matches(const struct tg_route *r, const char *path, const char **rest) {
  const char *star = strchr(r->pattern, '*');
  *rest = NULL;
  if (star == NULL)
    return strcmp(path, r->pattern) == 0;
  size_t n = (size_t)(star - r->pattern);
  if (strncmp(path, r->pattern, n) != 0)
    return 0;
  if (star[1] != '\0') {
    const char *seg_end = strchr(path + n, '/');
    if (seg_end == NULL || seg_end == path + n || strcmp(seg_end, star + 1) != 0)
      return 0;
  }
  *rest = path + n;
  return 1;
}

const struct tg_route *tg_router_match(const char *method, const char *path, int *allowed,
                                       const char **rest) {
  *allowed = 0;
  for (int i = 0; i < TG_NROUTES; i++) {
    const char *rs;
    if (!route_path_matches(&tg__routes[i], path, &rs))
      continue;
    if (strcmp(tg__routes[i].method, method) == 0) {
      *rest = rs;
      return &tg__routes[i];
    }
    *allowed = 1;
  }
  return NULL;
}

int tg_router_index(const struct tg_route *route) {
  if (route == NULL)
    return -1;
  return (int)(route - tg__routes);
}

int tg_router_count(void) { return TG_NROUTES; }

const char *tg_router_name(int i) { return i >= 0 && i < TG_NROUTES ? tg__routes[i].name : "none"; }

const struct tg_route *tg__router_route(int i) {
  return i >= 0 && i < TG_NROUTES ? &tg__routes[i] : NULL;
}
