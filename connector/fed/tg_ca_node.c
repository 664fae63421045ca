/* tg_ca_node: the node's CA, opened once and shared; failed enrolments
 * counted per client. See tg_ca_node.h. */
#include "tg_ca_node.h"
#include "tg_cert_ca.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_ratelimit.h"
#include "tg_settings.h"
#include "tg_util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* What identifies a file's content well enough to notice a replacement. */
struct ident {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
};

static struct {
  pthread_mutex_t mu; /* held while a worker uses CA, and for the rest */
  uint64_t gen;       /* settings generation the configuration was read for */
  int has_ca;
  char dir[4096];
  unsigned failures;     /* [ca] register_failures; 0: no limit */
  uint64_t window_ms;    /* [ca] register_window */
  int64_t validity_s;    /* [ca] validity of the certificates issued online; 0: the CA's default */
  struct tg_cert_ca *ca; /* NULL until first lent */
  struct ident files[3]; /* ca.crt, ca.key, ca.db when CA was opened */
  struct tg_ratelimit rl;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .rl = {.mu = PTHREAD_MUTEX_INITIALIZER}};

static const char *const watched[3] = {TG_CA_CERT, TG_CA_KEY, TG_CA_DB};

static void idents(const char *dir, struct ident out[3]) {
  char path[4200];
  struct stat st;
  memset(out, 0, 3 * sizeof(*out));
  for (int i = 0; i < 3; i++) {
    if (tg_path_join(path, sizeof(path), dir, watched[i]) != 0 || stat(path, &st) != 0)
      continue;
    out[i] = (struct ident){st.st_dev, st.st_ino, st.st_size, st.st_mtim};
  }
}

/* Under G.MU: reads [ca] again when the settings changed since. */
static void configure(void) {
  struct tg_settings *s = tg_settings_get();
  if (g.gen == s->gen) {
    tg_settings_put(s);
    return;
  }
  char path[4200];
  struct tg_conf *c = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  g.gen = s->gen;
  g.has_ca = 0;
  g.failures = TG_CA_NODE_FAILURES;
  g.window_ms = TG_CA_NODE_WINDOW_MS;
  g.validity_s = 0;
  if (tg_node_path(path, sizeof(path), s->dir, TG_NODE_CONF) == 0 &&
      tg_conf_load(path, &c, &err) == 0) {
    const char *d = tg_conf_get(c, "ca", "dir");
    if (d != NULL && d[0] != '\0') {
      int w = d[0] == '/' ? snprintf(g.dir, sizeof(g.dir), "%s", d)
                          : snprintf(g.dir, sizeof(g.dir), "%s/%s", s->dir, d);
      g.has_ca = w > 0 && (size_t)w < sizeof(g.dir);
    }
    uint64_t v = 0;
    if (tg_conf_get_u64(c, "ca", "register_failures", TG_CA_NODE_FAILURES, 0, 1000000, &v, &err) ==
        0)
      g.failures = (unsigned)v;
    else
      tg_log_warn("[ca] register_failures: keeping %u", g.failures);
    if (tg_conf_get_ms(c, "ca", "register_window", TG_CA_NODE_WINDOW_MS, &v, &err) == 0 && v > 0)
      g.window_ms = v;
    else
      tg_log_warn("[ca] register_window: keeping %llu ms", (unsigned long long)g.window_ms);
    /* Short lifetimes for tests of renewal, or a federation's own policy. */
    if (tg_conf_get_ms(c, "ca", "validity", 0, &v, &err) == 0 && (v == 0 || v >= 1000))
      g.validity_s = (int64_t)(v / 1000);
    else
      tg_log_warn("[ca] validity: expected a duration of 1s or more; using the CA's default");
    tg_conf_free(c);
  }
  tg_settings_put(s);
  /* Another directory, or none: the open CA is no longer the node's. */
  tg_cert_ca_close(g.ca);
  g.ca = NULL;
}

int tg_ca_node_dir(char *out, size_t n) {
  pthread_mutex_lock(&g.mu);
  configure();
  int rc = !g.has_ca ? TG_ENOENT : snprintf(out, n, "%s", g.dir) < (int)n ? 0 : TG_ETOOBIG;
  pthread_mutex_unlock(&g.mu);
  return rc;
}

int64_t tg_ca_node_validity(void) {
  pthread_mutex_lock(&g.mu);
  configure();
  int64_t v = g.validity_s;
  pthread_mutex_unlock(&g.mu);
  return v;
}

int tg_ca_node_acquire(struct tg_cert_ca **ca, char *dir, size_t n, struct tg_err *err) {
  struct ident now[3];
  pthread_mutex_lock(&g.mu);
  configure();
  if (!g.has_ca) {
    pthread_mutex_unlock(&g.mu);
    return tg_err_set(err, TG_ENOENT, "this node does not run a certificate authority");
  }
  idents(g.dir, now);
  if (g.ca != NULL && memcmp(now, g.files, sizeof(now)) != 0) {
    tg_cert_ca_close(g.ca); /* ca init again, a restored backup: read it afresh */
    g.ca = NULL;
  }
  if (g.ca == NULL) {
    int rc = tg_cert_ca_open(g.dir, &g.ca, err);
    if (rc != 0) {
      g.ca = NULL;
      pthread_mutex_unlock(&g.mu);
      return rc;
    }
    memcpy(g.files, now, sizeof(now));
  }
  if (dir != NULL)
    snprintf(dir, n, "%s", g.dir);
  *ca = g.ca;
  return 0; /* G.MU stays held until tg_ca_node_release */
}

void tg_ca_node_release(void) {
  pthread_mutex_unlock(&g.mu);
}

uint64_t tg_ca_node_wait(const char *client) {
  pthread_mutex_lock(&g.mu);
  configure();
  unsigned limit = g.failures;
  uint64_t window = g.window_ms;
  pthread_mutex_unlock(&g.mu);
  return tg_ratelimit_wait(&g.rl, client, limit, window, tg_now_ms());
}

void tg_ca_node_failed(const char *client) {
  pthread_mutex_lock(&g.mu);
  uint64_t window = g.window_ms;
  pthread_mutex_unlock(&g.mu);
  tg_ratelimit_fail(&g.rl, client, window, tg_now_ms());
}

void tg_ca_node_shutdown(void) {
  pthread_mutex_lock(&g.mu);
  tg_cert_ca_close(g.ca);
  g.ca = NULL;
  g.gen = 0;
  pthread_mutex_unlock(&g.mu);
}
