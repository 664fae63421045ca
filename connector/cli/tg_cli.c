/* tg_cli: the CLI's shared plumbing and the node commands (init, info,
 * health, metrics). */
#include "tg_buf.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_node.h"
#include "tg_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

int tg_cli_fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "tsunagu: %s\n", msg);
  return 1;
}

int tg_cli_usage(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "tsunagu %s\n", msg);
  return 2;
}

int tg_cli_node_dir(struct tg_cli *cli) {
  struct stat st;
  if (cli->dir != NULL || cli->url != NULL) {
    if (cli->node_from == NULL)
      cli->node_from = cli->url != NULL ? "--url" : "--dir";
    return 0;
  }
  const char *env = getenv("TSUNAGU_DIR");
  if (env != NULL && *env) {
    cli->dir = env;
    cli->node_from = "TSUNAGU_DIR";
    return 0;
  }
  env = getenv("TSUNAGU_URL");
  if (env != NULL && *env) {
    cli->url = env;
    cli->node_from = "TSUNAGU_URL";
    return 0;
  }
  /* The current directory, when it is a node's. */
  if (stat(TG_NODE_CONF, &st) == 0 && S_ISREG(st.st_mode) &&
      getcwd(cli->dir_buf, sizeof(cli->dir_buf) - 200) != NULL) {
    cli->dir = cli->dir_buf;
    cli->node_from = "the current directory";
  }
  return 0;
}

/* DIR must be a node's directory: exit status TG_CLI_EUNREACH otherwise. */
static int node_dir_check(const struct tg_cli *cli) {
  struct stat st;
  char path[4096];
  if (stat(cli->dir, &st) != 0)
    return fprintf(stderr, "tsunagu: the node directory %s does not exist (from %s)\n", cli->dir,
                   cli->node_from),
           TG_CLI_EUNREACH;
  if (!S_ISDIR(st.st_mode))
    return fprintf(stderr, "tsunagu: %s is not a directory (from %s)\n", cli->dir, cli->node_from),
           TG_CLI_EUNREACH;
  tg_node_path(path, sizeof(path), cli->dir, TG_NODE_CONF);
  if (access(path, F_OK) != 0)
    return fprintf(stderr, "tsunagu: %s is not a node directory (no %s; create one with tsunagu "
                           "init)\n", cli->dir, TG_NODE_CONF),
           TG_CLI_EUNREACH;
  return 0;
}

/* Reads the token from FILE into CLI; 0, or 1 when FILE cannot be read. */
static int token_read(struct tg_cli *cli, const char *file) {
  char *tok = NULL;
  if (tg_file_read(file, sizeof(cli->token) - 1, &tok, NULL, NULL) != 0)
    return 1;
  tok[strcspn(tok, "\r\n")] = '\0';
  snprintf(cli->token, sizeof(cli->token), "%s", tok);
  OPENSSL_cleanse(tok, strlen(tok));
  free(tok);
  snprintf(cli->token_path, sizeof(cli->token_path), "%s", file);
  return 0;
}

/* The token: --token-file, else TSUNAGU_TOKEN (an OAuth token from the
 * environment, never from argv, where ps shows it), else DIR/admin.token (a
 * missing one is no error). */
static int token_find(struct tg_cli *cli) {
  char path[4096];
  const char *env = getenv("TSUNAGU_TOKEN");
  cli->token[0] = '\0';
  cli->token_from = NULL;
  if (cli->token_file != NULL) {
    if (token_read(cli, cli->token_file) != 0) /* named and unreadable: no silent anonymous call */
      return tg_cli_fail("cannot read the token file %s (missing, unreadable or over %zu bytes)",
                         cli->token_file, sizeof(cli->token) - 1);
    cli->token_from = "--token-file";
    return 0;
  }
  if (env != NULL && *env) {
    if (strlen(env) >= sizeof(cli->token))
      return tg_cli_fail("TSUNAGU_TOKEN is longer than %zu bytes", sizeof(cli->token) - 1);
    snprintf(cli->token, sizeof(cli->token), "%s", env);
    cli->token_from = "TSUNAGU_TOKEN";
    return 0;
  }
  if (cli->dir != NULL) {
    tg_node_path(path, sizeof(path), cli->dir, TG_NODE_TOKEN);
    if (token_read(cli, path) == 0)
      cli->token_from = "DIR/admin.token";
  }
  return 0;
}

int tg_cli_resolve(struct tg_cli *cli) {
  char path[4096];
  int rc;
  tg_cli_node_dir(cli);
  if (cli->url == NULL && cli->dir == NULL)
    return fprintf(stderr, "tsunagu: no node given: use --dir DIR or --url URL, set TSUNAGU_DIR "
                           "or TSUNAGU_URL, or run in the node's directory\n"),
           TG_CLI_EUSAGE;
  if (cli->dir != NULL && (rc = node_dir_check(cli)) != 0)
    return rc;
  if (cli->url == NULL) {
    char *addr = NULL;
    tg_node_path(path, sizeof(path), cli->dir, TG_NODE_ADDR);
    if (tg_file_read(path, 512, &addr, NULL, NULL) != 0) {
      fprintf(stderr, "tsunagu: the node in %s is not running (no %s); start it with tsunagud -D %s\n",
              cli->dir, TG_NODE_ADDR, cli->dir);
      return TG_CLI_EUNREACH;
    }
    addr[strcspn(addr, "\r\n")] = '\0';
    int w = snprintf(cli->url_buf, sizeof(cli->url_buf), "https://%s", addr);
    free(addr);
    if (w < 0 || (size_t)w >= sizeof(cli->url_buf))
      return tg_cli_fail("the address in %s/%s is too long", cli->dir, TG_NODE_ADDR);
    cli->url = cli->url_buf;
  }
  if (cli->cacert == NULL && cli->dir != NULL) {
    tg_node_path(cli->ca_buf, sizeof(cli->ca_buf), cli->dir, TG_NODE_CERT);
    cli->cacert = cli->ca_buf;
  }
  return token_find(cli);
}

int tg_cli_token_transport(const struct tg_cli *cli) {
  if (cli->token[0] && !tg_client_url_safe(cli->url, 0))
    return tg_cli_fail("refusing to send a bearer token to %s over plain http", cli->url);
  return 0;
}

void tg_cli_print_json(const json_t *j) {
  json_dumpf(j, stdout, JSON_INDENT(2));
  putchar('\n');
}

static void print_problem(int status, json_t *p, const char *raw) {
  const char *title = json_string_value(json_object_get(p, "title"));
  const char *detail = json_string_value(json_object_get(p, "detail"));
  if (title || detail)
    fprintf(stderr, "tsunagu: %d %s%s%s\n", status, title ? title : "", detail ? ": " : "",
            detail ? detail : "");
  else
    fprintf(stderr, "tsunagu: the node answered %d %.200s\n", status, raw ? raw : "");
  json_t *errs = json_object_get(p, "errors");
  size_t i;
  json_t *e;
  json_array_foreach(errs, i, e) {
    /* A field names its JSON pointer; a query parameter its name. */
    const char *at = json_string_value(json_object_get(e, "pointer"));
    fprintf(stderr, "  %s: %s\n", at ? at : json_string_value(json_object_get(e, "parameter")) ?: "",
            json_string_value(json_object_get(e, "detail")) ?: "");
  }
  json_int_t omitted = json_integer_value(json_object_get(p, "errors_omitted"));
  if (omitted > 0)
    fprintf(stderr, "  … and %lld more\n", (long long)omitted);
}

int tg_cli_status_exit(const struct tg_cli *cli, int status) {
  if (status != 401 && status != 403)
    return TG_CLI_EFAIL;
  if (cli->token_from == NULL)
    fprintf(stderr, "tsunagu: no token was sent (none from --token-file, TSUNAGU_TOKEN or "
                    "DIR/admin.token)\n");
  else if (cli->token[0] == '\0')
    fprintf(stderr, "tsunagu: no token was sent (%s %s is empty)\n", cli->token_from,
            cli->token_path);
  else if (strcmp(cli->token_from, "TSUNAGU_TOKEN") == 0)
    fprintf(stderr, "tsunagu: the token came from TSUNAGU_TOKEN (it overrides DIR/admin.token; "
                    "unset it to use the node's admin token)\n");
  else
    fprintf(stderr, "tsunagu: the token came from %s %s\n", cli->token_from, cli->token_path);
  return TG_CLI_EAUTH;
}

/* One blocking request on a private loop, keeping the answer's ETag. */
struct call_run {
  int status, done, rc;
  char errmsg[512];
  struct tg_buf body;
  struct tg_cli_http *h;
};

static int call_head(void *ud, int status, const char *const *headers) {
  struct call_run *r = ud;
  r->status = status;
  for (size_t i = 0; r->h != NULL && headers != NULL && headers[i] != NULL; i++)
    if (strncasecmp(headers[i], "ETag:", 5) == 0) {
      const char *v = headers[i] + 5;
      v += strspn(v, " \t");
      snprintf(r->h->etag, sizeof(r->h->etag), "%.*s", (int)strcspn(v, "\r\n"), v);
    }
  return 0;
}

static int call_data(void *ud, const char *data, size_t len) {
  struct call_run *r = ud;
  if (r->body.len + len > (256u << 20))
    return TG_ETOOBIG;
  return tg_buf_append(&r->body, data, len) ? TG_ENOMEM : 0;
}

static void call_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct call_run *r = ud;
  r->done = 1;
  r->rc = rc;
  if (status)
    r->status = status;
  if (rc)
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", tg_err_msg(err, rc));
}

static int call_perform(struct tg_cli *cli, const struct tg_client_opts *o, struct call_run *r) {
  uv_loop_t loop;
  struct tg_client *c = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  struct tg_client_tls tls = {.ca_file = cli->cacert};
  struct tg_client_cb cb = {call_head, call_data, NULL, call_done};
  int rc = uv_loop_init(&loop);
  if (rc) {
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", uv_strerror(rc));
    return TG_EIO;
  }
  if ((rc = tg_client_new(&loop, &tls, &c, &err)) == 0 &&
      (rc = tg_client_request(c, o, &cb, r, NULL, &err)) == 0) {
    while (!r->done)
      uv_run(&loop, UV_RUN_ONCE);
    rc = r->rc;
  } else {
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", tg_err_msg(&err, rc));
  }
  tg_client_free(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}

int tg_cli_request(struct tg_cli *cli, const char *method, const char *path, const char *body,
                   size_t body_len, struct tg_cli_http *h, int *status, json_t **out, char **raw) {
  char auth[8300], ctype[200], ifm[200];
  struct tg_buf url;
  const char *hdrs[5] = {NULL, NULL, NULL, NULL, NULL};
  int nh = 0, rc;
  if (out)
    *out = NULL;
  if (raw)
    *raw = NULL;
  if (h)
    h->etag[0] = '\0';
  if ((rc = tg_cli_resolve(cli)) != 0)
    return rc;
  if (tg_cli_token_transport(cli))
    return TG_CLI_EFAIL;
  tg_buf_init(&url); /* the path carries search words and ids: no fixed size */
  if (tg_buf_printf(&url, "%s%s", cli->url, path))
    return tg_cli_fail("out of memory");
  if (cli->token[0]) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cli->token);
    hdrs[nh++] = auth;
  }
  if (body) {
    snprintf(ctype, sizeof(ctype), "Content-Type: %s",
             h && h->ctype ? h->ctype : "application/ld+json");
    hdrs[nh++] = ctype;
  }
  if (h && h->if_match) {
    snprintf(ifm, sizeof(ifm), "If-Match: %s", h->if_match);
    hdrs[nh++] = ifm;
  }
  hdrs[nh++] = "Accept: application/json, application/ld+json, application/problem+json, */*";
  struct tg_client_opts o = {.method = method,
                             .url = url.data,
                             .headers = hdrs,
                             .body = body,
                             .body_len = body_len,
                             .timeout_ms = 30000};
  struct call_run r;
  memset(&r, 0, sizeof(r));
  tg_buf_init(&r.body);
  r.h = h;
  rc = call_perform(cli, &o, &r);
  tg_buf_close(&url);
  if (rc) {
    tg_buf_close(&r.body);
    fprintf(stderr, "tsunagu: cannot reach %s (the node from %s): %s\n", cli->url,
            cli->node_from ? cli->node_from : "--url", r.errmsg);
    return TG_CLI_EUNREACH;
  }
  *status = r.status;
  size_t len = r.body.len;
  char *resp = tg_buf_take(&r.body);
  tg_buf_close(&r.body);
  if (resp == NULL)
    return tg_cli_fail("out of memory");
  json_t *j = json_loadb(resp, len, 0, NULL);
  if (r.status >= 400 && !(h && h->quiet_status == r.status)) {
    print_problem(r.status, j, resp);
    json_decref(j);
    free(resp);
    return tg_cli_status_exit(cli, r.status);
  }
  if (out)
    *out = j;
  else
    json_decref(j);
  if (raw)
    *raw = resp;
  else
    free(resp);
  return 0;
}

int tg_cli_call(struct tg_cli *cli, const char *method, const char *path, const char *body,
                size_t body_len, int *status, json_t **out, char **raw) {
  return tg_cli_request(cli, method, path, body, body_len, NULL, status, out, raw);
}

int tg_cli_done(const struct tg_cli *cli, json_t *obj, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (cli->json) {
    if (obj == NULL)
      obj = json_object();
    json_object_set_new(obj, "message", json_string(msg));
    tg_cli_print_json(obj);
  } else {
    puts(msg);
  }
  json_decref(obj);
  return 0;
}

void tg_cli_print_list(json_t *items, const char *next) {
  json_t *o = json_pack("{s:o, s:o}", "items", items ? items : json_array(), "next",
                        next ? json_string(next) : json_null());
  tg_cli_print_json(o);
  json_decref(o);
}

int tg_cli_init(struct tg_cli *cli, int argc, char **argv) {
  struct tg_node_init_opts o = {.dir = cli->dir};
  struct tg_err err;
  tg_err_clear(&err);
  const struct tg_cli_opt opts[] = {{"id", 0, &o.id, NULL, NULL},
                                    {"name", 0, &o.name, NULL, NULL},
                                    {"listen", 0, &o.listen, NULL, NULL},
                                    {"hosts", 0, &o.hosts, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "init", &argc, argv, opts, 0);
  if (rc == 0)
    rc = tg_cli_nargs("init", argc, argv, 0, 0, NULL);
  if (rc)
    return rc;
  o.dir = cli->dir;
  if (o.dir == NULL || o.id == NULL)
    return tg_cli_usage("init: --dir DIR and --id NODE-ID are required");
  struct stat before;
  int loose = stat(o.dir, &before) == 0 && S_ISDIR(before.st_mode) && (before.st_mode & 077);
  rc = tg_node_init(&o, &err);
  if (rc)
    return tg_cli_fail("init: %s", tg_err_msg(&err, rc));
  if (loose)
    fprintf(stderr, "tsunagu: init: %s was mode %03o; made it 700 (it holds the node's key)\n",
            o.dir, (unsigned)(before.st_mode & 0777));
  if (cli->json)
    printf("{\"dir\":\"%s\",\"node_id\":\"%s\"}\n", o.dir, o.id);
  else
    printf("created node %s in %s\nstart it with: tsunagud -D %s\n", o.id, o.dir, o.dir);
  return 0;
}

/* Prints the warnings of the health answer J (certificates or the CRL near
 * their expiry) to stderr, one line each; returns how many. */
static int warnings_print(json_t *j) {
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(j, "warnings"), i, w)
    fprintf(stderr, "warning: %s\n", json_string_value(json_object_get(w, "message")) ?: "?");
  return (int)json_array_size(json_object_get(j, "warnings"));
}

/* tsunagu info: the node's /healthz warnings as a new JSON array, empty when
 * there are none (or the node is too old to give them). */
static json_t *health_warnings(struct tg_cli *cli) {
  int status;
  json_t *h = NULL, *w = NULL;
  if (tg_cli_call(cli, "GET", "/healthz", NULL, 0, &status, &h, NULL) == 0)
    w = json_object_get(h, "warnings");
  w = json_is_array(w) ? json_incref(w) : json_array();
  json_decref(h);
  return w;
}

static void print_health_warnings(struct tg_cli *cli) {
  json_t *w = health_warnings(cli), *o = json_pack("{s:O}", "warnings", w);
  warnings_print(o);
  json_decref(o);
  json_decref(w);
}

/* Where the node and the token came from, as a new JSON object. */
static json_t *sources_json(const struct tg_cli *cli) {
  json_t *o = json_pack("{s:s, s:s}", "node_from", cli->node_from ? cli->node_from : "--url",
                        "url", cli->url ? cli->url : "");
  if (cli->dir != NULL)
    json_object_set_new(o, "dir", json_string(cli->dir));
  json_object_set_new(o, "token_from", cli->token_from ? json_string(cli->token_from) : json_null());
  if (cli->token_path[0])
    json_object_set_new(o, "token_file", json_string(cli->token_path));
  return o;
}

static void print_sources(const struct tg_cli *cli) {
  printf("found by:    %s%s%s\n", cli->node_from ? cli->node_from : "--url", cli->dir ? " " : "",
         cli->dir ? cli->dir : "");
  if (cli->token_from == NULL)
    printf("token:       none\n");
  else if (cli->token_path[0])
    printf("token:       %s (%s)\n", cli->token_from, cli->token_path);
  else
    printf("token:       %s\n", cli->token_from);
}

int tg_cli_info(struct tg_cli *cli, int argc, char **argv) {
  int status;
  json_t *j = NULL;
  int rc = tg_cli_getopt(cli, "info", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("info", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  if ((rc = tg_cli_call(cli, "GET", "/.well-known/tsunagu", NULL, 0, &status, &j, NULL)) != 0)
    return rc;
  if (!json_is_object(j)) {
    json_decref(j);
    return tg_cli_fail("info: the node's answer is not JSON");
  }
  if (cli->json) {
    json_object_set_new(j, "warnings", health_warnings(cli));
    json_object_set_new(j, "client", sources_json(cli));
    tg_cli_print_json(j);
  } else {
    printf("node:        %s (%s)\n", json_string_value(json_object_get(j, "node_id")) ?: "?",
           json_string_value(json_object_get(j, "name")) ?: "?");
    printf("uri:         %s\n", json_string_value(json_object_get(j, "node_uri")) ?: "?");
    const char *fed = json_string_value(json_object_get(j, "federation"));
    printf("federation:  %s\n", fed && *fed ? fed : "(none yet)");
    printf("version:     %s\n", json_string_value(json_object_get(j, "version")) ?: "?");
    printf("url:         %s\n", cli->url);
    print_sources(cli);
    printf("certificate: sha256 %s\n",
           json_string_value(json_object_get(json_object_get(j, "certificate"), "sha256")) ?: "?");
  }
  json_decref(j);
  if (!cli->json)
    print_health_warnings(cli);
  return 0;
}

int tg_cli_health(struct tg_cli *cli, int argc, char **argv) {
  int status;
  json_t *j = NULL;
  int rc = tg_cli_getopt(cli, "health", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("health", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  if ((rc = tg_cli_call(cli, "GET", "/healthz", NULL, 0, &status, &j, NULL)) != 0)
    return rc;
  const char *s = json_string_value(json_object_get(j, "status"));
  /* degraded: serving, with warnings (a certificate or the CRL expires soon) */
  int degraded = s && strcmp(s, "degraded") == 0;
  int ok = s && (strcmp(s, "ok") == 0 || degraded);
  if (cli->json) {
    json_t *w = json_object_get(j, "warnings");
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(ok ? s : "bad"));
    json_object_set_new(o, "warnings", json_is_array(w) ? json_incref(w) : json_array());
    tg_cli_print_json(o);
    json_decref(o);
  } else {
    printf("%s: %s\n", cli->url, !ok ? "not healthy" : degraded ? "degraded" : "ok");
    warnings_print(j);
  }
  json_decref(j);
  return ok ? 0 : 1;
}

/* One sample line of the Prometheus text format ("name{l="v",...} value")
 * as {"name", "labels", "value"}, or NULL for a comment or a line it cannot
 * read. LINE is changed. */
static json_t *metric_sample(char *line) {
  if (line[0] == '#' || line[0] == '\0')
    return NULL;
  char *p = line + strcspn(line, "{ ");
  json_t *labels = json_object();
  char save = *p;
  *p = '\0';
  json_t *m = json_pack("{s:s}", "name", line);
  *p = save;
  if (*p == '{') {
    p++;
    while (*p && *p != '}') {
      char *eq = strchr(p, '=');
      if (eq == NULL || eq[1] != '"')
        break;
      *eq = '\0';
      char *v = eq + 2, *w = v, *q = v;
      for (; *q && *q != '"'; q++) {
        if (*q == '\\' && q[1]) {
          q++;
          *w++ = *q == 'n' ? '\n' : *q;
        } else {
          *w++ = *q;
        }
      }
      char *after = *q ? q + 1 : q;
      *w = '\0';
      json_object_set_new(labels, p, json_string(v));
      p = after + (*after == ',');
    }
    if (*p == '}')
      p++;
  }
  p += strspn(p, " ");
  char *end = NULL;
  double v = strtod(p, &end);
  json_object_set_new(m, "labels", labels);
  if (end == p) {
    json_decref(m);
    return NULL;
  }
  json_object_set_new(m, "value", isfinite(v) ? json_real(v) : json_null()); /* +Inf, NaN */
  return m;
}

int tg_cli_metrics(struct tg_cli *cli, int argc, char **argv) {
  int status;
  char *raw = NULL;
  int rc = tg_cli_getopt(cli, "metrics", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("metrics", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  if ((rc = tg_cli_call(cli, "GET", "/metrics", NULL, 0, &status, NULL, &raw)) != 0)
    return rc;
  if (!cli->json) {
    fputs(raw, stdout);
    free(raw);
    return 0;
  }
  json_t *items = json_array();
  for (char *line = raw, *nl; line && *line; line = nl) {
    nl = strchr(line, '\n');
    if (nl)
      *nl++ = '\0';
    json_t *m = metric_sample(line);
    if (m)
      json_array_append_new(items, m);
  }
  free(raw);
  tg_cli_print_list(items, NULL);
  return 0;
}
