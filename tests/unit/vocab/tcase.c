/* tcase: loads TAB-separated case files and runs them as individual cmocka tests
 * in a single group, so the TAP driver sees one plan per program. */
#include "tcase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct CMUnitTest *g_tests;
static size_t g_n, g_cap;
static char *g_texts[32];
static size_t g_ntexts;

char *tcase_slurp(const char *rel, size_t *len) {
  const char *top = getenv("top_srcdir");
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "# cannot open %s\n", path);
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += r;
    if (n + 1 == cap) {
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len)
      *len = n;
  }
  return buf;
}

static void push(const char *name, CMUnitTestFunction fn, void *state) {
  if (g_n == g_cap) {
    size_t cap = g_cap ? g_cap * 2 : 64;
    struct CMUnitTest *nt = realloc(g_tests, cap * sizeof(*nt));
    if (nt == NULL)
      abort();
    g_tests = nt;
    g_cap = cap;
  }
  memset(&g_tests[g_n], 0, sizeof(g_tests[g_n]));
  g_tests[g_n].name = name;
  g_tests[g_n].test_func = fn;
  g_tests[g_n].initial_state = state;
  g_n++;
}

void tcase_add(const char *name, CMUnitTestFunction fn) { push(name, fn, NULL); }

static void missing_file(void **state) {
  (void)state;
  fail_msg("case file missing");
}

void tcase_add_file(const char *file, CMUnitTestFunction fn) {
  char rel[256];
  snprintf(rel, sizeof(rel), "tests/cases/vocab/%s", file);
  char *text = tcase_slurp(rel, NULL);
  if (text == NULL || g_ntexts == sizeof(g_texts) / sizeof(g_texts[0])) {
    free(text);
    push(file, missing_file, NULL);
    return;
  }
  g_texts[g_ntexts++] = text;
  int lineno = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    lineno++;
    if (*line == '\0' || *line == '#')
      continue;
    struct tcase *c = calloc(1, sizeof(*c));
    if (c == NULL)
      abort();
    c->lineno = lineno;
    for (char *p = line; p && c->nf < TCASE_MAXF; c->nf++) {
      c->f[c->nf] = p;
      p = strchr(p, '\t');
      if (p)
        *p++ = '\0';
    }
    snprintf(c->name, sizeof(c->name), "%s:%d %s", file, lineno, c->f[0]);
    push(c->name, fn, c);
  }
}

int tcase_run_all(const char *group) {
  int failed = _cmocka_run_group_tests(group, g_tests, g_n, NULL, NULL);
  for (size_t i = 0; i < g_n; i++)
    if (g_tests[i].test_func != missing_file && g_tests[i].initial_state != NULL)
      free(g_tests[i].initial_state);
  free(g_tests);
  for (size_t i = 0; i < g_ntexts; i++)
    free(g_texts[i]);
  g_tests = NULL;
  g_n = g_cap = g_ntexts = 0;
  return failed;
}
