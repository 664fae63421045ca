/* tg_cli_vocab: the CLI's vocabulary commands: tsunagu vocab import|export|search|
 * schemes|convert|profile, over the node's HTTPS API (/api/v1/vocab/...). convert
 * streams stdin to the node and the answer to stdout, problems to stderr. */
#include "tg_buf.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_qs.h"
#include "tg_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VOC_FILE_MAX (64u << 20) /* a scheme or profile file */
#define VOC_HOLD_MAX (8u << 20)  /* the answer's last line(s) held back while streaming */

/* Reads FILE ("-" for stdin) whole into *OUT (NUL-terminated) and *LEN;
 * 0, or says why on stderr and returns 1. */
static int slurp(const char *file, char **out, size_t *len) {
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_cli_read(file, VOC_FILE_MAX, out, len, &err);
  return rc ? tg_cli_fail("cannot read %s: %s", file, tg_err_msg(&err, rc)) : 0;
}

/* The text in LANG of a {lang: text} object, else any. */
static const char *label(json_t *m, const char *lang) {
  const char *t = json_string_value(json_object_get(m, lang));
  if (t == NULL) {
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
      return json_string_value(v);
    }
  }
  return t;
}

static void print_json(json_t *j) {
  json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  putchar('\n');
}

/* ---- import, export, schemes, search ------------------------------------ */

/* The @id of the skos:ConceptScheme in the SKOS JSON-LD document DOC (at its
 * top or in its @graph), or NULL. */
static const char *scheme_uri(json_t *doc) {
  json_t *nodes = json_object_get(doc, "@graph"), *n;
  size_t i;
  if (!json_is_array(nodes))
    nodes = NULL;
  for (i = 0; i <= json_array_size(nodes); i++) {
    n = i == json_array_size(nodes) ? doc : json_array_get(nodes, i);
    json_t *t = json_object_get(n, "@type"), *e;
    size_t k;
    if (json_is_string(t) && strstr(json_string_value(t), "ConceptScheme"))
      return json_string_value(json_object_get(n, "@id"));
    json_array_foreach(t, k, e) {
      if (json_is_string(e) && strstr(json_string_value(e), "ConceptScheme"))
        return json_string_value(json_object_get(n, "@id"));
    }
  }
  return NULL;
}

/* The path /api/v1/vocab/schemes/<encoded ID> into P; 0 or an exit status. */
static int scheme_path(struct tg_buf *p, const char *id) {
  if (tg_buf_puts(p, "/api/v1/vocab/schemes/") || tg_qs_encode(p, id))
    return tg_cli_fail("out of memory");
  return 0;
}

/* With --replace: the ETag of the scheme TEXT describes as the node holds
 * it, into H->etag ("" when the node has no such scheme). Returns 0 or an
 * exit status. */
static int import_etag(struct tg_cli *cli, const char *file, const char *text, size_t len,
                       struct tg_cli_http *h) {
  json_t *doc = json_loadb(text, len, 0, NULL);
  const char *uri = scheme_uri(doc);
  struct tg_buf p;
  int status, rc;
  tg_buf_init(&p);
  if (uri == NULL) {
    json_decref(doc);
    return tg_cli_fail("vocab import: %s has no skos:ConceptScheme with an @id", file);
  }
  memset(h, 0, sizeof(*h));
  h->quiet_status = 404;
  rc = scheme_path(&p, uri);
  json_decref(doc);
  if (rc == 0)
    rc = tg_cli_request(cli, "GET", p.data, NULL, 0, h, &status, NULL, NULL);
  tg_buf_close(&p);
  if (rc == 0 && status == 404)
    h->etag[0] = '\0';
  return rc;
}

static int vocab_import(struct tg_cli *cli, int argc, char **argv) {
  int replace = 0;
  const struct tg_cli_opt opts[] = {{"replace", 0, NULL, &replace, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "vocab import", &argc, argv, opts, 0);
  if (rc || (rc = tg_cli_nargs("vocab import", argc, argv, 1, 1,
                               "which file? (tsunagu vocab import FILE|-)")) != 0)
    return rc;
  const char *file = argv[0];
  char *text = NULL;
  size_t len = 0;
  int status;
  json_t *j = NULL;
  struct tg_cli_http h;
  memset(&h, 0, sizeof(h));
  if (slurp(file, &text, &len))
    return 1;
  if (replace && (rc = import_etag(cli, file, text, len, &h)) != 0) {
    free(text);
    return rc;
  }
  char etag[sizeof(h.etag)];
  snprintf(etag, sizeof(etag), "%s", h.etag);
  memset(&h, 0, sizeof(h));
  h.if_match = etag[0] ? etag : NULL; /* replaces that version only: a change meanwhile is 412 */
  status = 0;
  rc = tg_cli_request(cli, "POST", "/api/v1/vocab/schemes", text, len, &h, &status, &j, NULL);
  free(text);
  if (rc == TG_CLI_EFAIL && status == 409 && !replace)
    fprintf(stderr, "tsunagu: to replace it: tsunagu vocab import --replace %s\n", file);
  if (rc)
    return rc;
  if (cli->json)
    print_json(j);
  else
    printf("%s scheme %s (%s), ETag %s\n", etag[0] ? "replaced" : "imported",
           json_string_value(json_object_get(j, "id")) ?: "?",
           json_string_value(json_object_get(j, "uri")) ?: "?",
           json_string_value(json_object_get(j, "etag")) ?: "?");
  json_decref(j);
  return 0;
}

static int vocab_rm(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "vocab rm", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("vocab rm", argc, argv, 1, 1, "give one scheme id or URI")) != 0)
    return rc;
  struct tg_buf p;
  int status;
  tg_buf_init(&p);
  if ((rc = scheme_path(&p, argv[0])) == 0)
    rc = tg_cli_call(cli, "DELETE", p.data, NULL, 0, &status, NULL, NULL);
  tg_buf_close(&p);
  if (rc)
    return rc;
  return tg_cli_done(cli, json_pack("{s:b, s:s}", "deleted", 1, "id", argv[0]),
                     "removed scheme %s", argv[0]);
}

static int vocab_export(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "vocab export", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("vocab export", argc, argv, 1, 1, "give one scheme id or URI")) != 0)
    return rc;
  struct tg_buf p;
  int status;
  json_t *j = NULL;
  tg_buf_init(&p);
  if (tg_buf_puts(&p, "/api/v1/vocab/schemes/") || tg_qs_encode(&p, argv[0])) {
    tg_buf_close(&p);
    return tg_cli_fail("out of memory");
  }
  rc = tg_cli_call(cli, "GET", p.data, NULL, 0, &status, &j, NULL);
  tg_buf_close(&p);
  if (rc)
    return rc;
  print_json(j); /* the export is the data: JSON-LD either way */
  json_decref(j);
  return 0;
}

static int vocab_schemes(struct tg_cli *cli, int argc, char **argv) {
  int status;
  json_t *j = NULL, *e;
  size_t i;
  int rc = tg_cli_getopt(cli, "vocab schemes", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("vocab schemes", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  if ((rc = tg_cli_call(cli, "GET", "/api/v1/vocab/schemes", NULL, 0, &status, &j, NULL)) != 0)
    return rc;
  if (cli->json) {
    tg_cli_print_list(json_incref(json_object_get(j, "schemes")), NULL);
  } else {
    json_array_foreach(json_object_get(j, "schemes"), i, e) {
      json_t *t = json_object_get(e, "title");
      printf("%-24s %4d concepts  %s / %s\n", json_string_value(json_object_get(e, "id")) ?: "?",
             (int)json_integer_value(json_object_get(e, "concepts")), label(t, "ja") ?: "",
             label(t, "en") ?: "");
    }
  }
  json_decref(j);
  return 0;
}

static int vocab_search(struct tg_cli *cli, int argc, char **argv) {
  const char *lang = NULL, *scheme = NULL, *limit = NULL;
  struct tg_buf q, p;
  int status, rc = 0;
  json_t *j = NULL, *e;
  size_t i;
  tg_buf_init(&q);
  tg_buf_init(&p);
  const struct tg_cli_opt opts[] = {{"lang", 0, &lang, NULL, NULL},
                                    {"scheme", 0, &scheme, NULL, NULL},
                                    {"limit", 0, &limit, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  if ((rc = tg_cli_getopt(cli, "vocab search", &argc, argv, opts, 0)) != 0 ||
      (rc = tg_cli_nargs("vocab search", argc, argv, 1, argc,
                         "what words? (tsunagu vocab search WORDS...)")) != 0)
    return rc;
  for (int a = 0; a < argc && rc == 0; a++)
    if ((q.len && tg_buf_puts(&q, " ")) || tg_buf_puts(&q, argv[a]))
      rc = tg_cli_fail("out of memory");
  if (rc == 0 && (tg_buf_puts(&p, "/api/v1/vocab/search?q=") || tg_qs_encode(&p, q.data) ||
                  (lang && (tg_buf_puts(&p, "&lang=") || tg_qs_encode(&p, lang))) ||
                  (scheme && (tg_buf_puts(&p, "&scheme=") || tg_qs_encode(&p, scheme))) ||
                  (limit && (tg_buf_puts(&p, "&limit=") || tg_qs_encode(&p, limit)))))
    rc = tg_cli_fail("out of memory");
  if (rc == 0)
    rc = tg_cli_call(cli, "GET", p.data, NULL, 0, &status, &j, NULL);
  tg_buf_close(&q);
  tg_buf_close(&p);
  if (rc)
    return rc;
  json_t *res = json_object_get(j, "results");
  if (cli->json) {
    tg_cli_print_list(json_incref(res), NULL);
  } else if (json_array_size(res) == 0) {
    printf("no concepts found\n");
  } else {
    json_array_foreach(res, i, e) {
      json_t *pl = json_object_get(e, "prefLabel"), *m = json_object_get(e, "matched");
      printf("%s\n  %s / %s  (%s: %s)\n", json_string_value(json_object_get(e, "uri")) ?: "?",
             label(pl, "ja") ?: "", label(pl, "en") ?: "",
             json_string_value(json_object_get(m, "property")) ?: "?",
             json_string_value(json_object_get(m, "value")) ?: "?");
    }
  }
  json_decref(j);
  return 0;
}

/* ---- profiles -------------------------------------------------------------- */

static int vocab_profile(struct tg_cli *cli, int argc, char **argv) {
  int status;
  json_t *j = NULL, *e;
  size_t i;
  int rc = tg_cli_getopt(cli, "vocab profile", &argc, argv, NULL, 0);
  if (rc)
    return rc;
  if (argc == 1 && strcmp(argv[0], "list") == 0) {
    if ((rc = tg_cli_call(cli, "GET", "/api/v1/vocab/profiles", NULL, 0, &status, &j, NULL)) != 0)
      return rc;
    if (cli->json)
      tg_cli_print_list(json_incref(json_object_get(j, "profiles")), NULL);
    else
      json_array_foreach(json_object_get(j, "profiles"), i, e) {
        json_t *t = json_object_get(e, "title");
        printf("%-32s %s\n", json_string_value(json_object_get(e, "id")) ?: "?",
               json_is_string(t) ? json_string_value(t) : label(t, "en") ?: "");
      }
    json_decref(j);
    return 0;
  }
  if (argc != 2 || strcmp(argv[0], "put") != 0)
    return tg_cli_usage("vocab profile: use 'profile put FILE' or 'profile list'");
  char *text = NULL;
  size_t len = 0;
  if (slurp(argv[1], &text, &len))
    return 1;
  json_t *doc = json_loadb(text, len, 0, NULL);
  const char *id = json_string_value(json_object_get(doc, "id"));
  struct tg_buf p;
  tg_buf_init(&p);
  rc = id == NULL ? tg_cli_fail("vocab profile put: %s is not a profile with an \"id\"", argv[1])
       : (tg_buf_puts(&p, "/api/v1/vocab/profiles/") || tg_qs_encode(&p, id))
           ? tg_cli_fail("out of memory")
           : tg_cli_call(cli, "PUT", p.data, text, len, &status, &j, NULL);
  if (rc == 0) {
    if (cli->json)
      print_json(j);
    else
      printf("%s profile %s, ETag %s\n", status == 201 ? "stored" : "replaced", id,
             json_string_value(json_object_get(j, "etag")) ?: "?");
  }
  json_decref(j);
  json_decref(doc);
  tg_buf_close(&p);
  free(text);
  return rc;
}

/* ---- convert: stdin -> node -> stdout, streaming ----------------------------- */

struct conv_run {
  int fd; /* the input */
  int status;
  int done, rc;
  char errmsg[512];
  int eof;
  struct tg_buf hold; /* 200: the last line(s), held back until the end; else the body */
};

static int conv_head(void *ud, int status, const char *const *headers) {
  (void)headers;
  ((struct conv_run *)ud)->status = status;
  return 0;
}

/* Writes all but the last complete line (and what follows it) of the held answer:
 * the last line of the body is the summary, which is not data. */
static int conv_data(void *ud, const char *data, size_t len) {
  struct conv_run *r = ud;
  if (tg_buf_append(&r->hold, data, len))
    return TG_ENOMEM;
  if (r->status != 200)
    return r->hold.len > VOC_HOLD_MAX ? TG_ETOOBIG : 0;
  char *last = memrchr(r->hold.data, '\n', r->hold.len);
  if (last == NULL || last == r->hold.data)
    return r->hold.len > VOC_HOLD_MAX ? TG_ETOOBIG : 0;
  char *prev = memrchr(r->hold.data, '\n', (size_t)(last - r->hold.data));
  if (prev == NULL)
    return 0;
  size_t n = (size_t)(prev - r->hold.data) + 1;
  if (fwrite(r->hold.data, 1, n, stdout) != n)
    return TG_EIO;
  tg_buf_consume(&r->hold, n);
  return 0;
}

static long conv_read(void *ud, char *buf, size_t n) {
  struct conv_run *r = ud;
  if (r->eof)
    return 0;
  for (;;) {
    ssize_t k = read(r->fd, buf, n);
    if (k >= 0) {
      r->eof = k == 0;
      return (long)k;
    }
    if (errno != EINTR)
      return TG_EIO;
  }
}

static void conv_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct conv_run *r = ud;
  r->done = 1;
  r->rc = rc;
  r->status = status;
  if (rc)
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", tg_err_msg(err, rc));
}

/* Prints the summary's issues and verdict to stderr; returns the exit status. */
static int conv_report(struct tg_cli *cli, json_t *s) {
  json_t *errs = json_object_get(s, "errors"), *e;
  size_t i;
  int complete = json_is_true(json_object_get(s, "complete"));
  const char *mode = json_string_value(json_object_get(s, "mode")) ?: "strict";
  long long skipped = json_integer_value(json_object_get(s, "skipped"));
  if (cli->json) {
    json_dumpf(s, stderr, JSON_COMPACT);
    fputc('\n', stderr);
  } else {
    json_array_foreach(errs, i, e) {
      fprintf(stderr, "tsunagu: %s: %s%s\n",
              json_string_value(json_object_get(e, "pointer")) ?: "?",
              json_string_value(json_object_get(e, "detail")) ?: "?",
              json_is_true(json_object_get(e, "skipped")) ? " (record left out)" : " (kept as is)");
    }
    if (json_is_true(json_object_get(s, "errors_truncated")))
      fprintf(stderr, "tsunagu: ... and more (%lld issues in all)\n",
              (long long)json_integer_value(json_object_get(s, "issues")));
    fprintf(stderr,
            "tsunagu: converted %lld of %lld records with profile %s (%s): %lld left out, "
            "%lld issues%s\n",
            (long long)json_integer_value(json_object_get(s, "written")),
            (long long)json_integer_value(json_object_get(s, "records")),
            json_string_value(json_object_get(s, "profile")) ?: "?", mode, skipped,
            (long long)json_integer_value(json_object_get(s, "issues")),
            complete ? "" : "; INCOMPLETE");
    if (!complete)
      fprintf(stderr, "tsunagu: the input broke off: %s\n",
              json_string_value(json_object_get(s, "error")) ?: "?");
  }
  return !complete || (strcmp(mode, "strict") == 0 && skipped > 0) ? 1 : 0;
}

static int vocab_convert_fd(struct tg_cli *cli, const char *profile, const char *mode, int ndjson,
                            int in_fd);

static int vocab_convert(struct tg_cli *cli, int argc, char **argv) {
  const char *profile = NULL, *mode = NULL;
  int ndjson = 0;
  const struct tg_cli_opt opts[] = {{"profile", 0, &profile, NULL, NULL},
                                    {"lenient", 0, &mode, NULL, "lenient"},
                                    {"strict", 0, &mode, NULL, "strict"},
                                    {"ndjson", 0, NULL, &ndjson, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "vocab convert", &argc, argv, opts, 0);
  if (rc || (rc = tg_cli_nargs("vocab convert", argc, argv, 0, 1, NULL)) != 0)
    return rc;
  if (profile == NULL)
    return tg_cli_usage("vocab convert: --profile ID is required");
  /* The input: FILE, or standard input (no FILE, or -). */
  int in_fd = STDIN_FILENO;
  if (argc == 1 && strcmp(argv[0], "-") != 0 && (in_fd = open(argv[0], O_RDONLY)) < 0)
    return tg_cli_fail("vocab convert: cannot open %s: %s", argv[0], strerror(errno));
  rc = vocab_convert_fd(cli, profile, mode, ndjson, in_fd);
  if (in_fd != STDIN_FILENO)
    close(in_fd);
  return rc;
}

/* Streams IN_FD through the node's profile PROFILE; returns the exit status. */
static int vocab_convert_fd(struct tg_cli *cli, const char *profile, const char *mode, int ndjson,
                            int in_fd) {
  int rc;
  if ((rc = tg_cli_resolve(cli)) != 0)
    return rc;
  struct tg_buf url;
  tg_buf_init(&url);
  /* Ask for the profile first: a node that refuses a streamed request early closes
   * the connection, and its answer can be lost while stdin is still being sent. */
  int status;
  if (tg_buf_puts(&url, "/api/v1/vocab/profiles/") || tg_qs_encode(&url, profile)) {
    tg_buf_close(&url);
    return tg_cli_fail("out of memory");
  }
  if ((rc = tg_cli_call(cli, "GET", url.data, NULL, 0, &status, NULL, NULL)) != 0) {
    tg_buf_close(&url);
    return rc;
  }
  tg_buf_reset(&url);
  if (tg_buf_printf(&url, "%s/api/v1/vocab/convert?profile=", cli->url) ||
      tg_qs_encode(&url, profile) || (mode && tg_buf_printf(&url, "&mode=%s", mode))) {
    tg_buf_close(&url);
    return tg_cli_fail("out of memory");
  }
  char auth[8300];
  const char *hdrs[4] = {NULL, NULL, NULL, NULL};
  int nh = 0;
  if (tg_cli_token_transport(cli)) {
    tg_buf_close(&url);
    return 1;
  }
  if (cli->token[0]) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cli->token);
    hdrs[nh++] = auth;
  }
  hdrs[nh++] = ndjson ? "Content-Type: application/x-ndjson" : "Content-Type: application/json";
  hdrs[nh++] = "Accept: application/x-ndjson, application/problem+json";

  uv_loop_t loop;
  struct tg_client *c = NULL;
  struct tg_err err;
  struct conv_run r;
  memset(&r, 0, sizeof(r));
  r.fd = in_fd;
  tg_buf_init(&r.hold);
  tg_err_clear(&err);
  struct tg_client_tls tls = {.ca_file = cli->cacert};
  struct tg_client_opts o = {.method = "POST",
                             .url = url.data,
                             .headers = hdrs,
                             .stream_body = 1,
                             .timeout_ms = 7 * 24 * 3600 * 1000ull};
  struct tg_client_cb cb = {conv_head, conv_data, conv_read, conv_done};
  rc = uv_loop_init(&loop);
  if (rc == 0 && (rc = tg_client_new(&loop, &tls, &c, &err)) == 0 &&
      (rc = tg_client_request(c, &o, &cb, &r, NULL, &err)) == 0)
    while (!r.done)
      uv_run(&loop, UV_RUN_ONCE);
  else if (rc)
    snprintf(r.errmsg, sizeof(r.errmsg), "%s", tg_err_msg(&err, rc));
  tg_client_free(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  tg_buf_close(&url);
  fflush(stdout);
  int exit_status = 1;
  if ((rc || r.rc) && !(r.status >= 400 && r.hold.len > 0)) {
    tg_cli_fail("vocab convert: %s: %s", cli->url, r.errmsg);
    if (r.status == 0)
      exit_status = TG_CLI_EUNREACH;
  } else if (r.status != 200) {
    json_t *p = json_loadb(r.hold.data ? r.hold.data : "", r.hold.len, 0, NULL);
    const char *detail = json_string_value(json_object_get(p, "detail"));
    tg_cli_fail("vocab convert: %d %s", r.status, detail ? detail : "the node refused");
    json_t *errs = json_object_get(p, "errors"), *e;
    size_t i;
    json_array_foreach(errs, i, e) {
      const char *at = json_string_value(json_object_get(e, "pointer"));
      fprintf(stderr, "tsunagu: %s: %s\n",
              at ? at : json_string_value(json_object_get(e, "parameter")) ?: "?",
              json_string_value(json_object_get(e, "detail")) ?: "?");
    }
    json_decref(p);
    exit_status = tg_cli_status_exit(cli, r.status);
  } else {
    /* What is held is the summary line (and nothing else, if the answer is whole). */
    size_t n = r.hold.len;
    while (n > 0 && r.hold.data[n - 1] == '\n')
      n--;
    const char *nl = n ? memrchr(r.hold.data, '\n', n) : NULL;
    if (nl) { /* data before the summary: write it out */
      fwrite(r.hold.data, 1, (size_t)(nl - r.hold.data) + 1, stdout);
      fflush(stdout);
    }
    const char *line = nl ? nl + 1 : r.hold.data;
    json_t *s = line ? json_loadb(line, n - (size_t)(line - r.hold.data), 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(s, "@type"));
    if (type == NULL || strcmp(type, "tsunagu:ConversionSummary") != 0)
      tg_cli_fail("vocab convert: the answer was cut short (no summary at its end)");
    else
      exit_status = conv_report(cli, s);
    json_decref(s);
  }
  tg_buf_close(&r.hold);
  return exit_status;
}

int tg_cli_vocab(struct tg_cli *cli, int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(struct tg_cli *, int, char **);
  } sub[] = {{"import", vocab_import}, {"export", vocab_export},   {"schemes", vocab_schemes},
             {"search", vocab_search}, {"convert", vocab_convert}, {"profile", vocab_profile},
             {"rm", vocab_rm}};
  int rc = tg_cli_getopt(cli, "vocab", &argc, argv, NULL, TG_CLI_OPT_FIRST);
  if (rc || (rc = tg_cli_nargs("vocab", argc, argv, 1, argc, "which subcommand?")) != 0)
    return rc;
  for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
    if (strcmp(argv[0], sub[i].name) == 0)
      return sub[i].run(cli, argc - 1, argv + 1);
  return tg_cli_usage("vocab: unknown subcommand '%s' (try tsunagu vocab --help)", argv[0]);
}
