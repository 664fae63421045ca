/* tg_cli: shared parts of the tsunagu command-line client: global options,
 * finding the node (URL, CA, admin token) and calling it over HTTPS. */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <jansson.h>
#include <stddef.h>

/* Options every command understands. */
struct tg_cli {
  const char *dir;        /* --dir: the node's state directory */
  const char *url;        /* --url: the node's base URL (default from DIR) */
  const char *cacert;     /* --cacert: trust anchor (default DIR/node.crt) */
  const char *token_file; /* --token-file (default DIR/admin.token) */
  int json;               /* --json: machine-readable output */
  char url_buf[512];
  char ca_buf[4096];
  char token[8192];       /* the bearer token (admin token or an OAuth JWT), or "" */
};

/* One subcommand. RUN gets the arguments after the command name. */
struct tg_cli_cmd {
  const char *name;
  const char *summary;
  const char *usage;
  int (*run)(struct tg_cli *cli, int argc, char **argv);
};

/* One option of a command, for tg_cli_getopt: --NAME (and -SHORT_NAME if not
 * 0). With FLAG, the option takes no value and sets *FLAG to 1; with VALUE and
 * CONSTANT, it takes no value and sets *VALUE to CONSTANT; with VALUE alone it
 * takes one (--NAME V or --NAME=V), borrowed from argv into *VALUE. */
struct tg_cli_opt {
  const char *name;
  char short_name;
  const char **value;
  int *flag;
  const char *constant;
};

#define TG_CLI_OPT_FIRST 1u /* stop at the first non-option: a subcommand follows */

/* Parses the options of command CMD (e.g. "ca sign") in ARGV (*ARGC entries,
 * not counting the command's name) with getopt_long: the options in OPTS
 * (ended by a NULL name) and, when CLI is not NULL, the global ones (--dir,
 * --url, --cacert, --token-file, --json; an option in OPTS of the same name
 * wins). Options and arguments may mix unless FLAGS has TG_CLI_OPT_FIRST;
 * "--" ends the options. On return ARGV[0 .. *ARGC) are the other arguments,
 * in order. Returns 0, or prints one line ("tsunagu CMD: unknown option --x",
 * "tsunagu CMD: option --x needs a value") and returns the exit status 2. */
int tg_cli_getopt(struct tg_cli *cli, const char *cmd, int *argc, char **argv,
                  const struct tg_cli_opt *opts, unsigned flags);
/* 0 when MIN <= ARGC <= MAX; else prints "tsunagu CMD: unexpected argument
 * 'X'" or "tsunagu CMD: WHAT" and returns the exit status 2. */
int tg_cli_nargs(const char *cmd, int argc, char **argv, int min, int max, const char *what);

/* Reads FILE, or standard input when FILE is "-", whole into *OUT (from
 * malloc, NUL-terminated; the caller frees it) and *LEN (may be NULL).
 * Returns 0, TG_ETOOBIG past MAX bytes, or another TG_E* code, with a
 * sentence for humans in ERR. */
struct tg_err;
int tg_cli_read(const char *file, size_t max, char **out, size_t *len, struct tg_err *err);

/* Prints "tsunagu: MESSAGE" to stderr and returns 1 (the exit status). */
int tg_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: prints "tsunagu MESSAGE" (MESSAGE starts with the command:
 * "ca: unknown subcommand 'x'") to stderr and returns the exit status 2. */
int tg_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 0 when CLI's token (if any) may go to CLI's URL: https, or http to this
 * machine only; otherwise says why on stderr and returns 1. */
int tg_cli_token_transport(const struct tg_cli *cli);
/* Resolves the node's URL, CA and token from the options. */
int tg_cli_resolve(struct tg_cli *cli);
/* Calls the node: METHOD PATH with an optional JSON body; on success *OUT gets
 * the parsed JSON answer (new reference) or NULL for non-JSON, *STATUS the
 * status. Problems (4xx/5xx with problem+json) are printed and give 1. */
int tg_cli_call(struct tg_cli *cli, const char *method, const char *path, const char *body,
                size_t body_len, int *status, json_t **out, char **raw);

/* Prints J to stdout as indented JSON and a newline (the --json output). */
void tg_cli_print_json(const json_t *j);

/* Commands. */
int tg_cli_init(struct tg_cli *cli, int argc, char **argv);
int tg_cli_info(struct tg_cli *cli, int argc, char **argv);
int tg_cli_health(struct tg_cli *cli, int argc, char **argv);
int tg_cli_metrics(struct tg_cli *cli, int argc, char **argv);
/* Catalog commands (tg_cli_catalog.c): dataset add|list|show|rm, search. */
int tg_cli_dataset(struct tg_cli *cli, int argc, char **argv);
int tg_cli_search(struct tg_cli *cli, int argc, char **argv);
/* tsunagu vocab import|export|schemes|search|convert|profile (tg_cli_vocab.c). */
int tg_cli_vocab(struct tg_cli *cli, int argc, char **argv);
/* Federation CA and node certificates, offline (tg_cli_ca.c): ca init|token|
 * sign|revoke|crl, csr, cert install. */
int tg_cli_ca(struct tg_cli *cli, int argc, char **argv);
int tg_cli_csr(struct tg_cli *cli, int argc, char **argv);
int tg_cli_cert(struct tg_cli *cli, int argc, char **argv);
/* tsunagu register: enroll with a CA node, pinning its CA by fingerprint. */
int tg_cli_register(struct tg_cli *cli, int argc, char **argv);
/* tsunagu peer add|list|rm|sync (tg_cli_peers.c). */
int tg_cli_peer(struct tg_cli *cli, int argc, char **argv);
/* tsunagu renew: a new certificate from the hub, authenticated by the current one. */
int tg_cli_renew(struct tg_cli *cli, int argc, char **argv);
/* tsunagu get: a dataset's data, streamed to a file or stdout (tg_cli_data.c);
 * exit 0 only for a complete 2xx answer. */
int tg_cli_get(struct tg_cli *cli, int argc, char **argv);
/* tsunagu put: observations streamed from a file or stdin to an accumulated
 * dataset; exit 0 all stored, 1 some refused, 2 failed. */
int tg_cli_put(struct tg_cli *cli, int argc, char **argv);

/* tsunagu prov verify|check (tg_cli_prov.c): provenance logs from outside. */
int tg_cli_prov(struct tg_cli *cli, int argc, char **argv);

#endif
