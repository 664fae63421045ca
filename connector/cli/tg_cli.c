/* tg_cli: the CLI's shared plumbing and the node commands (init, info,
 * health, metrics). */
#include "tg_buf.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_node.h"
#include "tg_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int tg_cli_resolve(struct tg_cli *cli) {
  char path[4096];
  if (cli->url == NULL) {
    char *addr = NULL;
    if (cli->dir == NULL)
      return tg_cli_fail("no node given: use --dir DIR or --url URL");
    tg_node_path(path, sizeof(path), cli->dir, TG_NODE_ADDR);
    if (tg_file_read(path, 512, &addr, NULL, NULL) != 0)
      return tg_cli_fail("the node in %s is not running (no %s); start it with tsunagud -D %s",
                         cli->dir, TG_NODE_ADDR, cli->dir);
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
  /* An OAuth token from the environment (never from argv, where ps shows it),
   * else --token-file, else the node's admin token. */
  const char *env = getenv("TSUNAGU_TOKEN");
  if (cli->token_file == NULL && env != NULL && *env) {
    if (strlen(env) >= sizeof(cli->token))
      return tg_cli_fail("TSUNAGU_TOKEN is longer than %zu bytes", sizeof(cli->token) - 1);
    snprintf(cli->token, sizeof(cli->token), "%s", env);
    return 0;
  }
  /* --token-file, else the node's admin token (a missing one is no error). */
  const char *file = cli->token_file;
  if (file == NULL && cli->dir != NULL) {
    tg_node_path(path, sizeof(path), cli->dir, TG_NODE_TOKEN);
    file = path;
  }
  if (file != NULL) {
    char *tok = NULL;
    if (tg_file_read(file, sizeof(cli->token) - 1, &tok, NULL, NULL) == 0) {
      tok[strcspn(tok, "\r\n")] = '\0';
      snprintf(cli->token, sizeof(cli->token), "%s", tok);
      OPENSSL_cleanse(tok, strlen(tok));
      free(tok);
    } else if (cli->token_file != NULL) { /* named and unreadable: not a silent anonymous call */
      return tg_cli_fail("cannot read the token file %s (missing, unreadable or over %zu bytes)",
                         file, sizeof(cli->token) - 1);
    }
  }
  return 0;
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

int tg_cli_call(struct tg_cli *cli, const char *method, const char *path, const char *body,
                size_t body_len, int *status, json_t **out, char **raw) {
  char auth[8300];
  struct tg_buf url;
  const char *hdrs[4] = {NULL, NULL, NULL, NULL};
  int nh = 0;
  struct tg_err err;
  tg_err_clear(&err);
  if (tg_cli_resolve(cli))
    return 1;
  if (tg_cli_token_transport(cli))
    return 1;
  tg_buf_init(&url); /* the path carries search words and ids: no fixed size */
  if (tg_buf_printf(&url, "%s%s", cli->url, path))
    return tg_cli_fail("out of memory");
  if (cli->token[0]) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cli->token);
    hdrs[nh++] = auth;
  }
  if (body)
    hdrs[nh++] = "Content-Type: application/ld+json";
  hdrs[nh++] = "Accept: application/json, application/ld+json, application/problem+json, */*";
  struct tg_client_tls tls = {.ca_file = cli->cacert};
  struct tg_client_opts o = {.method = method,
                             .url = url.data,
                             .headers = hdrs,
                             .body = body,
                             .body_len = body_len,
                             .timeout_ms = 30000,
                             .max_response = 256u << 20};
  char *resp = NULL;
  size_t len = 0;
  int rc = tg_client_fetch(&tls, &o, status, &resp, &len, &err);
  tg_buf_close(&url);
  if (rc)
    return tg_cli_fail("cannot reach %s: %s", cli->url, tg_err_msg(&err, rc));
  json_t *j = json_loadb(resp, len, 0, NULL);
  if (*status >= 400) {
    print_problem(*status, j, resp);
    json_decref(j);
    free(resp);
    return 1;
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
    return tg_cli_fail("init: --dir DIR and --id NODE-ID are required");
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

int tg_cli_info(struct tg_cli *cli, int argc, char **argv) {
  int status;
  json_t *j = NULL;
  int rc = tg_cli_getopt(cli, "info", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("info", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  if (tg_cli_call(cli, "GET", "/.well-known/tsunagu", NULL, 0, &status, &j, NULL))
    return 1;
  if (!json_is_object(j)) {
    json_decref(j);
    return tg_cli_fail("info: the node's answer is not JSON");
  }
  if (cli->json) {
    json_object_set_new(j, "warnings", health_warnings(cli));
    tg_cli_print_json(j);
  } else {
    printf("node:        %s (%s)\n", json_string_value(json_object_get(j, "node_id")) ?: "?",
           json_string_value(json_object_get(j, "name")) ?: "?");
    printf("uri:         %s\n", json_string_value(json_object_get(j, "node_uri")) ?: "?");
    const char *fed = json_string_value(json_object_get(j, "federation"));
    printf("federation:  %s\n", fed && *fed ? fed : "(none yet)");
    printf("version:     %s\n", json_string_value(json_object_get(j, "version")) ?: "?");
    printf("url:         %s\n", cli->url);
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
  if (tg_cli_call(cli, "GET", "/healthz", NULL, 0, &status, &j, NULL))
    return 1;
  const char *s = json_string_value(json_object_get(j, "status"));
  /* degraded: serving, with warnings (a certificate or the CRL expires soon) */
  int degraded = s && strcmp(s, "degraded") == 0;
  int ok = s && (strcmp(s, "ok") == 0 || degraded);
  if (cli->json) {
    printf("{\"status\":\"%s\"}\n", ok ? s : "bad");
  } else {
    printf("%s: %s\n", cli->url, !ok ? "not healthy" : degraded ? "degraded" : "ok");
    warnings_print(j);
  }
  json_decref(j);
  return ok ? 0 : 1;
}

int tg_cli_metrics(struct tg_cli *cli, int argc, char **argv) {
  int status;
  char *raw = NULL;
  int rc = tg_cli_getopt(cli, "metrics", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("metrics", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  if (tg_cli_call(cli, "GET", "/metrics", NULL, 0, &status, NULL, &raw))
    return 1;
  fputs(raw, stdout);
  free(raw);
  return 0;
}
