/* tg_tls: OpenSSL setup. Errors from OpenSSL are translated here, once. */
#include "tg_tls.h"
#include "tg_buf.h"
#include "tg_cert_ca.h"
#include "tg_err.h"
#include "tg_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int tls_fail(struct tg_err *err, const char *what, const char *path) {
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return tg_err_set(err, TG_ECRYPTO, "%s %s: %s", what, path ? path : "", e ? buf : "failed");
}

static int file_exists(const char *p) {
  struct stat st;
  return p != NULL && stat(p, &st) == 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int l = in[i];
    if (i + 1 + l > inlen)
      break;
    if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *outlen = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + l;
  }
  /* A client that offers only other protocols gets no ALPN answer and may
   * decide itself; HTTP/1.1 is all this server speaks. */
  return SSL_TLSEXT_ERR_NOACK;
}

static int verify_keep_going(int ok, X509_STORE_CTX *x) {
  (void)ok;
  (void)x;
  return 1; /* the result stays in SSL_get_verify_result() */
}

static int load_crl(SSL_CTX *ctx, const char *path, struct tg_err *err) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return tg_err_set(err, TG_EIO, "cannot open %s", path);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int n = 0;
  X509_CRL *crl;
  while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
    X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    n++;
  }
  fclose(f);
  ERR_clear_error();
  if (n == 0)
    return tg_err_set(err, TG_ECRYPTO, "no CRL in %s", path);
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_X509_STRICT);
  return 0;
}

int tg_tls_server_ctx(const struct tg_tls_files *f, SSL_CTX **out, struct tg_err *err) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  int rc;
  if (ctx == NULL)
    return tls_fail(err, "SSL_CTX_new", NULL);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION);
  /* NO_AUTO_CHAIN: the chain sent is exactly what node.crt holds. Without it
   * OpenSSL rebuilds and re-verifies the server's own chain against the
   * trust store (and the CRL) on every handshake: two ECDSA verifications
   * per connection for a chain that never changes. Peers hold the
   * federation CA already; it is not sent. */
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  /* At most one TLS 1.3 ticket, not OpenSSL's default two: each one encrypts
   * the whole session (client certificate included), and a client resumes
   * with one. [tls] session_tickets = off sends none (and no TLS 1.2 session
   * tickets): every connection is then a full handshake. */
  SSL_CTX_set_num_tickets(ctx, f->tickets > 0 ? 1 : 0);
  if (f->tickets <= 0)
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  /* Resumption rides on (stateless) tickets; a server-side session cache
   * would cost every full handshake an insert for nothing. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
    rc = tls_fail(err, "cannot load certificate", f->cert);
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
    rc = tls_fail(err, "cannot load key", f->key);
    goto fail;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    rc = tls_fail(err, "key does not match certificate", f->cert);
    goto fail;
  }
  if (file_exists(f->ca)) {
    if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
      rc = tls_fail(err, "cannot load CA", f->ca);
      goto fail;
    }
    if (file_exists(f->crl) && (rc = load_crl(ctx, f->crl, err)) != 0)
      goto fail;
    /* Requested and verified when presented. A certificate that fails
     * verification does not fail the handshake: the caller is then simply
     * not a peer, and peer-only routes answer 403 saying why (revoked,
     * expired, foreign CA) instead of an opaque TLS alert. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
    SSL_CTX_set_verify_depth(ctx, 2);
    static const unsigned char sid[] = "tsunagu";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
  }
  *out = ctx;
  return 0;
fail:
  SSL_CTX_free(ctx);
  return rc;
}

int tg_tls_cert_fingerprint(const char *path, char out[65], struct tg_err *err) {
  FILE *f = fopen(path, "r");
  unsigned char md[32];
  unsigned int mdlen = sizeof(md);
  if (f == NULL)
    return tg_err_set(err, TG_EIO, "cannot open %s", path);
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (x == NULL)
    return tls_fail(err, "no certificate in", path);
  int ok = X509_digest(x, EVP_sha256(), md, &mdlen);
  X509_free(x);
  if (!ok)
    return tls_fail(err, "cannot hash", path);
  tg_hex(md, 32, out);
  return 0;
}

int tg_tls_cert_node_id(X509 *cert, char *out, size_t n) { return tg_cert_node_id(cert, out, n); }

/* The BIO: reads from io->in, writes append to io->out. */
static BIO_METHOD *tg__bio_method;

static int bio_write(BIO *b, const char *data, int len) {
  struct tg_tls_io *io = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (len <= 0)
    return 0;
  if (tg_buf_append(io->out, data, (size_t)len))
    return -1;
  return len;
}

static int bio_read(BIO *b, char *data, int len) {
  struct tg_tls_io *io = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (io->in_len == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = (size_t)len < io->in_len ? (size_t)len : io->in_len;
  memcpy(data, io->in, n);
  io->in += n;
  io->in_len -= n;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    return 1;
  case BIO_CTRL_PENDING: {
    struct tg_tls_io *io = BIO_get_data(b);
    return (long)io->in_len;
  }
  default:
    return 0;
  }
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void tg__bio_method_init(void) {
  tg__bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tsunagu-uv");
  BIO_meth_set_write(tg__bio_method, bio_write);
  BIO_meth_set_read(tg__bio_method, bio_read);
  BIO_meth_set_ctrl(tg__bio_method, bio_ctrl);
  BIO_meth_set_create(tg__bio_method, bio_create);
}

BIO *tg_tls_bio_new(struct tg_tls_io *io) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, tg__bio_method_init);
  BIO *b = BIO_new(tg__bio_method);
  if (b != NULL)
    BIO_set_data(b, io);
  return b;
}
