#!/bin/bash
# Provenance across real nodes (issue 14): c reads a's distributed dataset
# through the broker; a logs data-served and c data-received with the same
# payload hash, the SHA-256 of the bytes a's backend sent; c's answer carries
# its entry's reference in a trailer; tsunagu prov check proves c's entry at
# a; tsunagu prov verify recomputes a's signed root, and a second run checks
# consistency with the first. Bad proof parameters are 400 naming the
# parameter. Tamper: one byte of one stored entry changed while a is stopped
# is reported at start with its index; /healthz says degraded, /metrics 0,
# and a signs no tree head.
. "$top_srcdir/tests/lib.sh"
plan 59

MARK="PROV-MARKER-$$-$RANDOM"
FEED=$top_srcdir/examples/vocab/a-city-water.ndjson
node "$top_srcdir/tests/tools/data-backend.mjs" "$MARK" "$FEED" >"$TG_TMP/backend.port" 2>"$TG_TMP/backend.log" &
TG_PIDS="$TG_PIDS $!"
for _ in $(seq 1 50); do [ -s "$TG_TMP/backend.port" ] && break; sleep 0.1; done
B=http://127.0.0.1:$(sed -n 1p "$TG_TMP/backend.port")

T() { "$TSUNAGU" --dir "$TG_TMP/$1" "${@:2}"; }
tg_fed_hub a "Provenance Federation" "$(printf '[provenance]\nsth_interval = 1s\n')" || { echo "Bail out! a did not start"; exit 1; }
hub=$HUB
tg_fed_join c || { echo "Bail out! c did not join"; exit 1; }
T c peer sync --hub "$hub" >/dev/null 2>&1
c=$(tg_node_url c)
ATOK=$(cat "$TG_TMP/a/admin.token")
CTOK=$(cat "$TG_TMP/c/admin.token")

jq --arg b "$B/water" --arg who "urn:tsunagu:node:c" \
  '.["dcat:distribution"][0]["tsunagu:backend"]["@id"] = $b | .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": $who}] | del(.["@id"])' \
  "$top_srcdir/examples/datasets/river.json" >"$TG_TMP/river.json"
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ATOK" \
  -H 'Content-Type: application/ld+json' -H "Slug: river" --data-binary @"$TG_TMP/river.json" "$hub/api/v1/datasets")
check "a publishes a distributed dataset for c ($st)" [ "$st" = 201 ]
DS=urn:tsunagu:a:dataset:river

O=$TG_TMP/out
H=$TG_TMP/hdr
ca() { curl -sS --cacert "$CA/ca.crt" "$@"; }
entries() { # NODE-URL TOKEN: every entry the token sees, one JSON object a line
  local n s=0
  n=$(ca -H "Authorization: Bearer $2" "$1/api/v1/provenance/entries?start=0&end=0" | jq .tree_size)
  ca -H "Authorization: Bearer $2" "$1/api/v1/provenance/entries?start=0&end=$n" | jq -c '.entries[]'
}

# c reads a's river data through its node.
st=$(ca -o "$O" -D "$H" -w '%{http_code}' -H "Authorization: Bearer $CTOK" -H 'Tsunagu-Purpose: flood-watch' \
  "$c/api/v1/datasets/$DS/data")
want=$(curl -sS "$B/water" | sha256sum | cut -d' ' -f1)
got=$(sha256sum <"$O" | cut -d' ' -f1)
check "c reads a's river data through its node (200, $st)" [ "$st" = 200 ]
check "  the body is the backend's, unchanged" [ "$got" = "$want" ]
CREF=$(grep -i '^Tsunagu-Prov-Ref:' "$H" | cut -d' ' -f2- | tr -d '\r')
check "  c's answer ends with c's entry reference in a trailer ($CREF)" [ "${CREF%%:*}" = c ]

AE=$(entries "$hub" "$ATOK" | jq -c "select(.kind == \"data-served\" and .dataset == \"$DS\")" | tail -1)
CE=$(entries "$c" "$CTOK" | jq -c "select(.kind == \"data-received\" and .dataset == \"$DS\")" | tail -1)
check "a logged data-served for c" [ "$(jq -r '.requester_node + " " + .owner_node + " " + .outcome' <<<"$AE")" = "c a complete" ]
check "  with the purpose c's user declared" [ "$(jq -r .purpose <<<"$AE")" = flood-watch ]
check "c logged data-received from a" [ "$(jq -r '.owner_node + " " + .outcome' <<<"$CE")" = "a complete" ]
ah=$(jq -r .payload_sha256 <<<"$AE")
ch=$(jq -r .payload_sha256 <<<"$CE")
check "  both payload hashes are equal ($ah)" [ "$ah" = "$ch" ]
check "  and equal to the SHA-256 of the bytes the backend sent" [ "$ah" = "$want" ]
check "  and the byte counts agree with the body" [ "$(jq .bytes <<<"$AE")" = "$(wc -c <"$O")" -a "$(jq .bytes <<<"$CE")" = "$(wc -c <"$O")" ]
AREF=$(jq -r .ref <<<"$CE")
check "  c's entry points at a's entry ($AREF)" [ "$(cut -d: -f1-2 <<<"$AREF")" = "a:$(jq .index <<<"$AE")" ]
check "  c's trailer names that entry" [ "$(cut -d: -f2 <<<"$CREF")" = "$(jq .index <<<"$CE")" ]
pm=$(ca -H "Authorization: Bearer $ATOK" "$hub/metrics" | awk '/^tsunagu_provenance_(appends|commits)_total /{print $2}' | tr '\n' ' ')
check "  a's /metrics counts appended entries and the commits that wrote them ($pm)" \
  awk -v a="${pm%% *}" -v c="$(cut -d' ' -f2 <<<"$pm")" 'BEGIN{exit !(a >= 2 && c >= 1 && c <= a)}'

# A peer sees its own requests only; everyone sees the leaves.
pe=$(ca --cert "$TG_TMP/c/node.crt" --key "$TG_TMP/c/node.key" "$hub/api/v1/provenance/entries?start=0&end=0" | jq .tree_size)
pj=$(ca --cert "$TG_TMP/c/node.crt" --key "$TG_TMP/c/node.key" "$hub/api/v1/provenance/entries?start=0&end=$pe")
check "c, as a peer, sees only entries about its own requests" [ "$(jq '[.entries[] | select(.requester_node != "c")] | length' <<<"$pj")" = 0 -a "$(jq '.entries | length' <<<"$pj")" -ge 1 ]
check "  and every leaf hash of the page" [ "$(jq '.leaves | length' <<<"$pj")" = "$pe" ]
check "anonymous callers see no entry" [ "$(ca "$hub/api/v1/provenance/entries" | jq '.entries | length')" = 0 ]

out=$(T c prov check "$CREF" 2>&1)
check "tsunagu prov check of c's entry against a succeeds" [ $? = 0 ]
diag "$out"
bad=$(sed 's/:\([0-9a-f]\)\([0-9a-f]*\)$/:\2\1/' <<<"$CREF") # the root's first digit moved to the end
T c prov check "$bad" >/dev/null 2>&1
check "  a reference with another root fails" [ $? != 0 ]
T c prov check "c:1:x" >/dev/null 2>&1
check "  a malformed reference is a clear error" [ $? != 0 ]

out=$(T c prov verify --node "$hub" 2>&1)
check "tsunagu prov verify --node a (from c) succeeds" [ $? = 0 ]
diag "$out"
check "  it kept a's verified tree head in c's directory" [ -s "$TG_TMP/c/prov-verified-a.json" ]
ca -o /dev/null -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/$DS/data"
out=$(T c prov verify --node "$hub" 2>&1)
check "  a second verification after more entries checks consistency" grep -q "consistent with" <<<"$out"
out=$(T a prov verify 2>&1)
check "a verifies its own log with the admin token (every entry checked)" [ $? = 0 ]
diag "$out"

# A node that passes off another member's log as its own: the relay answers
# with c's certificate and shows a's tree head and leaves. Verified as it
# claims (a), the check against the head kept for a would be made against
# the wrong node's log.
node "$top_srcdir/tests/tools/prov-relay.mjs" "$TG_TMP/c/node.key" "$TG_TMP/c/node.crt" "$CA/ca.crt" "$hub" >"$TG_TMP/relay.port" 2>"$TG_TMP/relay.log" &
TG_PIDS="$TG_PIDS $!"
for _ in $(seq 1 50); do [ -s "$TG_TMP/relay.port" ] && break; sleep 0.1; done
out=$(T c prov verify --node "https://127.0.0.1:$(cat "$TG_TMP/relay.port")" 2>&1)
check "prov verify of a node that shows another member's log fails" [ $? != 0 ]
check "  naming both nodes ($out)" grep -q "is node c, but its tree head is node a's" <<<"$out"

# PROV-O export, validated with a real SHACL validator (tests/tools/shacl-validate.js).
validate() { node "$top_srcdir/tests/tools/shacl-validate.js" --shapes "$top_srcdir/tests/standards/prov/prov-activity.ttl" "$@"; }
ca -H "Authorization: Bearer $ATOK" -D "$H" "$hub/api/v1/provenance/entries?start=0&end=$pe&format=prov" >"$TG_TMP/prov.jsonld"
check "?format=prov answers JSON-LD with one prov:Activity per entry" [ "$(jq '[."@graph"[] | select(."@type" == "prov:Activity")] | length' "$TG_TMP/prov.jsonld")" = "$pe" -a -n "$(grep -i '^content-type: application/ld+json' "$H")" ]
out=$(validate "$TG_TMP/prov.jsonld" 2>&1); rc=$?
[ $rc = 0 ] || diag "$out"
check "  it conforms to the PROV shapes (startedAtTime xsd:dateTime, wasAssociatedWith an Agent)" [ $rc = 0 ]
jq '."@graph" |= map(if ."@type" == "prov:Activity" then del(."prov:startedAtTime") else . end)' "$TG_TMP/prov.jsonld" >"$TG_TMP/prov-bad.jsonld"
validate "$TG_TMP/prov-bad.jsonld" >/dev/null 2>&1
check "  an activity without a start time does not" [ $? = 1 ]
check "  c's received activity was informed by a's served one" [ "$(ca -H "Authorization: Bearer $CTOK" "$c/api/v1/provenance/entries?format=prov" | jq -r "[.\"@graph\"[] | select(.\"tsunagu:kind\" == \"data-received\")][0].\"prov:wasInformedBy\".\"@id\"")" = "urn:tsunagu:prov:a:$(jq .index <<<"$AE")" ]
st=$(ca -o "$O" -w '%{http_code}' "$hub/api/v1/provenance/entries?format=xml")
check "  another format is 400 naming format" [ "$st" = 400 -a "$(jq -r .parameter "$O")" = format ]

out=$(T a prov show --dataset "$DS")
check "tsunagu prov show --dataset: who read what, how much, the outcome" grep -q "data-served *complete  $DS  by c.*owner a  $(jq .bytes <<<"$AE") bytes  purpose flood-watch" <<<"$out"
check "  --since in the future shows nothing" [ -z "$(T a prov show --since 2999-01-01)" ]

# Bad proof parameters.
pst() { ca -o "$O" -w '%{http_code}' "$hub/api/v1/provenance/$1"; }
param() { jq -r .parameter "$O"; }
st=$(pst "proof/inclusion?index=5&tree_size=2")
check "inclusion with index >= tree_size: 400 naming index ($st)" [ "$st" = 400 -a "$(param)" = index ]
st=$(pst "proof/inclusion?index=0&tree_size=999999999")
check "inclusion past the log: 400 naming tree_size" [ "$st" = 400 -a "$(param)" = tree_size ]
st=$(pst "proof/consistency?first=0&second=1")
check "consistency from 0: 400 naming first" [ "$st" = 400 -a "$(param)" = first ]
st=$(pst "proof/consistency?first=1&second=-1")
check "a negative size: 400 naming second" [ "$st" = 400 -a "$(param)" = second ]
st=$(pst "entries?start=0&end=100000")
check "a page that is too large or past the end: 400 naming end, problem+json" [ "$st" = 400 -a "$(param)" = end -a "$(jq -r .type "$O")" = urn:tsunagu:problem:bad-parameter ]

# Both nodes killed with SIGKILL the moment c's answer ended: the references
# they sent were acknowledged, so both entries are there after the restart
# ([provenance] sync_interval: written before the answer, synced later).
ca -o /dev/null -D "$H" -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/$DS/data"
KREF=$(grep -i '^Tsunagu-Prov-Ref:' "$H" | cut -d' ' -f2- | tr -d '\r')
for n in a c; do # they come back on the ports their peers know
  sed -i "s|^listen = 127.0.0.1:0\$|listen = $(tg_node_addr $n)|" "$TG_TMP/$n/tsunagu.conf"
done
kill -KILL "$(tg_node_pid a)" "$(tg_node_pid c)"
tg_wait_exit "$(tg_node_pid a)" 20
tg_wait_exit "$(tg_node_pid c)" 20
tg_node_start a && tg_node_start c
hub=$(tg_node_url a)
c=$(tg_node_url c)
check "after kill -9 of a and c, both open their logs whole" [ "$(ca "$hub/healthz" | jq -r .status)$(ca "$c/healthz" | jq -r .status)" = okok ]
out=$(T c prov check "$KREF" 2>&1)
check "  and c's last reference ($KREF) still proves at a" [ $? = 0 -a -n "$KREF" ]
diag "$out"

# A revocation of a new member r (tsunagu ca revoke, offline beside the CA
# node) reaches a's
# log as a cert-revoked entry once a sees its CA's new CRL ([ca] crl_watch),
# once only, also across a restart.
tg_fed_join r || { echo "Bail out! r did not join"; exit 1; }
cserial=$(openssl x509 -in "$TG_TMP/r/node.crt" -noout -serial | cut -d= -f2 | tr a-f A-F)
"$TSUNAGU" ca revoke --dir "$CA" --node r --reason cessationOfOperation >/dev/null
revoked() { entries "$hub" "$ATOK" | jq -r 'select(.kind == "cert-revoked") | .dataset' | sort; }
for _ in $(seq 1 60); do [ -n "$(revoked)" ] && break; sleep 0.1; done
check "a logs r's revocation (cert-revoked, serial $cserial)" grep -qx "certificate serial $cserial" <<<"$(revoked)"
kill -TERM "$(tg_node_pid a)"
tg_wait_exit "$(tg_node_pid a)" 20
tg_node_start a
hub=$(tg_node_url a)
c=$(tg_node_url c)
n1=$(revoked | wc -l)
sleep 0.5
check "  a restarted logs none of them a second time ($n1 serials)" [ "$(revoked | sort -u | wc -l)" = "$n1" -a "$(revoked | wc -l)" = "$n1" ]
check "  and the entry's owner is a, its outcome complete" [ "$(entries "$hub" "$ATOK" | jq -r 'select(.kind == "cert-revoked") | .owner_node + " " + .outcome' | sort -u)" = "a complete" ]

# Key rotation: the tree heads c signed with its old key still check after
# renew --new-key and a restart (the old certificate is kept in retired.crt).
ca -o /dev/null "$c/api/v1/provenance/sth" # at least one tree head with the old key
oldserial=$(openssl x509 -in "$TG_TMP/c/node.crt" -noout -serial | cut -d= -f2)
out=$(T c renew --new-key 2>&1)
check "c rotates its key (renew --new-key)" [ $? = 0 ]
diag "$out"
kill -TERM "$(tg_node_pid c)"
tg_wait_exit "$(tg_node_pid c)" 20
tg_node_start c
c=$(tg_node_url c)
check "  restarted, c's log is whole: its old tree heads check with the retired key ($(ca "$c/healthz" | jq -c .))" [ "$(ca "$c/healthz" | jq -r .status)" = ok ]
check "  retired.crt holds the old certificate ($oldserial)" [ "$(openssl x509 -in "$TG_TMP/c/retired.crt" -noout -serial | cut -d= -f2)" = "$oldserial" ]

# Tamper: one byte of a's data-served entry, while a is stopped.
IDX=$(jq .index <<<"$AE")
kill -TERM "$(tg_node_pid a)"
tg_wait_exit "$(tg_node_pid a)" 20
DB=$TG_TMP/a/provenance.db
hex=$(tg_sql "$DB" "SELECT hex(body) FROM prov_entry WHERE idx = $IDX")
pos=60 # inside the dataset id's text
c0=${hex:$pos:1}
[ "$c0" = 0 ] && c1=1 || c1=0
tg_sql "$DB" "UPDATE prov_entry SET body = X'${hex:0:$pos}$c1${hex:$((pos + 1))}' WHERE idx = $IDX"
tg_node_start a
check "a starts again with the changed entry" [ $? = 0 ]
hub=$(tg_node_url a)
T c peer add a "$hub" >/dev/null 2>&1 # a listens on a new port
check "  its log names the first bad index ($IDX)" grep -q "provenance: the log is broken from entry $IDX on" "$TG_TMP/a/tsunagud.log"
hz=$(ca "$hub/healthz")
check "  /healthz says degraded with the provenance index ($hz)" [ "$(jq -r '.status + " " + (.provenance.first_bad_index | tostring)' <<<"$hz")" = "degraded $IDX" ]
check "  /metrics: tsunagu_provenance_log_ok 0" grep -q '^tsunagu_provenance_log_ok 0$' <(ca "$hub/metrics")
st=$(pst sth)
check "  and it refuses to sign a tree head (503, $st)" [ "$st" = 503 ]
st=$(ca -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/$DS/data")
check "  it still serves data ($st)" [ "$st" = 200 ]

# A node whose last entry is deleted together with the tree heads that
# covered it: DIR/provenance.head (the last head signed, kept outside the
# database) catches it at start; deleted as well, the node opens whole, but
# a verifier that kept an earlier tree head catches it.
T a prov verify --node "$c" >/dev/null 2>&1
check "a verifies c's log and keeps its tree head" [ $? = 0 ]
ca -o /dev/null "$c/api/v1/provenance/sth" # a head covering c's last entry
kill -TERM "$(tg_node_pid c)"
tg_wait_exit "$(tg_node_pid c)" 20
CDB=$TG_TMP/c/provenance.db
last=$(tg_sql "$CDB" "SELECT max(idx) FROM prov_entry")
tg_sql "$CDB" "DELETE FROM prov_entry WHERE idx = $last; DELETE FROM prov_sth WHERE tree_size > $last"
tg_node_start c
c=$(tg_node_url c)
hz=$(ca "$c/healthz")
check "c starts with its last entry and tree heads deleted: provenance.head names entry $last ($hz)" [ "$(jq -r '.status + " " + (.provenance.first_bad_index | tostring)' <<<"$hz")" = "degraded $last" ]
kill -TERM "$(tg_node_pid c)"
tg_wait_exit "$(tg_node_pid c)" 20
rm "$TG_TMP/c/provenance.head"
tg_node_start c
c=$(tg_node_url c)
check "  with provenance.head deleted too, c sees nothing wrong" [ "$(ca "$c/healthz" | jq -r .status)" = ok ]
out=$(T a prov verify --node "$c" 2>&1)
check "  but a's verification against the tree head it kept fails" [ $? != 0 ]
diag "$out"
check "  and says the log shrank" grep -q "INCONSISTENT" <<<"$out"

# A row changed under the running node: the next read of it finds it, the
# log is marked broken at once (no restart needed), and its admin's verify fails.
c0=$(tg_sql "$CDB" "SELECT hex(body) FROM prov_entry WHERE idx = 0")
tg_sql "$CDB" "UPDATE prov_entry SET body = X'${c0:0:60}$([ "${c0:60:1}" = 0 ] && echo 1 || echo 0)${c0:61}' WHERE idx = 0"
out=$(T c prov verify 2>&1)
check "a byte changed while c runs: c's own verify fails" [ $? != 0 ]
diag "$out"
hz=$(ca "$c/healthz")
check "  and c's /healthz says degraded from entry 0 ($hz)" [ "$(jq -r '.status + " " + (.provenance.first_bad_index | tostring)' <<<"$hz")" = "degraded 0" ]
check "  its log says so" grep -q "provenance: the log is broken from entry 0 on: entry 0 no longer matches" "$TG_TMP/c/tsunagud.log"

done_testing
