/* tg_routes_harvest: the harvested index over HTTP: GET /api/v1/harvest
 * (admin: each source's status and counts) and GET /api/v1/locate (where a
 * dataset lives: the index, else the federation directory / peers). */
#include "tg_cat.h"
#include "tg_err.h"
#include "tg_fed_harvest.h"
#include "tg_qs.h"
#include "tg_routes.h"
#include "tg_settings.h"
#include "tg_worker.h"

#include <stdio.h>
#include <string.h>

void tg_route_harvest(struct tg_http_req *req) {
  struct tg_err err;
  json_t *src = NULL;
  tg_err_clear(&err);
  int rc = tg_cat_index_sources(tg_http_req_worker(req)->harvested, &src, &err);
  if (rc != 0) {
    tg_http_res_problem(req, 500, "database", "Database failure", NULL, "%s", tg_err_msg(&err, rc));
    return;
  }
  struct tg_settings *s = tg_settings_get();
  json_int_t every = (json_int_t)(s->harvest_interval_ms / 1000);
  tg_settings_put(s);
  tg_http_res_header(req, "Cache-Control", "no-cache");
  tg_http_res_json(req, 200, json_pack("{s:I, s:o}", "interval_s", every, "sources", src), NULL);
}

void tg_route_locate(struct tg_http_req *req) {
  static const char *const allowed[] = {"dataset", NULL};
  struct tg_qs q;
  if (tg_route_query(req, &q, allowed))
    return;
  const char *id = tg_route_query_need(req, &q, "dataset");
  if (id == NULL)
    return;
  struct tg_fed_location loc;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_fed_locate(tg_http_req_worker(req), id, &loc, &err);
  if (rc == TG_EINVAL) {
    tg_route_bad_param(req, "dataset", tg_err_msg(&err, rc));
    return;
  }
  if (rc == TG_ENOENT) {
    tg_http_res_problem(req, 404, "unknown-owner", "Unknown owner",
                        json_pack("{s:s}", "dataset", id), "%s", tg_err_msg(&err, rc));
    return;
  }
  if (rc != 0) {
    tg_http_res_problem(req, 500, "database", "Database failure", NULL, "%s", tg_err_msg(&err, rc));
    return;
  }
  if (strcmp(loc.source, "local") == 0)
    tg_routes_self_url(loc.url, sizeof(loc.url), 0);
  json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "dataset", id, "owner", loc.owner, "url", loc.url,
                        "source", loc.source);
  if (o != NULL && loc.harvested_at > 0)
    json_object_set_new(o, "harvested_at", json_integer(loc.harvested_at));
  if (o != NULL && loc.url[0] == '\0')
    json_object_set_new(o, "url", json_null());
  tg_http_res_json(req, 200, o, NULL);
}
