/* Unit tests for common/: configuration parsing, buffers, number and duration
 * parsing, node ids, atomic file writes, schema migrations and calendar maths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_conf.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_time.h"
#include "tg_util.h"

static int walk_cb(void *ud, const char *section, const char *key, const char *value, int line) {
  (void)value;
  return key ? tg_buf_printf(ud, "%d%s.%s ", line, section, key)
             : tg_buf_printf(ud, "%d[%s] ", line, section);
}

static void test_conf(void **state) {
  (void)state;
  const char *text = "# comment\n[node]\nid = a-city\nname =  A City  \n\n[limits]\n"
                     "header_bytes = 16k\nidle_timeout = 5m\nbad = 12x\nms = 250ms\n";
  struct tg_conf *c = NULL;
  struct tg_err err;
  uint64_t v;
  assert_int_equal(tg_conf_parse(text, strlen(text), &c, &err), 0);
  assert_string_equal(tg_conf_get(c, "node", "id"), "a-city");
  assert_string_equal(tg_conf_get(c, "node", "name"), "A City");
  assert_null(tg_conf_get(c, "node", "missing"));
  assert_int_equal(tg_conf_get_size(c, "limits", "header_bytes", 1, &v, &err), 0);
  assert_int_equal(v, 16384);
  assert_int_equal(tg_conf_get_ms(c, "limits", "idle_timeout", 1, &v, &err), 0);
  assert_int_equal(v, 300000);
  assert_int_equal(tg_conf_get_ms(c, "limits", "ms", 1, &v, &err), 0);
  assert_int_equal(v, 250);
  assert_int_equal(tg_conf_get_size(c, "limits", "bad", 1, &v, &err), TG_EINVAL);
  assert_non_null(strstr(err.msg, "bad"));
  assert_non_null(strstr(err.msg, "line 9:"));
  assert_int_equal(tg_conf_line(c, "node", "name"), 4);
  assert_int_equal(tg_conf_line(c, "node", "missing"), 0);
  /* The walk shows section headers (no key) and entries, with their lines. */
  struct tg_buf w;
  tg_buf_init(&w);
  assert_int_equal(tg_conf_walk(c, walk_cb, &w), 0);
  assert_string_equal(w.data, "2[node] 3node.id 4node.name 6[limits] 7limits.header_bytes "
                              "8limits.idle_timeout 9limits.bad 10limits.ms ");
  tg_buf_close(&w);
  assert_int_equal(tg_conf_get_u64(c, "limits", "absent", 7, 0, 10, &v, &err), 0);
  assert_int_equal(v, 7);
  tg_conf_free(c);
  assert_int_equal(tg_conf_parse("[x\n", 3, &c, &err), TG_EINVAL);
  assert_non_null(strstr(err.msg, "line 1"));
  assert_int_equal(tg_conf_parse("[a]\nnovalue\n", 11, &c, &err), TG_EINVAL);
  assert_non_null(strstr(err.msg, "line 2"));
}

static void test_buf(void **state) {
  (void)state;
  struct tg_buf b;
  tg_buf_init(&b);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(tg_buf_printf(&b, "%d,", i), 0);
  assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
  size_t len = b.len;
  tg_buf_consume(&b, 2);
  assert_int_equal(b.len, len - 2);
  assert_int_equal(strncmp(b.data, "1,2,", 4), 0);
  char *s = tg_buf_take(&b);
  assert_null(b.data);
  free(s);
  tg_buf_close(&b);
}

static void test_numbers(void **state) {
  (void)state;
  uint64_t v;
  assert_int_equal(tg_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
  assert_int_equal(tg_parse_u64("18446744073709551616", UINT64_MAX, &v), TG_EINVAL);
  assert_int_equal(tg_parse_u64("+5", 100, &v), TG_EINVAL);
  assert_int_equal(tg_parse_u64("", 100, &v), TG_EINVAL);
  assert_int_equal(tg_parse_u64("101", 100, &v), TG_EINVAL);
  assert_int_equal(tg_parse_duration("24h", &v), 0);
  assert_int_equal(v, 86400);
  assert_int_equal(tg_parse_duration("h", &v), TG_EINVAL);
}

static void test_node_id(void **state) {
  (void)state;
  assert_true(tg_node_id_valid("a-city"));
  assert_true(tg_node_id_valid("c1"));
  assert_false(tg_node_id_valid("-a"));
  assert_false(tg_node_id_valid("a-"));
  assert_false(tg_node_id_valid("A"));
  assert_false(tg_node_id_valid("a_b"));
  assert_false(tg_node_id_valid(""));
  assert_false(tg_node_id_valid("a.b"));
  char long_id[70];
  memset(long_id, 'a', 64);
  long_id[64] = '\0';
  assert_false(tg_node_id_valid(long_id));
}

static void test_files_and_db(void **state) {
  (void)state;
  char dir[] = "/tmp/tg-test-common.XXXXXX", path[256], *data = NULL;
  struct tg_err err;
  struct stat st;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/secret", dir);
  assert_int_equal(tg_file_write(path, "abc", 3, 0600, 1, &err), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(tg_file_write(path, "xyz", 3, 0600, 1, &err), TG_EEXIST);
  assert_int_equal(tg_file_read(path, 100, &data, NULL, &err), 0);
  assert_string_equal(data, "abc");
  free(data);
  assert_int_equal(tg_file_read(path, 2, &data, NULL, &err), TG_ETOOBIG);

  static const struct tg_db_migration m[] = {
    {1, "CREATE TABLE t(a INTEGER);"},
    {2, "ALTER TABLE t ADD COLUMN b TEXT;"},
  };
  static const struct tg_db_migration broken[] = {{3, "CREATE TABLE t(a);"}};
  sqlite3 *db;
  snprintf(path, sizeof(path), "%s/db", dir);
  assert_int_equal(tg_db_open(path, 1, &db, &err), 0);
  assert_int_equal(tg_db_migrate(db, "x", m, 1, &err), 0);
  assert_int_equal(tg_db_version(db, "x"), 1);
  assert_int_equal(tg_db_migrate(db, "x", m, 2, &err), 0);
  assert_int_equal(tg_db_version(db, "x"), 2);
  /* A failing step rolls back and leaves the version where it was. */
  assert_int_equal(tg_db_migrate(db, "x", broken, 1, &err), TG_EDB);
  assert_int_equal(tg_db_version(db, "x"), 2);
  assert_int_equal(tg_db_exec(db, "INSERT INTO t(a, b) VALUES(1, 'x')", &err), 0);
  tg_db_close(db);
  snprintf(path, sizeof(path), "rm -rf %s", dir);
  assert_int_equal(system(path), 0);
}

static void test_time(void **state) {
  (void)state;
  assert_true(tg_time_is_leap(2000));
  assert_true(tg_time_is_leap(2024));
  assert_false(tg_time_is_leap(1900));
  assert_false(tg_time_is_leap(2023));
  assert_int_equal(tg_time_days_in_month(2024, 2), 29);
  assert_int_equal(tg_time_days_in_month(2100, 2), 28);
  assert_int_equal(tg_time_days_in_month(2023, 4), 30);
  assert_int_equal(tg_time_days_in_month(2023, 0), 0);
  assert_int_equal(tg_time_days_in_month(2023, 13), 0);
  assert_true(tg_time_date_valid(2024, 2, 29));
  assert_true(tg_time_date_valid(1, 1, 1));
  assert_true(tg_time_date_valid(9999, 12, 31));
  assert_false(tg_time_date_valid(2023, 2, 29));
  assert_false(tg_time_date_valid(0, 1, 1));
  assert_false(tg_time_date_valid(10000, 1, 1));
  assert_false(tg_time_date_valid(2023, 6, 31));
  assert_false(tg_time_date_valid(2023, 1, 0));
  assert_int_equal(tg_time_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(tg_time_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(tg_time_days_from_civil(1969, 12, 31), -1);
  assert_int_equal(tg_time_days_from_civil(1, 1, 1), -719162);
  assert_int_equal(tg_time_weekday(0), 4);                                  /* a Thursday */
  assert_int_equal(tg_time_weekday(tg_time_days_from_civil(2019, 5, 1)), 3); /* Wednesday */
  assert_int_equal(tg_time_weekday(tg_time_days_from_civil(1868, 10, 23)), 5);
  /* Every day of years 1..9999 round-trips, in order. */
  int64_t prev = tg_time_days_from_civil(1, 1, 1) - 1;
  for (int64_t y = 1; y <= 9999; y++)
    for (int m = 1; m <= 12; m++)
      for (int d = 1; d <= tg_time_days_in_month(y, m); d++) {
        int64_t z = tg_time_days_from_civil(y, m, d), y2;
        int m2, d2;
        if (z != prev + 1)
          fail_msg("%lld-%d-%d is day %lld, not %lld", (long long)y, m, d, (long long)z,
                   (long long)prev + 1);
        tg_time_civil_from_days(z, &y2, &m2, &d2);
        if (y2 != y || m2 != m || d2 != d)
          fail_msg("day %lld is not %lld-%d-%d", (long long)z, (long long)y, m, d);
        prev = z;
      }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conf),         cmocka_unit_test(test_buf),
    cmocka_unit_test(test_numbers),      cmocka_unit_test(test_node_id),
    cmocka_unit_test(test_files_and_db), cmocka_unit_test(test_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
