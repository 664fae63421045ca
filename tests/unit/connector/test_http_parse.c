/* Unit tests for tg_http_parse: accepted requests give the same result however
 * they are split into reads; every form on the reject list gets its status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tg_buf.h"
#include "tg_http_parse.h"

struct outcome {
  int rc, status, requests;
  char summary[2048]; /* method target body per request */
};

/* Parses IN (LEN bytes) arriving in pieces of STEP bytes (0: all at once). */
static void run(const char *in, size_t len, size_t step, struct outcome *o) {
  struct tg_http_parser hp;
  struct tg_buf sum;
  size_t off = 0, fed = step ? 0 : len;
  memset(o, 0, sizeof(*o));
  tg_buf_init(&sum);
  tg_http_parse_init(&hp, 4096);
  for (;;) {
    size_t used = 0, blen = 0;
    const char *body = NULL;
    int ev;
    int rc = tg_http_parse_next(&hp, in + off, fed - off, &used, &ev, &body, &blen);
    if (rc) {
      o->rc = rc;
      o->status = hp.status;
      break;
    }
    off += used;
    if (ev == TG_HP_HEAD)
      tg_buf_printf(&sum, "[%s %s %zu]", hp.method, tg_http_parse_target(&hp), hp.nhdr);
    else if (ev == TG_HP_BODY)
      tg_buf_append(&sum, body, blen);
    else if (ev == TG_HP_END) {
      o->requests++;
      tg_buf_puts(&sum, "|");
    } else if (fed == len) {
      break;
    } else {
      fed = fed + step > len ? len : fed + step;
    }
  }
  snprintf(o->summary, sizeof(o->summary), "%s", sum.data ? sum.data : "");
  tg_http_parse_close(&hp);
  tg_buf_close(&sum);
}

static const char *const good[] = {
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /a?b=c HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Empty:\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
  "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
  "POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\nTrailer-A: 1\r\n\r\n",
  "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyzGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.0\r\n\r\n",
  "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
};

static void test_good_any_split(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    struct outcome whole, piece;
    size_t len = strlen(good[i]);
    run(good[i], len, 0, &whole);
    assert_int_equal(whole.rc, 0);
    assert_true(whole.requests >= 1);
    for (size_t step = 1; step <= len; step++) {
      run(good[i], len, step, &piece);
      if (piece.rc != 0 || strcmp(piece.summary, whole.summary) != 0)
        fail_msg("case %zu split %zu: '%s' vs '%s' (rc %d status %d)", i, step, piece.summary,
                 whole.summary, piece.rc, piece.status);
    }
  }
}

static void test_good_content(void **state) {
  (void)state;
  struct outcome o;
  run(good[3], strlen(good[3]), 0, &o);
  assert_string_equal(o.summary, "[POST /c 2]hello world|");
  run(good[5], strlen(good[5]), 0, &o);
  assert_int_equal(o.requests, 3);
  assert_string_equal(o.summary, "[GET /1 1]|[POST /2 2]xyz|[GET /3 1]|");
}

struct bad {
  const char *name;
  const char *in;
  size_t len; /* 0: strlen */
  int status;
};

static const struct bad bad[] = {
  {"CL with TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400},
  {"TE with CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 0, 400},
  {"duplicate CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 0, 400},
  {"CL +5", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 0, 400},
  {"CL 5 5", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello", 0, 400},
  {"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 0, 400},
  {"TE last not chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, 400},
  {"TE unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0, 400},
  {"TE foo", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n", 0, 400},
  {"bare LF", "GET / HTTP/1.1\nHost: a\n\n", 0, 400},
  {"bare LF in header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 0, 400},
  {"bare CR", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 0, 400},
  {"NUL in value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 27, 400},
  {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n  c\r\n\r\n", 0, 400},
  {"space in name", "GET / HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n", 0, 400},
  {"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 0, 400},
  {"chunk without CRLF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 0, 400},
  {"chunk LF only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 0, 400},
  {"last chunk bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n", 0, 400},
  {"bad end of headers CR", "GET / HTTP/1.1\r\nHost: a\r\n\rX", 0, 400},
  {"bad end of headers LF", "GET / HTTP/1.1\r\nHost: a\r\n\n", 0, 400},
  {"no host", "GET / HTTP/1.1\r\nAccept: x\r\n\r\n", 0, 400},
  {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400},
  {"control char in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 0, 400},
  {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0, 505},
};

static void test_bad(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t len = bad[i].len ? bad[i].len : strlen(bad[i].in);
    for (size_t step = 0; step <= len; step++) {
      struct outcome o;
      run(bad[i].in, len, step, &o);
      if (o.rc == 0 || o.status != bad[i].status)
        fail_msg("%s (split %zu): rc %d status %d, want %d", bad[i].name, step, o.rc, o.status,
                 bad[i].status);
    }
  }
}

static void test_head_limit(void **state) {
  (void)state;
  char big[8192];
  int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
  memset(big + n, 'a', 5000);
  memcpy(big + n + 5000, "\r\n\r\n", 5);
  struct outcome o;
  run(big, strlen(big), 0, &o);
  assert_int_equal(o.status, 431);
  run(big, strlen(big), 100, &o);
  assert_int_equal(o.status, 431);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_good_any_split),
    cmocka_unit_test(test_good_content),
    cmocka_unit_test(test_bad),
    cmocka_unit_test(test_head_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
