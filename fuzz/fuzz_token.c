/* fuzz_token: feeds untrusted bytes to bearer-token verification
 * (tg_oauth_verify: the JWS shape, the base64url header, alg and kid checks,
 * then liboauth2/cjose and the claim checks) under a fixed JWKS. A random
 * input must never verify: nothing here holds the key's private half. The
 * first input is also tried as the JWKS document itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks[] =
    "{\"keys\":[{\"kty\":\"EC\",\"use\":\"sig\",\"kid\":\"4de0a2003936495f\",\"alg\":\"ES256\",\"crv\":\"P-256\","
    "\"x\":\"8H326fIHsfDkhT95HBBrd6srO3vAhWrelYuBASytJL4\","
    "\"y\":\"WyIsYhgeuutZLCxmi8b-fmDDCC8OuhXKb7foq6RjoCc\"}]}";

static struct tg_oauth_verifier *v;
static struct tg_oauth_conf conf = {.enabled = 1,
                                    .issuer = "http://127.0.0.1:1",
                                    .audience = "urn:tsunagu:test",
                                    .jwks_uri = "http://127.0.0.1:1/jwks",
                                    .clock_skew_s = 60};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (v == NULL) {
    v = tg_oauth_verifier_new();
    if (v == NULL || tg_oauth_jwks_install(jwks, sizeof(jwks) - 1, conf.jwks_uri, NULL) != 1)
      abort();
  }
  /* Any bytes as a JWKS document: refused or installed, never a crash. */
  if (size > 0 && data[0] == '{') {
    if (tg_oauth_jwks_install((const char *)data, size, conf.jwks_uri, NULL) >= 0)
      tg_oauth_jwks_install(jwks, sizeof(jwks) - 1, conf.jwks_uri, NULL);
    return 0;
  }
  struct tg_oauth_claims cl;
  enum tg_oauth_status st = tg_oauth_verify(v, &conf, (const char *)data, size, &cl);
  if (st == TG_OAUTH_OK)
    abort(); /* a forged token verified */
  return 0;
}
