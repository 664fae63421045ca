/* tg_cli_data: tsunagu get and put — a dataset's data streamed from the node
 * to a file or stdout, and observations streamed from a file or stdin to the
 * node, each with bounded memory over http/'s client on a private loop. */
#include "tg_buf.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_err.h"
#include "tg_qs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define DATA_HOLD_MAX (1u << 20)                  /* a problem or ingest answer kept to parse */
#define DATA_PEEK_MAX (64u << 10)                 /* leading white space looked through for '[' */
#define DATA_TIMEOUT_MS (7ull * 24 * 3600 * 1000) /* a transfer may take long */
#define DATA_PROBLEM_URN "urn:tsunagu:problem:"

/* One transfer: what the callbacks see and what is reported afterwards. */
struct data_run {
  const char *cmd;  /* "get" or "put", for messages */
  int status;       /* the answer's status, 0 before its head */
  int done, rc;     /* on_done was called, with RC */
  char errmsg[512]; /* RC's sentence */
  FILE *out;        /* get: where a 2xx body goes (borrowed) */
  const char *out_name;
  int write_failed; /* get: OUT refused a write (errno in write_errno) */
  int write_errno;
  uint64_t bytes;     /* body bytes received (get) or sent (put) */
  struct tg_buf hold; /* an answer that is not data: the problem or ingest summary */
  /* put: the body's source; PEEK holds the bytes read to choose the type */
  FILE *in;
  struct tg_buf peek;
  size_t peek_off;
  int read_failed;
  /* the progress line */
  uv_timer_t timer;
  int progress_on; /* a line is on the terminal */
  uint64_t start_ms;
};

/* ---------- progress on a terminal ---------- */

static void human_bytes(char *b, size_t cap, double n) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (n >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
    n /= 1024;
    u++;
  }
  snprintf(b, cap, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
}

static void progress_tick(uv_timer_t *t) {
  struct data_run *r = t->data;
  double secs = (double)(uv_now(t->loop) - r->start_ms) / 1000.0;
  char total[32], rate[32];
  human_bytes(total, sizeof(total), (double)r->bytes);
  human_bytes(rate, sizeof(rate), secs > 0 ? (double)r->bytes / secs : 0);
  fprintf(stderr, "\r\033[Ktsunagu: %s: %s %s, %s/s", r->cmd, total,
          strcmp(r->cmd, "get") == 0 ? "received" : "sent", rate);
  fflush(stderr);
  r->progress_on = 1;
}

/* Starts the progress line's timer when stderr is a terminal and SHOW says
 * the line would not mix with data on the same screen. */
static void progress_start(struct data_run *r, uv_loop_t *loop, int show) {
  r->timer.data = NULL;
  const char *term = getenv("TERM");
  if (!show || !isatty(STDERR_FILENO) || (term != NULL && strcmp(term, "dumb") == 0) ||
      uv_timer_init(loop, &r->timer) != 0)
    return;
  r->timer.data = r;
  r->start_ms = uv_now(loop);
  uv_timer_start(&r->timer, progress_tick, 1000, 500); /* only transfers over ~1 s */
}

static void progress_stop(struct data_run *r) {
  if (r->timer.data == NULL)
    return;
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, NULL);
  if (r->progress_on)
    fputs("\r\033[K", stderr);
}

/* ---------- the transfer ---------- */

static int run_head(void *ud, int status, const char *const *headers) {
  (void)headers;
  ((struct data_run *)ud)->status = status;
  return 0;
}

/* A 2xx body of get goes to OUT as it comes; any other answer is held. */
static int run_data(void *ud, const char *data, size_t len) {
  struct data_run *r = ud;
  int is_data = r->out != NULL && r->status >= 200 && r->status < 300;
  if (!is_data) {
    if (r->hold.len + len > DATA_HOLD_MAX)
      return TG_ETOOBIG;
    return tg_buf_append(&r->hold, data, len) ? TG_ENOMEM : 0;
  }
  if (fwrite(data, 1, len, r->out) != len) {
    r->write_failed = 1;
    r->write_errno = errno;
    return TG_EIO;
  }
  r->bytes += len;
  return 0;
}

/* put's body: the peeked bytes first, then the rest of the file. */
static long run_read(void *ud, char *buf, size_t n) {
  struct data_run *r = ud;
  if (r->peek_off < r->peek.len) {
    size_t k = r->peek.len - r->peek_off;
    if (k > n)
      k = n;
    memcpy(buf, r->peek.data + r->peek_off, k);
    r->peek_off += k;
    r->bytes += k;
    return (long)k;
  }
  size_t k = fread(buf, 1, n, r->in);
  if (k == 0 && ferror(r->in)) {
    r->read_failed = 1;
    return TG_EIO;
  }
  r->bytes += k;
  return (long)k;
}

static void run_done(void *ud, int rc, int status, const struct tg_err *err) {
  struct data_run *r = ud;
  r->done = 1;
  r->rc = rc;
  if (status)
    r->status = status;
  if (rc)
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", tg_err_msg(err, rc));
}

/* Runs one request O to its end on a private loop, with the progress line
 * when SHOW_PROGRESS. Returns 0 when the request ran (R->rc says how it
 * ended), or a TG_E* code with R->errmsg set when it could not start. */
static int run(struct tg_cli *cli, struct data_run *r, const struct tg_client_opts *o,
               int show_progress) {
  uv_loop_t loop;
  struct tg_client *c = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  struct tg_client_tls tls = {.ca_file = cli->cacert};
  struct tg_client_cb cb = {run_head, run_data, run_read, run_done};
  int rc = uv_loop_init(&loop);
  if (rc) {
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", uv_strerror(rc));
    return TG_EIO;
  }
  if ((rc = tg_client_new(&loop, &tls, &c, &err)) == 0 &&
      (rc = tg_client_request(c, o, &cb, r, NULL, &err)) == 0) {
    progress_start(r, &loop, show_progress);
    while (!r->done)
      uv_run(&loop, UV_RUN_ONCE);
    progress_stop(r);
  } else {
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", tg_err_msg(&err, rc));
  }
  tg_client_free(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}

/* The base URL plus /api/v1/datasets/ID/data into U. 0 or TG_ENOMEM. */
static int data_url(struct tg_buf *u, const struct tg_cli *cli, const char *id) {
  if (tg_buf_printf(u, "%s/api/v1/datasets/", cli->url) || tg_qs_encode(u, id) ||
      tg_buf_puts(u, "/data"))
    return TG_ENOMEM;
  return 0;
}

/* "Authorization: Bearer …" into AUTH (CAP bytes) and HDRS[*N], if a token. */
static void auth_header(const struct tg_cli *cli, char *auth, size_t cap, const char **hdrs,
                        int *n) {
  if (!cli->token[0])
    return;
  snprintf(auth, cap, "Authorization: Bearer %s", cli->token);
  hdrs[(*n)++] = auth;
}

/* Prints "tsunagu: CMD: STATUS SLUG: DETAIL" for R's held problem answer,
 * and the problem's "errors" (each "  POINTER: DETAIL").
 * Returns the parsed answer (new reference, may be NULL). */
static json_t *report_problem(const struct data_run *r) {
  json_t *p = json_loadb(r->hold.data ? r->hold.data : "", r->hold.len, 0, NULL);
  const char *type = json_string_value(json_object_get(p, "type"));
  const char *detail = json_string_value(json_object_get(p, "detail"));
  const char *title = json_string_value(json_object_get(p, "title"));
  if (type != NULL && strncmp(type, DATA_PROBLEM_URN, strlen(DATA_PROBLEM_URN)) == 0)
    type += strlen(DATA_PROBLEM_URN);
  if (type != NULL || detail != NULL)
    tg_cli_fail("%s: %d %s: %s", r->cmd, r->status, type ? type : "about:blank",
                detail  ? detail
                : title ? title
                        : "(no detail)");
  else /* not a problem document: show the start of what came */
    tg_cli_fail("%s: %d (not a problem document): %.200s", r->cmd, r->status,
                r->hold.len ? r->hold.data : "(empty)");
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(p, "errors"), i, e) {
    const char *at = json_string_value(json_object_get(e, "pointer"));
    fprintf(stderr, "  %s: %s\n", at ? at : json_string_value(json_object_get(e, "parameter")) ?: "",
            json_string_value(json_object_get(e, "detail")) ?: "");
  }
  return p;
}

/* ---------- tsunagu get ---------- */

/* Appends "&NAME=VALUE" (the first one with '?') to U when VALUE is set. */
static int add_param(struct tg_buf *u, int *first, const char *name, const char *value) {
  if (value == NULL)
    return 0;
  if (tg_buf_printf(u, "%c%s=", *first ? '?' : '&', name) || tg_qs_encode(u, value))
    return TG_ENOMEM;
  *first = 0;
  return 0;
}

static int get_url(struct tg_buf *u, const struct tg_cli *cli, const char *id, const char *since,
                   const char *until, int latest, const char *profile) {
  int first = 1;
  if (data_url(u, cli, id) || add_param(u, &first, "since", since) ||
      add_param(u, &first, "until", until) ||
      add_param(u, &first, "latest", latest ? "true" : NULL) ||
      add_param(u, &first, "profile", profile))
    return TG_ENOMEM;
  return 0;
}

/* Ends R->out: stdout is flushed; a file is closed and, when PART is not
 * NULL, renamed from PART to FILE if OK or else removed. Returns the exit
 * status: 0 when OK and the data reached its place. */
static int get_finish(struct data_run *r, const char *file, const char *part, int ok) {
  if (r->out == stdout) {
    if (fflush(stdout) != 0 && ok)
      return tg_cli_fail("get: cannot write to standard output: %s", strerror(errno));
    return ok ? 0 : 1;
  }
  int closed = fclose(r->out) == 0;
  if (ok && !closed)
    tg_cli_fail("get: cannot write %s: %s", part ? part : file, strerror(errno));
  if (part == NULL)
    return ok && closed ? 0 : 1;
  if (ok && closed && rename(part, file) != 0) {
    tg_cli_fail("get: cannot rename %s to %s: %s", part, file, strerror(errno));
    closed = 0;
  }
  if (!ok || !closed) {
    unlink(part);
    return 1;
  }
  return 0;
}

/* GETs URL into R->out, with a progress line when PROGRESS (it would share no
 * screen with the data); says why on stderr and returns 0 unless the answer
 * was a complete 2xx, then 1. */
static int get_transfer(struct tg_cli *cli, struct data_run *r, const char *url, int progress,
                        int *fail_exit) {
  char auth[8300];
  const char *hdrs[3] = {NULL, NULL, NULL};
  int nh = 0;
  auth_header(cli, auth, sizeof(auth), hdrs, &nh);
  hdrs[nh++] = "Accept: */*";
  struct tg_client_opts o = {
      .method = "GET", .url = url, .headers = hdrs, .timeout_ms = DATA_TIMEOUT_MS};
  *fail_exit = TG_CLI_EFAIL;
  if (run(cli, r, &o, progress) != 0) {
    tg_cli_fail("get: cannot reach %s: %s", cli->url, r->errmsg);
    *fail_exit = TG_CLI_EUNREACH;
  } else if (r->write_failed) {
    tg_cli_fail("get: cannot write to %s: %s", r->out_name, strerror(r->write_errno));
  } else if (r->status >= 200 && r->status < 300 && r->rc != 0) {
    tg_cli_fail("get: the answer was cut short after %llu bytes (%s)", (unsigned long long)r->bytes,
                r->errmsg);
  } else if (r->status >= 300 && (r->rc == 0 || r->hold.len > 0)) {
    json_t *p = report_problem(r);
    const char *type = json_string_value(json_object_get(p, "type"));
    /* The owner's policy refused this node: no token of ours would change that. */
    if (r->status == 403 && type != NULL && strstr(type, "owner-refused") != NULL)
      *fail_exit = TG_CLI_EAUTH;
    else
      *fail_exit = tg_cli_status_exit(cli, r->status);
    json_decref(p);
  } else if (r->rc != 0) {
    tg_cli_fail("get: cannot reach %s: %s", cli->url, r->errmsg);
    *fail_exit = TG_CLI_EUNREACH;
  } else {
    return 1;
  }
  return 0;
}

int tg_cli_get(struct tg_cli *cli, int argc, char **argv) {
  const char *since = NULL, *until = NULL, *profile = NULL, *file = NULL;
  int latest = 0;
  const struct tg_cli_opt opts[] = {
      {"since", 0, &since, NULL, NULL},   {"until", 0, &until, NULL, NULL},
      {"latest", 0, NULL, &latest, NULL}, {"profile", 0, &profile, NULL, NULL},
      {"output", 'o', &file, NULL, NULL}, {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "get", &argc, argv, opts, 0);
  if (rc || (rc = tg_cli_nargs("get", argc, argv, 1, 1, "which dataset? (tsunagu get ID)")) != 0)
    return rc;
  if (file != NULL && strcmp(file, "-") == 0)
    file = NULL;
  /* A device or pipe (-o /dev/null) is written as it is: no FILE.part beside it. */
  struct stat st;
  int direct = file != NULL && stat(file, &st) == 0 && !S_ISREG(st.st_mode);
  if ((rc = tg_cli_resolve(cli)) != 0)
    return rc;
  if (tg_cli_token_transport(cli))
    return 1;
  struct tg_buf url, part;
  tg_buf_init(&url);
  tg_buf_init(&part);
  if (get_url(&url, cli, argv[0], since, until, latest, profile) ||
      (file && tg_buf_printf(&part, direct ? "%s" : "%s.part", file))) {
    tg_buf_close(&url);
    tg_buf_close(&part);
    return tg_cli_fail("out of memory");
  }
  struct data_run r;
  memset(&r, 0, sizeof(r));
  r.cmd = "get";
  tg_buf_init(&r.hold);
  tg_buf_init(&r.peek);
  r.out = stdout;
  if (file != NULL && (r.out = fopen(part.data, "wb")) == NULL) {
    rc = tg_cli_fail("get: cannot create %s: %s", part.data, strerror(errno));
    tg_buf_close(&url);
    tg_buf_close(&part);
    return rc;
  }
  r.out_name = file ? part.data : "standard output";
  int fail_exit = TG_CLI_EFAIL;
  int ok = get_transfer(cli, &r, url.data, file != NULL || !isatty(STDOUT_FILENO), &fail_exit);
  rc = get_finish(&r, file, direct ? NULL : part.data, ok);
  if (rc != 0 && !ok)
    rc = fail_exit;
  tg_buf_close(&r.hold);
  tg_buf_close(&r.peek);
  tg_buf_close(&url);
  tg_buf_close(&part);
  return rc;
}

/* ---------- tsunagu put ---------- */

#define PUT_FAILED TG_CLI_EFAIL /* nothing known stored: the request failed or was refused */

/* Reads IN's leading white space and first other byte into PEEK; returns the
 * Content-Type header the body calls for, or NULL with *EMPTY set when the
 * input holds nothing but white space (or TG_EIO in *EMPTY on a read error). */
static const char *put_peek(FILE *in, struct tg_buf *peek, int *empty) {
  int ch;
  *empty = 0;
  while ((ch = getc(in)) != EOF) {
    unsigned char b = (unsigned char)ch;
    if (tg_buf_append(peek, &b, 1)) {
      *empty = TG_ENOMEM;
      return NULL;
    }
    if (!isspace(b))
      return b == '[' ? "Content-Type: application/json" : "Content-Type: application/x-ndjson";
    if (peek->len >= DATA_PEEK_MAX) /* much white space: lines, then */
      return "Content-Type: application/x-ndjson";
  }
  *empty = ferror(in) ? TG_EIO : 1;
  return NULL;
}

/* "stored N records (seq A..B)" for the answer S (ingest summary or problem). */
static void put_print_stored(const json_t *s, FILE *f, const char *suffix) {
  json_int_t stored = json_integer_value(json_object_get(s, "stored"));
  json_t *a = json_object_get(s, "first_seq"), *b = json_object_get(s, "last_seq");
  fprintf(f, "stored %lld record%s", (long long)stored, stored == 1 ? "" : "s");
  if (stored > 0 && json_is_integer(a) && json_is_integer(b))
    fprintf(f, " (seq %lld..%lld)", (long long)json_integer_value(a),
            (long long)json_integer_value(b));
  fprintf(f, "%s\n", suffix);
}

/* Prints the ingest summary S; returns the exit status (0 all stored, 1 some refused). */
static int put_report(const struct tg_cli *cli, json_t *s) {
  if (cli->json)
    tg_cli_print_json(s);
  else
    put_print_stored(s, stdout, "");
  json_int_t refused = json_integer_value(json_object_get(s, "refused"));
  size_t i;
  json_t *e;
  if (!cli->json) {
    json_array_foreach(json_object_get(s, "errors"), i, e) {
      printf("refused %s: %s\n", json_string_value(json_object_get(e, "pointer")) ?: "?",
             json_string_value(json_object_get(e, "detail")) ?: "?");
    }
    json_int_t omitted = json_integer_value(json_object_get(s, "errors_omitted"));
    if (omitted > 0)
      printf("… and %lld more refused records not listed (%lld refused in all)\n",
             (long long)omitted, (long long)refused);
  }
  return refused > 0 ? 1 : 0;
}

/* Opens FILE ("-": stdin) into R->in and chooses the Content-Type. Returns 0,
 * or prints one line and returns PUT_FAILED. */
static int put_open(struct data_run *r, const char *file, const char **ctype) {
  int empty;
  r->in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
  if (r->in == NULL) {
    tg_cli_fail("put: cannot open %s: %s", file, strerror(errno));
    return PUT_FAILED;
  }
  *ctype = put_peek(r->in, &r->peek, &empty);
  if (*ctype != NULL)
    return 0;
  if (empty == 1)
    tg_cli_fail("put: %s holds no records", strcmp(file, "-") == 0 ? "standard input" : file);
  else
    tg_cli_fail("put: cannot read %s: %s", file,
                empty == TG_EIO ? strerror(errno) : "out of memory");
  return PUT_FAILED;
}

static int put_result(struct tg_cli *cli, struct data_run *r, const char *file) {
  if (r->read_failed) {
    tg_cli_fail("put: cannot read %s after %llu bytes", file, (unsigned long long)r->bytes);
    return PUT_FAILED;
  }
  if (r->status >= 300 && r->hold.len > 0) {
    json_t *p = report_problem(r);
    if (json_integer_value(json_object_get(p, "stored")) > 0) /* chunks before a broken one */
      put_print_stored(p, stderr, " before the error");
    json_decref(p);
    return tg_cli_status_exit(cli, r->status);
  }
  if (r->rc != 0 && r->status == 0 && r->bytes == 0) {
    tg_cli_fail("put: cannot reach %s: %s", cli->url, r->errmsg);
    return TG_CLI_EUNREACH;
  }
  if (r->rc != 0) {
    tg_cli_fail("put: %s (after sending %llu bytes; what was stored is unknown)", r->errmsg,
                (unsigned long long)r->bytes);
    return PUT_FAILED;
  }
  json_t *s = json_loadb(r->hold.data ? r->hold.data : "", r->hold.len, 0, NULL);
  int rc = PUT_FAILED;
  if (r->status < 200 || r->status >= 300 || !json_is_integer(json_object_get(s, "stored")))
    tg_cli_fail("put: the node answered %d without an ingest summary", r->status);
  else
    rc = put_report(cli, s);
  json_decref(s);
  return rc;
}

/* POSTs R's body (opened by put_open, of type CTYPE) to dataset ID's data;
 * returns the exit status. */
static int put_send(struct tg_cli *cli, struct data_run *r, const char *id, const char *file,
                    const char *ctype) {
  int rrc = tg_cli_resolve(cli);
  if (rrc != 0)
    return rrc;
  if (tg_cli_token_transport(cli))
    return PUT_FAILED;
  /* No catalog look-up first: a writer may hold data:write alone, and the
   * node's early refusal (404, 409) of a streamed body reaches us as is. */
  struct tg_buf url;
  tg_buf_init(&url);
  int rc = PUT_FAILED;
  char auth[8300];
  const char *hdrs[4] = {NULL, NULL, NULL, NULL};
  int nh = 0;
  auth_header(cli, auth, sizeof(auth), hdrs, &nh);
  hdrs[nh++] = ctype;
  hdrs[nh++] = "Accept: application/json, application/problem+json";
  struct tg_client_opts o = {
      .method = "POST", .headers = hdrs, .stream_body = 1, .timeout_ms = DATA_TIMEOUT_MS};
  if (data_url(&url, cli, id)) {
    tg_cli_fail("out of memory");
  } else {
    o.url = url.data;
    if (run(cli, r, &o, 1) != 0) {
      tg_cli_fail("put: cannot reach %s: %s", cli->url, r->errmsg);
      rc = TG_CLI_EUNREACH;
    } else
      rc = put_result(cli, r, file);
  }
  tg_buf_close(&url);
  return rc;
}

int tg_cli_put(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "put", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("put", argc, argv, 2, 2,
                               "which dataset and file? (tsunagu put ID FILE|-)")) != 0)
    return rc;
  struct data_run r;
  memset(&r, 0, sizeof(r));
  r.cmd = "put";
  tg_buf_init(&r.hold);
  tg_buf_init(&r.peek);
  const char *ctype = NULL;
  rc = put_open(&r, argv[1], &ctype);
  if (rc == 0)
    rc = put_send(cli, &r, argv[0], argv[1], ctype);
  if (r.in != NULL && r.in != stdin)
    fclose(r.in);
  tg_buf_close(&r.hold);
  tg_buf_close(&r.peek);
  return rc;
}
