/* tsunagud: the tsunagu node daemon. `tsunagud -D DIR` serves the node whose
 * state lives in DIR until SIGTERM. */
#include "config.h"
#include "tg_ca_node.h"
#include "tg_log.h"
#include "tg_server.h"

#include <curl/curl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
  fprintf(f, "usage: tsunagud [-t] -D DIR\n"
             "Runs the tsunagu node whose state lives in DIR (made by `tsunagu init`).\n"
             "  -D, --dir DIR   the node's state directory\n"
             "  -t, --test      check the configuration and the files it names, then exit\n"
             "                  (0: good, 1: what is wrong is printed)\n"
             "  -h, --help      this help\n"
             "  -V, --version   print the version\n"
             "Signals: SIGTERM drains and exits 0; SIGHUP reloads the configuration and "
             "certificates.\n");
}

/* A state directory others may write to lets them replace the node's key,
 * certificate or configuration: say so at start (tsunagu init makes it 700). */
static void warn_state_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 022) != 0)
    tg_log_warn("the state directory %s is %s-writable (mode %03o): whoever can write there can "
                "replace the node's key, certificate or configuration; chmod 700 it",
                dir, (st.st_mode & 002) ? "world" : "group", (unsigned)(st.st_mode & 0777));
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  int test = 0;
  for (int i = 1; i < argc; i++) {
    if ((strcmp(argv[i], "-D") == 0 || strcmp(argv[i], "--dir") == 0) && i + 1 < argc) {
      dir = argv[++i];
    } else if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--test") == 0) {
      test = 1;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
      printf("tsunagud %s\n", PACKAGE_VERSION);
      return 0;
    } else {
      fprintf(stderr, "tsunagud: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  if (dir == NULL) {
    fprintf(stderr, "tsunagud: missing -D DIR (try --help)\n");
    return 2;
  }
  if (test)
    return tg_server_check(dir);
  warn_state_dir(dir);
#if defined(__GLIBC__) && defined(M_MXFAST)
  /* No fastbins: with them, glibc consolidates every fastbin chunk before
   * each allocation of 1 KiB or more, and the daemon's mix of many small
   * JSON/SQLite frees with page-sized buffers made that the hottest
   * function of a harvest (h 25 s -> 19 s of CPU for 100,000 datasets, the
   * serving peer 9.5 -> 7.5 s). Small sizes still come from the per-thread
   * caches. */
  mallopt(M_MXFAST, 0);
#endif
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = tg_server_run(dir);
  tg_ca_node_shutdown();
  curl_global_cleanup();
  return rc;
}
