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
  /* Where the node and the token were found (static strings, for tsunagu info
   * and error messages): set by tg_cli_resolve. */
  const char *node_from;  /* "--dir", "--url", "TSUNAGU_DIR", "TSUNAGU_URL", "the current directory" */
  const char *token_from; /* "--token-file", "TSUNAGU_TOKEN", "DIR/admin.token", or NULL: none */
  char dir_buf[4096];     /* DIR when found in the current directory */
  char token_path[4096];  /* the file the token was read from, or "" */
  char url_buf[512];
  char ca_buf[4096];
  char token[8192];       /* the bearer token (admin token or an OAuth JWT), or "" */
};

/* The exit status of every command (tsunagu(1), EXIT STATUS). */
#define TG_CLI_OK 0
#define TG_CLI_EFAIL 1    /* a failure the node (or a local file, the CA) reported */
#define TG_CLI_EUSAGE 2   /* unknown command, subcommand or option; a missing argument */
#define TG_CLI_EUNREACH 3 /* the node could not be found or reached (not running, no such DIR) */
#define TG_CLI_EAUTH 4    /* refused by authentication or authorisation (401, 403) */

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
/* Finds the node's directory when none was given (--dir, --url): from
 * TSUNAGU_DIR, or the current directory when it holds tsunagu.conf (a node's
 * directory); sets CLI->dir and CLI->node_from. 0 (CLI->dir may stay NULL
 * when --url or TSUNAGU_URL names the node). */
int tg_cli_node_dir(struct tg_cli *cli);
/* Resolves the node's URL, CA and token: the node from --dir, --url,
 * TSUNAGU_DIR, TSUNAGU_URL or the current directory, in that order; the token
 * from --token-file, TSUNAGU_TOKEN or DIR/admin.token. Returns 0, or says why
 * on stderr and returns an exit status (TG_CLI_EUSAGE: no node given;
 * TG_CLI_EUNREACH: DIR missing, not a node, or the node not running). */
int tg_cli_resolve(struct tg_cli *cli);

/* Extra parts of a request to the node. */
struct tg_cli_http {
  const char *if_match;    /* sent as If-Match (an entity tag as the node gave it), or NULL */
  const char *ctype;       /* the body's Content-Type (default application/ld+json) */
  int quiet_status;        /* an answer with this status is returned (0), not reported */
  char etag[128];          /* out: the answer's ETag header as sent, or "" */
};
/* Calls the node: METHOD PATH with an optional body and H (may be NULL); on
 * success *OUT gets the parsed JSON answer (new reference) or NULL for
 * non-JSON, *RAW (may be NULL) the body, *STATUS the status. Returns 0, or
 * prints one line and returns the exit status: TG_CLI_EUNREACH when the node
 * cannot be reached, TG_CLI_EAUTH for 401/403 (saying where the token came
 * from), TG_CLI_EFAIL for another 4xx/5xx (the problem's title, detail and
 * errors). */
int tg_cli_request(struct tg_cli *cli, const char *method, const char *path, const char *body,
                   size_t body_len, struct tg_cli_http *h, int *status, json_t **out, char **raw);
/* tg_cli_request without extras. */
int tg_cli_call(struct tg_cli *cli, const char *method, const char *path, const char *body,
                size_t body_len, int *status, json_t **out, char **raw);
/* The exit status for a node's answer STATUS (>= 400), after saying where the
 * token came from when it is 401 or 403: TG_CLI_EAUTH or TG_CLI_EFAIL. */
int tg_cli_status_exit(const struct tg_cli *cli, int status);

/* A command's result: with --json, OBJ (stolen, may be NULL for {}) with
 * "message" added; else the message alone. Returns 0. */
int tg_cli_done(const struct tg_cli *cli, json_t *obj, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The --json shape of every list: {"items": ITEMS (stolen), "next": NEXT
 * (a string: the node's path of the next page) or null}, printed. */
void tg_cli_print_list(json_t *items, const char *next);

/* Prints J to stdout as indented JSON and a newline (the --json output). */
void tg_cli_print_json(const json_t *j);

/* Commands. */
int tg_cli_init(struct tg_cli *cli, int argc, char **argv);
int tg_cli_info(struct tg_cli *cli, int argc, char **argv);
int tg_cli_health(struct tg_cli *cli, int argc, char **argv);
int tg_cli_metrics(struct tg_cli *cli, int argc, char **argv);
/* Catalog commands (tg_cli_catalog.c): dataset add|apply|edit|list|show|rm, search. */
int tg_cli_dataset(struct tg_cli *cli, int argc, char **argv);
int tg_cli_search(struct tg_cli *cli, int argc, char **argv);
/* tsunagu vocab import|export|schemes|search|convert|profile|rm (tg_cli_vocab.c). */
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
 * dataset; exit 0 all stored, 1 some (or all) refused, 3 unreachable, 4 auth. */
int tg_cli_put(struct tg_cli *cli, int argc, char **argv);

/* tsunagu prov verify|check (tg_cli_prov.c): provenance logs from outside. */
int tg_cli_prov(struct tg_cli *cli, int argc, char **argv);

#endif
