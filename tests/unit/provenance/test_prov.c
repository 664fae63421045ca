/* Unit tests for provenance/: RFC 9162 hashes and known roots, every root,
 * inclusion and consistency proof of every tree size 1..N against a plain
 * recursive implementation written here, tampered proofs, the entry and
 * proof encodings and their refusals, the SQLite log (batches, reopen,
 * tampering) and signed tree heads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_cert.h"
#include "tg_err.h"
#include "tg_prov.h"
#include "tg_util.h"

#define N_ALL 300 /* every size 1..N_ALL, every index and pair */

/* ---- The reference: RFC 9162 2.1 written out as recursion ---------------- */

static void sha(const void *a, size_t alen, const void *b, size_t blen, uint8_t pre,
                uint8_t out[32]) {
  uint8_t *buf = malloc(1 + alen + blen);
  unsigned int n = 0;
  assert_non_null(buf);
  buf[0] = pre;
  if (alen)
    memcpy(buf + 1, a, alen);
  if (blen)
    memcpy(buf + 1 + alen, b, blen);
  assert_int_equal(EVP_Digest(buf, 1 + alen + blen, out, &n, EVP_sha256(), NULL), 1);
  free(buf);
}

/* The leaves of the reference tree: leaf i is "leaf-<i>" repeated i % 5 times. */
static uint8_t ref_leaf[N_ALL][32];
/* MTH(D[a:b]) memoised, so checking every pair stays quadratic. */
static uint8_t ref_memo[N_ALL + 1][N_ALL + 1][32];
static uint8_t ref_done[N_ALL + 1][N_ALL + 1];

static uint64_t ref_k(uint64_t n) {
  uint64_t k = 1;
  while (2 * k < n)
    k *= 2;
  return k;
}

static const uint8_t *ref_mth(uint64_t a, uint64_t b) {
  if (!ref_done[a][b]) {
    if (b - a == 1) {
      memcpy(ref_memo[a][b], ref_leaf[a], 32);
    } else {
      uint64_t k = ref_k(b - a);
      sha(ref_mth(a, a + k), 32, ref_mth(a + k, b), 32, 1, ref_memo[a][b]);
    }
    ref_done[a][b] = 1;
  }
  return ref_memo[a][b];
}

struct ref_path {
  size_t n;
  uint8_t h[64][32];
};

static void ref_push(struct ref_path *p, const uint8_t *h) {
  assert_true(p->n < 64);
  memcpy(p->h[p->n++], h, 32);
}

/* PATH(m, D[a:b]) */
static void ref_inclusion(uint64_t m, uint64_t a, uint64_t b, struct ref_path *p) {
  if (b - a == 1)
    return;
  uint64_t k = ref_k(b - a);
  if (m < k) {
    ref_inclusion(m, a, a + k, p);
    ref_push(p, ref_mth(a + k, b));
  } else {
    ref_inclusion(m - k, a + k, b, p);
    ref_push(p, ref_mth(a, a + k));
  }
}

/* SUBPROOF(m, D[a:b], whole) */
static void ref_subproof(uint64_t m, uint64_t a, uint64_t b, int whole, struct ref_path *p) {
  if (m == b - a) {
    if (!whole)
      ref_push(p, ref_mth(a, b));
    return;
  }
  uint64_t k = ref_k(b - a);
  if (m <= k) {
    ref_subproof(m, a, a + k, whole, p);
    ref_push(p, ref_mth(a + k, b));
  } else {
    ref_subproof(m - k, a + k, b, 0, p);
    ref_push(p, ref_mth(a, a + k));
  }
}

static struct tg_prov_tree *ref_tree(void) {
  struct tg_prov_tree *t = NULL;
  assert_int_equal(tg_prov_tree_new(&t), 0);
  for (int i = 0; i < N_ALL; i++) {
    char d[64];
    size_t len = 0;
    for (int r = 0; r < i % 5; r++)
      len += (size_t)snprintf(d + len, sizeof(d) - len, "leaf-%d", i);
    sha(d, len, NULL, 0, 0, ref_leaf[i]);
    assert_int_equal(tg_prov_tree_append(t, ref_leaf[i]), 0);
  }
  return t;
}

static void hex_to(const char *hex, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
}

/* ---- Hashes and known vectors --------------------------------------------- */

static void test_known_vectors(void **state) {
  (void)state;
  uint8_t h[32], want[32];
  struct tg_prov_tree *t = NULL;
  assert_int_equal(tg_prov_tree_new(&t), 0);
  assert_int_equal(tg_prov_tree_root(t, 0, h), 0);
  hex_to("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
  assert_memory_equal(h, want, 32);
  assert_int_equal(tg_prov_tree_root(t, 1, h), TG_EINVAL);
  assert_int_equal(tg_prov_leaf_hash("", 0, h), 0);
  hex_to("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, 32);
  assert_memory_equal(h, want, 32);

  /* The RFC 6962 reference test leaves and the roots of sizes 1..8 that
   * Certificate Transparency implementations test against. */
  static const char *leaves[8] = {"",
                                  "00",
                                  "10",
                                  "2021",
                                  "3031",
                                  "40414243",
                                  "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"};
  static const char *roots[8] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (int i = 0; i < 8; i++) {
    uint8_t d[16];
    size_t n = strlen(leaves[i]) / 2;
    hex_to(leaves[i], d, n);
    assert_int_equal(tg_prov_leaf_hash(d, n, h), 0);
    assert_int_equal(tg_prov_tree_append(t, h), 0);
    assert_int_equal(tg_prov_tree_root(t, (uint64_t)i + 1, h), 0);
    hex_to(roots[i], want, 32);
    assert_memory_equal(h, want, 32);
  }
  /* Roots of earlier sizes stay available. */
  assert_int_equal(tg_prov_tree_root(t, 3, h), 0);
  hex_to(roots[2], want, 32);
  assert_memory_equal(h, want, 32);
  uint8_t l[32] = {1}, r[32] = {2}, nh[32], ref[32];
  assert_int_equal(tg_prov_node_hash(l, r, nh), 0);
  sha(l, 32, r, 32, 1, ref);
  assert_memory_equal(nh, ref, 32);
  tg_prov_tree_free(t);
  tg_prov_tree_free(NULL);

  /* Reserving room first changes nothing but the allocations. */
  struct tg_prov_tree *a = ref_tree(), *b = NULL;
  assert_int_equal(tg_prov_tree_new(&b), 0);
  assert_int_equal(tg_prov_tree_reserve(b, 100000), 0);
  for (int i = 0; i < N_ALL; i++)
    assert_int_equal(tg_prov_tree_append(b, ref_leaf[i]), 0);
  assert_int_equal(tg_prov_tree_root(a, N_ALL, h), 0);
  assert_int_equal(tg_prov_tree_root(b, N_ALL, want), 0);
  assert_memory_equal(h, want, 32);
  /* Truncating goes back to an earlier tree, which grows again alike. */
  tg_prov_tree_truncate(b, 100);
  assert_int_equal(tg_prov_tree_size(b), 100);
  assert_null(tg_prov_tree_leaf(b, 100));
  for (int i = 100; i < N_ALL; i++)
    assert_int_equal(tg_prov_tree_append(b, ref_leaf[i]), 0);
  assert_int_equal(tg_prov_tree_root(b, N_ALL, want), 0);
  assert_memory_equal(h, want, 32);
  tg_prov_tree_free(a);
  tg_prov_tree_free(b);
}

/* ---- Every size, index and pair against the reference ------------------- */

static void test_roots_and_inclusion_all(void **state) {
  (void)state;
  struct tg_prov_tree *t = ref_tree();
  struct tg_prov_proof p;
  for (uint64_t n = 1; n <= N_ALL; n++) {
    uint8_t root[32];
    assert_int_equal(tg_prov_tree_root(t, n, root), 0);
    assert_memory_equal(root, ref_mth(0, n), 32);
    for (uint64_t m = 0; m < n; m++) {
      struct ref_path rp = {0};
      ref_inclusion(m, 0, n, &rp);
      assert_int_equal(tg_prov_tree_inclusion(t, m, n, &p), 0);
      assert_int_equal(p.n, rp.n);
      assert_int_equal(tg_prov_proof_len(TG_PROV_PROOF_INCLUSION, m, n), (int)rp.n);
      if (rp.n)
        assert_memory_equal(p.path, rp.h, rp.n * 32);
      assert_int_equal(tg_prov_inclusion_verify(&p, ref_leaf[m], root), 0);
    }
  }
  assert_int_equal(tg_prov_tree_inclusion(t, 5, 5, &p), TG_EINVAL);
  assert_int_equal(tg_prov_tree_inclusion(t, 0, N_ALL + 1, &p), TG_EINVAL);
  tg_prov_tree_free(t);
}

static void test_consistency_all(void **state) {
  (void)state;
  struct tg_prov_tree *t = ref_tree();
  struct tg_prov_proof p;
  for (uint64_t n = 1; n <= N_ALL; n++) {
    for (uint64_t m = 1; m <= n; m++) {
      struct ref_path rp = {0};
      ref_subproof(m, 0, n, 1, &rp);
      assert_int_equal(tg_prov_tree_consistency(t, m, n, &p), 0);
      assert_int_equal(p.n, rp.n);
      assert_int_equal(tg_prov_proof_len(TG_PROV_PROOF_CONSISTENCY, m, n), (int)rp.n);
      if (rp.n)
        assert_memory_equal(p.path, rp.h, rp.n * 32);
      assert_int_equal(tg_prov_consistency_verify(&p, ref_mth(0, m), ref_mth(0, n)), 0);
    }
  }
  assert_int_equal(tg_prov_tree_consistency(t, 0, 3, &p), TG_EINVAL);
  assert_int_equal(tg_prov_tree_consistency(t, 4, 3, &p), TG_EINVAL);
  assert_int_equal(tg_prov_tree_consistency(t, 1, N_ALL + 1, &p), TG_EINVAL);
  tg_prov_tree_free(t);
}

/* Any one flipped bit, a wrong leaf, index, size or root: the proof fails. */
static void test_tampered_proofs(void **state) {
  (void)state;
  struct tg_prov_tree *t = ref_tree();
  struct tg_prov_proof p, q;
  for (uint64_t n = 1; n <= 130; n++) {
    const uint8_t *root = ref_mth(0, n);
    for (uint64_t m = 0; m < n; m++) {
      assert_int_equal(tg_prov_tree_inclusion(t, m, n, &p), 0);
      for (size_t i = 0; i < p.n; i++) {
        q = p;
        q.path[i][(i * 7 + m) % 32] ^= (uint8_t)(1u << (m % 8));
        assert_int_equal(tg_prov_inclusion_verify(&q, ref_leaf[m], root), TG_EPROTO);
      }
      uint8_t leaf[32];
      memcpy(leaf, ref_leaf[m], 32);
      leaf[m % 32] ^= 0x80;
      assert_int_not_equal(tg_prov_inclusion_verify(&p, leaf, root), 0);
      q = p;
      q.a = (m + 1) % n;
      if (q.a != m)
        assert_int_not_equal(tg_prov_inclusion_verify(&q, ref_leaf[m], root), 0);
      /* (The tree size is bound to the root by the signed tree head, not by
       * the path: a path can fit a larger size with the same shape.) */
      if (p.n > 0) { /* a path one hash short or long */
        q = p;
        q.n--;
        assert_int_not_equal(tg_prov_inclusion_verify(&q, ref_leaf[m], root), 0);
        q = p;
        memcpy(q.path[q.n++], root, 32);
        assert_int_not_equal(tg_prov_inclusion_verify(&q, ref_leaf[m], root), 0);
      }
    }
    for (uint64_t m = 1; m < n; m++) {
      assert_int_equal(tg_prov_tree_consistency(t, m, n, &p), 0);
      for (size_t i = 0; i < p.n; i++) {
        q = p;
        q.path[i][(i * 5 + m) % 32] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(tg_prov_consistency_verify(&q, ref_mth(0, m), root), TG_EPROTO);
      }
      uint8_t bad[32];
      memcpy(bad, ref_mth(0, m), 32);
      bad[0] ^= 1;
      assert_int_not_equal(tg_prov_consistency_verify(&p, bad, root), 0);
      memcpy(bad, root, 32);
      bad[31] ^= 1;
      assert_int_not_equal(tg_prov_consistency_verify(&p, ref_mth(0, m), bad), 0);
      q = p;
      q.n = 0;
      assert_int_not_equal(tg_prov_consistency_verify(&q, ref_mth(0, m), root), 0);
    }
  }
  /* Equal sizes: an empty proof and equal roots only. */
  assert_int_equal(tg_prov_tree_consistency(t, 7, 7, &p), 0);
  assert_int_equal(p.n, 0);
  assert_int_equal(tg_prov_consistency_verify(&p, ref_mth(0, 7), ref_mth(0, 7)), 0);
  assert_int_equal(tg_prov_consistency_verify(&p, ref_mth(0, 7), ref_mth(0, 8)), TG_EPROTO);
  tg_prov_tree_free(t);
}

/* The binary form of proofs: round trip and refusals. */
static void test_proof_codec(void **state) {
  (void)state;
  struct tg_prov_tree *t = ref_tree();
  struct tg_prov_proof p, q;
  struct tg_buf b;
  struct tg_err err;
  tg_buf_init(&b);
  assert_int_equal(tg_prov_tree_inclusion(t, 77, 201, &p), 0);
  assert_int_equal(tg_prov_proof_encode(&p, &b), 0);
  assert_int_equal(b.len, 19 + p.n * 32);
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), 0);
  assert_int_equal(q.type, p.type);
  assert_true(q.a == 77 && q.b == 201 && q.n == p.n);
  assert_memory_equal(q.path, p.path, p.n * 32);
  for (size_t cut = 0; cut < b.len; cut++)
    assert_int_not_equal(tg_prov_proof_decode(b.data, cut, &q, NULL), 0);
  assert_int_equal(tg_buf_append(&b, "", 1), 0);
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), TG_EINVAL);
  b.len--;
  b.data[0] = 2;
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), TG_EUNSUP);
  b.data[0] = 1;
  b.data[1] = 3;
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), TG_EINVAL);
  b.data[1] = 1;
  b.data[18]++; /* a count that does not fit the sizes */
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), TG_EINVAL);
  tg_buf_reset(&b);
  assert_int_equal(tg_prov_tree_consistency(t, 13, 300, &p), 0);
  assert_int_equal(tg_prov_proof_encode(&p, &b), 0);
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), 0);
  assert_int_equal(q.type, TG_PROV_PROOF_CONSISTENCY);
  assert_int_equal(tg_prov_consistency_verify(&q, ref_mth(0, 13), ref_mth(0, 300)), 0);
  memset(b.data + 2, 0, 8); /* first size 0 */
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), TG_EINVAL);
  /* Sizes near 2^64 neither loop nor overflow. */
  int deep = tg_prov_proof_len(TG_PROV_PROOF_INCLUSION, UINT64_MAX - 1, UINT64_MAX);
  assert_true(deep > 0 && deep <= TG_PROV_MAX_PROOF);
  assert_int_equal(tg_prov_proof_len(TG_PROV_PROOF_INCLUSION, 0, 1ull << 63), 63);
  assert_true(tg_prov_proof_len(TG_PROV_PROOF_CONSISTENCY, 3, UINT64_MAX) > 0);
  assert_int_equal(tg_prov_proof_len(TG_PROV_PROOF_CONSISTENCY, 0, 1), -1);
  assert_int_equal(tg_prov_proof_len(9, 0, 1), -1);
  /* A consistency proof between sizes near 2^64 would take 65 hashes, one
   * more than a proof holds: its binary form is refused, not copied. */
  int n65 = tg_prov_proof_len(TG_PROV_PROOF_CONSISTENCY, UINT64_MAX - 2, UINT64_MAX);
  tg_buf_reset(&b);
  uint8_t head[19] = {1, TG_PROV_PROOF_CONSISTENCY};
  for (int i = 0; i < 8; i++) {
    head[2 + i] = (uint8_t)((UINT64_MAX - 2) >> (56 - 8 * i));
    head[10 + i] = 0xff;
  }
  head[18] = (uint8_t)n65;
  assert_int_equal(tg_buf_append(&b, head, sizeof(head)), 0);
  static const uint8_t zero[TG_PROV_HASH];
  for (int i = 0; i < n65; i++)
    assert_int_equal(tg_buf_append(&b, zero, sizeof(zero)), 0);
  assert_true(n65 > TG_PROV_MAX_PROOF);
  assert_int_equal(tg_prov_proof_decode(b.data, b.len, &q, &err), TG_EINVAL);
  tg_buf_close(&b);
  tg_prov_tree_free(t);
}

/* ---- Entries ------------------------------------------------------------ */

/* The worked example of docs/provenance.md. */
static struct tg_prov_entry example_entry(void) {
  struct tg_prov_entry e;
  memset(&e, 0, sizeof(e));
  e.index = 7;
  e.time_us = 1796126400000000ull; /* 2026-12-01T12:00:00Z */
  e.kind = TG_PROV_DATA_RECEIVED;
  e.outcome = TG_PROV_COMPLETE;
  e.dataset = "water-level";
  e.requester_node = "c";
  e.requester_subject = "alice";
  e.owner_node = "a";
  e.purpose = "flood-watch";
  e.bytes = 1024;
  e.has_payload_hash = 1;
  memset(e.payload_sha256, 0xab, 32);
  e.has_ref = 1;
  e.ref.node = "a";
  e.ref.index = 41;
  e.ref.tree_size = 42;
  memset(e.ref.root, 0xcd, 32);
  return e;
}

static const char example_hex[] =
    "01"
    "0000000000000007"
    "00066191440b3000"
    "02"
    "01"
    "0000000000000400"
    "000b77617465722d6c6576656c"
    "000163"
    "0005616c696365"
    "000161"
    "000b666c6f6f642d7761746368"
    "0000"
    "01abababababababababababababababababababababababababababababababab"
    "01000161"
    "0000000000000029"
    "000000000000002a"
    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

static void test_entry_example(void **state) {
  (void)state;
  struct tg_prov_entry e = example_entry();
  struct tg_buf b;
  char hex[1024];
  uint8_t h[32];
  char hh[65];
  tg_buf_init(&b);
  assert_int_equal(tg_prov_entry_encode(&e, &b, NULL), 0);
  assert_true(b.len * 2 < sizeof(hex));
  tg_hex(b.data, b.len, hex);
  assert_string_equal(hex, example_hex);
  assert_int_equal(tg_prov_leaf_hash(b.data, b.len, h), 0);
  tg_hex(h, 32, hh);
  print_message("# example leaf hash %s\n", hh);
  assert_string_equal(hh, "e776bc2bdd3912e7a280c3ab6f8bbaf5422fa4534a90dda40ab2be619886e17e");
  tg_buf_close(&b);
}

static void test_entry_round_trip(void **state) {
  (void)state;
  struct tg_prov_entry e = example_entry(), *d = NULL;
  struct tg_buf b, b2;
  tg_buf_init(&b);
  tg_buf_init(&b2);
  e.rule = "policy:open/refuse-1";
  e.requester_subject = "\xe5\xb1\xb1\xe7\x94\xb0"; /* 山田 */
  assert_int_equal(tg_prov_entry_encode(&e, &b, NULL), 0);
  assert_int_equal(tg_prov_entry_decode(b.data, b.len, &d, NULL), 0);
  assert_true(d->index == 7 && d->time_us == e.time_us && d->bytes == 1024);
  assert_int_equal(d->kind, TG_PROV_DATA_RECEIVED);
  assert_int_equal(d->outcome, TG_PROV_COMPLETE);
  assert_string_equal(d->dataset, "water-level");
  assert_string_equal(d->requester_subject, e.requester_subject);
  assert_string_equal(d->rule, e.rule);
  assert_string_equal(d->ref.node, "a");
  assert_true(d->ref.index == 41 && d->ref.tree_size == 42);
  assert_memory_equal(d->ref.root, e.ref.root, 32);
  assert_memory_equal(d->payload_sha256, e.payload_sha256, 32);
  /* Re-encoding the decoded entry gives the same bytes. */
  assert_int_equal(tg_prov_entry_encode(d, &b2, NULL), 0);
  assert_int_equal(b2.len, b.len);
  assert_memory_equal(b2.data, b.data, b.len);
  tg_prov_entry_free(d);

  /* A minimal entry: every string absent ("" and NULL alike), no hash, no ref. */
  struct tg_prov_entry m;
  memset(&m, 0, sizeof(m));
  m.kind = TG_PROV_CATALOG_CHANGE;
  m.outcome = TG_PROV_COMPLETE;
  m.dataset = "";
  tg_buf_reset(&b);
  assert_int_equal(tg_prov_entry_encode(&m, &b, NULL), 0);
  assert_int_equal(b.len, 27 + 6 * 2 + 2);
  assert_int_equal(tg_prov_entry_decode(b.data, b.len, &d, NULL), 0);
  assert_null(d->dataset);
  assert_null(d->ref.node);
  assert_int_equal(d->has_ref, 0);
  tg_prov_entry_free(d);
  tg_prov_entry_free(NULL);
  char when[TG_PROV_TIME_TEXT];
  tg_prov_time_text(1796126400000000ull, when);
  assert_string_equal(when, "2026-12-01T12:00:00.000000Z");
  tg_prov_time_text(951782400123456ull, when); /* a leap day */
  assert_string_equal(when, "2000-02-29T00:00:00.123456Z");
  tg_prov_time_text(0, when);
  assert_string_equal(when, "1970-01-01T00:00:00.000000Z");
  tg_prov_time_text(UINT64_MAX, when);
  assert_string_equal(when, "9999-12-31T23:59:59.999999Z");
  for (int k = 1; k <= TG_PROV_KIND_MAX; k++)
    assert_int_equal(tg_prov_kind_parse(tg_prov_kind_name(k)), k);
  assert_int_equal(tg_prov_kind_parse("data-stolen"), 0);
  assert_null(tg_prov_kind_name(14));
  assert_string_equal(tg_prov_outcome_name(TG_PROV_ABORTED), "aborted");
  tg_buf_close(&b);
  tg_buf_close(&b2);
}

static void expect_refused(const uint8_t *p, size_t len, int code) {
  struct tg_prov_entry *d = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_prov_entry_decode(p, len, &d, &err);
  if (rc != code)
    fail_msg("decode gave %d (%s), not %d", rc, err.msg, code);
  assert_null(d);
  assert_true(err.msg[0] != '\0');
}

static void test_entry_refusals(void **state) {
  (void)state;
  struct tg_prov_entry e = example_entry();
  struct tg_buf b;
  tg_buf_init(&b);
  assert_int_equal(tg_prov_entry_encode(&e, &b, NULL), 0);
  uint8_t *p = (uint8_t *)b.data;
  size_t len = b.len;
  for (size_t cut = 0; cut < len; cut++)
    expect_refused(p, cut, TG_EINVAL);
  assert_int_equal(tg_buf_append(&b, "x", 1), 0);
  p = (uint8_t *)b.data;
  expect_refused(p, len + 1, TG_EINVAL); /* trailing byte */
  p[0] = 2;
  expect_refused(p, len, TG_EUNSUP);
  p[0] = 1;
  p[17] = 0;
  expect_refused(p, len, TG_EINVAL); /* kind 0 */
  p[17] = 14;
  expect_refused(p, len, TG_EINVAL);
  p[17] = 2;
  p[18] = 4;
  expect_refused(p, len, TG_EINVAL); /* outcome */
  p[18] = 1;
  p[28] = 0xff; /* the dataset's length runs past the end */
  expect_refused(p, len, TG_EINVAL);
  p[28] = 11;
  p[30] = 0; /* a NUL inside the dataset */
  expect_refused(p, len, TG_EINVAL);
  p[30] = 0xc0; /* not UTF-8 */
  expect_refused(p, len, TG_EINVAL);
  p[30] = 'a';
  size_t flag = 27 + 2 + 11 + 2 + 1 + 2 + 5 + 2 + 1 + 2 + 11 + 2;
  assert_int_equal(p[flag], 1);
  p[flag] = 2; /* a flag other than 0 or 1 */
  expect_refused(p, len, TG_EINVAL);
  p[flag] = 1;
  p[flag + 33] = 2;
  expect_refused(p, len, TG_EINVAL);
  p[flag + 33] = 1;
  p[flag + 36] = '-'; /* the reference's node id "-" */
  expect_refused(p, len, TG_EINVAL);
  p[flag + 36] = 'a';
  struct tg_prov_entry *d = NULL;
  assert_int_equal(tg_prov_entry_decode(p, len, &d, NULL), 0);
  tg_prov_entry_free(d);

  /* What encode refuses. */
  struct tg_err err;
  tg_buf_reset(&b);
  e.kind = 0;
  assert_int_equal(tg_prov_entry_encode(&e, &b, &err), TG_EINVAL);
  e.kind = 1;
  e.outcome = 9;
  assert_int_equal(tg_prov_entry_encode(&e, &b, &err), TG_EINVAL);
  e.outcome = 1;
  e.purpose = "\xff";
  assert_int_equal(tg_prov_entry_encode(&e, &b, &err), TG_EINVAL);
  e.purpose = NULL;
  e.ref.node = "Not_A_Node";
  assert_int_equal(tg_prov_entry_encode(&e, &b, &err), TG_EINVAL);
  char *big = malloc(TG_PROV_MAX_STR + 2);
  memset(big, 'x', TG_PROV_MAX_STR + 1);
  big[TG_PROV_MAX_STR + 1] = '\0';
  e.ref.node = "a";
  e.dataset = big;
  assert_int_equal(tg_prov_entry_encode(&e, &b, &err), TG_EINVAL);
  big[TG_PROV_MAX_STR] = '\0';
  assert_int_equal(tg_prov_entry_encode(&e, &b, &err), 0);
  free(big);
  tg_buf_close(&b);
}

static void test_ref_text(void **state) {
  (void)state;
  struct tg_prov_entry e = example_entry();
  struct tg_prov_ref ref;
  char text[TG_PROV_REF_TEXT], node[TG_PROV_MAX_NODE + 1];
  struct tg_err err;
  assert_int_equal(tg_prov_ref_format(&e.ref, text), 0);
  assert_string_equal(text,
                      "a:41:42:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
  assert_int_equal(tg_prov_ref_parse(text, &ref, node, &err), 0);
  assert_string_equal(ref.node, "a");
  assert_true(ref.node == node && ref.index == 41 && ref.tree_size == 42);
  assert_memory_equal(ref.root, e.ref.root, 32);
  /* The longest: a 63-character node id and the largest numbers. */
  char longest[64];
  memset(longest, 'n', 63);
  longest[63] = '\0';
  ref.node = longest;
  ref.index = UINT64_MAX - 1;
  ref.tree_size = UINT64_MAX;
  assert_int_equal(tg_prov_ref_format(&ref, text), 0);
  assert_int_equal(strlen(text), 63 + 1 + 20 + 1 + 20 + 1 + 64);
  assert_int_equal(tg_prov_ref_parse(text, &ref, node, &err), 0);
  ref.index = UINT64_MAX;
  assert_int_equal(tg_prov_ref_format(&ref, text), TG_EINVAL);
  static const char *const bad[] = {
      "",
      "a",
      "a:1:2",
      ":1:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "A:1:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:01:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:+1:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:2:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:1:18446744073709551616:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:1:2:CDcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:1:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:1:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "a:1:2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd:",
      "a:1:2: cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc",
      "a::2:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    tg_err_clear(&err);
    if (tg_prov_ref_parse(bad[i], &ref, node, &err) != TG_EINVAL)
      fail_msg("reference \"%s\" accepted", bad[i]);
    assert_true(err.msg[0] != '\0');
  }
  assert_int_equal(tg_prov_ref_parse(NULL, &ref, node, &err), TG_EINVAL);
}

/* ---- The SQLite log ------------------------------------------------------ */

struct fixture {
  char dir[64];
  char path[128];
  EVP_PKEY *key;
};

static int log_setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/tsunagu-test-prov.XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/prov.db", f->dir);
  if (tg_cert_key_new(&f->key, NULL) != 0)
    return -1;
  *state = f;
  return 0;
}

static int log_teardown(void **state) {
  struct fixture *f = *state;
  char p[160];
  static const char *const ext[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s%s", f->path, ext[i]);
    unlink(p);
  }
  rmdir(f->dir);
  EVP_PKEY_free(f->key);
  free(f);
  return 0;
}

static struct tg_prov_entry served(int i) {
  struct tg_prov_entry e;
  memset(&e, 0, sizeof(e));
  e.time_us = 1796208000000000ull + (uint64_t)i;
  e.kind = TG_PROV_DATA_SERVED;
  e.outcome = i % 7 == 3 ? TG_PROV_ABORTED : TG_PROV_COMPLETE;
  e.dataset = i % 2 ? "water-level" : "rain";
  e.requester_node = "c";
  e.owner_node = "a";
  e.bytes = (uint64_t)i * 100;
  e.has_payload_hash = 1;
  memset(e.payload_sha256, i & 0xff, 32);
  return e;
}

/* Appends N entries made from SEED, SEED+1, … in one batch. */
static void append_n(struct tg_prov_log *log, int seed, int n) {
  struct tg_prov_entry *es = calloc((size_t)n, sizeof(*es));
  struct tg_err err;
  uint64_t base = tg_prov_log_size(log);
  for (int i = 0; i < n; i++)
    es[i] = served(seed + i);
  if (tg_prov_log_append(log, es, (size_t)n, &err) != 0)
    fail_msg("append: %s", err.msg);
  for (int i = 0; i < n; i++)
    assert_true(es[i].index == base + (uint64_t)i);
  assert_true(tg_prov_log_size(log) == base + (uint64_t)n);
  free(es);
}

/* Reading back: counts entries, checks their order, stops at STOP. */
struct reader {
  uint64_t next, stop, bytes;
};

static int read_one(void *arg, uint64_t index, const uint8_t *body, size_t len) {
  struct reader *r = arg;
  struct tg_prov_entry *e = NULL;
  if (index != r->next || tg_prov_entry_decode(body, len, &e, NULL) != 0 || e->index != index)
    fail_msg("entry %llu out of order or undecodable", (unsigned long long)index);
  r->bytes += e->bytes;
  tg_prov_entry_free(e);
  r->next++;
  return index + 1 == r->stop ? 42 : 0;
}

static struct tg_prov_log *open_log(struct fixture *f) {
  struct tg_prov_log *log = NULL;
  struct tg_err err;
  if (tg_prov_log_open(f->path, &log, &err) != 0)
    fail_msg("open: %s", err.msg);
  return log;
}

static void sql(struct fixture *f, const char *q) {
  sqlite3 *db = NULL;
  char *msg = NULL;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", q, msg);
  sqlite3_close(db);
}

static void test_log_batches_reopen(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth sth, latest;
  struct tg_err err;
  uint8_t root[32];
  assert_int_equal(tg_prov_log_size(log), 0);
  assert_int_equal(tg_prov_log_sth_latest(log, &latest, &err), TG_ENOENT);
  append_n(log, 0, 1);
  append_n(log, 1, 37);
  append_n(log, 38, 500);
  assert_int_equal(tg_prov_log_append(log, NULL, 0, &err), 0);
  assert_int_equal(tg_prov_log_size(log), 538);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1796208000123ull, &sth, &err), 0);
  assert_int_equal(sth.tree_size, 538);
  assert_int_equal(tg_prov_sth_verify(&sth, f->key, &err), 0);
  assert_int_equal(tg_prov_tree_root(tg_prov_log_tree(log), 538, root), 0);
  assert_memory_equal(sth.root, root, 32);
  /* An entry that does not encode fails the whole batch; nothing is added. */
  struct tg_prov_entry two[2] = {served(538), served(539)};
  two[1].kind = 99;
  assert_int_equal(tg_prov_log_append(log, two, 2, &err), TG_EINVAL);
  assert_int_equal(tg_prov_log_size(log), 538);
  tg_prov_log_close(log);

  log = open_log(f);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  assert_int_equal(tg_prov_log_size(log), 538);
  assert_int_equal(tg_prov_log_sth_latest(log, &latest, &err), 0);
  assert_memory_equal(&latest, &sth, sizeof(sth));
  assert_int_equal(tg_prov_sth_verify(&latest, f->key, &err), 0);
  /* Stored bytes decode to what was appended, and prove inclusion. */
  uint8_t *body = NULL;
  size_t len = 0;
  struct tg_prov_entry *d = NULL;
  struct tg_prov_proof p;
  uint8_t leaf[32];
  assert_int_equal(tg_prov_log_entry_get(log, 100, &body, &len, &err), 0);
  assert_int_equal(tg_prov_entry_decode(body, len, &d, &err), 0);
  assert_true(d->index == 100 && d->bytes == 10000);
  assert_string_equal(d->dataset, "rain");
  assert_int_equal(tg_prov_leaf_hash(body, len, leaf), 0);
  assert_int_equal(tg_prov_tree_inclusion(tg_prov_log_tree(log), 100, 538, &p), 0);
  assert_int_equal(tg_prov_inclusion_verify(&p, leaf, latest.root), 0);
  tg_prov_entry_free(d);
  free(body);
  assert_int_equal(tg_prov_log_entry_get(log, 538, &body, &len, &err), TG_ENOENT);
  struct reader rd = {100, 0, 0};
  assert_int_equal(tg_prov_log_read(log, 100, 110, read_one, &rd, &err), 0);
  assert_true(rd.next == 110 && rd.bytes == 100 * 1045);
  rd = (struct reader){500, 520, 0};
  assert_int_equal(tg_prov_log_read(log, 500, 538, read_one, &rd, &err), 42);
  assert_int_equal(rd.next, 520);
  assert_int_equal(tg_prov_log_read(log, 5, 5, read_one, &rd, &err), 0);
  assert_int_equal(tg_prov_log_read(log, 6, 5, read_one, &rd, &err), TG_EINVAL);
  assert_int_equal(tg_prov_log_read(log, 0, 539, read_one, &rd, &err), TG_EINVAL);
  append_n(log, 538, 10);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1796208001000ull, &sth, &err), 0);
  assert_int_equal(tg_prov_tree_consistency(tg_prov_log_tree(log), 538, 548, &p), 0);
  assert_int_equal(tg_prov_consistency_verify(&p, latest.root, sth.root), 0);
  /* A tree head kept outside the log: the same size and root hold; one the
   * log no longer reaches names the first entry it lacks; another root at a
   * size it has marks it broken from 0. */
  assert_int_equal(tg_prov_log_expect(log, 548, sth.root), 0);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  assert_int_equal(tg_prov_log_expect(log, 538, sth.root), 0);
  assert_true(tg_prov_log_health(log)->broken && tg_prov_log_health(log)->first_bad == 0);
  tg_prov_log_close(log);
  log = open_log(f);
  assert_int_equal(tg_prov_log_expect(log, 550, sth.root), 0);
  assert_true(tg_prov_log_health(log)->broken && tg_prov_log_health(log)->first_bad == 548);
  tg_prov_log_close(log);
  tg_prov_log_close(NULL);
}

/* Files that are no log, and bad arguments: errors, not crashes. */
static void test_log_bad_open(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = NULL;
  struct tg_prov_sth sth;
  struct tg_err err;
  char path[160];
  snprintf(path, sizeof(path), "%s/missing/prov.db", f->dir);
  assert_int_equal(tg_prov_log_open(path, &log, &err), TG_EDB);
  assert_null(log);
  assert_int_equal(
      tg_file_write(f->path, "not a database, not at all, no.......", 37, 0600, 0, NULL), 0);
  tg_err_clear(&err);
  assert_int_equal(tg_prov_log_open(f->path, &log, &err), TG_EDB);
  assert_true(err.msg[0] != '\0');
  unlink(f->path);
  log = open_log(f);
  assert_int_equal(tg_prov_log_sign(log, f->key, "Not Valid", 1, &sth, &err), TG_EINVAL);
  assert_int_equal(tg_prov_log_sign(log, NULL, "a", 1, &sth, &err), TG_EINVAL);
  /* An empty log signs the empty tree. */
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &sth, &err), 0);
  assert_int_equal(sth.tree_size, 0);
  assert_int_equal(sth.root[0], 0xe3);
  tg_prov_log_close(log);
}

/* Signing in steps (the daemon signs and syncs without its lock): a head
 * taken before more appends is stored as it was taken, a head that is not
 * the log's is refused, and syncing with no WAL file is a no-op. */
static void test_log_sign_steps(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth sth, got, bad;
  struct tg_err err;
  assert_int_equal(tg_prov_log_set_sync(log, TG_PROV_SYNC_OS, NULL), 0);
  append_n(log, 0, 30);
  assert_int_equal(tg_prov_log_head(log, "a", 7, &sth, &err), 0);
  assert_int_equal(sth.tree_size, 30);
  assert_int_equal(sth.sig_len, 0);
  append_n(log, 30, 10); /* the loops append while the writer signs */
  assert_int_equal(tg_prov_sth_sign(&sth, f->key, &err), 0);
  assert_int_equal(tg_prov_log_sync_entries(log, &err), 0);
  bad = sth;
  bad.root[3] ^= 1;
  assert_int_equal(tg_prov_log_store(log, &bad, 0, &err), TG_EINVAL);
  bad = sth;
  bad.tree_size = 41;
  assert_int_equal(tg_prov_log_store(log, &bad, 0, &err), TG_EINVAL);
  assert_int_equal(tg_prov_log_store(log, &sth, 0, &err), 0);
  assert_int_equal(tg_prov_log_sth_latest(log, &got, &err), 0);
  assert_int_equal(got.tree_size, 30);
  assert_int_equal(got.timestamp_ms, 7);
  assert_memory_equal(got.root, sth.root, TG_PROV_HASH);
  assert_int_equal(tg_prov_sth_verify(&got, f->key, &err), 0);
  char longnode[100];
  memset(longnode, 'a', sizeof(longnode) - 1);
  longnode[sizeof(longnode) - 1] = '\0';
  assert_int_equal(tg_prov_log_head(log, longnode, 1, &bad, &err), TG_EINVAL);
  tg_prov_log_close(log);
  /* Reopened: the stored head checks. */
  log = open_log(f);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  assert_int_equal(tg_prov_log_size(log), 40);
  assert_int_equal(tg_prov_log_check_signatures(log, f->key, NULL), 0);
  tg_prov_log_close(log);
}

static void expect_broken(struct fixture *f, uint64_t first_bad) {
  struct tg_prov_log *log = open_log(f);
  const struct tg_prov_log_health *h = tg_prov_log_health(log);
  struct tg_prov_sth sth;
  struct tg_err err;
  assert_int_equal(h->broken, 1);
  if (h->first_bad != first_bad)
    fail_msg("first bad %llu, not %llu (%s)", (unsigned long long)h->first_bad,
             (unsigned long long)first_bad, h->why);
  assert_true(h->why[0] != '\0');
  struct tg_prov_entry e = served(1);
  assert_int_equal(tg_prov_log_append(log, &e, 1, &err), TG_EPERM);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &sth, &err), TG_EPERM);
  tg_prov_log_close(log);
}

static void test_log_tamper_edit(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth sth;
  append_n(log, 0, 40);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &sth, NULL), 0);
  tg_prov_log_close(log);
  /* One byte of entry 17's bytes field (byte 26 of its encoding: 1700 = 0x6a4). */
  sql(f,
      "UPDATE prov_entry SET body = CAST(substr(body, 1, 26) || x'ff' || substr(body, 28) AS BLOB)"
      " WHERE idx = 17");
  expect_broken(f, 17);
  /* Put back, the log is whole again. */
  sql(f,
      "UPDATE prov_entry SET body = CAST(substr(body, 1, 26) || x'a4' || substr(body, 28) AS BLOB)"
      " WHERE idx = 17");
  log = open_log(f);
  if (tg_prov_log_health(log)->broken)
    fail_msg("still broken: %s", tg_prov_log_health(log)->why);
  assert_int_equal(tg_prov_log_size(log), 40);
  tg_prov_log_close(log);
}

static void test_log_tamper_rehashed(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth sth;
  append_n(log, 0, 20);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &sth, NULL), 0);
  append_n(log, 20, 20);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 2, &sth, NULL), 0);
  /* Entry 25 replaced by another valid entry with its right leaf hash. */
  uint8_t *body = NULL;
  size_t len = 0;
  assert_int_equal(tg_prov_log_entry_get(log, 25, &body, &len, NULL), 0);
  tg_prov_log_close(log);
  body[26] ^= 1;
  uint8_t leaf[32];
  char q[1024], hb[600], hl[65];
  assert_int_equal(tg_prov_leaf_hash(body, len, leaf), 0);
  assert_true(len * 2 < sizeof(hb));
  tg_hex(body, len, hb);
  tg_hex(leaf, 32, hl);
  snprintf(q, sizeof(q), "UPDATE prov_entry SET body = x'%s', leaf = x'%s' WHERE idx = 25", hb, hl);
  sql(f, q);
  free(body);
  expect_broken(f, 20); /* the first 20 match their tree head; the rest do not */
}

/* Entries and the stored roots rewritten together: only the signatures tell. */
static void test_log_tamper_signatures(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth sth;
  struct tg_err err;
  append_n(log, 0, 20);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &sth, NULL), 0);
  append_n(log, 20, 20);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 2, &sth, NULL), 0);
  assert_int_equal(tg_prov_log_check_signatures(log, f->key, &err), 0);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  tg_prov_log_close(log);
  /* Another node's key vouches for nothing. */
  EVP_PKEY *other = NULL;
  assert_int_equal(tg_cert_key_new(&other, NULL), 0);
  log = open_log(f);
  assert_int_equal(tg_prov_log_check_signatures(log, other, &err), 0);
  assert_int_equal(tg_prov_log_health(log)->broken, 1);
  assert_int_equal(tg_prov_log_health(log)->first_bad, 0);
  tg_prov_log_close(log);
  EVP_PKEY_free(other);
  /* Entry 30 replaced by another valid entry, its leaf hash and the newest
   * tree head's root recomputed to match; the signature cannot be. */
  struct tg_prov_entry e = served(777);
  struct tg_buf b;
  uint8_t leaf[32], root[32];
  char q[1200], hb[600], hl[65], hr[65];
  e.index = 30;
  tg_buf_init(&b);
  assert_int_equal(tg_prov_entry_encode(&e, &b, NULL), 0);
  assert_int_equal(tg_prov_leaf_hash(b.data, b.len, leaf), 0);
  tg_hex(b.data, b.len, hb);
  tg_hex(leaf, 32, hl);
  snprintf(q, sizeof(q), "UPDATE prov_entry SET body = x'%s', leaf = x'%s' WHERE idx = 30", hb, hl);
  sql(f, q);
  tg_buf_close(&b);
  log = open_log(f);
  assert_int_equal(tg_prov_log_health(log)->broken, 1); /* the stored root disagrees */
  assert_int_equal(tg_prov_tree_root(tg_prov_log_tree(log), 40, root), 0);
  tg_prov_log_close(log);
  tg_hex(root, 32, hr);
  snprintf(q, sizeof(q), "UPDATE prov_sth SET root = x'%s' WHERE tree_size = 40", hr);
  sql(f, q);
  log = open_log(f);
  assert_int_equal(tg_prov_log_health(log)->broken, 0); /* roots agree now */
  assert_int_equal(tg_prov_log_check_signatures(log, f->key, &err), 0);
  assert_int_equal(tg_prov_log_health(log)->broken, 1);
  assert_int_equal(tg_prov_log_health(log)->first_bad, 20);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 3, &sth, &err), TG_EPERM);
  tg_prov_log_close(log);
}

static void test_log_tamper_delete(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth old;
  append_n(log, 0, 30);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &old, NULL), 0);
  tg_prov_log_close(log);
  sql(f, "DELETE FROM prov_entry WHERE idx = 12");
  expect_broken(f, 12);
  sql(f, "DELETE FROM prov_entry WHERE idx > 12; DELETE FROM prov_sth");
  log = open_log(f);
  assert_int_equal(tg_prov_log_size(log), 12);
  tg_prov_log_close(log);
  /* A row far past the end (the open reserves room by the largest index). */
  sql(f, "INSERT INTO prov_entry(idx, body, leaf) VALUES(1099511627776, x'01', x'00')");
  expect_broken(f, 12);
}

/* The last entry deleted: the log itself notices from its tree head; a
 * forger who also drops the tree heads and appends anew cannot prove
 * consistency with the tree head a verifier kept. */
static void test_log_delete_last(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sth old, now;
  struct tg_prov_proof p;
  struct tg_err err;
  append_n(log, 0, 50);
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 1, &old, NULL), 0);
  tg_prov_log_close(log);
  sql(f, "DELETE FROM prov_entry WHERE idx = 49");
  expect_broken(f, 49);
  sql(f, "DELETE FROM prov_sth");
  log = open_log(f);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  assert_int_equal(tg_prov_log_size(log), 49);
  /* Smaller than the verifier's tree head: no proof exists. */
  assert_int_equal(tg_prov_tree_consistency(tg_prov_log_tree(log), 50, 49, &p), TG_EINVAL);
  append_n(log, 1049, 3); /* entries that differ from the deleted one */
  assert_int_equal(tg_prov_log_sign(log, f->key, "a", 2, &now, &err), 0);
  assert_int_equal(tg_prov_tree_consistency(tg_prov_log_tree(log), 50, 52, &p), 0);
  assert_int_equal(tg_prov_consistency_verify(&p, old.root, now.root), TG_EPROTO);
  tg_prov_log_close(log);
}

/* A writer killed with SIGKILL mid-stream: every batch it was told is
 * committed is there after reopening, and the log is whole; with SYNC_OS
 * too (commits not synced, a checkpoint thread running), since the kernel
 * keeps what a killed process wrote. */
static int killed_sync_os;

static void killed_writer(struct fixture *f, int fd) {
  struct tg_prov_log *log = NULL;
  struct tg_prov_sync *sync = NULL;
  struct tg_prov_sth sth;
  if (tg_prov_log_open(f->path, &log, NULL) != 0)
    _exit(1);
  if (killed_sync_os && (tg_prov_log_set_sync(log, TG_PROV_SYNC_OS, NULL) != 0 ||
                         tg_prov_sync_start(f->path, 5, &sync, NULL) != 0))
    _exit(1);
  for (int round = 0;; round++) {
    struct tg_prov_entry es[50];
    for (int i = 0; i < 50; i++)
      es[i] = served(round * 50 + i);
    if (tg_prov_log_append(log, es, 50, NULL) != 0)
      _exit(1);
    /* With SYNC_OS, signed as the daemon does (in steps, the head stored
     * without a sync after the entries it covers were synced), and every
     * other time as the library's one call does. */
    if (round % 3 == 0 &&
        (killed_sync_os && round % 2 == 0
             ? tg_prov_log_head(log, "a", (uint64_t)round, &sth, NULL) != 0 ||
                   tg_prov_sth_sign(&sth, f->key, NULL) != 0 ||
                   tg_prov_log_sync_entries(log, NULL) != 0 ||
                   tg_prov_log_store(log, &sth, 0, NULL) != 0
             : tg_prov_log_sign(log, f->key, "a", (uint64_t)round, &sth, NULL) != 0))
      _exit(1);
    uint64_t acked = tg_prov_log_size(log);
    if (write(fd, &acked, sizeof(acked)) != (ssize_t)sizeof(acked))
      _exit(1);
  }
}

static void test_log_kill9(void **state) {
  struct fixture *f = *state;
  int fds[2];
  uint64_t acked = 0, v;
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    killed_writer(f, fds[1]);
  }
  close(fds[1]);
  for (int n = 0; n < 20 && read(fds[0], &v, sizeof(v)) == (ssize_t)sizeof(v); n++)
    acked = v;
  assert_int_equal(kill(pid, SIGKILL), 0);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  while (read(fds[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
    acked = v; /* acknowledged before it died */
  close(fds[0]);
  assert_true(acked >= 50);
  struct tg_prov_log *log = open_log(f);
  const struct tg_prov_log_health *h = tg_prov_log_health(log);
  if (h->broken)
    fail_msg("broken after kill -9: %s", h->why);
  assert_true(tg_prov_log_size(log) >= acked);
  assert_int_equal(tg_prov_log_size(log) % 50, 0); /* whole batches only */
  assert_int_equal(tg_prov_log_check_signatures(log, f->key, NULL), 0);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  tg_prov_log_close(log);
}

static void test_log_kill9_os(void **state) {
  killed_sync_os = 1;
  test_log_kill9(state);
  killed_sync_os = 0;
}

/* The checkpoint thread checkpoints a log appended without syncs, and a
 * bad sync mode is refused. */
static void test_log_sync_thread(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sync *sync = NULL;
  struct tg_err err;
  uint64_t done = 0, failed = 0;
  assert_int_equal(tg_prov_log_set_sync(log, 7, &err), TG_EINVAL);
  assert_int_equal(tg_prov_log_set_sync(log, TG_PROV_SYNC_OS, &err), 0);
  assert_int_equal(tg_prov_sync_start(f->path, 10, &sync, &err), 0);
  append_n(log, 0, 200);
  for (int i = 0; i < 200 && done < 2; i++) {
    usleep(10000);
    tg_prov_sync_counts(sync, &done, &failed);
  }
  assert_true(done >= 2);
  assert_int_equal(failed, 0);
  tg_prov_sync_stop(sync);
  tg_prov_log_close(log);
  log = open_log(f);
  assert_int_equal(tg_prov_log_size(log), 200);
  tg_prov_log_close(log);
  assert_int_equal(tg_prov_sync_start("/nonexistent/dir/prov.db", 10, &sync, &err), TG_EDB);
  assert_null(sync);
}

/* Appends that never pause, each overlapping the checkpoints: with the
 * appenders' lock given to the checkpoint thread (tg_prov_sync_set_hold),
 * the WAL stays bounded (it grew without end when no checkpoint could ever
 * copy every frame: SQLite restarts a WAL only from a complete one). */
static pthread_mutex_t wal_mu = PTHREAD_MUTEX_INITIALIZER;
static int wal_holds;

static void wal_hold(void *arg, int on) {
  (void)arg;
  if (on) {
    pthread_mutex_lock(&wal_mu);
    wal_holds++;
  } else {
    pthread_mutex_unlock(&wal_mu);
  }
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_log_sync_wal_bounded(void **state) {
  struct fixture *f = *state;
  struct tg_prov_log *log = open_log(f);
  struct tg_prov_sync *sync = NULL;
  char wal[160];
  struct stat sb;
  off_t most = 0;
  snprintf(wal, sizeof(wal), "%s-wal", f->path);
  assert_int_equal(tg_prov_log_set_sync(log, TG_PROV_SYNC_OS, NULL), 0);
  assert_int_equal(tg_prov_sync_start(f->path, 5, &sync, NULL), 0);
  tg_prov_sync_set_hold(sync, wal_hold, NULL);
  wal_holds = 0;
  int seed = 0;
  /* About 12 MiB of WAL a second without the bound, on this machine: at
   * least 2 s, and on until the bound has been used (at most 30 s). */
  for (double t0 = mono_s(); mono_s() < t0 + 30.0 && (mono_s() < t0 + 2.0 || wal_holds < 3);) {
    pthread_mutex_lock(&wal_mu);
    append_n(log, seed, 4);
    pthread_mutex_unlock(&wal_mu);
    seed += 4;
    if (seed % 400 == 0) {
      if (stat(wal, &sb) == 0 && sb.st_size > most)
        most = sb.st_size;
      sched_yield(); /* the checkpoint thread gets the lock too */
    }
  }
  tg_prov_sync_stop(sync);
  if (stat(wal, &sb) == 0 && sb.st_size > most)
    most = sb.st_size;
  if (most > 24 * 1024 * 1024)
    fail_msg("the WAL grew to %lld bytes (%d entries appended)", (long long)most, seed);
  assert_true(wal_holds > 0); /* the bound was needed: the WAL reached 4 MiB */
  assert_int_equal(tg_prov_log_size(log), (uint64_t)seed);
  tg_prov_log_close(log);
  log = open_log(f);
  assert_int_equal(tg_prov_log_size(log), (uint64_t)seed);
  assert_int_equal(tg_prov_log_health(log)->broken, 0);
  tg_prov_log_close(log);
}

/* ---- Signed tree heads --------------------------------------------------- */

static void test_sth(void **state) {
  struct fixture *f = *state;
  struct tg_prov_sth sth, back;
  struct tg_prov_sth_text txt;
  struct tg_err err;
  EVP_PKEY *other = NULL;
  memset(&sth, 0, sizeof(sth));
  snprintf(sth.node, sizeof(sth.node), "%s", "node-a");
  sth.tree_size = 12345;
  sth.timestamp_ms = 1796208000000ull;
  memset(sth.root, 0x5a, 32);
  assert_int_equal(tg_prov_sth_sign(&sth, f->key, &err), 0);
  assert_true(sth.sig_len >= 8 && sth.sig_len <= 72);
  assert_int_equal(tg_prov_sth_verify(&sth, f->key, &err), 0);
  /* The signed bytes, exactly. */
  struct tg_buf b;
  tg_buf_init(&b);
  assert_int_equal(tg_prov_sth_tbs(&sth, &b), 0);
  assert_int_equal(b.len, 14 + 1 + 6 + 8 + 8 + 32);
  assert_memory_equal(b.data, "tsunagu/sth/v1\x06node-a", 21);
  tg_buf_close(&b);
  /* Text fields round trip. */
  tg_prov_sth_to_text(&sth, &txt);
  assert_int_equal(strlen(txt.root_b64), 44);
  assert_int_equal(tg_prov_sth_from_text("node-a", 12345, sth.timestamp_ms, txt.root_b64,
                                         txt.sig_b64, &back, &err),
                   0);
  assert_memory_equal(&back, &sth, sizeof(sth));
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), 0);
  /* Another key, size, time, root or node: refused. */
  assert_int_equal(tg_cert_key_new(&other, NULL), 0);
  assert_int_equal(tg_prov_sth_verify(&sth, other, &err), TG_EPROTO);
  back = sth;
  back.tree_size++;
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), TG_EPROTO);
  back = sth;
  back.timestamp_ms++;
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), TG_EPROTO);
  back = sth;
  back.root[3] ^= 4;
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), TG_EPROTO);
  back = sth;
  back.node[5] = 'b';
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), TG_EPROTO);
  back = sth;
  back.sig[back.sig_len - 1] ^= 1;
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), TG_EPROTO);
  back.sig_len = 0;
  assert_int_equal(tg_prov_sth_verify(&back, f->key, &err), TG_EPROTO);
  /* The node's certificate carries the key. */
  X509 *cert = NULL;
  assert_int_equal(tg_cert_self_signed(f->key, "node-a", "localhost", 1, &cert, &err), 0);
  assert_int_equal(tg_prov_sth_verify_cert(&sth, cert, &err), 0);
  X509_free(cert);
  assert_int_equal(tg_cert_self_signed(other, "node-a", "localhost", 1, &cert, &err), 0);
  assert_int_equal(tg_prov_sth_verify_cert(&sth, cert, &err), TG_EPROTO);
  X509_free(cert);
  EVP_PKEY_free(other);
  /* Not a P-256 key. */
  EVP_PKEY *p384 = EVP_EC_gen("secp384r1");
  assert_non_null(p384);
  assert_int_equal(tg_prov_sth_sign(&back, p384, &err), TG_EINVAL);
  assert_int_equal(tg_prov_sth_verify(&sth, p384, &err), TG_EINVAL);
  EVP_PKEY_free(p384);
  /* Bad text fields. */
  assert_int_equal(tg_prov_sth_from_text("Bad Node", 1, 1, txt.root_b64, txt.sig_b64, &back, &err),
                   TG_EINVAL);
  assert_int_equal(tg_prov_sth_from_text("a", 1, 1, "AAAA", txt.sig_b64, &back, &err), TG_EINVAL);
  static const char *const bad64[] = {"A",        "AB=A", "ab!d", "AAA",
                                      "AB==AAAA", "AQ=",  "AR==", " AAA"};
  uint8_t out[8];
  size_t n;
  for (size_t i = 0; i < sizeof(bad64) / sizeof(*bad64); i++)
    if (tg_prov_b64_decode(bad64[i], out, sizeof(out), &n) == 0)
      fail_msg("base64 %s accepted", bad64[i]);
  assert_int_equal(tg_prov_b64_decode("AQ==", out, sizeof(out), &n), 0);
  assert_true(n == 1 && out[0] == 1);
  assert_int_equal(tg_prov_b64_decode("", out, sizeof(out), &n), 0);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_roots_and_inclusion_all),
      cmocka_unit_test(test_consistency_all),
      cmocka_unit_test(test_tampered_proofs),
      cmocka_unit_test(test_proof_codec),
      cmocka_unit_test(test_entry_example),
      cmocka_unit_test(test_entry_round_trip),
      cmocka_unit_test(test_entry_refusals),
      cmocka_unit_test(test_ref_text),
      cmocka_unit_test_setup_teardown(test_log_batches_reopen, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_bad_open, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_sign_steps, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_tamper_edit, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_tamper_rehashed, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_tamper_signatures, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_tamper_delete, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_delete_last, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_kill9, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_kill9_os, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_sync_thread, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_log_sync_wal_bounded, log_setup, log_teardown),
      cmocka_unit_test_setup_teardown(test_sth, log_setup, log_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
