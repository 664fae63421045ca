/* holdconns: opens N TLS keep-alive connections to a server, makes one
 * request on each, then holds them all idle for a while.
 *   holdconns HOST:PORT CAFILE N HOLD_SECONDS READY_FILE
 * Writes "N" to READY_FILE once all N connections are established and idle,
 * and prints "held N" at the start and "open M" at the end (M still open). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECT, ST_HANDSHAKE, ST_SEND, ST_READ, ST_IDLE, ST_DEAD };

struct hc {
  int fd, state;
  SSL *ssl;
  size_t got;
};

static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";

static int step(struct hc *c) {
  int r;
  char buf[4096];
  for (;;) {
    switch (c->state) {
    case ST_CONNECT:
    case ST_HANDSHAKE:
      c->state = ST_HANDSHAKE;
      r = SSL_connect(c->ssl);
      if (r == 1) {
        c->state = ST_SEND;
        break;
      }
      r = SSL_get_error(c->ssl, r);
      if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
        return 0;
      return -1;
    case ST_SEND:
      r = SSL_write(c->ssl, req, sizeof(req) - 1);
      if (r <= 0)
        return -1;
      c->state = ST_READ;
      break;
    case ST_READ:
      r = SSL_read(c->ssl, buf, sizeof(buf));
      if (r <= 0) {
        r = SSL_get_error(c->ssl, r);
        return r == SSL_ERROR_WANT_READ ? 0 : -1;
      }
      if (memmem(buf, (size_t)r, "{\"status\":\"ok\"}", 15) != NULL)
        c->state = ST_IDLE;
      break;
    case ST_IDLE:
      r = SSL_read(c->ssl, buf, sizeof(buf));
      if (r > 0)
        break;
      r = SSL_get_error(c->ssl, r);
      return r == SSL_ERROR_WANT_READ ? 1 : -1;
    default:
      return -1;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: holdconns HOST:PORT CAFILE N HOLD_SECONDS READY_FILE\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int n = atoi(argv[3]), hold = atoi(argv[4]);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  char host[256];
  const char *colon = strrchr(argv[1], ':');
  snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[1]), argv[1]);
  struct addrinfo hints = {0}, *ai;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
    return 2;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, argv[2], NULL);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  struct hc *cs = calloc((size_t)n, sizeof(*cs));
  int ep = epoll_create1(0), started = 0, idle = 0, dead = 0, inprog = 0;
  time_t give_up = time(NULL) + 120;
  while (idle + dead < n && time(NULL) < give_up) {
    /* Keep a bounded number of handshakes in progress. */
    while (started < n && inprog < 256) {
      struct hc *c = &cs[started];
      c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c->fd < 0) {
        fprintf(stderr, "socket: %s\n", strerror(errno));
        c->state = ST_DEAD;
        dead++;
        started++;
        continue;
      }
      connect(c->fd, ai->ai_addr, ai->ai_addrlen);
      c->ssl = SSL_new(ctx);
      SSL_set_fd(c->ssl, c->fd);
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)started};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      started++;
      inprog++;
    }
    struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, 1000);
    for (int i = 0; i < k; i++) {
      struct hc *c = &cs[evs[i].data.u32];
      if (c->state == ST_IDLE || c->state == ST_DEAD)
        continue;
      int r = step(c);
      if (r < 0) {
        c->state = ST_DEAD;
        dead++;
        inprog--;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      } else if (r == 1) {
        idle++;
        inprog--;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[i].data.u32};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
      }
    }
  }
  printf("held %d\n", idle);
  fflush(stdout);
  FILE *f = fopen(argv[5], "w");
  if (f) {
    fprintf(f, "%d\n", idle);
    fclose(f);
  }
  /* Hold: any event on an idle connection now means the server closed it. */
  time_t end = time(NULL) + hold;
  while (time(NULL) < end) {
    struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, 200);
    for (int i = 0; i < k; i++) {
      struct hc *c = &cs[evs[i].data.u32];
      if (c->state == ST_IDLE && step(c) < 0) {
        c->state = ST_DEAD;
        idle--;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      }
    }
  }
  printf("open %d\n", idle);
  for (int i = 0; i < started; i++) {
    SSL_free(cs[i].ssl);
    if (cs[i].fd >= 0)
      close(cs[i].fd);
  }
  free(cs);
  freeaddrinfo(ai);
  SSL_CTX_free(ctx);
  close(ep);
  return 0;
}
