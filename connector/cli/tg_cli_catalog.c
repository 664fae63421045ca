/* tg_cli_catalog: the CLI's catalog commands: tsunagu dataset add|apply|edit|
 * list|show|rm|template and tsunagu search, over the node's HTTPS API
 * (/api/v1/datasets, /search). apply and edit update a dataset with If-Match,
 * and change nothing when the document is what the node holds. */
#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_cli.h"
#include "tg_err.h"
#include "tg_qs.h"
#include "tg_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATASET_MAX_BYTES (256u * 1024u)

/* The path /api/v1/datasets/<encoded ID> in a new string, or NULL. */
static char *dataset_path(const char *id) {
  struct tg_buf b;
  tg_buf_init(&b);
  if (tg_buf_puts(&b, "/api/v1/datasets/") || tg_qs_encode(&b, id) ||
      tg_buf_append(&b, "", 1)) {
    tg_buf_close(&b);
    return NULL;
  }
  return tg_buf_take(&b);
}

/* The text of a language-tagged literal array: LANG first, then any. */
static const char *literal(json_t *v, const char *lang) {
  if (json_is_string(v))
    return json_string_value(v);
  if (json_is_object(v))
    return json_string_value(json_object_get(v, "@value"));
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    const char *l = json_string_value(json_object_get(e, "@language"));
    if (l && strcmp(l, lang) == 0)
      return json_string_value(json_object_get(e, "@value"));
  }
  return literal(json_array_get(v, 0), lang);
}

/* Prints S cut to at most W display columns (CJK counted as two), padded. */
static void print_cell(const char *s, int w) {
  int cols = 0;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    int len = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
    int cw = len >= 3 ? 2 : 1;
    if (cols + cw > w)
      break;
    for (int i = 0; i < len && p[i]; i++)
      putchar(p[i]);
    cols += cw;
    p += len;
  }
  for (; cols < w; cols++)
    putchar(' ');
}

static const char *modified_of(json_t *d) {
  json_t *m = json_object_get(d, "dct:modified");
  return json_string_value(json_is_object(m) ? json_object_get(m, "@value") : m);
}

static void print_dataset_row(json_t *d, int idw) {
  print_cell(json_string_value(json_object_get(d, "@id")), idw);
  putchar(' ');
  print_cell(modified_of(d) ?: "-", 25);
  putchar(' ');
  fputs(literal(json_object_get(d, "dct:title"), "ja") ?: "", stdout);
  putchar('\n');
}

static int dataset_add(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset add", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("dataset add", argc, argv, 1, 1,
                               "give one FILE, or - for standard input")) != 0)
    return rc;
  char *text = NULL;
  size_t len = 0;
  struct tg_err err;
  tg_err_clear(&err);
  rc = tg_cli_read(argv[0], DATASET_MAX_BYTES, &text, &len, &err);
  if (rc)
    return tg_cli_fail("dataset add: cannot read %s: %s", argv[0], tg_err_msg(&err, rc));
  int status;
  json_t *j = NULL;
  status = 0;
  rc = tg_cli_call(cli, "POST", "/api/v1/datasets", text, len, &status, &j, NULL);
  free(text);
  if (rc == TG_CLI_EFAIL && status == 409)
    fprintf(stderr, "tsunagu: to update it: tsunagu dataset apply %s\n", argv[0]);
  if (rc)
    return rc;
  if (cli->json) {
    tg_cli_print_json(j);
  } else {
    printf("created %s\n", json_string_value(json_object_get(j, "@id")) ?: "?");
  }
  json_decref(j);
  return 0;
}

static int dataset_list(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset list", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("dataset list", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  json_t *all = json_array();
  for (long offset = 0;;) {
    char path[96];
    int status;
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/api/v1/datasets?limit=1000&offset=%ld", offset);
    if ((rc = tg_cli_call(cli, "GET", path, NULL, 0, &status, &j, NULL)) != 0) {
      json_decref(all);
      return rc;
    }
    json_t *ds = json_object_get(j, "datasets");
    json_array_extend(all, ds);
    offset += (long)json_array_size(ds);
    long total = (long)json_integer_value(json_object_get(j, "total"));
    size_t got = json_array_size(ds);
    json_decref(j);
    if (got == 0 || offset >= total)
      break;
  }
  if (cli->json) {
    tg_cli_print_list(all, NULL);
    all = NULL;
  } else {
    size_t i;
    json_t *d;
    int idw = 10;
    json_array_foreach(all, i, d) {
      int l = (int)strlen(json_string_value(json_object_get(d, "@id")) ?: "");
      idw = l > idw ? (l > 80 ? 80 : l) : idw;
    }
    print_cell("ID", idw);
    putchar(' ');
    print_cell("MODIFIED", 25);
    puts(" TITLE");
    json_array_foreach(all, i, d) print_dataset_row(d, idw);
    printf("%zu dataset(s)\n", json_array_size(all));
  }
  json_decref(all);
  return 0;
}

static void print_texts(const char *label, json_t *v) {
  size_t i;
  json_t *e;
  if (!json_is_array(v))
    v = json_is_null(v) || v == NULL ? NULL : json_pack("[O]", v);
  else
    json_incref(v);
  json_array_foreach(v, i, e) {
    const char *lang = json_string_value(json_object_get(e, "@language"));
    const char *val = json_is_string(e) ? json_string_value(e)
                      : json_object_get(e, "@value")
                          ? json_string_value(json_object_get(e, "@value"))
                          : json_string_value(json_object_get(e, "@id"));
    printf("%-12s %s%s%s%s\n", i == 0 ? label : "", val ?: "", lang ? " (" : "", lang ?: "",
           lang ? ")" : "");
  }
  json_decref(v);
}

static int dataset_show(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset show", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("dataset show", argc, argv, 1, 1, "give one dataset ID")) != 0)
    return rc;
  char *path = dataset_path(argv[0]);
  int status;
  json_t *j = NULL;
  if (path == NULL)
    return tg_cli_fail("dataset show: out of memory");
  rc = tg_cli_call(cli, "GET", path, NULL, 0, &status, &j, NULL);
  free(path);
  if (rc)
    return rc;
  if (cli->json) {
    tg_cli_print_json(j);
  } else {
    printf("%-12s %s\n", "id:", json_string_value(json_object_get(j, "@id")) ?: "?");
    print_texts("title:", json_object_get(j, "dct:title"));
    print_texts("description:", json_object_get(j, "dct:description"));
    print_texts("keywords:", json_object_get(j, "dcat:keyword"));
    print_texts("themes:", json_object_get(j, "dcat:theme"));
    printf("%-12s %s\n", "modified:", modified_of(j) ?: "-");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "dcat:distribution"), i, d) {
      json_t *u = json_object_get(d, "dcat:accessURL");
      printf("%-12s %s (%s)\n", i == 0 ? "distribution:" : "",
             json_string_value(json_object_get(u, "@id")) ?: "?",
             json_string_value(json_object_get(d, "tsunagu:mode")) ?: "-");
    }
  }
  json_decref(j);
  return 0;
}

static int dataset_rm(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset rm", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("dataset rm", argc, argv, 1, 1, "give one dataset ID")) != 0)
    return rc;
  char *path = dataset_path(argv[0]);
  int status;
  if (path == NULL)
    return tg_cli_fail("dataset rm: out of memory");
  rc = tg_cli_call(cli, "DELETE", path, NULL, 0, &status, NULL, NULL);
  free(path);
  if (rc)
    return rc;
  return tg_cli_done(cli, json_pack("{s:b, s:s}", "deleted", 1, "id", argv[0]), "deleted %s",
                     argv[0]);
}

/* ---- apply and edit -------------------------------------------------------- */

/* The dataset id to apply DOC under: GIVEN (--id), else DOC's @id (JSON-LD)
 * or id (the plain form, docs/datasets.md); a local id (no ':') becomes
 * urn:tsunagu:<node>:dataset:<local> with the node's id. Into *ID (from
 * malloc). Returns 0 or an exit status after saying why. */
static int apply_id(struct tg_cli *cli, json_t *doc, const char *given, char **id) {
  const char *key = tg_cat_is_plain(doc) ? "id" : "@id";
  const char *want = given ? given : json_string_value(json_object_get(doc, key));
  int status, rc;
  json_t *wk = NULL;
  *id = NULL;
  if (want == NULL || *want == '\0')
    return tg_cli_usage("dataset apply: the document has no @id (or id in the plain form): "
                        "give it one (urn:tsunagu:NODE:dataset:LOCAL-ID, or a local id) or "
                        "use --id ID");
  if (strchr(want, ':') != NULL) {
    *id = strdup(want);
    return *id ? 0 : tg_cli_fail("out of memory");
  }
  if ((rc = tg_cli_call(cli, "GET", "/.well-known/tsunagu", NULL, 0, &status, &wk, NULL)) != 0)
    return rc;
  const char *node = json_string_value(json_object_get(wk, "node_id"));
  struct tg_buf b;
  tg_buf_init(&b);
  if (node == NULL || tg_buf_printf(&b, "urn:tsunagu:%s:dataset:%s", node, want) != 0) {
    json_decref(wk);
    tg_buf_close(&b);
    return tg_cli_fail("dataset apply: the node did not say its id");
  }
  json_decref(wk);
  *id = tg_buf_take(&b);
  tg_buf_close(&b);
  return 0;
}

/* The plain-JSON dataset form (docs/datasets.md) filled with example values
 * that say what goes where; `tsunagu dataset add` accepts it as it is. */
static const char dataset_template_text[] =
    "{\n"
    "  \"id\": \"river-level\",\n"
    "  \"title\": {\"ja\": \"河川水位観測\", \"en\": \"River water level\"},\n"
    "  \"description\": {\"ja\": \"市内の河川水位観測所における10分毎の水位。\",\n"
    "                  \"en\": \"Water levels every 10 minutes at the city's river gauges.\"},\n"
    "  \"keywords\": [\"水位\", \"河川\", \"river\"],\n"
    "  \"themes\": [\"防災\", \"environment-energy\"],\n"
    "  \"license\": \"CC-BY-4.0\",\n"
    "  \"issued\": \"令和6年4月1日\",\n"
    "  \"modified\": \"2024-04-02T09:00:00+09:00\",\n"
    "  \"temporal\": {\"start\": \"2020-04-01\"},\n"
    "  \"spatial\": [\"011002\", {\"bbox\": [141.2, 43.0, 141.5, 43.2]}],\n"
    "  \"publisher\": \"A市\",\n"
    "  \"contact\": {\"name\": \"情報政策課\", \"email\": \"opendata@city.example.lg.jp\"},\n"
    "  \"distribution\": {\n"
    "    \"access_url\": \"https://city.example.lg.jp/api/v1/datasets/river-level/data\",\n"
    "    \"media_type\": \"application/json\",\n"
    "    \"mode\": \"distributed\",\n"
    "    \"backend\": \"http://127.0.0.1:8080/water\"\n"
    "  },\n"
    "  \"grant\": [\"federation\"]\n"
    "}\n";

static int dataset_template(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset template", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("dataset template", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  fputs(dataset_template_text, stdout);
  return 0;
}

/* 1 when DOC (with its @id set) is what the node holds as CURRENT: the same
 * canonical document the node would store. A document this client cannot
 * validate counts as different (the node says what is wrong with it). */
static int apply_same(json_t *doc, const char *id, json_t *current) {
  json_t *canon = NULL;
  if (current == NULL || tg_cat_validate(doc, NULL, &canon, NULL) != 0)
    return 0;
  json_object_set_new(canon, "@id", json_string(id));
  json_t *pol = json_object_get(canon, "odrl:hasPolicy");
  if (json_is_object(pol) && json_object_get(pol, "@id") == NULL) {
    struct tg_buf b;
    tg_buf_init(&b);
    if (tg_buf_printf(&b, "%s:policy", id) == 0)
      json_object_set_new(pol, "@id", json_string(b.data));
    tg_buf_close(&b);
  }
  int same = json_equal(canon, current);
  json_decref(canon);
  return same;
}

/* Creates or updates dataset ID with DOC (its @id, or plain id, set to ID): GET the
 * current one and its ETag; nothing when the same; PUT with If-Match. CMD
 * names the command in messages. Returns the exit status. */
static int apply_doc(struct tg_cli *cli, const char *cmd, json_t *doc, const char *id) {
  char *path = dataset_path(id);
  struct tg_cli_http h;
  int status = 0, rc;
  json_t *cur = NULL, *j = NULL;
  if (path == NULL)
    return tg_cli_fail("out of memory");
  memset(&h, 0, sizeof(h));
  h.quiet_status = 404;
  rc = tg_cli_request(cli, "GET", path, NULL, 0, &h, &status, &cur, NULL);
  if (rc == 0 && status == 200 && apply_same(doc, id, cur)) {
    free(path);
    json_decref(cur);
    return tg_cli_done(cli, json_pack("{s:s, s:s, s:b}", "id", id, "etag", h.etag, "changed", 0),
                       "%s unchanged", id);
  }
  json_decref(cur);
  char etag[sizeof(h.etag)];
  snprintf(etag, sizeof(etag), "%s", h.etag);
  int exists = rc == 0 && status == 200;
  char *body = rc == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
  if (rc == 0 && body == NULL)
    rc = tg_cli_fail("out of memory");
  if (rc == 0) {
    memset(&h, 0, sizeof(h));
    h.if_match = exists && etag[0] ? etag : NULL; /* someone else's change in between: 412 */
    rc = tg_cli_request(cli, "PUT", path, body, strlen(body), &h, &status, &j, NULL);
    if (rc == TG_CLI_EFAIL && status == 412)
      fprintf(stderr, "tsunagu: %s: the dataset changed on the node meanwhile; run it again\n",
                      cmd);
  }
  free(body);
  free(path);
  if (rc)
    return rc;
  json_decref(j);
  return tg_cli_done(cli,
                     json_pack("{s:s, s:s, s:b, s:b}", "id", id, "etag", h.etag, "changed", 1,
                               "created", status == 201),
                     "%s %s", status == 201 ? "created" : "updated", id);
}

static int dataset_apply(struct tg_cli *cli, int argc, char **argv) {
  const char *given = NULL;
  const struct tg_cli_opt opts[] = {{"id", 0, &given, NULL, NULL}, {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "dataset apply", &argc, argv, opts, 0);
  if (rc || (rc = tg_cli_nargs("dataset apply", argc, argv, 1, 1,
                               "give one FILE, or - for standard input")) != 0)
    return rc;
  char *text = NULL, *id = NULL;
  size_t len = 0;
  struct tg_err err;
  json_error_t jerr;
  tg_err_clear(&err);
  rc = tg_cli_read(argv[0], DATASET_MAX_BYTES, &text, &len, &err);
  if (rc)
    return tg_cli_fail("dataset apply: cannot read %s: %s", argv[0], tg_err_msg(&err, rc));
  json_t *doc = json_loadb(text, len, 0, &jerr);
  free(text);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return tg_cli_fail("dataset apply: %s is not a JSON object (line %d, column %d: %s)", argv[0],
                       jerr.line, jerr.column, doc ? "not an object" : jerr.text);
  }
  if ((rc = apply_id(cli, doc, given, &id)) == 0) {
    json_object_set_new(doc, tg_cat_is_plain(doc) ? "id" : "@id", json_string(id));
    rc = apply_doc(cli, "dataset apply", doc, id);
  }
  free(id);
  json_decref(doc);
  return rc;
}

/* Runs $VISUAL, $EDITOR or vi on FILE; 0 when it exited 0. */
static int run_editor(const char *file) {
  const char *ed = getenv("VISUAL");
  if (ed == NULL || *ed == '\0')
    ed = getenv("EDITOR");
  if (ed == NULL || *ed == '\0')
    ed = "vi";
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) { /* through the shell: EDITOR may carry arguments ("code -w") */
    execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, file, (char *)NULL);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int dataset_edit(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset edit", &argc, argv, NULL, 0);
  if (rc || (rc = tg_cli_nargs("dataset edit", argc, argv, 1, 1, "give one dataset ID")) != 0)
    return rc;
  char *path = dataset_path(argv[0]), *before = NULL, *after = NULL;
  int status;
  json_t *doc = NULL;
  if (path == NULL)
    return tg_cli_fail("out of memory");
  rc = tg_cli_call(cli, "GET", path, NULL, 0, &status, &doc, NULL);
  free(path);
  if (rc)
    return rc;
  const char *id = json_string_value(json_object_get(doc, "@id"));
  char tmp[] = "/tmp/tsunagu-edit-XXXXXX.json";
  int fd = id ? mkstemps(tmp, 5) : -1;
  before = json_dumps(doc, JSON_INDENT(2));
  if (fd < 0 || before == NULL) {
    if (fd >= 0)
      close(fd);
    json_decref(doc);
    free(before);
    return tg_cli_fail("dataset edit: cannot make a temporary file");
  }
  size_t n = strlen(before);
  int wrote = write(fd, before, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
  close(fd);
  struct tg_err err;
  size_t len;
  tg_err_clear(&err);
  if (!wrote)
    rc = tg_cli_fail("dataset edit: cannot write %s", tmp);
  else if (run_editor(tmp) != 0)
    rc = tg_cli_fail("dataset edit: the editor failed; nothing changed");
  else if (tg_cli_read(tmp, DATASET_MAX_BYTES, &after, &len, &err) != 0)
    rc = tg_cli_fail("dataset edit: cannot read %s back", tmp);
  if (rc == 0) {
    json_error_t jerr;
    json_t *ed = json_loadb(after, len, 0, &jerr);
    if (!json_is_object(ed)) {
      rc = tg_cli_fail("dataset edit: %s: line %d, column %d: %s; the edit is kept in %s", argv[0],
                       jerr.line, jerr.column, ed ? "not a JSON object" : jerr.text, tmp);
    } else {
      json_object_set_new(ed, "@id", json_string(id));
      rc = apply_doc(cli, "dataset edit", ed, id);
      if (rc != 0)
        fprintf(stderr, "tsunagu: dataset edit: the edit is kept in %s\n", tmp);
    }
    json_decref(ed);
  }
  if (rc == 0)
    unlink(tmp);
  free(before);
  free(after);
  json_decref(doc);
  return rc;
}

int tg_cli_dataset(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset", &argc, argv, NULL, TG_CLI_OPT_FIRST);
  if (rc || (rc = tg_cli_nargs("dataset", argc, argv, 1, argc,
                               "give a subcommand: add, apply, edit, list, show, rm or template")) != 0)
    return rc;
  if (strcmp(argv[0], "add") == 0)
    return dataset_add(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "apply") == 0)
    return dataset_apply(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "edit") == 0)
    return dataset_edit(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "list") == 0 || strcmp(argv[0], "ls") == 0)
    return dataset_list(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "show") == 0)
    return dataset_show(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "rm") == 0)
    return dataset_rm(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "template") == 0)
    return dataset_template(cli, argc - 1, argv + 1);
  return tg_cli_usage("dataset: unknown subcommand '%s' (add, apply, edit, list, show, rm, template)", argv[0]);
}

/* --near LAT,LON,KM as a bbox parameter (degrees: a kilometre is 1/111.32 of
 * a degree of latitude, and of longitude times cos(latitude)). */
static int near_bbox(const char *near, struct tg_buf *path) {
  double lat, lon, km;
  char tail;
  if (sscanf(near, "%lf,%lf,%lf%c", &lat, &lon, &km, &tail) != 3 || lat < -90 || lat > 90 ||
      lon < -180 || lon > 180 || km <= 0 || km > 2000)
    return TG_EINVAL;
  double dlat = km / 111.32, c = cos(lat * 3.14159265358979323846 / 180.0);
  double dlon = c > 0.01 ? dlat / c : 180;
  return tg_buf_printf(path, "&bbox=%.5f,%.5f,%.5f,%.5f", lon - dlon, lat - dlat, lon + dlon,
                       lat + dlat)
             ? TG_ENOMEM
             : 0;
}

struct search_opts {
  const char *scope, *mode, *theme, *keyword, *near, *timeout;
};

/* The request path for WORDS and O into PATH (NUL-terminated); 0, or a
 * TG_E* code after saying why. */
static int search_path(const struct search_opts *o, const char *words, struct tg_buf *path) {
  int bad = tg_buf_puts(path, "/api/v1/search?limit=100&q=") || tg_qs_encode(path, words);
  if (strcmp(o->scope, "federation") == 0)
    bad = bad || tg_buf_puts(path, "&scope=federation");
  else if (strcmp(o->scope, "local") != 0)
    return tg_cli_fail("search: --scope is local or federation, not '%s'", o->scope);
  if (o->mode)
    bad = bad || tg_buf_puts(path, "&mode=") || tg_qs_encode(path, o->mode);
  if (o->timeout)
    bad = bad || tg_buf_puts(path, "&timeout=") || tg_qs_encode(path, o->timeout);
  if (o->theme)
    bad = bad || tg_buf_puts(path, "&theme=") || tg_qs_encode(path, o->theme);
  if (o->keyword)
    bad = bad || tg_buf_puts(path, "&keyword=") || tg_qs_encode(path, o->keyword);
  if (!bad && o->near && near_bbox(o->near, path) == TG_EINVAL)
    return tg_cli_fail("search: --near wants LAT,LON,KM (e.g. 34.69,135.50,10)");
  if (bad || tg_buf_append(path, "", 1))
    return tg_cli_fail("search: out of memory");
  return 0;
}

static const char *theme_of(json_t *d) {
  json_t *t = json_object_get(d, "dcat:theme");
  if (json_is_array(t))
    t = json_array_get(t, 0);
  const char *iri = json_string_value(json_object_get(t, "@id"));
  const char *a = iri ? strrchr(iri, ':') : NULL, *b = iri ? strrchr(iri, '/') : NULL;
  const char *last = a > b ? a : b; /* the IRI's last segment: "water", "ENVI" */
  return last ? last + 1 : iri;
}

/* The hit's owner node: as the answer says, else the id's node part. */
static const char *owner_of(json_t *it, char *buf, size_t cap) {
  const char *o = json_string_value(json_object_get(it, "owner"));
  const char *id = json_string_value(json_object_get(it, "id"));
  if (o != NULL)
    return o;
  return id != NULL && tg_cat_dataset_owner(id, buf, cap) == 0 ? buf : "-";
}

static void print_hits(json_t *j) {
  json_t *items = json_object_get(j, "items");
  size_t i;
  json_t *it;
  int idw = 10;
  json_array_foreach(items, i, it) {
    int l = (int)strlen(json_string_value(json_object_get(it, "id")) ?: "");
    idw = l > idw ? (l > 80 ? 80 : l) : idw;
  }
  if (json_array_size(items) > 0) {
    print_cell("TITLE", 30);
    printf(" %-12s %-12s %-25s %s\n", "OWNER", "THEME", "MODIFIED", "ID");
  }
  json_array_foreach(items, i, it) {
    json_t *d = json_object_get(it, "dataset");
    print_cell(literal(json_object_get(d, "dct:title"), "ja") ?: "", 30);
    char ob[64];
    printf(" %-12s %-12s %-25s %s\n", owner_of(it, ob, sizeof(ob)),
           theme_of(d) ?: "-", modified_of(d) ?: "-",
           json_string_value(json_object_get(it, "id")) ?: "");
  }
  long long total = (long long)json_integer_value(json_object_get(j, "total"));
  printf("%lld match(es)%s\n", total,
         json_is_false(json_object_get(j, "total_exact")) ? " (at least)" : "");
}

/* One line per source on stderr; returns how many answered. */
static int print_sources(json_t *j) {
  size_t i;
  json_t *s;
  int answered = 0;
  json_array_foreach(json_object_get(j, "sources"), i, s) {
    const char *st = json_string_value(json_object_get(s, "status")) ?: "?";
    const char *via = json_string_value(json_object_get(s, "via"));
    const char *why = json_string_value(json_object_get(s, "error"));
    answered += strcmp(st, "ok") == 0 || strcmp(st, "harvested") == 0;
    fprintf(stderr, "source %s%s%s: %s, %lld ms, %lld hit(s)%s%s\n",
            json_string_value(json_object_get(s, "node")) ?: "?", via ? " via " : "",
            via ? via : "", st, (long long)json_integer_value(json_object_get(s, "ms")),
            (long long)json_integer_value(json_object_get(s, "hits")), why ? ": " : "",
            why ? why : "");
  }
  return answered;
}

/* Sets "next" in the search answer J: the path of the next page (PATH, with
 * an offset) when LOCAL and more matched than were given, else null. */
static void search_next(json_t *j, struct tg_buf *path, int local) {
  long long total = (long long)json_integer_value(json_object_get(j, "total"));
  size_t got = json_array_size(json_object_get(j, "items"));
  if (local && total > (long long)got && got > 0 && path->len > 0) {
    path->len--; /* the NUL */
    if (tg_buf_printf(path, "&offset=%zu", got) == 0) {
      json_object_set_new(j, "next", json_string(path->data));
      return;
    }
  }
  json_object_set_new(j, "next", json_null());
}

/* Appends to OUT each text in V (a string, a {"@value"} object or an array of
 * either). */
static void texts_of(json_t *v, json_t *out) {
  size_t i;
  json_t *e;
  if (json_is_string(v))
    json_array_append(out, v);
  else if (json_is_object(v) && json_is_string(json_object_get(v, "@value")))
    json_array_append(out, json_object_get(v, "@value"));
  else
    json_array_foreach(v, i, e) texts_of(e, out);
}

/* 1 when concept C of the themes scheme is called WANT: its id, the last
 * segment of its id, a preferred or alternative label or its notation (ASCII
 * letters compared without case). */
static int theme_is(json_t *c, const char *want) {
  const char *id = json_string_value(json_object_get(c, "@id"));
  if (id == NULL)
    return 0;
  const char *last = strrchr(id, ':');
  if (strcmp(id, want) == 0 || (last && strcasecmp(last + 1, want) == 0))
    return 1;
  json_t *names = json_array(), *n;
  const char *k;
  json_t *v;
  size_t i;
  json_object_foreach(c, k, v) {
    if (strstr(k, "prefLabel") || strstr(k, "altLabel") || strstr(k, "notation"))
      texts_of(v, names);
  }
  int hit = 0;
  json_array_foreach(names, i, n) hit = hit || strcasecmp(json_string_value(n), want) == 0;
  json_decref(names);
  return hit;
}

/* --theme T: an IRI as it is; else the concept of the node's shipped themes
 * scheme whose label, id or notation T is (防災, "disaster prevention",
 * disaster-prevention, T04), into *IRI (from malloc). Returns 0 or an exit
 * status after saying why. */
static int theme_resolve(struct tg_cli *cli, const char *theme, char **iri) {
  int status, rc;
  json_t *j = NULL, *c;
  size_t i;
  *iri = NULL;
  if (strstr(theme, "://") != NULL || strncmp(theme, "urn:", 4) == 0)
    return 0;
  if ((rc = tg_cli_call(cli, "GET", "/api/v1/vocab/schemes/themes", NULL, 0, &status, &j,
                        NULL)) != 0)
    return rc;
  json_array_foreach(json_object_get(j, "@graph"), i, c) {
    if (*iri == NULL && theme_is(c, theme) &&
        json_object_get(c, "skos:inScheme") != NULL) /* a concept, not the scheme */
      *iri = strdup(json_string_value(json_object_get(c, "@id")));
  }
  json_decref(j);
  if (*iri == NULL)
    return tg_cli_fail("search: no theme '%s' in the node's themes scheme (see tsunagu vocab "
                       "export themes, or give the theme's IRI)", theme);
  return 0;
}

int tg_cli_search(struct tg_cli *cli, int argc, char **argv) {
  struct search_opts o = {"local", NULL, NULL, NULL, NULL, NULL};
  struct tg_buf words, path;
  char *theme = NULL; /* --theme resolved to its concept IRI */
  tg_buf_init(&words);
  tg_buf_init(&path);
  const struct tg_cli_opt opts[] = {{"scope", 0, &o.scope, NULL, NULL},
                                    {"mode", 0, &o.mode, NULL, NULL},
                                    {"theme", 0, &o.theme, NULL, NULL},
                                    {"keyword", 0, &o.keyword, NULL, NULL},
                                    {"near", 0, &o.near, NULL, NULL},
                                    {"timeout", 0, &o.timeout, NULL, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "search", &argc, argv, opts, 0);
  if (rc)
    return rc;
  for (int i = 0; i < argc; i++)
    if ((words.len && tg_buf_append(&words, " ", 1)) || tg_buf_puts(&words, argv[i])) {
      tg_buf_close(&words);
      return tg_cli_fail("search: out of memory");
    }
  if (words.len == 0 && o.theme == NULL && o.keyword == NULL && o.near == NULL) {
    tg_buf_close(&words);
    return tg_cli_usage("search: give words to search for, or --theme, --keyword or --near");
  }
  if (o.theme != NULL && (rc = theme_resolve(cli, o.theme, &theme)) != 0) {
    tg_buf_close(&words);
    return rc;
  }
  if (theme != NULL)
    o.theme = theme;
  rc = search_path(&o, words.data ? words.data : "", &path);
  tg_buf_close(&words);
  if (rc) {
    tg_buf_close(&path);
    return rc;
  }
  int status;
  json_t *j = NULL;
  free(theme);
  rc = tg_cli_call(cli, "GET", path.data, NULL, 0, &status, &j, NULL);
  if (rc) {
    tg_buf_close(&path);
    return rc;
  }
  int answered = json_object_get(j, "sources") ? print_sources(j) : 1;
  search_next(j, &path, strcmp(o.scope, "local") == 0);
  tg_buf_close(&path);
  if (cli->json)
    tg_cli_print_json(j);
  else
    print_hits(j);
  json_decref(j);
  return answered > 0 ? 0 : 1;
}
