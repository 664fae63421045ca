/* attack: the connection-layer attacks of the hardening work, from one process
 * and one address, bounded in count and time (loopback only), for the
 * regression tests and bench/attack.
 *   attack MODE HOST:PORT CAFILE N SECONDS [-r] [-p PATH] [-s SIZE] [-b BYTES]
 * MODE:
 *   hs        TCP only: the first 5 bytes of a TLS record, then one byte every
 *             2 s (a handshake that never ends)
 *   posths    a full handshake, then the first bytes of an application record,
 *             one byte every 2 s (a request that never decrypts)
 *   pipeline  a full handshake, then pipelined "GET PATH" (BYTES of requests,
 *             default 330k, as much as the node takes) and never a read
 *   body      a full handshake, then "POST PATH" without credentials announcing
 *             SIZE bytes (default 1m) and sending them as fast as taken
 * -r opens a new connection whenever one is closed, to keep N open.
 * Prints one line: opened, closed, still open, the longest any was held
 * (ms), bytes sent, and the status codes of answers read (body mode). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_HS, M_POSTHS, M_PIPELINE, M_BODY };
enum state { S_TLS, S_ACT, S_DEAD };

struct conn {
  int fd, state;
  SSL *ssl;
  long opened, next;
  size_t sent, trickled;
  char head[64];
  size_t got;
};

static struct addrinfo *g_ai;
static SSL_CTX *g_ctx;
static enum mode g_mode;
static const char *g_path = "/api/v1/catalog?limit=1000";
static size_t g_size = 1024 * 1024, g_bytes = 330 * 1024;
static long g_opened, g_closed, g_max_held;
static unsigned long long g_sent;
static int g_status[600];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void conn_open(struct conn *c) {
  memset(c, 0, sizeof(*c));
  c->state = S_DEAD;
  c->fd = socket(g_ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    return;
  if (connect(c->fd, g_ai->ai_addr, g_ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    close(c->fd);
    return;
  }
  c->opened = c->next = now_ms();
  g_opened++;
  if (g_mode == M_HS) {
    c->state = S_ACT;
    return;
  }
  c->ssl = SSL_new(g_ctx);
  SSL_set_fd(c->ssl, c->fd);
  SSL_set_tlsext_host_name(c->ssl, "localhost");
  c->state = S_TLS;
}

static void conn_close(struct conn *c) {
  long held = now_ms() - c->opened;
  if (held > g_max_held)
    g_max_held = held;
  if (c->ssl)
    SSL_free(c->ssl);
  close(c->fd);
  c->ssl = NULL;
  c->state = S_DEAD;
  g_closed++;
}

/* Writes raw bytes (under TLS, past OpenSSL) one at a time every 2 s. */
static int trickle(struct conn *c, const unsigned char *prefix, size_t plen) {
  long t = now_ms();
  if (t < c->next)
    return 0;
  const unsigned char one = 0x01;
  const unsigned char *p = c->trickled < plen ? prefix : &one;
  size_t n = c->trickled < plen ? plen : 1;
  ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
  if (w < 0 && errno != EAGAIN)
    return -1;
  if (w > 0) {
    c->trickled += (size_t)w;
    g_sent += (unsigned long long)w;
  }
  c->next = t + 2000;
  return 0;
}

static int ssl_out(struct conn *c, const char *data, size_t len) {
  int w = SSL_write(c->ssl, data, (int)len);
  if (w > 0) {
    c->sent += (size_t)w;
    g_sent += (unsigned long long)w;
    return w;
  }
  int e = SSL_get_error(c->ssl, w);
  ERR_clear_error();
  return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -1;
}

static int act_pipeline(struct conn *c) {
  char req[512];
  int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", g_path);
  while (c->sent < g_bytes) {
    int w = ssl_out(c, req, (size_t)n);
    if (w <= 0)
      return w;
  }
  return 0;
}

static void read_status(struct conn *c) {
  char buf[4096];
  for (;;) {
    int r = SSL_read(c->ssl, buf, sizeof(buf));
    if (r <= 0) {
      ERR_clear_error();
      return;
    }
    if (c->got < sizeof(c->head) - 1) {
      size_t k = (size_t)r < sizeof(c->head) - 1 - c->got ? (size_t)r : sizeof(c->head) - 1 - c->got;
      memcpy(c->head + c->got, buf, k);
      c->got += k;
      c->head[c->got] = '\0';
      int st;
      if (c->got >= 12 && sscanf(c->head, "HTTP/1.1 %3d", &st) == 1 && st > 0 && st < 600)
        g_status[st]++, c->got = sizeof(c->head); /* counted once */
    }
  }
}

static int act_body(struct conn *c) {
  static char zeros[16384];
  if (c->sent == 0) {
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST %s HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n", g_path, g_size);
    if (ssl_out(c, req, (size_t)n) <= 0)
      return -1;
    c->sent = 1; /* the head counts as one */
  }
  read_status(c);
  while (c->sent < g_size) {
    size_t n = g_size - c->sent < sizeof(zeros) ? g_size - c->sent : sizeof(zeros);
    int w = ssl_out(c, zeros, n);
    if (w <= 0)
      return w;
  }
  return 0;
}

static int step(struct conn *c, short revents) {
  static const unsigned char hs_prefix[] = {0x16, 0x03, 0x01, 0x02, 0x00};
  static const unsigned char app_prefix[] = {0x17, 0x03, 0x03, 0x00, 0xff};
  if (g_mode == M_BODY && c->state == S_ACT)
    read_status(c); /* the answer may come with the close */
  if (revents & (POLLHUP | POLLERR | POLLRDHUP))
    return -1;
  if (c->state == S_TLS) {
    int r = SSL_connect(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      ERR_clear_error();
      return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
    }
    c->state = S_ACT;
  }
  switch (g_mode) {
  case M_HS:
    if (revents & POLLIN) {
      char b[256];
      if (recv(c->fd, b, sizeof(b), 0) <= 0)
        return -1;
    }
    return trickle(c, hs_prefix, sizeof(hs_prefix));
  case M_POSTHS:
    if (revents & POLLIN) {
      char b[4096];
      int r = SSL_read(c->ssl, b, sizeof(b));
      int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
      ERR_clear_error();
      if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ)
        return -1;
    }
    return trickle(c, app_prefix, sizeof(app_prefix));
  case M_PIPELINE:
    return act_pipeline(c);
  case M_BODY:
    return act_body(c);
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: attack hs|posths|pipeline|body HOST:PORT CAFILE N SECONDS "
                    "[-r] [-p PATH] [-s SIZE] [-b BYTES]\n");
    return 2;
  }
  const char *m = argv[1];
  g_mode = strcmp(m, "hs") == 0 ? M_HS : strcmp(m, "posths") == 0 ? M_POSTHS
         : strcmp(m, "pipeline") == 0 ? M_PIPELINE : M_BODY;
  int n = atoi(argv[4]), secs = atoi(argv[5]), again = 0;
  for (int i = 6; i < argc; i++) {
    if (strcmp(argv[i], "-r") == 0)
      again = 1;
    else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
      g_path = argv[++i];
    else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
      g_size = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
      g_bytes = strtoul(argv[++i], NULL, 10);
  }
  if (n < 1 || n > 4096 || secs < 1 || secs > 600)
    return 2;
  char host[256];
  const char *colon = strrchr(argv[2], ':');
  if (colon == NULL || (size_t)(colon - argv[2]) >= sizeof(host))
    return 2;
  memcpy(host, argv[2], (size_t)(colon - argv[2]));
  host[colon - argv[2]] = '\0';
  struct addrinfo hints = {0};
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &g_ai) != 0)
    return 2;
  signal(SIGPIPE, SIG_IGN);
  g_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(g_ctx, argv[3], NULL);
  SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
  struct conn *cs = calloc((size_t)n, sizeof(*cs));
  struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
  if (cs == NULL || pf == NULL)
    return 2;
  for (int i = 0; i < n; i++)
    conn_open(&cs[i]);
  long end = now_ms() + secs * 1000L;
  while (now_ms() < end) {
    for (int i = 0; i < n; i++) {
      pf[i].fd = cs[i].state == S_DEAD ? -1 : cs[i].fd;
      pf[i].events = POLLRDHUP | (g_mode == M_PIPELINE ? 0 : POLLIN) |
                     (cs[i].state == S_TLS || g_mode >= M_PIPELINE ? POLLOUT : 0);
      pf[i].revents = 0;
    }
    poll(pf, (nfds_t)n, 100);
    for (int i = 0; i < n; i++) {
      if (cs[i].state == S_DEAD) {
        if (again)
          conn_open(&cs[i]);
        continue;
      }
      if (step(&cs[i], pf[i].revents) < 0)
        conn_close(&cs[i]);
    }
  }
  long open = 0, t = now_ms();
  for (int i = 0; i < n; i++) {
    if (cs[i].state == S_DEAD)
      continue;
    open++;
    if (t - cs[i].opened > g_max_held)
      g_max_held = t - cs[i].opened;
    if (cs[i].ssl)
      SSL_free(cs[i].ssl);
    close(cs[i].fd);
  }
  printf("opened %ld closed %ld open %ld max_held_ms %ld sent %llu", g_opened, g_closed, open,
         g_max_held, g_sent);
  for (int s = 100; s < 600; s++)
    if (g_status[s])
      printf(" status_%d %d", s, g_status[s]);
  printf("\n");
  free(cs);
  free(pf);
  SSL_CTX_free(g_ctx);
  freeaddrinfo(g_ai);
  return 0;
}
