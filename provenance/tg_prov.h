/* tg_prov: the provenance log as a pure library: entries and their canonical
 * encoding, the RFC 9162 Merkle tree with inclusion and consistency proofs,
 * signed tree heads, and the durable SQLite log with its integrity check.
 * No networking; docs/provenance.md documents every byte encoding. */
#ifndef TG_PROV_H
#define TG_PROV_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct tg_buf;
struct tg_err;

#define TG_PROV_HASH 32      /* SHA-256 */
#define TG_PROV_MAX_PROOF 64 /* hashes in any proof of a tree below 2^63 */
#define TG_PROV_MAX_STR 4096 /* bytes in one string field of an entry */
#define TG_PROV_ENTRY_VERSION 1
#define TG_PROV_MAX_SIG 80  /* DER ECDSA P-256 signature is at most 72 */
#define TG_PROV_MAX_NODE 63 /* a node id is one DNS label */

/* ---- Entries ----------------------------------------------------------- */

/* What happened; the numbers are part of the encoding (never renumber). */
enum tg_prov_kind {
  TG_PROV_DATA_SERVED = 1,
  TG_PROV_DATA_RECEIVED = 2,
  TG_PROV_REQUEST_REFUSED = 3,
  TG_PROV_DATA_INGESTED = 4,
  TG_PROV_CATALOG_CHANGE = 5,
  TG_PROV_VOCAB_CHANGE = 6,
  TG_PROV_CERT_ISSUED = 7,
  TG_PROV_CERT_REVOKED = 8,
  TG_PROV_CERT_RENEWED = 9,
  TG_PROV_PEER_ADDED = 10,
  TG_PROV_PEER_REMOVED = 11,
  TG_PROV_SUBSCRIPTION_CREATED = 12,
  TG_PROV_NOTIFICATION_SENT = 13,
  TG_PROV_KIND_MAX = 13
};

/* How it ended; part of the encoding. */
enum tg_prov_outcome {
  TG_PROV_COMPLETE = 1,
  TG_PROV_ABORTED = 2,
  TG_PROV_REFUSED = 3,
  TG_PROV_OUTCOME_MAX = 3
};

/* The owner's log entry that a received payload was logged under, and the
 * owner's signed tree head that covers it. */
struct tg_prov_ref {
  const char *node;           /* owner's node id; borrowed */
  uint64_t index;             /* entry index in the owner's log */
  uint64_t tree_size;         /* size of the owner's tree head */
  uint8_t root[TG_PROV_HASH]; /* that tree head's root hash */
};

/* The text form of a reference, "NODE:INDEX:TREE-SIZE:ROOT" with decimal
 * numbers (no leading zeros) and the root in 64 lower-case hex digits, e.g.
 * "a:41:42:cdcd…cd". TG_PROV_REF_TEXT bytes hold any of them. */
#define TG_PROV_REF_TEXT 176
/* Writes REF's text form into OUT: 0, or TG_EINVAL (bad node id, or an index
 * not below the tree size). */
int tg_prov_ref_format(const struct tg_prov_ref *ref, char out[TG_PROV_REF_TEXT]);
/* Parses S (borrowed) into *REF, whose node then points at NODE (the
 * caller's buffer). Refuses any other spelling: 0 or TG_EINVAL. */
int tg_prov_ref_parse(const char *s, struct tg_prov_ref *ref, char node[TG_PROV_MAX_NODE + 1],
                      struct tg_err *err);

/* One log entry. Strings are UTF-8 without NUL bytes, at most TG_PROV_MAX_STR
 * bytes; NULL and "" both mean absent (and decode as NULL). In an entry from
 * tg_prov_entry_decode they point into the same allocation. */
struct tg_prov_entry {
  uint64_t index;                /* position in the log (the log assigns it) */
  uint64_t time_us;              /* microseconds since 1970-01-01T00:00:00Z */
  int kind;                      /* enum tg_prov_kind */
  int outcome;                   /* enum tg_prov_outcome */
  const char *dataset;           /* dataset id */
  const char *requester_node;    /* node that asked */
  const char *requester_subject; /* user / client subject at that node */
  const char *owner_node;        /* node that owns the dataset */
  const char *purpose;           /* declared purpose of use */
  const char *rule;              /* refusing policy rule (refused outcomes) */
  uint64_t bytes;                /* payload bytes that crossed the wire */
  int has_payload_hash;          /* 1 if payload_sha256 is set */
  uint8_t payload_sha256[TG_PROV_HASH];
  int has_ref; /* 1 if ref is set (data received) */
  struct tg_prov_ref ref;
};

/* Returns the kind's name ("data-served", …) or NULL if out of range. */
const char *tg_prov_kind_name(int kind);
/* Returns the kind numbered by NAME, or 0 if NAME is no kind. */
int tg_prov_kind_parse(const char *name);
/* Returns "complete", "aborted", "refused" or NULL. */
const char *tg_prov_outcome_name(int outcome);

/* Writes TIME_US as an xsd:dateTime in UTC with microseconds
 * ("2026-12-01T12:00:00.000000Z"), the form PROV-O's startedAtTime takes;
 * times past year 9999 are written as its last microsecond. */
#define TG_PROV_TIME_TEXT 28
void tg_prov_time_text(uint64_t time_us, char out[TG_PROV_TIME_TEXT]);
/* Appends E's canonical encoding (docs/provenance.md) to OUT. Returns 0,
 * TG_EINVAL (kind, outcome or a string not allowed: the message says which)
 * or TG_ENOMEM. */
int tg_prov_entry_encode(const struct tg_prov_entry *e, struct tg_buf *out, struct tg_err *err);
/* Decodes exactly LEN bytes at P; refuses unknown versions (TG_EUNSUP),
 * short or long input, bad lengths, flags, kinds, outcomes and strings
 * (TG_EINVAL). *OUT is a new entry whose strings live in the same block;
 * free it with tg_prov_entry_free. */
int tg_prov_entry_decode(const void *p, size_t len, struct tg_prov_entry **out, struct tg_err *err);
/* Frees an entry from tg_prov_entry_decode; NULL is a no-op. */
void tg_prov_entry_free(struct tg_prov_entry *e);

/* ---- Hashes (RFC 9162 section 2.1.1) ----------------------------------- */

/* OUT = SHA-256(0x00 || P[0..LEN)). Returns 0 or TG_ECRYPTO. */
int tg_prov_leaf_hash(const void *p, size_t len, uint8_t out[TG_PROV_HASH]);
/* OUT = SHA-256(0x01 || L || R). Returns 0 or TG_ECRYPTO. */
int tg_prov_node_hash(const uint8_t l[TG_PROV_HASH], const uint8_t r[TG_PROV_HASH],
                      uint8_t out[TG_PROV_HASH]);

/* ---- The Merkle tree in memory ------------------------------------------ */

/* Leaf hashes plus the hash of every complete, aligned power-of-two subtree
 * (about 64 bytes per leaf), so that a root or proof for any size costs
 * O(log n) hashes and an append O(1) amortised, O(log n) at most. The
 * functions taking a const tree may run on several threads at once, but not
 * at the same time as an append, reserve or truncate. */
struct tg_prov_tree;

/* A new empty tree in *OUT; free with tg_prov_tree_free. 0, TG_ENOMEM or
 * TG_ECRYPTO. */
int tg_prov_tree_new(struct tg_prov_tree **out);
/* Frees T; NULL is a no-op. */
void tg_prov_tree_free(struct tg_prov_tree *t);
/* Number of leaves. */
uint64_t tg_prov_tree_size(const struct tg_prov_tree *t);
/* Appends a leaf hash (copied). 0, or TG_ENOMEM, TG_ECRYPTO or TG_ETOOBIG
 * (2^63 leaves), and then the tree is unchanged. */
int tg_prov_tree_append(struct tg_prov_tree *t, const uint8_t leaf[TG_PROV_HASH]);
/* Makes room for SIZE leaves in all, so that appends up to it do not
 * allocate (opening a log of known size). 0 or TG_ENOMEM. */
int tg_prov_tree_reserve(struct tg_prov_tree *t, uint64_t size);
/* Drops leaves from the end so that the tree has SIZE leaves (SIZE <= size). */
void tg_prov_tree_truncate(struct tg_prov_tree *t, uint64_t size);
/* The leaf hash at INDEX (borrowed, valid until the next append), or NULL. */
const uint8_t *tg_prov_tree_leaf(const struct tg_prov_tree *t, uint64_t index);
/* OUT = MTH of the first SIZE leaves (SIZE <= size; 0 gives SHA-256("")).
 * Returns 0, TG_EINVAL (SIZE too large) or TG_ECRYPTO. */
int tg_prov_tree_root(const struct tg_prov_tree *t, uint64_t size, uint8_t out[TG_PROV_HASH]);

/* An inclusion or a consistency proof: which leaf or sizes, and the path. */
enum { TG_PROV_PROOF_INCLUSION = 1, TG_PROV_PROOF_CONSISTENCY = 2 };
struct tg_prov_proof {
  int type;   /* TG_PROV_PROOF_* */
  uint64_t a; /* inclusion: the leaf index; consistency: the first size */
  uint64_t b; /* the tree size; consistency: the second size */
  size_t n;   /* hashes in path */
  uint8_t path[TG_PROV_MAX_PROOF][TG_PROV_HASH];
};

/* Fills *P with the RFC 9162 2.1.3 inclusion proof of leaf INDEX in the tree
 * of the first SIZE leaves. TG_EINVAL unless INDEX < SIZE <= size. */
int tg_prov_tree_inclusion(const struct tg_prov_tree *t, uint64_t index, uint64_t size,
                           struct tg_prov_proof *p);
/* Fills *P with the RFC 9162 2.1.4 consistency proof between sizes FIRST and
 * SECOND. TG_EINVAL unless 0 < FIRST <= SECOND <= size (FIRST == SECOND
 * gives an empty proof). */
int tg_prov_tree_consistency(const struct tg_prov_tree *t, uint64_t first, uint64_t second,
                             struct tg_prov_proof *p);

/* Checks inclusion proof P (type inclusion) for LEAF against ROOT
 * (RFC 9162 2.1.3.2). Returns 0 if it proves inclusion, TG_EPROTO if not,
 * TG_EINVAL if P is malformed. */
int tg_prov_inclusion_verify(const struct tg_prov_proof *p, const uint8_t leaf[TG_PROV_HASH],
                             const uint8_t root[TG_PROV_HASH]);
/* Checks consistency proof P between FIRST_ROOT (tree size p->a) and
 * SECOND_ROOT (p->b) (RFC 9162 2.1.4.2). 0, TG_EPROTO or TG_EINVAL. */
int tg_prov_consistency_verify(const struct tg_prov_proof *p,
                               const uint8_t first_root[TG_PROV_HASH],
                               const uint8_t second_root[TG_PROV_HASH]);
/* The number of hashes a correct proof has for (TYPE, A, B), or -1 if the
 * parameters admit no proof. */
int tg_prov_proof_len(int type, uint64_t a, uint64_t b);

/* Appends P's binary form (docs/provenance.md) to OUT: 0 or TG_ENOMEM. */
int tg_prov_proof_encode(const struct tg_prov_proof *p, struct tg_buf *out);
/* Decodes exactly LEN bytes into *P (caller-owned); refuses a bad version,
 * type, parameters, or a path length other than tg_prov_proof_len (TG_EINVAL /
 * TG_EUNSUP). */
int tg_prov_proof_decode(const void *data, size_t len, struct tg_prov_proof *p, struct tg_err *err);

/* ---- Signed tree heads ---------------------------------------------------- */

struct tg_prov_sth {
  char node[TG_PROV_MAX_NODE + 1]; /* the signing node's id */
  uint64_t tree_size;
  uint64_t timestamp_ms; /* ms since the epoch, UTC */
  uint8_t root[TG_PROV_HASH];
  size_t sig_len;
  uint8_t sig[TG_PROV_MAX_SIG]; /* DER ECDSA-Sig-Value over SHA-256 */
};

/* Appends the bytes a tree head's signature covers (docs/provenance.md). */
int tg_prov_sth_tbs(const struct tg_prov_sth *sth, struct tg_buf *out);
/* Signs STH's node, size, time and root with KEY (ECDSA P-256, borrowed),
 * filling sig and sig_len. 0, TG_EINVAL (bad node id, not a P-256 key) or
 * TG_ECRYPTO. */
int tg_prov_sth_sign(struct tg_prov_sth *sth, EVP_PKEY *key, struct tg_err *err);
/* Checks STH's signature with the public key KEY (borrowed): 0, TG_EPROTO
 * (bad signature), TG_EINVAL (not a P-256 key, bad node id). */
int tg_prov_sth_verify(const struct tg_prov_sth *sth, EVP_PKEY *key, struct tg_err *err);
/* The same with CERT's public key (borrowed). The caller checks that CERT
 * names sth->node. */
int tg_prov_sth_verify_cert(const struct tg_prov_sth *sth, X509 *cert, struct tg_err *err);

/* A tree head as text fields for JSON: sizes as numbers, root and
 * signature in standard base64 with padding. */
struct tg_prov_sth_text {
  char root_b64[48];
  char sig_b64[112];
};
/* Fills *T from STH. */
void tg_prov_sth_to_text(const struct tg_prov_sth *sth, struct tg_prov_sth_text *t);
/* Builds *STH from text fields (NUL-terminated, borrowed): strict base64,
 * a 32-byte root, a signature of 8..TG_PROV_MAX_SIG bytes, a valid node id.
 * 0 or TG_EINVAL. The signature is not checked here. */
int tg_prov_sth_from_text(const char *node, uint64_t tree_size, uint64_t timestamp_ms,
                          const char *root_b64, const char *sig_b64, struct tg_prov_sth *sth,
                          struct tg_err *err);
/* Strict standard base64 (padding required, no whitespace) of exactly LEN
 * bytes into OUT (at most CAP bytes): 0 or TG_EINVAL. *OUT_LEN gets the size. */
int tg_prov_b64_decode(const char *s, uint8_t *out, size_t cap, size_t *out_len);
/* Standard base64 of LEN bytes into OUT (size >= 4*((LEN+2)/3)+1), NUL-ended. */
void tg_prov_b64_encode(const uint8_t *in, size_t len, char *out);

/* ---- The durable log ------------------------------------------------------- */

/* An open log: an SQLite file with entries and signed tree heads, and the
 * tree in memory. Used from one thread at a time. */
struct tg_prov_log;

/* What tg_prov_log_open found. */
struct tg_prov_log_health {
  int broken;         /* 1 if the stored log does not match itself or its last tree head */
  uint64_t first_bad; /* when broken: the first index that is wrong or missing */
  uint64_t size;      /* entries read */
  char why[160];      /* when broken: what is wrong, for /healthz and logs */
};

/* Opens (creating if missing) the log at PATH, reads every entry, recomputes
 * the leaf hashes and the tree and compares them with the stored leaf hashes,
 * the entries' own indexes and the stored signed tree heads. A mismatch is
 * not an error: the log opens as broken (tg_prov_log_health) and refuses to
 * sign. Returns 0 with *OUT (free with tg_prov_log_close), or TG_EDB /
 * TG_ENOMEM. */
int tg_prov_log_open(const char *path, struct tg_prov_log **out, struct tg_err *err);
/* Closes LOG; NULL is a no-op. */
void tg_prov_log_close(struct tg_prov_log *log);
/* The log's state since open (borrowed, valid until close). */
const struct tg_prov_log_health *tg_prov_log_health(const struct tg_prov_log *log);
/* The tree (borrowed, valid until the next append or close): roots and proofs. */
const struct tg_prov_tree *tg_prov_log_tree(const struct tg_prov_log *log);
/* Number of entries. */
uint64_t tg_prov_log_size(const struct tg_prov_log *log);

/* Checks the signature of every stored tree head with KEY (the node's public
 * key, borrowed). tg_prov_log_open checks the roots but holds no key: a
 * forger who rewrote entries and the stored roots is caught here. A bad
 * signature marks the log broken from the largest size a good tree head
 * vouched for before it. Returns 0 (see tg_prov_log_health) or TG_EDB. */
int tg_prov_log_check_signatures(struct tg_prov_log *log, EVP_PKEY *key, struct tg_err *err);
/* The same with the node's keys over time (KEYS[0..N), borrowed): a tree head
 * passes if any of them signed it, so a log outlives a key rotation. */
int tg_prov_log_check_signatures_any(struct tg_prov_log *log, EVP_PKEY *const *keys, size_t n,
                                     struct tg_err *err);
/* Checks the log against a tree head kept outside it (SIZE entries under
 * ROOT: the last one the node signed): a log whose last entries were deleted
 * together with the tree heads stored beside them opens whole, but not
 * against this. A mismatch marks the log broken (from the first entry the
 * head covers that the log no longer holds, else from 0). Returns 0. */
int tg_prov_log_expect(struct tg_prov_log *log, uint64_t size, const uint8_t root[TG_PROV_HASH]);
/* Appends N entries in one transaction (group commit): sets each
 * entries[i].index, encodes and stores them; when it returns 0 they are
 * committed: on disk (durable) by default, or written for the operating
 * system to keep with TG_PROV_SYNC_OS (tg_prov_log_set_sync). On error nothing is added.
 * TG_EPERM on a broken log, TG_EINVAL for an entry that does not encode,
 * TG_EDB, TG_ENOMEM. */
int tg_prov_log_append(struct tg_prov_log *log, struct tg_prov_entry *entries, size_t n,
                       struct tg_err *err);
/* How far an append's commit has gone when tg_prov_log_append returns.
 * FULL (the default): to disk (fsync), safe from power loss. OS: handed to
 * the operating system (written, not yet synced), safe from the process's
 * own crash (kill -9) and made durable by the next checkpoint of a
 * tg_prov_sync, which must run (appends then make no checkpoint of their
 * own: they never wait for the disk); a power loss may take the entries
 * committed since. 0 or TG_EDB. */
enum { TG_PROV_SYNC_FULL = 0, TG_PROV_SYNC_OS = 1 };
int tg_prov_log_set_sync(struct tg_prov_log *log, int mode, struct tg_err *err);

/* A thread that makes a log opened with TG_PROV_SYNC_OS durable: every
 * INTERVAL_MS it checkpoints the log's WAL through a connection of its own
 * (SQLite syncs the WAL, then the database), so the appending thread never
 * waits for the disk. */
struct tg_prov_sync;
/* Starts the thread on the log at PATH. 0, TG_EDB (the log cannot be opened),
 * TG_ENOMEM or TG_EIO (no thread). */
int tg_prov_sync_start(const char *path, uint64_t interval_ms, struct tg_prov_sync **out,
                       struct tg_err *err);
/* HOLD(ARG, 1) keeps every appender of the log out until HOLD(ARG, 0) (a
 * lock they all take around tg_prov_log_append). With it, a WAL that
 * appends running during the checkpoints keep from restarting is copied
 * back whole under HOLD once it reaches 4 MiB, so that the next append
 * starts it over; without it (the default) nothing bounds the WAL of a log
 * appended to without a pause. */
void tg_prov_sync_set_hold(struct tg_prov_sync *s, void (*hold)(void *arg, int on), void *arg);
/* Runs one last checkpoint, stops the thread, closes its connection. NULL is a no-op. */
void tg_prov_sync_stop(struct tg_prov_sync *s);
/* Checkpoints done and failed since start (any thread). */
void tg_prov_sync_counts(struct tg_prov_sync *s, uint64_t *done, uint64_t *failed);

/* The stored encoding of entry INDEX in a new buffer *OUT (malloc, caller
 * frees) of *LEN bytes. 0, TG_ENOENT, TG_EDB. */
int tg_prov_log_entry_get(struct tg_prov_log *log, uint64_t index, uint8_t **out, size_t *len,
                          struct tg_err *err);
/* Called with each entry's index and stored encoding (borrowed, valid during
 * the call); a non-zero return stops the read and is returned. */
typedef int (*tg_prov_read_cb)(void *arg, uint64_t index, const uint8_t *body, size_t len);
/* Calls CB for entries START <= index < END in order (the caller bounds the
 * range: pages of a request). 0, CB's code, TG_EINVAL (a range outside the
 * verified log) or TG_EDB. */
int tg_prov_log_read(struct tg_prov_log *log, uint64_t start, uint64_t end, tg_prov_read_cb cb,
                     void *arg, struct tg_err *err);
/* Signs a tree head over the whole log now with KEY as NODE at TIMESTAMP_MS and
 * stores it, synced to disk with every entry it covers (in TG_PROV_SYNC_OS
 * too); *STH gets it. TG_EPERM if the log is broken. */
int tg_prov_log_sign(struct tg_prov_log *log, EVP_PKEY *key, const char *node,
                     uint64_t timestamp_ms, struct tg_prov_sth *sth, struct tg_err *err);
/* The three steps of tg_prov_log_sign, for a caller that serialises the
 * log's calls with a lock and must not hold it while signing and syncing:
 * tg_prov_log_head fills *STH with the whole log's size and root, NODE and
 * TIMESTAMP_MS, unsigned (TG_EPERM if the log is broken); the caller signs it
 * (tg_prov_sth_sign) and makes the entries it covers durable with
 * tg_prov_log_sync_entries, which needs no lock (it only syncs the log's
 * files: in TG_PROV_SYNC_OS, the WAL); then tg_prov_log_store stores it
 * (TG_EINVAL if its root is not the log's at its size, TG_EPERM if the log
 * broke meanwhile), with SYNC committed to disk, else as the log's appends
 * are (in TG_PROV_SYNC_OS the stored head then reaches the disk with the
 * next checkpoint: a power loss before it can lose the stored head, never an
 * entry it covers). */
int tg_prov_log_head(struct tg_prov_log *log, const char *node, uint64_t timestamp_ms,
                     struct tg_prov_sth *sth, struct tg_err *err);
int tg_prov_log_sync_entries(const struct tg_prov_log *log, struct tg_err *err);
int tg_prov_log_store(struct tg_prov_log *log, const struct tg_prov_sth *sth, int sync,
                      struct tg_err *err);
/* The newest stored tree head in *STH: 0, or TG_ENOENT if none was signed. */
int tg_prov_log_sth_latest(struct tg_prov_log *log, struct tg_prov_sth *sth, struct tg_err *err);

#endif
