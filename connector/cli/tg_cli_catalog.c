/* tg_cli_catalog: the CLI's catalog commands: tsunagu dataset add|list|show|rm|template
 * and tsunagu search, over the node's HTTPS API (/api/v1/datasets, /search). */
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
  rc = tg_cli_call(cli, "POST", "/api/v1/datasets", text, len, &status, &j, NULL);
  free(text);
  if (rc)
    return 1;
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
    if (tg_cli_call(cli, "GET", path, NULL, 0, &status, &j, NULL)) {
      json_decref(all);
      return 1;
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
    tg_cli_print_json(all);
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
    return 1;
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
    return 1;
  if (cli->json)
    printf("{\"deleted\":true}\n");
  else
    printf("deleted %s\n", argv[0]);
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

int tg_cli_dataset(struct tg_cli *cli, int argc, char **argv) {
  int rc = tg_cli_getopt(cli, "dataset", &argc, argv, NULL, TG_CLI_OPT_FIRST);
  if (rc || (rc = tg_cli_nargs("dataset", argc, argv, 1, argc,
                               "give a subcommand: add, list, show, rm or template")) != 0)
    return rc;
  if (strcmp(argv[0], "add") == 0)
    return dataset_add(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "list") == 0 || strcmp(argv[0], "ls") == 0)
    return dataset_list(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "show") == 0)
    return dataset_show(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "rm") == 0)
    return dataset_rm(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "template") == 0)
    return dataset_template(cli, argc - 1, argv + 1);
  return tg_cli_usage("dataset: unknown subcommand '%s' (add, list, show, rm, template)", argv[0]);
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

int tg_cli_search(struct tg_cli *cli, int argc, char **argv) {
  struct search_opts o = {"local", NULL, NULL, NULL, NULL, NULL};
  struct tg_buf words, path;
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
    return tg_cli_fail("search: give words to search for, or --theme, --keyword or --near");
  }
  rc = search_path(&o, words.data ? words.data : "", &path);
  tg_buf_close(&words);
  if (rc) {
    tg_buf_close(&path);
    return rc;
  }
  int status;
  json_t *j = NULL;
  rc = tg_cli_call(cli, "GET", path.data, NULL, 0, &status, &j, NULL);
  tg_buf_close(&path);
  if (rc)
    return 1;
  int answered = json_object_get(j, "sources") ? print_sources(j) : 1;
  if (cli->json)
    tg_cli_print_json(j);
  else
    print_hits(j);
  json_decref(j);
  return answered > 0 ? 0 : 1;
}
