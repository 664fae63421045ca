/* tg_settings: loads tsunagu.conf and the TLS material into a refcounted
 * settings object and keeps the current one (swapped whole on reload). */
#include "tg_settings.h"
#include "tg_backends.h"
#include "tg_cert_ca.h"
#include "tg_conf_check.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_node.h"
#include "tg_tls.h"
#include "tg_util.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static pthread_mutex_t tg__settings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tg_settings *tg__settings;

struct tg_settings *tg_settings_get(void) {
  pthread_mutex_lock(&tg__settings_lock);
  struct tg_settings *s = tg__settings;
  atomic_fetch_add(&s->refs, 1);
  pthread_mutex_unlock(&tg__settings_lock);
  return s;
}

void tg_settings_put(struct tg_settings *s) {
  if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  SSL_CTX_free(s->http.tls);
  free(s->backends);
  free(s);
}

/* The routing table's names (tg_settings_routes). */
static int tg__nroutes;
static const char *(*tg__route_name)(int i);

void tg_settings_routes(int count, const char *(*name)(int i)) {
  tg__nroutes = count;
  tg__route_name = name;
}
int tg_settings_route_count(void) { return tg__nroutes; }
const char *tg_settings_route_name(int i) {
  return i >= 0 && i < tg__nroutes ? tg__route_name(i) : "none";
}

/* The current settings' generation, readable without the lock. */
static _Atomic uint64_t tg__settings_gen;
uint64_t tg_settings_generation(void) { return atomic_load(&tg__settings_gen); }

void tg_settings_swap(struct tg_settings *s) {
  static uint64_t gens;
  pthread_mutex_lock(&tg__settings_lock);
  if (s != NULL) {
    s->gen = s->http.gen = ++gens;
    atomic_store(&tg__settings_gen, s->gen);
  }
  struct tg_settings *old = tg__settings;
  tg__settings = s;
  pthread_mutex_unlock(&tg__settings_lock);
  tg_settings_put(old);
}

static int conf_str(const struct tg_conf *c, const char *sec, const char *key, char *out, size_t n,
                    const char *def) {
  const char *v = tg_conf_get(c, sec, key);
  if (v == NULL)
    v = def;
  if (strlen(v) >= n)
    return TG_EINVAL;
  memcpy(out, v, strlen(v) + 1);
  return 0;
}

static int load_limits(struct tg_settings *s, const struct tg_conf *c, struct tg_err *err) {
  uint64_t workers;
  int rc = 0;
  rc = rc ? rc : tg_conf_get_u64(c, "http", "workers", 0, 0, 256, &workers, err);
  rc = rc ? rc : tg_conf_get_size(c, "limits", "header_bytes", 16 * 1024, &s->http.max_header_bytes, err);
  rc = rc ? rc : tg_conf_get_size(c, "limits", "body_bytes", 1024 * 1024, &s->http.max_body_bytes, err);
  rc = rc ? rc : tg_conf_get_ms(c, "limits", "header_timeout", 10000, &s->http.header_timeout_ms, err);
  rc = rc ? rc : tg_conf_get_ms(c, "limits", "body_timeout", 30000, &s->http.body_timeout_ms, err);
  rc = rc ? rc : tg_conf_get_ms(c, "limits", "idle_timeout", 60000, &s->http.idle_timeout_ms, err);
  rc = rc ? rc : tg_conf_get_ms(c, "limits", "handshake_timeout", 10000, &s->http.handshake_timeout_ms,
                                err);
  rc = rc ? rc : tg_conf_get_size(c, "limits", "min_rate", 1024, &s->http.min_rate, err);
  rc = rc ? rc : tg_conf_get_size(c, "limits", "output_buffer", 256 * 1024, &s->http.out_high_water, err);
  rc = rc ? rc : tg_conf_get_u64(c, "limits", "connections", 20000, 1, 10000000, &s->http.max_conns, err);
  rc = rc ? rc : tg_conf_get_u64(c, "limits", "connections_per_client", 256, 1, 10000000,
                                 &s->http.max_conns_per_client, err);
  rc = rc ? rc : tg_conf_get_ms(c, "limits", "drain_timeout", 10000, &s->drain_timeout_ms, err);
  if (rc)
    return rc;
  /* Per-route body limits: body_bytes.<route name> = SIZE. */
  for (int i = 0; i < tg_settings_route_count() && i < 128; i++) {
    char key[96];
    snprintf(key, sizeof(key), "body_bytes.%s", tg_settings_route_name(i));
    if ((rc = tg_conf_get_size(c, "limits", key, 0, &s->route_body[i], err)) != 0)
      return rc;
  }
  if (s->http.max_header_bytes < 1024 || s->http.max_header_bytes > 1024 * 1024)
    return tg_err_set(err, TG_EINVAL, "[limits] header_bytes must be between 1k and 1m");
  if (s->http.header_timeout_ms == 0 || s->http.body_timeout_ms == 0 || s->http.idle_timeout_ms == 0 ||
      s->http.handshake_timeout_ms == 0)
    return tg_err_set(err, TG_EINVAL, "[limits] timeouts must be positive");
  if (s->http.out_high_water < 16 * 1024 || s->http.out_high_water > 64 * 1024 * 1024)
    return tg_err_set(err, TG_EINVAL, "[limits] output_buffer must be between 16k and 64m");
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  s->workers = workers ? (int)workers : (int)(cores > 0 ? cores : 1);
  /* Connections are refused at accept before descriptors run out, so the
   * database, peers and the identity provider always have some left. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    uint64_t reserve = 64 + 16 * (uint64_t)s->workers;
    uint64_t cap = rl.rlim_cur > reserve + 16 ? rl.rlim_cur - reserve : 16;
    if (s->http.max_conns > cap) {
      tg_log_warn("[limits] connections = %llu is over what the descriptor limit (%llu) allows; "
                  "using %llu (raise LimitNOFILE to allow more)",
                  (unsigned long long)s->http.max_conns, (unsigned long long)rl.rlim_cur,
                  (unsigned long long)cap);
      s->http.max_conns = cap;
    }
  }
  const char *access = tg_conf_get(c, "log", "access");
  s->access_log = !(access && (strcmp(access, "off") == 0 || strcmp(access, "no") == 0));
  const char *lvl = tg_conf_get(c, "log", "level");
  enum tg_log_level level = TG_LOG_INFO;
  if (lvl && tg_log_parse_level(lvl, &level))
    return tg_err_set(err, TG_EINVAL, "[log] level = %s: expected error, warn, info or debug", lvl);
  tg_log_set_level(level);
  return 0;
}

/* --- [retention] --- */

/* "off", a count ("100000") or an age ("30d", "12h") into R. */
static int retention_value(const char *v, struct tg_retention *r) {
  uint64_t n;
  size_t len = strlen(v);
  r->keep = r->age_ms = 0;
  if (strcmp(v, "off") == 0)
    return 0;
  if (len > 0 && v[len - 1] >= '0' && v[len - 1] <= '9')
    return tg_parse_u64(v, UINT64_MAX / 2, &n) == 0 && n > 0 ? (r->keep = n, 0) : TG_EINVAL;
  if (tg_parse_duration(v, &n) != 0 || n == 0 || n > UINT64_MAX / 2000)
    return TG_EINVAL;
  r->age_ms = n * 1000;
  return 0;
}

struct retention_walk {
  struct tg_settings *s;
  struct tg_err *err;
};

static int retention_entry(void *ud, const char *key, const char *value) {
  struct retention_walk *rw = ud;
  struct tg_settings *s = rw->s;
  if (strcmp(key, "interval") == 0)
    return 0;
  int dflt = strcmp(key, "default") == 0;
  struct tg_retention *r = dflt ? &s->retention_default : &s->retention[s->nretention];
  if (!dflt && s->nretention == TG_RETENTION_MAX)
    return tg_err_set(rw->err, TG_EINVAL, "[retention]: more than %d datasets", TG_RETENTION_MAX);
  if (!dflt && (strlen(key) >= sizeof(r->local) || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                               "abcdefghijklmnopqrstuvwxyz"
                                                               "0123456789._-") != strlen(key)))
    return tg_err_set(rw->err, TG_EINVAL, "[retention] %s: not a dataset's local id", key);
  if (retention_value(value, r) != 0)
    return tg_err_set(rw->err, TG_EINVAL,
                      "[retention] %s = %s: expected off, a record count (100000) or an age "
                      "(30d, 12h)",
                      key, value);
  if (!dflt) {
    snprintf(r->local, sizeof(r->local), "%s", key);
    s->nretention++;
  }
  return 0;
}

static int load_retention(struct tg_settings *s, const struct tg_conf *c, struct tg_err *err) {
  struct retention_walk rw = {s, err};
  int rc = tg_conf_get_ms(c, "retention", "interval", 60000, &s->retention_interval_ms, err);
  if (rc)
    return rc;
  if (s->retention_interval_ms == 0)
    return tg_err_set(err, TG_EINVAL, "[retention] interval must be positive");
  return tg_conf_each_in(c, "retention", retention_entry, &rw);
}

const struct tg_retention *tg_settings_retention(const struct tg_settings *s, const char *local) {
  /* the last assignment wins, as in tg_conf_get */
  for (int i = s->nretention - 1; i >= 0; i--)
    if (strcmp(s->retention[i].local, local) == 0)
      return &s->retention[i];
  return &s->retention_default;
}

const char *tg_expiry_name(int w) {
  static const char *const names[TG_EXPIRY_N] = {"node", "ca", "crl"};
  return w >= 0 && w < TG_EXPIRY_N ? names[w] : "?";
}

/* Reads the expiry of the node's certificate, its CA's and its CRL into S
 * (each 0 when the file is missing or unreadable: the TLS context, loaded
 * just before, has already refused what must be there). */
static void load_expiry(struct tg_settings *s, const char *cert, const char *ca,
                        const char *crl) {
  X509 *x = NULL;
  X509_CRL *l = NULL;
  if (tg_cert_load(cert, &x, NULL) == 0)
    s->expiry[TG_EXPIRY_NODE] = tg_cert_not_after(x);
  X509_free(x);
  x = NULL;
  if (access(ca, F_OK) == 0 && tg_cert_load(ca, &x, NULL) == 0) {
    s->expiry[TG_EXPIRY_CA] = tg_cert_not_after(x);
    /* A member that did not name its federation ([node] federation) goes by
     * its CA's name, which tsunagu ca init --name gave it. */
    if (!s->federation[0] &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, s->federation,
                                  (int)sizeof(s->federation)) < 0)
      s->federation[0] = '\0';
  }
  X509_free(x);
  if (access(crl, F_OK) == 0 && tg_cert_crl_load(crl, &l, NULL) == 0)
    s->expiry[TG_EXPIRY_CRL] = tg_cert_crl_next_update(l);
  X509_CRL_free(l);
  ERR_clear_error();
}

/* The certificate lifecycle's keys, read where they are used (fed/): bad
 * values are refused here, at start, on SIGHUP and by tsunagud -t. */
static int check_lifecycle_keys(struct tg_conf *c, const char *path, struct tg_err *err) {
  uint64_t ms = 0;
  int rc;
  const char *v = tg_conf_get(c, "federation", "renew");
  if (v != NULL && strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
    return tg_err_set(err, TG_EINVAL, "%s: [federation] renew = %s: expected on or off", path, v);
  if ((rc = tg_conf_get_ms(c, "federation", "renew_check", 3600000, &ms, err)) != 0)
    return rc;
  if (ms == 0)
    return tg_err_set(err, TG_EINVAL, "%s: [federation] renew_check: expected a duration of 1ms "
                                      "or more (renew = off turns renewal off)", path);
  if ((rc = tg_conf_get_ms(c, "ca", "validity", 0, &ms, err)) != 0)
    return rc;
  if (ms != 0 && ms < 1000)
    return tg_err_set(err, TG_EINVAL, "%s: [ca] validity: expected a duration of 1s or more", path);
  return tg_conf_get_ms(c, "ca", "crl_watch", 2000, &ms, err);
}

int tg_settings_load(const char *dir, struct tg_settings **out, struct tg_err *err) {
  char path[4096], key[4096], cert[4096], ca[4096], crl[4096], listen[300];
  struct tg_conf *c = NULL;
  struct tg_settings *s = calloc(1, sizeof(*s));
  int rc;
  if (s == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  atomic_init(&s->refs, 1);
  if (tg_node_path(path, sizeof(path), dir, TG_NODE_CONF)) {
    rc = tg_err_set(err, TG_ETOOBIG, "path too long");
    goto fail;
  }
  if ((rc = tg_conf_load(path, &c, err)) != 0 || (rc = tg_conf_check(c, path, err)) != 0)
    goto fail;
  const char *id = tg_conf_get(c, "node", "id");
  if (id == NULL || !tg_node_id_valid(id)) {
    rc = tg_err_set(err, TG_EINVAL, "%s: [node] id is missing or invalid", path);
    goto fail;
  }
  snprintf(s->node_id, sizeof(s->node_id), "%s", id);
  if (conf_str(c, "node", "name", s->node_name, sizeof(s->node_name), id) ||
      conf_str(c, "node", "federation", s->federation, sizeof(s->federation), "") ||
      conf_str(c, "node", "url", s->url, sizeof(s->url), "") ||
      (s->url[0] && strncmp(s->url, "https://", 8) != 0) ||
      conf_str(c, "http", "listen", listen, sizeof(listen), "127.0.0.1:8443") ||
      tg_node_split_hostport(listen, s->listen_host, sizeof(s->listen_host), &s->listen_port)) {
    rc = tg_err_set(err, TG_EINVAL, "%s: bad [node] name, federation, url (https://…) or [http] listen", path);
    goto fail;
  }
  if ((rc = load_limits(s, c, err)) != 0)
    goto fail;
  if ((rc = tg_oauth_conf_load(c, &s->auth, err)) != 0)
    goto fail;
  if ((rc = load_retention(s, c, err)) != 0)
    goto fail;
  if ((rc = tg_conf_get_ms(c, "federation", "peer_check", 5 * 60 * 1000, &s->peer_check_ms,
                           err)) != 0)
    goto fail;
  if ((rc = tg_conf_get_ms(c, "federation", "harvest_interval", 60 * 1000,
                           &s->harvest_interval_ms, err)) != 0)
    goto fail;
  if ((rc = tg_conf_get_ms(c, "federation", "harvest_peer_time", 5 * 60 * 1000,
                           &s->harvest_peer_time_ms, err)) != 0)
    goto fail;
  if ((rc = check_lifecycle_keys(c, path, err)) != 0)
    goto fail;
  if ((rc = tg_conf_get_ms(c, "provenance", "sth_interval", 10 * 1000, &s->prov_sth_interval_ms,
                           err)) != 0)
    goto fail;
  if ((rc = tg_conf_get_ms(c, "provenance", "sync_interval", 1000, &s->prov_sync_interval_ms,
                           err)) != 0)
    goto fail;
  if ((rc = tg_backends_load(c, &s->backends, &s->nbackends, err)) != 0)
    goto fail;
  tg_node_path(key, sizeof(key), dir, TG_NODE_KEY);
  tg_node_path(cert, sizeof(cert), dir, TG_NODE_CERT);
  tg_node_path(ca, sizeof(ca), dir, TG_NODE_CA);
  tg_node_path(crl, sizeof(crl), dir, TG_NODE_CRL);
  const char *pl = tg_conf_get(c, "provenance", "log");
  if (pl != NULL && strcmp(pl, "on") != 0 && strcmp(pl, "off") != 0) {
    rc = tg_err_set(err, TG_EINVAL, "%s: [provenance] log = %s: expected on or off", path, pl);
    goto fail;
  }
  s->prov_log = pl == NULL || strcmp(pl, "on") == 0;
  const char *tk = tg_conf_get(c, "tls", "session_tickets");
  if (tk != NULL && strcmp(tk, "on") != 0 && strcmp(tk, "off") != 0) {
    rc = tg_err_set(err, TG_EINVAL, "%s: [tls] session_tickets = %s: expected on or off", path, tk);
    goto fail;
  }
  struct tg_tls_files f = {key, cert, ca, crl, tk == NULL || strcmp(tk, "on") == 0};
  if ((rc = tg_tls_server_ctx(&f, &s->http.tls, err)) != 0)
    goto fail;
  if ((rc = tg_tls_cert_fingerprint(cert, s->fingerprint, err)) != 0)
    goto fail;
  load_expiry(s, cert, ca, crl);
  snprintf(s->dir, sizeof(s->dir), "%s", dir);
  tg_node_path(path, sizeof(path), dir, TG_NODE_TOKEN);
  char *tok = NULL;
  struct tg_err terr;
  tg_err_clear(&terr);
  int trc = tg_file_read(path, 256, &tok, NULL, &terr);
  /* No admin.token is a node without admin access; one that cannot be read
   * refuses every admin request, and says why here. */
  if (trc != 0 && trc != TG_ENOENT)
    tg_log_warn("%s; admin requests are refused", tg_err_msg(&terr, trc));
  if (trc == 0) {
    size_t tl = strcspn(tok, "\r\n");
    s->has_admin_token = tl > 0 && EVP_Digest(tok, tl, s->admin_token_sha256, NULL,
                                              EVP_sha256(), NULL) == 1;
    OPENSSL_cleanse(tok, strlen(tok));
    free(tok);
  }
  tg_conf_free(c);
  *out = s;
  return 0;
fail:
  /* A bad value's message ("line 7: [limits] ...", "[log] level ...") gets
   * the file's name in front, as PATH:LINE: like the schema's errors. */
  if (err != NULL && (strncmp(err->msg, "line ", 5) == 0 || err->msg[0] == '[')) {
    char m[sizeof(err->msg)];
    int line = 0, skip = 0;
    if (sscanf(err->msg, "line %d: %n", &line, &skip) < 1 || skip == 0)
      line = skip = 0;
    snprintf(m, sizeof(m), "%s", err->msg + skip);
    if (line > 0)
      tg_err_set(err, rc, "%s:%d: %s", path, line, m);
    else
      tg_err_set(err, rc, "%s: %s", path, m);
  }
  tg_conf_free(c);
  SSL_CTX_free(s->http.tls);
  free(s->backends);
  free(s);
  return rc;
}

/* Debug routes are off unless the configuration turns them on. */
static _Atomic int tg__debug_routes;
int tg_server_debug_routes(void) { return atomic_load(&tg__debug_routes); }

void tg_settings_debug_load(const char *dir) {
  char path[4096];
  struct tg_conf *c = NULL;
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  if (tg_conf_load(path, &c, NULL) == 0) {
    const char *v = tg_conf_get(c, "debug", "test_routes");
    atomic_store(&tg__debug_routes, v && strcmp(v, "on") == 0);
    tg_conf_free(c);
  }
}
