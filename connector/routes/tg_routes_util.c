/* tg_routes_util: what every route file shares: strict query strings and the
 * one shape of a bad parameter, the id in the path, and If-Match. Helpers
 * that may answer return TG_ROUTE_ANSWERED after answering, 0 to go on. */
#include "tg_err.h"
#include "tg_qs.h"
#include "tg_routes.h"
#include "tg_worker.h"
#include "tg_writer.h"
#include "tg_util.h"

#include <stdio.h>
#include <string.h>

void tg_route_bad_param(struct tg_http_req *req, const char *name, const char *detail) {
  json_t *extra = json_pack("{s:s, s:[{s:s, s:s}]}", "parameter", name, "errors", "parameter", name,
                            "detail", detail);
  tg_http_res_problem(req, 400, "bad-parameter", "Bad query parameter", extra,
                      "query parameter '%s': %s", name, detail);
}

int tg_route_query(struct tg_http_req *req, struct tg_qs *q, const char *const *allowed) {
  if (tg_qs_parse(tg_http_req_query(req), q) != 0) {
    tg_route_bad_param(req, q->bad,
                       "bad percent-encoding, a control character, invalid UTF-8, a "
                       "repeated name, or too many or too long parameters");
    return TG_ROUTE_ANSWERED;
  }
  for (size_t i = 0; i < q->n; i++) {
    int known = 0;
    for (const char *const *a = allowed; *a && !known; a++)
      known = strcmp(*a, q->key[i]) == 0;
    if (!known) {
      tg_route_bad_param(req, q->key[i], "unknown parameter");
      return TG_ROUTE_ANSWERED;
    }
  }
  return 0;
}

int tg_route_query_int(struct tg_http_req *req, const struct tg_qs *q, const char *name,
                       int64_t min, int64_t max, int64_t def, int64_t *out) {
  const char *v = tg_qs_get(q, name);
  uint64_t u;
  *out = def;
  if (v == NULL)
    return 0;
  if (tg_parse_u64(v, (uint64_t)max, &u) != 0 || (int64_t)u < min) {
    char d[96];
    snprintf(d, sizeof(d), "must be an integer from %lld to %lld", (long long)min, (long long)max);
    tg_route_bad_param(req, name, d);
    return TG_ROUTE_ANSWERED;
  }
  *out = (int64_t)u;
  return 0;
}

const char *tg_route_query_need(struct tg_http_req *req, const struct tg_qs *q, const char *key) {
  const char *v = tg_qs_get(q, key);
  if (v == NULL || *v == '\0') {
    tg_route_bad_param(req, key, "required");
    return NULL;
  }
  return v;
}

int tg_route_path_id(struct tg_http_req *req, const char *slug, const char *what, char *out,
                     size_t cap) {
  return tg_route_path_seg(req, "", slug, what, out, cap);
}

int tg_route_path_seg(struct tg_http_req *req, const char *suffix, const char *slug,
                      const char *what, char *out, size_t cap) {
  const char *rest = tg_http_req_rest(req);
  size_t n = strlen(rest), sn = strlen(suffix);
  if (n >= sn && strcmp(rest + n - sn, suffix) == 0)
    n -= sn;
  else
    n = 0;
  if (n == 0 || memchr(rest, '/', n) || tg_qs_decode(rest, n, out, cap, 0) <= 0) {
    tg_http_res_problem(req, 400, slug, "Bad identifier", NULL,
                        "the %s in the path is empty, has a '/', is too long or is badly "
                        "percent-encoded",
                        what);
    return TG_ROUTE_ANSWERED;
  }
  return 0;
}

int tg_route_if_match(struct tg_http_req *req, char *tag, size_t cap, enum tg_if_match *kind) {
  const char *h = tg_http_req_header(req, "If-Match");
  *kind = TG_IF_MATCH_NONE;
  if (h == NULL)
    return 0;
  while (*h == ' ' || *h == '\t')
    h++;
  size_t n = strlen(h);
  while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
    n--;
  if (n == 1 && h[0] == '*') {
    *kind = TG_IF_MATCH_ANY;
    return 0;
  }
  if (n < 3 || n - 2 >= cap || h[0] != '"' || h[n - 1] != '"' || memchr(h + 1, '"', n - 2)) {
    tg_http_res_problem(req, 400, "bad-if-match", "Bad If-Match", NULL,
                        "If-Match must be \"*\" or one strong entity tag");
    return TG_ROUTE_ANSWERED;
  }
  memcpy(tag, h + 1, n - 2);
  tag[n - 2] = '\0';
  *kind = TG_IF_MATCH_TAG;
  return 0;
}

int tg_route_set_etag(struct tg_http_req *req, const char *tag) {
  char t[160];
  int w = snprintf(t, sizeof(t), "\"%s\"", tag);
  if (w < 0 || (size_t)w >= sizeof(t))
    return TG_ETOOBIG; /* tags are short hashes and numbers: not reached */
  return tg_http_res_header(req, "ETag", t);
}

int tg_route_none_match(struct tg_http_req *req, const char *tag) {
  const char *h = tg_http_req_header(req, "If-None-Match");
  size_t n = strlen(tag);
  for (const char *p = h; p && *p;) {
    p += strspn(p, " \t,");
    if (*p == '*')
      return 1;
    if (strncmp(p, "W/", 2) == 0)
      p += 2; /* weak comparison (RFC 9110 13.1.2) */
    if (*p == '"' && strncmp(p + 1, tag, n) == 0 && p[n + 1] == '"' &&
        strchr(" \t,", p[n + 2]) != NULL) /* also matches the NUL at the end */
      return 1;
    p = strchr(p, ',');
  }
  return 0;
}

/* ---- writes on the writer thread ------------------------------------------ */

static void job_req_gone(void *ud) { ((struct tg_route_job *)ud)->req = NULL; }

static int job_run(struct tg_writer_ctx *ctx, void *arg, struct tg_err *err) {
  struct tg_route_job *j = arg;
  return j->run(ctx, j, err);
}

static void job_done(void *arg, int rc, const struct tg_err *err) {
  struct tg_route_job *j = arg;
  if (j->req != NULL) {
    tg_http_req_on_free(j->req, NULL, NULL);
    j->answer(j, rc, err);
  }
  j->free(j);
}

void tg_route_job_submit(struct tg_http_req *req, struct tg_route_job *j, const char *title) {
  struct tg_writer *wr = tg_writer_get();
  j->req = req;
  tg_http_req_on_free(req, job_req_gone, j);
  if (wr == NULL ||
      tg_writer_submit(wr, tg_http_req_worker(req)->wport, job_run, job_done, j) != 0) {
    tg_http_req_on_free(req, NULL, NULL);
    j->free(j);
    tg_http_res_problem(req, 503, "unavailable", title, NULL, "the node is stopping");
  }
}
