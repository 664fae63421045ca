/* test_store: the catalog store on a real SQLite file: ids, versions and
 * If-Match conflicts, views, durability across reopen, policy decisions on
 * stored datasets, and the change feed replaying the catalog exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_buf.h"
#include "tg_cat.h"
#include "tg_db.h"
#include "tg_err.h"

struct fx {
  char dir[64];
  char path[128];
  sqlite3 *db;
  struct tg_cat_store *s;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/tg-cat-store-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/node.db", f->dir);
  struct tg_err err;
  if (tg_db_open(f->path, 1, &f->db, &err) != 0 || tg_cat_store_open(f->db, "a-city", &f->s, &err))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  tg_cat_store_free(f->s);
  tg_db_close(f->db);
  char p[256];
  static const char *const files[] = {"node.db", "node.db-wal", "node.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
    unlink(p);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

static json_t *doc(const char *title, const char *extra) {
  char buf[4096];
  snprintf(buf, sizeof(buf),
           "{\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\": "
           "\"http://www.w3.org/ns/dcat#\", \"tsunagu\": \"urn:tsunagu:ns:\", \"odrl\": "
           "\"http://www.w3.org/ns/odrl/2/\"}, \"@type\": \"dcat:Dataset\", \"dct:title\": "
           "{\"@value\": \"%s\", \"@language\": \"ja\"}, \"dct:description\": \"説明\", "
           "\"dcat:distribution\": {\"dcat:accessURL\": {\"@id\": \"https://a.example/d\"}, "
           "\"tsunagu:backend\": {\"@id\": \"http://10.0.0.5:8080/secret\"}}%s%s}",
           title, extra ? ", " : "", extra ? extra : "");
  json_t *j = json_loads(buf, 0, NULL);
  assert_non_null(j);
  return j;
}

static int64_t count_changes(struct tg_cat_store *s) {
  json_t *c = NULL;
  assert_int_equal(tg_cat_changes(s, 0, 1000, &c, NULL), 0);
  int64_t n = (int64_t)json_array_size(json_object_get(c, "changes"));
  json_decref(c);
  return n;
}

static void test_create_get_views(void **state) {
  struct fx *f = *state;
  struct tg_cat_write w;
  json_t *problems = NULL, *in = doc("河川水位", NULL);
  assert_int_equal(tg_cat_dataset_create(f->s, in, "water-level", &w, &problems, NULL), 0);
  assert_string_equal(w.id, "urn:tsunagu:a-city:dataset:water-level");
  assert_int_equal(w.version, 1);
  assert_true(w.created);
  json_t *owner = NULL, *pub = NULL;
  int64_t v = 0;
  assert_int_equal(tg_cat_dataset_get(f->s, w.id, TG_CAT_VIEW_OWNER, &owner, &v, NULL), 0);
  assert_int_equal(v, 1);
  assert_string_equal(json_string_value(json_object_get(owner, "@id")), w.id);
  char *os = json_dumps(owner, 0);
  assert_non_null(strstr(os, "10.0.0.5"));
  assert_non_null(strstr(os, "\"tsunagu:mode\": \"distributed\""));
  free(os);
  /* The policy got a uid derived from the dataset id. */
  json_t *pol = json_object_get(owner, "odrl:hasPolicy");
  assert_string_equal(json_string_value(json_object_get(pol, "@id")),
                      "urn:tsunagu:a-city:dataset:water-level:policy");
  assert_int_equal(tg_cat_dataset_get(f->s, w.id, TG_CAT_VIEW_PUBLIC, &pub, NULL, NULL), 0);
  char *ps = json_dumps(pub, 0);
  assert_null(strstr(ps, "10.0.0.5"));
  assert_null(strstr(ps, "tsunagu:mode"));
  free(ps);
  /* Same slug again: taken. A random id otherwise. */
  struct tg_cat_write w2;
  assert_int_equal(tg_cat_dataset_create(f->s, in, "water-level", &w2, &problems, NULL),
                   TG_EEXIST);
  assert_int_equal(tg_cat_dataset_create(f->s, in, NULL, &w2, &problems, NULL), 0);
  assert_int_equal(strlen(w2.id), strlen("urn:tsunagu:a-city:dataset:") + 16);
  tg_cat_write_clear(&w2);
  assert_int_equal(tg_cat_dataset_create(f->s, in, "bad/slug", &w2, &problems, NULL), TG_EINVAL);
  tg_cat_write_clear(&w2);
  tg_cat_write_clear(&w);
  json_decref(owner);
  json_decref(pub);
  json_decref(in);
  /* A document with problems stores nothing. */
  int64_t before = count_changes(f->s);
  json_t *bad = json_loads("{\"@context\": {\"dcat\": \"http://www.w3.org/ns/dcat#\"},"
                           " \"@type\": \"dcat:Dataset\"}",
                           0, NULL);
  assert_int_equal(tg_cat_dataset_create(f->s, bad, NULL, &w2, &problems, NULL), TG_EINVAL);
  assert_true(json_array_size(problems) >= 2);
  assert_int_equal(count_changes(f->s), before);
  json_decref(problems);
  json_decref(bad);
}

static void test_versions(void **state) {
  struct fx *f = *state;
  struct tg_cat_write w, w2;
  struct tg_err err;
  json_t *problems = NULL, *in = doc("雨量", NULL), *in2 = doc("雨量 改", NULL);
  assert_int_equal(tg_cat_dataset_create(f->s, in, "rain", &w, &problems, NULL), 0);
  assert_int_equal(tg_cat_dataset_put(f->s, w.id, in2, 1, &w2, &problems, &err), 0);
  assert_int_equal(w2.version, 2);
  assert_false(w2.created);
  assert_true(w2.seq > w.seq);
  tg_cat_write_clear(&w2);
  /* A stale If-Match loses. */
  assert_int_equal(tg_cat_dataset_put(f->s, w.id, in, 1, &w2, &problems, &err), TG_ECONFLICT);
  assert_int_equal(tg_cat_dataset_delete(f->s, w.id, 1, NULL, &err), TG_ECONFLICT);
  json_t *got = NULL;
  int64_t v;
  assert_int_equal(tg_cat_dataset_get(f->s, w.id, TG_CAT_VIEW_PUBLIC, &got, &v, NULL), 0);
  assert_int_equal(v, 2);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(got, "dct:title"), 0),
                                        "@value")),
      "雨量 改");
  json_decref(got);
  /* If-Match on something absent; PUT-create on our id; not on another node's. */
  assert_int_equal(tg_cat_dataset_put(f->s, "urn:tsunagu:a-city:dataset:none", in, 3, &w2,
                                      &problems, &err),
                   TG_ENOENT);
  assert_int_equal(tg_cat_dataset_put(f->s, "urn:tsunagu:a-city:dataset:new", in, -1, &w2,
                                      &problems, &err),
                   0);
  assert_true(w2.created);
  assert_int_equal(w2.version, 1);
  tg_cat_write_clear(&w2);
  assert_int_equal(tg_cat_dataset_put(f->s, "urn:tsunagu:b-town:dataset:x", in, -1, &w2,
                                      &problems, &err),
                   TG_EPERM);
  /* An input @id that is not the target is a field problem. */
  json_object_set_new(in, "@id", json_string("urn:tsunagu:a-city:dataset:other"));
  assert_int_equal(tg_cat_dataset_put(f->s, w.id, in, -1, &w2, &problems, &err), TG_EINVAL);
  assert_string_equal(json_string_value(json_object_get(json_array_get(problems, 0), "pointer")),
                      "/@id");
  json_decref(problems);
  /* Delete, then the id is gone; re-creating continues the version. */
  struct tg_cat_write wd;
  assert_int_equal(tg_cat_dataset_delete(f->s, w.id, 2, &wd, &err), 0);
  assert_int_equal(wd.version, 3);
  tg_cat_write_clear(&wd);
  assert_int_equal(tg_cat_dataset_get(f->s, w.id, TG_CAT_VIEW_PUBLIC, &got, &v, NULL), TG_ENOENT);
  assert_int_equal(tg_cat_dataset_delete(f->s, w.id, -1, NULL, &err), TG_ENOENT);
  json_object_del(in, "@id");
  assert_int_equal(tg_cat_dataset_create(f->s, in, "rain", &w2, &problems, NULL), 0);
  assert_int_equal(w2.version, 4);
  assert_true(w2.created);
  tg_cat_write_clear(&w2);
  tg_cat_write_clear(&w);
  json_decref(in);
  json_decref(in2);
}

static void test_reopen_and_decide(void **state) {
  struct fx *f = *state;
  struct tg_cat_write w;
  json_t *in = doc("ダム", "\"odrl:hasPolicy\": {\"@type\": \"odrl:Offer\", \"odrl:permission\": "
                          "{\"odrl:action\": {\"@id\": \"odrl:use\"}, \"odrl:assignee\": {\"@id\": "
                          "\"urn:tsunagu:node:c-village\"}}}");
  assert_int_equal(tg_cat_dataset_create(f->s, in, "dam", &w, NULL, NULL), 0);
  /* Close and reopen: the acknowledged write is there. */
  tg_cat_store_free(f->s);
  tg_db_close(f->db);
  assert_int_equal(tg_db_open(f->path, 0, &f->db, NULL), 0);
  assert_int_equal(tg_cat_store_open(f->db, "a-city", &f->s, NULL), 0);
  struct tg_cat_access req = {.node_id = "c-village", .now = 1700000000, .is_federation_member = 1};
  struct tg_cat_decision d;
  assert_int_equal(tg_cat_dataset_decide(f->s, w.id, &req, &d, NULL), 0);
  assert_int_equal(d.verdict, TG_CAT_PERMIT);
  req.node_id = "b-town";
  assert_int_equal(tg_cat_dataset_decide(f->s, w.id, &req, &d, NULL), 0);
  assert_int_equal(d.verdict, TG_CAT_DENY);
  assert_int_equal(tg_cat_dataset_decide(f->s, "urn:tsunagu:a-city:dataset:nope", &req, &d, NULL),
                   TG_ENOENT);
  tg_cat_write_clear(&w);
  json_decref(in);
}

/* Applies a page of changes to REPLICA (id -> public document). */
static int64_t apply(json_t *replica, const json_t *page, int64_t since) {
  json_t *ch = json_object_get(page, "changes");
  for (size_t i = 0; i < json_array_size(ch); i++) {
    json_t *c = json_array_get(ch, i);
    int64_t seq = json_integer_value(json_object_get(c, "seq"));
    assert_true(seq > since); /* strictly increasing */
    since = seq;
    const char *id = json_string_value(json_object_get(c, "id"));
    if (strcmp(json_string_value(json_object_get(c, "op")), "delete") == 0) {
      assert_null(json_object_get(c, "dataset"));
      json_object_del(replica, id);
    } else {
      json_object_set(replica, id, json_object_get(c, "dataset"));
    }
  }
  return since;
}

static int64_t replay(struct tg_cat_store *s, json_t *replica, int64_t since, int64_t page) {
  for (;;) {
    json_t *c = NULL;
    assert_int_equal(tg_cat_changes(s, since, page, &c, NULL), 0);
    since = apply(replica, c, since);
    assert_int_equal(json_integer_value(json_object_get(c, "last_seq")), since);
    int more = json_is_true(json_object_get(c, "more"));
    json_decref(c);
    if (!more)
      return since;
  }
}

static void assert_same_catalog(struct tg_cat_store *s, const json_t *replica) {
  json_t *list = NULL;
  assert_int_equal(tg_cat_dataset_list(s, TG_CAT_VIEW_PUBLIC, 0, 1000, &list, NULL), 0);
  json_t *ds = json_object_get(list, "datasets");
  assert_int_equal(json_array_size(ds), json_object_size(replica));
  assert_int_equal(json_integer_value(json_object_get(list, "total")), json_object_size(replica));
  for (size_t i = 0; i < json_array_size(ds); i++) {
    json_t *d = json_array_get(ds, i);
    json_t *r = json_object_get(replica, json_string_value(json_object_get(d, "@id")));
    assert_non_null(r);
    assert_true(json_equal(d, r));
  }
  json_decref(list);
}

static void random_ops(struct tg_cat_store *s, unsigned *rng, int n) {
  for (int i = 0; i < n; i++) {
    *rng = *rng * 1103515245u + 12345u;
    unsigned r = (*rng >> 16) & 0x7fff;
    char slug[16], title[64], id[80];
    snprintf(slug, sizeof(slug), "d%u", r % 9);
    snprintf(id, sizeof(id), "urn:tsunagu:a-city:dataset:%s", slug);
    snprintf(title, sizeof(title), "観測 %u", r);
    if (r % 4 == 0) {
      tg_cat_dataset_delete(s, id, -1, NULL, NULL); /* may be ENOENT */
    } else {
      json_t *d = doc(title, NULL);
      int rc = tg_cat_dataset_put(s, id, d, -1, NULL, NULL, NULL);
      assert_int_equal(rc, 0);
      json_decref(d);
    }
  }
}

static void test_change_feed_replays(void **state) {
  struct fx *f = *state;
  unsigned rng = 42;
  json_t *replica = json_object();
  random_ops(f->s, &rng, 60);
  int64_t since = replay(f->s, replica, 0, 7);
  assert_same_catalog(f->s, replica);
  /* Incremental harvest from where it stopped. */
  random_ops(f->s, &rng, 40);
  since = replay(f->s, replica, since, 5);
  assert_same_catalog(f->s, replica);
  /* Nothing new: an empty page that keeps the position. */
  json_t *c = NULL;
  assert_int_equal(tg_cat_changes(f->s, since, 10, &c, NULL), 0);
  assert_int_equal(json_array_size(json_object_get(c, "changes")), 0);
  assert_int_equal(json_integer_value(json_object_get(c, "last_seq")), since);
  assert_false(json_is_true(json_object_get(c, "more")));
  json_decref(c);
  /* Some deletions happened and show as tombstones in a full replay. */
  json_t *fresh = json_object();
  replay(f->s, fresh, 0, 1000);
  assert_true(json_equal(fresh, replica));
  json_decref(fresh);
  json_decref(replica);
}

/* The feed page as text (stored datasets spliced in, not dumped again) is
 * byte for byte the compact dump of the page as a tree, for every viewer:
 * a dataset without private terms (the splice), one with them (the public
 * view, cut from the text), one the viewer's policy hides (a delete), a
 * deleted one, and strings that need escaping. */
static void test_change_feed_text(void **state) {
  struct fx *f = *state;
  struct tg_cat_write w;
  const char *plain =
      "{\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\":"
      " \"http://www.w3.org/ns/dcat#\", \"odrl\": \"http://www.w3.org/ns/odrl/2/\"},"
      " \"@type\": \"dcat:Dataset\", \"dct:title\": {\"@value\": \"水位 \\\"q\\\" a\\\\b </x> \\u00e9\","
      " \"@language\": \"ja\"}, \"dct:description\": {\"@value\": \"d\\nline\", \"@language\": \"en\"}}";
  const char *hidden =
      "{\"@context\": {\"dct\": \"http://purl.org/dc/terms/\", \"dcat\":"
      " \"http://www.w3.org/ns/dcat#\", \"odrl\": \"http://www.w3.org/ns/odrl/2/\"},"
      " \"@type\": \"dcat:Dataset\", \"dct:title\": {\"@value\": \"h\", \"@language\": \"en\"},"
      " \"dct:description\": {\"@value\": \"d\", \"@language\": \"en\"}, \"odrl:hasPolicy\":"
      " {\"@type\": \"odrl:Offer\", \"odrl:permission\": {\"odrl:action\": {\"@id\": \"odrl:use\"},"
      " \"odrl:assignee\": {\"@id\": \"urn:tsunagu:node:b-town\"}}}}";
  const char *texts[] = {plain, hidden, plain};
  const char *slugs[] = {"plain", "hidden", "gone"};
  for (size_t i = 0; i < 3; i++) {
    json_t *in = json_loads(texts[i], 0, NULL);
    assert_non_null(in);
    assert_int_equal(tg_cat_dataset_create(f->s, in, slugs[i], &w, NULL, NULL), 0);
    json_decref(in);
    if (i == 2)
      assert_int_equal(tg_cat_dataset_delete(f->s, w.id, -1, NULL, NULL), 0);
    tg_cat_write_clear(&w);
  }
  json_t *in = doc("private", NULL); /* tsunagu:backend: the public view */
  assert_int_equal(tg_cat_dataset_create(f->s, in, "private", &w, NULL, NULL), 0);
  json_decref(in);
  tg_cat_write_clear(&w);
  struct tg_cat_access c = {
      .node_id = "c-village", .action = "use", .now = 1800000000, .is_federation_member = 1};
  struct tg_cat_access b = c;
  b.node_id = "b-town";
  const struct tg_cat_access *viewers[] = {NULL, &c, &b};
  int spliced = 0;
  for (size_t v = 0; v < 3; v++) {
    for (int64_t since = 0; since < 5; since++) {
      for (int64_t limit = 1; limit <= 5; limit += 4) {
        json_t *page = NULL;
        assert_int_equal(tg_cat_changes_for(f->s, since, limit, viewers[v], &page, NULL), 0);
        char *want = json_dumps(page, JSON_COMPACT);
        struct tg_buf got;
        tg_buf_init(&got);
        int64_t last = -1;
        int more = -1;
        assert_int_equal(
            tg_cat_changes_text(f->s, since, limit, viewers[v], &got, &last, &more, NULL), 0);
        assert_string_equal(got.data, want);
        assert_int_equal(last, json_integer_value(json_object_get(page, "last_seq")));
        assert_int_equal(more, json_is_true(json_object_get(page, "more")));
        if (strstr(got.data, "</x>") != NULL)
          spliced++;
        tg_buf_close(&got);
        free(want);
        json_decref(page);
      }
    }
  }
  assert_true(spliced > 0);
}

/* The plain form's "id": a local id names this node's dataset on create,
 * PUT checks it against the target, and a mismatch is reported at /id. */
static void test_plain_ids(void **state) {
  struct fx *f = *state;
  struct tg_cat_write w;
  struct tg_err err;
  json_t *problems = NULL;
  json_t *in = json_pack("{s:s, s:s, s:s}", "id", "river-level", "title", "水位", "description",
                         "説明");
  assert_int_equal(tg_cat_dataset_create(f->s, in, NULL, &w, &problems, &err), 0);
  assert_string_equal(w.id, "urn:tsunagu:a-city:dataset:river-level");
  tg_cat_write_clear(&w);
  /* The same document again names the same id: taken. */
  assert_int_equal(tg_cat_dataset_create(f->s, in, NULL, &w, &problems, &err), TG_EEXIST);
  /* Updating it by its full id with the local id in the body works... */
  json_object_set_new(in, "title", json_string("水位（更新）"));
  assert_int_equal(tg_cat_dataset_put(f->s, "urn:tsunagu:a-city:dataset:river-level", in, 1, &w,
                                      &problems, &err),
                   0);
  assert_int_equal(w.version, 2);
  tg_cat_write_clear(&w);
  /* ...but not under another id: the problem points at the plain field. */
  assert_int_equal(tg_cat_dataset_put(f->s, "urn:tsunagu:a-city:dataset:other", in, -1, &w,
                                      &problems, &err),
                   TG_EINVAL);
  assert_string_equal(json_string_value(json_object_get(json_array_get(problems, 0), "pointer")),
                      "/id");
  json_decref(problems);
  json_decref(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_get_views, setup, teardown),
      cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_and_decide, setup, teardown),
      cmocka_unit_test_setup_teardown(test_change_feed_replays, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plain_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_change_feed_text, setup, teardown),
  };
  return cmocka_run_group_tests_name("catalog_store", tests, NULL, NULL);
}
