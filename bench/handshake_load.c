/* bench/handshake_load: full mutual-TLS handshakes per second against one
 * server. K threads each loop for T seconds: new TCP connection, a full TLS
 * handshake (client certificate presented, server verified against the CA,
 * no session offered or kept), GET /healthz, read to close, close.
 *   handshake_load HOST:PORT CA.crt CLIENT.crt CLIENT.key [-k K] [-t SECONDS] [-v 1.2|1.3]
 * Prints "handshakes_per_s N", "ok N", "fail N", "version V" and "resumable N":
 * sessions the server offered for resumption (TLS 1.3 tickets, TLS 1.2
 * session ids), counted and dropped. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static SSL_CTX *ctx;
static struct addrinfo *addr;
static const char *host;
static double deadline;
static atomic_long n_ok, n_fail, n_resumable;
static char version[16];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts sessions the server offers for resumption; never keeps them. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess) {
  (void)ssl;
  (void)sess;
  atomic_fetch_add(&n_resumable, 1);
  return 0;
}

/* One connection, handshake, request, response; 1 on a 200 answer. */
static int one(void) {
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  char buf[2048];
  int fd = socket(addr->ai_family, SOCK_STREAM, 0), ok = 0;
  if (fd < 0)
    return 0;
  /* As curl and wrk do: the request must not wait behind Nagle for an ACK. */
  int one_ = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
  if (connect(fd, addr->ai_addr, addr->ai_addrlen) != 0) {
    close(fd);
    return 0;
  }
  SSL *ssl = SSL_new(ctx);
  if (ssl == NULL) {
    close(fd);
    return 0;
  }
  SSL_set_fd(ssl, fd);
  X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
    SSL_set1_host(ssl, host);
  if (SSL_connect(ssl) == 1 && SSL_get_verify_result(ssl) == X509_V_OK && !SSL_session_reused(ssl) &&
      SSL_write(ssl, req, (int)sizeof(req) - 1) == (int)sizeof(req) - 1) {
    size_t got = 0;
    int n;
    while ((n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got))) > 0) {
      got += (size_t)n;
      if (got == sizeof(buf) - 1)
        got = 12; /* keep the status line, drain the rest */
    }
    ok = got >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0;
    if (ok && version[0] == '\0')
      snprintf(version, sizeof(version), "%s", SSL_get_version(ssl));
  }
  SSL_free(ssl);
  close(fd);
  ERR_clear_error();
  return ok;
}

static void *worker(void *arg) {
  (void)arg;
  while (now_s() < deadline) {
    if (one())
      atomic_fetch_add(&n_ok, 1);
    else
      atomic_fetch_add(&n_fail, 1);
  }
  return NULL;
}

static int usage(void) {
  fprintf(stderr, "usage: handshake_load HOST:PORT CA.crt CLIENT.crt CLIENT.key [-k K] [-t SECONDS] "
                  "[-v 1.2|1.3]\n");
  return 2;
}

int main(int argc, char **argv) {
  long k = 4;
  double secs = 8;
  int ver = 0;
  if (argc < 5)
    return usage();
  for (int i = 5; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-k") == 0)
      k = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "-t") == 0)
      secs = strtod(argv[i + 1], NULL);
    else if (strcmp(argv[i], "-v") == 0)
      ver = strcmp(argv[i + 1], "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    else
      return usage();
  }
  if (k < 1 || k > 1024 || secs <= 0)
    return usage();
  static char hostbuf[256];
  snprintf(hostbuf, sizeof(hostbuf), "%s", argv[1]);
  char *colon = strrchr(hostbuf, ':');
  if (colon == NULL)
    return usage();
  *colon = '\0';
  host = hostbuf;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
  if (getaddrinfo(hostbuf, colon + 1, &hints, &addr) != 0) {
    fprintf(stderr, "handshake_load: cannot resolve %s\n", argv[1]);
    return 1;
  }

  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, ver ? ver : TLS1_2_VERSION);
  if (ver)
    SSL_CTX_set_max_proto_version(ctx, ver);
  /* Never resume: no ticket requested, nothing cached or offered. */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    fprintf(stderr, "handshake_load: cannot load CA, certificate or key\n");
    ERR_print_errors_fp(stderr);
    return 1;
  }

  pthread_t *th = calloc((size_t)k, sizeof(pthread_t));
  if (th == NULL)
    return 1;
  double t0 = now_s();
  deadline = t0 + secs;
  long started = 0;
  for (; started < k; started++)
    if (pthread_create(&th[started], NULL, worker, NULL) != 0)
      break;
  for (long i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  double el = now_s() - t0;
  long ok = atomic_load(&n_ok), fail = atomic_load(&n_fail);
  printf("handshakes_per_s %.1f\nok %ld\nfail %ld\nversion %s\nresumable %ld\nthreads %ld\n", (double)ok / el, ok,
         fail, version[0] ? version : "none", atomic_load(&n_resumable), started);
  free(th);
  SSL_CTX_free(ctx);
  freeaddrinfo(addr);
  return ok > 0 ? 0 : 1;
}
