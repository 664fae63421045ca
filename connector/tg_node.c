/* tg_node: creating and opening a node's state directory. */
#include "tg_node.h"
#include "tg_cert.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_util.h"
#include "tg_voc_store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The connector's own tables. Other components migrate their own. */
static const struct tg_db_migration tg__node_schema[] = {
  {1, "CREATE TABLE node_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE peers(node_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
      " fingerprint TEXT, added_at INTEGER NOT NULL, last_contact INTEGER,"
      " latency_ms INTEGER, status TEXT NOT NULL DEFAULT 'active');"},
};

int tg_node_path(char *out, size_t n, const char *dir, const char *file) {
  return tg_path_join(out, n, dir, file);
}

int tg_node_split_hostport(const char *s, char *host, size_t hn, int *port) {
  const char *colon;
  uint64_t p;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return TG_EINVAL;
    if ((size_t)(close - s - 1) >= hn)
      return TG_EINVAL;
    memcpy(host, s + 1, (size_t)(close - s - 1));
    host[close - s - 1] = '\0';
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= hn || colon == s)
      return TG_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
  }
  if (tg_parse_u64(colon + 1, 65535, &p))
    return TG_EINVAL;
  *port = (int)p;
  return 0;
}

int tg_node_db_open(const char *dir, sqlite3 **out, struct tg_err *err) {
  char path[4096];
  sqlite3 *db;
  if (tg_node_path(path, sizeof(path), dir, TG_NODE_DB))
    return tg_err_set(err, TG_ETOOBIG, "path too long");
  int rc = tg_db_open(path, 1, &db, err);
  if (rc)
    return rc;
  rc = tg_db_migrate(db, "node", tg__node_schema,
                     (int)(sizeof(tg__node_schema) / sizeof(tg__node_schema[0])), err);
  if (rc) {
    tg_db_close(db);
    return rc;
  }
  *out = db;
  return 0;
}

static int write_conf(const struct tg_node_init_opts *o, const char *host, int port,
                      struct tg_err *err) {
  char path[4096], text[4096];
  tg_node_path(path, sizeof(path), o->dir, TG_NODE_CONF);
  int n = snprintf(text, sizeof(text),
                   "# tsunagu node configuration (see tsunagud(8)).\n"
                   "[node]\n"
                   "id = %s\n"
                   "name = %s\n"
                   "# federation = river-basin\n"
                   "# url = https://tsunagu.example.lg.jp:8443  # how peers reach it\n"
                   "\n"
                   "[http]\n"
                   "listen = %s%s%s:%d\n"
                   "# workers = 0        # 0: one per CPU core\n"
                   "\n"
                   "[auth]\n"
                   "# issuer = https://idp.example.lg.jp/realms/city   # OAuth 2.0 bearer JWTs\n"
                   "# audience = urn:tsunagu:%s\n"
                   "# jwks_uri = https://idp.example.lg.jp/realms/city/protocol/openid-connect/certs\n"
                   "# anonymous = catalog:read   # or none\n"
                   "\n"
                   "[limits]\n"
                   "# header_bytes = 16k\n"
                   "# body_bytes = 1m\n"
                   "# header_timeout = 10s\n"
                   "# body_timeout = 30s\n"
                   "# idle_timeout = 60s\n"
                   "# connections = 20000\n"
                   "# connections_per_client = 256\n"
                   "# drain_timeout = 10s\n"
                   "\n"
                   "[federation]\n"
                   "# hub = https://hub.example:8443   # set by tsunagu register\n"
                   "# crl_refresh = 5m\n"
                   "# peer_check = 5m   # check every peer over mTLS (0: off)\n"
                   "\n"
                   "# [ca]\n"
                   "# dir = /var/lib/tsunagu/ca        # serve the federation CA from this node\n"
                   "\n"
                   "[log]\n"
                   "# level = info\n"
                   "# access = on\n",
                   o->id, o->name ? o->name : o->id, strchr(host, ':') ? "[" : "", host,
                   strchr(host, ':') ? "]" : "", port, o->id);
  if (n < 0 || (size_t)n >= sizeof(text))
    return tg_err_set(err, TG_ETOOBIG, "configuration too long");
  return tg_file_write(path, text, (size_t)n, 0644, 1, err);
}

/* The shipped concept schemes (vocab/schemes/NAME.jsonld): the first directory of
 * $TSUNAGU_DATADIR/schemes, the installed $(pkgdatadir)/schemes and, for builds
 * that are not installed, the source tree's vocab/schemes that holds any. */
static int find_schemes_dir(char *out, size_t n) {
  const char *env = getenv("TSUNAGU_DATADIR");
  const char *cand[3] = {NULL, TG_DATADIR "/schemes", NULL};
  char envdir[4096];
  if (env && *env && tg_path_join(envdir, sizeof(envdir), env, "schemes") == 0)
    cand[0] = envdir;
#ifdef TG_SRCDIR
  cand[2] = TG_SRCDIR "/vocab/schemes";
#endif
  for (int i = 0; i < 3; i++) {
    struct dirent **names = NULL;
    if (cand[i] == NULL)
      continue;
    int k = scandir(cand[i], &names, NULL, alphasort), found = 0;
    for (int j = 0; j < k; j++) {
      size_t l = strlen(names[j]->d_name);
      found |= l > 7 && strcmp(names[j]->d_name + l - 7, ".jsonld") == 0;
      free(names[j]);
    }
    free(names);
    if (found) {
      snprintf(out, n, "%s", cand[i]);
      return 0;
    }
  }
  return TG_ENOENT;
}

/* Imports every shipped scheme into the new node's database DB. */
static int import_shipped_schemes(sqlite3 *db, struct tg_err *err) {
  char dir[4096], path[4096];
  struct tg_voc_store *vs = NULL;
  struct dirent **names = NULL;
  if (find_schemes_dir(dir, sizeof(dir)))
    return tg_err_set(err, TG_ENOENT,
                      "the shipped vocabularies are not in %s/schemes; set TSUNAGU_DATADIR to "
                      "the directory that holds schemes/",
                      TG_DATADIR);
  int rc = tg_voc_store_open(db, &vs, err);
  int k = rc ? 0 : scandir(dir, &names, NULL, alphasort);
  for (int j = 0; j < k; j++) {
    const char *f = names[j]->d_name;
    size_t l = strlen(f);
    if (rc == 0 && l > 7 && strcmp(f + l - 7, ".jsonld") == 0) {
      char *text = NULL;
      size_t len = 0;
      json_error_t je;
      json_t *doc = NULL;
      if (tg_path_join(path, sizeof(path), dir, f))
        rc = tg_err_set(err, TG_ETOOBIG, "path too long");
      else if ((rc = tg_file_read(path, 64u << 20, &text, &len, err)) == 0 &&
               (doc = json_loadb(text, len, 0, &je)) == NULL)
        rc = tg_err_set(err, TG_EINVAL, "%s: %s", path, je.text);
      if (rc == 0 && (rc = tg_voc_scheme_import(vs, doc, 0, NULL, NULL, NULL, err)) != 0) {
        if (err) {
          struct tg_err why = *err;
          tg_err_set(err, rc, "%s: %s", path, tg_err_msg(&why, rc));
        }
      }
      json_decref(doc);
      free(text);
    }
    free(names[j]);
  }
  free(names);
  tg_voc_store_close(vs);
  return rc;
}

int tg_node_init(const struct tg_node_init_opts *o, struct tg_err *err) {
  char path[4096], host[256], hosts[1024];
  int port = 8443, rc;
  struct stat st;
  if (!tg_node_id_valid(o->id))
    return tg_err_set(err, TG_EINVAL,
                      "invalid node id '%s': use 1-63 lowercase letters, digits and '-', "
                      "not starting or ending with '-'",
                      o->id);
  if (o->name && (strchr(o->name, '\n') || strlen(o->name) > 120))
    return tg_err_set(err, TG_EINVAL, "invalid node name");
  snprintf(host, sizeof(host), "127.0.0.1");
  if (o->listen && tg_node_split_hostport(o->listen, host, sizeof(host), &port))
    return tg_err_set(err, TG_EINVAL, "invalid --listen '%s': expected HOST:PORT", o->listen);
  if (mkdir(o->dir, 0700) != 0 && errno != EEXIST)
    return tg_err_set(err, TG_EIO, "cannot create %s: %s", o->dir, strerror(errno));
  if (tg_node_path(path, sizeof(path), o->dir, TG_NODE_CONF))
    return tg_err_set(err, TG_ETOOBIG, "path too long");
  if (stat(path, &st) == 0)
    return tg_err_set(err, TG_EEXIST, "%s already holds a node (%s exists); refusing to overwrite",
                      o->dir, path);
  tg_node_path(path, sizeof(path), o->dir, TG_NODE_KEY);
  if (stat(path, &st) == 0)
    return tg_err_set(err, TG_EEXIST, "%s already holds a node key; refusing to overwrite", o->dir);

  EVP_PKEY *key = NULL;
  X509 *cert = NULL;
  if ((rc = tg_cert_key_new(&key, err)) != 0)
    return rc;
  snprintf(hosts, sizeof(hosts), "localhost,%s%s%s", strcmp(host, "localhost") ? host : "127.0.0.1",
           o->hosts ? "," : "", o->hosts ? o->hosts : "");
  if ((rc = tg_cert_key_save(key, path, err)) != 0)
    goto out;
  if ((rc = tg_cert_self_signed(key, o->id, hosts, 365, &cert, err)) != 0)
    goto out;
  tg_node_path(path, sizeof(path), o->dir, TG_NODE_CERT);
  if ((rc = tg_cert_save(cert, path, err)) != 0)
    goto out;

  unsigned char raw[32];
  char token[65];
  if (tg_random_bytes(raw, sizeof(raw))) {
    rc = tg_err_set(err, TG_EIO, "no randomness for the admin token");
    goto out;
  }
  tg_hex(raw, sizeof(raw), token);
  token[64] = '\n';
  tg_node_path(path, sizeof(path), o->dir, TG_NODE_TOKEN);
  if ((rc = tg_file_write(path, token, 65, 0600, 1, err)) != 0)
    goto out;

  sqlite3 *db = NULL;
  if ((rc = tg_node_db_open(o->dir, &db, err)) != 0)
    goto out;
  rc = import_shipped_schemes(db, err);
  tg_db_close(db);
  if (rc)
    goto out;
  /* The configuration goes last: its presence marks a complete node. */
  rc = write_conf(o, host, port, err);
out:
  X509_free(cert);
  EVP_PKEY_free(key);
  return rc;
}
