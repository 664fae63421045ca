/* tg_cert_ca: the federation CA: its directory (key, certificate, CRL, record
 * database), enrollment tokens, node certificate issuance and revocation.
 * Every check runs before anything is written; writes go in one transaction. */
#include "tg_cert_ca.h"
#include "tg_cert.h"
#include "tg_cert__.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_util.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct tg_cert_ca {
  char dir[4096];
  EVP_PKEY *key; /* the CA key, loaded when first needed to sign (ca_key) */
  X509 *cert;    /* the CA certificate */
  sqlite3 *db;   /* ca.db */
};

static const struct tg_db_migration ca_schema[] = {
  {1, "CREATE TABLE ca_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
      "INSERT INTO ca_meta VALUES('crl_number', 1);"
      "CREATE TABLE ca_tokens(hash TEXT PRIMARY KEY, node_id TEXT NOT NULL,"
      "  created INTEGER NOT NULL, expires INTEGER NOT NULL, used_at INTEGER);"
      "CREATE TABLE ca_certs(serial TEXT PRIMARY KEY, node_id TEXT NOT NULL,"
      "  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL, sha256 TEXT NOT NULL,"
      "  issued_at INTEGER NOT NULL, how TEXT NOT NULL, pem TEXT NOT NULL,"
      "  revoked_at INTEGER, reason INTEGER);"
      "CREATE INDEX ca_certs_node ON ca_certs(node_id);"
      "CREATE TABLE ca_log(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, event TEXT NOT NULL,"
      "  node_id TEXT, serial TEXT, detail TEXT);"},
  /* 2: a token may name the hosts its node may enrol with (NULL: any). */
  {2, "ALTER TABLE ca_tokens ADD COLUMN hosts TEXT;"},
  /* 3: each renewal or key rotation records the certificate it was
   * authenticated by, so that a node's certificates form families (one per
   * enrolment) that are revoked together. Renewals recorded before this get
   * the node's certificate issued just before them, erring on the side of
   * linking too much rather than leaving a successor out. */
  {3, "ALTER TABLE ca_certs ADD COLUMN prev_serial TEXT;"
      "CREATE INDEX ca_certs_prev ON ca_certs(prev_serial);"
      "UPDATE ca_certs SET prev_serial = (SELECT p.serial FROM ca_certs p"
      "  WHERE p.node_id = ca_certs.node_id AND p.rowid < ca_certs.rowid"
      "  ORDER BY p.rowid DESC LIMIT 1) WHERE how = 'renew';"},
  /* 4: the URLs members are reached at (the federation directory), which
   * fed/ used to keep in its own table fed_urls in this database: its rows
   * are carried over and it is dropped (created empty first if it never
   * was), so that certs/ alone holds SQL on ca.db. */
  {4, "CREATE TABLE ca_urls(node_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS fed_urls(node_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "INSERT INTO ca_urls SELECT node_id, url, updated_at FROM fed_urls;"
      "DROP TABLE fed_urls;"
      "DELETE FROM tg_schema WHERE component = 'federation';"},
};

/* The family of certificate ?1: up to the enrolment it descends from, then
 * every certificate renewed or rotated from that one, transitively. */
#define CA_FAMILY                                                                          \
  "WITH RECURSIVE up(serial, prev) AS ("                                                 \
  "  SELECT serial, prev_serial FROM ca_certs WHERE serial = ?1"                         \
  "  UNION SELECT c.serial, c.prev_serial FROM ca_certs c JOIN up ON c.serial = up.prev)," \
  " fam(serial) AS ("                                                                    \
  "  SELECT serial FROM up WHERE prev IS NULL OR prev NOT IN (SELECT serial FROM up)"    \
  "  UNION SELECT c.serial FROM ca_certs c JOIN fam ON c.prev_serial = fam.serial) "
#define CA_SCHEMA_VERSIONS (int)(sizeof(ca_schema) / sizeof(ca_schema[0]))

static int ca_path(char *out, size_t n, const char *dir, const char *file) {
  return tg_path_join(out, n, dir, file);
}

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* A random positive 128-bit serial with its top bit clear and not zero. */
static int set_serial(X509 *x) {
  unsigned char s[16];
  if (tg_random_bytes(s, sizeof(s)) != 0)
    return 0;
  s[0] = (unsigned char)((s[0] & 0x7f) | 0x01);
  BIGNUM *bn = BN_bin2bn(s, sizeof(s), NULL);
  int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  BN_free(bn);
  return ok;
}

static int make_ca_cert(EVP_PKEY *key, const char *name, int days, X509 **out,
                        struct tg_err *err) {
  X509 *x = X509_new();
  int ok = x != NULL && X509_set_version(x, 2) && set_serial(x) &&
           X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
           X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) && X509_set_pubkey(x, key) &&
           X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                      (const unsigned char *)name, -1, -1, 0) &&
           X509_set_issuer_name(x, X509_get_subject_name(x)) &&
           tg__cert_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
           tg__cert_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
           tg__cert_add_ext(x, x, NID_subject_key_identifier, "hash") &&
           tg__cert_add_ext(x, x, NID_authority_key_identifier, "keyid:always") &&
           X509_sign(x, key, EVP_sha256());
  if (!ok) {
    X509_free(x);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot build the CA certificate");
  }
  *out = x;
  return 0;
}

static int add_revoked(X509_CRL *crl, const char *serial_hex, int64_t at, int reason) {
  BIGNUM *bn = NULL;
  X509_REVOKED *r = X509_REVOKED_new();
  ASN1_INTEGER *sn = NULL;
  ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)at);
  int ok = r != NULL && t != NULL && BN_hex2bn(&bn, serial_hex) > 0 &&
           (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_REVOKED_set_serialNumber(r, sn) &&
           X509_REVOKED_set_revocationDate(r, t);
  if (ok && reason > 0) {
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    ok = e != NULL && ASN1_ENUMERATED_set(e, reason) &&
         X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
    ASN1_ENUMERATED_free(e);
  }
  ok = ok && X509_CRL_add0_revoked(crl, r);
  if (!ok)
    X509_REVOKED_free(r);
  BN_free(bn);
  ASN1_INTEGER_free(sn);
  ASN1_TIME_free(t);
  return ok;
}

/* Builds and signs a CRL numbered NUMBER listing every revoked certificate in
 * DB (none when DB is NULL). */
static int make_crl(EVP_PKEY *key, X509 *cacert, sqlite3 *db, int64_t number, X509_CRL **out,
                    struct tg_err *err) {
  X509_CRL *crl = X509_CRL_new();
  time_t now = (time_t)tg_time_now();
  ASN1_TIME *last = ASN1_TIME_set(NULL, now);
  ASN1_TIME *next = ASN1_TIME_set(NULL, now + (time_t)TG_CA_CRL_DAYS * 86400);
  ASN1_INTEGER *num = ASN1_INTEGER_new();
  int ok = crl != NULL && last != NULL && next != NULL && num != NULL &&
           X509_CRL_set_version(crl, 1) &&
           X509_CRL_set_issuer_name(crl, X509_get_subject_name(cacert)) &&
           X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next) &&
           ASN1_INTEGER_set_int64(num, number) &&
           X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
  if (ok) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cacert, NULL, NULL, crl, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                                            "keyid:always");
    ok = e != NULL && X509_CRL_add_ext(crl, e, -1);
    X509_EXTENSION_free(e);
  }
  if (ok && db != NULL) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT serial, revoked_at, reason FROM ca_certs "
                           "WHERE revoked_at IS NOT NULL ORDER BY serial",
                           -1, &st, NULL) != SQLITE_OK) {
      ok = 0;
    } else {
      int s;
      while (ok && (s = sqlite3_step(st)) == SQLITE_ROW)
        ok = add_revoked(crl, (const char *)sqlite3_column_text(st, 0),
                         sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2));
      ok = ok && s == SQLITE_DONE;
    }
    sqlite3_finalize(st);
  }
  ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256());
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  ASN1_INTEGER_free(num);
  if (!ok) {
    X509_CRL_free(crl);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot build the CRL");
  }
  *out = crl;
  return 0;
}

static int write_crl(const char *dir, X509_CRL *crl, int excl, struct tg_err *err) {
  char path[4096], *pem = NULL;
  int rc = tg_cert_crl_pem(crl, &pem, err);
  if (rc != 0)
    return rc;
  if (ca_path(path, sizeof(path), dir, TG_CA_CRL) != 0)
    rc = tg_err_set(err, TG_ETOOBIG, "CA directory path too long");
  else
    rc = tg_file_write(path, pem, strlen(pem), 0644, excl, err);
  free(pem);
  return rc;
}

static int db_log(sqlite3 *db, const char *event, const char *node_id, const char *serial,
                  const char *detail) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "INSERT INTO ca_log(at, event, node_id, serial, detail) "
                             "VALUES(?, ?, ?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK)
    return TG_EDB;
  sqlite3_bind_int64(st, 1, tg_time_now());
  sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, node_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, serial, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TG_EDB;
  sqlite3_finalize(st);
  return rc;
}

static const char *const ca_files[] = {TG_CA_KEY, TG_CA_CERT, TG_CA_CRL, TG_CA_DB};

int tg_cert_ca_init(const char *dir, const char *name, int days, struct tg_err *err) {
  char path[4096];
  struct stat st;
  int made[4] = {0, 0, 0, 0}, rc;
  EVP_PKEY *key = NULL;
  X509 *cert = NULL;
  X509_CRL *crl = NULL;
  sqlite3 *db = NULL;
  if (days == 0)
    days = TG_CA_DEFAULT_DAYS;
  if (dir == NULL || name == NULL || name[0] == '\0' || strlen(name) > 64)
    return tg_err_set(err, TG_EINVAL, "a CA needs a directory and a name of 1-64 characters");
  if (days < 1 || days > 36500)
    return tg_err_set(err, TG_EINVAL, "CA validity must be 1-36500 days");
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
    return tg_err_set(err, TG_EEXIST, "%s exists and is not a directory", dir);
  for (int i = 0; i < 4; i++) {
    if (ca_path(path, sizeof(path), dir, ca_files[i]) != 0)
      return tg_err_set(err, TG_ETOOBIG, "CA directory path too long");
    if (exists(path))
      return tg_err_set(err, TG_EEXIST, "refusing to overwrite the CA in %s (%s exists)", dir,
                        ca_files[i]);
  }
  if ((rc = tg_cert_key_new(&key, err)) != 0 || (rc = make_ca_cert(key, name, days, &cert, err)))
    goto out;
  if ((rc = make_crl(key, cert, NULL, 1, &crl, err)) != 0)
    goto out;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    rc = tg_err_set(err, TG_EIO, "cannot create %s: %s", dir, strerror(errno));
    goto out;
  }
  ca_path(path, sizeof(path), dir, TG_CA_KEY);
  if ((rc = tg_cert_key_save(key, path, err)) != 0)
    goto out;
  made[0] = 1;
  char *pem = NULL;
  ca_path(path, sizeof(path), dir, TG_CA_CERT);
  if ((rc = tg_cert_pem(cert, &pem, err)) != 0)
    goto out;
  rc = tg_file_write(path, pem, strlen(pem), 0644, 1, err);
  free(pem);
  if (rc != 0)
    goto out;
  made[1] = 1;
  if ((rc = write_crl(dir, crl, 1, err)) != 0)
    goto out;
  made[2] = 1;
  ca_path(path, sizeof(path), dir, TG_CA_DB);
  made[3] = 1;
  if ((rc = tg_db_open(path, 1, &db, err)) != 0 ||
      (rc = tg_db_migrate(db, "ca", ca_schema, CA_SCHEMA_VERSIONS, err)) != 0)
    goto out;
  char detail[128];
  snprintf(detail, sizeof(detail), "CA '%s' for %d days", name, days);
  char serial[48];
  tg_cert_serial_hex(cert, serial, sizeof(serial));
  if (db_log(db, "init", NULL, serial, detail) != 0)
    rc = tg_err_set(err, TG_EDB, "cannot record the CA: %s", sqlite3_errmsg(db));
out:
  tg_db_close(db);
  if (rc != 0) {
    static const char *const extra[] = {"ca.db-wal", "ca.db-shm"};
    for (int i = 0; i < 4; i++)
      if (made[i] && ca_path(path, sizeof(path), dir, ca_files[i]) == 0)
        unlink(path);
    for (int i = 0; made[3] && i < 2; i++)
      if (ca_path(path, sizeof(path), dir, extra[i]) == 0)
        unlink(path);
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  X509_CRL_free(crl);
  return rc;
}

int tg_cert_ca_open(const char *dir, struct tg_cert_ca **out, struct tg_err *err) {
  char path[4096];
  int rc;
  struct tg_cert_ca *ca = calloc(1, sizeof(*ca));
  if (ca == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  if (strlen(dir) >= sizeof(ca->dir)) {
    free(ca);
    return tg_err_set(err, TG_ETOOBIG, "CA directory path too long");
  }
  memcpy(ca->dir, dir, strlen(dir) + 1);
  ca_path(path, sizeof(path), dir, TG_CA_DB);
  struct stat st;
  if (stat(path, &st) != 0) {
    /* Only a missing ca.db means no CA; a directory this user may not
     * enter is a CA that cannot be opened, and says why. */
    if (errno == ENOENT || errno == ENOTDIR)
      rc = tg_err_set(err, TG_ENOENT, "no CA in %s (run tsunagu ca init)", dir);
    else
      rc = tg_err_set(err, TG_EIO, "cannot open %s: %s", path, strerror(errno));
    goto fail;
  }
  ca_path(path, sizeof(path), dir, TG_CA_CERT);
  if ((rc = tg_cert_load(path, &ca->cert, err)) != 0)
    goto fail;
  ca_path(path, sizeof(path), dir, TG_CA_DB);
  if ((rc = tg_db_open(path, 0, &ca->db, err)) != 0 ||
      (rc = tg_db_migrate(ca->db, "ca", ca_schema, CA_SCHEMA_VERSIONS, err)) != 0)
    goto fail;
  *out = ca;
  return 0;
fail:
  tg_cert_ca_close(ca);
  return rc;
}

/* Loads the CA key the first time something is signed: checking an
 * enrollment token or a certificate's record never touches it. */
static int ca_key(struct tg_cert_ca *ca, struct tg_err *err) {
  char path[4096];
  EVP_PKEY *key = NULL;
  if (ca->key != NULL)
    return 0;
  ca_path(path, sizeof(path), ca->dir, TG_CA_KEY);
  int rc = tg_cert_key_load(path, &key, err);
  if (rc != 0)
    return rc;
  if (X509_check_private_key(ca->cert, key) != 1) {
    EVP_PKEY_free(key);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "the CA key does not match ca.crt");
  }
  ca->key = key;
  return 0;
}

void tg_cert_ca_close(struct tg_cert_ca *ca) {
  if (ca == NULL)
    return;
  EVP_PKEY_free(ca->key);
  X509_free(ca->cert);
  tg_db_close(ca->db);
  free(ca);
}

X509 *tg_cert_ca_cert_get(const struct tg_cert_ca *ca) { return ca->cert; }

static void token_hash(const char *token, char out[65]) {
  unsigned char md[32];
  EVP_Digest(token, strlen(token), md, NULL, EVP_sha256(), NULL);
  tg_hex(md, sizeof(md), out);
}

int tg_cert_ca_token_new(struct tg_cert_ca *ca, const char *node_id, uint64_t ttl_s, char *out,
                         size_t n, struct tg_err *err) {
  return tg_cert_ca_token_new_hosts(ca, node_id, ttl_s, NULL, out, n, err);
}

int tg_cert_ca_token_new_hosts(struct tg_cert_ca *ca, const char *node_id, uint64_t ttl_s,
                               const char *hosts, char *out, size_t n, struct tg_err *err) {
  unsigned char raw[TG_CA_TOKEN_LEN / 2];
  char tok[TG_CA_TOKEN_LEN + 1], hash[65];
  if (!tg_node_id_valid(node_id))
    return tg_err_set(err, TG_EINVAL, "invalid node id '%.80s'", node_id ? node_id : "");
  if (ttl_s == 0 || ttl_s > 366ull * 86400)
    return tg_err_set(err, TG_EINVAL, "a token lives 1 second to 366 days");
  if (n < sizeof(tok))
    return tg_err_set(err, TG_ETOOBIG, "token buffer too small");
  if (hosts != NULL && (hosts[0] == '\0' || strlen(hosts) > 1024))
    return tg_err_set(err, TG_EINVAL, "the token's host list is empty or too long");
  if (tg_random_bytes(raw, sizeof(raw)) != 0)
    return tg_err_set(err, TG_EIO, "no randomness for the token");
  tg_hex(raw, sizeof(raw), tok);
  token_hash(tok, hash);
  int64_t now = tg_time_now();
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(ca->db,
                         "INSERT INTO ca_tokens(hash, node_id, created, expires, hosts) VALUES(?,?,?,?,?)",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, node_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, now);
  sqlite3_bind_int64(st, 4, now + (int64_t)ttl_s);
  sqlite3_bind_text(st, 5, hosts, -1, SQLITE_STATIC); /* NULL binds NULL */
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TG_EDB;
  sqlite3_finalize(st);
  if (rc == 0)
    rc = db_log(ca->db, "token", node_id, NULL, NULL);
  if (rc != 0)
    return tg_err_set(err, TG_EDB, "cannot store the token: %s", sqlite3_errmsg(ca->db));
  memcpy(out, tok, sizeof(tok));
  OPENSSL_cleanse(tok, sizeof(tok));
  OPENSSL_cleanse(raw, sizeof(raw));
  return 0;
}

/* Whether each host of the comma list WANT is in the comma list ALLOWED
 * (case-insensitive); names the first one that is not in *BAD. */
static int hosts_allowed(const char *want, const char *allowed, char *bad, size_t bn) {
  for (const char *p = want ? want : ""; *p;) {
    size_t l = strcspn(p, ","), found = 0;
    for (const char *q = allowed; *q && !found;) {
      size_t m = strcspn(q, ",");
      found = m == l && strncasecmp(p, q, l) == 0;
      q += m + (q[m] == ',');
    }
    if (l > 0 && !found) {
      snprintf(bad, bn, "%.*s", (int)l, p);
      return 0;
    }
    p += l + (p[l] == ',');
  }
  return 1;
}

/* Checks TOKEN for NODE_ID and HOSTS without changing anything; HASH gets its hash. */
static int token_check(struct tg_cert_ca *ca, const char *token, const char *node_id,
                       const char *hosts, char hash[65], struct tg_err *err) {
  sqlite3_stmt *st;
  int rc;
  if (strlen(token) != TG_CA_TOKEN_LEN)
    return tg_err_set(err, TG_ENOENT, "unknown enrollment token");
  token_hash(token, hash);
  if (sqlite3_prepare_v2(ca->db, "SELECT node_id, expires, used_at, hosts FROM ca_tokens WHERE hash=?",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW)
    rc = tg_err_set(err, TG_ENOENT, "unknown enrollment token");
  else if (strcmp((const char *)sqlite3_column_text(st, 0), node_id) != 0)
    rc = tg_err_set(err, TG_EPERM, "the enrollment token is for node '%s', not '%s'",
                    (const char *)sqlite3_column_text(st, 0), node_id);
  else if (sqlite3_column_type(st, 2) != SQLITE_NULL)
    rc = tg_err_set(err, TG_ECONFLICT, "the enrollment token has already been used");
  else if (sqlite3_column_int64(st, 1) <= tg_time_now())
    rc = tg_err_set(err, TG_ETIMEDOUT, "the enrollment token has expired");
  else
    rc = 0;
  char bad[256];
  const char *allowed = (const char *)sqlite3_column_text(st, 3);
  if (rc == 0 && allowed != NULL && !hosts_allowed(hosts, allowed, bad, sizeof(bad)))
    rc = tg_err_set(err, TG_EPERM, "the enrollment token does not allow host '%s' (only %s)", bad,
                    allowed);
  sqlite3_finalize(st);
  return rc;
}

int tg_cert_ca_token_check(struct tg_cert_ca *ca, const char *token, const char *node_id,
                           const char *hosts, struct tg_err *err) {
  char hash[65];
  if (!tg_cert_ca_token_plausible(token))
    return tg_err_set(err, TG_ENOENT, "unknown enrollment token");
  return token_check(ca, token, node_id, hosts, hash, err);
}

int tg_cert_ca_token_plausible(const char *token) {
  size_t n = strspn(token, "0123456789abcdef");
  return n == TG_CA_TOKEN_LEN && token[n] == '\0';
}

static int make_node_cert(struct tg_cert_ca *ca, const struct tg_cert_issue *o, EVP_PKEY *pub,
                          GENERAL_NAMES *san, X509 **out, struct tg_err *err) {
  int64_t valid = o->valid_s ? o->valid_s : (int64_t)TG_CA_NODE_DAYS * 86400;
  /* The default allowance for clock skew is at most a tenth of the validity:
   * a short-lived certificate (a test of renewal at two thirds of its life)
   * would otherwise be mostly past at issuance. */
  int64_t back = o->backdate_s == 0 ? (valid / 10 < 300 ? valid / 10 : 300)
                 : o->backdate_s < 0 ? 0 : o->backdate_s;
  X509 *x = X509_new();
  int ok = x != NULL && X509_set_version(x, 2) && set_serial(x) &&
           X509_gmtime_adj(X509_getm_notBefore(x), -(long)back) &&
           X509_gmtime_adj(X509_getm_notAfter(x), (long)valid) && X509_set_pubkey(x, pub) &&
           X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                      (const unsigned char *)o->node_id, -1, -1, 0) &&
           X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) &&
           tg__cert_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") &&
           tg__cert_add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") &&
           tg__cert_add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") &&
           tg__cert_add_ext(x, ca->cert, NID_subject_key_identifier, "hash") &&
           tg__cert_add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") &&
           X509_add1_ext_i2d(x, NID_subject_alt_name, san, 0, X509V3_ADD_DEFAULT) == 1 &&
           X509_sign(x, ca->key, EVP_sha256());
  if (!ok) {
    X509_free(x);
    return tg__cert_ossl_fail(err, TG_ECRYPTO, "cannot build the node certificate");
  }
  *out = x;
  return 0;
}

static int64_t asn1_epoch(const ASN1_TIME *t) {
  struct tm tm;
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
    return 0;
  return (int64_t)timegm(&tm);
}

int64_t tg_cert_not_before(const X509 *cert) {
  return cert ? asn1_epoch(X509_get0_notBefore(cert)) : 0;
}

int64_t tg_cert_not_after(const X509 *cert) {
  return cert ? asn1_epoch(X509_get0_notAfter(cert)) : 0;
}

int64_t tg_cert_crl_next_update(const X509_CRL *crl) {
  return crl ? asn1_epoch(X509_CRL_get0_nextUpdate(crl)) : 0;
}

static int next_crl(struct tg_cert_ca *ca, X509_CRL **out, struct tg_err *err);
static int publish_crl(struct tg_cert_ca *ca, X509_CRL *crl, struct tg_err *err);

/* Inside a transaction: revokes with REASON at NOW every unrevoked
 * certificate of SERIAL's family (SERIAL itself whatever its expiry, the
 * others while still valid); *N gets how many. */
static int revoke_family(struct tg_cert_ca *ca, const char *serial, int reason, int64_t now, int *n,
                         struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(ca->db,
                         CA_FAMILY "UPDATE ca_certs SET revoked_at = ?2, reason = ?3"
                                   " WHERE serial IN fam AND revoked_at IS NULL"
                                   " AND (serial = ?1 OR not_after > ?2)",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now);
  sqlite3_bind_int(st, 3, reason);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_finalize(st);
  if (rc == 0)
    *n = sqlite3_changes(ca->db);
  return rc;
}

/* Checks a renewal of RENEWS (presented by O->node_id) into PUB: the CA's
 * records must allow it, and the key must stay unless O->rotate asks for a
 * new one. PREV gets RENEWS's serial. */
static int renewal_check(struct tg_cert_ca *ca, const struct tg_cert_issue *o, EVP_PKEY *pub,
                         char prev[48], struct tg_err *err) {
  int rc = tg_cert_ca_cert_status(ca, o->renews, o->node_id, err);
  if (rc != 0)
    return rc;
  if (tg_cert_serial_hex(o->renews, prev, 48) != 0)
    return tg_err_set(err, TG_EINVAL, "unreadable certificate serial");
  int same = EVP_PKEY_eq(X509_get0_pubkey(o->renews), pub) == 1;
  if (!same && !o->rotate)
    return tg_err_set(err, TG_ECONFLICT,
                      "the CSR is for another key than certificate %s: a renewal keeps the key; "
                      "a new key must be asked for as a key rotation",
                      prev);
  if (same && o->rotate)
    return tg_err_set(err, TG_ECONFLICT,
                      "a key rotation needs a CSR for a new key, not the key of certificate %s",
                      prev);
  return 0;
}

int tg_cert_ca_issue(struct tg_cert_ca *ca, const struct tg_cert_issue *o, X509_REQ *csr,
                     X509 **out, struct tg_err *err) {
  char hash[65], serial[48], prev[48] = "", fp[65], *pem = NULL;
  unsigned char md[32];
  GENERAL_NAMES *san = NULL;
  X509 *x = NULL;
  X509_CRL *crl = NULL;
  int rc;
  if (o->valid_s < 0 || o->valid_s > 36500ll * 86400)
    return tg_err_set(err, TG_EINVAL, "validity out of range");
  if (o->rotate && o->renews == NULL)
    return tg_err_set(err, TG_EINVAL, "a key rotation renews a certificate");
  if ((rc = tg__cert_san(o->node_id, o->hosts, &san, err)) != 0)
    return rc;
  EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
  if ((rc = tg__cert_key_check(pub, "the CSR's", err)) != 0)
    goto out;
  if (X509_REQ_verify(csr, pub) != 1) {
    rc = tg__cert_ossl_fail(err, TG_ECRYPTO, "the CSR's signature does not verify");
    goto out;
  }
  if (o->token != NULL && (rc = token_check(ca, o->token, o->node_id, o->hosts, hash, err)) != 0)
    goto out;
  if (o->renews != NULL && (rc = renewal_check(ca, o, pub, prev, err)) != 0)
    goto out;
  if ((rc = ca_key(ca, err)) != 0 || (rc = make_node_cert(ca, o, pub, san, &x, err)) != 0)
    goto out;
  unsigned int mdl = sizeof(md);
  if (tg_cert_serial_hex(x, serial, sizeof(serial)) != 0 ||
      !X509_digest(x, EVP_sha256(), md, &mdl) || (rc = tg_cert_pem(x, &pem, err)) != 0) {
    rc = rc ? rc : tg_err_set(err, TG_ECRYPTO, "cannot describe the certificate");
    goto out;
  }
  tg_hex(md, 32, fp);
  if ((rc = tg_db_exec(ca->db, "BEGIN IMMEDIATE", err)) != 0)
    goto out;
  sqlite3_stmt *st = NULL;
  if (o->token != NULL) {
    if (sqlite3_prepare_v2(ca->db,
                           "UPDATE ca_tokens SET used_at=?1 WHERE hash=?2 AND node_id=?3 "
                           "AND used_at IS NULL AND expires > ?1",
                           -1, &st, NULL) != SQLITE_OK) {
      rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
      goto rollback;
    }
    sqlite3_bind_int64(st, 1, tg_time_now());
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->node_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE || sqlite3_changes(ca->db) != 1) {
      rc = tg_err_set(err, TG_ECONFLICT, "the enrollment token has just been used or expired");
      goto rollback;
    }
  }
  if (o->renews != NULL) {
    /* Under the write lock: the presented certificate may have been revoked
     * since the check above. */
    if ((rc = tg_cert_ca_cert_status(ca, o->renews, o->node_id, err)) != 0)
      goto rollback;
    /* A rotation retires the old key: every other certificate of the family
     * (all of them for that key) is revoked as superseded, published below. */
    int n = 0;
    if (o->rotate && ((rc = revoke_family(ca, prev, 4, tg_time_now(), &n, err)) != 0 ||
                      (rc = next_crl(ca, &crl, err)) != 0))
      goto rollback;
  }
  if (sqlite3_prepare_v2(ca->db,
                         "INSERT INTO ca_certs(serial, node_id, not_before, not_after, sha256,"
                         " issued_at, how, pem, prev_serial) VALUES(?,?,?,?,?,?,?,?,?)",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
    goto rollback;
  }
  sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, o->node_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, asn1_epoch(X509_get0_notBefore(x)));
  sqlite3_bind_int64(st, 4, asn1_epoch(X509_get0_notAfter(x)));
  sqlite3_bind_text(st, 5, fp, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, tg_time_now());
  sqlite3_bind_text(st, 7, o->how ? o->how : (o->token ? "token" : "offline"), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 8, pem, -1, SQLITE_STATIC);
  if (prev[0])
    sqlite3_bind_text(st, 9, prev, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  char detail[1200];
  snprintf(detail, sizeof(detail), "%s%s%s", o->hosts ? o->hosts : "",
           prev[0] ? (o->rotate ? "; new key, from " : "; from ") : "", prev);
  if (s != SQLITE_DONE ||
      db_log(ca->db, o->rotate ? "rotate" : "issue", o->node_id, serial, detail) != 0) {
    rc = tg_err_set(err, TG_EDB, "cannot record the issuance: %s", sqlite3_errmsg(ca->db));
    goto rollback;
  }
  if ((rc = tg_db_exec(ca->db, "COMMIT", err)) != 0)
    goto rollback;
  *out = x;
  x = NULL;
  if (crl != NULL) {
    rc = publish_crl(ca, crl, err); /* frees it */
    crl = NULL;
    if (rc != 0) { /* issued and recorded: the caller gets the certificate */
      tg_err_clear(err);
      rc = 0;
    }
  }
  goto out;
rollback:
  tg_db_exec(ca->db, "ROLLBACK", NULL);
out:
  X509_CRL_free(crl);
  free(pem);
  X509_free(x);
  GENERAL_NAMES_free(san);
  return rc;
}

static const struct {
  const char *name;
  int code;
} reasons[] = {
  {"unspecified", 0},          {"keyCompromise", 1},        {"affiliationChanged", 3},
  {"superseded", 4},           {"cessationOfOperation", 5}, {"privilegeWithdrawn", 9},
};

int tg_cert_crl_reason(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
    if (strcasecmp(name, reasons[i].name) == 0)
      return reasons[i].code;
  return -1;
}

/* Normalises a serial ("0a:1B", "0x0A1b") to BN_bn2hex form in OUT. */
static int serial_norm(const char *in, char *out, size_t n) {
  char clean[128];
  size_t o = 0;
  if (strncmp(in, "0x", 2) == 0 || strncmp(in, "0X", 2) == 0)
    in += 2;
  for (; *in; in++) {
    if (*in == ':')
      continue;
    if (o + 1 >= sizeof(clean) || !((*in >= '0' && *in <= '9') || (*in >= 'a' && *in <= 'f') ||
                                     (*in >= 'A' && *in <= 'F')))
      return TG_EINVAL;
    clean[o++] = *in;
  }
  clean[o] = '\0';
  BIGNUM *bn = NULL;
  if (o == 0 || BN_hex2bn(&bn, clean) != (int)o) {
    BN_free(bn);
    return TG_EINVAL;
  }
  char *h = BN_bn2hex(bn);
  BN_free(bn);
  int rc = h != NULL && strlen(h) < n ? 0 : TG_EINVAL;
  if (rc == 0)
    memcpy(out, h, strlen(h) + 1);
  OPENSSL_free(h);
  return rc;
}

/* Inside a transaction: bumps crlNumber and builds the CRL into *OUT. The
 * caller writes crl.pem after COMMIT, so that a rolled-back revocation never
 * reaches the published file (nor reuses its number). */
static int next_crl(struct tg_cert_ca *ca, X509_CRL **out, struct tg_err *err) {
  sqlite3_stmt *st;
  int64_t number = 0;
  if (sqlite3_prepare_v2(ca->db, "UPDATE ca_meta SET v = v + 1 WHERE k='crl_number' RETURNING v",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  if (sqlite3_step(st) == SQLITE_ROW)
    number = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (number < 2)
    return tg_err_set(err, TG_EDB, "cannot advance the CRL number: %s", sqlite3_errmsg(ca->db));
  int rc = ca_key(ca, err);
  return rc ? rc : make_crl(ca->key, ca->cert, ca->db, number, out, err);
}

/* After COMMIT: publishes CRL (and frees it). */
static int publish_crl(struct tg_cert_ca *ca, X509_CRL *crl, struct tg_err *err) {
  int rc = write_crl(ca->dir, crl, 0, err);
  X509_CRL_free(crl);
  if (rc != 0) {
    char why[256];
    snprintf(why, sizeof(why), "%s", tg_err_msg(err, rc));
    return tg_err_set(err, rc, "the CA recorded it but could not write %s/%s (%s); run "
                               "tsunagu ca crl to publish it",
                      ca->dir, TG_CA_CRL, why);
  }
  return 0;
}

int tg_cert_ca_revoke(struct tg_cert_ca *ca, const char *node_id, const char *serial, int reason,
                      int *count, struct tg_err *err) {
  char sn[80];
  sqlite3_stmt *st = NULL;
  int rc, n = 0;
  if ((node_id == NULL) == (serial == NULL))
    return tg_err_set(err, TG_EINVAL, "revoke either by node id or by serial");
  if (reason < 0 || reason > 10 || reason == 2 || reason == 6 || reason == 7 || reason == 8)
    return tg_err_set(err, TG_EINVAL, "unsupported revocation reason %d", reason);
  if (serial != NULL && serial_norm(serial, sn, sizeof(sn)) != 0)
    return tg_err_set(err, TG_EINVAL, "'%.80s' is not a hexadecimal serial", serial);
  if (node_id != NULL && !tg_node_id_valid(node_id))
    return tg_err_set(err, TG_EINVAL, "invalid node id '%.80s'", node_id);
  if ((rc = tg_db_exec(ca->db, "BEGIN IMMEDIATE", err)) != 0)
    return rc;
  if (serial != NULL) {
    /* A certificate and every certificate renewed or rotated from it or
     * into it: whoever held the key of one could have renewed into the
     * others, so revoking only the named one would leave its successors in. */
    if (sqlite3_prepare_v2(ca->db, "SELECT node_id FROM ca_certs WHERE serial=?", -1, &st,
                           NULL) != SQLITE_OK)
      goto dberr;
    sqlite3_bind_text(st, 1, sn, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (s != SQLITE_ROW) {
      rc = tg_err_set(err, TG_ENOENT, "this CA issued no certificate with serial %s", sn);
      goto rollback;
    }
    if ((rc = revoke_family(ca, sn, reason, tg_time_now(), &n, err)) != 0)
      goto rollback;
    if (n == 0) {
      rc = tg_err_set(err, TG_EEXIST,
                      "certificate %s is already revoked, and so is every certificate renewed "
                      "from it or into it",
                      sn);
      goto rollback;
    }
  } else {
    if (sqlite3_prepare_v2(ca->db,
                           "UPDATE ca_certs SET revoked_at=?1, reason=?2 "
                           "WHERE node_id=?3 AND revoked_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
      goto dberr;
    sqlite3_bind_int64(st, 1, tg_time_now());
    sqlite3_bind_int(st, 2, reason);
    sqlite3_bind_text(st, 3, node_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      goto dberr;
    sqlite3_finalize(st);
    st = NULL;
    n = sqlite3_changes(ca->db);
    if (n == 0) {
      rc = tg_err_set(err, TG_ENOENT, "node '%s' has no unrevoked certificate from this CA",
                      node_id);
      goto rollback;
    }
  }
  char detail[64];
  snprintf(detail, sizeof(detail), "reason %d, %d certificate(s)", reason, n);
  if (db_log(ca->db, "revoke", node_id, serial ? sn : NULL, detail) != 0)
    goto dberr;
  X509_CRL *crl = NULL;
  if ((rc = next_crl(ca, &crl, err)) != 0)
    goto rollback;
  if ((rc = tg_db_exec(ca->db, "COMMIT", err)) != 0) {
    X509_CRL_free(crl);
    goto rollback;
  }
  if (count != NULL)
    *count = n;
  return publish_crl(ca, crl, err);
dberr:
  rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_finalize(st);
rollback:
  tg_db_exec(ca->db, "ROLLBACK", NULL);
  return rc;
}

int tg_cert_ca_crl_renew(struct tg_cert_ca *ca, struct tg_err *err) {
  int rc = tg_db_exec(ca->db, "BEGIN IMMEDIATE", err);
  if (rc != 0)
    return rc;
  X509_CRL *crl = NULL;
  if ((rc = db_log(ca->db, "crl", NULL, NULL, NULL)) != 0)
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  if (rc == 0)
    rc = next_crl(ca, &crl, err);
  if (rc == 0)
    rc = tg_db_exec(ca->db, "COMMIT", err);
  if (rc != 0) {
    X509_CRL_free(crl);
    tg_db_exec(ca->db, "ROLLBACK", NULL);
    return rc;
  }
  return publish_crl(ca, crl, err);
}

int tg_cert_ca_cert_status(struct tg_cert_ca *ca, X509 *cert, const char *node_id,
                           struct tg_err *err) {
  char sn[80];
  sqlite3_stmt *st = NULL;
  if (tg_cert_serial_hex(cert, sn, sizeof(sn)) != 0)
    return tg_err_set(err, TG_EINVAL, "unreadable certificate serial");
  if (sqlite3_prepare_v2(ca->db,
                         "SELECT node_id, revoked_at, not_after FROM ca_certs WHERE serial=?", -1,
                         &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_bind_text(st, 1, sn, -1, SQLITE_STATIC);
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_ROW)
    rc = tg_err_set(err, TG_ENOENT, "this CA has no record of certificate %s", sn);
  else if (strcmp((const char *)sqlite3_column_text(st, 0), node_id) != 0)
    rc = tg_err_set(err, TG_EPERM, "certificate %s was issued to another node", sn);
  else if (sqlite3_column_type(st, 1) != SQLITE_NULL)
    rc = tg_err_set(err, TG_EPERM, "certificate %s is revoked", sn);
  else if (sqlite3_column_int64(st, 2) <= tg_time_now())
    rc = tg_err_set(err, TG_EPERM, "certificate %s has expired", sn);
  sqlite3_finalize(st);
  return rc;
}

/* --- the federation directory: members' URLs --- */

int tg_cert_ca_url_set(struct tg_cert_ca *ca, const char *node_id, const char *url,
                       struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(ca->db,
                         "INSERT INTO ca_urls(node_id, url, updated_at) VALUES(?1, ?2, ?3)"
                         " ON CONFLICT(node_id) DO UPDATE SET url = ?2, updated_at = ?3",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, tg_time_now());
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_finalize(st);
  return rc;
}

int tg_cert_ca_url_get(struct tg_cert_ca *ca, const char *node_id, char *out, size_t n,
                       struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(ca->db, "SELECT url FROM ca_urls WHERE node_id = ?", -1, &st, NULL) !=
      SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    const char *u = (const char *)sqlite3_column_text(st, 0);
    if (u == NULL || strlen(u) >= n)
      rc = tg_err_set(err, TG_ETOOBIG, "the recorded URL is too long");
    else
      memcpy(out, u, strlen(u) + 1);
  } else if (s == SQLITE_DONE) {
    rc = tg_err_set(err, TG_ENOENT, "no URL recorded for node %s", node_id);
  } else {
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  }
  sqlite3_finalize(st);
  return rc;
}

int tg_cert_ca_members(struct tg_cert_ca *ca,
                       int (*each)(void *ud, const struct tg_cert_ca_member *m), void *ud,
                       struct tg_err *err) {
  sqlite3_stmt *st = NULL;
  /* Each node's newest certificate decides what it is. */
  if (sqlite3_prepare_v2(ca->db,
                         "SELECT c.node_id, c.sha256, c.not_after, c.revoked_at, u.url"
                         " FROM ca_certs c LEFT JOIN ca_urls u ON u.node_id = c.node_id"
                         " WHERE c.rowid = (SELECT max(rowid) FROM ca_certs c2"
                         "                  WHERE c2.node_id = c.node_id)"
                         " ORDER BY c.node_id",
                         -1, &st, NULL) != SQLITE_OK)
    return tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  int s, rc = 0;
  while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
    struct tg_cert_ca_member m = {
        .node_id = (const char *)sqlite3_column_text(st, 0),
        .sha256 = (const char *)sqlite3_column_text(st, 1),
        .not_after = sqlite3_column_int64(st, 2),
        .revoked = sqlite3_column_type(st, 3) != SQLITE_NULL,
        .url = (const char *)sqlite3_column_text(st, 4),
    };
    rc = each(ud, &m);
  }
  if (rc == 0 && s != SQLITE_DONE)
    rc = tg_err_set(err, TG_EDB, "%s", sqlite3_errmsg(ca->db));
  sqlite3_finalize(st);
  return rc;
}
