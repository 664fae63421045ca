/* tg_tls: OpenSSL contexts for the node (server and client side), the custom
 * BIO that moves TLS records between libuv and OpenSSL without copies into
 * per-connection buffers, and the peer identity taken from a certificate. */
#ifndef TG_TLS_H
#define TG_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct tg_err;
struct tg_buf;

/* Paths of the node's TLS material. CA and CRL may be NULL or name missing
 * files: then client certificates are not requested. */
struct tg_tls_files {
  const char *key;  /* node.key (PEM) */
  const char *cert; /* node.crt (PEM, leaf first, chain may follow) */
  const char *ca;   /* ca.crt: the federation CA */
  const char *crl;  /* crl.pem */
  int tickets;      /* TLS 1.3 session tickets sent per handshake (0: none) */
};

/* Builds a server SSL_CTX: TLS 1.2+, ALPN http/1.1, the node's key and
 * certificate, and, when a CA is present, client certificates requested and
 * verified (with the CRL when present). The caller owns *OUT (SSL_CTX_free). */
int tg_tls_server_ctx(const struct tg_tls_files *f, SSL_CTX **out, struct tg_err *err);
/* SHA-256 fingerprint of the PEM certificate at PATH as 64 hex digits + NUL. */
int tg_tls_cert_fingerprint(const char *path, char out[65], struct tg_err *err);
/* The peer's node id from CERT: tg_cert_node_id (certs/tg_cert_ca.h), kept
 * under this name for the connection code. */
int tg_tls_cert_node_id(X509 *cert, char *out, size_t n);

/* The transport a TLS connection reads from and writes to. */
struct tg_tls_io {
  const char *in;    /* encrypted bytes available to read (borrowed) */
  size_t in_len;
  struct tg_buf *out; /* encrypted bytes to send are appended here */
};

/* Returns a BIO that reads from IO->in and appends to IO->out; IO must outlive
 * it. The SSL object that takes it (SSL_set_bio) frees it. */
BIO *tg_tls_bio_new(struct tg_tls_io *io);

#endif
