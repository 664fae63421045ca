/* test_jsonld_w3c: runs the W3C JSON-LD 1.1 expansion test suite
 * (tests/standards/jsonld-1.1-tests/expand-manifest.jsonld) against
 * tg_jsonld_expand, one TAP line per test. JSON-LD 1.0-only tests are not
 * run; tests listed in out-of-scope.txt are reported as SKIP. Documents the
 * suite loads come from the suite's own folder (a local loader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_jsonld.h"
#include "tg_util.h"

#define SUITE_URL "https://w3c.github.io/json-ld-api/tests/"

static char suite_dir[4096];

/* The local loader: URLs under SUITE_URL from the suite's folder. USER
 * counts the documents loaded. */
static int local_load(void *user, const char *url, json_t **doc, struct tg_err *err) {
  char path[8192];
  json_error_t je;
  size_t n = strlen(SUITE_URL);
  (*(int *)user)++;
  if (strncmp(url, SUITE_URL, n) != 0 || strstr(url, "..") != NULL)
    return tg_err_set(err, TG_ENOENT, "%s is outside the test suite", url);
  snprintf(path, sizeof(path), "%s/%s", suite_dir, url + n);
  *doc = json_load_file(path, JSON_DECODE_ANY, &je);
  if (*doc == NULL)
    return tg_err_set(err, TG_ENOENT, "%s: %s", url, je.text);
  return 0;
}

/* ---- JSON-LD object comparison ---------------------------------------- */

static int jld_equal(json_t *a, json_t *b, int ordered);

static int num_equal(json_t *a, json_t *b) {
  if (json_is_integer(a) && json_is_integer(b))
    return json_integer_value(a) == json_integer_value(b);
  return json_number_value(a) == json_number_value(b);
}

/* Arrays: ORDERED (values of @list) pairwise, else as multisets. */
static int array_equal(json_t *a, json_t *b, int ordered) {
  size_t n = json_array_size(a);
  if (n != json_array_size(b))
    return 0;
  if (ordered) {
    for (size_t i = 0; i < n; i++)
      if (!jld_equal(json_array_get(a, i), json_array_get(b, i), 0))
        return 0;
    return 1;
  }
  char *used = calloc(n + 1, 1);
  int ok = used != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    size_t j = 0;
    while (j < n && (used[j] || !jld_equal(json_array_get(a, i), json_array_get(b, j), 0)))
      j++;
    if (j == n)
      ok = 0;
    else
      used[j] = 1;
  }
  free(used);
  return ok;
}

static int jld_equal(json_t *a, json_t *b, int ordered) {
  if (json_is_number(a) && json_is_number(b))
    return num_equal(a, b);
  if (json_typeof(a) != json_typeof(b))
    return 0;
  if (json_is_array(a))
    return array_equal(a, b, ordered);
  if (json_is_object(a)) {
    const char *k;
    json_t *v;
    if (json_object_size(a) != json_object_size(b))
      return 0;
    json_object_foreach(a, k, v) {
      json_t *w = json_object_get(b, k);
      int lit = strcmp(k, "@value") == 0; /* JSON literals keep their order */
      if (w == NULL || !(lit ? json_equal(v, w) || jld_equal(v, w, 1)
                             : jld_equal(v, w, strcmp(k, "@list") == 0)))
        return 0;
    }
    return 1;
  }
  return json_equal(a, b);
}

/* ---- one test -------------------------------------------------------- */

struct counts {
  int passed, failed, skipped, n;
  int refs;   /* tests whose input or options name another document */
  int loaded; /* tests that called the loader */
};

static int has_type(json_t *t, const char *type) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(t, "@type"), i, v) {
    if (strcmp(json_string_value(v), type) == 0)
      return 1;
  }
  return 0;
}

/* The reason ID is out of scope (from out-of-scope.txt), or NULL. */
static const char *out_of_scope(json_t *oos, const char *id) {
  return json_string_value(json_object_get(oos, id));
}

static json_t *load_oos(void) {
  char path[8192], line[1024];
  json_t *o = json_object();
  snprintf(path, sizeof(path), "%s/out-of-scope.txt", suite_dir);
  FILE *f = fopen(path, "r");
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] != '#' || line[1] == ' ')
      continue; /* comments start with "# " */
    char *sp = strchr(line, ' ');
    if (sp == NULL)
      continue;
    *sp = '\0';
    json_object_set_new(o, line, json_string(sp + 1));
  }
  if (f != NULL)
    fclose(f);
  return o;
}

/* 1 if document V names another document: a context given by IRI (a string
 * in an @context, anywhere) or a string @import. This is how the suite splits
 * into its 356 self-contained tests and 20 that need a loader (two of which name
 * IRIs outside the suite, refused; one fails on @import in 1.0 mode first). */
static int refs_documents(json_t *v, int in_context) {
  const char *k;
  json_t *x;
  size_t i;
  if (json_is_string(v))
    return in_context;
  if (json_is_array(v)) {
    json_array_foreach(v, i, x) {
      if (refs_documents(x, in_context))
        return 1;
    }
    return 0;
  }
  json_object_foreach(v, k, x) {
    if (in_context && strcmp(k, "@import") == 0 && json_is_string(x))
      return 1;
    if (json_is_string(x) && !(strcmp(k, "@context") == 0))
      continue;
    if (refs_documents(x, strcmp(k, "@context") == 0 || (in_context && json_is_object(x))))
      return 1;
  }
  return 0;
}

/* Runs test T; returns 1 pass, 0 fail; WHY gets the failure. */
static int run_test(json_t *t, const char *base_iri, struct counts *c, char *why, size_t n) {
  json_t *opt = json_object_get(t, "option"), *in, *out = NULL, *want = NULL, *ec = NULL;
  const char *input = json_string_value(json_object_get(t, "input"));
  char path[8192], base[2048], code[128];
  struct tg_err err = {0, ""};
  json_error_t je;
  int loads = 0;
  snprintf(path, sizeof(path), "%s/%s", suite_dir, input);
  if ((in = json_load_file(path, JSON_DECODE_ANY, &je)) == NULL) {
    snprintf(why, n, "cannot read %s: %s", input, je.text);
    return 0;
  }
  snprintf(base, sizeof(base), "%s%s", base_iri, input);
  struct tg_jsonld_opts o = {.base = base, .loader = local_load, .loader_user = &loads};
  if (json_is_string(json_object_get(opt, "base")))
    o.base = json_string_value(json_object_get(opt, "base"));
  const char *pm = json_string_value(json_object_get(opt, "processingMode"));
  if (pm != NULL && strcmp(pm, "json-ld-1.0") == 0)
    o.mode = TG_JSONLD_1_0;
  const char *ecs = json_string_value(json_object_get(opt, "expandContext"));
  if (ecs != NULL) {
    char u[2048];
    snprintf(u, sizeof(u), "%s%s", base_iri, ecs);
    o.expand_context = ec = json_string(u);
  }
  int rc = tg_jsonld_expand(in, &o, &out, &err);
  c->loaded += loads > 0;
  c->refs += ecs != NULL || refs_documents(in, 0);
  int ok = 0;
  if (has_type(t, "jld:NegativeEvaluationTest")) {
    const char *want_code = json_string_value(json_object_get(t, "expectErrorCode"));
    tg_jsonld_err_code(&err, code, sizeof(code));
    ok = rc != 0 && want_code != NULL && strcmp(code, want_code) == 0;
    if (!ok)
      snprintf(why, n, "want error '%s', got %s", want_code ? want_code : "?",
               rc == 0 ? "success" : err.msg);
  } else if (rc != 0) {
    snprintf(why, n, "error: %s", tg_err_msg(&err, rc));
  } else {
    snprintf(path, sizeof(path), "%s/%s", suite_dir,
             json_string_value(json_object_get(t, "expect")));
    want = json_load_file(path, JSON_DECODE_ANY, &je);
    ok = want != NULL && jld_equal(out, want, 0);
    if (!ok) {
      char *got = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
      snprintf(why, n, "got %s", got ? got : "?");
      free(got);
    }
  }
  json_decref(in);
  json_decref(out);
  json_decref(want);
  json_decref(ec);
  return ok;
}

static void run_all(json_t *manifest, json_t *oos, struct counts *c) {
  const char *base_iri = json_string_value(json_object_get(manifest, "baseIri"));
  size_t i;
  json_t *t;
  char why[600];
  const char *only = getenv("JSONLD_TEST");
  json_array_foreach(json_object_get(manifest, "sequence"), i, t) {
    const char *id = json_string_value(json_object_get(t, "@id"));
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *reason;
    const char *spec =
        json_string_value(json_object_get(json_object_get(t, "option"), "specVersion"));
    if (spec != NULL && strcmp(spec, "json-ld-1.0") == 0)
      continue;
    c->n++;
    if (only != NULL && strcmp(only, id) != 0)
      continue; /* JSONLD_TEST=#tNNNN runs one test while debugging */
    if ((reason = out_of_scope(oos, id)) != NULL) {
      printf("ok %d - %s %s # SKIP out of scope: %s\n", c->n, id, name, reason);
      c->skipped++;
      continue;
    }
    why[0] = '\0';
    if (run_test(t, base_iri, c, why, sizeof(why))) {
      printf("ok %d - %s %s\n", c->n, id, name);
      c->passed++;
    } else {
      printf("not ok %d - %s %s\n#   %s\n", c->n, id, name, why);
      c->failed++;
    }
  }
}

int main(void) {
  const char *top = getenv("top_srcdir");
  char path[8192];
  json_error_t je;
  struct counts c = {0, 0, 0, 0, 0, 0};
  setvbuf(stdout, NULL, _IOLBF, 0);
  snprintf(suite_dir, sizeof(suite_dir), "%s/tests/standards/jsonld-1.1-tests", top ? top : ".");
  snprintf(path, sizeof(path), "%s/expand-manifest.jsonld", suite_dir);
  json_t *m = json_load_file(path, 0, &je), *oos = load_oos();
  if (m == NULL) {
    printf("1..0 # SKIP cannot read %s: %s\n", path, je.text);
    json_decref(oos);
    return 1;
  }
  run_all(m, oos, &c);
  printf("1..%d\n", c.n);
  printf("# jsonld expand: %d passed, %d failed, %d out of scope\n", c.passed, c.failed, c.skipped);
  printf("# of %d JSON-LD 1.1 tests run: %d self-contained, %d name another document (a context "
         "IRI, @import or expandContext); %d called the loader\n",
         c.n - c.skipped, c.n - c.skipped - c.refs, c.refs, c.loaded);
  json_decref(m);
  json_decref(oos);
  return 0;
}
