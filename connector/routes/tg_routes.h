/* tg_routes: the handlers behind the routing table (tg_router.c). */
#ifndef TG_ROUTES_H
#define TG_ROUTES_H

#include "tg_http.h"

#include <jansson.h>
#include <stdint.h>

/* How clients and peers reach this node, for the URLs it advertises (Link
 * headers, DCAT and DSP endpoint URLs, the federation directory), into OUT
 * (size N): [node] url; else https://ADDR of the address the daemon listens
 * on (tsunagud.addr) when that is not a wildcard; else, with GUESS, the
 * machine's host name with that port; else "". Never from a request's Host
 * header, which any client can set. */
void tg_routes_self_url(char *out, size_t n, int guess);

/* ---- helpers the route files share (tg_routes_util.c) ----------------------
 * A helper that may answer the request returns TG_ROUTE_ANSWERED once it has
 * (the handler then returns), or 0 to go on. */
#define TG_ROUTE_ANSWERED 1

struct tg_qs;
/* Answers 400 bad-parameter, the one shape of a bad query parameter:
 * {"parameter": NAME, "errors": [{"parameter": NAME, "detail": DETAIL}]}. */
void tg_route_bad_param(struct tg_http_req *req, const char *name, const char *detail);
/* Parses REQ's query string into Q (strict: tg_qs); every name must be in
 * ALLOWED (NULL-terminated). 0, or TG_ROUTE_ANSWERED after a 400. */
int tg_route_query(struct tg_http_req *req, struct tg_qs *q, const char *const *allowed);
/* Integer parameter NAME of Q in [MIN, MAX] into *OUT, DEF when absent; 0, or
 * TG_ROUTE_ANSWERED after a 400. */
int tg_route_query_int(struct tg_http_req *req, const struct tg_qs *q, const char *name,
                       int64_t min, int64_t max, int64_t def, int64_t *out);
/* A required, non-empty parameter (borrowed from Q), or NULL after a 400. */
const char *tg_route_query_need(struct tg_http_req *req, const struct tg_qs *q, const char *key);
/* The path after the route's prefix, one segment, percent-decoded into OUT
 * (CAP bytes). 0, or TG_ROUTE_ANSWERED after a 400 of type SLUG whose detail
 * names WHAT ("dataset id"). */
int tg_route_path_id(struct tg_http_req *req, const char *slug, const char *what, char *out,
                     size_t cap);
/* Like tg_route_path_id for a route with a '*' segment inside: the part of
 * the path after the prefix and before SUFFIX ("/data"). */
int tg_route_path_seg(struct tg_http_req *req, const char *suffix, const char *slug,
                      const char *what, char *out, size_t cap);
/* The If-Match header. */
enum tg_if_match {
  TG_IF_MATCH_NONE, /* absent */
  TG_IF_MATCH_ANY,  /* "*" */
  TG_IF_MATCH_TAG,  /* one strong entity tag, copied unquoted into TAG */
};
/* Parses If-Match into *KIND (and TAG, CAP bytes); 0, or TG_ROUTE_ANSWERED
 * after a 400 bad-if-match when it is neither "*" nor one strong tag. */
int tg_route_if_match(struct tg_http_req *req, char *tag, size_t cap, enum tg_if_match *kind);
/* Sets the ETag header to TAG (unquoted; quoted here). 0 or a TG_E* code. */
int tg_route_set_etag(struct tg_http_req *req, const char *tag);
/* 1 if REQ's If-None-Match is "*" or lists TAG (unquoted; weak or strong), else 0. */
int tg_route_none_match(struct tg_http_req *req, const char *tag);

/* A write the node's writer thread commits on behalf of a request (no disk
 * write on a loop). Embed it first in the job's own struct. */
struct tg_writer_ctx;
struct tg_err;
struct tg_route_job {
  struct tg_http_req *req; /* set by tg_route_job_submit; NULL once the request is gone */
  /* On the writer thread, inside the group-commit transaction. */
  int (*run)(struct tg_writer_ctx *ctx, struct tg_route_job *j, struct tg_err *err);
  /* On the request's loop once the commit is done (RC 0) or failed, only
   * when the request is still there; ERR as tg_writer_done_fn's. */
  void (*answer)(struct tg_route_job *j, int rc, const struct tg_err *err);
  void (*free)(struct tg_route_job *j);
};
/* Queues J (run, answer and free set) for REQ; J is freed after its answer,
 * or at once with a 503 whose title is TITLE when it cannot be queued. */
void tg_route_job_submit(struct tg_http_req *req, struct tg_route_job *j, const char *title);

/* The provenance log (tg_routes_prov.c): tree head and proofs are public;
 * entries: all for an admin, a peer's own requests for a peer, and for
 * everyone the page's leaf hashes (to recompute the root). */
void tg_route_prov_sth(struct tg_http_req *req);
void tg_route_prov_entries(struct tg_http_req *req);
void tg_route_prov_inclusion(struct tg_http_req *req);
void tg_route_prov_consistency(struct tg_http_req *req);

void tg_route_well_known(struct tg_http_req *req);
void tg_route_healthz(struct tg_http_req *req);
void tg_route_metrics(struct tg_http_req *req);
void tg_route_peer_whoami(struct tg_http_req *req);
void tg_route_debug_stream(struct tg_http_req *req);
void tg_route_debug_echo(struct tg_http_req *req);
void tg_route_debug_sink(struct tg_http_req *req);

/* The catalog (tg_routes_catalog.c): datasets, catalog, changes, search, and
 * the Dataspace Protocol 2025-1 catalog binding. */
void tg_route_datasets_post(struct tg_http_req *req);
void tg_route_datasets_list(struct tg_http_req *req);
void tg_route_dataset_get(struct tg_http_req *req);
void tg_route_dataset_put(struct tg_http_req *req);
void tg_route_dataset_delete(struct tg_http_req *req);
void tg_route_catalog(struct tg_http_req *req);
void tg_route_catalog_changes(struct tg_http_req *req);
void tg_route_search(struct tg_http_req *req);
struct tg_cat_query;
/* Parses the search parameters of REQ into Q and CQ (strings borrowed from
 * Q); 0, or TG_ROUTE_ANSWERED after a 400. */
int tg_route_search_query(struct tg_http_req *req, struct tg_qs *q, struct tg_cat_query *cq);
/* Leaves out of search answer OUT (tg_cat_search's shape) the datasets whose
 * policy does not let node PEER use them; the total then becomes a bound. */
void tg_route_search_hide(json_t *out, const char *peer);
/* scope=federation (tg_routes_fedsearch.c): Q and CQ as parsed. */
void tg_route_search_federation(struct tg_http_req *req, const struct tg_qs *q,
                                struct tg_cat_query *cq);
void tg_route_dsp_version(struct tg_http_req *req);
/* The engine's problem hook (tg_http_app.problem): an error under /dsp is a
 * DSP 2025-1 CatalogError ("@context", "@type", "code", "reason": [detail])
 * sent as application/json, as the binding requires, keeping the RFC 9457
 * members beside; elsewhere NULL (problem+json as is). */
const char *tg_route_dsp_problem(struct tg_http_req *req, json_t *p);
void tg_route_dsp_catalog_request(struct tg_http_req *req);
void tg_route_dsp_dataset(struct tg_http_req *req);

/* Vocabularies (tg_routes_vocab.c): SKOS schemes, concepts, search, mappings,
 * hierarchy, conversion profiles and the streaming converter. */
void tg_route_vocab_schemes(struct tg_http_req *req);
void tg_route_vocab_scheme_get(struct tg_http_req *req);
void tg_route_vocab_scheme_post(struct tg_http_req *req);
void tg_route_vocab_scheme_delete(struct tg_http_req *req);
void tg_route_vocab_concept(struct tg_http_req *req);
void tg_route_vocab_search(struct tg_http_req *req);
void tg_route_vocab_mappings(struct tg_http_req *req);
void tg_route_vocab_broader(struct tg_http_req *req);
void tg_route_vocab_narrower(struct tg_http_req *req);
void tg_route_vocab_profiles(struct tg_http_req *req);
void tg_route_vocab_profile_get(struct tg_http_req *req);
void tg_route_vocab_profile_put(struct tg_http_req *req);
void tg_route_vocab_profile_delete(struct tg_http_req *req);
void tg_route_vocab_convert(struct tg_http_req *req);

/* The CA role (tg_routes_certs.c): enrollment, the CA certificate, the CRL. */
void tg_route_certs_register(struct tg_http_req *req);
void tg_route_certs_ca(struct tg_http_req *req);
void tg_route_certs_crl(struct tg_http_req *req);

/* Peers (admin) and the federation directory (tg_routes_peers.c). */
void tg_route_peers_list(struct tg_http_req *req);
void tg_route_peers_post(struct tg_http_req *req);
void tg_route_peers_check(struct tg_http_req *req);
void tg_route_peers_delete(struct tg_http_req *req);
void tg_route_federation_members(struct tg_http_req *req);
void tg_route_certs_renew(struct tg_http_req *req);
void tg_route_node_reload(struct tg_http_req *req);

/* The harvested index (tg_routes_harvest.c): its sources (admin) and
 * GET /api/v1/locate?dataset=ID. */
void tg_route_harvest(struct tg_http_req *req);
void tg_route_locate(struct tg_http_req *req);

#endif
