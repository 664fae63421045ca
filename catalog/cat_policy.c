/* cat_policy: the one ODRL access decision of the node: may node X (for
 * subject S and purpose P) use a dataset now, under the dataset's Offer. */
#include "cat_int.h"
#include "tg_err.h"
#include "tg_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *tg_cat_policy_default(const char *uid) {
  json_t *p = json_pack("{s:s, s:[{s:{s:s}, s:{s:s}}]}", "@type", "odrl:Offer", "odrl:permission",
                        "odrl:action", "@id", "odrl:use", "odrl:assignee", "@id",
                        "urn:tsunagu:federation");
  if (p != NULL && uid != NULL)
    json_object_set_new(p, "@id", json_string(uid));
  return p;
}

/* Canonical documents hold one value or an array: treat both as a list. */
static size_t count(const json_t *j) {
  return j == NULL ? 0 : json_is_array(j) ? json_array_size(j) : 1;
}

static const json_t *nth(const json_t *j, size_t i) {
  return json_is_array(j) ? json_array_get(j, i) : i == 0 ? j : NULL;
}

/* 1 if J is {"@id": X} (or a string X) naming full IRI FULL. */
static int names(const json_t *j, const char *full) {
  const char *s = json_is_string(j) ? json_string_value(j)
                                    : json_string_value(json_object_get(j, "@id"));
  if (s == NULL)
    return 0;
  char *e = tg__cat_expand_iri(s);
  int r = e != NULL && strcmp(e, full) == 0;
  free(e);
  return r;
}

static const char *str_or_id(const json_t *j) {
  if (json_is_string(j))
    return json_string_value(j);
  const char *s = json_string_value(json_object_get(j, "@value"));
  return s ? s : json_string_value(json_object_get(j, "@id"));
}

/* Evaluates one constraint; writes why it fails into WHY. */
static int constraint_holds(const json_t *c, const struct tg_cat_access *req, char *why,
                            size_t n) {
  const json_t *l = json_object_get(c, "odrl:leftOperand");
  const json_t *o = json_object_get(c, "odrl:operator");
  const json_t *r = json_object_get(c, "odrl:rightOperand");
  if (names(l, NS_ODRL "purpose")) {
    if (req->purpose == NULL) {
      snprintf(why, n, "a purpose is required and none was given");
      return 0;
    }
    if (!names(o, NS_ODRL "eq") && !names(o, NS_ODRL "isAnyOf")) {
      snprintf(why, n, "unsupported purpose operator");
      return 0;
    }
    if (names(o, NS_ODRL "eq") && count(r) != 1) {
      snprintf(why, n, "malformed purpose constraint");
      return 0;
    }
    for (size_t i = 0; i < count(r); i++) {
      const char *p = str_or_id(nth(r, i));
      if (p == NULL)
        continue;
      char *pe = tg__cat_expand_iri(p), *qe = tg__cat_expand_iri(req->purpose);
      int eq = pe && qe && strcmp(pe, qe) == 0;
      free(pe);
      free(qe);
      if (eq)
        return 1;
    }
    snprintf(why, n, "purpose '%.80s' is not allowed", req->purpose);
    return 0;
  }
  if (names(l, NS_ODRL "dateTime")) {
    int64_t t;
    if (count(r) != 1 || tg_cat_parse_time(str_or_id(nth(r, 0)), &t) != 0) {
      snprintf(why, n, "malformed dateTime constraint");
      return 0;
    }
    int ok = names(o, NS_ODRL "lt")     ? req->now < t
             : names(o, NS_ODRL "lteq") ? req->now <= t
             : names(o, NS_ODRL "gt")   ? req->now > t
             : names(o, NS_ODRL "gteq") ? req->now >= t
             : names(o, NS_ODRL "eq")   ? req->now == t
                                        : -1;
    if (ok < 0)
      snprintf(why, n, "unsupported dateTime operator");
    else if (!ok)
      snprintf(why, n, "outside the permitted period (%.40s)", str_or_id(nth(r, 0)));
    return ok == 1;
  }
  snprintf(why, n, "unsupported constraint");
  return 0;
}

static int assignee_matches(const json_t *as, const struct tg_cat_access *req) {
  char want[128];
  snprintf(want, sizeof(want), "urn:tsunagu:node:%s", req->node_id);
  for (size_t i = 0; i < count(as); i++) {
    const char *a = str_or_id(nth(as, i));
    if (a == NULL)
      continue;
    if (strcmp(a, want) == 0)
      return 1;
    if (strcmp(a, "urn:tsunagu:federation") == 0 && req->is_federation_member)
      return 1;
  }
  return 0;
}

static int decide(const json_t *policy, const struct tg_cat_access *req,
                  struct tg_cat_decision *out) {
  if (req == NULL || out == NULL || req->node_id == NULL)
    return TG_EINVAL;
  memset(out, 0, sizeof(*out));
  out->verdict = TG_CAT_DENY;
  out->permission = -1;
  if (req->is_owner) {
    out->verdict = TG_CAT_PERMIT;
    snprintf(out->reason, sizeof(out->reason), "the owner node may always use its data");
    return 0;
  }
  const char *action = req->action ? req->action : "use";
  if (strcmp(action, "use") != 0 && strcmp(action, "read") != 0) {
    snprintf(out->reason, sizeof(out->reason), "unknown action '%.40s'", action);
    return 0;
  }
  const json_t *perms = json_object_get(policy, "odrl:permission");
  if (!json_is_object(policy) || count(perms) == 0) {
    snprintf(out->reason, sizeof(out->reason), "the dataset has no usable policy");
    return 0;
  }
  char last[160] = "";
  int assignee_seen = 0;
  for (size_t i = 0; i < count(perms); i++) {
    const json_t *p = nth(perms, i);
    const json_t *act = json_object_get(p, "odrl:action");
    int act_ok = names(act, NS_ODRL "use") ||
                 (strcmp(action, "read") == 0 && names(act, NS_ODRL "read"));
    if (!act_ok || !assignee_matches(json_object_get(p, "odrl:assignee"), req))
      continue;
    assignee_seen = 1;
    const json_t *cs = json_object_get(p, "odrl:constraint");
    size_t k;
    for (k = 0; k < count(cs); k++)
      if (!constraint_holds(nth(cs, k), req, last, sizeof(last)))
        break;
    if (k == count(cs)) {
      out->verdict = TG_CAT_PERMIT;
      out->permission = (int)i;
      snprintf(out->reason, sizeof(out->reason), "permitted by permission %zu for node %.63s", i,
               req->node_id);
      return 0;
    }
  }
  if (assignee_seen)
    snprintf(out->reason, sizeof(out->reason), "a permission names node %.63s but %s",
             req->node_id, last);
  else
    snprintf(out->reason, sizeof(out->reason),
             "no permission grants '%s' to node %.63s%s", action, req->node_id,
             req->is_federation_member ? "" : " (not an active federation member)");
  return 0;
}

int tg_cat_policy_decide(const json_t *policy, const struct tg_cat_access *req,
                         struct tg_cat_decision *out) {
  int rc = decide(policy, req, out);
  /* The reason quotes the caller's purpose and node, cut at byte counts:
   * valid UTF-8 again, for the problem, the log and the metric it goes to. */
  if (rc == 0)
    tg_utf8_scrub(out->reason);
  return rc;
}
