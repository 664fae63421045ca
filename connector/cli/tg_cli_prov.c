/* tg_cli_prov: tsunagu prov verify | check: checks a node's provenance log
 * from outside: its signed tree head against its federation certificate, the
 * root recomputed from every leaf, consistency with the last tree head this
 * node verified (kept in DIR), and a received entry's proof in the owner's
 * log with the same payload hash (docs/provenance.md). */
#include "tg_buf.h"
#include "tg_cert_ca.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_node.h"
#include "tg_prov.h"
#include "tg_util.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 1000
#define MAX_ANSWER (64u << 20)

/* Where and how to call one node. */
struct target {
  char base[600];
  char token[8300]; /* "Authorization: Bearer …" for the local node only, else "" */
  struct tg_client_tls tls;
  struct tg_fed_tls fed;
  char pin[TG_PROV_MAX_NODE + 1]; /* the node every answer must come from, or "" */
};

/* The node id the certificate of the server that answered the last fetch
 * names (tg_client_fetch hands its on_peer no context of ours). */
static char served_by[64];

static void note_peer(void *ud, const struct tg_client_peer *peer) {
  (void)ud;
  snprintf(served_by, sizeof(served_by), "%s", peer->node_id);
}

/* GET BASE PATH as JSON into *OUT: 0, or 1 after a message. */
/* The exit status of the last fetch that failed for want of the node
 * (unreachable, or refused by auth): callers say "1", the command exits this. */
static int prov_exit;

static int get_json(const struct target *t, const char *path, json_t **out) {
  char url[1200];
  const char *hdrs[3] = {"Accept: application/json", NULL, NULL};
  if (t->token[0])
    hdrs[1] = t->token;
  snprintf(url, sizeof(url), "%s%s", t->base, path);
  struct tg_client_opts o = {.url = url, .headers = hdrs, .timeout_ms = 60000,
                             .max_response = MAX_ANSWER, .on_peer = note_peer,
                             .peer_node_id = t->pin[0] ? t->pin : NULL};
  struct tg_err err;
  int status = 0;
  char *body = NULL;
  size_t len = 0;
  tg_err_clear(&err);
  served_by[0] = '\0';
  int rc = tg_client_fetch(&t->tls, &o, &status, &body, &len, &err);
  if (rc != 0) {
    tg_cli_fail("prov: cannot reach %s: %s", t->base, tg_err_msg(&err, rc));
    prov_exit = TG_CLI_EUNREACH;
    return TG_CLI_EUNREACH;
  }
  json_t *j = json_loadb(body, len, 0, NULL);
  free(body);
  if (status != 200 || !json_is_object(j)) {
    const char *d = json_string_value(json_object_get(j, "detail"));
    tg_cli_fail("prov: %s%s answered %d%s%s", t->base, path, status, d ? ": " : "", d ? d : "");
    json_decref(j);
    if (status == 401 || status == 403)
      prov_exit = TG_CLI_EAUTH;
    return 1;
  }
  *out = j;
  return 0;
}

/* A target calling URL over mutual TLS with DIR's federation certificate;
 * with TOKEN (the local node only) the admin's bearer token. */
static int target_init(struct target *t, const char *dir, const char *url, const char *token) {
  memset(t, 0, sizeof(*t));
  if (dir == NULL || tg_fed_tls_paths(dir, &t->fed) != 0)
    return tg_cli_fail("prov: --dir DIR must be a node in a federation (it has no ca.crt)");
  if (strncmp(url, "https://", 8) != 0 || strlen(url) >= sizeof(t->base))
    return tg_cli_fail("prov: the node must be an https:// URL");
  snprintf(t->base, sizeof(t->base), "%s", url);
  size_t n = strlen(t->base);
  while (n > 0 && t->base[n - 1] == '/')
    t->base[--n] = '\0';
  t->tls.ca_file = t->fed.ca;
  t->tls.cert_file = t->fed.cert;
  t->tls.key_file = t->fed.key;
  t->tls.crl_file = t->fed.crl[0] ? t->fed.crl : NULL;
  if (token != NULL && *token)
    snprintf(t->token, sizeof(t->token), "Authorization: Bearer %s", token);
  return 0;
}

static int b64_hash(const json_t *v, uint8_t out[TG_PROV_HASH]) {
  size_t n = 0;
  const char *s = json_string_value(v);
  return s && tg_prov_b64_decode(s, out, TG_PROV_HASH, &n) == 0 && n == TG_PROV_HASH ? 0 : -1;
}

static void to_hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---- tree heads ------------------------------------------------------------ */

/* Parses a tree head's JSON (node, tree_size, timestamp, root, signature). */
static int sth_parse(const json_t *j, struct tg_prov_sth *sth) {
  json_t *ts = json_object_get(j, "tree_size"), *tm = json_object_get(j, "timestamp");
  const char *node = json_string_value(json_object_get(j, "node"));
  const char *root = json_string_value(json_object_get(j, "root_hash"));
  const char *sig = json_string_value(json_object_get(j, "signature"));
  if (!json_is_integer(ts) || !json_is_integer(tm) || json_integer_value(ts) < 0 ||
      json_integer_value(tm) < 0 || !node || !root || !sig)
    return -1;
  return tg_prov_sth_from_text(node, (uint64_t)json_integer_value(ts),
                               (uint64_t)json_integer_value(tm), root, sig, sth, NULL) == 0
             ? 0
             : -1;
}

/* Fetches T's tree head and checks it: its certificate chains to the
 * federation CA and names the signing node (NODE when not NULL), and its
 * signature holds. 0 or 1 after a message. */
static int sth_fetch(const struct target *t, const char *node, struct tg_prov_sth *sth) {
  json_t *j = NULL;
  X509 *cert = NULL, *ca = NULL;
  X509_CRL *crl = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (get_json(t, "/api/v1/provenance/sth", &j))
    return 1;
  int rc = 1;
  const char *pem = json_string_value(json_object_get(j, "certificate"));
  if (sth_parse(j, sth) != 0)
    tg_cli_fail("prov: %s sent a malformed tree head", t->base);
  else if (node != NULL && strcmp(sth->node, node) != 0)
    tg_cli_fail("prov: the tree head is node %s's, not %s's", sth->node, node);
  else if (pem == NULL || tg_cert_parse(pem, strlen(pem), &cert, &err) != 0)
    tg_cli_fail("prov: %s sent no usable certificate with its tree head", t->base);
  else if (tg_cert_load(t->fed.ca, &ca, &err) != 0)
    tg_cli_fail("prov: cannot read the federation CA: %s", tg_err_msg(&err, TG_EIO));
  /* A revoked certificate (a stolen key) vouches for no tree head. */
  else if (t->fed.crl[0] && tg_cert_crl_load(t->fed.crl, &crl, &err) != 0)
    tg_cli_fail("prov: cannot read the federation CRL: %s", tg_err_msg(&err, TG_EIO));
  else if (tg_cert_verify(cert, NULL, ca, crl, sth->node, &err) != 0)
    tg_cli_fail("prov: node %s's certificate is not a federation certificate: %s", sth->node,
                tg_err_msg(&err, TG_EPERM));
  else if (tg_prov_sth_verify_cert(sth, cert, &err) != 0)
    tg_cli_fail("prov: BAD SIGNATURE on node %s's tree head (size %llu): %s", sth->node,
                (unsigned long long)sth->tree_size, tg_err_msg(&err, TG_EPROTO));
  else
    rc = 0;
  X509_free(cert);
  X509_free(ca);
  X509_CRL_free(crl);
  json_decref(j);
  return rc;
}

/* A tree head at least SIZE large: the node signs on demand once its tree
 * grew, at most every 250 ms, so a fresh entry may need a second ask. */
static int sth_covering(const struct target *t, const char *node, uint64_t size,
                        struct tg_prov_sth *sth) {
  for (int i = 0; i < 20; i++) {
    if (sth_fetch(t, node, sth))
      return 1;
    if (sth->tree_size >= size)
      return 0;
    usleep(300 * 1000);
  }
  return tg_cli_fail("prov: node %s signs no tree head covering size %llu", node,
                     (unsigned long long)size);
}

/* ---- proofs ---------------------------------------------------------------- */

static int path_parse(const json_t *a, struct tg_prov_proof *p) {
  if (!json_is_array(a) || json_array_size(a) > TG_PROV_MAX_PROOF)
    return -1;
  p->n = json_array_size(a);
  for (size_t i = 0; i < p->n; i++)
    if (b64_hash(json_array_get(a, i), p->path[i]) != 0)
      return -1;
  return 0;
}

/* Checks with T's consistency proof that the tree of size FIRST with root R1
 * is a prefix of the one of size SECOND with root R2. */
static int consistency(const struct target *t, uint64_t first, const uint8_t *r1,
                       uint64_t second, const uint8_t *r2) {
  char path[200];
  json_t *j = NULL;
  struct tg_prov_proof p = {.type = TG_PROV_PROOF_CONSISTENCY, .a = first, .b = second};
  if (first == second)
    return memcmp(r1, r2, TG_PROV_HASH) == 0
               ? 0
               : tg_cli_fail("prov: INCONSISTENT: two roots for the same size %llu",
                             (unsigned long long)first);
  snprintf(path, sizeof(path), "/api/v1/provenance/proof/consistency?first=%llu&second=%llu",
           (unsigned long long)first, (unsigned long long)second);
  if (get_json(t, path, &j))
    return 1;
  int bad = path_parse(json_object_get(j, "path"), &p) != 0 ||
            tg_prov_consistency_verify(&p, r1, r2) != 0;
  json_decref(j);
  if (bad)
    return tg_cli_fail("prov: INCONSISTENT: the log of size %llu is not a prefix of the one of "
                       "size %llu (history rewritten)",
                       (unsigned long long)first, (unsigned long long)second);
  return 0;
}

/* Checks with T's inclusion proof that LEAF is entry INDEX of the tree of
 * size SIZE with root ROOT. */
static int inclusion(const struct target *t, uint64_t index, uint64_t size, const uint8_t *leaf,
                     const uint8_t *root) {
  char path[200];
  json_t *j = NULL;
  struct tg_prov_proof p = {.type = TG_PROV_PROOF_INCLUSION, .a = index, .b = size};
  snprintf(path, sizeof(path), "/api/v1/provenance/proof/inclusion?index=%llu&tree_size=%llu",
           (unsigned long long)index, (unsigned long long)size);
  if (get_json(t, path, &j))
    return 1;
  int bad = path_parse(json_object_get(j, "path"), &p) != 0 ||
            tg_prov_inclusion_verify(&p, leaf, root) != 0;
  json_decref(j);
  return bad ? tg_cli_fail("prov: entry %llu is NOT in the log of size %llu under that root",
                           (unsigned long long)index, (unsigned long long)size)
             : 0;
}

/* Entry INDEX of T's log: decoded from the bytes the node shows us (its
 * "encoding"), the only part of its answer a proof covers, into *ENTRY
 * (tg_prov_entry_free), with their leaf hash. The JSON fields beside it are
 * not trusted: a node could change them and keep the bytes. */
static int entry_fetch(const struct target *t, uint64_t index, struct tg_prov_entry **entry,
                       uint8_t leaf[TG_PROV_HASH]) {
  char path[200];
  json_t *j = NULL;
  snprintf(path, sizeof(path), "/api/v1/provenance/entries?start=%llu&end=%llu",
           (unsigned long long)index, (unsigned long long)index + 1);
  if (get_json(t, path, &j))
    return 1;
  json_t *e = json_array_get(json_object_get(j, "entries"), 0);
  const char *enc = json_string_value(json_object_get(e, "encoding"));
  uint8_t *body = enc ? malloc(strlen(enc) + 1) : NULL;
  size_t len = 0;
  int rc = 1;
  *entry = NULL;
  if (e == NULL || enc == NULL)
    tg_cli_fail("prov: %s does not show us entry %llu", t->base, (unsigned long long)index);
  else if (body == NULL || tg_prov_b64_decode(enc, body, strlen(enc), &len) != 0 ||
           tg_prov_leaf_hash(body, len, leaf) != 0 ||
           tg_prov_entry_decode(body, len, entry, NULL) != 0)
    tg_cli_fail("prov: entry %llu's encoding is malformed", (unsigned long long)index);
  else if ((*entry)->index != index)
    tg_cli_fail("prov: %s showed entry %llu when asked for %llu", t->base,
                (unsigned long long)(*entry)->index, (unsigned long long)index);
  else
    rc = 0;
  if (rc) {
    tg_prov_entry_free(*entry);
    *entry = NULL;
  }
  free(body);
  json_decref(j);
  return rc;
}

/* ---- verify ---------------------------------------------------------------- */

struct verified {
  uint64_t leaves, entries; /* leaves read, entries shown and checked */
  int64_t last;             /* the index of the last entry shown, -1 before any */
};

/* One page of entries: its leaves go into TREE; every entry shown must hash
 * to its leaf. */
static int verify_page(const json_t *j, uint64_t start, uint64_t end, struct tg_prov_tree *tree,
                       struct verified *v) {
  json_t *leaves = json_object_get(j, "leaves"), *entries = json_object_get(j, "entries");
  if (json_array_size(leaves) != end - start)
    return tg_cli_fail("prov: the page %llu..%llu has %zu leaves", (unsigned long long)start,
                       (unsigned long long)end, json_array_size(leaves));
  for (uint64_t i = start; i < end; i++) {
    uint8_t h[TG_PROV_HASH];
    if (b64_hash(json_array_get(leaves, i - start), h) != 0 || tg_prov_tree_append(tree, h) != 0)
      return tg_cli_fail("prov: leaf %llu is malformed", (unsigned long long)i);
  }
  size_t k;
  json_t *e;
  json_array_foreach(entries, k, e) {
    json_int_t idx = json_integer_value(json_object_get(e, "index"));
    const char *enc = json_string_value(json_object_get(e, "encoding"));
    uint8_t *body = enc ? malloc(strlen(enc)) : NULL;
    size_t len = 0;
    uint8_t h[TG_PROV_HASH];
    struct tg_prov_entry *d = NULL;
    const uint8_t *want = idx >= 0 ? tg_prov_tree_leaf(tree, (uint64_t)idx) : NULL;
    /* In order, each once: a repeated entry must not stand in for one withheld. */
    int ok = body && want && idx > v->last && (uint64_t)idx >= start && (uint64_t)idx < end &&
             tg_prov_b64_decode(enc, body, strlen(enc), &len) == 0 &&
             tg_prov_entry_decode(body, len, &d, NULL) == 0 && d->index == (uint64_t)idx &&
             tg_prov_leaf_hash(body, len, h) == 0 && memcmp(h, want, TG_PROV_HASH) == 0;
    tg_prov_entry_free(d);
    free(body);
    if (!ok)
      return tg_cli_fail("prov: entry %lld does not match its leaf hash (changed entry)",
                         (long long)idx);
    v->last = idx;
    v->entries++;
  }
  v->leaves += end - start;
  return 0;
}

/* Recomputes STH's root from every leaf of T's log. */
static int verify_root(const struct target *t, const struct tg_prov_sth *sth,
                       struct tg_prov_tree *tree, struct verified *v) {
  for (uint64_t start = 0; start < sth->tree_size;) {
    uint64_t end = sth->tree_size - start > PAGE ? start + PAGE : sth->tree_size;
    char path[200];
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/api/v1/provenance/entries?start=%llu&end=%llu",
             (unsigned long long)start, (unsigned long long)end);
    if (get_json(t, path, &j))
      return 1;
    int rc = verify_page(j, start, end, tree, v);
    json_decref(j);
    if (rc)
      return rc;
    start = end;
  }
  uint8_t root[TG_PROV_HASH];
  if (tg_prov_tree_root(tree, sth->tree_size, root) != 0 ||
      memcmp(root, sth->root, TG_PROV_HASH) != 0)
    return tg_cli_fail("prov: MISMATCH: the entries of node %s do not give its signed root "
                       "(size %llu)",
                       sth->node, (unsigned long long)sth->tree_size);
  return 0;
}

/* DIR/prov-verified-NODE.json: the last tree head verified of NODE. */
static void saved_path(const char *dir, const char *node, char *out, size_t n) {
  char name[128];
  snprintf(name, sizeof(name), "prov-verified-%s.json", node);
  tg_node_path(out, n, dir, name);
}

static int saved_load(const char *dir, const char *node, struct tg_prov_sth *sth) {
  char path[4300];
  saved_path(dir, node, path, sizeof(path));
  json_t *j = json_load_file(path, 0, NULL);
  int rc = j == NULL ? 1 : sth_parse(j, sth) != 0 || strcmp(sth->node, node) != 0 ? -1 : 0;
  json_decref(j);
  return rc;
}

static int saved_store(const char *dir, const struct tg_prov_sth *sth) {
  char path[4300], tmp[4400];
  struct tg_prov_sth_text t;
  tg_prov_sth_to_text(sth, &t);
  saved_path(dir, sth->node, path, sizeof(path));
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  json_t *j = json_pack("{s:s, s:I, s:I, s:s, s:s}", "node", sth->node, "tree_size",
                        (json_int_t)sth->tree_size, "timestamp", (json_int_t)sth->timestamp_ms,
                        "root_hash", t.root_b64, "signature", t.sig_b64);
  int rc = j == NULL || json_dump_file(j, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0;
  json_decref(j);
  return rc ? tg_cli_fail("prov: cannot keep the verified tree head in %s", path) : 0;
}

static int prov_verify(struct tg_cli *cli, const char *node_url) {
  struct target t;
  int rc = tg_cli_resolve(cli);
  if (rc)
    return rc;
  /* The admin token goes to this node only, never to another. */
  if (target_init(&t, cli->dir, node_url ? node_url : cli->url, node_url ? NULL : cli->token))
    return 1;
  struct tg_prov_sth sth, old;
  struct tg_prov_tree *tree = NULL;
  struct verified v = {0, 0, -1};
  if (sth_fetch(&t, NULL, &sth))
    return 1;
  /* The tree head must be the answering node's own: a node could otherwise
   * pass off another member's head and leaves as its log, and the check
   * against the head kept for it would be made against the other's. Its
   * leaves and proofs then come from that node only. */
  if (strcmp(served_by, sth.node) != 0)
    return tg_cli_fail("prov: %s is node %s, but its tree head is node %s's", t.base,
                       served_by[0] ? served_by : "(no node id in its certificate)", sth.node);
  snprintf(t.pin, sizeof(t.pin), "%s", sth.node);
  if (tg_prov_tree_new(&tree) != 0 || tg_prov_tree_reserve(tree, sth.tree_size) != 0) {
    tg_prov_tree_free(tree);
    return tg_cli_fail("prov: out of memory");
  }
  rc = verify_root(&t, &sth, tree, &v);
  /* Its admin (the admin token; an OAuth user may see fewer) sees every
   * entry: one withheld could be one changed. */
  if (rc == 0 && t.token[0] && cli->token_from != NULL &&
      strcmp(cli->token_from, "DIR/admin.token") == 0 && v.entries != v.leaves)
    rc = tg_cli_fail("prov: node %s showed its admin %llu of its %llu entries", sth.node,
                     (unsigned long long)v.entries, (unsigned long long)v.leaves);
  int had = rc == 0 ? saved_load(cli->dir, sth.node, &old) : 1;
  if (rc == 0 && had < 0)
    rc = tg_cli_fail("prov: the kept tree head of %s is unreadable", sth.node);
  if (rc == 0 && had == 0) {
    if (old.tree_size > sth.tree_size)
      rc = tg_cli_fail("prov: INCONSISTENT: node %s's log shrank from %llu to %llu entries",
                       sth.node, (unsigned long long)old.tree_size,
                       (unsigned long long)sth.tree_size);
    else if (old.tree_size > 0)
      rc = consistency(&t, old.tree_size, old.root, sth.tree_size, sth.root);
  }
  tg_prov_tree_free(tree);
  if (rc == 0)
    rc = saved_store(cli->dir, &sth);
  if (rc)
    return rc;
  char hex[2 * TG_PROV_HASH + 1];
  to_hex(sth.root, TG_PROV_HASH, hex);
  if (cli->json)
    printf("{\"node\":\"%s\",\"tree_size\":%llu,\"root\":\"%s\",\"entries_checked\":%llu,"
           "\"consistent_with\":%llu}\n",
           sth.node, (unsigned long long)sth.tree_size, hex, (unsigned long long)v.entries,
           had == 0 ? (unsigned long long)old.tree_size : 0ull);
  else
    printf("node %s: %llu entries, root %s: signature good, root recomputed (%llu entries "
           "shown and checked)%s\n",
           sth.node, (unsigned long long)sth.tree_size, hex, (unsigned long long)v.entries,
           had == 0 ? ", consistent with the tree head verified before" : "");
  return 0;
}

/* ---- check ----------------------------------------------------------------- */

/* Checks that REF names entry LEAF (recomputed) in T's log: inclusion under
 * the reference's root, and that root consistent with a signed tree head. */
static int check_ref(const struct target *t, const struct tg_prov_ref *ref, const uint8_t *leaf) {
  struct tg_prov_sth sth;
  if (inclusion(t, ref->index, ref->tree_size, leaf, ref->root) ||
      sth_covering(t, ref->node, ref->tree_size, &sth) ||
      consistency(t, ref->tree_size, ref->root, sth.tree_size, sth.root))
    return 1;
  return 0;
}

/* The URL of peer NODE from the local node's peers. */
static int peer_url(struct tg_cli *cli, const char *node, char *out, size_t n) {
  int status;
  json_t *j = NULL;
  int rc = tg_cli_call(cli, "GET", "/api/v1/peers", NULL, 0, &status, &j, NULL);
  if (rc)
    return rc;
  size_t i;
  json_t *p;
  int found = 0;
  json_array_foreach(json_object_get(j, "peers"), i, p) {
    const char *id = json_string_value(json_object_get(p, "node_id"));
    const char *url = json_string_value(json_object_get(p, "url"));
    if (id && url && strcmp(id, node) == 0) {
      snprintf(out, n, "%s", url);
      found = 1;
    }
  }
  json_decref(j);
  return found ? 0 : tg_cli_fail("prov: %s is not a peer of this node: give --owner URL", node);
}

static int prov_check(struct tg_cli *cli, const char *text, const char *owner_url) {
  struct tg_prov_ref ref;
  char node[TG_PROV_MAX_NODE + 1], onode[TG_PROV_MAX_NODE + 1], url[600];
  char hash[2 * TG_PROV_HASH + 1], ohash[2 * TG_PROV_HASH + 1];
  struct tg_err err;
  struct target local, owner;
  uint8_t leaf[TG_PROV_HASH], oleaf[TG_PROV_HASH];
  struct tg_prov_entry *e = NULL, *oe = NULL;
  tg_err_clear(&err);
  if (tg_prov_ref_parse(text, &ref, node, &err) != 0)
    return tg_cli_fail("prov check: bad entry reference: %s", tg_err_msg(&err, TG_EINVAL));
  int rc = tg_cli_resolve(cli);
  if (rc)
    return rc;
  if (target_init(&local, cli->dir, cli->url, cli->token))
    return 1;
  /* 1. The consumer's own entry, in its own log. */
  if (entry_fetch(&local, ref.index, &e, leaf) || check_ref(&local, &ref, leaf)) {
    tg_prov_entry_free(e);
    return 1;
  }
  if (e->kind != TG_PROV_DATA_RECEIVED || !e->has_payload_hash || !e->has_ref) {
    tg_prov_entry_free(e);
    return tg_cli_fail("prov check: entry %s is no data-received entry with an owner's "
                       "reference",
                       text);
  }
  /* 2. The owner's entry, in the owner's log, with the same payload: the
   * owner's reference is the one the consumer's proven entry holds. */
  struct tg_prov_ref oref = e->ref;
  snprintf(onode, sizeof(onode), "%s", e->ref.node ? e->ref.node : "");
  oref.node = onode;
  if (owner_url == NULL && peer_url(cli, onode, url, sizeof(url)) == 0)
    owner_url = url;
  if (owner_url == NULL || target_init(&owner, cli->dir, owner_url, NULL) ||
      entry_fetch(&owner, oref.index, &oe, oleaf) || check_ref(&owner, &oref, oleaf)) {
    tg_prov_entry_free(e);
    tg_prov_entry_free(oe);
    return 1;
  }
  to_hex(e->payload_sha256, TG_PROV_HASH, hash);
  to_hex(oe->payload_sha256, TG_PROV_HASH, ohash);
  rc = 0;
  if (oe->kind != TG_PROV_DATA_SERVED)
    rc = tg_cli_fail("prov check: the owner's entry %llu is not a data-served entry",
                     (unsigned long long)oref.index);
  else if (!oe->has_payload_hash ||
           memcmp(e->payload_sha256, oe->payload_sha256, TG_PROV_HASH) != 0 ||
           e->bytes != oe->bytes)
    rc = tg_cli_fail("prov check: MISMATCH: received %llu bytes with SHA-256 %s, the owner "
                     "logged %llu bytes with %s",
                     (unsigned long long)e->bytes, hash, (unsigned long long)oe->bytes,
                     oe->has_payload_hash ? ohash : "none");
  else if (e->dataset == NULL || oe->dataset == NULL || strcmp(e->dataset, oe->dataset) != 0)
    rc = tg_cli_fail("prov check: MISMATCH: the entries name different datasets");
  if (rc == 0) {
    if (cli->json)
      printf("{\"entry\":\"%s\",\"owner\":\"%s\",\"owner_index\":%llu,\"payload_sha256\":\"%s\","
             "\"bytes\":%llu,\"ok\":true}\n",
             text, onode, (unsigned long long)oref.index, hash, (unsigned long long)e->bytes);
    else
      printf("entry %s: included in %s's log; owner %s logged it as entry %llu (data-served, "
             "%llu bytes, SHA-256 %s), included under a signed tree head\n",
             text, node, onode, (unsigned long long)oref.index, (unsigned long long)e->bytes,
             hash);
  }
  tg_prov_entry_free(e);
  tg_prov_entry_free(oe);
  return rc;
}

/* ---- show ------------------------------------------------------------------ */

static const char *str(const json_t *e, const char *k) {
  const char *v = json_string_value(json_object_get(e, k));
  return v && *v ? v : "-";
}

/* One line for entry E, if it matches DATASET and SINCE. */
static void show_one(const struct tg_cli *cli, const json_t *e, const char *dataset,
                     const char *since, json_t *items) {
  const char *time = str(e, "time");
  if (dataset != NULL && strcmp(str(e, "dataset"), dataset) != 0)
    return;
  if (since != NULL && strcmp(time, since) < 0) /* the same ISO form sorts as text */
    return;
  if (cli->json) {
    json_t *c = json_deep_copy(e);
    json_object_del(c, "encoding");
    json_array_append_new(items, c);
    return;
  }
  const char *subject = str(e, "requester_subject");
  printf("%-6lld %.19sZ  %-15s %-9s %s  by %s%s%s  owner %s  %lld bytes%s%s%s%s\n",
         (long long)json_integer_value(json_object_get(e, "index")), time, str(e, "kind"),
         str(e, "outcome"), str(e, "dataset"), str(e, "requester_node"),
         strcmp(subject, "-") ? "/" : "", strcmp(subject, "-") ? subject : "", str(e, "owner_node"),
         (long long)json_integer_value(json_object_get(e, "bytes")),
         strcmp(str(e, "purpose"), "-") ? "  purpose " : "",
         strcmp(str(e, "purpose"), "-") ? str(e, "purpose") : "",
         strcmp(str(e, "rule"), "-") ? "  rule: " : "", strcmp(str(e, "rule"), "-") ? str(e, "rule") : "");
}

/* tsunagu prov show: the local node's log, readable (admin). */
static int prov_show(struct tg_cli *cli, const char *dataset, const char *since) {
  int status;
  json_t *j = NULL;
  int rc = tg_cli_call(cli, "GET", "/api/v1/provenance/entries?start=0&end=0", NULL, 0, &status,
                       &j, NULL);
  if (rc)
    return rc;
  json_t *items = json_array();
  json_int_t size = json_integer_value(json_object_get(j, "tree_size"));
  json_decref(j);
  for (json_int_t start = 0; start < size;) {
    char path[160];
    json_int_t end = size - start > PAGE ? start + PAGE : size;
    snprintf(path, sizeof(path), "/api/v1/provenance/entries?start=%lld&end=%lld",
             (long long)start, (long long)end);
    if ((rc = tg_cli_call(cli, "GET", path, NULL, 0, &status, &j, NULL)) != 0) {
      json_decref(items);
      return rc;
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "entries"), i, e) show_one(cli, e, dataset, since, items);
    json_decref(j);
    start = end;
  }
  if (cli->json)
    tg_cli_print_list(items, NULL);
  else
    json_decref(items);
  return 0;
}

int tg_cli_prov(struct tg_cli *cli, int argc, char **argv) {
  const char *node = NULL, *owner = NULL, *dataset = NULL, *since = NULL;
  const struct tg_cli_opt opts[] = {{"node", 0, &node, NULL, NULL},
                                    {"owner", 0, &owner, NULL, NULL},
                                    {"dataset", 0, &dataset, NULL, NULL},
                                    {"since", 0, &since, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "prov", &argc, argv, opts, 0);
  if (rc)
    return rc;
  const char *sub = argc > 0 ? argv[0] : "";
  if (strcmp(sub, "verify") == 0 && argc == 1 && owner == NULL)
    return (rc = prov_verify(cli, node)) == 1 && prov_exit ? prov_exit : rc;
  if (strcmp(sub, "check") == 0 && argc == 2 && node == NULL)
    return (rc = prov_check(cli, argv[1], owner)) == 1 && prov_exit ? prov_exit : rc;
  if (strcmp(sub, "show") == 0 && argc == 1 && node == NULL && owner == NULL)
    return prov_show(cli, dataset, since);
  return tg_cli_usage("prov: bad arguments: verify [--node URL], check ENTRY-REF [--owner URL] "
                      "or show [--dataset ID] [--since T] (try tsunagu prov --help)");
}
