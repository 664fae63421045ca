/* fuzz_csr: feeds untrusted bytes to the CA's input path: CSR parsing (PEM
 * or DER, signature and key-type checks) and certificate parsing. What is
 * accepted must hold: a P-256 key, a signature that verifies, and a PEM
 * round trip that gives back the same DER. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cert_ca.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_der_after_pem(X509_REQ *req) {
  char *pem = NULL;
  X509_REQ *again = NULL;
  unsigned char *d1 = NULL, *d2 = NULL;
  if (tg_cert_csr_pem(req, &pem, NULL) != 0)
    abort();
  if (tg_cert_csr_parse(pem, strlen(pem), &again, NULL) != 0)
    abort();
  int l1 = i2d_X509_REQ(req, &d1), l2 = i2d_X509_REQ(again, &d2);
  if (l1 <= 0 || l1 != l2 || memcmp(d1, d2, (size_t)l1) != 0)
    abort();
  OPENSSL_free(d1);
  OPENSSL_free(d2);
  X509_REQ_free(again);
  free(pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tg_err err;
  X509_REQ *req = NULL;
  X509 *x = NULL;
  int rc = tg_cert_csr_parse(data, size, &req, &err);
  if (rc == 0) {
    EVP_PKEY *k = X509_REQ_get0_pubkey(req);
    if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC || X509_REQ_verify(req, k) != 1)
      abort();
    same_der_after_pem(req);
    X509_REQ_free(req);
  } else if (req != NULL || rc > 0 || rc < TG_ECODE_MIN || err.msg[0] == '\0') {
    abort();
  }
  if (tg_cert_parse(data, size, &x, &err) == 0) {
    char id[64], serial[80];
    if (tg_cert_node_id(x, id, sizeof(id)) == 0 && strlen(id) > 63)
      abort();
    tg_cert_serial_hex(x, serial, sizeof(serial));
    X509_free(x);
  }
  ERR_clear_error();
  return 0;
}
