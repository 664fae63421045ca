/* tg_fed_peers: the store of the node's peers over the node database's
 * peers table (created by node/'s schema): bound parameters only. */
#include "tg_fed_peers.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_util.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <string.h>

#define PEER_COLS "node_id, url, fingerprint, added_at, last_contact, latency_ms, status"

static int db_fail(sqlite3 *db, struct tg_err *err) {
  return tg_err_set(err, TG_EDB, "peers: %s", sqlite3_errmsg(db));
}

static json_t *int_or_null(sqlite3_stmt *st, int col) {
  return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
                                                     : json_integer(sqlite3_column_int64(st, col));
}

/* The row under ST (PEER_COLS) as a new JSON object, or NULL. */
static json_t *peer_row(sqlite3_stmt *st) {
  json_t *o = json_pack(
      "{s:s, s:s, s:s?, s:I, s:s}", "node_id", (const char *)sqlite3_column_text(st, 0), "url",
      (const char *)sqlite3_column_text(st, 1), "fingerprint",
      (const char *)sqlite3_column_text(st, 2), "added_at", (json_int_t)sqlite3_column_int64(st, 3),
      "status", (const char *)sqlite3_column_text(st, 6));
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "last_contact", int_or_null(st, 4));
  json_object_set_new(o, "latency_ms", int_or_null(st, 5));
  return o;
}

int tg_fed_peers_list(sqlite3 *db, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  *out = NULL;
  if (sqlite3_prepare_v2(db, "SELECT " PEER_COLS " FROM peers ORDER BY node_id", -1, &st, NULL) !=
      SQLITE_OK)
    return db_fail(db, err);
  json_t *a = json_array();
  int s, rc = 0;
  while (a != NULL && (s = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *o = peer_row(st);
    if (o == NULL || json_array_append_new(a, o) != 0) {
      rc = tg_err_set(err, TG_ENOMEM, "peers: out of memory");
      break;
    }
  }
  if (a == NULL)
    rc = tg_err_set(err, TG_ENOMEM, "peers: out of memory");
  else if (rc == 0 && s != SQLITE_DONE)
    rc = db_fail(db, err);
  sqlite3_finalize(st);
  if (rc != 0) {
    json_decref(a);
    return rc;
  }
  *out = a;
  return 0;
}

int tg_fed_peers_get(sqlite3 *db, const char *node_id, json_t **out, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  *out = NULL;
  if (sqlite3_prepare_v2(db, "SELECT " PEER_COLS " FROM peers WHERE node_id = ?", -1, &st, NULL) !=
      SQLITE_OK)
    return db_fail(db, err);
  sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW)
    rc = (*out = peer_row(st)) ? 0 : tg_err_set(err, TG_ENOMEM, "peers: out of memory");
  else if (s == SQLITE_DONE)
    rc = tg_err_set(err, TG_ENOENT, "%s is not a peer", node_id);
  else
    rc = db_fail(db, err);
  sqlite3_finalize(st);
  return rc;
}

/* Runs ST (prepared on DB, parameters bound) to its end and finalizes it. */
static int step_done(sqlite3 *db, sqlite3_stmt *st, struct tg_err *err) {
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, err);
  sqlite3_finalize(st);
  return rc;
}

/* Bumped after every change of a peer's URL or of the set of peers. */
static _Atomic uint64_t peers_generation = 1;

uint64_t tg_fed_peers_generation(void) { return atomic_load(&peers_generation); }

int tg_fed_peers_upsert(sqlite3 *db, const char *node_id, const char *url,
                        const char *fingerprint, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO peers(node_id, url, fingerprint, added_at, status)"
                         " VALUES(?1, ?2, ?3, ?4, 'active') ON CONFLICT(node_id) DO UPDATE"
                         " SET url = ?2, fingerprint = coalesce(?3, fingerprint)",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
  if (fingerprint != NULL)
    sqlite3_bind_text(st, 3, fingerprint, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, tg_time_now());
  int rc = step_done(db, st, err);
  atomic_fetch_add(&peers_generation, 1);
  return rc;
}

int tg_fed_peers_delete(sqlite3 *db, const char *node_id, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "DELETE FROM peers WHERE node_id = ?", -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
  int rc = step_done(db, st, err);
  atomic_fetch_add(&peers_generation, 1);
  if (rc == 0 && sqlite3_changes(db) == 0)
    rc = tg_err_set(err, TG_ENOENT, "%s is not a peer", node_id);
  return rc;
}

int tg_fed_peers_record(sqlite3 *db, const struct tg_fed_check *c, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "UPDATE peers SET status = ?2, latency_ms = ?3,"
                         " last_contact = CASE WHEN ?4 THEN ?5 ELSE last_contact END,"
                         " fingerprint = coalesce(?6, fingerprint),"
                         " serial = coalesce(?7, serial) WHERE node_id = ?1",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  sqlite3_bind_text(st, 1, c->node_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->ok ? "reachable" : "unreachable", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, c->latency_ms);
  sqlite3_bind_int(st, 4, c->ok);
  sqlite3_bind_int64(st, 5, c->checked_at);
  if (c->ok && c->fingerprint[0])
    sqlite3_bind_text(st, 6, c->fingerprint, -1, SQLITE_STATIC);
  if (c->ok && c->serial[0])
    sqlite3_bind_text(st, 7, c->serial, -1, SQLITE_STATIC);
  return step_done(db, st, err);
}

int tg_fed_peer_url(sqlite3 *db, const char *node_id, char *out, size_t n, struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT url FROM peers WHERE node_id = ?",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW) {
    const char *u = (const char *)sqlite3_column_text(st, 0);
    size_t l = u ? strlen(u) : 0;
    if (u == NULL || l >= n)
      rc = tg_err_set(err, TG_ETOOBIG, "the URL of peer %s does not fit", node_id);
    else
      memcpy(out, u, l + 1);
  } else if (s == SQLITE_DONE) {
    rc = tg_err_set(err, TG_ENOENT, "%s is not a known peer", node_id);
  } else {
    rc = db_fail(db, err);
  }
  sqlite3_finalize(st);
  return rc;
}

/* 1 if CRL lists the serial number HEX (upper-case hex). */
static int crl_lists(X509_CRL *crl, const char *hex) {
  BIGNUM *bn = NULL;
  X509_REVOKED *rev = NULL;
  if (BN_hex2bn(&bn, hex) != (int)strlen(hex)) {
    BN_free(bn);
    return 0;
  }
  ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, NULL);
  int hit = sn != NULL && X509_CRL_get0_by_serial(crl, &rev, sn) == 1;
  ASN1_INTEGER_free(sn);
  BN_free(bn);
  return hit;
}

int tg_fed_peers_revoked(sqlite3 *db, const char *crl_path, json_t **out, struct tg_err *err) {
  X509_CRL *crl = NULL;
  sqlite3_stmt *st = NULL;
  *out = json_array();
  if (*out == NULL)
    return tg_err_set(err, TG_ENOMEM, "peers: out of memory");
  /* The installed CRL was checked against the federation CA when it came. */
  if (crl_path == NULL || tg_cert_crl_load(crl_path, &crl, NULL) != 0) {
    ERR_clear_error();
    return 0;
  }
  int rc = 0, s;
  if (sqlite3_prepare_v2(db, "SELECT node_id, serial FROM peers WHERE serial IS NOT NULL", -1,
                         &st, NULL) != SQLITE_OK)
    rc = db_fail(db, err);
  while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *hex = (const char *)sqlite3_column_text(st, 1);
    if (hex != NULL && crl_lists(crl, hex) &&
        json_array_append_new(*out, json_string((const char *)sqlite3_column_text(st, 0))) != 0)
      rc = tg_err_set(err, TG_ENOMEM, "peers: out of memory");
  }
  if (rc == 0 && s != SQLITE_DONE)
    rc = db_fail(db, err);
  sqlite3_finalize(st);
  X509_CRL_free(crl);
  ERR_clear_error();
  return rc;
}
