/* tg_cli_args: the CLI's one option parser (getopt_long over a table, with
 * the global options merged in) and its one way to read FILE or "-" (stdin). */
#include "tg_buf.h"
#include "tg_cli.h"
#include "tg_err.h"
#include "tg_util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TG_CLI_DIR_MAX 3800 /* leaves room for "/tsunagud.addr" and ".new" in 4096 */

/* The options every command understands, wherever they appear. */
static void globals(struct tg_cli *cli, struct tg_cli_opt out[6]) {
  const struct tg_cli_opt g[] = {
      {"dir", 0, &cli->dir, NULL, NULL},       {"url", 0, &cli->url, NULL, NULL},
      {"cacert", 0, &cli->cacert, NULL, NULL}, {"token-file", 0, &cli->token_file, NULL, NULL},
      {"json", 0, NULL, &cli->json, NULL},     {NULL, 0, NULL, NULL, NULL}};
  memcpy(out, g, sizeof(g));
}

static int takes_value(const struct tg_cli_opt *o) {
  return o->value != NULL && o->constant == NULL;
}

/* Applies option O (with its value VAL, if it takes one). */
static void apply(const struct tg_cli_opt *o, const char *val) {
  if (o->flag != NULL)
    *o->flag = 1;
  else if (o->constant != NULL)
    *o->value = o->constant;
  else
    *o->value = val;
}

/* Prints "tsunagu CMD: MESSAGE (try ...)" to stderr; returns the usage exit status 2. */
static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "tsunagu%s%s: %s (try tsunagu %s%s--help)\n", cmd ? " " : "", cmd ? cmd : "", msg,
          cmd ? cmd : "", cmd ? " " : "");
  return 2;
}

int tg_cli_getopt(struct tg_cli *cli, const char *cmd, int *argc, char **argv,
                  const struct tg_cli_opt *opts, unsigned flags) {
  struct tg_cli_opt all[64];
  size_t n = 0;
  for (; opts != NULL && opts[n].name != NULL; n++) {
    if (n + 7 > sizeof(all) / sizeof(all[0]))
      return usage_error(cmd, "too many options (at %s)", opts[n].name); /* a bug */
    all[n] = opts[n];
  }
  if (cli != NULL) { /* a command's own option of the same name wins */
    struct tg_cli_opt g[6];
    globals(cli, g);
    for (const struct tg_cli_opt *o = g; o->name != NULL; o++) {
      size_t k = 0;
      while (k < n && strcmp(all[k].name, o->name) != 0)
        k++;
      if (k == n)
        all[n++] = *o;
    }
  }
  struct option lo[65];
  char shorts[3 + 2 * 64] = "";
  size_t sl = 0;
  if (flags & TG_CLI_OPT_FIRST)
    shorts[sl++] = '+'; /* stop at the first argument: a (sub)command follows */
  shorts[sl++] = ':';   /* a missing value is ':', not '?' */
  for (size_t i = 0; i < n; i++) {
    lo[i] = (struct option){all[i].name, takes_value(&all[i]) ? required_argument : no_argument,
                            NULL, (int)(256 + i)};
    if (all[i].short_name) {
      shorts[sl++] = all[i].short_name;
      if (takes_value(&all[i]))
        shorts[sl++] = ':';
    }
  }
  shorts[sl] = '\0';
  lo[n] = (struct option){NULL, 0, NULL, 0};

  /* getopt wants argv[0] to be the program; it permutes the copy. */
  char **v = malloc(((size_t)*argc + 2) * sizeof(*v));
  if (v == NULL) {
    fprintf(stderr, "tsunagu: out of memory\n");
    return 1;
  }
  v[0] = (char *)(cmd ? cmd : "tsunagu");
  memcpy(v + 1, argv, (size_t)*argc * sizeof(*v));
  v[*argc + 1] = NULL;
  int vc = *argc + 1, rc = 0, c, idx;
  char name[208];
  opterr = 0;
  optind = 0; /* a full reset (GNU): this runs once per level of command */
  while (rc == 0 && (c = getopt_long(vc, v, shorts, lo, &idx)) != -1) {
    if (c >= 256 && (size_t)(c - 256) < n) {
      /* getopt_long takes abbreviations (--nod for --node); tsunagu's
       * options are spelled out, as they always were. */
      const char *text =
          optarg != NULL && optind >= 2 && optarg == v[optind - 1] ? v[optind - 2] : v[optind - 1];
      size_t l = strlen(all[c - 256].name);
      if (strncmp(text, "--", 2) != 0 || strncmp(text + 2, all[c - 256].name, l) != 0 ||
          (text[2 + l] != '\0' && text[2 + l] != '=')) {
        snprintf(name, sizeof(name), "%.200s", text);
        name[strcspn(name, "=")] = '\0';
        rc = usage_error(cmd, "unknown option %s", name);
        break;
      }
      apply(&all[c - 256], optarg);
    } else if (c == ':' || c == '?') {
      if (optopt >= 256 && (size_t)(optopt - 256) < n)
        snprintf(name, sizeof(name), "--%.200s", all[optopt - 256].name);
      else if (optopt > 0 && optopt < 256)
        snprintf(name, sizeof(name), "-%c", optopt);
      else
        snprintf(name, sizeof(name), "%.200s", v[optind - 1]);
      name[strcspn(name, "=")] = '\0';
      rc = c == ':'        ? usage_error(cmd, "option %s needs a value", name)
           : optopt >= 256 ? usage_error(cmd, "option %s takes no value", name)
                           : usage_error(cmd, "unknown option %s", name);
    } else {
      for (size_t i = 0; i < n; i++)
        if (all[i].short_name == c)
          apply(&all[i], optarg);
    }
  }
  /* Every file of a node is DIR/NAME in a PATH_MAX buffer: a longer DIR
   * would be cut short there, so it is refused here, once. */
  if (rc == 0 && cli != NULL && cli->dir != NULL && strlen(cli->dir) > TG_CLI_DIR_MAX)
    rc = usage_error(cmd, "--dir is longer than %d bytes", TG_CLI_DIR_MAX);
  if (rc == 0) {
    int np = vc - optind;
    memmove(argv, v + optind, (size_t)np * sizeof(*v));
    *argc = np;
  }
  free(v);
  return rc;
}

int tg_cli_nargs(const char *cmd, int argc, char **argv, int min, int max, const char *what) {
  if (argc > max)
    return usage_error(cmd, "unexpected argument '%s'", argv[max]);
  if (argc < min) {
    fprintf(stderr, "tsunagu %s: %s (try tsunagu %s --help)\n", cmd, what, cmd);
    return 2;
  }
  return 0;
}

int tg_cli_read(const char *file, size_t max, char **out, size_t *len, struct tg_err *err) {
  if (strcmp(file, "-") != 0)
    return tg_file_read(file, max, out, len, err);
  struct tg_buf b;
  char chunk[16384];
  size_t n;
  tg_buf_init(&b);
  while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
    if (b.len + n > max) {
      tg_buf_close(&b);
      return tg_err_set(err, TG_ETOOBIG, "standard input is larger than %zu bytes", max);
    }
    if (tg_buf_append(&b, chunk, n)) {
      tg_buf_close(&b);
      return tg_err_set(err, TG_ENOMEM, "out of memory");
    }
  }
  if (ferror(stdin)) {
    tg_buf_close(&b);
    return tg_err_set(err, TG_EIO, "cannot read standard input");
  }
  size_t got = b.len;
  char *data = tg_buf_take(&b); /* NUL-terminated, "" when empty */
  if (data == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  *out = data;
  if (len != NULL)
    *len = got;
  return 0;
}
