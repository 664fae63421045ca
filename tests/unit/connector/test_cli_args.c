/* Unit tests for connector/tg_cli_args: the CLI's one option parser (options
 * and arguments mixed, --name=value, "--", globals merged in, usage errors as
 * exit status 2) and its one reader of FILE or "-" (stdin), bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_cli.h"
#include "tg_err.h"

/* Parses the NULL-terminated ARGS (copied: the parser reorders them). */
struct run {
  char *argv[16];
  int argc;
};

static int parse(struct run *r, struct tg_cli *cli, const struct tg_cli_opt *opts, unsigned flags,
                 const char *const *args) {
  r->argc = 0;
  while (args[r->argc] != NULL) {
    r->argv[r->argc] = (char *)args[r->argc];
    r->argc++;
  }
  return tg_cli_getopt(cli, "test", &r->argc, r->argv, opts, flags);
}

static void test_mixed(void **state) {
  (void)state;
  struct tg_cli cli;
  memset(&cli, 0, sizeof(cli));
  const char *node = NULL, *mode = NULL;
  int nd = 0;
  const struct tg_cli_opt opts[] = {{"node", 'n', &node, NULL, NULL},
                                    {"lenient", 0, &mode, NULL, "lenient"},
                                    {"ndjson", 0, NULL, &nd, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  struct run r;
  const char *a[] = {"one",       "--node",   "n-a", "--json", "-", "--dir=D",
                     "--lenient", "--ndjson", "--",  "--node", NULL};
  assert_int_equal(parse(&r, &cli, opts, 0, a), 0);
  assert_string_equal(node, "n-a");
  assert_string_equal(mode, "lenient");
  assert_int_equal(nd, 1);
  assert_int_equal(cli.json, 1);
  assert_string_equal(cli.dir, "D");
  assert_int_equal(r.argc, 3); /* after "--", "--node" is an argument */
  assert_string_equal(r.argv[0], "one");
  assert_string_equal(r.argv[1], "-");
  assert_string_equal(r.argv[2], "--node");
  const char *b[] = {"-n", "x", NULL};
  assert_int_equal(parse(&r, &cli, opts, 0, b), 0);
  assert_string_equal(node, "x");
  assert_int_equal(r.argc, 0);
}

static void test_errors(void **state) {
  (void)state;
  struct tg_cli cli;
  memset(&cli, 0, sizeof(cli));
  const char *node = NULL;
  int nd = 0;
  const struct tg_cli_opt opts[] = {
      {"node", 0, &node, NULL, NULL}, {"ndjson", 0, NULL, &nd, NULL}, {NULL, 0, NULL, NULL, NULL}};
  struct run r;
  const char *unknown[] = {"a", "--bogus", NULL};
  const char *noval[] = {"a", "--node", NULL};
  const char *noval_g[] = {"--url", NULL};
  const char *takesnone[] = {"--ndjson=1", NULL};
  const char *shortopt[] = {"-x", NULL};
  const char *abbrev[] = {"--nod", "x", NULL};
  const char *abbrev_eq[] = {"--nod=x", NULL};
  assert_int_equal(parse(&r, &cli, opts, 0, abbrev), 2);
  assert_int_equal(parse(&r, &cli, opts, 0, abbrev_eq), 2);
  assert_int_equal(parse(&r, &cli, opts, 0, unknown), 2);
  assert_int_equal(parse(&r, &cli, opts, 0, noval), 2);
  assert_int_equal(parse(&r, &cli, opts, 0, noval_g), 2);
  assert_int_equal(parse(&r, &cli, opts, 0, takesnone), 2);
  assert_int_equal(parse(&r, &cli, opts, 0, shortopt), 2);
  /* a --dir too long for DIR/NAME to fit a path */
  static char longdir[4000];
  memset(longdir, 'a', sizeof(longdir) - 1);
  const char *toolong[] = {"--dir", longdir, NULL};
  assert_int_equal(parse(&r, &cli, opts, 0, toolong), 2);
  /* without CLI, the global options are unknown */
  const char *global[] = {"--json", NULL};
  assert_int_equal(parse(&r, NULL, opts, 0, global), 2);
  assert_int_equal(tg_cli_nargs("test", 2, r.argv, 0, 1, NULL), 2);
  assert_int_equal(tg_cli_nargs("test", 0, r.argv, 1, 1, "give one"), 2);
  assert_int_equal(tg_cli_nargs("test", 1, r.argv, 1, 1, "give one"), 0);
}

static void test_first_and_override(void **state) {
  (void)state;
  struct tg_cli cli;
  memset(&cli, 0, sizeof(cli));
  struct run r;
  /* FIRST stops at the subcommand; its options are left for it. */
  const char *a[] = {"--json", "sign", "--node", "n", NULL};
  assert_int_equal(parse(&r, &cli, NULL, TG_CLI_OPT_FIRST, a), 0);
  assert_int_equal(cli.json, 1);
  assert_int_equal(r.argc, 3);
  assert_string_equal(r.argv[0], "sign");
  assert_string_equal(r.argv[1], "--node");
  /* A command's own option of a global's name wins; repeated parses reset getopt. */
  const char *tf = NULL;
  const struct tg_cli_opt opts[] = {{"token-file", 0, &tf, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  const char *b[] = {"--token-file", "F", "--url", "U", NULL};
  assert_int_equal(parse(&r, &cli, opts, 0, b), 0);
  assert_string_equal(tf, "F");
  assert_null(cli.token_file);
  assert_string_equal(cli.url, "U");
  assert_int_equal(parse(&r, &cli, opts, 0, b), 0);
  assert_int_equal(r.argc, 0);
}

static void test_read(void **state) {
  (void)state;
  char path[] = "/tmp/tg-cli-read-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "hello\n", 6), 6);
  close(fd);
  char *out = NULL;
  size_t len = 0;
  struct tg_err err;
  tg_err_clear(&err);
  assert_int_equal(tg_cli_read(path, 100, &out, &len, &err), 0);
  assert_int_equal(len, 6);
  assert_string_equal(out, "hello\n");
  free(out);
  assert_int_equal(tg_cli_read(path, 5, &out, &len, &err), TG_ETOOBIG);
  /* "-" is standard input, with the same bound. */
  assert_non_null(freopen(path, "r", stdin));
  assert_int_equal(tg_cli_read("-", 100, &out, &len, &err), 0);
  assert_int_equal(len, 6);
  assert_string_equal(out, "hello\n");
  free(out);
  assert_non_null(freopen(path, "r", stdin));
  assert_int_equal(tg_cli_read("-", 5, &out, NULL, &err), TG_ETOOBIG);
  assert_non_null(strstr(err.msg, "standard input"));
  assert_non_null(freopen("/dev/null", "r", stdin));
  assert_int_equal(tg_cli_read("-", 5, &out, &len, &err), 0);
  assert_int_equal(len, 0);
  assert_string_equal(out, "");
  free(out);
  unlink(path);
  assert_int_equal(tg_cli_read(path, 5, &out, &len, &err), TG_ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mixed),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_first_and_override),
      cmocka_unit_test(test_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
