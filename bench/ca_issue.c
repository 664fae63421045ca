/* bench/ca_issue: certificate issuance time of the federation CA as a
 * library: N CSRs parsed and N certificates issued and recorded (each a
 * durable SQLite commit), with p50/p99/max per step, in a temporary CA. */
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_util.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n) {
  qsort(v, (size_t)n, sizeof(double), cmp);
  printf("%-28s n=%d p50=%.1f us p99=%.1f us max=%.1f us\n", what, n, v[n / 2],
         v[(n * 99) / 100], v[n - 1]);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 500;
  char dir[] = "/tmp/tg-bench-ca-XXXXXX", cadir[64], *pem = NULL;
  struct tg_err err;
  struct tg_cert_ca *ca = NULL;
  EVP_PKEY *key = NULL;
  X509_REQ *req = NULL;
  if (n < 10 || mkdtemp(dir) == NULL)
    return 2;
  snprintf(cadir, sizeof(cadir), "%s/ca", dir);
  double t0 = now_us();
  if (tg_cert_ca_init(cadir, "Bench", 0, &err) != 0 || tg_cert_ca_open(cadir, &ca, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  printf("ca init: %.1f ms\n", (now_us() - t0) / 1e3);
  tg_cert_key_new(&key, NULL);
  tg_cert_csr_new(key, "bench-node", "127.0.0.1", &req, NULL);
  tg_cert_csr_pem(req, &pem, NULL);
  X509_REQ_free(req);
  double *parse = calloc((size_t)n, sizeof(double)), *issue = calloc((size_t)n, sizeof(double));
  double *tok = calloc((size_t)n, sizeof(double));
  for (int i = 0; i < n; i++) {
    char id[32], token[TG_CA_TOKEN_LEN + 1];
    X509 *x = NULL;
    snprintf(id, sizeof(id), "node-%d", i);
    double a = now_us();
    if (tg_cert_csr_parse(pem, strlen(pem), &req, &err) != 0)
      return 1;
    double b = now_us();
    if (tg_cert_ca_token_new(ca, id, 3600, token, sizeof(token), &err) != 0)
      return 1;
    double c = now_us();
    struct tg_cert_issue o = {.node_id = id, .token = token, .hosts = "127.0.0.1"};
    if (tg_cert_ca_issue(ca, &o, req, &x, &err) != 0) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
    double d = now_us();
    parse[i] = b - a;
    tok[i] = c - b;
    issue[i] = d - c;
    X509_free(x);
    X509_REQ_free(req);
  }
  report("CSR parse+verify", parse, n);
  report("token create (commit)", tok, n);
  report("issue (token+sign+commit)", issue, n);
  t0 = now_us();
  tg_cert_ca_revoke(ca, "node-0", NULL, 0, NULL, &err);
  printf("revoke + CRL of 1 entry: %.1f ms\n", (now_us() - t0) / 1e3);
  free(parse);
  free(issue);
  free(tok);
  free(pem);
  EVP_PKEY_free(key);
  tg_cert_ca_close(ca);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : 1;
}
