/* tg_data_out_tmp: TEMPORARY until the data dispatcher (tg_routes_data.c)
 * lands: a pass-through struct tg_data_out (no ?profile= conversion) and a
 * GET /api/v1/datasets/{id}/data that serves accumulated datasets from the
 * store without the ODRL check. Removal: this file, its Makefile line and
 * the "data_get_tmp" row in tg_router.c. */
#include "cat_obs.h"
#include "tg_auth.h"
#include "tg_cat.h"
#include "tg_err.h"
#include "tg_routes.h"
#include "tg_routes_obs.h"
#include "tg_worker.h"

#include <stdlib.h>

int tg_data_out_start(struct tg_data_out *o, int status, const char *content_type,
                      int64_t length) {
  o->started = 1;
  int rc = tg_http_res_start(o->req, status, content_type, length);
  o->failed = rc != 0;
  return rc;
}

int tg_data_out_write(struct tg_data_out *o, const void *data, size_t len) {
  o->bytes += len;
  int rc = tg_http_res_write(o->req, data, len);
  if (rc)
    o->failed = 1;
  return rc;
}

int tg_data_out_end(struct tg_data_out *o) { return tg_http_res_end(o->req); }

void tg_data_out_abort(struct tg_data_out *o) { tg_http_res_abort(o->req); }

size_t tg_data_out_pending(const struct tg_data_out *o) { return tg_http_res_pending(o->req); }

static void out_release(struct tg_data_out *o) { free(o); }

void tg_route_data_get_tmp(struct tg_http_req *req) {
  char id[512];
  json_t *doc = NULL;
  if (tg_routes_obs_path_id(tg_http_req_path(req), id, sizeof(id)) != 0) {
    tg_http_res_problem(req, 404, "not-found", "Not found", NULL, "no such resource");
    return;
  }
  if (!tg_auth_require(req, TG_SCOPE_DATA_READ))
    return;
  int rc = tg_cat_dataset_get(tg_http_req_worker(req)->cat, id, TG_CAT_VIEW_OWNER, &doc, NULL, NULL);
  if (rc) {
    tg_http_res_problem(req, 404, "unknown-dataset", "Unknown dataset", NULL, "no dataset %s", id);
    return;
  }
  int acc = tg_cat_obs_is_accumulated(doc);
  json_decref(doc);
  if (!acc) {
    tg_http_res_problem(req, 409, "not-accumulated", "Not an accumulated dataset", NULL,
                        "dataset %s is not in accumulated mode", id);
    return;
  }
  struct tg_data_out *o = calloc(1, sizeof(*o));
  if (o == NULL) {
    tg_http_res_problem(req, 503, "unavailable", "Unavailable", NULL, "out of memory");
    return;
  }
  o->req = req;
  tg__routes_obs_get_owned(req, id, o, out_release);
}
