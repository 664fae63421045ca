/* tcase: data-driven cases for the vocab unit tests: reads a TAB-separated file under
 * tests/cases/vocab/ and runs one cmocka test per line, named by file, line and input. */
#ifndef TCASE_H
#define TCASE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

enum { TCASE_MAXF = 8 };

struct tcase {
  int lineno;
  int nf;                 /* number of fields */
  char *f[TCASE_MAXF];    /* fields, pointing into the loaded file */
  char name[160];         /* test name */
};

/* Adds one test per line of tests/cases/vocab/FILE (blank lines and lines starting
 * with '#' skipped) running FN; the test's *state is the line's struct tcase.
 * If the file cannot be read, adds a test that fails. */
void tcase_add_file(const char *file, CMUnitTestFunction fn);
/* Adds a plain test. */
void tcase_add(const char *name, CMUnitTestFunction fn);
/* Runs everything added as one group (one TAP plan) and frees it; returns the
 * number of failures. */
int tcase_run_all(const char *group);

/* Reads $top_srcdir/REL into a new heap string (caller frees); fails the test if absent. */
char *tcase_slurp(const char *rel, size_t *len);

#endif
