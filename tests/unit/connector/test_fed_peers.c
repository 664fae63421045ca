/* Unit tests for tg_fed_peers.h on a real node database in a temporary
 * directory: add, update, list, get, record check outcomes, the URL of a
 * known peer, removal. */
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_fed_peers.h"
#include "tg_node.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
  char dir[256];
  sqlite3 *db;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  struct tg_err err;
  snprintf(f->dir, sizeof(f->dir), "%s/tg-peers-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(tg_node_db_open(f->dir, &f->db, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[300];
  sqlite3_close(f->db);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void test_add_list_get(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  json_t *a = NULL, *o = NULL;
  assert_int_equal(tg_fed_peers_list(f->db, &a, &err), 0);
  assert_int_equal(json_array_size(a), 0);
  json_decref(a);
  assert_int_equal(tg_fed_peers_upsert(f->db, "p2", "https://127.0.0.1:2", NULL, &err), 0);
  assert_int_equal(tg_fed_peers_upsert(f->db, "p1", "https://127.0.0.1:1", "ab", &err), 0);
  /* An update changes the URL and keeps the fingerprint when none is given. */
  assert_int_equal(tg_fed_peers_upsert(f->db, "p1", "https://127.0.0.1:11", NULL, &err), 0);
  assert_int_equal(tg_fed_peers_list(f->db, &a, &err), 0);
  assert_int_equal(json_array_size(a), 2);
  assert_string_equal(str(json_array_get(a, 0), "node_id"), "p1");
  assert_string_equal(str(json_array_get(a, 0), "url"), "https://127.0.0.1:11");
  assert_string_equal(str(json_array_get(a, 0), "fingerprint"), "ab");
  assert_string_equal(str(json_array_get(a, 0), "status"), "active");
  assert_true(json_is_null(json_object_get(json_array_get(a, 0), "last_contact")));
  assert_true(json_is_null(json_object_get(json_array_get(a, 1), "fingerprint")));
  json_decref(a);
  assert_int_equal(tg_fed_peers_get(f->db, "p2", &o, &err), 0);
  assert_string_equal(str(o, "url"), "https://127.0.0.1:2");
  json_decref(o);
  assert_int_equal(tg_fed_peers_get(f->db, "p9", &o, &err), TG_ENOENT);
  assert_null(o);
}

static void test_record_and_url(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  char url[64];
  json_t *o = NULL;
  assert_int_equal(tg_fed_peers_upsert(f->db, "p1", "https://127.0.0.1:1", NULL, &err), 0);
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, sizeof(url), &err), 0);
  assert_string_equal(url, "https://127.0.0.1:1");
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, 5, &err), TG_ETOOBIG);
  assert_int_equal(tg_fed_peer_url(f->db, "nobody", url, sizeof(url), &err), TG_ENOENT);

  struct tg_fed_check c = {.node_id = "p1", .ok = 1, .latency_ms = 7, .checked_at = 1000};
  snprintf(c.fingerprint, sizeof(c.fingerprint), "%s", "cd");
  assert_int_equal(tg_fed_peers_record(f->db, &c, &err), 0);
  assert_int_equal(tg_fed_peers_get(f->db, "p1", &o, &err), 0);
  assert_string_equal(str(o, "status"), "reachable");
  assert_int_equal(json_integer_value(json_object_get(o, "last_contact")), 1000);
  assert_int_equal(json_integer_value(json_object_get(o, "latency_ms")), 7);
  assert_string_equal(str(o, "fingerprint"), "cd");
  json_decref(o);
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, sizeof(url), &err), 0);

  /* A failed check keeps the last contact and fingerprint; the peer's URL
   * is still given (it may be back: a call finds out). */
  struct tg_fed_check bad = {.node_id = "p1", .ok = 0, .latency_ms = 3, .checked_at = 2000};
  snprintf(bad.fingerprint, sizeof(bad.fingerprint), "%s", "ee");
  assert_int_equal(tg_fed_peers_record(f->db, &bad, &err), 0);
  assert_int_equal(tg_fed_peers_get(f->db, "p1", &o, &err), 0);
  assert_string_equal(str(o, "status"), "unreachable");
  assert_int_equal(json_integer_value(json_object_get(o, "last_contact")), 1000);
  assert_string_equal(str(o, "fingerprint"), "cd");
  json_decref(o);
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, sizeof(url), &err), 0);
  assert_int_equal(tg_fed_peers_record(f->db, &c, &err), 0);
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, sizeof(url), &err), 0);

  /* Recording for a removed peer changes nothing. */
  assert_int_equal(tg_fed_peers_delete(f->db, "p1", &err), 0);
  assert_int_equal(tg_fed_peers_delete(f->db, "p1", &err), TG_ENOENT);
  assert_int_equal(tg_fed_peers_record(f->db, &c, &err), 0);
  assert_int_equal(tg_fed_peers_get(f->db, "p1", &o, &err), TG_ENOENT);
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, sizeof(url), &err), TG_ENOENT);
}

static void test_db_error(void **state) {
  struct fx *f = *state;
  struct tg_err err;
  json_t *a = NULL;
  char url[64];
  assert_int_equal(sqlite3_exec(f->db, "DROP TABLE peers", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(tg_fed_peers_list(f->db, &a, &err), TG_EDB);
  assert_null(a);
  assert_int_equal(tg_fed_peer_url(f->db, "p1", url, sizeof(url), &err), TG_EDB);
  assert_non_null(strstr(err.msg, "peers"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_add_list_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_record_and_url, setup, teardown),
      cmocka_unit_test_setup_teardown(test_db_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
