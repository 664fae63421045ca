/* tg_routes_data: the data API, /api/v1/datasets/{id}/data. The dispatcher
 * (tg_routes_data.c) finds the dataset, enforces its owner's policy and sends
 * the request to where the data is: a backend (distributed), the node's own
 * store (accumulated, tg_routes_obs.c) or the owner node (forwarded). Every
 * answer's body goes through a struct tg_data_out, which writes it to the
 * response as is or through a vocabulary conversion (?profile=). */
#ifndef TG_ROUTES_DATA_H
#define TG_ROUTES_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "tg_http.h"

struct tg_voc_conv;
struct tg_voc_profile;
struct tg_data_prov;

/* Where an answer's body goes. Filled by the dispatcher; the code producing
 * the body uses only the functions below, never tg_http_res_* directly, so a
 * conversion can sit in between. Back-pressure: while tg_data_out_pending()
 * is over 256 KiB, stop producing and resume from tg_http_res_on_drain(). */
struct tg_data_out {
  struct tg_http_req *req;   /* borrowed: the request being answered */
  const struct tg_voc_profile *profile; /* convert with this (borrowed), or NULL */
  struct tg_voc_conv *conv;  /* the conversion, made at start (owned), or NULL */
  uint64_t bytes;            /* body bytes produced so far (before conversion) */
  int started, failed;
  int status;                /* the answer's status, once started */
  /* The provenance record of this answer (tg_routes_data.c; owned by the
   * dispatcher), or NULL: hashes the bytes sent, and on a complete answer
   * logs it and ends the answer with the entry's reference in a trailer. */
  struct tg_data_prov *prov;
};

/* Starts the answer: status and content type; LENGTH is the body length, or
 * -1 when unknown (then chunked). With a profile and a 2xx status, the body
 * is converted: NDJSON stays NDJSON, anything else is read as JSON (an array
 * of records or a sequence of values), and the length becomes unknown. Headers set before with tg_http_res_header() go out
 * with it. 0 or a TG_E* code. */
int tg_data_out_start(struct tg_data_out *o, int status, const char *content_type,
                      int64_t length);
/* A span of the body (copied or converted at once). 0, or a TG_E* code after
 * which the producer stops and calls tg_data_out_abort(). */
int tg_data_out_write(struct tg_data_out *o, const void *data, size_t len);
/* Ends a complete answer (flushes the conversion). With a provenance record,
 * the answer ends once its entry is durable (later, on the same loop), with
 * the entry's reference in the trailer Tsunagu-Prov-Ref. 0 or a TG_E* code. */
int tg_data_out_end(struct tg_data_out *o);
/* Ends an answer that cannot be completed after its start: the connection is
 * closed without a terminating chunk, so the client sees a truncated answer
 * as an error, never as complete. The request must not be touched after. */
void tg_data_out_abort(struct tg_data_out *o);
/* Output bytes queued and not yet written to the client. */
size_t tg_data_out_pending(const struct tg_data_out *o);

/* GET/HEAD /api/v1/datasets/{id}/data (tg_routes_data.c). */
void tg_route_data_get(struct tg_http_req *req);
struct tg_worker;
struct tg_client;
struct tg_err;
/* The worker's client for calls to other nodes with the node's current
 * federation certificate (one per settings generation, kept for the
 * worker's life; borrowed). NULL (ERR set) when the node has none or the
 * worker is stopping. */
struct tg_client *tg_routes_data_fed_client(struct tg_worker *w, struct tg_err *err);
/* Frees W's data-API clients (when the worker stops, before its loop ends). */
void tg_routes_data_worker_free(struct tg_worker *w);

/* Accumulated mode (tg_routes_obs.c). */
/* POST /api/v1/datasets/{id}/data: streamed ingest (scope data:write). */
void tg_route_data_post(struct tg_http_req *req);
/* Answers a GET for accumulated dataset DATASET_ID (borrowed) owned here,
 * after the dispatcher has checked the policy: since/until/limit/after/latest
 * from the query string, NDJSON or a JSON array by Accept, body through OUT
 * (owned by the caller until the answer ends; it stays valid until then). */
void tg_routes_obs_get(struct tg_http_req *req, const char *dataset_id, struct tg_data_out *out);

#endif
