/* fuzz_crl: feeds untrusted bytes to the CRL install path
 * (tg_fed_crl_install), which takes what a hub answers on GET
 * /api/v1/certs/crl: PEM parsing, the issuer and signature checks against the
 * federation CA, the one-block rule and the crlNumber comparison. Whatever it
 * installs must be a single CRL that the CA signed. The CA below is a fixed
 * test CA (public certificate only); the corpus holds CRLs it signed. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_node.h"
#include "tg_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmDCCAT6gAwIBAgIQR7Cj1h05wgprQQ6tP9wZBjAKBggqhkjOPQQDAjAaMRgw\n"
    "FgYDVQQDDA9GdXp6IEZlZGVyYXRpb24wHhcNMjYxMTI1MTA0NTM0WhcNMzYxMTIy\n"
    "MTA1MDM0WjAaMRgwFgYDVQQDDA9GdXp6IEZlZGVyYXRpb24wWTATBgcqhkjOPQIB\n"
    "BggqhkjOPQMBBwNCAATgtVxUKtSdzMLCZat6Ca3j1S2msqigqDdpc1ZDpyUjrDnI\n"
    "bEH2FBpZJczW6ejwGWFsZ3vXL65xKfsKKEz07jbko2YwZDASBgNVHRMBAf8ECDAG\n"
    "AQH/AgEAMA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUcAUBcMYhGb19hJlCVPcN\n"
    "7Lcpmc4wHwYDVR0jBBgwFoAUcAUBcMYhGb19hJlCVPcN7Lcpmc4wCgYIKoZIzj0E\n"
    "AwIDSAAwRQIhANtQI2z0Eja/tzZbbPqCo5Eo3IXeL1UrzW3vcScDv1CFAiB7HsWU\n"
    "Q2jHaRcg7H7mm2KZAlD4jprUYnFQMlCug1sbdQ==\n"
    "-----END CERTIFICATE-----\n";

static char dir[64];

static void cleanup(void) {
  char path[128];
  tg_node_path(path, sizeof(path), dir, TG_NODE_CRL);
  unlink(path);
  tg_node_path(path, sizeof(path), dir, TG_NODE_CA);
  unlink(path);
  rmdir(dir);
}

static void setup(void) {
  char path[128];
  snprintf(dir, sizeof(dir), "/tmp/tsunagu-fuzz-crl.XXXXXX");
  if (mkdtemp(dir) == NULL)
    abort();
  tg_node_path(path, sizeof(path), dir, TG_NODE_CA);
  if (tg_file_write(path, ca_pem, sizeof(ca_pem) - 1, 0644, 0, NULL) != 0)
    abort();
  atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128];
  int changed = 0;
  if (dir[0] == '\0')
    setup();
  tg_node_path(path, sizeof(path), dir, TG_NODE_CRL);
  unlink(path); /* every input starts from a node without a CRL */
  int rc = tg_fed_crl_install(dir, (const char *)data, size, &changed, NULL);
  if (rc == 0 && changed) {
    /* Installed: exactly one CRL, signed by the CA. */
    FILE *f = fopen(path, "r");
    X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    X509_CRL *more = f && crl ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    BIO *b = BIO_new_mem_buf(ca_pem, -1);
    X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (crl == NULL || more != NULL || ca == NULL || X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1)
      abort();
    X509_CRL_free(crl);
    X509_free(ca);
    BIO_free(b);
    fclose(f);
  }
  return 0;
}
