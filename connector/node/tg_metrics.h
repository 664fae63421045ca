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
/* Appends tsunagu_cert_expiry_seconds{which="node|ca|crl"}: seconds until
 * each expiry of the current settings (called by tg_metrics_render). */
void tg_metrics_expiry_render(struct tg_buf *out);

/* The data API's counters (tg_metrics_data.c); strings are copied. */
/* One data answer of BYTES body bytes for DATASET (may be NULL) and, when a
 * peer node was involved, PEER: the caller (OUTBOUND 0) or the owner called
 * (OUTBOUND 1). */
void tg_metrics_data(const char *dataset, const char *peer, int outbound, uint64_t bytes);
/* A refusal of DATASET by the policy rule RULE (its reason). */
void tg_metrics_data_refusal(const char *dataset, const char *rule);
/* Time to the first byte of an upstream answer: OWNER 1 for a peer node, 0 for a backend. */
void tg_metrics_data_ttfb(int owner, uint64_t usec);
/* Appends the data API's metrics (called by tg_metrics_render). */
void tg_metrics_data_render(struct tg_buf *out);
long tg_metrics_open_conns(void);

/* The harvester's counters (tg_metrics_harvest.c): one harvest of PEER's
 * feed (PEER a node id, copied), OK or failed, with REFUSED entries refused. */
void tg_metrics_harvest(const char *peer, int ok, uint64_t refused);
/* Appends the harvester's metrics (called by tg_metrics_render). */
void tg_metrics_harvest_render(struct tg_buf *out);

#endif
