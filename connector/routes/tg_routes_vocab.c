/* tg_routes_vocab: vocabularies over HTTP (Skosmos-like): SKOS schemes (list, JSON-LD
 * export with ETag, validated import, replace with If-Match), concepts, label search,
 * mappings, hierarchy, conversion profiles, and POST /api/v1/vocab/convert, which
 * streams a request body through a profile with back-pressure both ways. The vocab
 * library (vocab/tg_voc_store.h, tg_voc_conv.h) does the work; this file maps HTTP on it. */
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_problem.h"
#include "tg_qs.h"
#include "tg_provlog.h"
#include "tg_routes.h"
#include "tg_writer.h"
#include "tg_worker.h"
#include "tg_util.h"
#include "tg_voc_conv.h"
#include "tg_voc_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VID_MAX 1024                 /* a decoded id or URI in the path */
#define CONV_HIGH_WATER (256 * 1024) /* pause reading the request above this much output */
#define CONV_MAX_ERRORS 1000         /* issues kept in detail for the summary; all are counted */

/* ---- shared answers ------------------------------------------------------ */

static struct tg_voc_store *voc_of(struct tg_http_req *req) {
  return tg_http_req_worker(req)->voc;
}

/* Answers a store error RC: ENOENT as 404 with NOTFOUND_SLUG, the rest generically. */
static void store_fail(struct tg_http_req *req, int rc, const struct tg_err *err,
                       const char *notfound_slug) {
  const char *msg = tg_err_msg(err, rc);
  switch (rc) {
  case TG_ENOENT:
    tg_http_res_problem(req, 404, notfound_slug, "Not found", NULL, "%s", msg);
    break;
  case TG_EINVAL:
    tg_http_res_problem(req, 422, "invalid", "Unprocessable content", NULL, "%s", msg);
    break;
  case TG_EEXIST:
    tg_http_res_problem(req, 409, "vocab-conflict", "Conflict", NULL, "%s", msg);
    break;
  case TG_ECONFLICT:
    tg_http_res_problem(req, 412, "precondition-failed", "Precondition failed", NULL, "%s", msg);
    break;
  case TG_EDB:
    tg_http_res_problem(req, 503, "unavailable", "Vocabularies unavailable", NULL, "%s", msg);
    break;
  default:
    tg_http_res_problem(req, 500, "internal", "Internal error", NULL, "%s", msg);
  }
}

static void send_json(struct tg_http_req *req, int status, json_t *j, const char *ctype) {
  if (j == NULL) {
    tg_http_res_problem(req, 500, "internal", "Internal error", NULL, "out of memory");
    return;
  }
  tg_http_res_json(req, status, j, ctype);
}

/* Parses the buffered request body as JSON; answers 400 and returns NULL if it is not. */
static json_t *body_json(struct tg_http_req *req) {
  size_t len;
  const char *b = tg_http_req_body(req, &len);
  json_error_t je;
  json_t *j = json_loadb(b, len, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL)
    tg_http_res_problem(req, 400, "bad-json", "Bad JSON", NULL,
                        "the body is not JSON: %s (line %d)", je.text, je.line);
  return j;
}

/* Answers a stored document with its ETag: 304 when If-None-Match names
 * it, else 200 with DOC as TYPE (NULL: JSON). Takes DOC and ETAG. */
static void send_tagged(struct tg_http_req *req, json_t *doc, char *etag, const char *type) {
  tg_route_set_etag(req, etag);
  tg_http_res_header(req, "Cache-Control", "no-cache");
  if (tg_route_none_match(req, etag)) {
    json_decref(doc);
    tg_http_res_send(req, 304, NULL, NULL, 0);
  } else {
    send_json(req, 200, doc, type);
  }
  free(etag);
}

/* ---- schemes ------------------------------------------------------------- */

void tg_route_vocab_schemes(struct tg_http_req *req) {
  static const char *const allowed[] = {NULL};
  struct tg_qs q;
  json_t *list = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_query(req, &q, allowed))
    return;
  int rc = tg_voc_scheme_list(voc_of(req), &list, &err);
  if (rc) {
    store_fail(req, rc, &err, "not-found");
    return;
  }
  send_json(req, 200, json_pack("{s:o}", "schemes", list), NULL);
}

void tg_route_vocab_scheme_get(struct tg_http_req *req) {
  char id[VID_MAX];
  json_t *doc = NULL;
  char *etag = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_path_id(req, "bad-id", "id", id, sizeof(id)))
    return;
  int rc = tg_voc_scheme_export(voc_of(req), id, &doc, &etag, &err);
  if (rc) {
    store_fail(req, rc, &err, "unknown-scheme");
    return;
  }
  send_tagged(req, doc, etag, "application/ld+json");
}

/* Appends "/" and KEY escaped as a JSON pointer token (RFC 6901) to B. */
static int ptr_token(struct tg_buf *b, const char *key) {
  if (tg_buf_append(b, "/", 1))
    return TG_ENOMEM;
  for (const char *k = key; *k; k++)
    if (*k == '~'   ? tg_buf_puts(b, "~0")
        : *k == '/' ? tg_buf_puts(b, "~1")
                    : tg_buf_append(b, k, 1))
      return TG_ENOMEM;
  return 0;
}

/* A JSON pointer into DOC to the node with "@id" CONCEPT and, if RULE names a SKOS
 * property it is about, to that member (in whichever spelling the document used), or
 * NULL when the node is not found. New string, caller frees. */
static char *refusal_pointer(const json_t *doc, const char *concept, const char *rule) {
  static const struct {
    const char *rule, *term;
  } about[] = {
      {"S14", "prefLabel"}, {"S13", "prefLabel"}, {"S27", "related"}, {"S46", "exactMatch"}};
  const json_t *nodes = json_is_object(doc) ? json_object_get(doc, "@graph") : doc;
  const json_t *node = NULL;
  struct tg_buf b;
  size_t i;
  json_t *n;
  tg_buf_init(&b);
  if (json_is_array(nodes)) {
    json_array_foreach(nodes, i, n) {
      const char *id = json_string_value(json_object_get(n, "@id"));
      if (id && strcmp(id, concept) == 0 && node == NULL) {
        node = n;
        if ((nodes != doc && tg_buf_puts(&b, "/@graph")) || tg_buf_printf(&b, "/%zu", i))
          goto fail;
      }
    }
  } else if (json_is_object(doc) &&
             strcmp(json_string_value(json_object_get(doc, "@id")) ?: "", concept) == 0) {
    node = doc;
  }
  if (node == NULL)
    goto fail;
  for (size_t k = 0; k < sizeof(about) / sizeof(about[0]); k++) {
    if (strcmp(about[k].rule, rule) != 0)
      continue;
    char names[3][96];
    snprintf(names[0], sizeof(names[0]), "skos:%s", about[k].term);
    snprintf(names[1], sizeof(names[1]), "%s%s", TG_VOC_NS_SKOS, about[k].term);
    snprintf(names[2], sizeof(names[2]), "%s", about[k].term);
    for (int j = 0; j < 3; j++)
      if (json_object_get(node, names[j])) {
        if (ptr_token(&b, names[j]))
          goto fail;
        break;
      }
  }
  if (tg_buf_append(&b, "", 1))
    goto fail;
  return tg_buf_take(&b);
fail:
  tg_buf_close(&b);
  return NULL;
}

/* Splits a refusal "NODE: RULE: text" into a problem's errors entry naming the concept,
 * the rule (the SKOS integrity condition, S9 for disjoint classes, else "structure")
 * and, when the node is found in DOC, a JSON pointer to it. */
static json_t *refusal_errors(const char *msg, const json_t *doc) {
  const char *sep = strstr(msg, ": ");
  char concept[VID_MAX] = "", rule[16] = "structure";
  const char *text = msg;
  if (sep && (size_t)(sep - msg) < sizeof(concept) &&
      memchr(msg, ' ', (size_t)(sep - msg)) == NULL &&
      memchr(msg, ':', (size_t)(sep - msg)) != NULL) {
    memcpy(concept, msg, (size_t)(sep - msg));
    concept[sep - msg] = '\0';
    text = sep + 2;
  }
  if (text[0] == 'S' && text[1] >= '0' && text[1] <= '9') {
    size_t k = 1 + strspn(text + 1, "0123456789");
    if (text[k] == ':' && k < sizeof(rule)) {
      memcpy(rule, text, k);
      rule[k] = '\0';
    }
  } else if (strstr(text, "skos:Concept and skos:ConceptScheme are disjoint")) {
    snprintf(rule, sizeof(rule), "S9");
  }
  json_t *e = json_pack("{s:s, s:s}", "rule", rule, "detail", msg);
  if (e && concept[0]) {
    json_object_set_new(e, "concept", json_string(concept));
    char *ptr = refusal_pointer(doc, concept, rule);
    if (ptr)
      json_object_set_new(e, "pointer", json_string(ptr));
    free(ptr);
  }
  return tg_problem_errors_cap(json_pack("{s:[o]}", "errors", e));
}

/* The short id of the scheme URI (from the list), into OUT. */
static void scheme_short_id(struct tg_voc_store *s, const char *uri, char *out, size_t cap) {
  json_t *list = NULL, *e;
  size_t i;
  snprintf(out, cap, "%s", uri);
  if (tg_voc_scheme_list(s, &list, NULL))
    return;
  json_array_foreach(list, i, e) {
    const char *u = json_string_value(json_object_get(e, "uri"));
    const char *id = json_string_value(json_object_get(e, "id"));
    if (u && id && strcmp(u, uri) == 0)
      snprintf(out, cap, "%s", id);
  }
  json_decref(list);
}

/* ---- writes, on the writer thread ------------------------------------------
 * Imports (up to 32 MiB of SKOS) and profile changes are committed by the
 * node's writer thread, so a worker's loop goes on serving while they run;
 * the checks that go with a write (If-Match, existence) run in the same
 * transaction, so nothing changes between check and write. */
enum voc_op { VOC_IMPORT, VOC_SCHEME_DELETE, VOC_PROFILE_PUT, VOC_PROFILE_DELETE };

struct voc_job {
  struct tg_route_job base; /* first */
  enum voc_op op;
  json_t *doc;             /* the body (owned), or NULL */
  char id[VID_MAX], tag[128];
  enum tg_if_match im;
  /* results, filled on the writer thread */
  int rc, existed;
  char *uri, *etag;        /* from malloc, or NULL */
  char short_id[VID_MAX];
  struct tg_err err;
};

static void voc_job_free(struct tg_route_job *b) {
  struct voc_job *j = (struct voc_job *)b;
  json_decref(j->doc);
  free(j->uri);
  free(j->etag);
  free(j);
}

static int voc_import_run(struct tg_voc_store *s, struct voc_job *j) {
  int rc;
  if (j->im == TG_IF_MATCH_ANY) {
    /* If-Match: * replaces a scheme that exists: without REPLACE an existing one is
     * TG_EEXIST, a missing one (with an If-Match) TG_ECONFLICT. */
    rc = tg_voc_scheme_import(s, j->doc, 0, "*", &j->uri, &j->etag, &j->err);
    if (rc == TG_EEXIST && strstr(j->err.msg, "already exists")) {
      tg_err_clear(&j->err);
      rc = tg_voc_scheme_import(s, j->doc, TG_VOC_IMPORT_REPLACE, NULL, &j->uri, &j->etag,
                                &j->err);
    } else if (rc == 0) {
      rc = TG_EINVAL; /* not reached: the store refuses If-Match on a new scheme */
    }
  } else {
    rc = tg_voc_scheme_import(s, j->doc, j->im == TG_IF_MATCH_TAG ? TG_VOC_IMPORT_REPLACE : 0,
                              j->im == TG_IF_MATCH_TAG ? j->tag : NULL, &j->uri, &j->etag,
                              &j->err);
  }
  if (rc == 0)
    scheme_short_id(s, j->uri, j->short_id, sizeof(j->short_id));
  return rc;
}

static int voc_profile_put_run(struct tg_voc_store *s, struct voc_job *j) {
  char *old = NULL;
  int rc = tg_voc_profile_get(s, j->id, NULL, NULL, &old, &j->err);
  free(old);
  j->existed = rc == 0;
  if (rc && rc != TG_ENOENT)
    return rc;
  tg_err_clear(&j->err);
  if (j->im != TG_IF_MATCH_NONE && !j->existed)
    return tg_err_set(&j->err, TG_ECONFLICT, "profile %s does not exist (If-Match)", j->id);
  return tg_voc_profile_put(s, j->doc, 1, j->im == TG_IF_MATCH_TAG ? j->tag : NULL, &j->etag,
                            &j->err);
}

static int voc_profile_delete_run(struct tg_voc_store *s, struct voc_job *j) {
  char *etag = NULL;
  int rc = tg_voc_profile_get(s, j->id, NULL, NULL, &etag, &j->err);
  if (rc == 0 && j->im == TG_IF_MATCH_TAG && strcmp(j->tag, etag) != 0)
    rc = tg_err_set(&j->err, TG_ECONFLICT, "profile %s has changed (ETag %s)", j->id, etag);
  else if (rc == TG_ENOENT && j->im != TG_IF_MATCH_NONE)
    rc = tg_err_set(&j->err, TG_ECONFLICT, "profile %s does not exist (If-Match)", j->id);
  free(etag);
  return rc == 0 ? tg_voc_profile_delete(s, j->id, &j->err) : rc;
}

static int voc_job_run(struct tg_writer_ctx *ctx, struct tg_route_job *b, struct tg_err *err) {
  struct voc_job *j = (struct voc_job *)b;
  tg_err_clear(&j->err);
  switch (j->op) {
  case VOC_IMPORT:
    j->rc = voc_import_run(ctx->voc, j);
    break;
  case VOC_SCHEME_DELETE:
    j->rc = tg_voc_scheme_delete(ctx->voc, j->id, &j->err);
    break;
  case VOC_PROFILE_PUT:
    j->rc = voc_profile_put_run(ctx->voc, j);
    break;
  default:
    j->rc = voc_profile_delete_run(ctx->voc, j);
  }
  if (j->rc == 0)
    tg_provlog_event(ctx->prov, TG_PROV_VOCAB_CHANGE, j->uri ? j->uri : j->id);
  if (j->rc != 0 && err != NULL)
    *err = j->err;
  return j->rc;
}

static void voc_job_answer(struct tg_route_job *b, int rc, const struct tg_err *err);

/* Queues a write; the answer follows from voc_job_answer. DOC is stolen. */
static void voc_job_submit(struct tg_http_req *req, enum voc_op op, json_t *doc, const char *id,
                           const char *tag, enum tg_if_match im) {
  struct voc_job *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    json_decref(doc);
    tg_http_res_problem(req, 503, "unavailable", "Vocabularies unavailable", NULL,
                        "out of memory");
    return;
  }
  j->op = op;
  j->doc = doc;
  j->im = im;
  snprintf(j->id, sizeof(j->id), "%s", id ? id : "");
  snprintf(j->tag, sizeof(j->tag), "%s", tag ? tag : "");
  j->base.run = voc_job_run;
  j->base.answer = voc_job_answer;
  j->base.free = voc_job_free;
  tg_route_job_submit(req, &j->base, "Vocabularies unavailable");
}

/* The answer to a committed (RC 0) or refused write, as before the writer. */
static void voc_job_answer(struct tg_route_job *b, int rc, const struct tg_err *err) {
  struct voc_job *j = (struct voc_job *)b;
  struct tg_http_req *req = b->req;
  if (rc == TG_EDB && j->rc == 0 && err != NULL)
    j->err = *err; /* the commit failed */
  char loc[VID_MAX + 64];
  const char *slug = j->op == VOC_IMPORT || j->op == VOC_SCHEME_DELETE ? "unknown-scheme"
                                                                         : "unknown-profile";
  if (j->op == VOC_IMPORT && rc == TG_EINVAL) {
    tg_http_res_problem(req, 422, "invalid-scheme", "SKOS import refused",
                        refusal_errors(tg_err_msg(&j->err, rc), j->doc), "%s",
                        tg_err_msg(&j->err, rc));
  } else if (j->op == VOC_IMPORT && rc == TG_EEXIST) {
    tg_http_res_problem(req, 409, "scheme-exists", "Conflict", NULL,
                        "%s (replace it with If-Match: its ETag)", tg_err_msg(&j->err, rc));
  } else if (j->op == VOC_PROFILE_PUT && rc == TG_EINVAL) {
    json_t *extra = json_pack("{s:[{s:s}]}", "errors", "detail", tg_err_msg(&j->err, rc));
    tg_http_res_problem(req, 422, "invalid-profile", "Invalid profile", extra, "%s",
                        tg_err_msg(&j->err, rc));
  } else if (rc) {
    store_fail(req, rc, &j->err, slug);
  } else if (j->op == VOC_IMPORT) {
    tg_route_set_etag(req, j->etag);
    snprintf(loc, sizeof(loc), "/api/v1/vocab/schemes/%s", j->short_id);
    tg_http_res_header(req, "Location", loc);
    send_json(req, j->im != TG_IF_MATCH_NONE ? 200 : 201,
              json_pack("{s:s, s:s, s:s}", "uri", j->uri, "id", j->short_id, "etag", j->etag),
              NULL);
  } else if (j->op == VOC_PROFILE_PUT) {
    tg_route_set_etag(req, j->etag);
    send_json(req, j->existed ? 200 : 201, json_pack("{s:s, s:s}", "id", j->id, "etag", j->etag),
              NULL);
  } else {
    tg_http_res_send(req, 204, NULL, NULL, 0);
  }
}

void tg_route_vocab_scheme_post(struct tg_http_req *req) {
  char tag[128];
  enum tg_if_match im;
  if (tg_route_if_match(req, tag, sizeof(tag), &im))
    return;
  json_t *doc = body_json(req);
  if (doc == NULL)
    return;
  voc_job_submit(req, VOC_IMPORT, doc, NULL, tag, im);
}

void tg_route_vocab_scheme_delete(struct tg_http_req *req) {
  char id[VID_MAX];
  if (tg_route_path_id(req, "bad-id", "id", id, sizeof(id)))
    return;
  voc_job_submit(req, VOC_SCHEME_DELETE, NULL, id, NULL, TG_IF_MATCH_NONE);
}

/* ---- concepts, search, mappings, hierarchy ------------------------------ */

void tg_route_vocab_concept(struct tg_http_req *req) {
  static const char *const allowed[] = {"uri", NULL};
  struct tg_qs q;
  const char *uri;
  json_t *node = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_query(req, &q, allowed) || (uri = tg_route_query_need(req, &q, "uri")) == NULL)
    return;
  int rc = tg_voc_concept_get(voc_of(req), uri, &node, &err);
  if (rc) {
    store_fail(req, rc, &err, "unknown-concept");
    return;
  }
  if (json_object_get(node, "@context") == NULL)
    json_object_set_new(node, "@context",
                        json_pack("{s:s, s:s}", "skos", TG_VOC_NS_SKOS, "dct", TG_VOC_NS_DCT));
  send_json(req, 200, node, "application/ld+json");
}

void tg_route_vocab_search(struct tg_http_req *req) {
  static const char *const allowed[] = {"q", "lang", "scheme", "limit", NULL};
  struct tg_qs q;
  const char *text, *lim;
  uint64_t limit = 20;
  json_t *out = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_query(req, &q, allowed) || (text = tg_route_query_need(req, &q, "q")) == NULL)
    return;
  if ((lim = tg_qs_get(&q, "limit")) != NULL && (tg_parse_u64(lim, 1000, &limit) || limit == 0)) {
    tg_route_bad_param(req, "limit", "must be an integer from 1 to 1000");
    return;
  }
  const char *lang = tg_qs_get(&q, "lang"), *scheme = tg_qs_get(&q, "scheme");
  int rc = tg_voc_search(voc_of(req), text, lang && *lang ? lang : NULL,
                         scheme && *scheme ? scheme : NULL, (size_t)limit, &out, &err);
  if (rc == TG_EINVAL) {
    tg_route_bad_param(req, "q", tg_err_msg(&err, rc));
    return;
  }
  if (rc) {
    store_fail(req, rc, &err, "not-found");
    return;
  }
  send_json(req, 200,
            json_pack("{s:s, s:I, s:o}", "q", text, "count", (json_int_t)json_array_size(out),
                      "results", out),
            NULL);
}

typedef int (*uri_query_fn)(struct tg_voc_store *, const char *, json_t **, struct tg_err *);

/* GET ...?uri=U answered as {"uri": U, MEMBER: FN(U)}. */
static void uri_query(struct tg_http_req *req, uri_query_fn fn, const char *member) {
  static const char *const allowed[] = {"uri", NULL};
  struct tg_qs q;
  const char *uri;
  json_t *out = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_query(req, &q, allowed) || (uri = tg_route_query_need(req, &q, "uri")) == NULL)
    return;
  int rc = fn(voc_of(req), uri, &out, &err);
  if (rc) {
    store_fail(req, rc, &err, "unknown-concept");
    return;
  }
  send_json(req, 200, json_pack("{s:s, s:o}", "uri", uri, member, out), NULL);
}

void tg_route_vocab_mappings(struct tg_http_req *req) {
  uri_query(req, tg_voc_mappings, "mappings");
}
void tg_route_vocab_broader(struct tg_http_req *req) {
  uri_query(req, tg_voc_broader, "broader");
}
void tg_route_vocab_narrower(struct tg_http_req *req) {
  uri_query(req, tg_voc_narrower, "narrower");
}

/* ---- profiles ------------------------------------------------------------ */

void tg_route_vocab_profiles(struct tg_http_req *req) {
  static const char *const allowed[] = {NULL};
  struct tg_qs q;
  json_t *list = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_query(req, &q, allowed))
    return;
  int rc = tg_voc_profile_list(voc_of(req), &list, &err);
  if (rc)
    store_fail(req, rc, &err, "not-found");
  else
    send_json(req, 200, json_pack("{s:o}", "profiles", list), NULL);
}

void tg_route_vocab_profile_get(struct tg_http_req *req) {
  char id[VID_MAX];
  json_t *doc = NULL;
  char *etag = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_path_id(req, "bad-id", "id", id, sizeof(id)))
    return;
  int rc = tg_voc_profile_get(voc_of(req), id, &doc, NULL, &etag, &err);
  if (rc) {
    store_fail(req, rc, &err, "unknown-profile");
    return;
  }
  send_tagged(req, doc, etag, NULL);
}

void tg_route_vocab_profile_put(struct tg_http_req *req) {
  char id[VID_MAX], tag[128];
  if (tg_route_path_id(req, "bad-id", "id", id, sizeof(id)))
    return;
  enum tg_if_match im;
  if (tg_route_if_match(req, tag, sizeof(tag), &im))
    return;
  json_t *doc = body_json(req);
  if (doc == NULL)
    return;
  if (!json_is_object(doc)) {
    json_decref(doc);
    tg_http_res_problem(req, 422, "invalid-profile", "Invalid profile", NULL,
                        "a profile is a JSON object");
    return;
  }
  const char *did = json_string_value(json_object_get(doc, "id"));
  if (did == NULL) {
    json_object_set_new(doc, "id", json_string(id));
  } else if (strcmp(did, id) != 0) {
    json_decref(doc);
    tg_http_res_problem(req, 422, "profile-id-mismatch", "Profile id mismatch", NULL,
                        "the profile's \"id\" differs from the id in the path");
    return;
  }
  voc_job_submit(req, VOC_PROFILE_PUT, doc, id, tag, im);
}

void tg_route_vocab_profile_delete(struct tg_http_req *req) {
  char id[VID_MAX], tag[128];
  if (tg_route_path_id(req, "bad-id", "id", id, sizeof(id)))
    return;
  enum tg_if_match im;
  if (tg_route_if_match(req, tag, sizeof(tag), &im))
    return;
  voc_job_submit(req, VOC_PROFILE_DELETE, NULL, id, tag, im);
}

/* ---- streaming conversion --------------------------------------------------

   POST /api/v1/vocab/convert?profile=ID[&mode=strict|lenient][&format=auto|ndjson]
   Body: one JSON document, a JSON array of records, or NDJSON (format=ndjson, or a
   Content-Type of application/x-ndjson or application/ndjson, makes a bad line spoil
   only itself). Any size: the body is converted as it arrives and the answer streams
   back (chunked); reading pauses while more than 256 KiB of answer waits for the client.

   Answer: 200, Content-Type application/x-ndjson. The body is the converted data
   exactly as the converter writes it (an array for an array, one record per line
   otherwise), always followed by ONE summary line, which is the last line of the body:
     {"@type":"tsunagu:ConversionSummary","profile":ID,"mode":"strict"|"lenient",
      "complete":true|false,"records":N,"written":N,"skipped":N,"issues":N,
      "errors":[{"record":i,"pointer":"/i/field","target":"to","detail":"why",
                 "skipped":true|false}, ...],      at most 1000, in input order
      "errors_truncated":true|false, ["error":"why the input could not be read on"]}
   A client strips the last line to get the data; a body without a summary line was
   cut short. "complete" is false when the input broke beyond one record (then the
   data before it was converted and "error" says why). Strict mode leaves a record
   with a bad value out ("skipped": true) and goes on; lenient mode keeps the value
   as it was and reports it ("skipped": false). Before any output, an unknown profile
   is 404 (unknown-profile), bad parameters 400, and input broken before the first
   record 422 (invalid-input, with the summary's members). */

struct vconv {
  struct tg_http_req *req;
  struct tg_voc_profile *p;
  struct tg_voc_conv *c;
  char profile[129];
  int lenient;
  int started;
  int werr;
  int midline; /* the output so far does not end with a newline */
  json_t *errors;
  size_t nerrors;
};

static void vconv_free(struct vconv *v) {
  if (v == NULL)
    return;
  tg_voc_conv_free(v->c);
  tg_voc_profile_free(v->p);
  json_decref(v->errors);
  free(v);
}

static void vconv_start(struct vconv *v) {
  if (v->started)
    return;
  v->started = 1;
  tg_http_res_header(v->req, "Cache-Control", "no-store");
  tg_http_res_start(v->req, 200, "application/x-ndjson", -1);
}

static int vconv_write(void *ud, const char *data, size_t len) {
  struct vconv *v = ud;
  vconv_start(v);
  if (len == 0)
    return 0;
  if (tg_http_res_write(v->req, data, len) != 0) {
    v->werr = 1;
    return TG_EIO;
  }
  v->midline = data[len - 1] != '\n';
  return 0;
}

static void vconv_report(void *ud, const struct tg_voc_conv_issue *is) {
  struct vconv *v = ud;
  v->nerrors++;
  if (json_array_size(v->errors) >= CONV_MAX_ERRORS)
    return;
  json_array_append_new(
      v->errors, json_pack("{s:I, s:s, s:s, s:s, s:b}", "record", (json_int_t)is->record, "pointer",
                           is->pointer ? is->pointer : "", "target", is->target ? is->target : "",
                           "detail", is->reason ? is->reason : "", "skipped", is->skipped));
}

static json_t *vconv_summary(struct vconv *v, int rc, const struct tg_err *err) {
  struct tg_voc_conv_stats st;
  tg_voc_conv_stats(v->c, &st);
  json_t *s = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:O, s:b}", "@type",
                        "tsunagu:ConversionSummary", "profile", v->profile, "mode",
                        v->lenient ? "lenient" : "strict", "complete", rc == 0, "records",
                        (json_int_t)st.records, "written", (json_int_t)st.written, "skipped",
                        (json_int_t)st.skipped, "issues", (json_int_t)v->nerrors, "errors",
                        v->errors, "errors_truncated", v->nerrors > json_array_size(v->errors));
  if (s && rc)
    json_object_set_new(s, "error", json_string(tg_err_msg(err, rc)));
  return s;
}

/* Ends the answer: the summary line, or a 422 when nothing was written yet and the
 * input was broken. Frees V. */
static void vconv_done(struct vconv *v, int rc, const struct tg_err *err) {
  struct tg_http_req *req = v->req;
  tg_http_req_set_data(req, NULL);
  json_t *sum = vconv_summary(v, rc, err);
  if (rc && !v->started) {
    json_object_del(sum, "@type");
    tg_http_res_problem(req, 422, "invalid-input", "Input cannot be converted", sum, "%s",
                        tg_err_msg(err, rc));
    vconv_free(v);
    return;
  }
  vconv_start(v);
  char *line = sum ? json_dumps(sum, JSON_COMPACT) : NULL;
  json_decref(sum);
  if (line) {
    if (v->midline) /* input cut inside a record or array: the summary gets its own line */
      tg_http_res_write(req, "\n", 1);
    tg_http_res_write(req, line, strlen(line));
    tg_http_res_write(req, "\n", 1);
  }
  free(line);
  vconv_free(v);
  tg_http_res_end(req);
}

static void vconv_abort(struct tg_http_req *req) {
  vconv_free(tg_http_req_get_data(req));
  tg_http_req_set_data(req, NULL);
}

static void vconv_drained(struct tg_http_req *req) {
  tg_http_req_resume(req);
}

static void vconv_body(struct tg_http_req *req, const char *data, size_t len) {
  struct vconv *v = tg_http_req_get_data(req);
  struct tg_err err;
  if (v == NULL)
    return; /* answered already */
  tg_err_clear(&err);
  int rc = tg_voc_conv_feed(v->c, data, len, &err);
  if (rc) {
    if (v->werr)
      return; /* the connection is going; on_abort frees V */
    vconv_done(v, rc, &err);
    return;
  }
  if (tg_http_res_pending(req) > CONV_HIGH_WATER) {
    /* The client is not keeping up with the answer: stop reading its body. */
    tg_http_req_pause(req);
    tg_http_res_on_drain(req, vconv_drained);
  }
}

static void vconv_end(struct tg_http_req *req) {
  struct vconv *v = tg_http_req_get_data(req);
  struct tg_err err;
  if (v == NULL)
    return;
  tg_err_clear(&err);
  int rc = tg_voc_conv_finish(v->c, &err);
  if (rc && v->werr)
    return;
  vconv_done(v, rc, &err);
}

/* 1 if the Content-Type names NDJSON. */
static int ctype_ndjson(struct tg_http_req *req) {
  const char *ct = tg_http_req_header(req, "Content-Type");
  if (ct == NULL)
    return 0;
  size_t n = strcspn(ct, "; \t");
  return (n == 20 && strncasecmp(ct, "application/x-ndjson", n) == 0) ||
         (n == 18 && strncasecmp(ct, "application/ndjson", n) == 0);
}

void tg_route_vocab_convert(struct tg_http_req *req) {
  static const char *const allowed[] = {"profile", "mode", "format", NULL};
  struct tg_qs q;
  const char *pid, *mode, *format;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_route_query(req, &q, allowed) || (pid = tg_route_query_need(req, &q, "profile")) == NULL)
    return;
  mode = tg_qs_get(&q, "mode");
  format = tg_qs_get(&q, "format");
  if (mode && strcmp(mode, "strict") != 0 && strcmp(mode, "lenient") != 0) {
    tg_route_bad_param(req, "mode", "must be strict or lenient");
    return;
  }
  if (format && strcmp(format, "auto") != 0 && strcmp(format, "ndjson") != 0) {
    tg_route_bad_param(req, "format", "must be auto or ndjson");
    return;
  }
  if (strlen(pid) > 128) {
    tg_route_bad_param(req, "profile", "too long");
    return;
  }
  int fmt = (format ? strcmp(format, "ndjson") == 0 : ctype_ndjson(req)) ? TG_VOC_FMT_NDJSON
                                                                         : TG_VOC_FMT_AUTO;
  struct vconv *v = calloc(1, sizeof(*v));
  if (v == NULL || (v->errors = json_array()) == NULL) {
    free(v);
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return;
  }
  v->req = req;
  snprintf(v->profile, sizeof(v->profile), "%s", pid);
  struct tg_voc_store *s = voc_of(req);
  json_t *doc = NULL;
  int rc = tg_voc_profile_get(s, pid, &doc, NULL, NULL, &err);
  if (rc == 0) {
    if (mode)
      json_object_set_new(doc, "mode", json_string(mode));
    const char *m = json_string_value(json_object_get(doc, "mode"));
    v->lenient = m && strcmp(m, "lenient") == 0;
    rc = tg_voc_profile_new(doc, &v->p, &err);
    if (rc == 0)
      rc = tg_voc_store_bind_profile(s, v->p, &err);
  }
  json_decref(doc);
  if (rc == 0)
    rc = tg_voc_conv_new(v->p, fmt, 0, vconv_write, vconv_report, v, &v->c, &err);
  if (rc) {
    vconv_free(v);
    store_fail(req, rc, &err, "unknown-profile");
    return;
  }
  tg_http_req_set_data(req, v);
  tg_http_req_on_abort(req, vconv_abort);
  tg_http_req_on_body(req, vconv_body, vconv_end);
}
