/* Unit tests for connector/node/tg_backends: [backend.NAME] sections, origin
 * normalisation and lookup, and errors that never repeat a value (values may
 * be credentials). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tg_backends.h"
#include "tg_conf.h"
#include "tg_err.h"

static int load(const char *text, struct tg_backend **v, size_t *n, struct tg_err *err) {
  struct tg_conf *c = NULL;
  assert_int_equal(tg_conf_parse(text, strlen(text), &c, NULL), 0);
  int rc = tg_backends_load(c, v, n, err);
  tg_conf_free(c);
  return rc;
}

static void test_origin(void **state) {
  (void)state;
  char o[300];
  assert_int_equal(tg_backend_origin("HTTP://Water.Example:80/x?y=1", o, sizeof(o)), 0);
  assert_string_equal(o, "http://water.example");
  assert_int_equal(tg_backend_origin("https://w.example:8443/", o, sizeof(o)), 0);
  assert_string_equal(o, "https://w.example:8443");
  assert_int_equal(tg_backend_origin("https://w.example:443", o, sizeof(o)), 0);
  assert_string_equal(o, "https://w.example");
  assert_int_equal(tg_backend_origin("ftp://w.example/", o, sizeof(o)), TG_EINVAL);
  assert_int_equal(tg_backend_origin("not a url", o, sizeof(o)), TG_EINVAL);
  assert_int_equal(tg_backend_origin("https://w.example", o, 8), TG_ETOOBIG);
}

static void test_load_and_find(void **state) {
  (void)state;
  struct tg_backend *v = NULL;
  size_t n = 0;
  struct tg_err err;
  tg_err_clear(&err);
  assert_int_equal(load("[node]\nid = a\n[backend.river]\norigin = http://127.0.0.1:8080\n"
                        "header = X-Api-Key: s3cret\nfirst_byte_timeout = 2s\n"
                        "[backend.rain]\norigin = https://rain.example\nbasic = u:p\n",
                        &v, &n, &err),
                   0);
  assert_int_equal(n, 2);
  const struct tg_backend *b = tg_backend_find(v, n, "http://127.0.0.1:8080/water?x=1");
  assert_non_null(b);
  assert_string_equal(b->name, "river");
  assert_string_equal(b->header, "X-Api-Key: s3cret");
  assert_int_equal(b->first_byte_ms, 2000);
  assert_int_equal(b->idle_ms, tg_backend_default.idle_ms);
  b = tg_backend_find(v, n, "https://RAIN.example:443/obs");
  assert_non_null(b);
  assert_string_equal(b->basic, "u:p");
  assert_null(tg_backend_find(v, n, "http://127.0.0.1:8081/water"));
  assert_null(tg_backend_find(v, n, "https://127.0.0.1:8080/water")); /* another scheme */
  /* the prefix shortcut must not match another authority that starts alike */
  assert_null(tg_backend_find(v, n, "http://127.0.0.1:80801/water"));
  assert_null(tg_backend_find(v, n, "http://127.0.0.1:8080@evil.example/water"));
  assert_null(tg_backend_find(v, n, "http://127.0.0.1:8080.evil.example/water"));
  assert_non_null(tg_backend_find(v, n, "http://127.0.0.1:8080"));
  assert_non_null(tg_backend_find(v, n, "http://127.0.0.1:8080?q=1"));
  assert_non_null(tg_backend_find(v, n, "HTTP://127.0.0.1:8080/water")); /* by the parser */
  assert_null(tg_backend_find(NULL, 0, "http://127.0.0.1:8080/water"));
  free(v);
}

static void refused(const char *text, const char *must_name, const char *secret) {
  struct tg_backend *v = NULL;
  size_t n = 0;
  struct tg_err err;
  tg_err_clear(&err);
  assert_int_equal(load(text, &v, &n, &err), TG_EINVAL);
  assert_null(v);
  assert_non_null(strstr(tg_err_msg(&err, TG_EINVAL), must_name));
  if (secret != NULL)
    assert_null(strstr(tg_err_msg(&err, TG_EINVAL), secret));
}

static void test_refusals(void **state) {
  (void)state;
  refused("[backend.x]\nheader = X-Key: v\n", "origin", NULL);
  refused("[backend.x]\norigin = gopher://h\n", "[backend.x] origin", NULL);
  refused("[backend.x]\norigin = http://h\nheader = no-colon-s3cret\n", "header", "s3cret");
  refused("[backend.x]\norigin = http://h\nheader = Bad Name: s3cret\n", "header", "s3cret");
  refused("[backend.x]\norigin = http://h\nbasic = nocolons3cret\n", "basic", "s3cret");
  refused("[backend.x]\norigin = http://h\nclient_cert = /c.pem\n", "client_key", NULL);
  refused("[backend.x]\norigin = http://h\ncolour = blue\n", "colour", NULL);
  refused("[backend.x]\norigin = http://h\n[backend.y]\norigin = HTTP://H:80\n", "also", NULL);
  refused("[backend.x]\norigin = http://h\nidle_timeout = soon\n", "idle_timeout", NULL);
  refused("[backend.]\norigin = http://h\n", "backend name", NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_origin),
      cmocka_unit_test(test_load_and_find),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
