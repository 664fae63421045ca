/* tsunagu: the command-line client for operators and users. It talks to a
 * node over its HTTPS API, never to the node's database while it runs. */
#include "config.h"
#include "tg_cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const struct tg_cli_cmd tg__cmds[] = {
  {"init", "create a node's state directory",
   "tsunagu init --dir DIR --id NODE-ID [--name NAME] [--listen HOST:PORT] [--hosts LIST]\n"
   "  Creates DIR with the node key (0600), a bootstrap certificate, tsunagu.conf,\n"
   "  the database and an admin token (0600). Refuses to overwrite a node.\n"
   "  NODE-ID is a DNS label: lowercase letters, digits and '-'.\n"
   "  --hosts adds DNS names or IP addresses (comma-separated) to the certificate;\n"
   "  its first reachable name (not a wildcard, not loopback) and the listen port\n"
   "  become [node] url, which register enrols with.\n"
   "Example:\n  tsunagu init --dir /var/lib/tsunagu/a-city --id a-city --listen 0.0.0.0:8462 \\\n"
   "    --hosts tsunagu.a-city.example.lg.jp\n",
   tg_cli_init},
  {"info", "show what a node says about itself", "tsunagu info [--dir DIR | --url URL] [--json]\n"
   "  Prints the node's /.well-known/tsunagu: id, name, version, federation,\n"
   "  endpoints and certificate fingerprint, how the node was found (--dir, --url,\n"
   "  TSUNAGU_DIR, TSUNAGU_URL or the current directory) and where the token came\n"
   "  from (--token-file, TSUNAGU_TOKEN or DIR/admin.token); on stderr, a warning for\n"
   "  the node or CA certificate or the CRL when it expires within 14 days.\n"
   "Example:\n  cd /var/lib/tsunagu/a-city && tsunagu info\n", tg_cli_info},
  {"health", "check that a node answers", "tsunagu health [--dir DIR | --url URL] [--json]\n"
   "  Exits 0 when the node answers /healthz with ok, or degraded (serving, with\n"
   "  warnings such as a certificate expiring within 14 days, printed on stderr).\n"
   "Example:\n  tsunagu --url https://127.0.0.1:8462 --cacert node.crt health\n",
   tg_cli_health},
  {"metrics", "print a node's Prometheus metrics", "tsunagu metrics [--dir DIR | --url URL] [--json]\n"
   "  The node's /metrics as Prometheus text; --json: {\"items\": [{\"name\", \"labels\",\n"
   "  \"value\"}, ...], \"next\": null}, one item a sample.\n"
   "Example:\n  tsunagu metrics --json | jq '.items[] | select(.name == \"tsunagu_cert_expiry_seconds\")'\n",
   tg_cli_metrics},
  {"dataset", "add, apply, edit, list, show or remove datasets in the node's catalog",
   "tsunagu dataset add FILE|-      publish a DCAT-AP JSON-LD dataset (- reads stdin)\n"
   "       tsunagu dataset apply [--id ID] FILE|-\n"
   "                                create or update a dataset by its @id (idempotent)\n"
   "       tsunagu dataset edit ID         edit a dataset in $EDITOR and apply it\n"
   "       tsunagu dataset list            list the catalog's datasets\n"
   "       tsunagu dataset show ID         show one dataset (--json: the document)\n"
   "       tsunagu dataset rm ID           delete a dataset\n"
   "  Options: --dir DIR | --url URL, --token-file FILE, --json.\n"
   "  tsunagu dataset SUBCOMMAND --help shows one subcommand.\n"
   "Example:\n  tsunagu dataset apply river.json\n", tg_cli_dataset},
  {"search", "search the catalog",
   "tsunagu search [--scope local|federation] [--mode M] [--theme THEME] [--keyword K]\n"
   "               [--near LAT,LON,KM] [--timeout MS] [--json] WORDS...\n"
   "  Ranked search of the node's catalog; Japanese words of one or two characters work.\n"
   "  THEME is a theme's IRI, or a label, id or notation of the node's themes scheme\n"
   "  (防災, \"disaster prevention\", disaster-prevention, T04).\n"
   "Example:\n  tsunagu search --theme 防災 水位\n",
   tg_cli_search},
  {"get", "read a dataset's data (from this node or its owner)",
   "tsunagu get DATASET-ID [--since T] [--until T] [--latest] [--profile P] [-o FILE]\n"
   "  Streams the dataset's data (NDJSON, or the source's own format) to stdout or\n"
   "  FILE, from the node or forwarded by it to the dataset's owner. --since and\n"
   "  --until bound the observation time, --latest keeps the newest record of each\n"
   "  entity, --profile converts through a conversion profile. Exits 0 only for a\n"
   "  complete answer; a refusal is one line (status, problem type, detail); with\n"
   "  -o, FILE appears only when the answer is whole (FILE.part until then).\n"
   "  Options: --dir DIR | --url URL, --token-file FILE.\n"
   "Example:\n  tsunagu get urn:tsunagu:a-city:dataset:river --latest -o river.ndjson\n",
   tg_cli_get},
  {"put", "store observations in an accumulated dataset",
   "tsunagu put DATASET-ID FILE|-\n"
   "  Streams FILE (- reads stdin) to the node: NDJSON, or a JSON array when the\n"
   "  first non-space byte is '['. Prints how many records were stored (with their\n"
   "  sequence numbers) and each refused one with its JSON pointer and why.\n"
   "  Exits 0 when all were stored, 1 when some or all were refused.\n"
   "  Options: --dir DIR | --url URL, --token-file FILE, --json.\n"
   "Example:\n  tsunagu put urn:tsunagu:a-city:dataset:rain readings.ndjson\n",
   tg_cli_put},
  {"vocab", "vocabularies (SKOS) and API conversion",
   "tsunagu vocab import [--replace] FILE|-\n"
   "                                             import a SKOS JSON-LD concept scheme\n"
   "                                             (--replace: replace it, with If-Match)\n"
   "       tsunagu vocab export ID               print a scheme as SKOS JSON-LD\n"
   "       tsunagu vocab schemes                 list the node's schemes\n"
   "       tsunagu vocab search [--lang L] [--scheme ID] [--limit N] WORDS...\n"
   "                                             search labels and notations\n"
   "       tsunagu vocab convert --profile ID [--lenient|--strict] [--ndjson] [IN|-] > OUT\n"
   "                                             stream IN through the node's profile ID;\n"
   "                                             each value it could not convert goes to\n"
   "                                             stderr with its JSON pointer; exits 1 if a\n"
   "                                             record was left out (strict) or the input broke\n"
   "       tsunagu vocab profile put FILE|-      store a conversion profile (by its \"id\")\n"
   "       tsunagu vocab profile list            list the stored profiles\n"
   "       tsunagu vocab rm ID                   delete a scheme\n"
   "  Options: --dir DIR | --url URL, --token-file FILE, --json.\n"
   "  tsunagu vocab SUBCOMMAND --help shows one subcommand.\n"
   "Example:\n  tsunagu vocab import --replace gauges.jsonld\n", tg_cli_vocab},
  {"ca", "run the federation certificate authority (offline)",
   "tsunagu ca init --dir CA --name NAME [--days N]\n"
   "                           create a CA: key (0600), ca.crt, crl.pem, ca.db\n"
   "       tsunagu ca token --dir CA --node NODE-ID [--ttl 24h] [--hosts LIST]\n"
   "                           print a one-time enrollment token for NODE-ID; with --hosts\n"
   "                           the node may enrol only under those host names / IPs\n"
   "       tsunagu ca sign --dir CA --node NODE-ID [--hosts LIST] [--url URL] [--valid 90d]\n"
   "                       FILE.csr|- > node.crt\n"
   "                           issue a node certificate for the CSR's key; the SAN is the\n"
   "                           node id, LIST and URL's host; nothing is taken from the CSR;\n"
   "                           URL is listed in the federation directory\n"
   "       tsunagu ca revoke --dir CA (--node ID | --serial S) [--reason R]\n"
   "                           revoke and write a new crl.pem (reasons: unspecified,\n"
   "                           keyCompromise, affiliationChanged, superseded,\n"
   "                           cessationOfOperation, privilegeWithdrawn); --serial also\n"
   "                           revokes every certificate renewed or rotated from the\n"
   "                           same enrolment that is still valid\n"
   "       tsunagu ca crl --dir CA  issue a fresh CRL (new number and nextUpdate)\n"
   "Example:\n  tsunagu ca init --dir ca --name \"Hokkaido Federation\"\n",
   tg_cli_ca},
  {"csr", "print a certificate signing request for a node's key",
   "tsunagu csr --dir NODE-DIR [--hosts LIST] > node.csr\n"
   "Example:\n  tsunagu csr --dir b --hosts b.example.jp > b.csr\n", tg_cli_csr},
  {"cert", "install a CA-issued certificate in a node directory",
   "tsunagu cert install --dir NODE-DIR --cert node.crt --ca ca.crt [--crl crl.pem]\n"
   "  Checks that the certificate is for the node's key and id and chains to the CA\n"
   "  (and is not revoked by the CRL), then installs node.crt, ca.crt and crl.pem.\n"
   "Example:\n  tsunagu cert install --dir b --cert b.crt --ca ca.crt --crl crl.pem\n",
   tg_cli_cert},
  {"register", "enroll a node with a CA node (HTTP), pinning the CA by fingerprint",
   "tsunagu register --dir DIR --hub URL (--token T | --token-file FILE)\n"
   "                 --ca-fingerprint SHA256 [--node-url URL | --hosts LIST] [--local]\n"
   "  Fetches the hub's CA certificate and accepts it only if its SHA-256 is the one\n"
   "  given; then, over TLS verified with that CA, sends a CSR for the node's key with\n"
   "  the one-time token, checks the answer and installs node.crt, ca.crt and crl.pem.\n"
   "  The node's URL, whose host goes in the certificate and the federation directory:\n"
   "  --node-url, else [node] url, else the first of --hosts with the listen port, else\n"
   "  https://[http] listen. A wildcard address (0.0.0.0, ::) is refused; a loopback\n"
   "  one too unless --local (the whole federation runs on this machine).\n"
   "  --token-file keeps the token out of ps and shell history.\n"
   "Example:\n  tsunagu register --dir b --hub https://hub.example.jp:8462 --token-file tok \\\n"
   "    --ca-fingerprint 3A:...:9F --node-url https://b.example.jp:8462\n",
   tg_cli_register},
  {"peer", "the node's peers: add, list (checked over mutual TLS), remove, sync",
   "tsunagu peer add NODE-ID URL   add (or update) a peer\n"
   "       tsunagu peer list              the node checks each peer over mutual TLS with its\n"
   "                                      federation certificate and shows reachability,\n"
   "                                      latency, last contact and certificate expiry\n"
   "       tsunagu peer rm NODE-ID        remove a peer\n"
   "       tsunagu peer sync [--hub URL]  add the active members of the hub's federation\n"
   "                                      directory (needs --dir; remembers the hub)\n"
   "  Options: --dir DIR | --url URL, --token-file FILE, --json.\n"
   "Example:\n  tsunagu peer sync --hub https://hub.example.jp:8462\n",
   tg_cli_peer},
  {"renew", "renew the node's federation certificate before it expires",
   "tsunagu renew --dir DIR [--hub URL] [--new-key]\n"
   "  Sends a CSR for the node's key to the hub's /api/v1/certs/renew over mutual TLS with\n"
   "  the current certificate (which must be valid and not revoked), checks the answer,\n"
   "  installs node.crt and crl.pem atomically and asks the running node to reload:\n"
   "  open connections are not dropped. The hub defaults to [federation] hub.\n"
   "  A renewal keeps the key; the CA refuses a CSR for another one.\n"
   "  --new-key  rotate the key: a new P-256 key (node.key.new until the CA has\n"
   "             certified it), asked for as a rotation, which the CA records and\n"
   "             which revokes the old certificates (superseded); then node.key and\n"
   "             node.crt are replaced.\n"
   "Example:\n  tsunagu renew --dir /var/lib/tsunagu/a-city\n",
   tg_cli_renew},
  {"prov", "provenance logs: verify a node's, check a received entry, show the history",
   "tsunagu prov verify [--node URL]\n"
   "       tsunagu prov check ENTRY-REF [--owner URL]\n"
   "       tsunagu prov show [--dataset ID] [--since T]\n"
   "  verify: fetches the node's signed tree head (the local node's by default, or the one\n"
   "  at URL over mutual TLS), checks its signature with the node's federation certificate,\n"
   "  recomputes the root from every leaf, checks every entry shown against its leaf, and\n"
   "  a consistency proof from the tree head verified last time (kept in DIR), so that a\n"
   "  node that rewrote its history is caught.\n"
   "  check: ENTRY-REF (NODE:INDEX:TREE-SIZE:ROOT) is one of this node's data-received\n"
   "  entries: proves it in this node's log, then with the owner's inclusion proof that\n"
   "  the owner logged the same payload (bytes and SHA-256) under a signed tree head.\n"
   "  The owner's URL comes from the peers, or --owner URL. Needs --dir (a federated node).\n"
   "  show: the node's log as a readable history (admin): who read what, when, how much,\n"
   "  the outcome; --dataset keeps one dataset's entries, --since T those from T on\n"
   "  (2026-12-01 or 2026-12-01T12:00:00); --json: {\"items\": [...], \"next\": null}.\n"
   "Example:\n  tsunagu prov verify\n",
   tg_cli_prov},
};
#define TG_NCMDS (int)(sizeof(tg__cmds) / sizeof(tg__cmds[0]))

/* The usage of each subcommand, for tsunagu COMMAND SUBCOMMAND --help. */
static const struct {
  const char *name, *usage;
} tg__subs[] = {
  {"dataset add", "tsunagu dataset add FILE|-\n"
   "  Publishes a DCAT-AP JSON-LD dataset (- reads stdin) as a new dataset; the node\n"
   "  assigns its id unless the document's @id is urn:tsunagu:NODE:dataset:LOCAL-ID.\n"
   "  To create or update by id, use dataset apply.\n"
   "Example:\n  tsunagu dataset add river.json\n"},
  {"dataset apply", "tsunagu dataset apply [--id ID] FILE|-\n"
   "  Creates the dataset, or updates it when it exists, by the document's @id\n"
   "  (urn:tsunagu:NODE:dataset:LOCAL-ID, or a local id such as \"river\") or --id.\n"
   "  An update is a PUT with If-Match of the version read just before, so a change\n"
   "  made meanwhile by someone else is refused (412), not overwritten. Applying the\n"
   "  same document again changes nothing and says \"unchanged\" (exit 0).\n"
   "Example:\n  tsunagu dataset apply river.json\n  tsunagu dataset apply --id river - < river.json\n"},
  {"dataset edit", "tsunagu dataset edit ID\n"
   "  Fetches dataset ID, opens it in $VISUAL, $EDITOR or vi, and applies what was\n"
   "  saved (as dataset apply: If-Match, nothing when unchanged). A refused edit is\n"
   "  kept in a temporary file, named on stderr.\n"
   "Example:\n  EDITOR=nano tsunagu dataset edit urn:tsunagu:a-city:dataset:river\n"},
  {"dataset list", "tsunagu dataset list\n"
   "  Lists the catalog's datasets: id, modified, title (--json: {\"items\": [...], \"next\": null}).\n"
   "Example:\n  tsunagu dataset list --json | jq -r '.items[][\"@id\"]'\n"},
  {"dataset show", "tsunagu dataset show ID\n"
   "  Shows one dataset (--json: the owner's DCAT-AP document).\n"
   "Example:\n  tsunagu dataset show urn:tsunagu:a-city:dataset:river\n"},
  {"dataset rm", "tsunagu dataset rm ID\n  Deletes a dataset.\n"
   "Example:\n  tsunagu dataset rm urn:tsunagu:a-city:dataset:river\n"},
  {"vocab import", "tsunagu vocab import [--replace] FILE|-\n"
   "  Imports a SKOS JSON-LD concept scheme. A scheme the node already holds is\n"
   "  refused unless --replace: then the CLI reads the scheme's current ETag and\n"
   "  sends it as If-Match, so the replacement fails (412) if it changed meanwhile.\n"
   "Example:\n  tsunagu vocab import gauges.jsonld\n  tsunagu vocab import --replace gauges.jsonld\n"},
  {"vocab export", "tsunagu vocab export ID|URI\n  Prints a scheme as SKOS JSON-LD.\n"
   "Example:\n  tsunagu vocab export themes > themes.jsonld\n"},
  {"vocab schemes", "tsunagu vocab schemes\n  Lists the node's schemes with their concept counts.\n"
   "Example:\n  tsunagu vocab schemes --json\n"},
  {"vocab search", "tsunagu vocab search [--lang L] [--scheme ID] [--limit N] WORDS...\n"
   "  Searches concept labels and notations.\n"
   "Example:\n  tsunagu vocab search --scheme themes 防災\n"},
  {"vocab convert", "tsunagu vocab convert --profile ID [--lenient|--strict] [--ndjson] [FILE|-] > OUT\n"
   "  Streams FILE (or standard input) through the node's conversion profile ID;\n"
   "  each value it could not convert goes to stderr with its JSON pointer; exits 1\n"
   "  if a record was left out (strict) or the input broke off.\n"
   "Example:\n  tsunagu vocab convert --profile a-city-water-to-waterobserved --ndjson feed.ndjson\n"},
  {"vocab profile", "tsunagu vocab profile put FILE|-\n       tsunagu vocab profile list\n"
   "  Stores a conversion profile (by its \"id\"), or lists the stored ones.\n"
   "Example:\n  tsunagu vocab profile put a-city-water.profile.json\n"},
  {"vocab profile put", "tsunagu vocab profile put FILE|-\n"
   "  Stores a conversion profile under its \"id\" (replacing one of that id).\n"
   "Example:\n  tsunagu vocab profile put a-city-water.profile.json\n"},
  {"vocab profile list", "tsunagu vocab profile list\n  Lists the stored conversion profiles.\n"
   "Example:\n  tsunagu vocab profile list --json\n"},
  {"vocab rm", "tsunagu vocab rm ID|URI\n  Deletes a concept scheme from the node.\n"
   "Example:\n  tsunagu vocab rm c-city-gauges\n"},
  {"ca init", "tsunagu ca init --dir CA --name NAME [--days N]\n"
   "  Creates a federation CA: key (0600), ca.crt, crl.pem, ca.db.\n"
   "Example:\n  tsunagu ca init --dir /var/lib/tsunagu/ca --name \"Hokkaido Federation\"\n"},
  {"ca token", "tsunagu ca token --dir CA --node NODE-ID [--ttl 24h] [--hosts LIST]\n"
   "  Prints a one-time enrollment token for NODE-ID; with --hosts the node may\n"
   "  enrol only under those host names or addresses.\n"
   "Example:\n  tsunagu ca token --dir ca --node b-town --ttl 2h\n"},
  {"ca sign", "tsunagu ca sign --dir CA --node NODE-ID [--hosts LIST] [--url URL] [--valid 90d] FILE.csr|-\n"
   "  Issues a node certificate for the CSR's key, offline (PEM on stdout).\n"
   "Example:\n  tsunagu ca sign --dir ca --node b-town --hosts b.example.jp b.csr > b.crt\n"},
  {"ca revoke", "tsunagu ca revoke --dir CA (--node ID | --serial S) [--reason R]\n"
   "  Revokes and writes a new crl.pem.\n"
   "Example:\n  tsunagu ca revoke --dir ca --node b-town --reason keyCompromise\n"},
  {"ca crl", "tsunagu ca crl --dir CA\n  Issues a fresh CRL (new number and nextUpdate).\n"
   "Example:\n  tsunagu ca crl --dir ca\n"},
  {"cert install", "tsunagu cert install --dir NODE-DIR --cert node.crt --ca ca.crt [--crl crl.pem]\n"
   "  Checks the certificate against the node's key, id and the CA, then installs it.\n"
   "Example:\n  tsunagu cert install --dir b --cert b.crt --ca ca.crt --crl crl.pem\n"},
  {"peer add", "tsunagu peer add NODE-ID URL\n  Adds (or updates) a peer.\n"
   "Example:\n  tsunagu peer add b-town https://b.example.jp:8462\n"},
  {"peer list", "tsunagu peer list\n"
   "  The node checks each peer over mutual TLS: reachability, latency, last contact,\n"
   "  certificate expiry.\n"
   "Example:\n  tsunagu peer list --json | jq '.items[] | select(.status != \"reachable\")'\n"},
  {"peer rm", "tsunagu peer rm NODE-ID\n  Removes a peer.\n"
   "Example:\n  tsunagu peer rm b-town\n"},
  {"peer sync", "tsunagu peer sync [--hub URL]\n"
   "  Adds the active members of the hub's federation directory (needs the node's\n"
   "  directory; remembers the hub).\n"
   "Example:\n  tsunagu --dir /var/lib/tsunagu/a peer sync --hub https://hub.example.jp:8462\n"},
  {"prov verify", "tsunagu prov verify [--node URL]\n"
   "  Checks a node's signed tree head, every leaf and consistency with the last one.\n"
   "Example:\n  tsunagu prov verify --node https://b.example.jp:8462\n"},
  {"prov check", "tsunagu prov check ENTRY-REF [--owner URL]\n"
   "  Proves a data-received entry in this node's log and the owner's.\n"
   "Example:\n  tsunagu prov check c:12:40:BASE64ROOT\n"},
  {"prov show", "tsunagu prov show [--dataset ID] [--since T]\n"
   "  The node's log as a readable history (admin).\n"
   "Example:\n  tsunagu prov show --since 2026-12-01\n"},
};
#define TG_NSUBS (int)(sizeof(tg__subs) / sizeof(tg__subs[0]))

/* Whether global option ARG takes the next argument as its value. */
static int global_takes_value(const char *arg) {
  static const char *const v[] = {"--dir", "--url", "--cacert", "--token-file"};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    if (strcmp(arg, v[i]) == 0)
      return 1;
  return 0;
}

/* tsunagu CMD ... --help: the usage of the deepest subcommand named in ARGV
 * (ARGC words after the command), else of CMD. Returns the exit status 0. */
static int show_help(int cmd, int argc, char **argv) {
  char name[128];
  const char *best = NULL;
  int n = snprintf(name, sizeof(name), "%s", tg__cmds[cmd].name);
  for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (argv[i][0] == '-') {
      i += global_takes_value(argv[i]);
      continue;
    }
    n += snprintf(name + n, sizeof(name) - (size_t)n, " %s", argv[i]);
    if ((size_t)n >= sizeof(name))
      break;
    int found = 0;
    for (int k = 0; k < TG_NSUBS; k++)
      if (strcmp(tg__subs[k].name, name) == 0) {
        best = tg__subs[k].usage;
        found = 1;
      }
    if (!found)
      break; /* an argument (an id, a file), or an unknown subcommand: the group's usage */
  }
  fputs("usage: ", stdout);
  fputs(best ? best : tg__cmds[cmd].usage, stdout);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: tsunagu [OPTIONS] COMMAND [ARGS]\n\n"
             "The tsunagu command-line client.\n\nCommands:\n");
  for (int i = 0; i < TG_NCMDS; i++)
    fprintf(f, "  %-10s %s\n", tg__cmds[i].name, tg__cmds[i].summary);
  fprintf(f, "\nOptions (before or after COMMAND):\n"
             "  --dir DIR          the node's state directory (URL, CA and admin token from it);\n"
             "                     without --dir or --url: $TSUNAGU_DIR, $TSUNAGU_URL, or the\n"
             "                     current directory when it is a node's\n"
             "  --url URL          the node's base URL, e.g. https://127.0.0.1:8443\n"
             "  --cacert FILE      certificate to trust for the node (default DIR/node.crt)\n"
             "  --token-file FILE  bearer token file: an OAuth access token or the admin token\n"
             "                     (default: $TSUNAGU_TOKEN, else DIR/admin.token)\n"
             "  --json             machine-readable output\n"
             "  -h, --help         help (also: tsunagu COMMAND --help)\n"
             "  -V, --version      print the version\n"
             "\nExit status: 0 ok, 1 failure reported by the node, 2 usage error,\n"
             "3 node unreachable, 4 refused by authentication (401/403).\n");
}

int main(int argc, char **argv) {
  struct tg_cli cli;
  int help = 0, version = 0;
  const struct tg_cli_opt opts[] = {{"help", 'h', NULL, &help, NULL},
                                    {"version", 'V', NULL, &version, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  memset(&cli, 0, sizeof(cli));
  argc--;
  argv++;
  int rc = tg_cli_getopt(&cli, NULL, &argc, argv, opts, TG_CLI_OPT_FIRST);
  if (rc)
    return rc;
  if (help || (argc > 0 && strcmp(argv[0], "help") == 0)) {
    usage(stdout);
    return 0;
  }
  if (version) {
    printf("tsunagu %s\n", PACKAGE_VERSION);
    return 0;
  }
  if (argc == 0) {
    usage(stderr);
    return 2;
  }
  for (int i = 0; i < TG_NCMDS; i++) {
    if (strcmp(argv[0], tg__cmds[i].name) != 0)
      continue;
    for (int j = 1; j < argc && strcmp(argv[j], "--") != 0; j++)
      if (strcmp(argv[j], "-h") == 0 || strcmp(argv[j], "--help") == 0)
        return show_help(i, argc - 1, argv + 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = tg__cmds[i].run(&cli, argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
  }
  fprintf(stderr, "tsunagu: unknown command '%s' (try tsunagu --help)\n", argv[0]);
  return 2;
}
