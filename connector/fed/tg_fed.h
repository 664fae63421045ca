/* tg_fed: a node's place in its federation: the federation TLS material in
 * its directory, checking peers over mutual TLS (tg_fed_check.c), the CA node's directory of
 * members (URLs recorded at registration), and installing a refreshed CRL. */
#ifndef TG_FED_H
#define TG_FED_H

#include <jansson.h>
#include <openssl/types.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tg_buf.h"

struct tg_err;
struct tg_client;
struct tg_client_req;

/* Paths of a node's federation TLS material. */
struct tg_fed_tls {
  char ca[4096];   /* DIR/ca.crt: the federation CA */
  char crl[4096];  /* DIR/crl.pem, or "" when the node has none */
  char cert[4096]; /* DIR/node.crt */
  char key[4096];  /* DIR/node.key */
};

/* Fills OUT from the node directory DIR; TG_ENOENT when DIR has no ca.crt
 * (the node is not in a federation yet). */
int tg_fed_tls_paths(const char *dir, struct tg_fed_tls *out);

/* One peer check: inputs, then the outcome. */
struct tg_fed_check {
  char self_id[64];    /* this node's id: the peer must see us as it */
  char node_id[64];    /* the peer's id: its certificate must name it */
  char url[512];       /* the peer's base URL (https://HOST:PORT) */
  uint64_t timeout_ms; /* the whole check; 0 means 5 s */
  /* outcome */
  int ok;               /* 1: reachable over mTLS, identities match */
  int64_t latency_ms;   /* start to the end of the answer */
  int64_t checked_at;   /* Unix time */
  int64_t not_after;    /* the peer certificate's expiry (Unix time), 0 if none seen */
  char fingerprint[65]; /* SHA-256 of the peer certificate, "" if none seen */
  char serial[65];      /* its serial number (upper-case hex), "" if none seen */
  char cert_node[64];   /* node id in the peer certificate's SAN URI, "" if none */
  char error[512];      /* why it failed */
  /* private to tg_fed_check.c */
  struct tg_client_req *req;
  struct tg_buf body;
  uint64_t t0;
  int seen; /* the peer's certificate was seen */
  void (*done)(struct tg_fed_check *c, void *ud);
  void *ud;
};

/* Starts checking C (inputs set, the rest zeroed) on CLIENT, which carries
 * the node's federation TLS material (tg_fed_client_new): a new connection
 * verified against the federation CA and CRL, whose certificate must name
 * C->node_id, then GET /api/v1/peer/whoami, whose answer must name
 * C->self_id. DONE(C, UD) is called once with the outcome filled in, on the
 * client's loop, unless the check is canceled or the client freed. If this
 * fails (outcome error set, a negative TG_E* returned) DONE is never called. */
int tg_fed_check_start(struct tg_client *client, struct tg_fed_check *c,
                       void (*done)(struct tg_fed_check *c, void *ud), void *ud);
/* Stops a started check: DONE is not called. */
void tg_fed_check_cancel(struct tg_fed_check *c);

/* A client on LOOP for calls to peers: the node in DIR's federation
 * certificate and key, its federation CA as the only trust anchor, its CRL
 * when it has one. TG_ENOENT when DIR has no ca.crt. Freed with
 * tg_client_free. */
int tg_fed_client_new(uv_loop_t *loop, const char *dir, struct tg_client **out,
                      struct tg_err *err);

/* A worker's federation state (the periodic peer check, rounds of checks in
 * flight), created and freed by fed/; app/ starts it. */
struct tg_fed_worker;
/* Creates it on LOOP over the worker's node database DB (both borrowed,
 * outliving it). */
int tg_fed_worker_new(uv_loop_t *loop, sqlite3 *db, struct tg_fed_worker **out,
                      struct tg_err *err);
/* Checks every peer each [federation] peer_check (default 5m, 0 = off, read
 * again each time) and records the outcomes; one worker does this. The timer
 * never keeps the loop alive. */
void tg_fed_worker_periodic_start(struct tg_fed_worker *fw);
/* Stops the timer; rounds in flight end at once (their checks fail with "the
 * node is stopping" and their DONE is called); FW is freed once its timer
 * closed (run the loop). NULL is a no-op. */
void tg_fed_worker_free(struct tg_fed_worker *fw);

/* One round: every peer checked at once, each outcome recorded in the
 * peers table as it arrives. */
struct tg_fed_round;
/* Starts a round on FW; DONE(UD, CHECKS, N) is called when every check has
 * ended (CHECKS borrowed for the call) — before this returns when there are
 * no peers, then *OUT is NULL; else *OUT identifies the round until DONE.
 * TG_ENOENT when the node is not in a federation (no ca.crt), TG_EDB, TG_ENOMEM;
 * then DONE is never called. */
int tg_fed_round_start(struct tg_fed_worker *fw,
                       void (*done)(void *ud, const struct tg_fed_check *checks, size_t n),
                       void *ud, struct tg_fed_round **out, struct tg_err *err);
/* The caller of R went away: the round runs on and records, DONE is not called. */
void tg_fed_round_forget(struct tg_fed_round *r);

/* The CA directory of the node in NODE_DIR from its [ca] dir into OUT (size
 * N); TG_ENOENT when the node has no CA role. */
int tg_fed_ca_dir(const char *node_dir, char *out, size_t n);
/* Records (or updates) the URL NODE_ID registered with in the CA in CA_DIR. */
int tg_fed_member_record(const char *ca_dir, const char *node_id, const char *url,
                         struct tg_err *err);
/* The URL NODE_ID registered with, from the CA in CA_DIR, into OUT (size N);
 * TG_ENOENT when none is recorded. */
int tg_fed_member_url(const char *ca_dir, const char *node_id, char *out, size_t n,
                      struct tg_err *err);
/* Splits https://HOST[:PORT][/...] ("[v6]" allowed) into HOST and PORT
 * (default "443") with libcurl's URL parser (tg_client_url_split); TG_EINVAL
 * if it is not such a URL or a part does not fit. */
int tg_fed_url_split(const char *url, char *host, size_t hn, char *port, size_t pn);
/* Records "hub = HUB" in the [federation] section of DIR's tsunagu.conf
 * (replacing the file atomically); a no-op when it already names a hub. */
int tg_fed_conf_set_hub(const char *dir, const char *hub, struct tg_err *err);
/* Records "hub_id = ID" (the hub's node id, which clients then require of
 * the hub's certificate) the same way. */
int tg_fed_conf_set_hub_id(const char *dir, const char *hub_id, struct tg_err *err);
/* The federation's members from the CA in CA_DIR: a new JSON array of
 * {node_id, name, url (or null), fingerprint, not_after, status:
 * active|revoked|expired}, one per node (its newest certificate). */
int tg_fed_members(const char *ca_dir, json_t **out, struct tg_err *err);

/* Checks that the CRL in PEM (LEN bytes) is signed by NODE_DIR's ca.crt and
 * is not older (crlNumber) than the installed one, then replaces
 * NODE_DIR/crl.pem atomically. Sets *CHANGED (may be NULL) to 1 when the file
 * changed. TG_EPERM for a CRL not signed by the CA, TG_EINVAL malformed. */
int tg_fed_crl_install(const char *node_dir, const char *pem, size_t len, int *changed,
                       struct tg_err *err);

/* Periodic CRL refresh on the daemon's main loop (tg_fed_refresh.c). With
 * [federation] hub = URL it fetches {hub}/api/v1/certs/crl every
 * [federation] crl_refresh (default 5m) over TLS verified by ca.crt; a CA node
 * without a hub takes its CA's crl.pem. A newer CRL signed by ca.crt is
 * installed with tg_fed_crl_install and then RELOAD(UD) is called (the SIGHUP
 * path). A CA node also writes a cert-revoked provenance entry through PORT
 * (LOOP's writer port, may be NULL) for each serial its CA's CRL revokes that
 * it has not logged before (DIR/prov-revoked keeps them). */
struct tg_fed_refresh;
struct tg_writer_port;
/* Starts refreshing for the node in DIR on LOOP; *OUT is stopped with
 * tg_fed_refresh_stop. Reads the configuration and fetches at once. */
int tg_fed_refresh_start(uv_loop_t *loop, const char *dir, struct tg_writer_port *port,
                         void (*reload)(void *ud), void *ud, struct tg_fed_refresh **out,
                         struct tg_err *err);
/* Re-reads the configuration and TLS material and fetches now (on SIGHUP). */
void tg_fed_refresh_kick(struct tg_fed_refresh *r);
/* Cancels any fetch and frees R once its handles closed (run the loop); NULL
 * is a no-op. */
void tg_fed_refresh_stop(struct tg_fed_refresh *r);

/* --- certificate renewal (tg_fed_renew.c) --- */

/* A renewal request of a node: the key its CSR is for and the JSON body
 * {"csr": …, "rotate_key": …} for POST {hub}/api/v1/certs/renew. */
struct tg_fed_renew_req {
  EVP_PKEY *key;      /* owned; the answer's certificate must be for it */
  char key_new[4200]; /* with a new key: its file (DIR/node.key.new) until installed, else "" */
  char *body;         /* from malloc */
};
/* Makes the request of node NODE_ID in DIR: for its current key, or with
 * NEW_KEY for a new P-256 key saved as node.key.new. On failure OUT holds
 * nothing. Close OUT with tg_fed_renew_request_close. */
int tg_fed_renew_request(const char *dir, const char *node_id, int new_key,
                         struct tg_fed_renew_req *out, struct tg_err *err);
/* Frees R's key and body and removes a key_new file still there (after a
 * successful installation it has been renamed to node.key). */
void tg_fed_renew_request_close(struct tg_fed_renew_req *r);
/* Checks the hub's answer J (201 body: certificate, ca_certificate, crl) to
 * a renewal of node ID in DIR — the same CA, a CRL it signed, a certificate
 * for KEY naming ID — installs the CRL and node.crt (and, with NEW_KEY, the
 * file to rename over node.key just before), and writes the new serial into
 * SERIAL (size SN). Nothing is replaced unless every check passed. */
int tg_fed_renew_install(const char *dir, const char *id, EVP_PKEY *key, const char *new_key,
                         json_t *j, char *serial, size_t sn, struct tg_err *err);

/* The daemon's own renewal on its main loop: with [federation] hub and a
 * certificate issued by ca.crt, every [federation] renew_check (default 1h)
 * it looks whether two thirds of the certificate's life (plus or minus a
 * thirtieth, at random) have passed; then it POSTs a CSR for its key to
 * {hub}/api/v1/certs/renew over mutual TLS, installs the answer and calls
 * RELOAD(UD). A failure is logged and tried again after 1 s to 1 min
 * (a thousandth of the life), doubling up to a tenth of it (at most 6 h).
 * A CA node without a hub renews from its own CA instead ([ca] validity).
 * [federation] renew = off turns it off. */
struct tg_fed_renew;
int tg_fed_renew_start(uv_loop_t *loop, const char *dir, void (*reload)(void *ud), void *ud,
                       struct tg_fed_renew **out, struct tg_err *err);
/* Re-reads the configuration and TLS material and looks now (on SIGHUP). */
void tg_fed_renew_kick(struct tg_fed_renew *r);
/* Cancels any request and frees R once its handles closed; NULL is a no-op. */
void tg_fed_renew_stop(struct tg_fed_renew *r);

#endif
