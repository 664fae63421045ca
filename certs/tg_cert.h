/* tg_cert: node keys and certificates: ECDSA P-256 key generation, the
 * self-signed bootstrap certificate a node serves until it registers, PEM
 * files. Pure OpenSSL work, no networking. */
#ifndef TG_CERT_H
#define TG_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct tg_err;

/* The SAN URI prefix that names a node: urn:tsunagu:node:<node id>. */
#define TG_CERT_NODE_URI "urn:tsunagu:node:"

/* Generates a new ECDSA P-256 key; the caller frees it with EVP_PKEY_free. */
int tg_cert_key_new(EVP_PKEY **out, struct tg_err *err);
/* Writes KEY as PKCS#8 PEM to PATH with mode 0600, refusing to overwrite. */
int tg_cert_key_save(EVP_PKEY *key, const char *path, struct tg_err *err);
/* Reads a PEM private key from PATH; caller frees. */
int tg_cert_key_load(const char *path, EVP_PKEY **out, struct tg_err *err);
/* Makes a self-signed certificate for NODE_ID (CN and SAN URI
 * urn:tsunagu:node:<id>, SAN DNS/IP from HOSTS, a comma-separated list of DNS
 * names and IP addresses) valid for DAYS days. Caller frees with X509_free.
 * TG_EINVAL for a bad node id or a host that is neither an IP address nor a
 * DNS name. */
int tg_cert_self_signed(EVP_PKEY *key, const char *node_id, const char *hosts, int days,
                        X509 **out, struct tg_err *err);
/* Writes CERT as PEM to PATH (mode 0644). */
int tg_cert_save(X509 *cert, const char *path, struct tg_err *err);

#endif
