/* Unit tests for tg_conn, the HTTPS connection engine, on a real loop: a
 * client thread talks TLS to a worker served by a minimal application.
 * An OpenSSL error that something else on the worker's thread left on the
 * thread's error queue (libcurl does, closing a client connection whose
 * handshake failed) must not close a healthy connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "tg_http.h"
#include "tg_http_server.h"

/* --- the application: GET /stale answers "ok" and then leaves an error on
 * the thread's queue the way libcurl does; GET /ok answers "ok". --- */

static struct tg_http_limits lim;
static const char route_stale[] = "stale", route_ok[] = "ok";
static int stale_left; /* the handler's SSL_shutdown did queue an error */

static const struct tg_http_limits *app_limits_get(void) {
  return &lim;
}
static void app_limits_put(const struct tg_http_limits *l) {
  (void)l;
}
static uint64_t app_generation(void) {
  return lim.gen;
}

static const void *app_match(struct tg_http_req *req, const char *method, const char *path,
                             int *allowed, const char **rest, struct tg_http_route_opts *opts) {
  (void)req;
  *allowed = 0;
  *rest = "";
  memset(opts, 0, sizeof(*opts));
  if (strcmp(method, "GET") != 0)
    return NULL;
  if (strcmp(path, "/stale") == 0)
    return route_stale;
  if (strcmp(path, "/ok") == 0)
    return route_ok;
  return NULL;
}

static int app_admit(struct tg_http_req *req, const void *route) {
  (void)req;
  (void)route;
  return 1;
}

/* What libcurl's close of a connection whose handshake failed does: an
 * SSL_shutdown in init, whose error stays on this thread's queue. */
static void leave_stale_error(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *s = ctx ? SSL_new(ctx) : NULL;
  if (s != NULL) {
    SSL_set_connect_state(s);
    (void)SSL_shutdown(s);
    SSL_free(s);
  }
  SSL_CTX_free(ctx);
  stale_left = ERR_peek_error() != 0;
}

static void app_run(struct tg_http_req *req, const void *route) {
  tg_http_res_send(req, 200, "text/plain", "ok", 2);
  if (route == route_stale)
    leave_stale_error();
}

static void app_done(struct tg_http_req *req, const void *route, int status, uint64_t usec,
                     uint64_t bytes_in, uint64_t bytes_out) {
  (void)req, (void)route, (void)status, (void)usec, (void)bytes_in, (void)bytes_out;
}
static void app_io(uint64_t bytes_in, uint64_t bytes_out) {
  (void)bytes_in, (void)bytes_out;
}
static void app_conn(int delta) {
  (void)delta;
}
static void app_refused(void) {}
static const char *app_problem(struct tg_http_req *req, json_t *p) {
  (void)req, (void)p;
  return NULL;
}

static const struct tg_http_app app = {
    .limits_get = app_limits_get,
    .limits_put = app_limits_put,
    .generation = app_generation,
    .match = app_match,
    .admit = app_admit,
    .run = app_run,
    .done = app_done,
    .io = app_io,
    .conn = app_conn,
    .refused = app_refused,
    .problem = app_problem,
};

/* --- a self-signed server certificate --- */

static SSL_CTX *server_ctx(void) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *crt = X509_new();
  assert_non_null(key);
  assert_non_null(crt);
  X509_set_version(crt, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
  X509_gmtime_adj(X509_getm_notBefore(crt), -60);
  X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
  X509_NAME *n = X509_get_subject_name(crt);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
  X509_set_issuer_name(crt, n);
  X509_set_pubkey(crt, key);
  assert_true(X509_sign(crt, key, EVP_sha256()) > 0);
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  assert_non_null(ctx);
  assert_int_equal(SSL_CTX_use_certificate(ctx, crt), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
  X509_free(crt);
  EVP_PKEY_free(key);
  return ctx;
}

/* --- the client thread: blocking sockets, plain OpenSSL --- */

struct tls_client {
  int fd;
  SSL *ssl;
};

static int client_open(SSL_CTX *ctx, int port, struct tls_client *tc) {
  struct sockaddr_in sa = {0};
  struct timeval tv = {10, 0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  tc->ssl = NULL;
  tc->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (tc->fd < 0)
    return -1;
  setsockopt(tc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(tc->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || (tc->ssl = SSL_new(ctx)) == NULL)
    return -1;
  SSL_set_fd(tc->ssl, tc->fd);
  return SSL_connect(tc->ssl) == 1 ? 0 : -1;
}

static void client_close(struct tls_client *tc) {
  SSL_free(tc->ssl);
  if (tc->fd >= 0)
    close(tc->fd);
}

/* Sends REQ and reads one answer with a 2-byte body into OUT (NUL-ended);
 * returns what was read: short or empty when the server closed first. */
static size_t client_ask(struct tls_client *tc, const char *req, char *out, size_t cap) {
  size_t got = 0;
  out[0] = '\0';
  if (SSL_write(tc->ssl, req, (int)strlen(req)) <= 0)
    return 0;
  while (got + 1 < cap) {
    int n = SSL_read(tc->ssl, out + got, (int)(cap - 1 - got));
    if (n <= 0)
      break;
    got += (size_t)n;
    out[got] = '\0';
    char *end = strstr(out, "\r\n\r\n");
    if (end != NULL && strlen(end + 4) >= 2)
      break;
  }
  ERR_clear_error();
  return got;
}

struct run {
  int port;
  uv_async_t done;
  char first[1024], second[1024], other[1024];
  int handshake_ok;
};

/* One connection: /stale (the error is left after its answer), then /stale
 * again on the same connection; then, with the error queued again and that
 * connection still open, a new connection's handshake and /ok. */
static void *client_main(void *arg) {
  struct run *run = arg;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  struct tls_client a = {-1, NULL}, b = {-1, NULL};
  if (ctx != NULL && client_open(ctx, run->port, &a) == 0) {
    client_ask(&a, "GET /stale HTTP/1.1\r\nHost: a\r\n\r\n", run->first, sizeof(run->first));
    client_ask(&a, "GET /stale HTTP/1.1\r\nHost: a\r\n\r\n", run->second, sizeof(run->second));
    if (client_open(ctx, run->port, &b) == 0) {
      run->handshake_ok = 1;
      client_ask(&b, "GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", run->other,
                 sizeof(run->other));
    }
  }
  ERR_clear_error();
  client_close(&b);
  client_close(&a);
  SSL_CTX_free(ctx);
  uv_async_send(&run->done);
  return NULL;
}

/* --- the worker's loop on the test's thread --- */

static struct tg_http_worker hw;
static uv_tcp_t listener;

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void on_done(uv_async_t *a) {
  tg_conn_close_all(&hw);
  uv_walk(a->loop, close_any, NULL);
}

static void test_stale_error_queue(void **state) {
  (void)state;
  uv_loop_t loop;
  struct run run;
  memset(&run, 0, sizeof(run));
  memset(&lim, 0, sizeof(lim));
  lim.gen = 1;
  lim.tls = server_ctx();
  lim.max_header_bytes = 8192;
  lim.max_body_bytes = 1 << 20;
  lim.header_timeout_ms = lim.body_timeout_ms = lim.idle_timeout_ms = 20000;
  lim.handshake_timeout_ms = 20000;
  lim.out_high_water = 256 * 1024;
  lim.max_conns = lim.max_conns_per_client = 100;
  assert_int_equal(uv_loop_init(&loop), 0);
  tg_http_worker_init(&hw, &loop, &app, NULL);
  uv_tcp_init(&loop, &listener);
  listener.data = &hw;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  assert_int_equal(uv_tcp_bind(&listener, (const struct sockaddr *)&sa, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&listener, 16, tg_conn_on_connection), 0);
  int sl = sizeof(sa);
  uv_tcp_getsockname(&listener, (struct sockaddr *)&sa, &sl);
  run.port = ntohs(sa.sin_port);
  uv_async_init(&loop, &run.done, on_done);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client_main, &run), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
  tg_http_worker_close(&hw);
  assert_int_equal(uv_loop_close(&loop), 0);
  SSL_CTX_free(lim.tls);
  ERR_clear_error();

  assert_true(stale_left); /* the handler did leave an error behind */
  assert_non_null(strstr(run.first, "HTTP/1.1 200"));
  /* The request that follows on the kept-alive connection is answered (it
   * used to get no answer: its SSL_read's WANT_READ read as SSL_ERROR_SSL). */
  assert_non_null(strstr(run.second, "HTTP/1.1 200"));
  /* A new connection's handshake with the error queued succeeds too. */
  assert_true(run.handshake_ok);
  assert_non_null(strstr(run.other, "HTTP/1.1 200"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stale_error_queue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
