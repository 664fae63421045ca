/* tg_fed_fanout: one GET sent to several peers at once over mutual TLS, each
 * pinned to its node, all bounded by one deadline: the answers that arrived
 * in time are handed over together, the rest are marked timed out. Used by
 * federated search; nothing here knows what is asked. */
#ifndef TG_FED_FANOUT_H
#define TG_FED_FANOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tg_client;
struct tg_err;

enum tg_fed_ask_state {
  TG_FED_ASK_PENDING = 0,
  TG_FED_ASK_OK,      /* 2xx with a JSON object */
  TG_FED_ASK_REFUSED, /* 401 or 403: the peer would not answer us */
  TG_FED_ASK_ERROR,   /* connection, TLS (wrong node), other status, not JSON */
  TG_FED_ASK_TIMEOUT, /* no whole answer by the deadline */
};

/* One peer to ask: inputs, then the outcome. */
struct tg_fed_ask {
  char node[64];  /* the peer's node id: its certificate must name it */
  char url[520];  /* its base URL (https://HOST:PORT) */
  /* outcome */
  enum tg_fed_ask_state state;
  int http_status;
  uint64_t ms;    /* from the start to the answer (or the deadline) */
  json_t *answer; /* the answer when OK (owned by the ask: freed with the fan-out) */
  char error[200];
};

struct tg_fed_fanout;

/* Called once when every ask has ended or the deadline passed; ASKS (N) are
 * borrowed for the call (take an answer with json_incref). */
typedef void (*tg_fed_fanout_done)(void *ud, struct tg_fed_ask *asks, size_t n);

/* Sends GET <url>PATH (PATH begins with '/', query included) with HEADERS
 * (NULL-terminated "Name: value", copied) to every one of the N ASKS (copied)
 * on CLIENT (the federation client: tg_fed_client_new; NULL: every ask fails
 * saying the node has no federation certificate), each answer capped at
 * MAX_BODY bytes, all within DEADLINE_MS. DONE is called once — never before
 * this returns; with N == 0 on the next loop iteration. On success *OUT
 * identifies the fan-out until DONE. On error nothing is called. */
int tg_fed_fanout_start(uv_loop_t *loop, struct tg_client *client, const char *path,
                        const char *const *headers, const struct tg_fed_ask *asks, size_t n,
                        uint64_t deadline_ms, size_t max_body, tg_fed_fanout_done done, void *ud,
                        struct tg_fed_fanout **out, struct tg_err *err);

/* The caller went away: the requests are canceled, DONE is not called. */
void tg_fed_fanout_cancel(struct tg_fed_fanout *f);

/* "ok", "refused", "error", "timeout" (or "pending"). */
const char *tg_fed_ask_state_name(enum tg_fed_ask_state s);

#endif
