#!/bin/bash
# Peers over mutual TLS: a CA node and three nodes that register over HTTP,
# peer from the federation directory (tsunagu peer sync) and check each other
# (tsunagu peer list: the node calls each peer's /api/v1/peer/whoami with its
# federation certificate). Refusals: a peer whose certificate names another
# node, callers without a certificate or token, and a revoked node once the
# peers have the new CRL.
. "$top_srcdir/tests/lib.sh"

HUB=$TG_TMP/hub
CA=$HUB/ca
T() { "$TSUNAGU" --dir "$TG_TMP/$1" "${@:2}"; }
# reach FROM TO: "yes", or the error FROM's node reported for TO.
reach() {
  T "$1" --json peer list 2>/dev/null | jq -r --arg p "$2" '.peers[] | select(.node_id == $p) | if .reachable then "yes" else .error end'
}

tg_node_new hub "$(printf '[ca]\ndir = ca')"
"$TSUNAGU" ca init --dir "$CA" --name "Peers Federation" >/dev/null
"$TSUNAGU" csr --dir "$HUB" >"$TG_TMP/hub.csr"
"$TSUNAGU" ca sign --dir "$CA" --node hub --hosts 127.0.0.1 "$TG_TMP/hub.csr" >"$TG_TMP/hub.crt" 2>/dev/null
"$TSUNAGU" cert install --dir "$HUB" --cert "$TG_TMP/hub.crt" --ca "$CA/ca.crt" --crl "$CA/crl.pem" >/dev/null
tg_node_start hub || { echo "Bail out! hub did not start"; exit 1; }
hub=$(tg_node_url hub)
fp=$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)

# Three nodes start with their bootstrap certificates, register with their
# real URL, and switch to the federation certificate on SIGHUP.
for n in p1 p2 p3; do
  tg_node_new "$n"
  tg_node_start "$n" || { echo "Bail out! $n did not start"; exit 1; }
  u=$(tg_node_url "$n")
  tok=$("$TSUNAGU" ca token --dir "$CA" --node "$n" --ttl 1h 2>/dev/null)
  "$TSUNAGU" register --dir "$TG_TMP/$n" --hub "$hub" --token "$tok" --ca-fingerprint "$fp" --node-url "$u" >/dev/null
  kill -HUP "$(tg_node_pid "$n")"
  for i in $(seq 1 50); do curl -fsS --cacert "$CA/ca.crt" "$u/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done
check "p1..p3 serve their federation certificates" curl -fsS --cacert "$CA/ca.crt" "$(tg_node_url p3)/healthz" -o /dev/null

# The federation directory: peers only.
m=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/p1/node.crt" --key "$TG_TMP/p1/node.key" "$hub/api/v1/federation/members")
check "the directory lists hub and p1..p3 as active" [ "$(jq -c '[.members[] | select(.status == "active") | .node_id]' <<<"$m")" = '["hub","p1","p2","p3"]' ]
check "  with p2's registered URL" [ "$(jq -r '.members[] | select(.node_id == "p2") | .url' <<<"$m")" = "$(tg_node_url p2)" ]
check "  and p2's certificate fingerprint" [ "$(jq -r '.members[] | select(.node_id == "p2") | .fingerprint' <<<"$m")" = "$(openssl x509 -in "$TG_TMP/p2/node.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" ]
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' "$hub/api/v1/federation/members")
check "the directory refuses a caller without a federation certificate ($st)" [ "$st" = 403 ]

for n in p1 p2 p3; do
  out=$(T "$n" peer sync --hub "$hub" 2>&1)
  check "$n: peer sync adds the two others ($out)" grep -q "^2 peers from" <<<"$out"
done
check "peer sync remembers the hub" grep -q "^hub = $hub" "$TG_TMP/p1/tsunagu.conf"

# Acceptance: each node reaches the two others over mutual TLS.
for n in p1 p2 p3; do
  j=$(T "$n" --json peer list)
  check "$n: peer list shows the two others reachable" [ "$(jq -c '[.peers[] | select(.reachable) | .node_id]' <<<"$j")" = "$(jq -nc --arg n "$n" '["p1","p2","p3"] - [$n]')" ]
done
j=$(T p1 --json peer list)
exp=$(date -d "$(openssl x509 -in "$TG_TMP/p2/node.crt" -noout -enddate | cut -d= -f2)" +%s)
check "  with p2's certificate expiry" [ "$(jq '.peers[] | select(.node_id == "p2") | .cert_expires' <<<"$j")" = "$exp" ]
check "  a latency and a last contact" [ "$(jq '[.peers[] | select(.latency_ms >= 0 and .last_contact > 0)] | length' <<<"$j")" = 2 ]
txt=$(T p1 peer list)
check "the table shows p3 reachable" grep -Eq "^p3 +reachable +[0-9]+ms" <<<"$txt"
check "the node stored the contact" [ "$(T p1 --json peer list >/dev/null; curl -sS --cacert "$TG_TMP/p1/node.crt" -H "Authorization: Bearer $(cat "$TG_TMP/p1/admin.token")" "$(tg_node_url p1)/api/v1/peers" | jq -r '.peers[] | select(.node_id == "p2") | .status')" = reachable ]

# Refusals.
st=$(curl -sS --cacert "$TG_TMP/p1/node.crt" -o /dev/null -w '%{http_code}' "$(tg_node_url p1)/api/v1/peers")
check "peers need the admin token ($st)" [ "$st" = 401 ]
T p1 peer add 'Bad_Id' https://127.0.0.1:1 >/dev/null 2>&1
check "peer add refuses a bad node id" [ $? -ne 0 ]
T p1 peer add p1 https://127.0.0.1:1 >/dev/null 2>&1
check "peer add refuses the node itself" [ $? -ne 0 ]
T p1 peer add p9 "$(tg_node_url p2)" >/dev/null
r=$(reach p1 p9)
check "a peer whose certificate names another node is unreachable ($r)" grep -q "is node 'p2', not 'p9'" <<<"$r"
check "peer rm removes it" T p1 peer rm p9
T p1 peer rm p9 >/dev/null 2>&1
check "peer rm of an unknown peer fails" [ $? -ne 0 ]
T p1 peer add p8 https://127.0.0.1:1 >/dev/null
r=$(reach p1 p8)
check "a peer that does not listen is unreachable ($r)" grep -q "cannot connect" <<<"$r"
T p1 peer rm p8 >/dev/null

# Revoke p3; p1 and p2 get the new CRL and reload.
"$TSUNAGU" ca revoke --dir "$CA" --node p3 --reason keyCompromise >/dev/null
m=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/p1/node.crt" --key "$TG_TMP/p1/node.key" "$hub/api/v1/federation/members")
check "the directory shows p3 revoked" [ "$(jq -r '.members[] | select(.node_id == "p3") | .status' <<<"$m")" = revoked ]
for n in hub p1 p2; do
  curl -sS --cacert "$CA/ca.crt" "$hub/api/v1/certs/crl" -o "$TG_TMP/$n/crl.pem"
  kill -HUP "$(tg_node_pid "$n")"
done
sleep 0.3
st=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/p3/node.crt" --key "$TG_TMP/p3/node.key" -o /dev/null -w '%{http_code}' "$hub/api/v1/federation/members" 2>/dev/null)
check "  and refuses revoked p3 ($st)" [ "$st" != 200 ]
r=$(reach p1 p3)
check "p1 no longer reaches revoked p3 ($r)" grep -q "revoked" <<<"$r"
r=$(reach p3 p1)
check "p3 is refused by p1 ($r)" [ -n "$r" -a "$r" != yes ]
check "p1 still reaches p2" [ "$(reach p1 p2)" = yes ]

plan "$_tap_n"
done_testing
