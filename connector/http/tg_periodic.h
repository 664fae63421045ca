/* tg_periodic: fetching one URL again and again on a libuv loop with the
 * async client: a period after a success, a shorter retry delay after a
 * failure, a fetch on demand (kick), reconfiguration, and a stop that closes
 * its handles. Used by the CRL and JWKS refreshers. */
#ifndef TG_PERIODIC_H
#define TG_PERIODIC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tg_err;
struct tg_client_tls;
struct tg_periodic;

/* What to do with each fetch. All run on the loop's thread, with UD. */
struct tg_periodic_cb {
  /* Optional: called at each tick before the fetch (work of the owner's that
   * goes with it; it may call tg_periodic_configure). Returns 1 to fetch, 0
   * to skip this one. */
  int (*on_tick)(void *ud);
  /* The whole body of a 200 answer (borrowed). Returns 0, or a negative
   * TG_E* code to come back after the retry delay instead of the period. */
  int (*on_body)(void *ud, const char *body, size_t len);
  /* Optional: the fetch failed (RC a TG_E* code with ERR) or answered STATUS
   * other than 200 (RC 0); the next comes after the retry delay. */
  void (*on_fail)(void *ud, int rc, int status, const struct tg_err *err);
};

struct tg_periodic_opts {
  const char *url;       /* https:// (or local http://) URL, copied; NULL: no fetching */
  uint64_t period_ms;    /* after a success (and between ticks without a URL) */
  uint64_t retry_ms;     /* after a failure; 0 means the period */
  uint64_t timeout_ms;   /* of one fetch; 0: the client's default */
  size_t max_response;   /* body limit; 0: none */
  const char *method;    /* "GET" when NULL; with "POST" the body is tg_periodic_set_body's */
  const char *content_type; /* of that body, copied; NULL: none sent */
  int ok_status;         /* the answer on_body takes; 0 means 200 */
};

/* Creates a fetcher on LOOP that does nothing until configured. CB is copied. */
int tg_periodic_new(uv_loop_t *loop, const struct tg_periodic_cb *cb, void *ud,
                    struct tg_periodic **out, struct tg_err *err);
/* (Re)configures P: a fetch in flight is canceled (no callback), the client
 * is made anew with TLS (may be NULL; paths copied), and the next tick comes
 * after the period. Without a URL and without on_tick the timer stays off.
 * On an error the old configuration is gone and P does nothing until the next
 * successful call. */
int tg_periodic_configure(struct tg_periodic *p, const struct tg_client_tls *tls,
                          const struct tg_periodic_opts *o, struct tg_err *err);
/* The request body of the next fetches (copied; NULL clears it), e.g. set
 * by on_tick just before the fetch it allows. */
int tg_periodic_set_body(struct tg_periodic *p, const char *body, size_t len, struct tg_err *err);
/* A tick now (on_tick, then the fetch) unless a fetch is in flight. */
void tg_periodic_kick(struct tg_periodic *p);
/* 1 while a fetch is in flight. */
int tg_periodic_busy(const struct tg_periodic *p);
/* uv_now() of the loop when the last fetch started, 0 before any. */
uint64_t tg_periodic_last_ms(const struct tg_periodic *p);
/* Cancels everything (no callback after this returns) and frees P once its
 * handles closed (run the loop). NULL is a no-op. */
void tg_periodic_stop(struct tg_periodic *p);

#endif
