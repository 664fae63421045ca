/* tg_node: a node's state directory: its files, creating it (tsunagu init),
 * and opening its database with every component's schema. */
#ifndef TG_NODE_H
#define TG_NODE_H

#include <sqlite3.h>
#include <stddef.h>

struct tg_err;

#define TG_NODE_CONF "tsunagu.conf"
#define TG_NODE_KEY "node.key"
#define TG_NODE_CERT "node.crt"
/* The node's earlier certificates (PEM, appended at each key rotation), whose
 * keys signed the older provenance tree heads. */
#define TG_NODE_RETIRED "retired.crt"
#define TG_NODE_CA "ca.crt"
#define TG_NODE_CRL "crl.pem"
#define TG_NODE_DB "tsunagu.db"
#define TG_NODE_HARVEST_DB "harvest.db" /* peers' datasets harvested from their feeds */
#define TG_NODE_TOKEN "admin.token"
#define TG_NODE_ADDR "tsunagud.addr" /* written by tsunagud: the address it listens on */

struct tg_node_init_opts {
  const char *dir;
  const char *id;
  const char *name;    /* NULL: the id */
  const char *listen;  /* HOST:PORT, default 127.0.0.1:8443 */
  const char *hosts;   /* extra DNS names / IPs for the certificate, comma-separated */
};

/* Creates a node's state directory: key (0600), bootstrap certificate,
 * tsunagu.conf, the database with its schema, the admin token (0600).
 * Refuses (TG_EEXIST) if DIR already holds a node; a bad id is TG_EINVAL. */
int tg_node_init(const struct tg_node_init_opts *o, struct tg_err *err);
/* Opens DIR's database and brings every component's schema up to date. */
int tg_node_db_open(const char *dir, sqlite3 **out, struct tg_err *err);
/* Opens (creating) DIR/harvest.db, the harvested index's own database (WAL,
 * like the node database; its schema is the catalog's, see tg_cat_index_open). */
int tg_node_harvest_db_open(const char *dir, sqlite3 **out, struct tg_err *err);
/* Joins DIR and a file name; TG_ETOOBIG if longer than N. */
int tg_node_path(char *out, size_t n, const char *dir, const char *file);
/* Splits "host:port" or "[v6]:port"; 0 or TG_EINVAL. */
int tg_node_split_hostport(const char *s, char *host, size_t hn, int *port);
/* 1 when HOST (no brackets) is a wildcard address (0.0.0.0, ::, or empty):
 * one to listen on, never one to be reached at. */
int tg_node_host_wildcard(const char *host);
/* 1 when HOST is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x) or
 * localhost: reachable only from the same machine. */
int tg_node_host_loopback(const char *host);

#endif
