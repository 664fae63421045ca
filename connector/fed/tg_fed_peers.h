/* tg_fed_peers: the node's peers (the peers table of the node database):
 * list, get, add or update, remove, record a check's outcome, and the base
 * URL of a known peer for calls to it. All SQL on that table is here. */
#ifndef TG_FED_PEERS_H
#define TG_FED_PEERS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stddef.h>

struct tg_err;
struct tg_fed_check;

/* Every peer in DB, ordered by node id, as a new JSON array of {node_id,
 * url, fingerprint (or null), added_at, last_contact (or null),
 * latency_ms (or null), status: active|reachable|unreachable} into *OUT.
 * 0 or TG_EDB / TG_ENOMEM. */
int tg_fed_peers_list(sqlite3 *db, json_t **out, struct tg_err *err);
/* The peer NODE_ID as a new JSON object (as in the list) into *OUT;
 * TG_ENOENT when it is not a peer. */
int tg_fed_peers_get(sqlite3 *db, const char *node_id, json_t **out, struct tg_err *err);
/* Adds NODE_ID at URL (status active), or updates its URL (and its
 * FINGERPRINT when not NULL) when it is a peer already. Strings are bound,
 * not kept. */
int tg_fed_peers_upsert(sqlite3 *db, const char *node_id, const char *url,
                        const char *fingerprint, struct tg_err *err);
/* Removes NODE_ID; TG_ENOENT when it was not a peer. */
int tg_fed_peers_delete(sqlite3 *db, const char *node_id, struct tg_err *err);
/* Records the outcome of check C (tg_fed.h) for its peer: status reachable
 * or unreachable, latency; when reachable also the last contact and the
 * certificate fingerprint seen. A peer removed meanwhile is left alone. */
int tg_fed_peers_record(sqlite3 *db, const struct tg_fed_check *c, struct tg_err *err);
/* The ids of the peers whose last certificate seen (its serial, stored by
 * tg_fed_peers_record) the CRL at CRL_PATH revokes, into *OUT (a new array;
 * empty without a CRL). A revoked peer that cannot be reached is thus known
 * too. 0, or TG_EDB / TG_ENOMEM. */
int tg_fed_peers_revoked(sqlite3 *db, const char *crl_path, json_t **out, struct tg_err *err);

/* A number that changes after every peer added, changed or removed in this
 * process, for caching what tg_fed_peer_url gives. */
uint64_t tg_fed_peers_generation(void);
/* The base URL (https://HOST:PORT) of NODE_ID into OUT (size N) when it is
 * a known peer, whatever its last check found (a peer down five minutes ago
 * may be back: the caller finds out); TG_ENOENT otherwise, TG_ETOOBIG when
 * OUT is too small. */
int tg_fed_peer_url(sqlite3 *db, const char *node_id, char *out, size_t n, struct tg_err *err);

#endif
