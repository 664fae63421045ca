/* Temporary: replaced by tg_routes_obs.c (accumulated mode). */
#include "tg_routes_data.h"
void tg_route_data_post(struct tg_http_req *req) {
  tg_http_res_problem(req, 501, "not-implemented", "Not implemented", NULL, "accumulated mode");
}
void tg_routes_obs_get(struct tg_http_req *req, const char *id, struct tg_data_out *out) {
  (void)id;
  (void)out;
  tg_http_res_problem(req, 501, "not-implemented", "Not implemented", NULL, "accumulated mode");
}
