#!/bin/bash
# Certificate lifecycle without surprises, and addresses that work, with real
# nodes: expiry gauges in /metrics and warnings in /healthz and tsunagu info;
# a node renewing its own short-lived certificate from the hub ([ca]
# validity = 30s) and serving the new one; the hub refusing a node it revoked
# at once (no SIGHUP, default CRL refresh); wildcard and loopback addresses
# kept out of certificates and the federation directory; the hub renewing its
# own certificate from its CA; backoff while the hub is away.
. "$top_srcdir/tests/lib.sh"

plan 43

T() { "$TSUNAGU" --dir "$TG_TMP/$1" "${@:2}"; }
# gauge NODE WHICH: the value of tsunagu_cert_expiry_seconds{which=WHICH}.
gauge() { tg_curl "$1" "$(tg_node_url "$1")/metrics" | sed -n "s/^tsunagu_cert_expiry_seconds{which=\"$2\"} //p"; }
fcurl() { curl -sS --cacert "$CA/ca.crt" "$@"; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
san() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null; }
# Compound conditions live in functions: check runs one command.
at_most() { [ -n "$1" ] && [ "$1" -le "$2" ]; }
# failed_with RC PATTERN OUTPUT: RC is not 0 and OUTPUT matches PATTERN.
failed_with() { [ "$1" -ne 0 ] && grep -q -e "$2" <<<"$3"; }
succeeded_with() { [ "$1" -eq 0 ] && grep -q -e "$2" <<<"$3"; }

# The hub's certificate is signed offline for 90 days; what it issues online
# (register, renew) lasts 30 s.
tg_fed_hub hub "Lifecycle Federation" "$(printf 'validity = 30s\n[federation]\nrenew_check = 1s')" || { echo "Bail out! no hub"; exit 1; }
hub=$HUB

# --- 1. expiry visible ---
m=$(tg_curl hub "$hub/metrics")
check "the hub's /metrics has the three expiry gauges" [ "$(grep -c '^tsunagu_cert_expiry_seconds{which="\(node\|ca\|crl\)"} [0-9]' <<<"$m")" = 3 ]
g=$(gauge hub node)
check "  its certificate's expiry is about 90 days away ($g s)" [ "$g" -gt $((89 * 86400)) -a "$g" -le $((90 * 86400)) ]
check "  the CRL's nextUpdate is in the future" [ "$(gauge hub crl)" -gt 0 ]
check "the hub is healthy: nothing expires within 14 days" [ "$(fcurl "$hub/healthz" | jq -r .status)" = ok ]

# n1 joins with a 30 s certificate and checks its renewal every second.
tg_fed_join n1 "$(printf '[federation]\nrenew_check = 1s\ncrl_refresh = 1s')" || { echo "Bail out! n1 did not join"; exit 1; }
u1=$(tg_node_url n1)
first=$(serial "$TG_TMP/n1/node.crt")
h=$(fcurl "$u1/healthz")
check "n1's /healthz is degraded by its short certificate ($h)" [ "$(jq -r .status <<<"$h")" = degraded ]
check "  with a warning naming the node certificate and when" [ "$(jq -r '.warnings[] | select(.which == "node") | .expires_at' <<<"$h")" = "$(date -u -d "$(openssl x509 -in "$TG_TMP/n1/node.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" ]
check "  and none for the CA certificate or the CRL" [ "$(jq '[.warnings[] | select(.which != "node")] | length' <<<"$h")" = 0 ]
check "  still answering 200 (it serves)" [ "$(fcurl -o /dev/null -w '%{http_code}' "$u1/healthz")" = 200 ]
g=$(gauge n1 node)
check "n1's node gauge is within the 30 s validity ($g)" at_most "$g" 30
out=$("$TSUNAGU" --url "$u1" --cacert "$CA/ca.crt" info 2>&1 >/dev/null)
check "tsunagu info warns about the certificate ($out)" grep -q "^warning: the node certificate expires 20" <<<"$out"
check "  and info --json lists the warning" [ "$("$TSUNAGU" --url "$u1" --cacert "$CA/ca.crt" --json info | jq -r '.warnings[0].which')" = node ]
out=$("$TSUNAGU" --url "$u1" --cacert "$CA/ca.crt" health 2>&1); rc=$?
check "tsunagu health says degraded and exits 0 (rc $rc)" succeeded_with $rc ": degraded" "$out"

# --- 2. the daemon renews its own certificate ---
renewed() { [ "$(serial "$TG_TMP/n1/node.crt")" != "$first" ]; }
for _ in $(seq 1 300); do renewed && break; sleep 0.1; done
check "n1 renewed its certificate by itself within its life" renewed
check "  and logged when it was due and that it installed it" grep -q "certificate renewal: installed certificate $(serial "$TG_TMP/n1/node.crt")" "$TG_TMP/n1/tsunagud.log"
check "  after two thirds of the life (logged schedule)" grep -q "renewal from $hub due at" "$TG_TMP/n1/tsunagud.log"
serves_new() { [ "$(fcurl "$u1/.well-known/tsunagu" | jq -r .certificate.sha256)" = "$(fingerprint "$TG_TMP/n1/node.crt")" ]; }
for _ in $(seq 1 50); do serves_new && break; sleep 0.1; done
check "  then reloaded: it serves the new certificate" serves_new
check "the CA recorded the renewal as one of n1's family" [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_certs WHERE node_id='n1' AND how='renew'")" -ge 1 ]
check "the key stayed (a renewal, not a rotation)" [ "$(openssl x509 -in "$TG_TMP/n1/node.crt" -noout -pubkey | sha256sum)" = "$(openssl pkey -in "$TG_TMP/n1/node.key" -pubout | sha256sum)" ]
check "the hub still takes n1 after the renewal" [ "$(fcurl -o /dev/null -w '%{http_code}' --cert "$TG_TMP/n1/node.crt" --key "$TG_TMP/n1/node.key" "$hub/api/v1/federation/members")" = 200 ]

# --- 3. the hub applies its own revocations at once ---
tg_fed_join n2 "$(printf '[federation]\nrenew = off')" || { echo "Bail out! n2 did not join"; exit 1; }
members() { fcurl -o /dev/null -w '%{http_code}' --cert "$TG_TMP/n2/node.crt" --key "$TG_TMP/n2/node.key" "$hub/api/v1/federation/members"; }
check "the hub takes n2 before its revocation" [ "$(members)" = 200 ]
"$TSUNAGU" ca revoke --dir "$CA" --node n2 --reason keyCompromise >/dev/null
refused() { [ "$(members)" != 200 ]; }
for _ in $(seq 1 50); do refused && break; sleep 0.1; done
check "the hub refuses revoked n2 within seconds, with no SIGHUP (crl_refresh left at 5m)" refused
check "  and logged the CRL it installed from its CA" grep -q "installed a new CRL from $CA/crl.pem" "$TG_TMP/hub/tsunagud.log"
check "n2 turned renew off: nothing was asked for it" [ -z "$(grep 'certificate renewal' "$TG_TMP/n2/tsunagud.log")" ]

# --- 4. addresses that work ---
tok=$("$TSUNAGU" ca token --dir "$CA" --node w1 --ttl 1h 2>/dev/null)
"$TSUNAGU" init --dir "$TG_TMP/w1" --id w1 --listen 0.0.0.0:8462 --hosts tsunagu.t4.example.lg.jp >/dev/null
check "init --listen 0.0.0.0 --hosts NAME keeps NAME as [node] url" grep -q '^url = https://tsunagu.t4.example.lg.jp:8462$' "$TG_TMP/w1/tsunagu.conf"
check "  and its bootstrap certificate names NAME, not 0.0.0.0" [ -n "$(san "$TG_TMP/w1/node.crt" | grep 'DNS:tsunagu.t4.example.lg.jp')" -a -z "$(san "$TG_TMP/w1/node.crt" | grep '0\.0\.0\.0')" ]
out=$("$TSUNAGU" register --dir "$TG_TMP/w1" --hub "$hub" --token "$tok" --ca-fingerprint "$HUB_FP" 2>&1)
check "register enrols w1 under its name ($out)" grep -q "enrolled with $hub as https://tsunagu.t4.example.lg.jp:8462" <<<"$out"
check "  whose certificate names it and no wildcard" [ -n "$(san "$TG_TMP/w1/node.crt" | grep 'DNS:tsunagu.t4.example.lg.jp')" -a -z "$(san "$TG_TMP/w1/node.crt" | grep '0\.0\.0\.0')" ]
dir_url=$(fcurl --cert "$TG_TMP/n1/node.crt" --key "$TG_TMP/n1/node.key" "$hub/api/v1/federation/members" | jq -r '.members[] | select(.node_id == "w1") | .url')
check "  and the directory lists its name ($dir_url)" [ "$dir_url" = https://tsunagu.t4.example.lg.jp:8462 ]

"$TSUNAGU" init --dir "$TG_TMP/w2" --id w2 --listen 0.0.0.0:8463 >/dev/null
tok2=$("$TSUNAGU" ca token --dir "$CA" --node w2 --ttl 1h 2>/dev/null)
out=$("$TSUNAGU" register --dir "$TG_TMP/w2" --hub "$hub" --token "$tok2" --ca-fingerprint "$HUB_FP" 2>&1); rc=$?
check "register refuses a node with only a wildcard listen address (rc $rc)" failed_with $rc "wildcard address that peers cannot reach" "$out"
out=$("$TSUNAGU" register --dir "$TG_TMP/w2" --hub "$hub" --token "$tok2" --ca-fingerprint "$HUB_FP" --node-url https://0.0.0.0:8463 2>&1); rc=$?
check "  also when --node-url names it (rc $rc)" failed_with $rc "wildcard" "$out"
out=$("$TSUNAGU" register --dir "$TG_TMP/w2" --hub "$hub" --token "$tok2" --ca-fingerprint "$HUB_FP" --node-url https://127.0.0.1:8463 2>&1); rc=$?
check "register refuses a loopback address without --local (rc $rc)" failed_with $rc "loopback address.*--local" "$out"
check "  and the token is still unused" [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_tokens WHERE node_id='w2' AND used_at IS NULL")" = 1 ]
post() { jq -n --arg t "$tok2" '{node_id:"w2", url:"https://0.0.0.0:8463", csr:"x", token:$t}' | fcurl -H 'Content-Type: application/json' --data-binary @- -o /dev/null -w '%{http_code}' "$hub/api/v1/certs/register"; }
check "the hub itself refuses a wildcard URL at registration" [ "$(post)" = 400 ]
out=$("$TSUNAGU" register --dir "$TG_TMP/w2" --hub "$hub" --token "$tok2" --ca-fingerprint "$HUB_FP" --hosts w2.example.lg.jp 2>&1)
check "register --hosts NAME enrols under NAME with the listen port ($out)" grep -q "as https://w2.example.lg.jp:8463" <<<"$out"

# --- the CA node renews its own certificate from its CA ---
"$TSUNAGU" ca sign --dir "$CA" --node hub --hosts 127.0.0.1 --valid 30s "$TG_TMP/hub.csr" >"$TG_TMP/hub-short.crt" 2>/dev/null
"$TSUNAGU" cert install --dir "$TG_TMP/hub" --cert "$TG_TMP/hub-short.crt" --ca "$CA/ca.crt" >/dev/null
kill -HUP "$(tg_node_pid hub)"
hub_first=$(serial "$TG_TMP/hub-short.crt")
hub_renewed() { [ "$(serial "$TG_TMP/hub/node.crt")" != "$hub_first" ]; }
for _ in $(seq 1 400); do hub_renewed && break; sleep 0.1; done
check "the hub renewed its own short certificate from its CA" hub_renewed
check "  logged as such" grep -q "installed certificate $(serial "$TG_TMP/hub/node.crt") from the node's own CA" "$TG_TMP/hub/tsunagud.log"
check "  recorded by the CA as a renewal with the same hosts" [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_certs WHERE node_id='hub' AND how='renew'")" -ge 1 -a "$(san "$TG_TMP/hub/node.crt" | tail -1 | tr -d ' ')" = "$(san "$TG_TMP/hub-short.crt" | tail -1 | tr -d ' ')" ]
hub_serves_new() { [ "$(fcurl "$hub/.well-known/tsunagu" | jq -r .certificate.sha256)" = "$(fingerprint "$TG_TMP/hub/node.crt")" ]; }
for _ in $(seq 1 50); do hub_serves_new && break; sleep 0.1; done
check "  and serves it" hub_serves_new

# --- backoff: with the hub gone, n1's renewals fail and are spaced out ---
kill -TERM "$(tg_node_pid hub)"
# A 33 s life (30 s and 3 s backdated): waits of 1 s, 2 s, then 3 s (a tenth).
waits() { sed -n 's/.*certificate renewal from .* failed: .*; next attempt in \([0-9]*\) s.*/\1/p' "$TG_TMP/n1/tsunagud.log" | head -3 | tr '\n' ' '; }
for _ in $(seq 1 400); do [ "$(waits | wc -w)" -ge 3 ] && break; sleep 0.1; done
check "with the hub gone n1 logs failed renewals and when it tries next" [ "$(waits | wc -w)" -ge 3 ]
check "  waiting twice as long each time, up to a tenth of the life ($(waits))" [ "$(waits)" = "1 2 3 " ]

# The new keys' values are checked with the rest of the configuration.
printf '[federation]\nrenew = maybe\n' >>"$TG_TMP/w2/tsunagu.conf"
out=$("$TSUNAGUD" -t -D "$TG_TMP/w2" 2>&1); rc=$?
check "tsunagud -t refuses [federation] renew = maybe (rc $rc)" failed_with $rc "renew = maybe: expected on or off" "$out"
sed -i 's/^renew = maybe$/renew = off/' "$TG_TMP/w2/tsunagu.conf"
printf '[ca]\nvalidity = soon\n' >>"$TG_TMP/w2/tsunagu.conf"
out=$("$TSUNAGUD" -t -D "$TG_TMP/w2" 2>&1); rc=$?
check "  and [ca] validity = soon, naming its line (rc $rc)" failed_with $rc "tsunagu.conf:[0-9]*: \[ca\] validity = soon" "$out"

check "no secret in the logs" [ -z "$(grep -h -e "$tok" -e "$tok2" -e "BEGIN .*PRIVATE" "$TG_TMP"/*/tsunagud.log)" ]
done_testing
