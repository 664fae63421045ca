/* tg_routes_prov: the provenance log over HTTP: the signed tree head, pages
 * of entries, inclusion and consistency proofs (docs/provenance.md). The log
 * lives on the writer thread (tg_provlog.h), so every answer is a writer
 * job: its reads see exactly the durable log, between two batches. */
#include "tg_auth.h"
#include "tg_err.h"
#include "tg_http_server.h"
#include "tg_node.h"
#include "tg_prov.h"
#include "tg_provlog.h"
#include "tg_qs.h"
#include "tg_routes.h"
#include "tg_util.h"
#include "tg_writer.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000 /* entries in one answer */

enum prov_op { OP_STH, OP_ENTRIES, OP_INCLUSION, OP_CONSISTENCY };

struct prov_job {
  struct tg_route_job base; /* first */
  enum prov_op op;
  uint64_t a, b;            /* start/end, index/tree_size, first/second */
  int a_set, b_set;
  int all;                  /* the caller sees every entry (admin) */
  int prov_o;               /* entries as PROV-O JSON-LD (?format=prov) */
  char peer[64];            /* else: the calling node, whose own entries it sees */
  /* results, filled on the writer thread */
  json_t *out;              /* the answer (owned) */
  const char *bad;          /* a parameter at fault, or NULL */
  char detail[160];
  struct tg_err err;
};

static void prov_job_free(struct tg_route_job *b) {
  struct prov_job *j = (struct prov_job *)b;
  json_decref(j->out);
  free(j);
}

static json_t *b64(const uint8_t *p, size_t n) {
  char s[4 * ((TG_PROV_HASH + 2) / 3) + 1];
  if (n > TG_PROV_HASH)
    return NULL;
  tg_prov_b64_encode(p, n, s);
  return json_string(s);
}

static json_t *hex(const uint8_t *p, size_t n) {
  char s[2 * TG_PROV_HASH + 1];
  if (n > TG_PROV_HASH)
    return NULL;
  for (size_t i = 0; i < n; i++)
    snprintf(s + 2 * i, 3, "%02x", p[i]);
  s[2 * n] = '\0';
  return json_string(s);
}

/* A bad parameter, answered with 400 naming it. */
static int bad(struct prov_job *j, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct prov_job *j, const char *param, const char *fmt, ...) {
  va_list ap;
  j->bad = param;
  va_start(ap, fmt);
  vsnprintf(j->detail, sizeof(j->detail), fmt, ap);
  va_end(ap);
  return TG_EINVAL;
}

static json_t *sth_json(const struct tg_prov_sth *sth) {
  struct tg_prov_sth_text t;
  tg_prov_sth_to_text(sth, &t);
  return json_pack("{s:s, s:I, s:I, s:s, s:s}", "node", sth->node, "tree_size",
                   (json_int_t)sth->tree_size, "timestamp", (json_int_t)sth->timestamp_ms,
                   "root_hash", t.root_b64, "signature", t.sig_b64);
}

/* The tree head, with the node's certificate to check it with (a verifier
 * checks that it chains to the federation CA and names the node). */
static int run_sth(struct tg_writer_ctx *ctx, struct prov_job *j, struct tg_err *err) {
  struct tg_prov_sth sth;
  char path[4200], *pem = NULL;
  int rc = tg_provlog_sth(ctx->prov, &sth, err);
  if (rc == 0 && (j->out = sth_json(&sth)) == NULL)
    rc = TG_ENOMEM;
  if (rc == 0 && tg_node_path(path, sizeof(path), tg_provlog_dir(ctx->prov), TG_NODE_CERT) == 0 &&
      tg_file_read(path, 64 * 1024, &pem, NULL, NULL) == 0)
    json_object_set_new(j->out, "certificate", json_string(pem));
  free(pem);
  return rc;
}

/* One entry as JSON: its fields, its stored encoding (base64) and leaf hash. */
static json_t *entry_json(const struct tg_prov_entry *e, const uint8_t *body, size_t len) {
  char t[TG_PROV_TIME_TEXT];
  tg_prov_time_text(e->time_us, t);
  json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "index", (json_int_t)e->index, "time", t,
                        "kind", tg_prov_kind_name(e->kind), "outcome",
                        tg_prov_outcome_name(e->outcome), "bytes", (json_int_t)e->bytes);
  if (o == NULL)
    return NULL;
  const char *const names[] = {"dataset", "requester_node", "requester_subject",
                               "owner_node", "purpose", "rule"};
  const char *const vals[] = {e->dataset, e->requester_node, e->requester_subject,
                              e->owner_node, e->purpose, e->rule};
  for (int i = 0; i < 6; i++)
    if (vals[i] != NULL)
      json_object_set_new(o, names[i], json_string(vals[i]));
  if (e->has_payload_hash)
    json_object_set_new(o, "payload_sha256", hex(e->payload_sha256, TG_PROV_HASH));
  if (e->has_ref) {
    char ref[TG_PROV_REF_TEXT];
    if (tg_prov_ref_format(&e->ref, ref) == 0)
      json_object_set_new(o, "ref", json_string(ref));
  }
  size_t cap = 4 * ((len + 2) / 3) + 1;
  char *enc = malloc(cap);
  if (enc != NULL) {
    tg_prov_b64_encode(body, len, enc);
    json_object_set_new(o, "encoding", json_string(enc));
    free(enc);
  }
  return o;
}

/* ---- PROV-O ------------------------------------------------------------------ */

#define PROV_NS "http://www.w3.org/ns/prov#"
#define NODE_URN "urn:tsunagu:node:"

static json_t *dt(uint64_t time_us) {
  char t[TG_PROV_TIME_TEXT];
  tg_prov_time_text(time_us, t);
  return json_pack("{s:s, s:s}", "@value", t, "@type", "xsd:dateTime");
}

/* Adds node ID (or NODE's SUBJECT, acting on the node's behalf) as an agent
 * to GRAPH once (SEEN holds the ids added) and returns its @id reference. */
static json_t *agent(json_t *graph, json_t *seen, const char *node, const char *subject) {
  char id[TG_PROV_MAX_STR + 128];
  if (subject != NULL)
    snprintf(id, sizeof(id), "urn:tsunagu:subject:%s:%s", node ? node : "-", subject);
  else
    snprintf(id, sizeof(id), NODE_URN "%s", node);
  if (json_object_get(seen, id) == NULL) {
    json_t *a = json_pack("{s:s, s:s}", "@id", id, "@type", "prov:Agent");
    if (subject != NULL) {
      json_object_set_new(a, "tsunagu:subject", json_string(subject));
      if (node != NULL) {
        char on[128];
        snprintf(on, sizeof(on), NODE_URN "%s", node);
        json_object_set_new(a, "prov:actedOnBehalfOf", json_pack("{s:s}", "@id", on));
      }
    } else {
      json_object_set_new(a, "@type", json_pack("[s, s]", "prov:Agent", "prov:SoftwareAgent"));
    }
    json_array_append_new(graph, a);
    json_object_set_new(seen, id, json_true());
  }
  return json_pack("{s:s}", "@id", id);
}

/* Entry E of node SELF as a prov:Activity (and its agents and entities). */
static void entry_prov(json_t *graph, json_t *seen, const char *self,
                       const struct tg_prov_entry *e) {
  char id[128];
  snprintf(id, sizeof(id), "urn:tsunagu:prov:%s:%llu", self, (unsigned long long)e->index);
  json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I}", "@id", id, "@type",
                        "prov:Activity", "tsunagu:kind", tg_prov_kind_name(e->kind),
                        "tsunagu:outcome", tg_prov_outcome_name(e->outcome), "prov:startedAtTime",
                        dt(e->time_us), "prov:endedAtTime", dt(e->time_us), "tsunagu:index",
                        (json_int_t)e->index);
  if (a == NULL)
    return;
  json_t *with = json_array();
  json_array_append_new(with, agent(graph, seen, self, NULL));
  if (e->requester_node != NULL && strcmp(e->requester_node, self) != 0)
    json_array_append_new(with, agent(graph, seen, e->requester_node, NULL));
  if (e->requester_subject != NULL)
    json_array_append_new(with, agent(graph, seen, e->requester_node, e->requester_subject));
  json_object_set_new(a, "prov:wasAssociatedWith", with);
  if (e->dataset != NULL) {
    if (json_object_get(seen, e->dataset) == NULL) {
      json_array_append_new(graph,
                            json_pack("{s:s, s:s}", "@id", e->dataset, "@type", "prov:Entity"));
      json_object_set_new(seen, e->dataset, json_true());
    }
    json_object_set_new(a, "prov:used", json_pack("{s:s}", "@id", e->dataset));
  }
  if (e->has_payload_hash) {
    char h[2 * TG_PROV_HASH + 1], pid[100];
    for (size_t i = 0; i < TG_PROV_HASH; i++)
      snprintf(h + 2 * i, 3, "%02x", e->payload_sha256[i]);
    snprintf(pid, sizeof(pid), "urn:sha256:%s", h);
    json_t *p = json_pack("{s:s, s:s, s:I, s:s}", "@id", pid, "@type", "prov:Entity",
                          "tsunagu:bytes", (json_int_t)e->bytes, "tsunagu:sha256", h);
    if (p != NULL && e->dataset != NULL)
      json_object_set_new(p, "prov:wasDerivedFrom", json_pack("{s:s}", "@id", e->dataset));
    if (p != NULL && !json_object_get(seen, pid)) {
      json_array_append_new(graph, p);
      json_object_set_new(seen, pid, json_true());
    } else {
      json_decref(p);
    }
    /* The owner's answer generated the payload; anything else used it. */
    if (e->kind == TG_PROV_DATA_SERVED || e->dataset == NULL)
      json_object_set_new(a, e->kind == TG_PROV_DATA_SERVED ? "prov:generated" : "prov:used",
                          json_pack("{s:s}", "@id", pid));
    else
      json_object_set_new(a, "prov:used",
                          json_pack("[{s:s}, {s:s}]", "@id", e->dataset, "@id", pid));
  }
  if (e->has_ref) {
    char rid[128];
    snprintf(rid, sizeof(rid), "urn:tsunagu:prov:%s:%llu", e->ref.node,
             (unsigned long long)e->ref.index);
    json_object_set_new(a, "prov:wasInformedBy", json_pack("{s:s}", "@id", rid));
  }
  if (e->rule != NULL)
    json_object_set_new(a, "tsunagu:rule", json_string(e->rule));
  if (e->purpose != NULL)
    json_object_set_new(a, "tsunagu:purpose", json_string(e->purpose));
  json_array_append_new(graph, a);
}

struct read_ctx {
  struct prov_job *j;
  const struct tg_prov_tree *tree;
  json_t *leaves, *entries;
  json_t *graph, *seen; /* PROV-O */
  const char *self;
};

static int read_one(void *arg, uint64_t index, const uint8_t *body, size_t len) {
  struct read_ctx *c = arg;
  const uint8_t *leaf = tg_prov_tree_leaf(c->tree, index);
  json_array_append_new(c->leaves, leaf ? b64(leaf, TG_PROV_HASH) : json_null());
  struct tg_prov_entry *e = NULL;
  if (tg_prov_entry_decode(body, len, &e, NULL) != 0)
    return 0; /* the log checked it at open: cannot happen */
  int mine = e->requester_node != NULL && strcmp(e->requester_node, c->j->peer) == 0;
  if ((c->j->all || (c->j->peer[0] && mine)) && c->graph != NULL) {
    entry_prov(c->graph, c->seen, c->self, e);
  } else if (c->j->all || (c->j->peer[0] && mine)) {
    json_t *o = entry_json(e, body, len);
    if (o != NULL)
      json_array_append_new(c->entries, o);
  }
  tg_prov_entry_free(e);
  return 0;
}

/* The page as PROV-O JSON-LD: a @graph of activities, agents, entities. */
static int run_prov_o(struct tg_writer_ctx *ctx, struct prov_job *j, struct read_ctx *c,
                      uint64_t start, uint64_t end, uint64_t size, struct tg_err *err) {
  json_decref(c->leaves);
  json_decref(c->entries);
  c->leaves = json_array(); /* read_one fills it; dropped below */
  c->graph = json_array();
  c->seen = json_object();
  j->out = json_pack("{s:{s:s, s:s, s:s}, s:I, s:I, s:I, s:O}", "@context", "prov", PROV_NS,
                     "xsd", "http://www.w3.org/2001/XMLSchema#", "tsunagu", "urn:tsunagu:vocab:",
                     "tsunagu:treeSize", (json_int_t)size, "tsunagu:start", (json_int_t)start,
                     "tsunagu:end", (json_int_t)end, "@graph", c->graph);
  int rc = j->out == NULL ? tg_err_set(err, TG_ENOMEM, "out of memory")
           : start == end ? 0
                          : tg_prov_log_read(tg_provlog_log(ctx->prov), start, end, read_one, c,
                                             err);
  json_decref(c->graph);
  json_decref(c->seen);
  json_decref(c->leaves);
  return rc;
}

static int run_entries(struct tg_writer_ctx *ctx, struct prov_job *j, struct tg_err *err) {
  struct tg_prov_log *log = tg_provlog_log(ctx->prov);
  if (log == NULL)
    return tg_err_set(err, TG_EPERM, "the provenance log is not open");
  uint64_t size = tg_prov_log_size(log);
  uint64_t start = j->a_set ? j->a : 0;
  if (start > size)
    return bad(j, "start", "past the end of the log (%llu entries)", (unsigned long long)size);
  uint64_t end = j->b_set ? j->b : (size - start > PAGE_DEFAULT ? start + PAGE_DEFAULT : size);
  if (end < start)
    return bad(j, "end", "before start (%llu)", (unsigned long long)start);
  if (end > size)
    return bad(j, "end", "past the end of the log (%llu entries)", (unsigned long long)size);
  if (end - start > PAGE_MAX)
    return bad(j, "end", "a page holds at most %d entries", PAGE_MAX);
  struct read_ctx c = {j, tg_prov_log_tree(log), json_array(), json_array(), NULL, NULL,
                       tg_provlog_node(ctx->prov)};
  if (j->prov_o)
    return run_prov_o(ctx, j, &c, start, end, size, err);
  j->out = json_pack("{s:I, s:I, s:I, s:o, s:o}", "tree_size", (json_int_t)size, "start",
                     (json_int_t)start, "end", (json_int_t)end, "leaves", c.leaves, "entries",
                     c.entries);
  if (j->out == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  if (end < size)
    json_object_set_new(j->out, "next", json_integer((json_int_t)end));
  return start == end ? 0 : tg_prov_log_read(log, start, end, read_one, &c, err);
}

static json_t *path_json(const struct tg_prov_proof *p) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < p->n; i++)
    json_array_append_new(a, b64(p->path[i], TG_PROV_HASH));
  return a;
}

static int run_inclusion(struct tg_writer_ctx *ctx, struct prov_job *j, struct tg_err *err) {
  struct tg_prov_log *log = tg_provlog_log(ctx->prov);
  if (log == NULL)
    return tg_err_set(err, TG_EPERM, "the provenance log is not open");
  const struct tg_prov_tree *t = tg_prov_log_tree(log);
  uint64_t size = tg_prov_tree_size(t);
  if (j->b == 0 || j->b > size)
    return bad(j, "tree_size", "must be from 1 to the log's size, %llu", (unsigned long long)size);
  if (j->a >= j->b)
    return bad(j, "index", "must be below tree_size (%llu)", (unsigned long long)j->b);
  struct tg_prov_proof p;
  uint8_t root[TG_PROV_HASH];
  int rc = tg_prov_tree_inclusion(t, j->a, j->b, &p);
  if (rc == 0)
    rc = tg_prov_tree_root(t, j->b, root);
  if (rc != 0)
    return tg_err_set(err, rc, "cannot make the proof");
  j->out = json_pack("{s:I, s:I, s:o, s:o, s:o}", "index", (json_int_t)j->a, "tree_size",
                     (json_int_t)j->b, "leaf", b64(tg_prov_tree_leaf(t, j->a), TG_PROV_HASH),
                     "root", b64(root, TG_PROV_HASH), "path", path_json(&p));
  return j->out ? 0 : TG_ENOMEM;
}

static int run_consistency(struct tg_writer_ctx *ctx, struct prov_job *j, struct tg_err *err) {
  struct tg_prov_log *log = tg_provlog_log(ctx->prov);
  if (log == NULL)
    return tg_err_set(err, TG_EPERM, "the provenance log is not open");
  const struct tg_prov_tree *t = tg_prov_log_tree(log);
  uint64_t size = tg_prov_tree_size(t);
  if (j->b == 0 || j->b > size)
    return bad(j, "second", "must be from 1 to the log's size, %llu", (unsigned long long)size);
  if (j->a == 0 || j->a > j->b)
    return bad(j, "first", "must be from 1 to second (%llu)", (unsigned long long)j->b);
  struct tg_prov_proof p;
  uint8_t r1[TG_PROV_HASH], r2[TG_PROV_HASH];
  int rc = tg_prov_tree_consistency(t, j->a, j->b, &p);
  if (rc == 0)
    rc = tg_prov_tree_root(t, j->a, r1);
  if (rc == 0)
    rc = tg_prov_tree_root(t, j->b, r2);
  if (rc != 0)
    return tg_err_set(err, rc, "cannot make the proof");
  j->out = json_pack("{s:I, s:I, s:o, s:o, s:o}", "first", (json_int_t)j->a, "second",
                     (json_int_t)j->b, "first_root", b64(r1, TG_PROV_HASH), "second_root",
                     b64(r2, TG_PROV_HASH), "path", path_json(&p));
  return j->out ? 0 : TG_ENOMEM;
}

/* On the writer thread. A parameter out of range is not the writer's
 * failure: it returns 0 and the answer says 400. The log is read under its
 * lock: loop threads append the data path's entries meanwhile. */
static int prov_job_run(struct tg_writer_ctx *ctx, struct tg_route_job *b, struct tg_err *err) {
  struct prov_job *j = (struct prov_job *)b;
  int rc;
  if (j->op == OP_STH) {
    rc = run_sth(ctx, j, &j->err); /* tg_provlog_sth locks */
  } else {
    tg_provlog_lock(ctx->prov);
    if (j->op == OP_ENTRIES)
      rc = run_entries(ctx, j, &j->err);
    else if (j->op == OP_INCLUSION)
      rc = run_inclusion(ctx, j, &j->err);
    else
      rc = run_consistency(ctx, j, &j->err);
    tg_provlog_unlock(ctx->prov);
  }
  if (rc == TG_EINVAL && j->bad != NULL)
    return 0;
  if (rc != 0 && err != NULL)
    *err = j->err;
  return rc;
}

static void prov_job_answer(struct tg_route_job *b, int rc, const struct tg_err *err) {
  struct prov_job *j = (struct prov_job *)b;
  struct tg_http_req *req = j->base.req;
  if (rc == 0 && j->bad != NULL) {
    tg_route_bad_param(req, j->bad, j->detail);
  } else if (rc == 0) {
    json_t *o = j->out;
    j->out = NULL;
    tg_http_res_header(req, "Cache-Control", "no-store");
    tg_http_res_json(req, 200, o, j->prov_o ? "application/ld+json" : NULL);
  } else if (rc == TG_EPERM) {
    tg_http_res_problem(req, 503, "provenance-unavailable", "Provenance log unavailable", NULL,
                        "%s", tg_err_msg(err, rc));
  } else if (rc == TG_ENOENT) {
    tg_http_res_problem(req, 404, "no-tree-head", "No tree head", NULL,
                        "this node has not signed a tree head yet");
  } else {
    tg_http_res_problem(req, 503, "unavailable", "Provenance log unavailable", NULL, "%s",
                        tg_err_msg(err, rc));
  }
}

static struct prov_job *job_new(struct tg_http_req *req, enum prov_op op) {
  struct prov_job *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return NULL;
  }
  j->op = op;
  j->base.run = prov_job_run;
  j->base.answer = prov_job_answer;
  j->base.free = prov_job_free;
  tg_err_clear(&j->err);
  return j;
}

/* Reads the unsigned parameter NAME: 0 (*SET says whether it was there), or
 * TG_ROUTE_ANSWERED after a 400. */
static int param(struct tg_http_req *req, const struct tg_qs *q, const char *name, int need,
                 uint64_t *out, int *set) {
  const char *v = tg_qs_get(q, name);
  *set = v != NULL;
  *out = 0;
  if (v == NULL) {
    if (need) {
      tg_route_bad_param(req, name, "required");
      return TG_ROUTE_ANSWERED;
    }
    return 0;
  }
  if (tg_parse_u64(v, (uint64_t)INT64_MAX, out) != 0) {
    tg_route_bad_param(req, name, "must be an unsigned decimal integer");
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

static void two_params(struct tg_http_req *req, enum prov_op op, const char *a, const char *b,
                       int need) {
  struct tg_qs q;
  const char *const allowed[] = {a, b, op == OP_ENTRIES ? "format" : NULL, NULL};
  uint64_t va, vb;
  int sa, sb;
  if (tg_route_query(req, &q, allowed) || param(req, &q, a, need, &va, &sa) ||
      param(req, &q, b, need, &vb, &sb))
    return;
  struct prov_job *j = job_new(req, op);
  if (j == NULL)
    return;
  j->a = va;
  j->b = vb;
  j->a_set = sa;
  j->b_set = sb;
  const char *fmt = op == OP_ENTRIES ? tg_qs_get(&q, "format") : NULL;
  if (fmt != NULL && strcmp(fmt, "prov") != 0 && strcmp(fmt, "json") != 0) {
    prov_job_free(&j->base);
    tg_route_bad_param(req, "format", "json (the default) or prov (PROV-O JSON-LD)");
    return;
  }
  j->prov_o = fmt != NULL && strcmp(fmt, "prov") == 0;
  if (op == OP_ENTRIES) {
    const char *peer = tg_http_req_peer(req);
    j->all = tg_auth_has(req, TG_SCOPE_ADMIN);
    snprintf(j->peer, sizeof(j->peer), "%s", peer ? peer : "");
  }
  tg_route_job_submit(req, &j->base, "Provenance log unavailable");
}

void tg_route_prov_sth(struct tg_http_req *req) {
  struct tg_qs q;
  const char *const allowed[] = {NULL};
  if (tg_route_query(req, &q, allowed))
    return;
  struct prov_job *j = job_new(req, OP_STH);
  if (j != NULL)
    tg_route_job_submit(req, &j->base, "Provenance log unavailable");
}

void tg_route_prov_entries(struct tg_http_req *req) {
  two_params(req, OP_ENTRIES, "start", "end", 0);
}

void tg_route_prov_inclusion(struct tg_http_req *req) {
  two_params(req, OP_INCLUSION, "index", "tree_size", 1);
}

void tg_route_prov_consistency(struct tg_http_req *req) {
  two_params(req, OP_CONSISTENCY, "first", "second", 1);
}
