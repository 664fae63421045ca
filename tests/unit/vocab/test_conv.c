/* test_conv: conversion profiles and the streaming converter, driven by
 * tests/cases/vocab/conv.tsv (profile, input, expected output and issues) with the
 * input fed in chunks of several sizes, plus profile refusals (profiles.tsv). */
#include "tcase.h"

#include "tg_buf.h"
#include "tg_err.h"
#include "tg_voc_conv.h"
#include "tg_voc_prof.h" /* to compare the fast path with the jansson path */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
  struct tg_buf out;
  struct tg_buf issues; /* "pointer\tskipped\treason\n" per issue */
  int fail_after;       /* make the writer fail after this many calls (0: never) */
  int calls;
};

static int sink_write(void *ud, const char *data, size_t len) {
  struct sink *s = ud;
  if (s->fail_after && ++s->calls >= s->fail_after)
    return TG_EIO;
  return tg_buf_append(&s->out, data, len);
}

static void sink_report(void *ud, const struct tg_voc_conv_issue *is) {
  struct sink *s = ud;
  tg_buf_printf(&s->issues, "%s\t%d\t%s\n", is->pointer, is->skipped, is->reason);
}

static char *slurp_case(const char *name) {
  char rel[256];
  snprintf(rel, sizeof(rel), "tests/cases/vocab/conv/%s", name);
  char *t = tcase_slurp(rel, NULL);
  if (t == NULL)
    fail_msg("missing %s", rel);
  return t;
}

/* Each expected issue line "pointer TAB skipped TAB fragment" must match the
 * corresponding reported line (same pointer and flag, reason containing fragment). */
static void check_issues(const char *got, const char *want) {
  const char *g = got, *w = want;
  int line = 0;
  while (*w) {
    line++;
    const char *we = strchr(w, '\n'), *ge = strchr(g, '\n');
    if (ge == NULL)
      fail_msg("issue %d missing; want: %.*s\ngot all:\n%s", line, (int)(we - w), w, got);
    const char *wt1 = strchr(w, '\t'), *wt2 = strchr(wt1 + 1, '\t');
    const char *gt1 = strchr(g, '\t'), *gt2 = strchr(gt1 + 1, '\t');
    if ((wt2 - w) != (gt2 - g) || strncmp(w, g, (size_t)(wt2 - w)) != 0)
      fail_msg("issue %d: got %.*s, want %.*s", line, (int)(ge - g), g, (int)(we - w), w);
    char frag[256];
    snprintf(frag, sizeof(frag), "%.*s", (int)(we - wt2 - 1), wt2 + 1);
    char reason[512];
    snprintf(reason, sizeof(reason), "%.*s", (int)(ge - gt2 - 1), gt2 + 1);
    if (strstr(reason, frag) == NULL)
      fail_msg("issue %d: reason '%s' lacks '%s'", line, reason, frag);
    w = we + 1;
    g = ge + 1;
  }
  if (*g)
    fail_msg("unexpected issues:\n%s", g);
}

/* 1 if texts A and B hold the same JSON values (one array, or one value per line). */
static int same_json(const char *a, const char *b) {
  if (a[0] == '[' || b[0] == '[') {
    json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
    int eq = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
  }
  while (*a || *b) {
    const char *ae = strchr(a, '\n'), *be = strchr(b, '\n');
    if (!ae || !be)
      return 0;
    json_t *x = json_loadb(a, (size_t)(ae - a), 0, NULL), *y = json_loadb(b, (size_t)(be - b), 0, NULL);
    int eq = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    if (!eq)
      return 0;
    a = ae + 1;
    b = be + 1;
  }
  return 1;
}

/* Runs the converter over IN in chunks of STEP into S. */
static void run_conv(const struct tg_voc_profile *p, int fmt, const char *in, size_t step,
                     struct sink *s) {
  struct tg_voc_conv *cv;
  struct tg_err err;
  size_t len = strlen(in);
  tg_buf_init(&s->out);
  tg_buf_init(&s->issues);
  assert_int_equal(tg_voc_conv_new(p, fmt, 0, sink_write, sink_report, s, &cv, NULL), 0);
  for (size_t off = 0; off < len; off += step) {
    size_t n = len - off < step ? len - off : step;
    if (tg_voc_conv_feed(cv, in + off, n, &err) != 0)
      fail_msg("feed: %s", err.msg);
  }
  if (tg_voc_conv_finish(cv, &err) != 0)
    fail_msg("finish: %s", err.msg);
  struct tg_voc_conv_stats st;
  tg_voc_conv_stats(cv, &st);
  assert_int_equal(st.records, st.written + st.skipped);
  tg_voc_conv_free(cv);
}

static void conv_case(void **state) {
  const struct tcase *c = *state;
  assert_int_equal(c->nf, 5);
  char *ptext = slurp_case(c->f[0]), *in = slurp_case(c->f[1]);
  char *want = slurp_case(c->f[3]), *want_issues = slurp_case(c->f[4]);
  struct tg_voc_profile *p;
  struct tg_err err;
  if (tg_voc_profile_load(ptext, strlen(ptext), &p, &err) != 0)
    fail_msg("profile: %s", err.msg);
  int fmt = strcmp(c->f[2], "ndjson") == 0 ? TG_VOC_FMT_NDJSON : TG_VOC_FMT_AUTO;
  static const size_t chunks[] = {1, 2, 7, 64, 0};
  for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
    struct sink s = {0};
    size_t step = chunks[k] ? chunks[k] : strlen(in);
    run_conv(p, fmt, in, step, &s);
    if (strcmp(s.out.data ? s.out.data : "", want) != 0)
      fail_msg("chunk %zu: output\n%s\nwant\n%s", step, s.out.data ? s.out.data : "", want);
    check_issues(s.issues.data ? s.issues.data : "", want_issues);
    tg_buf_close(&s.out);
    tg_buf_close(&s.issues);
  }
  /* The jansson path agrees with the fast path: same values, same issues. */
  struct sink fast = {0}, slow = {0};
  run_conv(p, fmt, in, 4096, &fast);
  tg__voc_profile_set_fast(p, 0);
  run_conv(p, fmt, in, 4096, &slow);
  if (!same_json(fast.out.data ? fast.out.data : "", slow.out.data ? slow.out.data : ""))
    fail_msg("paths differ:\n%s\n%s", fast.out.data, slow.out.data);
  assert_string_equal(fast.issues.data ? fast.issues.data : "",
                      slow.issues.data ? slow.issues.data : "");
  tg_buf_close(&fast.out);
  tg_buf_close(&fast.issues);
  tg_buf_close(&slow.out);
  tg_buf_close(&slow.issues);
  tg_voc_profile_free(p);
  free(ptext);
  free(in);
  free(want);
  free(want_issues);
}

/* profiles.tsv: profile JSON <TAB> OK | fragment of the refusal */
static void profile_case(void **state) {
  const struct tcase *c = *state;
  struct tg_voc_profile *p = NULL;
  struct tg_err err;
  tg_err_clear(&err);
  int rc = tg_voc_profile_load(c->f[0], strlen(c->f[0]), &p, &err);
  if (strcmp(c->f[1], "OK") == 0) {
    if (rc != 0)
      fail_msg("refused: %s", err.msg);
    assert_non_null(p);
  } else {
    assert_int_equal(rc, TG_EINVAL);
    assert_null(p);
    if (strstr(err.msg, c->f[1]) == NULL)
      fail_msg("reason '%s' lacks '%s'", err.msg, c->f[1]);
  }
  tg_voc_profile_free(p);
}

static const char *simple_profile =
    "{\"id\":\"p\",\"fields\":[{\"from\":\"l\",\"to\":\"level\",\"unit\":{\"from\":\"cm\","
    "\"to\":\"m\"}}]}";

/* Structural errors between records stop the converter, with a reason. */
static void broken_structure(void **state) {
  (void)state;
  static const char *bad[] = {"[{\"l\":1} {\"l\":2}]", "[{\"l\":1},]", "[{\"l\":1}] x",
                              "[{\"l\":1}", "{\"l\":1", "[{\"l\":1},", "}",
                              "\xef\xbb[{\"l\":1}]"};
  struct tg_voc_profile *p;
  assert_int_equal(tg_voc_profile_load(simple_profile, strlen(simple_profile), &p, NULL), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct sink s = {0};
    struct tg_voc_conv *cv;
    struct tg_err err;
    tg_err_clear(&err);
    tg_buf_init(&s.out);
    tg_buf_init(&s.issues);
    assert_int_equal(tg_voc_conv_new(p, TG_VOC_FMT_AUTO, 0, sink_write, sink_report, &s, &cv,
                                      NULL), 0);
    int rc = tg_voc_conv_feed(cv, bad[i], strlen(bad[i]), &err);
    if (rc == 0)
      rc = tg_voc_conv_finish(cv, &err);
    if (rc != TG_EINVAL)
      fail_msg("'%s' accepted", bad[i]);
    assert_true(err.msg[0] != '\0');
    /* once broken, always broken */
    assert_int_equal(tg_voc_conv_feed(cv, "{}", 2, NULL), TG_EINVAL);
    tg_voc_conv_free(cv);
    tg_buf_close(&s.out);
    tg_buf_close(&s.issues);
  }
  tg_voc_profile_free(p);
}

/* Many records through a small maximum record size: the converter keeps going,
 * skips and reports only the oversized one, and never asks for more memory than a
 * record (checked by the sanitizer's leak and bounds checks plus the counts). */
static void many_records_and_limits(void **state) {
  (void)state;
  struct tg_voc_profile *p;
  struct sink s = {0};
  struct tg_voc_conv *cv;
  char line[128];
  assert_int_equal(tg_voc_profile_load(simple_profile, strlen(simple_profile), &p, NULL), 0);
  tg_buf_init(&s.out);
  tg_buf_init(&s.issues);
  assert_int_equal(tg_voc_conv_new(p, TG_VOC_FMT_NDJSON, 64, sink_write, sink_report, &s, &cv,
                                   NULL), 0);
  for (int i = 0; i < 20000; i++) {
    int n = snprintf(line, sizeof(line), "{\"l\":%d}\n", i);
    assert_int_equal(tg_voc_conv_feed(cv, line, (size_t)n, NULL), 0);
    if (i == 500) {
      char big[200];
      memset(big, ' ', sizeof(big));
      big[0] = '{', big[sizeof(big) - 2] = '}', big[sizeof(big) - 1] = '\n';
      assert_int_equal(tg_voc_conv_feed(cv, big, sizeof(big), NULL), 0);
    }
  }
  assert_int_equal(tg_voc_conv_finish(cv, NULL), 0);
  struct tg_voc_conv_stats st;
  tg_voc_conv_stats(cv, &st);
  assert_int_equal(st.records, 20001);
  assert_int_equal(st.written, 20000);
  assert_int_equal(st.skipped, 1);
  assert_string_equal(s.issues.data, "/501\t1\trecord larger than 64 bytes\n");
  /* 12345 cm is 123.45 m, written without float noise */
  assert_non_null(strstr(s.out.data, "{\"level\":123.45}\n"));
  tg_voc_conv_free(cv);
  tg_voc_profile_free(p);
  tg_buf_close(&s.out);
  tg_buf_close(&s.issues);
}

/* A failing writer stops the converter with the writer's error. */
static void writer_failure(void **state) {
  (void)state;
  struct tg_voc_profile *p;
  struct sink s = {0};
  struct tg_voc_conv *cv;
  assert_int_equal(tg_voc_profile_load(simple_profile, strlen(simple_profile), &p, NULL), 0);
  tg_buf_init(&s.out);
  tg_buf_init(&s.issues);
  s.fail_after = 1;
  assert_int_equal(tg_voc_conv_new(p, TG_VOC_FMT_AUTO, 0, sink_write, NULL, &s, &cv, NULL), 0);
  assert_int_equal(tg_voc_conv_feed(cv, "{\"l\":1}", 7, NULL), 0);
  assert_int_equal(tg_voc_conv_finish(cv, NULL), TG_EIO);
  tg_voc_conv_free(cv);
  tg_voc_profile_free(p);
  tg_buf_close(&s.out);
  tg_buf_close(&s.issues);
}

/* tg_voc_profile_apply on one record, and the JSON writer's number form. */
static void apply_one(void **state) {
  (void)state;
  struct tg_voc_profile *p;
  struct sink s = {0};
  json_t *in = json_pack("{s:f, s:s}", "l", 2.54, "x", "y"), *out = NULL;
  struct tg_buf b;
  assert_int_equal(tg_voc_profile_load(simple_profile, strlen(simple_profile), &p, NULL), 0);
  tg_buf_init(&s.issues);
  assert_int_equal(tg_voc_profile_apply(p, in, 0, &out, sink_report, &s), 0);
  tg_buf_init(&b);
  assert_int_equal(tg_voc_json_write(&b, out), 0);
  assert_string_equal(b.data, "{\"x\":\"y\",\"level\":0.0254}");
  assert_null(s.issues.data);
  /* the input is untouched */
  assert_non_null(json_object_get(in, "l"));
  json_decref(out);
  json_decref(in);
  in = json_pack("{s:s}", "l", "abc");
  assert_int_equal(tg_voc_profile_apply(p, in, 7, &out, sink_report, &s), TG_EINVAL);
  assert_null(out);
  assert_non_null(strstr(s.issues.data, "/l\t1\t"));
  json_decref(in);
  tg_buf_close(&b);
  tg_buf_close(&s.issues);
  tg_voc_profile_free(p);
}

static void table_set(void **state) {
  (void)state;
  const char *txt = "{\"id\":\"t\",\"fields\":[{\"from\":\"s\",\"code\":{\"table\":\"m\"}}]}";
  struct tg_voc_profile *p;
  json_t *in = json_pack("{s:s}", "s", "A1"), *out = NULL;
  assert_int_equal(tg_voc_profile_load(txt, strlen(txt), &p, NULL), 0);
  assert_string_equal(tg_voc_profile_id(p), "t");
  assert_int_equal(tg_voc_profile_apply(p, in, 0, &out, NULL, NULL), TG_EINVAL);
  assert_int_equal(tg_voc_profile_table_set(p, "m", "A1", "131016"), 0);
  assert_int_equal(tg_voc_profile_apply(p, in, 0, &out, NULL, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(out, "s")), "131016");
  json_decref(out);
  json_decref(in);
  tg_voc_profile_free(p);
}

int main(void) {
  tcase_add_file("conv.tsv", conv_case);
  tcase_add_file("profiles.tsv", profile_case);
  tcase_add("broken_structure", broken_structure);
  tcase_add("many_records_and_limits", many_records_and_limits);
  tcase_add("writer_failure", writer_failure);
  tcase_add("apply_one", apply_one);
  tcase_add("table_set", table_set);
  return tcase_run_all("conv");
}
