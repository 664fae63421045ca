/* tg_routes_obs: accumulated mode's internals shared with the server (the
 * retention timer). */
#ifndef TG_ROUTES_OBS_H
#define TG_ROUTES_OBS_H

#include "tg_routes_data.h"

struct tg_worker;

/* Starts worker W's retention timer ([retention]; worker 0 only): each
 * [retention] interval a delete job goes to the writer. */
void tg_routes_obs_retention_start(struct tg_worker *w);
/* Closes the timer (drain); a job in flight finishes on its own. */
void tg_routes_obs_retention_stop(struct tg_worker *w);

/* tg_routes_obs_get, and when the answer ends or the connection dies,
 * RELEASE(OUT) (when not NULL): for a caller that allocated OUT. */
void tg__routes_obs_get_owned(struct tg_http_req *req, const char *dataset_id,
                              struct tg_data_out *out, void (*release)(struct tg_data_out *));

#endif
