/* tg_metrics: process-wide counters, rendered for GET /metrics. Route labels
 * come from the names the application registered (tg_settings_routes). */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdint.h>

struct tg_buf;

/* Counts a request answered by route ROUTE (tg_settings_route_name's index;
 * -1 none) with STATUS in USEC; ROUTE -2 counts bytes only. */
void tg_metrics_request(int route, int status, uint64_t usec, uint64_t in, uint64_t out);
void tg_metrics_conn(int delta);
/* Counts a connection refused at accept (over a connection limit). */
void tg_metrics_conn_refused(void);
void tg_metrics_render(struct tg_buf *out);
long tg_metrics_open_conns(void);

#endif
