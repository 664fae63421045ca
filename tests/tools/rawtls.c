/* rawtls: sends raw bytes to a TLS server and reports what came back, for
 * tests that must put exact (often malformed) HTTP on the wire.
 *   rawtls HOST:PORT CAFILE [-d DELAY_MS] [-t TIMEOUT_MS] [-c CERT -k KEY] < request
 * Prints every response status line ("status 400"), then "closed" if the
 * server closed the connection or "open" if it was still open at the timeout. */
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int dial(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
    return -1;
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = '\0';
  struct addrinfo hints = {0}, *ai;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
    return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  return fd;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv) {
  long delay = 0, timeout = 3000;
  const char *cert = NULL, *key = NULL;
  if (argc < 3) {
    fprintf(stderr, "usage: rawtls HOST:PORT CAFILE [-d MS] [-t MS] [-c CERT -k KEY] < request\n");
    return 2;
  }
  for (int i = 3; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-d") == 0)
      delay = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "-t") == 0)
      timeout = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "-c") == 0)
      cert = argv[i + 1];
    else if (strcmp(argv[i], "-k") == 0)
      key = argv[i + 1];
  }
  signal(SIGPIPE, SIG_IGN);
  static char req[1 << 20];
  size_t rn = fread(req, 1, sizeof(req), stdin);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, argv[2], NULL);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (cert && key && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
                      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
    fprintf(stderr, "rawtls: cannot load client certificate\n");
    return 2;
  }
  int fd = dial(argv[1]);
  if (fd < 0) {
    fprintf(stderr, "rawtls: cannot connect to %s\n", argv[1]);
    return 2;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) != 1) {
    ERR_print_errors_fp(stderr);
    printf("handshake-failed\n");
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
  }
  /* Send; with a delay, one byte at a time (a slow client). Input beyond the
   * first buffer streams on (blocking when the server stops reading). */
  for (;;) {
    for (size_t off = 0; off < rn;) {
      size_t n = delay ? 1 : rn - off;
      int w = SSL_write(ssl, req + off, (int)n);
      if (w <= 0)
        goto sent;
      off += (size_t)w;
      if (delay) {
        /* A slow client; stop sending once the server has answered. */
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)delay) > 0)
          goto sent;
      }
    }
    if (rn < sizeof(req) || (rn = fread(req, 1, sizeof(req), stdin)) == 0)
      break;
  }
sent:;
  char buf[65536];
  size_t total = 0;
  static char acc[1 << 20];
  long deadline = now_ms() + timeout;
  int closed = 0;
  for (;;) {
    if (SSL_pending(ssl) == 0) {
      struct pollfd p = {fd, POLLIN, 0};
      long left = deadline - now_ms();
      if (left <= 0 || poll(&p, 1, (int)left) <= 0)
        break;
    }
    int r = SSL_read(ssl, buf, sizeof(buf));
    if (r <= 0) {
      closed = 1;
      break;
    }
    if (total + (size_t)r < sizeof(acc)) {
      memcpy(acc + total, buf, (size_t)r);
      total += (size_t)r;
    }
  }
  acc[total] = '\0';
  if (getenv("RAWTLS_DUMP"))
    fwrite(acc, 1, total, stderr);
  /* Walk the responses one after the other (this tool reads only what
   * tsunagud writes: Content-Length or chunked bodies). */
  for (char *p = acc; p < acc + total && strncmp(p, "HTTP/1.1 ", 9) == 0;) {
    char *end = strstr(p, "\r\n\r\n");
    printf("status %.3s\n", p + 9);
    if (end == NULL)
      break;
    *end = '\0';
    char *cl = strcasestr(p, "\r\ncontent-length:");
    int chunked = strcasestr(p, "\r\ntransfer-encoding: chunked") != NULL;
    int head100 = strncmp(p + 9, "100", 3) == 0;
    p = end + 4;
    if (head100)
      continue;
    if (cl != NULL) {
      p += strtol(cl + 17, NULL, 10);
    } else if (chunked) {
      for (;;) {
        long n = strtol(p, NULL, 16);
        char *eol = strstr(p, "\r\n");
        if (eol == NULL)
          break;
        p = eol + 2 + n + 2;
        if (n == 0)
          break;
        if (p > acc + total)
          break;
      }
    } else {
      break;
    }
  }
  printf("%s\n", closed ? "closed" : "open");
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return 0;
}
