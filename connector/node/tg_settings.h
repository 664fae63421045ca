/* tg_settings: the node's settings from tsunagu.conf and its TLS material, as
 * a refcounted object that SIGHUP replaces whole, and the current one. */
#ifndef TG_SETTINGS_H
#define TG_SETTINGS_H

#include <stdatomic.h>
#include <stdint.h>

#include "tg_http_server.h"
#include "tg_oauth.h"

struct tg_err;

/* [retention]: how long an accumulated dataset keeps its records. */
struct tg_retention {
  char local[65];   /* the dataset's local id; "" for the default */
  uint64_t keep;    /* keep at most this many records (newest by time); 0 = no count limit */
  uint64_t age_ms;  /* delete records observed longer ago; 0 = no age limit */
};
#define TG_RETENTION_MAX 128

/* What expires among the node's TLS material: its certificate, the
 * federation CA's certificate and the installed CRL (its nextUpdate). */
enum tg_expiry_which { TG_EXPIRY_NODE, TG_EXPIRY_CA, TG_EXPIRY_CRL, TG_EXPIRY_N };
/* A warning is due this long before an expiry (/healthz, tsunagu info). */
#define TG_EXPIRY_WARN_S (14 * 86400)
/* "node", "ca", "crl": the label of W in /metrics and /healthz. */
const char *tg_expiry_name(int w);

/* Limits and knobs read from tsunagu.conf; replaced whole on SIGHUP. */
struct tg_backend;

struct tg_settings {
  _Atomic int refs;
  uint64_t gen; /* 1, 2, ...: which load this is (set when it becomes current) */
  char node_id[64];
  char node_name[128];
  char federation[128];
  char url[520]; /* [node] url: how peers reach this node ("" = from [http] listen) */
  char listen_host[256];
  int listen_port;
  int workers;
  struct tg_http_limits http;  /* what the HTTP engine enforces ([limits], the TLS
                                  context in http.tls, owned: SSL_CTX_free on release) */
  uint64_t route_body[128];    /* [limits] body_bytes.<route> overrides; 0 = none */
  uint64_t drain_timeout_ms;   /* [limits] drain_timeout */
  int access_log;              /* [log] access = on|off */
  char fingerprint[65];        /* SHA-256 of node.crt */
  /* Unix time at which each expires (tg_expiry_which), read from the files
   * once with these settings; 0 when the node has no such file. */
  int64_t expiry[TG_EXPIRY_N];
  char dir[4096];              /* the node's state directory */
  int has_admin_token;
  unsigned char admin_token_sha256[32]; /* of DIR/admin.token's token */
  struct tg_oauth_conf auth;   /* [auth]: the identity provider, anonymous scopes */
  uint64_t peer_check_ms;      /* [federation] peer_check: 0 = off */
  uint64_t harvest_interval_ms; /* [federation] harvest_interval: peers' feeds, 0 = off */
  uint64_t harvest_peer_time_ms; /* [federation] harvest_peer_time: one peer's share of a round */
  uint64_t prov_sth_interval_ms; /* [provenance] sth_interval: tree heads, 0 = on demand only */
  uint64_t prov_sync_interval_ms; /* [provenance] sync_interval: log synced to disk, 0 = each batch */
  int prov_log;                  /* [provenance] log = on (default) | off: no log at all */
  struct tg_backend *backends; /* [backend.NAME] sections (from malloc; tg_backends.h) */
  size_t nbackends;
  struct tg_retention retention_default;           /* [retention] default (off) */
  struct tg_retention retention[TG_RETENTION_MAX]; /* [retention] <local-id> = ... */
  int nretention;
  uint64_t retention_interval_ms; /* [retention] interval (1m) */
};

/* The retention of the dataset with local id LOCAL in S (borrowed from S). */
const struct tg_retention *tg_settings_retention(const struct tg_settings *s, const char *local);

/* Takes a reference to the current settings (release with tg_settings_put). */
struct tg_settings *tg_settings_get(void);
void tg_settings_put(struct tg_settings *s);
/* The generation of the current settings (gen), without taking a reference. */
uint64_t tg_settings_generation(void);
/* Makes S (a new reference, stolen; NULL at exit) the current settings and
 * gives it the next generation; drops the reference to the previous ones. */
void tg_settings_swap(struct tg_settings *s);
/* Reads DIR/tsunagu.conf and the TLS material into new settings. */
int tg_settings_load(const char *dir, struct tg_settings **out, struct tg_err *err);

/* The routing table's size and names, registered by the application before
 * any settings are loaded: [limits] body_bytes.<name> and the metrics' route
 * labels use them. NAME must answer for the process's life. */
void tg_settings_routes(int count, const char *(*name)(int i));
int tg_settings_route_count(void);
/* The name of route I, or "none". */
const char *tg_settings_route_name(int i);

/* [debug] test_routes: read from DIR's configuration (at start and reload). */
void tg_settings_debug_load(const char *dir);
/* Whether test-only routes answer. */
int tg_server_debug_routes(void);

#endif
