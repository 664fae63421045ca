/* catalog_load: bench/catalog's in-process half. `load DIR N` fills a node's
 * catalog with N synthetic datasets (Japanese and English titles and
 * descriptions) through the library's batch API and prints the load rate;
 * `load-fed DIR NODE-ID N FIRST` (bench/federation) loads datasets FIRST..
 * FIRST+N-1, each the same wherever it is loaded and open to every
 * federation member, so nodes loaded with FIRST = k*N together hold what one
 * node loaded from 0 holds;
 * `search DIR ROUNDS` times tg_cat_search for the fixed query set that
 * bench/catalog also sends over HTTP, and prints p50/p99;
 * `index DIR N` (bench/harvest) times the harvester's write path alone:
 * N datasets of load-fed's sequence as node p's change feed (pages of
 * TG_CAT_INDEX_MAX_PAGE, serialised as on the wire), each page parsed and
 * applied to DIR's harvested index (DIR/harvest.db) as the harvester's
 * thread-pool job does, and prints wall and CPU time per dataset. */
#include "tg_cat.h"
#include "tg_db.h"
#include "tg_err.h"
#include "tg_node.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The query set; bench/catalog sends the same words as /api/v1/search?q=. */
static const char *const queries[] = {"水位",     "雨量",       "ダム",      "河川 水位",
                                      "避難所",   "バス",       "人口 統計", "water level",
                                      "rainfall", "population", "bus stop",  "防災"};
#define NQ (sizeof(queries) / sizeof(queries[0]))

static const struct {
  const char *ja, *en;
} words[] = {
    {"河川", "river"},
    {"水位", "water level"},
    {"雨量", "rainfall"},
    {"ダム", "dam"},
    {"放流", "discharge"},
    {"人口", "population"},
    {"統計", "statistics"},
    {"交通", "traffic"},
    {"バス", "bus"},
    {"停留所", "stop"},
    {"道路", "road"},
    {"観光", "tourism"},
    {"施設", "facility"},
    {"避難所", "shelter"},
    {"防災", "disaster prevention"},
    {"気象", "weather"},
    {"地震", "earthquake"},
    {"津波", "tsunami"},
    {"公園", "park"},
    {"図書館", "library"},
    {"学校", "school"},
    {"保育所", "nursery"},
    {"病院", "hospital"},
    {"ごみ収集", "waste collection"},
    {"上水道", "water supply"},
    {"下水道", "sewerage"},
    {"農業", "agriculture"},
    {"漁業", "fishery"},
    {"森林", "forest"},
    {"予算", "budget"},
    {"選挙", "election"},
    {"文化財", "cultural property"},
    {"駐車場", "parking"},
    {"自転車", "bicycle"},
    {"空き家", "vacant house"},
    {"高齢者", "elderly"},
    {"子育て", "child care"},
    {"消防", "fire service"},
    {"観測", "observation"},
    {"積雪", "snow depth"},
};
#define NW (sizeof(words) / sizeof(words[0]))

static const struct {
  const char *ja, *en, *code;
} munis[] = {
    {"札幌市", "Sapporo", "011002"},  {"旭川市", "Asahikawa", "012041"},
    {"青森市", "Aomori", "022012"},   {"仙台市", "Sendai", "041009"},
    {"新潟市", "Niigata", "151009"},  {"金沢市", "Kanazawa", "172014"},
    {"長野市", "Nagano", "202011"},   {"静岡市", "Shizuoka", "221007"},
    {"京都市", "Kyoto", "261009"},    {"神戸市", "Kobe", "281000"},
    {"岡山市", "Okayama", "331007"},  {"広島市", "Hiroshima", "341002"},
    {"高知市", "Kochi", "392014"},    {"福岡市", "Fukuoka", "401307"},
    {"熊本市", "Kumamoto", "431001"}, {"那覇市", "Naha", "472018"},
};
#define NM (sizeof(munis) / sizeof(munis[0]))

static const char *const themes[] = {"water",       "disaster", "transport", "population",
                                     "environment", "health",   "education", "economy"};

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fed_mode; /* load-fed: seeded by index, a policy open to the federation */

static json_t *synth_doc(long i);

static json_t *synth(long i) {
  if (!fed_mode)
    return synth_doc(i);
  rng = 88172645463325252ull ^ ((uint64_t)i * 0x9E3779B97F4A7C15ull);
  for (int w = 0; w < 4; w++)
    (void)rnd(2);
  json_t *doc = synth_doc(i);
  json_object_set_new(json_object_get(doc, "@context"), "odrl",
                      json_string("http://www.w3.org/ns/odrl/2/"));
  json_object_set_new(doc, "odrl:hasPolicy",
                      json_pack("{s:s, s:[{s:{s:s}, s:{s:s}}]}", "@type", "odrl:Offer",
                                "odrl:permission", "odrl:action", "@id", "odrl:use",
                                "odrl:assignee", "@id", "urn:tsunagu:federation"));
  return doc;
}

static json_t *synth_doc(long i) {
  unsigned a = rnd(NW), b = rnd(NW), c = rnd(NW), m = rnd(NM);
  char tja[256], ten[256], dja[1024], den[1024], theme[80], spatial[80], mod[40], url[128];
  snprintf(tja, sizeof(tja), "%s%s%sデータ %ld", munis[m].ja, words[a].ja, words[b].ja, i);
  snprintf(ten, sizeof(ten), "%s %s %s data %ld", munis[m].en, words[a].en, words[b].en, i);
  snprintf(dja, sizeof(dja), "%sが公開する%sと%sに関する%sの記録。毎日更新。", munis[m].ja,
           words[a].ja, words[b].ja, words[c].ja);
  snprintf(den, sizeof(den), "Records of %s and %s with %s, published daily by %s.", words[a].en,
           words[b].en, words[c].en, munis[m].en);
  snprintf(theme, sizeof(theme), "urn:tsunagu:vocab:theme:%s", themes[rnd(8)]);
  snprintf(spatial, sizeof(spatial), "urn:tsunagu:vocab:lg-code:%s", munis[m].code);
  snprintf(mod, sizeof(mod), "20%02u-%02u-%02u", 15 + rnd(10), 1 + rnd(12), 1 + rnd(28));
  snprintf(url, sizeof(url), "https://bench.example.jp/api/v1/datasets/%ld/data", i);
  return json_pack(
      "{s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s}, {s:s, s:s}],"
      " s:[s, s], s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}, s:[{s:s, s:{s:s}, s:s}]}",
      "@context", "dct", "http://purl.org/dc/terms/", "dcat", "http://www.w3.org/ns/dcat#", "foaf",
      "http://xmlns.com/foaf/0.1/", "xsd", "http://www.w3.org/2001/XMLSchema#", "tsunagu",
      "urn:tsunagu:ns:", "@type", "dcat:Dataset", "dct:title", "@value", tja, "@language", "ja",
      "@value", ten, "@language", "en", "dct:description", "@value", dja, "@language", "ja",
      "@value", den, "@language", "en", "dcat:keyword", words[a].ja, words[b].en, "dcat:theme",
      "@id", theme, "dct:publisher", "@type", "foaf:Agent", "foaf:name", munis[m].ja, "dct:spatial",
      "@id", spatial, "dct:modified", "@value", mod, "@type", "xsd:date", "dcat:distribution",
      "@type", "dcat:Distribution", "dcat:accessURL", "@id", url, "dcat:mediaType",
      rnd(2) ? "application/json" : "text/csv");
}

static int open_store(const char *dir, sqlite3 **db, struct tg_cat_store **s, const char *id) {
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_node_db_open(dir, db, &err);
  if (rc == 0)
    rc = tg_cat_store_open(*db, id, s, &err);
  if (rc)
    fprintf(stderr, "catalog_load: %s\n", tg_err_msg(&err, rc));
  return rc;
}

static int load(const char *dir, const char *node, long first, long n) {
  sqlite3 *db = NULL;
  struct tg_cat_store *s = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (open_store(dir, &db, &s, node))
    return 1;
  double t0 = now_ms(), last = t0;
  long done = 0, batch = 2000;
  for (long i = first; i < first + n; i += batch) {
    if (tg_cat_batch_begin(s, &err))
      break;
    for (long j = i; j < i + batch && j < first + n; j++) {
      json_t *doc = synth(j);
      struct tg_cat_write w;
      json_t *problems = NULL;
      char slug[32];
      snprintf(slug, sizeof(slug), "b%ld", j);
      memset(&w, 0, sizeof(w));
      int rc = tg_cat_dataset_create(s, doc, slug, &w, &problems, &err);
      if (rc) {
        char *p = json_dumps(problems, 0);
        fprintf(stderr, "catalog_load: dataset %ld: %s %s\n", j, tg_err_msg(&err, rc), p ? p : "");
        free(p);
        json_decref(problems);
        json_decref(doc);
        tg_cat_batch_rollback(s);
        tg_cat_store_free(s);
        tg_db_close(db);
        return 1;
      }
      tg_cat_write_clear(&w);
      json_decref(doc);
      done++;
    }
    if (tg_cat_batch_commit(s, &err)) {
      fprintf(stderr, "catalog_load: commit: %s\n", tg_err_msg(&err, TG_EDB));
      break;
    }
    if (now_ms() - last > 10000) {
      last = now_ms();
      fprintf(stderr, "  %ld datasets, %.0f/s\n", done, done / ((last - t0) / 1e3));
    }
  }
  double load_ms = now_ms() - t0;
  double t1 = now_ms();
  int orc = tg_cat_store_optimize(s, &err);
  double opt_ms = now_ms() - t1;
  printf("loaded=%ld load_seconds=%.1f load_rate=%.0f optimize_seconds=%.1f%s\n", done,
         load_ms / 1e3, done / (load_ms / 1e3), opt_ms / 1e3, orc ? " optimize=failed" : "");
  tg_cat_store_free(s);
  tg_db_close(db);
  return done == n ? 0 : 1;
}

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Page FIRST/PAGE of node p's feed of datasets FIRST.. (at most N in all),
 * serialised: a string from malloc. */
static char *feed_page(long first, long n) {
  json_t *ch = json_array();
  long i;
  for (i = first; i < first + TG_CAT_INDEX_MAX_PAGE && i < n; i++) {
    json_t *doc = synth(i), *canon = NULL;
    char id[64];
    snprintf(id, sizeof(id), "urn:tsunagu:p:dataset:b%ld", i);
    json_object_set_new(doc, "@id", json_string(id));
    if (tg_cat_validate(doc, NULL, &canon, NULL) != 0) {
      fprintf(stderr, "catalog_load: dataset %ld does not validate\n", i);
      exit(1);
    }
    json_t *pub = tg_cat_public_view(canon); /* what a peer serves */
    json_decref(canon);
    canon = pub;
    json_object_set_new(canon, "@context", tg_cat_context());
    json_array_append_new(ch, json_pack("{s:I, s:s, s:s, s:I, s:o}", "seq", (json_int_t)i + 1,
                                        "op", "upsert", "id", id, "version", (json_int_t)1,
                                        "dataset", canon));
    json_decref(doc);
  }
  json_t *page = json_pack("{s:o, s:I, s:b}", "changes", ch, "last_seq", (json_int_t)i, "more",
                           i < n);
  char *s = json_dumps(page, JSON_COMPACT);
  json_decref(page);
  return s;
}

static int index_apply(const char *dir, long n) {
  sqlite3 *db = NULL;
  struct tg_cat_store *ix = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  fed_mode = 1;
  int rc = tg_node_harvest_db_open(dir, &db, &err);
  if (rc == 0)
    rc = tg_cat_index_open(db, "h", &ix, &err);
  double wall = 0, cpu = 0, bytes = 0;
  long done = 0;
  for (long first = 0; rc == 0 && first < n; first += TG_CAT_INDEX_MAX_PAGE) {
    char *text = feed_page(first, n);
    double w0 = now_ms(), c0 = cpu_ms();
    json_error_t je;
    json_t *page = json_loads(text, 0, &je), *refused = NULL;
    rc = page ? tg_cat_index_apply(ix, "p", page, NULL, &refused, &err) : TG_EPROTO;
    wall += now_ms() - w0;
    cpu += cpu_ms() - c0;
    bytes += (double)strlen(text);
    done += (long)json_array_size(json_object_get(page, "changes")) -
            (long)json_array_size(refused);
    json_decref(page);
    json_decref(refused);
    free(text);
  }
  if (rc)
    fprintf(stderr, "catalog_load: index: %s\n", tg_err_msg(&err, rc));
  printf("indexed=%ld apply_seconds=%.2f per_dataset_us=%.1f cpu_per_dataset_us=%.1f "
         "feed_bytes_per_dataset=%.0f\n",
         done, wall / 1e3, wall * 1e3 / (double)(done ? done : 1),
         cpu * 1e3 / (double)(done ? done : 1), bytes / (double)(done ? done : 1));
  tg_cat_store_free(ix);
  tg_db_close(db);
  return rc ? 1 : 0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int search(const char *dir, const char *node, long rounds) {
  sqlite3 *db = NULL;
  struct tg_cat_store *s = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  if (open_store(dir, &db, &s, node))
    return 1;
  size_t n = (size_t)rounds * NQ, k = 0;
  double *lat = calloc(n, sizeof(double));
  long hits = 0;
  if (lat == NULL)
    return 1;
  for (long r = 0; r < rounds; r++) {
    for (size_t q = 0; q < NQ; q++) {
      struct tg_cat_query cq;
      memset(&cq, 0, sizeof(cq));
      cq.q = queries[q];
      cq.limit = 20;
      json_t *out = NULL;
      double t0 = now_ms();
      int rc = tg_cat_search(s, &cq, &out, &err);
      /* The HTTP handler also serialises the answer; the raw lookup stops here. */
      lat[k++] = now_ms() - t0;
      if (rc) {
        fprintf(stderr, "catalog_load: search %s: %s\n", queries[q], tg_err_msg(&err, rc));
        free(lat);
        return 1;
      }
      if (r == 0)
        hits += (long)json_integer_value(json_object_get(out, "total"));
      json_decref(out);
    }
  }
  /* Per query: latencies are stored round by round, query Q at r * NQ + Q.
   * first_ms is round one's: before the store has kept anything for a word
   * (per-phrase row counts are kept until the catalog changes). */
  double *one = calloc((size_t)rounds, sizeof(double));
  for (size_t q = 0; one != NULL && q < NQ; q++) {
    for (long r = 0; r < rounds; r++)
      one[r] = lat[(size_t)r * NQ + q];
    double first = one[0];
    qsort(one, (size_t)rounds, sizeof(double), cmp_d);
    printf("  raw query %-14s p50_ms=%.3f p99_ms=%.3f first_ms=%.3f\n", queries[q],
           one[rounds / 2], one[(rounds * 99) / 100], first);
  }
  free(one);
  qsort(lat, k, sizeof(double), cmp_d);
  printf("raw_queries=%zu raw_p50_ms=%.3f raw_p99_ms=%.3f raw_hits_first_round=%ld\n", k,
         lat[k / 2], lat[(k * 99) / 100], hits);
  free(lat);
  tg_cat_store_free(s);
  tg_db_close(db);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "index") == 0) {
    char *e;
    long n = strtol(argv[3], &e, 10);
    return *e != '\0' || n <= 0 ? 2 : index_apply(argv[2], n);
  }
  if (argc == 3 && strcmp(argv[1], "queries") == 0) {
    for (size_t q = 0; q < NQ; q++)
      printf("%s\n", queries[q]);
    return 0;
  }
  long first = 0;
  if (argc == 6 && strcmp(argv[1], "load-fed") == 0) {
    char *e;
    first = strtol(argv[5], &e, 10);
    if (*e != '\0' || first < 0) {
      fprintf(stderr, "catalog_load: bad number %s\n", argv[5]);
      return 2;
    }
    fed_mode = 1;
  } else if (argc != 5 || (strcmp(argv[1], "load") != 0 && strcmp(argv[1], "search") != 0)) {
    fprintf(stderr, "usage: catalog_load load DIR NODE-ID N | load-fed DIR NODE-ID N FIRST |"
                    " search DIR NODE-ID ROUNDS | index DIR N | queries -\n");
    return 2;
  }
  char *end;
  long n = strtol(argv[4], &end, 10);
  if (*end != '\0' || n <= 0) {
    fprintf(stderr, "catalog_load: bad number %s\n", argv[4]);
    return 2;
  }
  if (strcmp(argv[1], "load") == 0 || fed_mode)
    return load(argv[2], argv[3], first, n);
  return search(argv[2], argv[3], n);
}
