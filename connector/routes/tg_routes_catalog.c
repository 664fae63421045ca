/* tg_routes_catalog: the catalog over HTTP: dataset CRUD with ETags, the
 * node's dcat:Catalog, local search, the change feed, and the Dataspace
 * Protocol 2025-1 catalog binding (/.well-known/dspace-version, /dsp/...).
 * The catalog library (catalog/tg_cat.h) does the work, the DSP documents'
 * shapes included (cat_dsp.c); this file maps HTTP onto it: strict
 * query-string and path decoding, problems, paging links. */
#include "tg_auth.h"
#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_err.h"
#include "tg_problem.h"
#include "tg_qs.h"
#include "tg_provlog.h"
#include "tg_routes.h"
#include "tg_writer.h"
#include "tg_worker.h"
#include "tg_util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#define ID_MAX_BYTES 512 /* a decoded dataset id */
#define DSP_VERSION "2025-1"
#define DSP_PATH "/dsp"

/* ---- shared helpers ---------------------------------------------------- */

static struct tg_cat_store *cat_of(struct tg_http_req *req) {
  return tg_http_req_worker(req)->cat;
}

/* The base of the links this node puts in Link headers: its advertised URL,
 * or "" (links relative to the request) when it has none. Never the Host
 * header: a client could make the node advertise any host. */
/* The calling node when it is a verified peer: the feed, the DSP catalog and
 * the catalog API leave out what its policy does not let it use. NULL for
 * anonymous and local callers (today's view). A is filled and returned. */
static const struct tg_cat_access *viewer_of(struct tg_http_req *req, struct tg_cat_access *a) {
  const char *peer = tg_http_req_peer(req);
  if (peer == NULL)
    return NULL;
  *a = (struct tg_cat_access){.node_id = peer, .action = "use", .now = tg_time_now(),
                              .is_federation_member = 1};
  return a;
}

static void link_base(char *out, size_t cap) { tg_routes_self_url(out, cap, 0); }

/* The base of endpoint URLs in DCAT and DSP documents, which must be
 * absolute: the advertised URL, else the host name and port. */
static void endpoint_base(char *out, size_t cap) {
  tg_routes_self_url(out, cap, 1);
  if (out[0] == '\0')
    snprintf(out, cap, "https://localhost");
}

static void node_uri(char *out, size_t cap) {
  struct tg_settings *s = tg_settings_get();
  snprintf(out, cap, "urn:tsunagu:node:%s", s->node_id);
  tg_settings_put(s);
}

static void internal(struct tg_http_req *req, int rc, const struct tg_err *err) {
  tg_http_res_problem(req, rc == TG_EDB ? 503 : 500, rc == TG_EDB ? "unavailable" : "internal",
                      rc == TG_EDB ? "Catalog unavailable" : "Internal error", NULL, "%s",
                      tg_err_msg(err, rc));
}

/* The entity tag (unquoted) of dataset version VERSION into OUT. */
static void version_tag(char out[24], int64_t version) {
  snprintf(out, 24, "%lld", (long long)version);
}

/* If-Match as a dataset version into *VERSION: -1 absent, -2 "*", else the
 * version. 0, or TG_ROUTE_ANSWERED after a 400 (malformed) or a 412 (a tag
 * that is no version, which no dataset can match). */
static int if_match_version(struct tg_http_req *req, int64_t *version) {
  char tag[128];
  enum tg_if_match kind;
  uint64_t v;
  if (tg_route_if_match(req, tag, sizeof(tag), &kind))
    return TG_ROUTE_ANSWERED;
  *version = kind == TG_IF_MATCH_NONE ? -1 : -2;
  if (kind != TG_IF_MATCH_TAG)
    return 0;
  if (tg_parse_u64(tag, INT64_MAX, &v) != 0) {
    tg_http_res_problem(req, 412, "precondition-failed", "Precondition failed", NULL,
                        "no version of the dataset has the entity tag given in If-Match");
    return TG_ROUTE_ANSWERED;
  }
  *version = (int64_t)v;
  return 0;
}

/* Sends J (stolen) with an ETag over its serialisation; 304 when the
 * client's If-None-Match names it. */
static void send_hashed(struct tg_http_req *req, json_t *j, const char *ctype) {
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (s == NULL) {
    tg_http_res_problem(req, 500, "internal", "Internal error", NULL, "out of memory");
    return;
  }
  unsigned char md[32];
  char tag[20];
  EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL);
  tag[0] = 'h';
  tg_hex(md, 8, tag + 1);
  tg_route_set_etag(req, tag);
  if (tg_route_none_match(req, tag))
    tg_http_res_send(req, 304, NULL, NULL, 0);
  else
    tg_http_res_send(req, 200, ctype, s, strlen(s));
  free(s);
}

/* Adds one Link header REL to offset OFFSET of PATH (with EXTRA query); a
 * link is as long as the query it repeats, so it is built in a tg_buf. */
static void paging_link(struct tg_http_req *req, const char *base, const char *path,
                        const char *extra, int64_t offset, int64_t limit, const char *rel) {
  struct tg_buf link;
  tg_buf_init(&link);
  if (tg_buf_printf(&link, "<%s%s?%soffset=%lld&limit=%lld>; rel=\"%s\"", base, path, extra,
                    (long long)offset, (long long)limit, rel) == 0)
    tg_http_res_header(req, "Link", link.data);
  tg_buf_close(&link); /* out of memory: the answer goes without this link */
}

/* Adds Link headers for offset/limit paging of PATH (with EXTRA query). */
static void paging_links(struct tg_http_req *req, const char *path, const char *extra,
                         int64_t offset, int64_t limit, int has_next) {
  char base[600];
  link_base(base, sizeof(base));
  /* The DSP binding names the relation "previous"; elsewhere the registered
   * "prev" (RFC 8288). */
  const char *prev = strncmp(path, DSP_PATH "/", strlen(DSP_PATH) + 1) == 0 ? "previous" : "prev";
  if (has_next)
    paging_link(req, base, path, extra, offset + limit, limit, "next");
  if (offset > 0)
    paging_link(req, base, path, extra, offset > limit ? offset - limit : 0, limit, prev);
}

static int json_body_ok(struct tg_http_req *req) {
  const char *ct = tg_http_req_header(req, "Content-Type");
  if (ct != NULL) {
    size_t n = strcspn(ct, "; \t");
    if ((n == 19 && strncasecmp(ct, "application/ld+json", n) == 0) ||
        (n == 16 && strncasecmp(ct, "application/json", n) == 0))
      return 1;
  }
  tg_http_res_header(req, "Accept-Post", "application/ld+json, application/json");
  tg_http_res_problem(req, 415, "unsupported-media-type", "Unsupported media type", NULL,
                      "send the dataset as application/ld+json or application/json");
  return 0;
}

/* Answers a failed validation or write with a problem. PROBLEMS is stolen. */
static void write_failed(struct tg_http_req *req, int rc, json_t *problems,
                         const struct tg_err *err) {
  json_t *extra = json_object();
  /* A refusal the library could not pin to a field is reported at the root. */
  if (rc == TG_EINVAL && problems == NULL)
    problems = json_pack("[{s:s, s:s}]", "pointer", "", "detail", tg_err_msg(err, rc));
  size_t nproblems = json_array_size(problems);
  json_object_set_new(extra, "errors", problems ? problems : json_array());
  tg_problem_errors_cap(extra);
  switch (rc) {
  case TG_ETOOBIG:
    tg_http_res_problem(req, 413, "dataset-too-large", "Dataset too large", extra,
                        "the dataset document is over a size limit");
    return;
  case TG_EUNSUP:
    tg_http_res_problem(req, 400, "unsupported-jsonld", "Unsupported JSON-LD", extra,
                        "the document uses a JSON-LD feature or @context this node does not read");
    return;
  case TG_EINVAL: {
    /* A JSON syntax error has no field: say where it is instead. */
    json_t *e0 = json_array_get(json_object_get(extra, "errors"), 0);
    if (nproblems == 1 && json_object_get(e0, "line") != NULL)
      tg_http_res_problem(req, 400, "invalid-dataset", "Invalid dataset", extra,
                          "the body is not valid JSON at line %lld, column %lld",
                          (long long)json_integer_value(json_object_get(e0, "line")),
                          (long long)json_integer_value(json_object_get(e0, "column")));
    else
      tg_http_res_problem(req, 400, "invalid-dataset", "Invalid dataset", extra,
                          "the dataset has %zu invalid field(s)", nproblems);
    return;
  }
  case TG_EEXIST:
    tg_http_res_problem(req, 409, "dataset-exists", "Dataset exists", extra, "%s",
                        tg_err_msg(err, rc));
    return;
  case TG_ECONFLICT:
    tg_http_res_problem(req, 412, "precondition-failed", "Precondition failed", extra,
                        "the dataset's current version does not match If-Match");
    return;
  case TG_ENOENT:
    tg_http_res_problem(req, 404, "not-found", "Not found", extra, "no such dataset");
    return;
  default:
    json_decref(extra);
    internal(req, rc, err);
  }
}

/* Answers with dataset ID in the owner view (after a write). */
static void send_dataset_after_write(struct tg_http_req *req, const struct tg_cat_write *w) {
  struct tg_err err;
  json_t *doc = NULL;
  int64_t ver = 0;
  tg_err_clear(&err);
  int rc = tg_cat_dataset_get(cat_of(req), w->id, TG_CAT_VIEW_OWNER, &doc, &ver, &err);
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  struct tg_buf loc;
  tg_buf_init(&loc);
  if (tg_buf_printf(&loc, "/api/v1/datasets/") == 0 && tg_qs_encode(&loc, w->id) == 0 &&
      tg_buf_append(&loc, "", 1) == 0)
    tg_http_res_header(req, "Location", loc.data);
  tg_buf_close(&loc);
  char tag[24];
  version_tag(tag, ver);
  tg_route_set_etag(req, tag);
  tg_http_res_header(req, "Cache-Control", "no-store");
  tg_http_res_json(req, w->created ? 201 : 200, doc, "application/ld+json");
}

/* ---- writes, on the writer thread --------------------------------------- */

/* Dataset writes are committed by the node's writer thread (tg_writer.h),
 * with every other write of the moment in one durable transaction, so a
 * worker's loop never waits for the disk: its other streams and reads go on
 * while a write commits. The answer is sent when the commit is done. */
enum cat_op { CAT_CREATE, CAT_PUT, CAT_DELETE };

struct cat_job {
  struct tg_route_job base; /* first */
  enum cat_op op;
  json_t *in;              /* the parsed body (owned), or NULL for a delete */
  char *slug, *id;         /* from malloc, or NULL */
  int64_t if_match;
  int64_t delete_if_match; /* im as the route read it, for 412 vs 404 */
  /* results, filled on the writer thread */
  struct tg_cat_write w;
  json_t *problems;
  struct tg_err err;
};

static void cat_job_free(struct tg_route_job *b) {
  struct cat_job *j = (struct cat_job *)b;
  json_decref(j->in);
  json_decref(j->problems);
  tg_cat_write_clear(&j->w);
  free(j->slug);
  free(j->id);
  free(j);
}

static int cat_job_run(struct tg_writer_ctx *ctx, struct tg_route_job *b, struct tg_err *err) {
  struct cat_job *j = (struct cat_job *)b;
  int rc;
  switch (j->op) {
  case CAT_CREATE:
    rc = tg_cat_dataset_create(ctx->cat, j->in, j->slug, &j->w, &j->problems, &j->err);
    break;
  case CAT_PUT:
    rc = tg_cat_dataset_put(ctx->cat, j->id, j->in, j->if_match, &j->w, &j->problems, &j->err);
    break;
  default:
    rc = tg_cat_dataset_delete(ctx->cat, j->id, j->if_match, NULL, &j->err);
  }
  if (rc == 0)
    tg_provlog_event(ctx->prov, TG_PROV_CATALOG_CHANGE, j->w.id ? j->w.id : j->id);
  if (rc != 0 && err != NULL)
    *err = j->err;
  return rc;
}

static void cat_job_answer(struct tg_route_job *b, int rc, const struct tg_err *err);

/* Queues J; its answer follows from cat_job_answer. */
static void cat_job_submit(struct tg_http_req *req, struct cat_job *j) {
  j->base.run = cat_job_run;
  j->base.answer = cat_job_answer;
  j->base.free = cat_job_free;
  tg_route_job_submit(req, &j->base, "Catalog unavailable");
}

static struct cat_job *cat_job_new(struct tg_http_req *req, enum cat_op op, json_t *in,
                                   const char *slug, const char *id, int64_t if_match) {
  struct cat_job *j = calloc(1, sizeof(*j));
  if (j == NULL || (slug && (j->slug = strdup(slug)) == NULL) ||
      (id && (j->id = strdup(id)) == NULL)) {
    if (j)
      cat_job_free(&j->base);
    else
      json_decref(in);
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return NULL;
  }
  j->op = op;
  j->in = in;
  j->if_match = if_match;
  tg_err_clear(&j->err);
  return j;
}

/* ---- /api/v1/datasets ---------------------------------------------------- */

void tg_route_datasets_post(struct tg_http_req *req) {
  if (!json_body_ok(req))
    return;
  size_t len;
  const char *body = tg_http_req_body(req, &len);
  json_t *in = NULL, *problems = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_cat_parse(body, len, &in, &problems);
  if (rc) {
    write_failed(req, rc, problems, &err);
    return;
  }
  struct cat_job *j = cat_job_new(req, CAT_CREATE, in, tg_http_req_header(req, "Slug"), NULL, -1);
  if (j != NULL)
    cat_job_submit(req, j);
}

/* A paged listing's query: only limit (1..1000, default 100) and offset.
 * 0, or TG_ROUTE_ANSWERED after a 400. */
static int page_params(struct tg_http_req *req, int64_t *limit, int64_t *offset) {
  static const char *const allowed[] = {"limit", "offset", NULL};
  struct tg_qs q;
  if (tg_route_query(req, &q, allowed) ||
      tg_route_query_int(req, &q, "limit", 1, 1000, 100, limit) ||
      tg_route_query_int(req, &q, "offset", 0, INT32_MAX, 0, offset))
    return TG_ROUTE_ANSWERED;
  return 0;
}

void tg_route_datasets_list(struct tg_http_req *req) {
  int64_t limit, offset;
  if (page_params(req, &limit, &offset))
    return;
  enum tg_cat_view view =
      tg_auth_has(req, TG_SCOPE_CATALOG_WRITE) ? TG_CAT_VIEW_OWNER : TG_CAT_VIEW_PUBLIC;
  json_t *out = NULL;
  struct tg_err err;
  struct tg_cat_access a;
  tg_err_clear(&err);
  const struct tg_cat_access *viewer = view == TG_CAT_VIEW_PUBLIC ? viewer_of(req, &a) : NULL;
  int rc = tg_cat_dataset_list_for(cat_of(req), view, viewer, offset, limit, &out, &err);
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  int64_t total = json_integer_value(json_object_get(out, "total"));
  paging_links(req, "/api/v1/datasets", "", offset, limit, offset + limit < total);
  tg_http_res_header(req, "Vary", "Authorization");
  tg_http_res_json(req, 200, out, NULL);
}

void tg_route_dataset_get(struct tg_http_req *req) {
  char id[ID_MAX_BYTES];
  if (tg_route_path_id(req, "bad-dataset-id", "dataset id", id, sizeof(id)))
    return;
  enum tg_cat_view view =
      tg_auth_has(req, TG_SCOPE_CATALOG_WRITE) ? TG_CAT_VIEW_OWNER : TG_CAT_VIEW_PUBLIC;
  json_t *doc = NULL;
  int64_t ver = 0;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_cat_dataset_get(cat_of(req), id, view, &doc, &ver, &err);
  struct tg_cat_access a;
  struct tg_cat_decision d;
  if (rc == 0 && view == TG_CAT_VIEW_PUBLIC && viewer_of(req, &a) != NULL &&
      (tg_cat_policy_decide(json_object_get(doc, "odrl:hasPolicy"), &a, &d) != 0 ||
       d.verdict != TG_CAT_PERMIT)) {
    json_decref(doc); /* what a peer may not use, it does not see (as in the DSP catalog) */
    rc = TG_ENOENT;
  }
  if (rc == TG_ENOENT) {
    tg_http_res_problem(req, 404, "not-found", "Not found", NULL, "no dataset %s", id);
    return;
  }
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  char tag[24];
  version_tag(tag, ver);
  tg_route_set_etag(req, tag);
  tg_http_res_header(req, "Vary", "Authorization");
  if (tg_route_none_match(req, tag)) {
    json_decref(doc);
    tg_http_res_send(req, 304, NULL, NULL, 0);
    return;
  }
  tg_http_res_json(req, 200, doc, "application/ld+json");
}

void tg_route_dataset_put(struct tg_http_req *req) {
  char id[ID_MAX_BYTES];
  if (tg_route_path_id(req, "bad-dataset-id", "dataset id", id, sizeof(id)) || !json_body_ok(req))
    return;
  struct tg_err err;
  tg_err_clear(&err);
  int64_t im;
  if (if_match_version(req, &im))
    return;
  if (im == -2) { /* "*": the dataset must exist; pin its current version */
    int64_t cur;
    json_t *doc = NULL;
    int rc = tg_cat_dataset_get(cat_of(req), id, TG_CAT_VIEW_PUBLIC, &doc, &cur, &err);
    json_decref(doc);
    if (rc) {
      write_failed(req, rc == TG_ENOENT ? TG_ECONFLICT : rc, NULL, &err);
      return;
    }
    im = cur;
  }
  size_t len;
  const char *body = tg_http_req_body(req, &len);
  json_t *in = NULL, *problems = NULL;
  int rc = tg_cat_parse(body, len, &in, &problems);
  if (rc) {
    write_failed(req, rc, problems, &err);
    return;
  }
  struct cat_job *j = cat_job_new(req, CAT_PUT, in, NULL, id, im);
  if (j != NULL)
    cat_job_submit(req, j);
}

void tg_route_dataset_delete(struct tg_http_req *req) {
  char id[ID_MAX_BYTES];
  if (tg_route_path_id(req, "bad-dataset-id", "dataset id", id, sizeof(id)))
    return;
  int64_t im;
  if (if_match_version(req, &im))
    return;
  struct cat_job *j = cat_job_new(req, CAT_DELETE, NULL, NULL, id, im == -2 ? -1 : im);
  if (j != NULL) {
    j->delete_if_match = im;
    cat_job_submit(req, j);
  }
}

/* The answer to a committed (RC 0) or refused write, as the synchronous
 * routes gave it. */
static void cat_job_answer(struct tg_route_job *b, int rc, const struct tg_err *err) {
  struct cat_job *j = (struct cat_job *)b;
  struct tg_http_req *req = b->req;
  if (rc == TG_EDB && err != NULL)
    j->err = *err; /* the commit failed: say why */
  json_t *problems = j->problems;
  j->problems = NULL;
  if (j->op == CAT_DELETE) {
    if (rc == TG_ENOENT && j->delete_if_match != -1)
      rc = TG_ECONFLICT; /* If-Match on a missing resource fails (RFC 9110 13.1.1) */
    json_decref(problems);
    if (rc)
      write_failed(req, rc, NULL, &j->err);
    else
      tg_http_res_send(req, 204, NULL, NULL, 0);
    return;
  }
  if (j->op == CAT_PUT && rc == TG_ENOENT && j->if_match >= 0)
    rc = TG_ECONFLICT; /* If-Match on a missing resource */
  if (j->op == CAT_PUT && rc == TG_EPERM) {
    /* Another node's id, or none: no credential or later state makes this
     * target creatable here, so it is the request's fault (400), as a badly
     * encoded id is, not an authorization (403) or state (409) matter. */
    json_decref(problems);
    tg_http_res_problem(req, 400, "bad-dataset-id", "Bad dataset id",
                        json_pack("{s:s}", "id", j->id), "%s", tg_err_msg(&j->err, rc));
    return;
  }
  if (rc) {
    write_failed(req, rc, problems, &j->err);
    return;
  }
  json_decref(problems);
  if (j->op == CAT_CREATE)
    j->w.created = 1;
  send_dataset_after_write(req, &j->w);
}

/* ---- /api/v1/catalog ------------------------------------------------------ */

/* The node's catalog header (title, description, publisher, service). */
static json_t *catalog_head(struct tg_http_req *req) {
  char base[600], uri[128], sid[160], ep[700];
  struct tg_settings *s = tg_settings_get();
  endpoint_base(base, sizeof(base));
  snprintf(uri, sizeof(uri), "urn:tsunagu:node:%s", s->node_id);
  snprintf(sid, sizeof(sid), "%s:service:api", uri);
  snprintf(ep, sizeof(ep), "%s/api/v1", base);
  const char *name = s->node_name[0] ? s->node_name : s->node_id;
  char title[300], desc[600];
  snprintf(title, sizeof(title), "%s catalog", name);
  snprintf(desc, sizeof(desc),
           "Datasets published by %s (node %s) through tsunagu, as DCAT-AP 3.0.1.", name,
           s->node_id);
  json_t *c = json_pack(
      "{s:o, s:s+, s:s, s:[{s:s}], s:[{s:s}], s:{s:s, s:s, s:[{s:s}]}, s:[], s:[{s:s, s:s, "
      "s:[{s:s}], s:{s:s}, s:[]}]}",
      "@context", tg_cat_context(), "@id", uri, ":catalog", "@type", "dcat:Catalog", "dct:title",
      "@value", title, "dct:description", "@value", desc, "dct:publisher", "@id", uri, "@type",
      "foaf:Agent", "foaf:name", "@value", name, "dcat:dataset", "dcat:service", "@id", sid,
      "@type", "dcat:DataService", "dct:title", "@value", "tsunagu catalog API", "dcat:endpointURL",
      "@id", ep, "dcat:servesDataset");
  tg_settings_put(s);
  if (c == NULL)
    return NULL;
  return c; /* dcat:dataset and dcat:servesDataset are filled per page */
}

void tg_route_catalog(struct tg_http_req *req) {
  int64_t limit, offset;
  if (page_params(req, &limit, &offset))
    return;
  json_t *list = NULL;
  struct tg_err err;
  struct tg_cat_access a;
  tg_err_clear(&err);
  int rc = tg_cat_dataset_list_for(cat_of(req), TG_CAT_VIEW_PUBLIC, viewer_of(req, &a), offset,
                                   limit, &list, &err);
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  json_t *c = catalog_head(req);
  if (c == NULL) {
    json_decref(list);
    tg_http_res_problem(req, 500, "internal", "Internal error", NULL, "out of memory");
    return;
  }
  json_t *ds = json_object_get(c, "dcat:dataset");
  json_t *svc = json_array_get(json_object_get(c, "dcat:service"), 0);
  json_t *serves = json_object_get(svc, "dcat:servesDataset");
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(list, "datasets"), i, d) {
    json_object_del(d, "@context");
    json_array_append(ds, d);
    json_t *ref = json_object_get(d, "@id");
    if (json_is_string(ref))
      json_array_append_new(serves, json_pack("{s:O}", "@id", ref));
  }
  if (json_array_size(serves) == 0)
    json_object_del(svc, "dcat:servesDataset");
  int64_t total = json_integer_value(json_object_get(list, "total"));
  json_decref(list);
  paging_links(req, "/api/v1/catalog", "", offset, limit, offset + limit < total);
  char t[32];
  snprintf(t, sizeof(t), "%lld", (long long)total);
  tg_http_res_header(req, "X-Total-Count", t);
  send_hashed(req, c, "application/ld+json");
}

void tg_route_catalog_changes(struct tg_http_req *req) {
  static const char *const allowed[] = {"since", "limit", NULL};
  struct tg_qs q;
  int64_t since, limit;
  if (tg_route_query(req, &q, allowed) ||
      tg_route_query_int(req, &q, "since", 0, INT64_MAX, 0, &since) ||
      tg_route_query_int(req, &q, "limit", 1, 1000, 100, &limit))
    return;
  struct tg_buf out;
  struct tg_err err;
  tg_err_clear(&err);
  struct tg_cat_access a;
  int64_t last = 0;
  int more = 0;
  tg_buf_init(&out);
  int rc = tg_cat_changes_text(cat_of(req), since, limit, viewer_of(req, &a), &out, &last, &more,
                               &err);
  if (rc) {
    tg_buf_close(&out);
    internal(req, rc, &err);
    return;
  }
  if (more) {
    char base[600], link[900];
    link_base(base, sizeof(base));
    snprintf(link, sizeof(link), "<%s/api/v1/catalog/changes?since=%lld&limit=%lld>; rel=\"next\"",
             base, (long long)last, (long long)limit);
    tg_http_res_header(req, "Link", link);
  }
  tg_http_res_header(req, "Cache-Control", "no-cache");
  tg_http_res_send(req, 200, "application/json", out.data, out.len);
  tg_buf_close(&out);
}

/* ---- /api/v1/search --------------------------------------------------------- */

static int parse_bool(const char *v, int *out) {
  if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0 || *v == '\0')
    *out = 1;
  else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
    *out = 0;
  else
    return TG_EINVAL;
  return 0;
}

/* "minlon,minlat,maxlon,maxlat" in degrees. */
static int parse_bbox(const char *v, double out[4]) {
  const char *p = v;
  for (int i = 0; i < 4; i++) {
    char *end;
    if (*p == '\0' || isspace((unsigned char)*p))
      return TG_EINVAL;
    errno = 0;
    out[i] = strtod(p, &end);
    if (end == p || errno != 0 || !isfinite(out[i]))
      return TG_EINVAL;
    p = end;
    if (i < 3) {
      if (*p != ',')
        return TG_EINVAL;
      p++;
    }
  }
  if (*p != '\0')
    return TG_EINVAL;
  if (out[0] < -180 || out[2] > 180 || out[1] < -90 || out[3] > 90 || out[0] > out[2] ||
      out[1] > out[3])
    return TG_EINVAL;
  return 0;
}

/* A peer node sees only the datasets whose policy lets it use them: the
 * others are left out of the page (and the total is then a bound). */
void tg_route_search_hide(json_t *out, const char *peer) {
  json_t *items = json_object_get(out, "items");
  struct tg_cat_access a = {peer, NULL, NULL, "use", (int64_t)time(NULL), 1, 0};
  size_t hidden = 0;
  for (size_t i = json_array_size(items); i-- > 0;) {
    const json_t *doc = json_object_get(json_array_get(items, i), "dataset");
    struct tg_cat_decision d;
    tg_cat_policy_decide(json_object_get(doc, "odrl:hasPolicy"), &a, &d);
    if (d.verdict != TG_CAT_PERMIT) {
      json_array_remove(items, i);
      hidden++;
    }
  }
  if (hidden > 0)
    json_object_set_new(out, "total_exact", json_false());
}

int tg_route_search_query(struct tg_http_req *req, struct tg_qs *q, struct tg_cat_query *cq) {
  static const char *const allowed[] = {"q",       "theme",          "keyword", "publisher",
                                        "spatial", "bbox",           "limit",   "offset",
                                        "sort",    "modified_since", "facets",  "scope",
                                        "mode",    "timeout",        "hops",    NULL};
  int64_t limit, offset;
  memset(cq, 0, sizeof(*cq));
  if (tg_route_query(req, q, allowed) ||
      tg_route_query_int(req, q, "limit", 1, 100, 20, &limit) ||
      tg_route_query_int(req, q, "offset", 0, 1000000, 0, &offset))
    return TG_ROUTE_ANSWERED;
  cq->limit = limit;
  cq->offset = offset;
  cq->q = tg_qs_get(q, "q");
  cq->theme = tg_qs_get(q, "theme");
  cq->keyword = tg_qs_get(q, "keyword");
  cq->publisher = tg_qs_get(q, "publisher");
  cq->spatial = tg_qs_get(q, "spatial");
  const char *v = tg_qs_get(q, "bbox");
  if (v != NULL) {
    if (parse_bbox(v, cq->bbox)) {
      tg_route_bad_param(req, "bbox", "must be minlon,minlat,maxlon,maxlat in degrees");
      return TG_ROUTE_ANSWERED;
    }
    cq->has_bbox = 1;
  }
  v = tg_qs_get(q, "modified_since");
  if (v != NULL && (tg_cat_parse_time(v, &cq->modified_since) != 0)) {
    tg_route_bad_param(req, "modified_since",
                       "must be an xsd:date or xsd:dateTime such as 2024-04-01");
    return TG_ROUTE_ANSWERED;
  }
  v = tg_qs_get(q, "sort");
  if (v == NULL || strcmp(v, "relevance") == 0)
    cq->sort = TG_CAT_SORT_RELEVANCE;
  else if (strcmp(v, "modified") == 0)
    cq->sort = TG_CAT_SORT_MODIFIED;
  else if (strcmp(v, "title") == 0)
    cq->sort = TG_CAT_SORT_TITLE;
  else {
    tg_route_bad_param(req, "sort", "must be relevance, modified or title");
    return TG_ROUTE_ANSWERED;
  }
  v = tg_qs_get(q, "facets");
  if (v != NULL && parse_bool(v, &cq->facets)) {
    tg_route_bad_param(req, "facets", "must be true or false");
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

void tg_route_search(struct tg_http_req *req) {
  struct tg_qs q;
  struct tg_cat_query cq;
  if (tg_route_search_query(req, &q, &cq))
    return;
  int64_t limit = cq.limit, offset = cq.offset;
  const char *scope = tg_qs_get(&q, "scope");
  if (scope != NULL && strcmp(scope, "federation") == 0) {
    tg_route_search_federation(req, &q, &cq);
    return;
  }
  if (scope != NULL && strcmp(scope, "local") != 0) {
    tg_route_bad_param(req, "scope", "must be local or federation");
    return;
  }
  json_t *out = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  /* Facets count every match, hidden ones too: a node asking gets none
   * rather than the keywords and publishers of datasets it may not see. */
  const char *peer = tg_http_req_peer(req);
  int withheld = peer != NULL && cq.facets;
  if (withheld)
    cq.facets = 0;
  int rc = tg_cat_search(cat_of(req), &cq, &out, &err);
  if (rc == TG_EINVAL) {
    tg_route_bad_param(req, "q", tg_err_msg(&err, rc));
    return;
  }
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  if (peer != NULL)
    tg_route_search_hide(out, peer);
  if (withheld)
    json_object_set_new(out, "facets_withheld", json_true());
  /* Link to the next page with the same parameters. */
  int64_t total = json_integer_value(json_object_get(out, "total"));
  if (offset + limit < total) {
    struct tg_buf ex;
    int bad = 0;
    tg_buf_init(&ex);
    for (size_t i = 0; i < q.n && !bad; i++) {
      if (strcmp(q.key[i], "offset") == 0 || strcmp(q.key[i], "limit") == 0)
        continue;
      bad = tg_buf_printf(&ex, "%s=", q.key[i]) || tg_qs_encode(&ex, q.val[i]) ||
            tg_buf_append(&ex, "&", 1);
    }
    if (!bad) /* out of memory: no link rather than a wrong one */
      paging_links(req, "/api/v1/search", ex.data ? ex.data : "", offset, limit, 1);
    tg_buf_close(&ex);
  }
  tg_http_res_json(req, 200, out, NULL);
}

/* ---- Dataspace Protocol 2025-1 ------------------------------------------------ */

void tg_route_dsp_version(struct tg_http_req *req) {
  char uri[128], sid[160];
  node_uri(uri, sizeof(uri));
  snprintf(sid, sizeof(sid), "%s:dsp", uri);
  json_t *o = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "protocolVersions", "version", DSP_VERSION,
                        "path", DSP_PATH, "binding", "HTTPS", "serviceId", sid);
  tg_http_res_header(req, "Cache-Control", "no-cache");
  tg_http_res_json(req, 200, o, NULL);
}

const char *tg_route_dsp_problem(struct tg_http_req *req, json_t *p) {
  const char *path = tg_http_req_path(req);
  if (path == NULL || strncmp(path, DSP_PATH, strlen(DSP_PATH)) != 0 ||
      (path[strlen(DSP_PATH)] != '/' && path[strlen(DSP_PATH)] != '\0' &&
       path[strlen(DSP_PATH)] != '?'))
    return NULL;
  char code[24];
  snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(json_object_get(p, "status")));
  const char *detail = json_string_value(json_object_get(p, "detail"));
  json_object_set_new(p, "@context", json_pack("[s]", TG_CAT_DSP_CONTEXT));
  json_object_set_new(p, "@type", json_string("CatalogError"));
  json_object_set_new(p, "code", json_string(code));
  json_object_set_new(p, "reason", json_pack("[s]", detail ? detail : ""));
  return "application/json";
}

/* A DSP CatalogError (tg_route_dsp_problem shapes it). */
static void dsp_error(struct tg_http_req *req, int status, const char *slug, const char *reason) {
  tg_http_res_problem(req, status, slug, tg_http_reason(status), NULL, "%s", reason);
}

/* NODE's DSP identity into the caller's buffers. */
static void dsp_ids(struct tg_cat_dsp_node *node, char *uri, size_t ucap, char *sid, size_t scap,
                    char *ep, size_t ecap) {
  char base[600];
  node_uri(uri, ucap);
  snprintf(sid, scap, "%s:dsp", uri);
  endpoint_base(base, sizeof(base));
  snprintf(ep, ecap, "%s%s", base, DSP_PATH);
  node->participant = uri;
  node->service_id = sid;
  node->endpoint = ep;
}

void tg_route_dsp_catalog_request(struct tg_http_req *req) {
  int64_t limit, offset;
  if (page_params(req, &limit, &offset))
    return;
  size_t len;
  const char *body = tg_http_req_body(req, &len);
  json_error_t jerr;
  json_t *msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  const char *reason = NULL;
  int rc = tg_cat_dsp_catalog_request_check(msg, &reason);
  json_decref(msg);
  if (rc) {
    dsp_error(req, 400, rc == TG_EUNSUP ? "unsupported-filter" : "bad-message", reason);
    return;
  }
  json_t *list = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  struct tg_cat_access a;
  rc = tg_cat_dataset_list_for(cat_of(req), TG_CAT_VIEW_PUBLIC, viewer_of(req, &a), offset, limit,
                               &list, &err);
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  struct tg_cat_dsp_node node;
  char uri[128], sid[160], ep[700];
  dsp_ids(&node, uri, sizeof(uri), sid, sizeof(sid), ep, sizeof(ep));
  json_t *cat = tg_cat_dsp_catalog(list, &node);
  int64_t total = json_integer_value(json_object_get(list, "total"));
  json_decref(list);
  paging_links(req, DSP_PATH "/catalog/request", "", offset, limit, offset + limit < total);
  tg_http_res_json(req, 200, cat, NULL);
}

void tg_route_dsp_dataset(struct tg_http_req *req) {
  char id[ID_MAX_BYTES];
  const char *rest = tg_http_req_rest(req);
  if (*rest == '\0' || strchr(rest, '/') != NULL ||
      tg_qs_decode(rest, strlen(rest), id, sizeof(id), 0) <= 0) {
    dsp_error(req, 400, "bad-dataset-id", "the dataset id is empty or badly percent-encoded");
    return;
  }
  json_t *doc = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_cat_dataset_get(cat_of(req), id, TG_CAT_VIEW_PUBLIC, &doc, NULL, &err);
  struct tg_cat_access a;
  struct tg_cat_decision d;
  if (rc == 0 && viewer_of(req, &a) != NULL &&
      (tg_cat_policy_decide(json_object_get(doc, "odrl:hasPolicy"), &a, &d) != 0 ||
       d.verdict != TG_CAT_PERMIT)) {
    json_decref(doc); /* what a peer may not use, it does not see */
    rc = TG_ENOENT;
  }
  if (rc == TG_ENOENT) {
    dsp_error(req, 404, "not-found", "no such dataset");
    return;
  }
  if (rc) {
    internal(req, rc, &err);
    return;
  }
  struct tg_cat_dsp_node node;
  char uri[128], sid[160], ep[700];
  dsp_ids(&node, uri, sizeof(uri), sid, sizeof(sid), ep, sizeof(ep));
  json_t *o = tg_cat_dsp_dataset(doc, &node, 1);
  json_decref(doc);
  if (o == NULL) { /* no offer: nothing a DSP consumer could negotiate */
    dsp_error(req, 404, "not-found", "the dataset offers no policy to negotiate");
    return;
  }
  tg_http_res_json(req, 200, o, NULL);
}
