/* Unit tests for tg_ratelimit: failures counted per client in fixed windows,
 * the wait it reports, clients kept apart, and a full table. */
#include "tg_ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

static int setup(void **state) {
  struct tg_ratelimit *rl = malloc(sizeof(*rl));
  assert_non_null(rl);
  tg_ratelimit_init(rl);
  *state = rl;
  return 0;
}

static int teardown(void **state) {
  tg_ratelimit_close(*state);
  free(*state);
  return 0;
}

static void test_limit_and_window(void **state) {
  struct tg_ratelimit *rl = *state;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 3, 60000, 1000 + i), 0);
    tg_ratelimit_fail(rl, "192.0.2.1", 60000, 1000 + i);
  }
  /* The third failure closes the door until the window that began at the
   * first one ends. */
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 3, 60000, 1010), 59990);
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 3, 60000, 60999), 1);
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 3, 60000, 61000), 0);
  /* Another client is not held back; no limit means none. */
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.2", 3, 60000, 1010), 0);
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 0, 60000, 1010), 0);
  /* A failure after the window starts a new one. */
  tg_ratelimit_fail(rl, "192.0.2.1", 60000, 70000);
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 2, 60000, 70001), 0);
  tg_ratelimit_fail(rl, "192.0.2.1", 60000, 70002);
  assert_int_equal(tg_ratelimit_wait(rl, "192.0.2.1", 2, 60000, 70003), 59997);
}

/* More clients than slots: the table never grows, and a client whose
 * count was pushed out starts from zero rather than being blocked. */
static void test_full_table(void **state) {
  struct tg_ratelimit *rl = *state;
  char key[64];
  for (int i = 0; i < 5 * TG_RATELIMIT_SLOTS; i++) {
    snprintf(key, sizeof(key), "2001:db8::%x", i);
    tg_ratelimit_fail(rl, key, 60000, 1000 + (uint64_t)i);
  }
  snprintf(key, sizeof(key), "2001:db8::%x", 5 * TG_RATELIMIT_SLOTS - 1);
  assert_int_equal(tg_ratelimit_wait(rl, key, 1, 60000, 1000 + 5 * TG_RATELIMIT_SLOTS), 60000 - 1);
  assert_int_equal(tg_ratelimit_wait(rl, "", 1, 60000, 2000), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_limit_and_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_table, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
