/* tg_cli_peers: tsunagu peer add|list|rm|sync: the node's peers, checked by
 * the node itself over mutual TLS, and peering from the CA node's federation
 * directory; tsunagu renew: a new certificate over mutual TLS, then a reload. */
#include "tg_cert.h"
#include "tg_cert_ca.h"
#include "tg_cli.h"
#include "tg_client.h"
#include "tg_conf.h"
#include "tg_err.h"
#include "tg_fed.h"
#include "tg_node.h"
#include "tg_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int peer_add(struct tg_cli *cli, const char *id, const char *url, int quiet) {
  int status;
  json_t *in = json_pack("{s:s, s:s}", "node_id", id, "url", url);
  char *body = in ? json_dumps(in, JSON_COMPACT) : NULL;
  json_decref(in);
  if (body == NULL)
    return tg_cli_fail("out of memory");
  int rc = tg_cli_call(cli, "POST", "/api/v1/peers", body, strlen(body), &status, NULL, NULL);
  free(body);
  if (rc == 0 && !quiet)
    tg_cli_done(cli, json_pack("{s:s, s:s}", "node_id", id, "url", url), "peer %s added (%s)", id,
                url);
  return rc;
}

static void fmt_time(int64_t t, char *out, size_t n) {
  struct tm tm;
  time_t tt = (time_t)t;
  if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
    snprintf(out, n, "-");
  else
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int peer_list(struct tg_cli *cli) {
  int status;
  json_t *j = NULL;
  /* A body: tg_client sends a body-less POST as GET. */
  int rc = tg_cli_call(cli, "POST", "/api/v1/peers/check", "{}", 2, &status, &j, NULL);
  if (rc)
    return rc;
  json_t *peers = json_object_get(j, "peers");
  if (!json_is_array(peers)) {
    json_decref(j);
    return tg_cli_fail("peer list: the node's answer has no peers");
  }
  if (cli->json) {
    tg_cli_print_list(json_incref(peers), NULL);
  } else if (json_array_size(peers) == 0) {
    printf("no peers (add one with tsunagu peer add or tsunagu peer sync)\n");
  } else {
    printf("%-20s %-12s %8s  %-20s  %-20s  %s\n", "NODE", "STATUS", "LATENCY", "LAST-CONTACT",
           "CERT-EXPIRES", "URL");
    size_t i;
    json_t *p;
    json_array_foreach(peers, i, p) {
      char last[32], exp[32], lat[24];
      fmt_time(json_integer_value(json_object_get(p, "last_contact")), last, sizeof(last));
      fmt_time(json_integer_value(json_object_get(p, "cert_expires")), exp, sizeof(exp));
      snprintf(lat, sizeof(lat), "%lldms",
               (long long)json_integer_value(json_object_get(p, "latency_ms")));
      printf("%-20s %-12s %8s  %-20s  %-20s  %s\n",
             json_string_value(json_object_get(p, "node_id")) ?: "?",
             json_string_value(json_object_get(p, "status")) ?: "?", lat, last, exp,
             json_string_value(json_object_get(p, "url")) ?: "?");
      const char *e = json_string_value(json_object_get(p, "error"));
      if (e != NULL)
        printf("  %s\n", e);
    }
  }
  json_decref(j);
  return 0;
}

static int peer_rm(struct tg_cli *cli, const char *id) {
  int status;
  char path[200];
  if (!tg_node_id_valid(id))
    return tg_cli_fail("peer rm: '%s' is not a node id", id);
  snprintf(path, sizeof(path), "/api/v1/peers/%s", id);
  int rc = tg_cli_call(cli, "DELETE", path, NULL, 0, &status, NULL, NULL);
  if (rc)
    return rc;
  return tg_cli_done(cli, json_pack("{s:s, s:b}", "node_id", id, "deleted", 1), "peer %s removed",
                     id);
}

/* The [node] id and [federation] hub of the node in DIR. */
static char conf_hub_id[64]; /* [federation] hub_id, read by node_conf */

/* The hub's node id to require of the hub at HUB: the recorded one when HUB
 * is the recorded hub, else none. */
static const char *hub_pin(const char *hub, const char *conf_hub) {
  return conf_hub_id[0] && strcmp(hub, conf_hub) == 0 ? conf_hub_id : NULL;
}

static int node_conf(const char *dir, char *id, size_t n, char *hub, size_t hn) {
  char path[4096];
  struct tg_conf *c = NULL;
  tg_node_path(path, sizeof(path), dir, TG_NODE_CONF);
  if (tg_conf_load(path, &c, NULL) != 0)
    return TG_EIO;
  const char *v = tg_conf_get(c, "node", "id");
  const char *h = tg_conf_get(c, "federation", "hub");
  const char *hid = tg_conf_get(c, "federation", "hub_id");
  snprintf(id, n, "%s", v ? v : "");
  snprintf(hub, hn, "%s", h ? h : "");
  snprintf(conf_hub_id, sizeof(conf_hub_id), "%s", hid && tg_node_id_valid(hid) ? hid : "");
  tg_conf_free(c);
  return v ? 0 : TG_EINVAL;
}

static int peer_sync(struct tg_cli *cli, const char *hub) {
  char id[64], conf_hub[600], url[1100];
  struct tg_fed_tls t;
  struct tg_err err;
  int status = 0, added = 0, rc;
  char *body = NULL;
  size_t len = 0;
  tg_err_clear(&err);
  tg_cli_node_dir(cli);
  if (cli->dir == NULL)
    return tg_cli_usage("peer sync: --dir DIR is required (the node's federation certificate "
                       "authenticates it to the hub)");
  if (node_conf(cli->dir, id, sizeof(id), conf_hub, sizeof(conf_hub)) != 0)
    return tg_cli_fail("peer sync: cannot read %s/%s", cli->dir, TG_NODE_CONF);
  if (hub == NULL)
    hub = conf_hub[0] ? conf_hub : NULL;
  if (hub == NULL)
    return tg_cli_usage("peer sync: --hub URL is required (no [federation] hub in the node)");
  if (strncmp(hub, "https://", 8) != 0 || strlen(hub) > 512)
    return tg_cli_fail("peer sync: the hub must be an https:// URL");
  if (tg_fed_tls_paths(cli->dir, &t) != 0)
    return tg_cli_fail("peer sync: %s has no federation CA (ca.crt); run tsunagu register first",
                       cli->dir);
  snprintf(url, sizeof(url), "%s/api/v1/federation/members", hub);
  struct tg_client_tls tls = {.ca_file = t.ca,
                              .cert_file = t.cert,
                              .key_file = t.key,
                              .crl_file = t.crl[0] ? t.crl : NULL,
                              .peer_node_id = hub_pin(hub, conf_hub)};
  static const char *const hdrs[] = {"Accept: application/json", NULL};
  struct tg_client_opts o = {
      .url = url, .headers = hdrs, .timeout_ms = 30000, .max_response = 16u << 20};
  rc = tg_client_fetch(&tls, &o, &status, &body, &len, &err);
  if (rc != 0) {
    tg_cli_fail("peer sync: cannot reach the hub over mutual TLS: %s", tg_err_msg(&err, rc));
    return TG_CLI_EUNREACH;
  }
  json_t *j = json_loadb(body, len, 0, NULL);
  free(body);
  json_t *members = json_object_get(j, "members");
  if (status != 200 || !json_is_array(members)) {
    const char *d = json_string_value(json_object_get(j, "detail"));
    json_decref(j);
    return tg_cli_fail("peer sync: the hub answered %d%s%s", status, d ? ": " : "", d ? d : "");
  }
  size_t i;
  json_t *m;
  rc = 0;
  json_array_foreach(members, i, m) {
    const char *mid = json_string_value(json_object_get(m, "node_id"));
    const char *murl = json_string_value(json_object_get(m, "url"));
    const char *st = json_string_value(json_object_get(m, "status"));
    if (mid == NULL || strcmp(mid, id) == 0)
      continue;
    if (st == NULL || strcmp(st, "active") != 0 || murl == NULL) {
      if (!cli->json)
        printf("skipped %s (%s)\n", mid, murl == NULL ? "no URL" : st ? st : "?");
      continue;
    }
    int arc = peer_add(cli, mid, murl, cli->json);
    if (arc != 0)
      rc = arc;
    else
      added++;
  }
  json_decref(j);
  if (conf_hub[0] == '\0' && tg_fed_conf_set_hub(cli->dir, hub, &err) != 0)
    return tg_cli_fail("peer sync: cannot record the hub in %s: %s", TG_NODE_CONF,
                       tg_err_msg(&err, TG_EIO));
  tg_cli_done(cli, json_pack("{s:i, s:s}", "added", added, "hub", hub), "%d peer%s from %s", added,
              added == 1 ? "" : "s", hub);
  return rc;
}

int tg_cli_peer(struct tg_cli *cli, int argc, char **argv) {
  const char *hub = NULL;
  const struct tg_cli_opt opts[] = {{"hub", 0, &hub, NULL, NULL}, {NULL, 0, NULL, NULL, NULL}};
  int rc = tg_cli_getopt(cli, "peer", &argc, argv, opts, 0);
  if (rc)
    return rc;
  const char *sub = argc > 0 ? argv[0] : "";
  if (hub != NULL && strcmp(sub, "sync") != 0)
    return tg_cli_usage("peer: --hub is an option of peer sync only");
  if (strcmp(sub, "add") == 0 && argc == 3) {
    if (!tg_node_id_valid(argv[1]))
      return tg_cli_fail("peer add: '%s' is not a node id", argv[1]);
    return peer_add(cli, argv[1], argv[2], 0);
  }
  if (strcmp(sub, "list") == 0 && argc == 1)
    return peer_list(cli);
  if (strcmp(sub, "rm") == 0 && argc == 2)
    return peer_rm(cli, argv[1]);
  if (strcmp(sub, "sync") == 0 && argc == 1)
    return peer_sync(cli, hub);
  return tg_cli_usage("peer: bad arguments: add NODE-ID URL, list, rm NODE-ID or sync [--hub URL] "
                      "(try tsunagu peer --help)");
}

/* --- tsunagu renew --- */

int tg_cli_renew(struct tg_cli *cli, int argc, char **argv) {
  const char *hub = NULL;
  int new_key = 0;
  char id[64], conf_hub[600], path[4096], url[700], serial[64];
  struct tg_fed_tls t;
  struct tg_err err;
  struct tg_fed_renew_req q;
  char *body = NULL, *resp = NULL;
  size_t len = 0;
  int status = 0, rc;
  json_t *j = NULL;
  tg_err_clear(&err);
  const struct tg_cli_opt opts[] = {{"hub", 0, &hub, NULL, NULL},
                                    {"new-key", 0, NULL, &new_key, NULL},
                                    {NULL, 0, NULL, NULL, NULL}};
  if ((rc = tg_cli_getopt(cli, "renew", &argc, argv, opts, 0)) != 0 ||
      (rc = tg_cli_nargs("renew", argc, argv, 0, 0, NULL)) != 0)
    return rc;
  tg_cli_node_dir(cli);
  if (cli->dir == NULL)
    return tg_cli_usage("renew: --dir DIR is required");
  if (node_conf(cli->dir, id, sizeof(id), conf_hub, sizeof(conf_hub)) != 0)
    return tg_cli_fail("renew: cannot read %s/%s", cli->dir, TG_NODE_CONF);
  if (hub == NULL)
    hub = conf_hub[0] ? conf_hub : NULL;
  if (hub == NULL || strncmp(hub, "https://", 8) != 0 || strlen(hub) > 512)
    return tg_cli_usage("renew: --hub https://… is required (no [federation] hub in the node)");
  if (tg_fed_tls_paths(cli->dir, &t) != 0)
    return tg_cli_fail("renew: %s has no federation CA (ca.crt); run tsunagu register first",
                       cli->dir);
  /* The request and the installation are the daemon's too (tg_fed_renew.c). */
  rc = tg_fed_renew_request(cli->dir, id, new_key, &q, &err);
  body = rc == 0 ? q.body : NULL;
  if (rc == 0) {
    /* Authenticated by the current certificate over mutual TLS. */
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    snprintf(url, sizeof(url), "%s/api/v1/certs/renew", hub);
    struct tg_client_tls tls = {.ca_file = t.ca,
                                .cert_file = t.cert,
                                .key_file = t.key,
                                .crl_file = t.crl[0] ? t.crl : NULL,
                                .peer_node_id = hub_pin(hub, conf_hub)};
    struct tg_client_opts o = {.method = "POST",
                               .url = url,
                               .headers = hdrs,
                               .body = body,
                               .body_len = strlen(body),
                               .timeout_ms = 30000,
                               .max_response = 1u << 20};
    rc = tg_client_fetch(&tls, &o, &status, &resp, &len, &err);
  }
  if (rc == 0) {
    j = json_loadb(resp, len, 0, NULL);
    if (status != 201) {
      const char *d = json_string_value(json_object_get(j, "detail"));
      rc = tg_err_set(&err, TG_EPEER, "the hub refused: %d %s", status, d ? d : "");
    }
  }
  int rotated = rc == 0 && new_key; /* the CA has retired the old certificate */
  if (rc == 0)
    rc = tg_fed_renew_install(cli->dir, id, q.key, new_key ? q.key_new : NULL, j, serial,
                              sizeof(serial), &err);
  if (rc != 0 && rotated) {
    /* The old certificate is revoked now: keep what replaces it for the
     * operator rather than leave the node with nothing that works. */
    const char *pem = json_string_value(json_object_get(j, "certificate"));
    char crt_new[4200], why[300];
    snprintf(why, sizeof(why), "%s", tg_err_msg(&err, rc));
    tg_node_path(path, sizeof(path), cli->dir, TG_NODE_CERT);
    snprintf(crt_new, sizeof(crt_new), "%s.new", path);
    if (pem != NULL && access(crt_new, F_OK) != 0)
      tg_file_write(crt_new, pem, strlen(pem), 0644, 0, NULL);
    tg_err_set(&err, rc,
               "%s; the CA rotated the key and revoked the old certificate: the new key and "
               "certificate are %s and %s, move them to node.key and node.crt",
               why, q.key_new, crt_new);
    q.key_new[0] = '\0'; /* kept for the operator */
  }
  json_decref(j);
  free(resp);
  tg_fed_renew_request_close(&q);
  if (rc != 0)
    return tg_cli_fail("renew: %s", tg_err_msg(&err, rc));
  json_t *res = json_pack("{s:s, s:s, s:b}", "node_id", id, "serial", serial, "new_key", new_key);
  if (!cli->json)
    printf("node %s renewed: certificate %s%s installed in %s\n", id, serial,
           new_key ? " and a new key" : "", cli->dir);
  /* Ask the running node to switch (trusting the CA: it may still serve the
   * old certificate). */
  tg_node_path(path, sizeof(path), cli->dir, TG_NODE_ADDR);
  if (access(path, F_OK) != 0) {
    json_object_set_new(res, "reloaded", json_false());
    return tg_cli_done(cli, res, "the node is not running; it uses the new certificate when it starts");
  }
  if (cli->cacert == NULL) {
    snprintf(cli->ca_buf, sizeof(cli->ca_buf), "%s", t.ca);
    cli->cacert = cli->ca_buf;
  }
  if ((rc = tg_cli_call(cli, "POST", "/api/v1/node/reload", "{}", 2, &status, NULL, NULL)) != 0) {
    json_decref(res);
    tg_cli_fail("renew: the node did not reload; send it SIGHUP");
    return rc;
  }
  json_object_set_new(res, "reloaded", json_true());
  return tg_cli_done(cli, res, "the node reloaded its certificate");
}
