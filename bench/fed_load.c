/* fed_load: bench/federation's loader. `load DIR NODE-ID N [FIRST]` fills a
 * node's catalog with N synthetic datasets (slugs bFIRST.., Japanese and English
 * titles and descriptions, the words and generator of bench/catalog_load.c)
 * through the library's batch API, each with a policy that lets every
 * federation member use it (so peers harvest and find it); `queries -`
 * prints bench/catalog's query set. */
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

static json_t *synth(long i) {
  /* Seeded by the index: dataset i is the same wherever it is loaded, so
   * nodes loaded with FIRST = k * N together hold what one node loaded with
   * 0..K*N holds. */
  rng = 88172645463325252ull ^ ((uint64_t)i * 0x9E3779B97F4A7C15ull);
  for (int w = 0; w < 4; w++)
    (void)rnd(2);
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
      "{s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s}, {s:s, s:s}],"
      " s:[s, s], s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}, s:[{s:s, s:{s:s}, s:s}],"
      " s:{s:s, s:[{s:{s:s}, s:{s:s}}]}}",
      "@context", "dct", "http://purl.org/dc/terms/", "dcat", "http://www.w3.org/ns/dcat#", "foaf",
      "http://xmlns.com/foaf/0.1/", "xsd", "http://www.w3.org/2001/XMLSchema#", "odrl", "http://www.w3.org/ns/odrl/2/", "tsunagu",
      "urn:tsunagu:ns:", "@type", "dcat:Dataset", "dct:title", "@value", tja, "@language", "ja",
      "@value", ten, "@language", "en", "dct:description", "@value", dja, "@language", "ja",
      "@value", den, "@language", "en", "dcat:keyword", words[a].ja, words[b].en, "dcat:theme",
      "@id", theme, "dct:publisher", "@type", "foaf:Agent", "foaf:name", munis[m].ja, "dct:spatial",
      "@id", spatial, "dct:modified", "@value", mod, "@type", "xsd:date", "dcat:distribution",
      "@type", "dcat:Distribution", "dcat:accessURL", "@id", url, "dcat:mediaType",
      rnd(2) ? "application/json" : "text/csv", "odrl:hasPolicy", "@type", "odrl:Offer",
      "odrl:permission", "odrl:action", "@id", "odrl:use", "odrl:assignee", "@id",
      "urn:tsunagu:federation");
}

static int open_store(const char *dir, sqlite3 **db, struct tg_cat_store **s, const char *id) {
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_node_db_open(dir, db, &err);
  if (rc == 0)
    rc = tg_cat_store_open(*db, id, s, &err);
  if (rc)
    fprintf(stderr, "fed_load: %s\n", tg_err_msg(&err, rc));
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
        fprintf(stderr, "fed_load: dataset %ld: %s %s\n", j, tg_err_msg(&err, rc), p ? p : "");
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
      fprintf(stderr, "fed_load: commit: %s\n", tg_err_msg(&err, TG_EDB));
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

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "queries") == 0) {
    for (size_t q = 0; q < NQ; q++)
      printf("%s\n", queries[q]);
    return 0;
  }
  if ((argc != 5 && argc != 6) || strcmp(argv[1], "load") != 0) {
    fprintf(stderr, "usage: fed_load load DIR NODE-ID N [FIRST] | queries -\n");
    return 2;
  }
  char *end;
  long n = strtol(argv[4], &end, 10), first = 0;
  if (*end != '\0' || n <= 0) {
    fprintf(stderr, "fed_load: bad number %s\n", argv[4]);
    return 2;
  }
  if (argc == 6) {
    first = strtol(argv[5], &end, 10);
    if (*end != '\0' || first < 0) {
      fprintf(stderr, "fed_load: bad number %s\n", argv[5]);
      return 2;
    }
  }
  return load(argv[2], argv[3], first, n);
}
