/* tg_ca_node: the CA role of a running node ([ca] dir in tsunagu.conf): the
 * CA opened once for the process and lent to one worker at a time, and the
 * count of failed enrolments per client address. The configuration is read
 * again after a reload (SIGHUP), the CA again when its files change. */
#ifndef TG_CA_NODE_H
#define TG_CA_NODE_H

#include <stddef.h>
#include <stdint.h>

struct tg_cert_ca;
struct tg_err;

#define TG_CA_NODE_FAILURES 10     /* [ca] register_failures default */
#define TG_CA_NODE_WINDOW_MS 60000 /* [ca] register_window default */

/* The CA directory into OUT (size N): 0, or TG_ENOENT when the node has no
 * CA role. */
int tg_ca_node_dir(char *out, size_t n);
/* [ca] validity in seconds: how long the certificates issued by register
 * and renew last; 0 for the CA's default (TG_CA_NODE_DAYS). Not to be called
 * while the CA is lent. */
int64_t tg_ca_node_validity(void);
/* Lends the node's CA: *CA (borrowed until tg_ca_node_release, which must
 * follow on the same thread) is opened the first time, after a reload and
 * when ca.crt, ca.key or ca.db changed on disk; DIR (size N, or NULL) gets
 * its directory. TG_ENOENT without a CA role; other codes when it cannot be
 * opened. On failure nothing is lent (no release). */
int tg_ca_node_acquire(struct tg_cert_ca **ca, char *dir, size_t n, struct tg_err *err);
void tg_ca_node_release(void);

/* Failed enrolments: the milliseconds CLIENT (an address, borrowed) must
 * wait before it may try again ([ca] register_failures per
 * register_window), or 0. */
uint64_t tg_ca_node_wait(const char *client);
/* Counts a refused enrolment from CLIENT. */
void tg_ca_node_failed(const char *client);

/* Closes the CA (at exit). */
void tg_ca_node_shutdown(void);

#endif
