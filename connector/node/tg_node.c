/* tg_node: creating and opening a node's state directory. */
#include "tg_node.h"
#include "tg_cert.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_util.h"
#include "tg_voc_store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The connector's own tables. Other components migrate their own. */
static const struct tg_db_migration tg__node_schema[] = {
  {1, "CREATE TABLE node_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE peers(node_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
      " fingerprint TEXT, added_at INTEGER NOT NULL, last_contact INTEGER,"
      " latency_ms INTEGER, status TEXT NOT NULL DEFAULT 'active');"},
  /* The serial of the certificate a peer last showed: a revocation in the
   * CRL then reaches a peer that cannot be reached (tg_fed_peers_revoked). */
  {2, "ALTER TABLE peers ADD COLUMN serial TEXT;"},
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

int tg_node_host_wildcard(const char *host) {
  unsigned char a[16], zero[16] = {0};
  if (host[0] == '\0')
    return 1;
  if (inet_pton(AF_INET, host, a) == 1)
    return memcmp(a, zero, 4) == 0;
  return inet_pton(AF_INET6, host, a) == 1 && memcmp(a, zero, 16) == 0;
}

int tg_node_host_loopback(const char *host) {
  static const unsigned char v6_loop[16] = {[15] = 1};
  static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
  unsigned char a[16];
  size_t l = strlen(host);
  if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0 ||
      (l > 10 && strcasecmp(host + l - 10, ".localhost") == 0))
    return 1;
  if (inet_pton(AF_INET, host, a) == 1)
    return a[0] == 127;
  if (inet_pton(AF_INET6, host, a) == 1)
    return memcmp(a, v6_loop, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
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

int tg_node_harvest_db_open(const char *dir, sqlite3 **out, struct tg_err *err) {
  char path[4096];
  if (tg_node_path(path, sizeof(path), dir, TG_NODE_HARVEST_DB))
    return tg_err_set(err, TG_ETOOBIG, "path too long");
  int rc = tg_db_open(path, 1, out, err);
  /* The harvested index is derived data, rebuilt from the peers' feeds: a
   * commit need not be on disk before the next page is fetched. In WAL mode
   * synchronous=NORMAL still never corrupts the file (not on kill -9, nor on
   * power loss); the most a crash costs is the last pages, and their
   * hv_source.last_seq rolls back with them, so the next round fetches
   * them again. It saves an fsync per page. */
  if (rc == 0 && (rc = tg_db_exec(*out, "PRAGMA synchronous=NORMAL", err)) != 0) {
    tg_db_close(*out);
    *out = NULL;
  }
  return rc;
}

/* The first of the comma-separated HOSTS that peers could reach (not a
 * wildcard, not loopback) into OUT (size N); 0, or TG_ENOENT. */
static int reachable_host(const char *hosts, char *out, size_t n) {
  for (const char *p = hosts; p && *p;) {
    size_t l = strcspn(p, ",");
    if (l > 0 && l < n) {
      memcpy(out, p, l);
      out[l] = '\0';
      if (!tg_node_host_wildcard(out) && !tg_node_host_loopback(out))
        return 0;
    }
    p += l + (p[l] == ',');
  }
  return TG_ENOENT;
}

static int write_conf(const struct tg_node_init_opts *o, const char *dir, const char *host,
                      int port, struct tg_err *err) {
  char path[4096], text[4096], name[256], url[600];
  /* --hosts names how peers reach the node: its first reachable name and
   * the listen port become [node] url, which register enrols with (a
   * wildcard listen address reaches nobody). */
  if (o->hosts != NULL && port != 0 && reachable_host(o->hosts, name, sizeof(name)) == 0)
    snprintf(url, sizeof(url), "# how peers reach it (from --hosts)\nurl = https://%s%s%s:%d\n",
             strchr(name, ':') ? "[" : "", name, strchr(name, ':') ? "]" : "", port);
  else
    snprintf(url, sizeof(url),
             "# url = https://tsunagu.example.lg.jp:8443  # how peers reach it\n");
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  int n = snprintf(text, sizeof(text),
                   "# tsunagu node configuration (see tsunagud(8)).\n"
                   "[node]\n"
                   "id = %s\n"
                   "name = %s\n"
                   "# federation = river-basin\n"
                   "%s"
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
                   "# handshake_timeout = 10s   # from accept\n"
                   "# header_timeout = 10s      # from the head's first byte\n"
                   "# body_timeout = 30s\n"
                   "# idle_timeout = 60s\n"
                   "# min_rate = 1k             # bytes/s of a body or a reader (0: off)\n"
                   "# output_buffer = 256k      # pending output that stops parsing\n"
                   "# connections = 20000\n"
                   "# connections_per_client = 256\n"
                   "# drain_timeout = 10s\n"
                   "\n"
                   "[federation]\n"
                   "# hub = https://hub.example:8443   # set by tsunagu register\n"
                   "# crl_refresh = 5m\n"
                   "# peer_check = 5m   # check every peer over mTLS (0: off)\n"
                   "# renew = on        # renew node.crt from the hub at 2/3 of its life\n"
                   "# renew_check = 1h\n"
                   "\n"
                   "# [ca]\n"
                   "# To serve the federation CA from this node, keep it in DIR/ca: inside\n"
                   "# the state directory, the one place the systemd unit lets the node write.\n"
                   "# dir = ca\n"
                   "# register_failures = 10           # refused enrolments per address and\n"
                   "# register_window = 1m             #   window before 429\n"
                   "# validity = 90d                   # of certificates issued by register/renew\n"
                   "# crl_watch = 2s                   # apply the CA's own revocations at once\n"
                   "\n"
                   "# A backend of distributed datasets: credentials and timeouts by origin.\n"
                   "# [backend.river]\n"
                   "# origin = https://water.a-city.example:8443\n"
                   "# header = X-Api-Key: ...           # or basic = user:password\n"
                   "# first_byte_timeout = 30s\n"
                   "# idle_timeout = 30s\n"
                   "\n"
                   "[log]\n"
                   "# level = info\n"
                   "# access = on\n",
                   o->id, o->name ? o->name : o->id, url, strchr(host, ':') ? "[" : "", host,
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

/* The files of a node directory; any of them without tsunagu.conf is what an
 * interrupted init of an older tsunagu left. */
static const char *const node_files[] = {TG_NODE_CONF, TG_NODE_KEY, TG_NODE_CERT, TG_NODE_TOKEN,
                                         TG_NODE_DB, NULL};

/* Checks an existing DIR (ST) before a node is made in it: a directory of
 * this user holding no node files. */
static int check_existing(const char *dir, const struct stat *st, struct tg_err *err) {
  char path[4096];
  struct stat fst;
  if (!S_ISDIR(st->st_mode))
    return tg_err_set(err, TG_EEXIST, "%s exists and is not a directory", dir);
  if (st->st_uid != geteuid())
    return tg_err_set(err, TG_EPERM,
                      "%s belongs to uid %u, not to you (uid %u): its owner could replace the "
                      "node's key; run init as that user or give the directory to this one",
                      dir, (unsigned)st->st_uid, (unsigned)geteuid());
  for (int i = 0; node_files[i]; i++) {
    if (tg_node_path(path, sizeof(path), dir, node_files[i]) != 0)
      return tg_err_set(err, TG_ETOOBIG, "path too long");
    if (lstat(path, &fst) != 0)
      continue;
    if (i == 0)
      return tg_err_set(err, TG_EEXIST,
                        "%s already holds a node (%s exists); refusing to overwrite", dir, path);
    return tg_err_set(err, TG_EEXIST,
                      "%s holds %s but no %s: an unfinished node from an interrupted init; "
                      "refusing to overwrite it (move the directory aside and run init again)",
                      dir, node_files[i], TG_NODE_CONF);
  }
  return 0;
}

/* Writes every file of the node described by O into the empty directory DIR. */
static int build_node(const struct tg_node_init_opts *o, const char *dir, const char *host,
                      int port, struct tg_err *err) {
  char path[4096], hosts[1024];
  EVP_PKEY *key = NULL;
  X509 *cert = NULL;
  int rc;
  if ((rc = tg_cert_key_new(&key, err)) != 0)
    return rc;
  /* A wildcard listen address is no address of the node's: loopback in its
   * place (the bootstrap certificate serves local clients until register). */
  const char *self =
      strcmp(host, "localhost") == 0 || tg_node_host_wildcard(host) ? "127.0.0.1" : host;
  snprintf(hosts, sizeof(hosts), "localhost,%s%s%s", self, o->hosts ? "," : "",
           o->hosts ? o->hosts : "");
  tg_node_path(path, sizeof(path), dir, TG_NODE_KEY);
  if ((rc = tg_cert_key_save(key, path, err)) != 0)
    goto out;
  if ((rc = tg_cert_self_signed(key, o->id, hosts, 365, &cert, err)) != 0)
    goto out;
  tg_node_path(path, sizeof(path), dir, TG_NODE_CERT);
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
  tg_node_path(path, sizeof(path), dir, TG_NODE_TOKEN);
  if ((rc = tg_file_write(path, token, 65, 0600, 1, err)) != 0)
    goto out;

  sqlite3 *db = NULL;
  if ((rc = tg_node_db_open(dir, &db, err)) != 0)
    goto out;
  rc = import_shipped_schemes(db, err);
  tg_db_close(db);
  if (rc)
    goto out;
  rc = write_conf(o, dir, host, port, err);
out:
  X509_free(cert);
  EVP_PKEY_free(key);
  return rc;
}

/* Calls FN(DIR, NAME, ARG) for each entry of the flat directory DIR but
 * "." and ".."; stops at the first non-zero result and returns it. */
static int each_entry(const char *dir, int (*fn)(const char *, const char *, void *), void *arg) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int rc = 0;
  if (d == NULL)
    return TG_EIO;
  while (rc == 0 && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      rc = fn(dir, e->d_name, arg);
  closedir(d);
  return rc;
}

static int sync_one(const char *dir, const char *name, void *arg) {
  char path[4096];
  (void)arg;
  if (tg_node_path(path, sizeof(path), dir, name) != 0)
    return TG_ETOOBIG;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  int rc = fd >= 0 && fsync(fd) == 0 ? 0 : TG_EIO;
  if (fd >= 0)
    close(fd);
  return rc;
}

static int unlink_one(const char *dir, const char *name, void *arg) {
  char path[4096];
  (void)arg;
  if (tg_node_path(path, sizeof(path), dir, name) == 0)
    unlink(path);
  return 0;
}

/* Moves DIR/NAME to DEST/NAME, refusing to replace anything; tsunagu.conf is
 * skipped (moved last by the caller: it marks a complete node). */
static int move_one(const char *dir, const char *name, void *dest) {
  char from[4096], to[4096];
  if (strcmp(name, TG_NODE_CONF) == 0)
    return 0;
  if (tg_node_path(from, sizeof(from), dir, name) != 0 ||
      tg_node_path(to, sizeof(to), dest, name) != 0)
    return TG_ETOOBIG;
  return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0 ? 0 : TG_EIO;
}

/* Removes the build directory TMP and what is in it. */
static void remove_build(const char *tmp) {
  each_entry(tmp, unlink_one, NULL);
  rmdir(tmp);
}

/* Puts the complete node in TMP at DIR: when DIR did not exist (EXISTED 0)
 * by renaming TMP itself, atomically; else entry by entry, tsunagu.conf last.
 * Everything is on disk (fsync) before the first rename. */
static int install_node(const char *tmp, const char *dir, int existed, struct tg_err *err) {
  char from[4096], to[4096];
  int synced = each_entry(tmp, sync_one, NULL) == 0;
  int fd = synced ? open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  synced = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  if (!synced)
    return tg_err_set(err, TG_EIO, "cannot sync %s: %s", tmp, strerror(errno));
  if (!existed) {
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) != 0)
      return tg_err_set(err, errno == EEXIST ? TG_EEXIST : TG_EIO, "cannot rename %s to %s: %s",
                        tmp, dir, strerror(errno));
    tg_file_sync_dir(dir); /* the rename reaches the disk */
    return 0;
  }
  if (each_entry(tmp, move_one, (void *)dir) != 0)
    return tg_err_set(err, TG_EIO, "cannot move the node's files from %s into %s: %s", tmp, dir,
                      strerror(errno));
  if (tg_node_path(from, sizeof(from), tmp, TG_NODE_CONF) != 0 ||
      tg_node_path(to, sizeof(to), dir, TG_NODE_CONF) != 0 ||
      renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0)
    return tg_err_set(err, TG_EIO, "cannot move %s into %s: %s", TG_NODE_CONF, dir,
                      strerror(errno));
  rmdir(tmp);
  tg_file_sync_dir(to);
  return 0;
}

int tg_node_init(const struct tg_node_init_opts *o, struct tg_err *err) {
  char host[256], tmp[4200], parent[4096], base[1024];
  int port = 8443, rc, existed;
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
  if (strlen(o->dir) >= sizeof(parent) - 64)
    return tg_err_set(err, TG_ETOOBIG, "path too long");
  existed = stat(o->dir, &st) == 0;
  if (!existed && errno != ENOENT)
    return tg_err_set(err, TG_EIO, "cannot use %s: %s", o->dir, strerror(errno));
  if (existed && (rc = check_existing(o->dir, &st, err)) != 0)
    return rc;
  /* A state directory holds the node's key: only its owner may list or
   * change it. An existing one with looser permissions is tightened. */
  if (existed && (st.st_mode & 077) != 0 && chmod(o->dir, 0700) != 0)
    return tg_err_set(err, TG_EIO, "cannot make %s private (chmod 700): %s", o->dir,
                      strerror(errno));
  /* The node is built in a private temporary directory and moved into
   * place only when complete: a failure (a full disk) leaves nothing that
   * stops the next init or looks like a node to the daemon. Beside DIR when
   * DIR does not exist yet (one atomic rename), else inside it. */
  snprintf(parent, sizeof(parent), "%s", o->dir);
  snprintf(base, sizeof(base), "%s", basename(parent));
  snprintf(parent, sizeof(parent), "%s", o->dir);
  if (existed)
    snprintf(tmp, sizeof(tmp), "%s/.init-XXXXXX", o->dir);
  else
    snprintf(tmp, sizeof(tmp), "%s/.%s.init-XXXXXX", dirname(parent), base);
  if (mkdtemp(tmp) == NULL)
    return tg_err_set(err, TG_EIO, "cannot create %s: %s", tmp, strerror(errno));
  rc = build_node(o, tmp, host, port, err);
  if (rc == 0)
    rc = install_node(tmp, o->dir, existed, err);
  if (rc != 0)
    remove_build(tmp);
  return rc;
}
