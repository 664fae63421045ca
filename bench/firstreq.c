/* firstreq: starts a server command and measures the time until it first
 * answers GET /healthz over TLS with 200.
 *   firstreq HOST:PORT -- COMMAND [ARGS...]
 * Prints "ready_ms N" and leaves the server running (its pid on stdout as
 * "pid N"). Polls every 0.5 ms. */
#include <fcntl.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int try_once(SSL_CTX *ctx, struct addrinfo *ai) {
  int fd = socket(ai->ai_family, SOCK_STREAM, 0), ok = 0;
  if (fd < 0)
    return 0;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
      char buf[512];
      SSL_write(ssl, req, sizeof(req) - 1);
      int n = SSL_read(ssl, buf, sizeof(buf) - 1);
      ok = n > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
    }
    SSL_free(ssl);
  }
  close(fd);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: firstreq HOST:PORT -- COMMAND [ARGS...]\n");
    return 2;
  }
  char host[256];
  const char *colon = strrchr(argv[1], ':');
  snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[1]), argv[1]);
  struct addrinfo hints = {0}, *ai;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
    return 2;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid == 0) {
    /* The server must not hold our stdout open (callers read it to EOF). */
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2(devnull, STDOUT_FILENO);
    execvp(argv[3], argv + 3);
    _exit(127);
  }
  while (now_ms() - t0 < 10000) {
    if (try_once(ctx, ai)) {
      printf("ready_ms %.1f\npid %d\n", now_ms() - t0, (int)pid);
      return 0;
    }
    usleep(500);
  }
  kill(pid, SIGTERM);
  printf("ready_ms timeout\n");
  return 1;
}
