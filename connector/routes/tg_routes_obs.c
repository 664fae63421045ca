/* tg_routes_obs: accumulated mode: POST /api/v1/datasets/{id}/data streams
 * records into the node's store through the writer thread (acknowledged once
 * durable); GET answers from the store (time range, latest per entity, cursor
 * paging); worker 0's timer enforces [retention].
 *
 * Ingest answer: 201 (some stored) or 200 (none), application/json:
 *   {"stored": n, "refused": m, "errors": [{"pointer", "detail"}] (at most 100),
 *    "errors_omitted": k, "first_seq": s|null, "last_seq": s|null}
 * Pointers: "/i/field" for array elements and NDJSON records (i counts
 * records from 0; blank NDJSON lines are not records), "/field" for a body
 * that is one object. A refused record is not stored; the others are.
 * A JSON body (application/json) that is not valid JSON is a 400 bad-json:
 * records are committed in chunks of TG_OBS_CHUNK_BYTES / _RECORDS, so for
 * a body within one chunk nothing is stored; for a bigger one the chunks
 * completed before the error stay stored and the problem's "stored",
 * "first_seq" and "last_seq" say exactly which. NDJSON lines are independent:
 * a line that is not JSON is one refused record.
 * Body spans are split and checked on libuv's thread pool (reading paused
 * meanwhile) so a loop serving reads never waits behind an ingest's parsing. */
#include "cat_obs.h"
#include "tg_auth.h"
#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_prov.h"
#include "tg_provlog.h"
#include "tg_qs.h"
#include "tg_routes.h"
#include "tg_routes_obs.h"
#include "tg_settings.h"
#include "tg_util.h"
#include "tg_worker.h"
#include "tg_writer.h"

#include <errno.h>
#include <openssl/evp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TG_OBS_CHUNK_BYTES (8u * 1024u * 1024u) /* records per writer job, in bytes */
#define TG_OBS_CHUNK_RECORDS 100000u
#define TG_OBS_MAX_ERRORS 100
#define TG_OBS_HIGH_WATER (256u * 1024u) /* pending output before a read waits */
#define TG_OBS_ID_MAX 512

/* 1 if ID is urn:tsunagu:NODE:dataset:<local>; *LOCAL points into ID. */
static int owned_here(const char *id, const char *node, const char **local) {
  char pre[128];
  int n = snprintf(pre, sizeof(pre), "urn:tsunagu:%s:dataset:", node);
  if (n <= 0 || (size_t)n >= sizeof(pre) || strncmp(id, pre, (size_t)n) != 0 || id[n] == '\0')
    return 0;
  *local = id + n;
  return 1;
}

/* ---- ingest ---------------------------------------------------------------- */

struct rec_at {
  size_t ent, body, len; /* offsets into the chunk's arena */
  int64_t ms;
};

/* Records on their way to the writer. */
struct chunk {
  struct ingest *in;
  struct tg_buf arena; /* entity NUL, body, entity NUL, body ... */
  struct rec_at *recs;
  size_t n, cap;
  int64_t first, last; /* set by the job */
  char dataset[TG_OBS_ID_MAX];
};

struct ingest {
  struct tg_http_req *req; /* NULL once the connection died */
  struct tg_worker *w;
  char dataset[TG_OBS_ID_MAX];
  enum tg_cat_obs_model model;
  int fmt; /* enum tg_cat_obs_fmt */
  struct tg_cat_obs_split *sp;
  struct chunk *cur;
  int inflight;          /* a chunk is with the writer */
  int parsing;           /* body bytes are being split and checked on the thread pool */
  int paused, ended, finished, answered;
  uv_work_t work;        /* the parse job; WORK_RC/WERR its outcome */
  int work_rc;
  struct tg_err werr;
  struct tg_buf span;    /* the bytes being parsed (owned by the job while PARSING) */
  struct tg_buf next;    /* bytes that arrived since (reading is paused meanwhile) */
  int fail;              /* 0, or the code that ends the ingest */
  int fail_status;
  struct tg_err ferr;
  uint64_t stored, refused, omitted;
  int64_t first_seq, last_seq;
  json_t *errors;
  EVP_MD_CTX *sha;       /* SHA-256 of the body as it arrived, for the provenance entry */
  uint64_t bytes_in;
};

static void chunk_free(struct chunk *c) {
  if (c == NULL)
    return;
  tg_buf_close(&c->arena);
  free(c->recs);
  free(c);
}

static struct chunk *chunk_new(struct ingest *in) {
  struct chunk *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->in = in;
  tg_buf_init(&c->arena);
  snprintf(c->dataset, sizeof(c->dataset), "%s", in->dataset);
  return c;
}

static int chunk_full(const struct chunk *c) {
  return c->arena.len >= TG_OBS_CHUNK_BYTES || c->n >= TG_OBS_CHUNK_RECORDS;
}

static int chunk_add(struct chunk *c, const char *entity, int64_t ms, const char *body,
                     size_t len) {
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 256;
    struct rec_at *r = realloc(c->recs, nc * sizeof(*r));
    if (r == NULL)
      return TG_ENOMEM;
    c->recs = r;
    c->cap = nc;
  }
  struct rec_at *r = &c->recs[c->n];
  r->ent = c->arena.len;
  if (tg_buf_append(&c->arena, entity, strlen(entity) + 1))
    return TG_ENOMEM;
  r->body = c->arena.len;
  r->len = len;
  r->ms = ms;
  if (tg_buf_append(&c->arena, body, len) || tg_buf_append(&c->arena, "", 1))
    return TG_ENOMEM;
  c->n++;
  return 0;
}

/* On the writer thread. */
static int chunk_job(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err) {
  struct chunk *c = arg;
  struct tg_cat_obs_rec *recs = malloc(c->n * sizeof(*recs));
  if (recs == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->n; i++) {
    recs[i].entity = c->arena.data + c->recs[i].ent;
    recs[i].observed_ms = c->recs[i].ms;
    recs[i].body = c->arena.data + c->recs[i].body;
    recs[i].len = c->recs[i].len;
  }
  int rc = tg_cat_obs_insert(ctx->obs, c->dataset, recs, c->n, &c->first, &c->last, err);
  free(recs);
  return rc;
}

static void ingest_free(struct ingest *in) {
  tg_buf_close(&in->span);
  tg_buf_close(&in->next);
  tg_cat_obs_split_free(in->sp);
  chunk_free(in->cur);
  json_decref(in->errors);
  EVP_MD_CTX_free(in->sha);
  free(in);
}

static void ingest_error(struct ingest *in, const char *pointer, const char *detail) {
  if (json_array_size(in->errors) >= TG_OBS_MAX_ERRORS) {
    in->omitted++;
    return;
  }
  json_array_append_new(in->errors, json_pack("{s:s, s:s}", "pointer", pointer, "detail", detail));
}

static json_t *seq_json(const struct ingest *in, int64_t v) {
  return in->stored ? json_integer(v) : json_null();
}

static json_t *ingest_summary(struct ingest *in) {
  json_t *s = json_pack("{s:I, s:I, s:O, s:I, s:o, s:o}", "stored", (json_int_t)in->stored,
                        "refused", (json_int_t)in->refused, "errors", in->errors, "errors_omitted",
                        (json_int_t)in->omitted, "first_seq", seq_json(in, in->first_seq),
                        "last_seq", seq_json(in, in->last_seq));
  return s;
}

/* The provenance entry of an ingest that stored records: the body's bytes
 * and hash as they arrived, who sent them. */
static void ingest_logged(struct ingest *in) {
  struct tg_prov_entry e;
  unsigned int n = 0;
  const char *peer = tg_http_req_peer(in->req);
  const char *subject = tg_http_req_subject(in->req);
  memset(&e, 0, sizeof(e));
  e.kind = TG_PROV_DATA_INGESTED;
  e.outcome = TG_PROV_COMPLETE;
  e.dataset = in->dataset;
  e.requester_node = peer;
  e.requester_subject = subject && *subject ? subject : NULL;
  e.bytes = in->bytes_in;
  e.has_payload_hash =
      in->sha != NULL && EVP_DigestFinal_ex(in->sha, e.payload_sha256, &n) == 1 && n == 32;
  tg_provlog_note(in->w->wport, &e);
}

/* Answers once nothing is in flight: the summary, or the failure. */
static void ingest_answer(struct ingest *in) {
  struct tg_http_req *req = in->req;
  in->answered = 1;
  tg_http_req_set_data(req, NULL);
  json_t *sum = ingest_summary(in);
  if (in->fail) {
    const char *slug = in->fail_status == 400 ? "bad-json" : "unavailable";
    const char *title = in->fail_status == 400 ? "Bad JSON" : "Store unavailable";
    tg_http_res_problem(req, in->fail_status, slug, title, sum, "%s",
                        tg_err_msg(&in->ferr, in->fail));
  } else if (sum == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
  } else {
    if (in->stored > 0)
      ingest_logged(in);
    tg_http_res_header(req, "Cache-Control", "no-store");
    tg_http_res_json(req, in->stored ? 201 : 200, sum, "application/json");
  }
  ingest_free(in);
}

static void ingest_fail(struct ingest *in, int status, int rc, const struct tg_err *err) {
  if (in->fail)
    return;
  in->fail = rc;
  in->fail_status = status;
  if (err)
    in->ferr = *err;
  else
    tg_err_set(&in->ferr, rc, "%s", tg_strerror(rc));
}

static void ingest_pump(struct ingest *in);

static void chunk_done(void *arg, int rc, const struct tg_err *err) {
  struct chunk *c = arg;
  struct ingest *in = c->in;
  in->inflight = 0;
  if (rc == 0) {
    if (in->stored == 0)
      in->first_seq = c->first;
    in->last_seq = c->last;
    in->stored += c->n;
  } else if (!in->fail) {
    in->fail = rc;
    in->fail_status = 503;
    in->ferr = *err;
  }
  chunk_free(c);
  if (in->req == NULL) {
    if (!in->parsing)
      ingest_free(in);
    return;
  }
  ingest_pump(in);
}

/* Reading pauses while bytes are being parsed or a full chunk waits for the
 * one being written (bounded memory), and resumes when neither holds. */
static void ingest_flow(struct ingest *in) {
  int hold = in->parsing || (in->inflight && in->cur && chunk_full(in->cur));
  if (hold && !in->paused) {
    in->paused = 1;
    tg_http_req_pause(in->req);
  } else if (!hold && in->paused) {
    in->paused = 0;
    tg_http_req_resume(in->req);
  }
}

/* Sends the current chunk when it is full or the body ended; answers once
 * the body ended (or failed) and nothing is in flight. Loop thread, never
 * while parsing (the pool thread owns the records then). */
static void parse_start(struct ingest *in);

static void ingest_pump(struct ingest *in) {
  struct tg_writer *wr = tg_writer_get();
  if (in->parsing) {
    ingest_flow(in); /* parse_done pumps */
    return;
  }
  if (!in->fail && !in->inflight && in->cur && in->cur->n > 0 &&
      (in->finished || chunk_full(in->cur))) {
    struct chunk *c = in->cur;
    in->cur = NULL;
    int rc = tg_writer_submit(wr, in->w->wport, chunk_job, chunk_done, c);
    if (rc) {
      chunk_free(c);
      ingest_fail(in, 503, rc, NULL);
    } else {
      in->inflight = 1;
    }
  }
  if (!in->fail && in->next.len > 0 && !(in->inflight && in->cur && chunk_full(in->cur))) {
    parse_start(in); /* bytes held back while a full chunk waited */
    if (in->parsing) {
      ingest_flow(in);
      return;
    }
  }
  if (in->fail || in->finished) {
    /* on failure the current chunk's records are dropped: the body is refused */
    if (!in->inflight && !in->answered)
      ingest_answer(in); /* frees IN */
    return;
  }
  ingest_flow(in);
}

/* One record from the splitter. */
static int ingest_record(void *ud, size_t index, const char *rec, size_t len, int too_big,
                         int top) {
  struct ingest *in = ud;
  char prefix[32] = "";
  if (!top)
    snprintf(prefix, sizeof(prefix), "/%zu", index);
  if (too_big) {
    in->refused++;
    ingest_error(in, prefix, "the record is larger than 1 MiB");
    return 0;
  }
  json_error_t je;
  json_t *j = json_loadb(rec, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (j == NULL) {
    char d[300];
    snprintf(d, sizeof(d), "not JSON: %s", je.text);
    if (in->fmt == TG_OBS_FMT_JSON) {
      /* the body is not JSON: refused whole (see the top of the file) */
      struct tg_err e;
      tg_err_set(&e, TG_EINVAL, "the body is not valid JSON: record %s: %s", prefix, je.text);
      ingest_fail(in, 400, TG_EINVAL, &e);
      return TG_EINVAL;
    }
    in->refused++;
    ingest_error(in, prefix, d);
    return 0;
  }
  json_t *errs = json_array();
  const char *entity = NULL;
  int64_t ms = 0;
  int bad = errs == NULL || tg_cat_obs_check(j, in->model, prefix, errs, &entity, &ms) > 0;
  if (bad) {
    in->refused++;
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e)
      ingest_error(in, json_string_value(json_object_get(e, "pointer")),
                   json_string_value(json_object_get(e, "detail")));
    json_decref(errs);
    json_decref(j);
    return 0;
  }
  json_decref(errs);
  int rc;
  while (len > 0 && (rec[0] == ' ' || rec[0] == '\t'))
    rec++, len--;
  if (memchr(rec, '\n', len) || memchr(rec, '\r', len)) {
    /* a record spanning lines is stored compact, one line (NDJSON reads) */
    char *one = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    rc = one ? chunk_add(in->cur, entity, ms, one, strlen(one)) : TG_ENOMEM;
    free(one);
  } else {
    rc = chunk_add(in->cur, entity, ms, rec, len);
  }
  json_decref(j);
  return rc;
}

/* On the thread pool: splits and checks the span (ingest_record per record). */
static void parse_work(uv_work_t *wk) {
  struct ingest *in = wk->data;
  tg_err_clear(&in->werr);
  in->work_rc = tg_cat_obs_split_feed(in->sp, in->span.data, in->span.len, &in->werr);
}

static void parse_done(uv_work_t *wk, int status);

/* Hands the bytes gathered in NEXT to the thread pool; on failure IN->fail
 * is set and PARSING stays 0. */
static void parse_start(struct ingest *in) {
  struct tg_buf t = in->span;
  in->span = in->next;
  in->next = t;
  tg_buf_reset(&in->next);
  if (in->cur == NULL && (in->cur = chunk_new(in)) == NULL) {
    ingest_fail(in, 503, TG_ENOMEM, NULL);
    return;
  }
  in->work.data = in;
  if (uv_queue_work(&in->w->loop, &in->work, parse_work, parse_done) != 0) {
    ingest_fail(in, 503, TG_EIO, NULL);
    return;
  }
  in->parsing = 1;
}

/* The body ended and every byte was parsed: the last NDJSON line, or the
 * check that a JSON body was complete (small: done on the loop). */
static void ingest_finish(struct ingest *in) {
  struct tg_err err;
  tg_err_clear(&err);
  in->finished = 1;
  if (in->fail)
    return;
  if (in->cur == NULL && (in->cur = chunk_new(in)) == NULL) {
    ingest_fail(in, 503, TG_ENOMEM, NULL);
    return;
  }
  int rc = tg_cat_obs_split_finish(in->sp, &err);
  if (rc)
    ingest_fail(in, rc == TG_EINVAL ? 400 : 503, rc, &err);
}

/* Back on the loop after a parse job. */
static void parse_done(uv_work_t *wk, int status) {
  struct ingest *in = wk->data;
  in->parsing = 0;
  tg_buf_reset(&in->span);
  if (in->req == NULL) {
    if (!in->inflight)
      ingest_free(in);
    return;
  }
  if (status != 0)
    ingest_fail(in, 503, TG_ECANCELED, NULL);
  else if (in->work_rc)
    ingest_fail(in, in->work_rc == TG_EINVAL ? 400 : 503, in->work_rc, &in->werr);
  if (!in->fail && in->next.len == 0 && in->ended && !in->finished)
    ingest_finish(in);
  ingest_pump(in);
}

static void ingest_body(struct tg_http_req *req, const char *data, size_t len) {
  struct ingest *in = tg_http_req_get_data(req);
  if (in == NULL || (!in->parsing && in->fail))
    return;
  if (in->sha != NULL)
    EVP_DigestUpdate(in->sha, data, len);
  in->bytes_in += len;
  if (tg_buf_append(&in->next, data, len) != 0) {
    if (!in->parsing) {
      ingest_fail(in, 503, TG_ENOMEM, NULL);
      ingest_pump(in);
    }
    return;
  }
  if (in->parsing)
    return; /* parse_done takes it */
  ingest_pump(in); /* parses NEXT unless a full chunk waits */
}

static void ingest_end(struct tg_http_req *req) {
  struct ingest *in = tg_http_req_get_data(req);
  if (in == NULL)
    return;
  in->ended = 1;
  if (in->parsing || (!in->fail && in->next.len > 0))
    return; /* parse_done (or chunk_done, then parse_done) finishes */
  ingest_finish(in);
  ingest_pump(in);
}

static void ingest_abort(struct tg_http_req *req) {
  struct ingest *in = tg_http_req_get_data(req);
  tg_http_req_set_data(req, NULL);
  if (in == NULL)
    return;
  in->req = NULL;
  if (!in->inflight && !in->parsing)
    ingest_free(in);
}

/* The body's format from Content-Type; TG_EUNSUP when unsupported. */
static int body_format(struct tg_http_req *req) {
  const char *ct = tg_http_req_header(req, "Content-Type");
  if (ct == NULL)
    return TG_EUNSUP;
  size_t n = strcspn(ct, "; \t");
  if ((n == 20 && strncasecmp(ct, "application/x-ndjson", n) == 0) ||
      (n == 18 && strncasecmp(ct, "application/ndjson", n) == 0))
    return TG_OBS_FMT_NDJSON;
  if ((n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
      (n == 19 && strncasecmp(ct, "application/ld+json", n) == 0))
    return TG_OBS_FMT_JSON;
  return TG_EUNSUP;
}

/* Finds accumulated dataset ID owned here: 0 with *MODEL, or answers. */
static int ingest_dataset(struct tg_http_req *req, const char *id, enum tg_cat_obs_model *model) {
  struct tg_worker *w = tg_http_req_worker(req);
  struct tg_settings *s = tg_settings_get();
  const char *local;
  int mine = owned_here(id, s->node_id, &local);
  char node[64];
  snprintf(node, sizeof(node), "%s", s->node_id);
  tg_settings_put(s);
  if (!mine) {
    tg_http_res_problem(req, 403, "not-owner", "Not the owner node", NULL,
                        "%s is not a dataset of this node (%s): data is written at the node "
                        "that owns the dataset",
                        id, node);
    return TG_ROUTE_ANSWERED;
  }
  json_t *doc = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_cat_dataset_get(w->cat, id, TG_CAT_VIEW_OWNER, &doc, NULL, &err);
  if (rc == TG_ENOENT) {
    tg_http_res_problem(req, 404, "unknown-dataset", "Unknown dataset", NULL,
                        "no dataset %s on this node", id);
    return TG_ROUTE_ANSWERED;
  }
  if (rc) {
    tg_http_res_problem(req, 503, "unavailable", "Catalog unavailable", NULL, "%s",
                        tg_err_msg(&err, rc));
    return TG_ROUTE_ANSWERED;
  }
  int acc = tg_cat_obs_is_accumulated(doc);
  *model = tg_cat_obs_model_of(doc);
  json_decref(doc);
  if (!acc) {
    tg_http_res_problem(req, 409, "not-accumulated", "Not an accumulated dataset", NULL,
                        "dataset %s is not in accumulated mode (tsunagu:mode): its data is "
                        "served by its backend and cannot be written here",
                        id);
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

void tg_route_data_post(struct tg_http_req *req) {
  char id[TG_OBS_ID_MAX];
  enum tg_cat_obs_model model = TG_OBS_MODEL_NONE;
  if (tg_route_path_seg(req, "/data", "bad-dataset-id", "dataset id", id, sizeof(id)))
    return;
  if (tg_http_req_query(req)[0] != '\0') {
    tg_route_bad_param(req, "(query)", "this resource takes no query parameters");
    return;
  }
  if (ingest_dataset(req, id, &model))
    return;
  int fmt = body_format(req);
  if (fmt < 0) {
    tg_http_res_problem(req, 415, "unsupported-media-type", "Unsupported media type", NULL,
                        "send application/json (an object or an array of records) or "
                        "application/x-ndjson");
    return;
  }
  struct tg_worker *w = tg_http_req_worker(req);
  if (tg_writer_get() == NULL || w->wport == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Store unavailable", NULL, "no writer");
    return;
  }
  struct ingest *in = calloc(1, sizeof(*in));
  if (in == NULL || (in->errors = json_array()) == NULL ||
      tg_cat_obs_split_new(fmt, TG_OBS_MAX_RECORD, ingest_record, in, &in->sp) != 0) {
    if (in)
      ingest_free(in);
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return;
  }
  in->req = req;
  in->w = w;
  if ((in->sha = EVP_MD_CTX_new()) != NULL && EVP_DigestInit_ex(in->sha, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(in->sha);
    in->sha = NULL;
  }
  in->model = model;
  in->fmt = fmt;
  snprintf(in->dataset, sizeof(in->dataset), "%s", id);
  tg_http_req_set_data(req, in);
  tg_http_req_on_abort(req, ingest_abort);
  tg_http_req_on_body(req, ingest_body, ingest_end);
}

/* ---- reads ----------------------------------------------------------------- */

struct obs_read {
  struct tg_http_req *req;
  struct tg_data_out *out;
  void (*release)(struct tg_data_out *);
  struct tg_worker *w;
  char dataset[TG_OBS_ID_MAX];
  struct tg_cat_obs_query q;
  int64_t left;   /* rows of the page still to send */
  int array;      /* JSON array (else NDJSON) */
  int rows;       /* rows sent */
  int pumping;    /* inside read_pump: a drain callback only asks for another turn */
  int again;
  struct tg_buf buf;
};

static void read_free(struct obs_read *r) {
  if (r->release)
    r->release(r->out);
  tg_buf_close(&r->buf);
  free(r);
}

static void read_abort(struct tg_http_req *req) {
  struct obs_read *r = tg_http_req_get_data(req);
  tg_http_req_set_data(req, NULL);
  if (r)
    read_free(r);
}

static int read_flush(struct obs_read *r) {
  if (r->buf.len == 0)
    return 0;
  int rc = tg_data_out_write(r->out, r->buf.data, r->buf.len);
  tg_buf_reset(&r->buf);
  return rc;
}

static int read_row(void *ud, int64_t seq, int64_t ms, const char *entity, const char *body,
                    size_t len) {
  struct obs_read *r = ud;
  (void)entity;
  if (r->array && r->rows > 0 && tg_buf_append(&r->buf, ",", 1))
    return 1;
  if (tg_buf_append(&r->buf, body, len) || (!r->array && tg_buf_append(&r->buf, "\n", 1)))
    return 1;
  r->rows++;
  r->left--;
  r->q.has_after = 1;
  r->q.after_ms = ms;
  r->q.after_seq = seq;
  if (r->buf.len >= 32 * 1024 && read_flush(r) != 0)
    return 1;
  return tg_data_out_pending(r->out) > TG_OBS_HIGH_WATER;
}

static void read_finish(struct obs_read *r, int ok) {
  struct tg_http_req *req = r->req;
  tg_http_req_set_data(req, NULL);
  if (ok && r->array && tg_buf_append(&r->buf, "]", 1))
    ok = 0;
  if (ok && read_flush(r) == 0 && tg_data_out_end(r->out) == 0) {
    read_free(r);
    return;
  }
  tg_data_out_abort(r->out);
  read_free(r);
}

static void read_more(struct tg_http_req *req);

/* One turn: rows until the page is done (1) or the client falls behind (0,
 * a drain callback armed); a negative TG_E* code once the answer ended
 * otherwise (aborted, or cut by a failed read). */
static int read_turn(struct obs_read *r) {
  struct tg_err err;
  int more;
  tg_err_clear(&err);
  struct tg_cat_obs_query q = r->q;
  q.limit = r->left;
  int rc = r->left > 0 ? tg_cat_obs_read(r->w->obs, r->dataset, &q, read_row, r, &more, &err) : 0;
  if (rc == TG_ECANCELED && tg_data_out_pending(r->out) > TG_OBS_HIGH_WATER && !r->out->failed) {
    if (read_flush(r) != 0) {
      read_finish(r, 0);
      return TG_EIO;
    }
    tg_http_res_on_drain(r->req, read_more);
    return 0;
  }
  if (rc) {
    if (rc != TG_ECANCELED)
      tg_log_error("data read %s: %s", r->dataset, tg_err_msg(&err, rc));
    read_finish(r, 0);
    return rc == TG_ECANCELED ? TG_ECANCELED : TG_EIO;
  }
  read_finish(r, 1); /* the query ran dry or the page is complete */
  return 1;
}

/* Sends rows until the page is done or the client falls behind. A drain
 * callback that fires at once (inside tg_http_res_on_drain) only asks for
 * another turn here, so the stack does not grow with the answer. */
static void read_pump(struct obs_read *r) {
  r->pumping = 1;
  do {
    r->again = 0;
    if (read_turn(r) != 0)
      return; /* R is freed */
  } while (r->again);
  r->pumping = 0;
}

static void read_more(struct tg_http_req *req) {
  struct obs_read *r = tg_http_req_get_data(req);
  if (r == NULL)
    return;
  if (r->pumping)
    r->again = 1;
  else
    read_pump(r);
}

/* "<ms>.<seq>" (the cursor) into the query. 0 or TG_EINVAL. */
static int parse_cursor(const char *s, struct tg_cat_obs_query *q) {
  char *end;
  errno = 0;
  long long ms = strtoll(s, &end, 10);
  if (errno || end == s || *end != '.')
    return TG_EINVAL;
  const char *p = end + 1;
  long long seq = strtoll(p, &end, 10);
  if (errno || end == p || *end != '\0' || seq < 0)
    return TG_EINVAL;
  q->has_after = 1;
  q->after_ms = ms;
  q->after_seq = seq;
  return 0;
}

static int query_time(struct tg_http_req *req, const struct tg_qs *qs, const char *name,
                      int64_t def, int64_t *out) {
  const char *v = tg_qs_get(qs, name);
  *out = def;
  if (v == NULL)
    return 0;
  if (tg_cat_obs_parse_time(v, out) != 0) {
    tg_route_bad_param(req, name, "must be an ISO 8601 date-time such as 2026-05-01T09:00:00Z");
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

/* Parses the query into Q; 0 or TG_ROUTE_ANSWERED. */
static int read_params(struct tg_http_req *req, struct tg_qs *qs, struct tg_cat_obs_query *q) {
  static const char *const allowed[] = {"since", "until", "limit", "after", "latest", "profile",
                                        NULL};
  memset(q, 0, sizeof(*q));
  if (tg_route_query(req, qs, allowed) ||
      query_time(req, qs, "since", INT64_MIN, &q->since_ms) ||
      query_time(req, qs, "until", INT64_MAX, &q->until_ms) ||
      tg_route_query_int(req, qs, "limit", 1, 10000, 1000, &q->limit))
    return TG_ROUTE_ANSWERED;
  const char *after = tg_qs_get(qs, "after"), *latest = tg_qs_get(qs, "latest");
  if (after && parse_cursor(after, q) != 0) {
    tg_route_bad_param(req, "after", "not a cursor from a previous page's Link");
    return TG_ROUTE_ANSWERED;
  }
  if (latest && strcmp(latest, "true") != 0 && strcmp(latest, "false") != 0) {
    tg_route_bad_param(req, "latest", "must be true or false");
    return TG_ROUTE_ANSWERED;
  }
  q->latest = latest && strcmp(latest, "true") == 0;
  return 0;
}

/* 1 if the client asked for a JSON array (Accept: application/json without
 * NDJSON); NDJSON is the default. */
static int wants_array(struct tg_http_req *req) {
  const char *a = tg_http_req_header(req, "Accept");
  if (a == NULL || strstr(a, "ndjson") != NULL)
    return 0;
  return strstr(a, "application/json") != NULL;
}

/* Sets Link: <path?...&after=CURSOR>; rel="next" (the other parameters kept). */
static int set_next_link(struct tg_http_req *req, const struct tg_qs *qs, int64_t ms, int64_t seq) {
  struct tg_buf b;
  tg_buf_init(&b);
  int rc = tg_buf_printf(&b, "<%s?", tg_http_req_path(req));
  for (size_t i = 0; rc == 0 && i < qs->n; i++) {
    if (strcmp(qs->key[i], "after") == 0)
      continue;
    rc = tg_buf_printf(&b, "%s=", qs->key[i]);
    if (rc == 0)
      rc = tg_qs_encode(&b, qs->val[i]);
    if (rc == 0)
      rc = tg_buf_puts(&b, "&");
  }
  if (rc == 0)
    rc = tg_buf_printf(&b, "after=%" PRId64 ".%" PRId64 ">; rel=\"next\"", ms, seq);
  if (rc == 0)
    rc = tg_http_res_header(req, "Link", b.data);
  tg_buf_close(&b);
  return rc;
}

void tg__routes_obs_get_owned(struct tg_http_req *req, const char *dataset_id,
                              struct tg_data_out *out, void (*release)(struct tg_data_out *)) {
  struct tg_qs qs;
  struct tg_cat_obs_query q;
  struct tg_worker *w = tg_http_req_worker(req);
  struct tg_err err;
  int64_t lms = 0, lseq = 0;
  int more = 0;
  tg_err_clear(&err);
  if (read_params(req, &qs, &q)) {
    if (release)
      release(out);
    return;
  }
  struct obs_read *r = calloc(1, sizeof(*r));
  int rc = r ? tg_cat_obs_page_end(w->obs, dataset_id, &q, &lms, &lseq, &more, &err) : TG_ENOMEM;
  if (rc == 0 && more)
    rc = set_next_link(req, &qs, lms, lseq);
  if (rc) {
    free(r);
    if (release)
      release(out);
    tg_http_res_problem(req, 503, "unavailable", "Store unavailable", NULL, "%s",
                        tg_err_msg(&err, rc));
    return;
  }
  r->req = req;
  r->out = out;
  r->release = release;
  r->w = w;
  r->q = q;
  r->left = q.limit;
  r->array = wants_array(req);
  tg_buf_init(&r->buf);
  snprintf(r->dataset, sizeof(r->dataset), "%s", dataset_id);
  tg_http_res_header(req, "Cache-Control", "no-store");
  if (tg_data_out_start(out, 200, r->array ? "application/json" : "application/x-ndjson", -1) !=
      0) {
    tg_data_out_abort(out);
    read_free(r);
    return;
  }
  if (r->array)
    tg_buf_append(&r->buf, "[", 1);
  tg_http_req_set_data(req, r);
  tg_http_req_on_abort(req, read_abort);
  read_pump(r);
}

void tg_routes_obs_get(struct tg_http_req *req, const char *dataset_id, struct tg_data_out *out) {
  tg__routes_obs_get_owned(req, dataset_id, out, NULL);
}

/* ---- retention ------------------------------------------------------------- */

#define TG_OBS_RETAIN_BATCH 100000 /* rows deleted per dataset per job */

struct retention {
  uv_timer_t timer;
  int inflight, closed;
};

struct retain_job {
  struct retention *rt;
  struct tg_settings *s; /* a reference, for the policies */
  json_t *ids;
  int again; /* a dataset hit the batch cap */
};

static void collect_id(void *ud, const char *id) { json_array_append_new(ud, json_string(id)); }

static int retain_job_run(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err) {
  struct retain_job *j = arg;
  int64_t now = (int64_t)tg_now_ms(), deleted;
  int rc = tg_cat_obs_datasets(ctx->obs, collect_id, j->ids, err);
  size_t i;
  json_t *v;
  json_array_foreach(j->ids, i, v) {
    const char *id = json_string_value(v), *local;
    if (rc || id == NULL || !owned_here(id, j->s->node_id, &local))
      continue;
    const struct tg_retention *p = tg_settings_retention(j->s, local);
    if (p->keep == 0 && p->age_ms == 0)
      continue;
    int64_t before = p->age_ms ? now - (int64_t)p->age_ms : 0;
    rc = tg_cat_obs_retain(ctx->obs, id, before, (int64_t)p->keep, TG_OBS_RETAIN_BATCH, &deleted,
                           err);
    if (deleted >= TG_OBS_RETAIN_BATCH)
      j->again = 1;
    if (deleted > 0)
      tg_log_info("retention: %lld records of %s deleted", (long long)deleted, id);
  }
  return rc;
}

static void retention_free(struct retention *rt) {
  if (rt->closed && !rt->inflight)
    free(rt);
}

static void retain_submit(struct retention *rt, struct tg_worker *w);

static void retain_job_done(void *arg, int rc, const struct tg_err *err) {
  struct retain_job *j = arg;
  struct retention *rt = j->rt;
  if (rc)
    tg_log_error("retention: %s", tg_err_msg(err, rc));
  rt->inflight = 0;
  int again = j->again && rc == 0 && !rt->closed;
  struct tg_worker *w = rt->timer.data;
  tg_settings_put(j->s);
  json_decref(j->ids);
  free(j);
  if (again)
    retain_submit(rt, w);
  retention_free(rt);
}

static void retain_submit(struct retention *rt, struct tg_worker *w) {
  struct retain_job *j = calloc(1, sizeof(*j));
  if (j == NULL || (j->ids = json_array()) == NULL) {
    free(j);
    return;
  }
  j->rt = rt;
  j->s = tg_settings_get();
  if (tg_writer_submit(tg_writer_get(), w->wport, retain_job_run, retain_job_done, j) != 0) {
    tg_settings_put(j->s);
    json_decref(j->ids);
    free(j);
    return;
  }
  rt->inflight = 1;
}

static void retention_tick(uv_timer_t *t) {
  struct retention *rt = (struct retention *)t;
  struct tg_worker *w = t->data;
  struct tg_settings *s = tg_settings_get();
  uv_timer_set_repeat(t, s->retention_interval_ms);
  tg_settings_put(s);
  if (!rt->inflight && w->wport != NULL)
    retain_submit(rt, w);
}

void tg_routes_obs_retention_start(struct tg_worker *w) {
  struct retention *rt = calloc(1, sizeof(*rt));
  if (rt == NULL)
    return;
  struct tg_settings *s = tg_settings_get();
  uint64_t every = s->retention_interval_ms;
  tg_settings_put(s);
  uv_timer_init(&w->loop, &rt->timer);
  rt->timer.data = w;
  uv_timer_start(&rt->timer, retention_tick, every < 1000 ? every : 1000, every);
  uv_unref((uv_handle_t *)&rt->timer);
  w->obs_retention = rt;
}

static void retention_closed(uv_handle_t *h) {
  struct retention *rt = (struct retention *)h;
  rt->closed = 1;
  retention_free(rt);
}

void tg_routes_obs_retention_stop(struct tg_worker *w) {
  struct retention *rt = w->obs_retention;
  w->obs_retention = NULL;
  if (rt != NULL)
    uv_close((uv_handle_t *)&rt->timer, retention_closed);
}
