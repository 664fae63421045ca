/* tg_cert_ca: the federation certificate authority (CA directory, enrollment
 * tokens, node certificate issuance, revocation and CRLs) and the CSR / PEM /
 * DER input checks it relies on. Pure OpenSSL and SQLite, no networking. */
#ifndef TG_CERT_CA_H
#define TG_CERT_CA_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct tg_err;

/* Files in a CA directory. */
#define TG_CA_KEY "ca.key" /* ECDSA P-256, PKCS#8 PEM, mode 0600 */
#define TG_CA_CERT "ca.crt"
#define TG_CA_CRL "crl.pem"
#define TG_CA_DB "ca.db" /* tokens, issued certificates, revocations, event log */

#define TG_CA_DEFAULT_DAYS 3650    /* CA certificate validity */
#define TG_CA_NODE_DAYS 90         /* node certificate validity */
#define TG_CA_CRL_DAYS 30          /* a CRL's nextUpdate, from its issuance */
#define TG_CA_TOKEN_LEN 64         /* hex characters in an enrollment token */
#define TG_CA_MAX_INPUT 65536      /* largest CSR / certificate input accepted */

/* An open CA: its key, certificate and record. Heap; tg_cert_ca_close frees. */
struct tg_cert_ca;

/* Creates a CA in DIR (made 0700 if missing): a P-256 key (0600), a
 * self-signed certificate for NAME (basicConstraints critical CA:TRUE
 * pathlen:0, keyUsage critical keyCertSign+cRLSign, SKI/AKI) valid DAYS days
 * (0: TG_CA_DEFAULT_DAYS), an empty CRL (crlNumber 1) and the record ca.db.
 * TG_EEXIST if any CA file already exists there: nothing is touched then. On
 * any other failure the files it made are removed again. */
int tg_cert_ca_init(const char *dir, const char *name, int days, struct tg_err *err);
/* Opens the CA in DIR (its certificate and record; the key is read when
 * something is first signed); *OUT is freed with tg_cert_ca_close. */
int tg_cert_ca_open(const char *dir, struct tg_cert_ca **out, struct tg_err *err);
/* Frees CA; NULL is a no-op. */
void tg_cert_ca_close(struct tg_cert_ca *ca);
/* Borrowed: the CA certificate. */
X509 *tg_cert_ca_cert_get(const struct tg_cert_ca *ca);

/* Makes a single-use enrollment token for NODE_ID valid TTL_S seconds and
 * writes it (TG_CA_TOKEN_LEN hex digits and a NUL) into OUT (size N). Only
 * its SHA-256 is stored. TG_EINVAL for a bad node id or TTL. */
int tg_cert_ca_token_new(struct tg_cert_ca *ca, const char *node_id, uint64_t ttl_s, char *out,
                         size_t n, struct tg_err *err);
/* The same, bound to HOSTS as well (comma-separated DNS names / IPs; NULL:
 * any): an enrollment with the token may name only those in its certificate,
 * so a node cannot enrol under another's host name (TG_EPERM otherwise). */
int tg_cert_ca_token_new_hosts(struct tg_cert_ca *ca, const char *node_id, uint64_t ttl_s,
                               const char *hosts, char *out, size_t n, struct tg_err *err);

/* Whether TOKEN has the form of an enrollment token (TG_CA_TOKEN_LEN
 * lowercase hex digits): 1 or 0. Needs no CA; refuse others at once. */
int tg_cert_ca_token_plausible(const char *token);
/* Checks TOKEN for NODE_ID and HOSTS (as tg_cert_ca_issue would, same
 * codes) without spending it or touching the CA key: one lookup by hash. */
int tg_cert_ca_token_check(struct tg_cert_ca *ca, const char *token, const char *node_id,
                           const char *hosts, struct tg_err *err);

/* What a node certificate is issued for. */
struct tg_cert_issue {
  const char *node_id; /* CN and SAN URI urn:tsunagu:node:<id> */
  const char *token;   /* enrollment token bound to node_id, or NULL (offline signing) */
  const char *hosts;   /* comma-separated DNS names / IP addresses for the SAN, or NULL */
  int64_t valid_s;     /* validity in seconds from now; 0: TG_CA_NODE_DAYS days */
  int64_t backdate_s;  /* notBefore this far in the past; 0: 300 s (at most a tenth of
                        * the validity); -1: none */
  const char *how;     /* recorded with the issuance, e.g. "offline" or "register" */
  X509 *renews;        /* borrowed, or NULL: the certificate NODE_ID presented to renew,
                        * recorded as the new one's predecessor (same family) */
  int rotate;          /* with RENEWS: the CSR is for a new key (a key rotation) */
};

/* Issues a certificate for the public key of CSR (which tg_cert_csr_parse
 * accepted) as described by OPT; nothing is taken from the CSR's extensions
 * or subject. With a token: TG_ENOENT unknown, TG_EPERM bound to another node
 * id, TG_ECONFLICT already used, TG_ETIMEDOUT expired. With RENEWS: that
 * certificate must pass tg_cert_ca_cert_status for NODE_ID (TG_EPERM or
 * TG_ENOENT), and the CSR must be for its key (TG_ECONFLICT otherwise) unless
 * ROTATE, which needs a new key (TG_ECONFLICT for the same one) and revokes
 * every other certificate of the family as superseded, writing a new CRL (if
 * only that write fails, the certificate is still issued; tsunagu ca crl
 * publishes it). On success the token is spent and the issuance recorded in
 * one transaction; on failure nothing changes. *OUT is freed by the caller
 * with X509_free. */
int tg_cert_ca_issue(struct tg_cert_ca *ca, const struct tg_cert_issue *opt, X509_REQ *csr,
                     X509 **out, struct tg_err *err);

/* Revokes with CRL REASON (tg_cert_crl_reason), then writes a new CRL
 * (crlNumber + 1): when SERIAL is NULL, every certificate of NODE_ID not yet
 * revoked; else the one with SERIAL (hex, any case, colons allowed) and its
 * family - the certificates renewed or rotated from the same enrolment, any
 * of which the holder of one key could have obtained - while still valid.
 * *COUNT (if not NULL) gets the number revoked. TG_ENOENT nothing to revoke,
 * TG_EEXIST that serial and its family are already revoked; a failure
 * changes nothing. */
int tg_cert_ca_revoke(struct tg_cert_ca *ca, const char *node_id, const char *serial, int reason,
                      int *count, struct tg_err *err);
/* Issues a fresh CRL (new crlNumber and nextUpdate) with the same entries. */
int tg_cert_ca_crl_renew(struct tg_cert_ca *ca, struct tg_err *err);
/* Records (or replaces) the URL NODE_ID is reached at, for the federation
 * directory (strings are bound, not kept). */
int tg_cert_ca_url_set(struct tg_cert_ca *ca, const char *node_id, const char *url,
                       struct tg_err *err);
/* The URL recorded for NODE_ID into OUT (size N); TG_ENOENT when none,
 * TG_ETOOBIG when it does not fit. */
int tg_cert_ca_url_get(struct tg_cert_ca *ca, const char *node_id, char *out, size_t n,
                       struct tg_err *err);

/* One member of the federation as the CA's records show it: its newest
 * certificate. Strings are borrowed for the callback. */
struct tg_cert_ca_member {
  const char *node_id;
  const char *sha256;   /* the certificate's fingerprint, lower-case hex */
  int64_t not_after;    /* its expiry (Unix time) */
  int revoked;          /* 1 when it is revoked */
  const char *url;      /* recorded with tg_cert_ca_url_set, or NULL */
};
/* Calls EACH(UD, member) for every node the CA issued to, ordered by node
 * id; a non-zero return from EACH stops and is returned. */
int tg_cert_ca_members(struct tg_cert_ca *ca,
                       int (*each)(void *ud, const struct tg_cert_ca_member *m), void *ud,
                       struct tg_err *err);

/* What the CA's own records say of CERT, presented by NODE_ID: 0 when this CA
 * issued it to NODE_ID and it is neither revoked nor expired; TG_EPERM
 * (revoked, expired, another node's) or TG_ENOENT (not issued here). The
 * records are authoritative even while a published CRL is still catching up. */
int tg_cert_ca_cert_status(struct tg_cert_ca *ca, X509 *cert, const char *node_id,
                           struct tg_err *err);
/* Maps a reason name ("unspecified", "keyCompromise", "affiliationChanged",
 * "superseded", "cessationOfOperation", "privilegeWithdrawn") to its CRL
 * reason code; -1 if unknown. */
int tg_cert_crl_reason(const char *name);

/* Parses a CSR from DATA (PEM or DER, at most TG_CA_MAX_INPUT bytes) and
 * checks it: TG_ETOOBIG too large, TG_EINVAL malformed or trailing bytes,
 * TG_EUNSUP a key that is not EC P-256 (RSA and Ed25519 named in the message),
 * TG_ECRYPTO a signature that does not verify with the CSR's own key.
 * *OUT is freed by the caller with X509_REQ_free. */
int tg_cert_csr_parse(const void *data, size_t len, X509_REQ **out, struct tg_err *err);
/* Makes a CSR signed by KEY with CN NODE_ID and requested SANs (the node id
 * URI and HOSTS); the CA decides what it issues. Caller frees. */
int tg_cert_csr_new(EVP_PKEY *key, const char *node_id, const char *hosts, X509_REQ **out,
                    struct tg_err *err);
/* PEM-encodes a CSR / certificate / CRL into a new heap string the caller frees. */
int tg_cert_csr_pem(X509_REQ *req, char **out, struct tg_err *err);
int tg_cert_pem(X509 *cert, char **out, struct tg_err *err);
int tg_cert_crl_pem(X509_CRL *crl, char **out, struct tg_err *err);

/* Parses one certificate (PEM or DER) from DATA; caller frees. TG_EINVAL if malformed. */
int tg_cert_parse(const void *data, size_t len, X509 **out, struct tg_err *err);
/* Loads a certificate / CRL (PEM or DER) from PATH; caller frees. */
int tg_cert_load(const char *path, X509 **out, struct tg_err *err);
int tg_cert_crl_load(const char *path, X509_CRL **out, struct tg_err *err);
/* Parses one CRL from DATA (PEM or DER, at most TG_CA_MAX_INPUT bytes), the one
 * CRL parser for files, the CA node's answers and the CLI: TG_ETOOBIG too
 * large, TG_EINVAL malformed, bytes after the DER structure, or a second PEM
 * block of any kind. When CA is not NULL the CRL must also pass
 * tg_cert_crl_check. *OUT is freed by the caller with X509_CRL_free. */
int tg_cert_crl_parse(const void *data, size_t len, X509 *ca, X509_CRL **out,
                      struct tg_err *err);
/* 0 if CRL names CA's subject as its issuer and CA's key signed it, else
 * TG_EPERM ("the CRL is not signed by the federation CA"). */
int tg_cert_crl_check(X509_CRL *crl, X509 *ca, struct tg_err *err);
/* CRL's crlNumber, or -1 when it has none (or it does not fit a long). */
long tg_cert_crl_number(const X509_CRL *crl);
/* Calls CB(UD, SERIAL) for each certificate CRL revokes, SERIAL in the
 * uppercase hex of tg_cert_serial_hex (borrowed for the call). A non-zero
 * return from CB stops and is returned; else 0 (TG_ENOMEM). */
int tg_cert_crl_each(X509_CRL *crl, int (*cb)(void *ud, const char *serial), void *ud);

/* The node a certificate belongs to, for every check of a peer's identity:
 * writes the id of CERT's one SAN URI urn:tsunagu:node:<id> (tg_node_id_valid)
 * and a NUL into OUT (size N; 64 is enough). Any URI whose first 17 bytes
 * spell that prefix in any case is a claim, and the answer must be
 * unambiguous: TG_EINVAL when there are two claims (even for the same id), a
 * claim with the prefix in another case, an invalid id, an embedded NUL, or
 * a SAN extension that is repeated or cannot be decoded; TG_ENOENT when CERT
 * makes no claim; TG_ETOOBIG when the id does not fit OUT. OUT is "" on any
 * failure. Other URIs, DNS names and IP addresses are ignored. */
int tg_cert_node_id(X509 *cert, char *out, size_t n);
/* Checks that CERT belongs to KEY (when not NULL), chains to CA with strict
 * X.509 checks, is within its validity, not revoked by CRL (when not NULL, and
 * then the CRL must be signed by CA and current), is for TLS client and server
 * use and names a node in its SAN URI, equal to NODE_ID when not NULL.
 * TG_EPERM with the reason when it does not. */
int tg_cert_verify(X509 *cert, EVP_PKEY *key, X509 *ca, X509_CRL *crl, const char *node_id,
                   struct tg_err *err);
/* CERT's notBefore / notAfter, CRL's nextUpdate as Unix time; 0 when absent
 * or unreadable. */
int64_t tg_cert_not_before(const X509 *cert);
int64_t tg_cert_not_after(const X509 *cert);
int64_t tg_cert_crl_next_update(const X509_CRL *crl);
/* Serial of CERT as uppercase hex into OUT (size N, 41 is enough for 128 bits). */
int tg_cert_serial_hex(X509 *cert, char *out, size_t n);
/* CERT's SAN DNS names and IP addresses as "a,b,…" into OUT (size N); "" when
 * none; TG_ETOOBIG if they do not fit. */
int tg_cert_hosts(X509 *cert, char *out, size_t n);

#endif
