#!/bin/bash
# The data broker: GET /api/v1/datasets/{id}/data across a federation of real
# nodes over mutual TLS. "a" owns datasets passed through to a real HTTP
# backend (tests/tools/data-backend.mjs); "c" is granted by a's policy, "x" is
# not. Checks: the answer streams back unchanged with the owner named, the
# backend sees one request per read and no consumer credential, nothing of the
# body is left on the forwarding node, refusals happen before the backend is
# touched, a backend that dies mid-answer cuts the consumer's answer, timeouts
# and backend errors have their own problem types, the via-list guard.
. "$top_srcdir/tests/lib.sh"
plan 70
# Memory is measured below: keep ASan's quarantine of freed chunks small.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"

START=$TG_TMP/start
touch "$START"
MARK="BROKER-MARKER-$$-$RANDOM"
FEED=$top_srcdir/examples/vocab/a-city-water.ndjson
# A backend CA, the https backend's certificate and a client certificate for a.
BT=$TG_TMP/backend-tls
mkdir -p "$BT"
mkcert() { # NAME CN [SAN]
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$BT/$1.key" -subj "/CN=$2" -out "$BT/$1.csr" 2>/dev/null
  openssl x509 -req -in "$BT/$1.csr" -CA "$BT/ca.crt" -CAkey "$BT/ca.key" -CAcreateserial -days 2 \
    ${3:+-extfile <(printf 'subjectAltName=%s' "$3")} -out "$BT/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$BT/ca.key" -subj "/CN=Backend CA" -days 2 -out "$BT/ca.crt" 2>/dev/null
mkcert server 127.0.0.1 IP:127.0.0.1
mkcert client a-city-broker
BACKEND_TLS_DIR=$BT node "$top_srcdir/tests/tools/data-backend.mjs" "$MARK" "$FEED" >"$TG_TMP/backend.port" 2>"$TG_TMP/backend.log" &
BPID=$!
TG_PIDS="$TG_PIDS $BPID"
for _ in $(seq 1 50); do [ "$(wc -l <"$TG_TMP/backend.port")" = 2 ] && break; sleep 0.1; done
BPORT=$(sed -n 1p "$TG_TMP/backend.port")
B=http://127.0.0.1:$BPORT
BS=https://127.0.0.1:$(sed -n 2p "$TG_TMP/backend.port")
stats() { curl -sS "$B/_stats"; }
count() { stats | jq .count; }

T() { "$TSUNAGU" --dir "$TG_TMP/$1" "${@:2}"; }
tg_fed_hub a "Broker Federation" "$(printf '[backend.local]\norigin = %s\nheader = X-Api-Key: k-secret-123\nfirst_byte_timeout = 2s\nidle_timeout = 2s\n[backend.secure]\norigin = %s\nca_file = %s\nclient_cert = %s\nclient_key = %s\n' "$B" "$BS" "$BT/ca.crt" "$BT/client.crt" "$BT/client.key")" || { echo "Bail out! a did not start"; exit 1; }
hub=$HUB
for n in c x; do
  tg_fed_join "$n" || { echo "Bail out! $n did not join"; exit 1; }
  T "$n" peer sync --hub "$hub" >/dev/null 2>&1
done
c=$(tg_node_url c)
x=$(tg_node_url x)

# a's datasets: the river feed for c only, and test sources.
ATOK=$(cat "$TG_TMP/a/admin.token")
mkds() { # NAME BACKEND-PATH ASSIGNEE [BACKEND-BASE]
  jq --arg b "${4:-$B}$2" --arg who "urn:tsunagu:node:$3" \
    '.["dcat:distribution"][0]["tsunagu:backend"]["@id"] = $b | .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": $who}] | del(.["@id"])' \
    "$top_srcdir/examples/datasets/river.json" >"$TG_TMP/$1.json"
  curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ATOK" \
    -H 'Content-Type: application/ld+json' -H "Slug: $1" --data-binary @"$TG_TMP/$1.json" "$hub/api/v1/datasets"
}
s=""
for d in "river /water c" "big /big?bytes=1073741824 c" "big64 /big?bytes=67108864 c" "die /die?bytes=4000000 c" "hang /hang c" \
         "e500 /status?code=500 c" "slow /slowbody c" "feed /feed c" "trickle /trickle c"; do
  set -- $d
  s="$s$(mkds "$1" "$2" "$3")"
done
s="$s$(mkds secure /water c "$BS")"
check "a publishes ten distributed datasets ($s)" [ "$s" = 201201201201201201201201201201 ]

CTOK=$(cat "$TG_TMP/c/admin.token")
XTOK=$(cat "$TG_TMP/x/admin.token")
O=$TG_TMP/out
H=$TG_TMP/hdr
get() { # NODE-URL TOKEN DATASET [curl args]: status code; body in $O, headers in $H
  local u=$1 t=$2 d=$3
  shift 3
  rm -f "$O" "$H"
  curl -sS --cacert "$CA/ca.crt" -o "$O" -D "$H" -w '%{http_code}' -H "Authorization: Bearer $t" "$@" \
    "$u/api/v1/datasets/urn:tsunagu:a:dataset:$d/data"
}
hdr() { grep -i "^$1:" "$H" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
ptype() { jq -r .type "$O" 2>/dev/null; }

# c reads a's river feed through its own node.
n0=$(count)
st=$(get "$c" "$CTOK" river -H 'Cookie: session=consumer-cookie' -H 'X-Forwarded-For: 10.9.9.9')
body=$(cat "$O")
check "c reads a's river data through its node (200, $st)" [ "$st" = 200 ]
check "  the body is the backend's, unchanged" [ "$body" = "$(curl -sS "$B/water")" ]
n1=$(count)
check "  the backend saw exactly one request for it ($n0 -> $n1, one more for the comparison)" [ $((n1 - n0)) = 2 ]
check "  Tsunagu-Owner names a" [ "$(hdr Tsunagu-Owner)" = a ]
check "  ETag and Last-Modified pass through" [ "$(hdr ETag)" = '"w1"' -a -n "$(hdr Last-Modified)" ]
check "  the backend's Set-Cookie does not" [ -z "$(hdr Set-Cookie)" ]
# what the backend saw of the read through c (the request before the comparison)
st=$(get "$c" "$CTOK" river -H 'Cookie: session=consumer-cookie' -H 'X-Forwarded-For: 10.9.9.9')
last=$(stats | jq -c .last.headers)
check "  the backend got a's API key from a's configuration" [ "$(jq -r '."x-api-key"' <<<"$last")" = k-secret-123 ]
check "  and no Authorization, Cookie, X-Forwarded-For or via-list" [ "$(jq -c '[.authorization, .cookie, ."x-forwarded-for", ."tsunagu-via"]' <<<"$last")" = '[null,null,null,null]' ]
check "  the API key appears in no log and in no catalog answer" [ -z "$(grep -rl k-secret-123 "$TG_TMP"/*/tsunagud.log)" -a -z "$(curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $ATOK" "$hub/api/v1/datasets/urn:tsunagu:a:dataset:river" | grep -l k-secret-123)" ]
left=$(find "$TG_TMP/c" "${TMPDIR:-/tmp}" -maxdepth 3 -type f -newer "$START" -not -path "$TG_TMP/a/*" -not -path "$O" -not -path "$TG_TMP/*.json" 2>/dev/null | xargs -r grep -l "$MARK" 2>/dev/null)
check "  no file on c's side or in the temp directory holds the body's marker ($left)" [ -z "$left" ]

st=$(get "$c" "$CTOK" river -I)
head_ok() { [ "$st" = 200 -a "$(hdr Content-Length)" = "$(curl -sS "$B/water" | wc -c)" ] && ! grep -q "$MARK" "$O"; }
check "HEAD through c: 200 with the length and no body" head_ok

# An https backend that wants a client certificate: a's [backend.secure]
# gives the trust anchor and the certificate.
st=$(get "$c" "$CTOK" secure)
cn=$(stats | jq -r .last.client_cn)
check "an https backend with mutual TLS: verified by ca_file, a's client certificate accepted ($st)" [ "$st" = 200 -a "$(cat "$O")" = "$(curl -sS "$B/water")" ]
check "  the backend saw a's client certificate ($cn)" [ "$cn" = a-city-broker ]

# x is not granted: a refuses before its backend is touched.
n0=$(count)
st=$(get "$x" "$XTOK" river)
check "x is refused by a's policy (403 owner-refused, $st)" [ "$st" = 403 -a "$(ptype)" = urn:tsunagu:problem:owner-refused ]
check "  the refusal names the node and the rule" [ "$(jq -r .node "$O")" = x -a -n "$(jq -r '.rule // empty' "$O")" ]
check "  the backend saw no request" [ "$(count)" = "$n0" ]
# Nor through c, which a grants: c would call a with its own certificate, so
# a's policy would judge c instead of x.
n0=$(count)
st=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/x/node.crt" --key "$TG_TMP/x/node.key" -o "$O" -w '%{http_code}' \
  "$c/api/v1/datasets/urn:tsunagu:a:dataset:river/data")
relay_refused() { [ "$st" = 403 -a "$(count)" = "$n0" ] && ! grep -q "$MARK" "$O"; }
check "x asking c (not the owner) with its certificate: 403, no data, the backend saw nothing ($st)" relay_refused

# A policy change takes effect at once (the owner caches datasets per worker
# until the catalog changes).
for _ in 1 2 3 4; do get "$c" "$CTOK" river >/dev/null; done
jq '.["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": "urn:tsunagu:node:x"}]' "$TG_TMP/river.json" >"$TG_TMP/river-x.json"
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $ATOK" \
  -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/river-x.json" "$hub/api/v1/datasets/urn:tsunagu:a:dataset:river")
s2=""
for _ in 1 2 3 4; do s2="$s2$(get "$c" "$CTOK" river)"; done
check "after a's policy changes to x only, every read by c is refused ($st: $s2)" [ "$st" = 200 -a "$s2" = 403403403403 ]
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $ATOK" \
  -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/river.json" "$hub/api/v1/datasets/urn:tsunagu:a:dataset:river")
s2=""
for _ in 1 2 3 4; do s2="$s2$(get "$c" "$CTOK" river)"; done
check "  and back to c, every read passes ($st: $s2)" [ "$st" = 200 -a "$s2" = 200200200200 ]

# Without data:read on c, nothing leaves c.
st=$(curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' "$c/api/v1/datasets/urn:tsunagu:a:dataset:river/data")
check "an anonymous caller of c gets 401 ($st)" [ "$st" = 401 ]

# Faults, each with its own problem type.
st=$(get "$c" "$CTOK" nosuch)
check "an unknown dataset of a: 404 unknown-dataset from the owner ($st)" [ "$st" = 404 -a "$(ptype)" = urn:tsunagu:problem:unknown-dataset ]
st=$(curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/urn:tsunagu:zz:dataset:r/data")
check "a dataset of a node c does not know: 404 owner-unknown ($st)" [ "$st" = 404 -a "$(ptype)" = urn:tsunagu:problem:owner-unknown ]
st=$(curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/not-an-id/data")
check "a malformed id: 400 bad-dataset-id ($st)" [ "$st" = 400 -a "$(ptype)" = urn:tsunagu:problem:bad-dataset-id ]
st=$(get "$c" "$CTOK" e500)
check "a backend error: 502 backend-failed with the backend's status ($st)" [ "$st" = 502 -a "$(ptype)" = urn:tsunagu:problem:backend-failed -a "$(jq .backend_status "$O")" = 500 ]
t0=$(date +%s%N)
st=$(get "$c" "$CTOK" hang)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a backend that never answers: 504 gateway-timeout after first_byte_timeout ($st in $ms ms)" [ "$st" = 504 -a "$(ptype)" = urn:tsunagu:problem:gateway-timeout -a "$ms" -lt 6000 ]
get "$c" "$CTOK" slow >/dev/null 2>"$TG_TMP/curl.err"
rc=$?
check "a backend that stalls mid-body: the answer is cut, curl fails ($rc)" [ "$rc" != 0 ]
get "$c" "$CTOK" die >/dev/null 2>"$TG_TMP/curl.err"
rc=$?
got=$(stat -c %s "$O" 2>/dev/null || echo 0)
check "a backend that dies halfway: c's answer is aborted, curl fails ($rc, $got bytes)" [ "$rc" != 0 -a "$got" -lt 8000000 ]
get "$hub" "$ATOK" die >/dev/null 2>&1
check "  also on the owner's own answer" [ $? != 0 ]
get "$hub" "$ATOK" die --http1.0 >/dev/null 2>&1
check "  also to an HTTP/1.0 client, whose answer only the close delimits (a reset, not a clean end)" [ $? != 0 ]
st=$(get "$hub" "$ATOK" river --http1.0)
check "  an HTTP/1.0 client gets the backend's Content-Length and the whole body, no trailer ($st)" [ "$st" = 200 -a "$(hdr Content-Length)" = "$(wc -c <"$O")" -a -z "$(hdr Trailer)" ]

# Streams pass on what arrives when it arrives: the first ten bytes reach
# the consumer long before the rest exists (the rest comes 4 s later; 3 s
# leaves room for two TLS handshakes on a loaded machine under sanitizers).
early=$(curl -sS -N --max-time 3 --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" \
  "$c/api/v1/datasets/urn:tsunagu:a:dataset:trickle/data" 2>/dev/null)
check "a trickling source: its first bytes reach the consumer through two nodes at once ($early)" [ "$early" = 0123456789 ]

# A purpose constraint: the purpose comes from the Tsunagu-Purpose header.
jq --arg b "$B/water" '.["dcat:distribution"][0]["tsunagu:backend"]["@id"] = $b | del(.["@id"]) | .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": "urn:tsunagu:node:c"}] | .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:constraint"] = [{"odrl:leftOperand": {"@id": "odrl:purpose"}, "odrl:operator": {"@id": "odrl:eq"}, "odrl:rightOperand": "disaster-prevention"}]' \
  "$top_srcdir/examples/datasets/river.json" >"$TG_TMP/purp.json"
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ATOK" \
  -H 'Content-Type: application/ld+json' -H "Slug: purp" --data-binary @"$TG_TMP/purp.json" "$hub/api/v1/datasets")
n0=$(count)
st=$st$(get "$c" "$CTOK" purp)
purpose_refused() { [ "$st" = 201403 ] && jq -r .rule "$O" | grep -q "purpose is required"; }
check "a purpose-bound dataset without a purpose: 403 naming the purpose rule ($st)" purpose_refused
st=$(get "$c" "$CTOK" purp -H 'Tsunagu-Purpose: marketing')
check "  with another purpose: 403 ($st), and the backend saw neither request" [ "$st" = 403 -a "$(count)" = "$n0" ]
st=$(get "$c" "$CTOK" purp -H 'Tsunagu-Purpose: disaster-prevention')
check "  with the policy's purpose: 200 ($st)" [ "$st" = 200 ]
m=$(curl -sS --cacert "$CA/ca.crt" "$hub/metrics")
check "  a's refusal metric names the rule, not the caller's purpose text ($(grep 'refusals_total.*purp' <<<"$m" | tr '\n' ' '))" \
  [ -n "$(grep '^tsunagu_data_refusals_total{dataset="urn:tsunagu:a:dataset:purp",rule="a permission names node c but the purpose is not allowed"} 1$' <<<"$m")" -a -z "$(grep marketing <<<"$m")" ]

# A peer whose certificate names another node: c is told that x's address is
# a's; x's certificate does not name a, so nothing is sent.
T c peer add a "$x" >/dev/null 2>&1
n0=$(count)
st=$(get "$c" "$CTOK" river)
check "an address that answers with another node's certificate: 502 owner-unreachable ($st)" [ "$st" = 502 -a "$(ptype)" = urn:tsunagu:problem:owner-unreachable -a "$(count)" = "$n0" ]
T c peer add a "$hub" >/dev/null 2>&1
st=$(get "$c" "$CTOK" river)
check "  and with a's address back, 200 again ($st)" [ "$st" = 200 ]

# The via-list guard.
st=$(get "$c" "$CTOK" river -H 'Tsunagu-Via: x, c')
check "a request that already passed c: 508 loop-detected ($st)" [ "$st" = 508 -a "$(ptype)" = urn:tsunagu:problem:loop-detected ]
st=$(get "$c" "$CTOK" river -H 'Tsunagu-Via: x, y, z, w')
check "a request that passed 4 nodes: 508 ($st)" [ "$st" = 508 ]
st=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/x/node.crt" --key "$TG_TMP/x/node.key" -o "$O" -w '%{http_code}' \
  -H 'Tsunagu-Via: x, a' "$hub/api/v1/datasets/urn:tsunagu:a:dataset:river/data")
check "a peer forwarding back to the owner that already passed it: 508 ($st)" [ "$st" = 508 ]
st=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/x/node.crt" --key "$TG_TMP/x/node.key" -o "$O" -w '%{http_code}' \
  -H "$(printf 'Tsunagu-Via: x,\ta')" "$hub/api/v1/datasets/urn:tsunagu:a:dataset:river/data")
check "  also when a tab separates the list's items ($st)" [ "$st" = 508 ]

# A backend's header reaches the consumer only as well-formed header fields.
s=$(mkds rawct '/raw?k=ctype' c)$(mkds rawte '/raw?k=te' c)$(mkds rawlen '/raw?k=hugelen' c)
check "a publishes three datasets with hand-written backend answers ($s)" [ "$s" = 201201201 ]
st=$(get "$hub" "$ATOK" rawlen)
check "a Content-Length past 2^63 is backend-failed, not an answer of unknown length ($st)" [ "$st" = 502 -a "$(ptype)" = urn:tsunagu:problem:backend-failed ]
st=$(get "$hub" "$ATOK" rawct)
no_injected() { [ "$st" = 200 ] && ! grep -q injected "$H"; }
check "a bare CR in the backend's Content-Type smuggles no header to the consumer ($st)" no_injected
# The consumer's query cannot override a parameter of the backend URL (the
# policy was decided for the resource it names), in any spelling.
qget() { curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' -H "Authorization: Bearer $ATOK" "$hub/api/v1/datasets/urn:tsunagu:a:dataset:rawct/data?$1"; }
st=$(qget 'k=te')
check "a query naming a parameter the backend URL sets is 400 naming it ($st)" [ "$st" = 400 -a "$(jq -r .parameter "$O")" = k ]
st=$(qget 'x=1&%6B=te')
check "  also percent-encoded ($st)" [ "$st" = 400 -a "$(jq -r .parameter "$O")" = k ]
st=$(qget 'x=1')
check "  other parameters pass through after the URL's ($st: $(stats | jq -r .last.url))" [ "$st" = 200 -a "$(stats | jq -r .last.url)" = '/raw?k=ctype&x=1' ]
for q in 'K=te' 'k%5B%5D=te' 'x=1;k=te'; do
  st=$(qget "$q")
  check "  also spelled $q, as backends read names ($st)" [ "$st" = 400 -a "$(jq -r .parameter "$O")" = k ]
done
# A fragment in the request target (llhttp takes it; curl never sends one)
# is not the backend's: the answer comes, and the worker is not stuck.
out=$(printf 'GET /api/v1/datasets/urn:tsunagu:a:dataset:rawct/data?a=1#x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$ATOK" |
  "$top_builddir/tests/tools/rawtls" "${hub#https://}" "$CA/ca.crt" -t 5000)
check "  a fragment after the query is answered, not looped on ($(echo $out))" grep -q "^status 200" <<<"$out"
check "  and the node still answers" curl -fsS --max-time 5 --cacert "$CA/ca.crt" "$hub/healthz" -o /dev/null
st=$(get "$hub" "$ATOK" rawte)
te_ok() { [ "$st" = 416 -a "$(cat "$O")" = abcdef ]; }
check "a chunked backend answer with a stray Content-Length reaches the consumer whole ($st: $(cat "$O"))" te_ok

# ?profile= converts on the way: on the owner when it holds the profile, else
# on the consumer's node; the records are what /convert gives.
PROF=$top_srcdir/examples/vocab/a-city-water.profile.json
PID_=a-city-water-to-waterobserved
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $ATOK" \
  --data-binary @"$PROF" "$hub/api/v1/vocab/profiles/$PID_")
conv_a=$(curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $ATOK" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$FEED" "$hub/api/v1/vocab/convert?profile=$PID_" | grep -v ConversionSummary)
st=$st$(get "$c" "$CTOK" feed --get --data-urlencode "profile=$PID_")
check "c reads a's feed as WaterObserved, converted by the owner ($st)" [ "$st" = 201200 -a "$(hdr Tsunagu-Profile)" = "$PID_" -a -n "$conv_a" ]
check "  the records are exactly what /convert gives on the owner" [ "$(cat "$O")" = "$conv_a" ]
jq '.id = "c-water"' "$PROF" >"$TG_TMP/c-prof.json"
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $CTOK" \
  --data-binary @"$TG_TMP/c-prof.json" "$c/api/v1/vocab/profiles/c-water")
conv_c=$(curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$FEED" "$c/api/v1/vocab/convert?profile=c-water" | grep -v ConversionSummary)
st=$st$(get "$c" "$CTOK" feed --get --data-urlencode "profile=c-water")
check "a profile only c holds: a sends the feed as is and c converts it ($st)" [ "$st" = 201200 -a "$(cat "$O")" = "$conv_c" -a "$(hdr Tsunagu-Profile)" = c-water ]
st=$(get "$c" "$CTOK" feed --get --data-urlencode "profile=nobody-has-it")
check "a profile neither holds: 404 unknown-profile from the owner ($st)" [ "$st" = 404 -a "$(ptype)" = urn:tsunagu:problem:unknown-profile ]

# Big answers stream with bounded memory on both nodes.
rss() { awk '/VmRSS/ {print $2}' "/proc/$(tg_node_pid "$1")/status"; }
# peak NODE FILE: samples NODE's RSS every 50 ms into FILE (its highest, in KiB) until killed.
peak() { local m=0 v; while :; do v=$(rss "$1"); [ "${v:-0}" -gt "$m" ] && m=$v && echo "$m" >"$2"; sleep 0.05; done; }
ra=$(rss a); rc0=$(rss c)
peak a "$TG_TMP/peak.a" & pa=$!
peak c "$TG_TMP/peak.c" & pc=$!
bytes=$(curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/urn:tsunagu:a:dataset:big/data" | wc -c)
kill $pa $pc; wait $pa $pc 2>/dev/null
da=$(( ($(cat "$TG_TMP/peak.a") - ra) / 1024 )); dc=$(( ($(cat "$TG_TMP/peak.c") - rc0) / 1024 ))
check "1 GiB through two nodes arrives whole, neither node's peak RSS grows by 16 MiB ($bytes bytes; a $da, c $dc MiB)" [ "$bytes" = 1073741824 -a "$da" -lt 16 -a "$dc" -lt 16 ]
ra=$(rss a); rc0=$(rss c)
peak a "$TG_TMP/peak.a" & pa=$!
peak c "$TG_TMP/peak.c" & pc=$!
bytes=$(curl -sS --limit-rate 8M --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" "$c/api/v1/datasets/urn:tsunagu:a:dataset:big64/data" | wc -c)
kill $pa $pc; wait $pa $pc 2>/dev/null
da2=$(( ($(cat "$TG_TMP/peak.a") - ra) / 1024 )); dc2=$(( ($(cat "$TG_TMP/peak.c") - rc0) / 1024 ))
check "a slow reader (8 MB/s) gets all of it and neither node grows by 16 MiB (a $da2, c $dc2 MiB)" [ "$bytes" = 67108864 -a "$da2" -lt 16 -a "$dc2" -lt 16 ]
m=$(curl -sS --cacert "$CA/ca.crt" "$hub/metrics")
check "a's /metrics counts the refusal by rule, requests per dataset and per peer" \
  grep -q '^tsunagu_data_refusals_total{dataset="urn:tsunagu:a:dataset:river",rule="no permission grants .use. to node x"} 1$' <<<"$m"
mc=$(curl -sS --cacert "$CA/ca.crt" "$c/metrics")
big_a=$(grep '^tsunagu_data_bytes_total{dataset="urn:tsunagu:a:dataset:big64"}' <<<"$m" | cut -d' ' -f2)
check "  and bytes: the 64 MiB dataset's read on a ($big_a) and c's bytes from peer a" \
  [ "$big_a" = 67108864 -a -n "$(grep '^tsunagu_data_peer_bytes_total{peer="a",direction="out"}' <<<"$mc")" -a -n "$(grep '^tsunagu_data_peer_requests_total{peer="c",direction="in"}' <<<"$m")" ]
check "  and the upstream time to first byte" grep -q '^tsunagu_data_upstream_first_byte_seconds_count{upstream="owner"} [1-9]' <<<"$mc"
check "after all that, the nodes still answer" curl -fsS --cacert "$CA/ca.crt" "$c/healthz" -o /dev/null

# Each reload makes a new client for calls to other nodes: the earlier ones
# go once their requests have ended, with their pooled connections (they
# stayed open, one more per reload and worker).
cnode=$(tg_node_pid c)
socks() { find "/proc/$cnode/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
get "$c" "$CTOK" river >/dev/null
get "$c" "$CTOK" river >/dev/null
sleep 0.3
s0=$(socks)
for _ in 1 2 3 4 5 6; do
  kill -HUP "$cnode"
  sleep 0.3
  get "$c" "$CTOK" river >/dev/null
  get "$c" "$CTOK" river >/dev/null
done
sleep 0.3
s1=$(socks)
check "six reloads leave no connections of earlier clients open ($s0 -> $s1 sockets)" [ $((s1 - s0)) -le 2 ]

# [auth] anonymous = catalog:read data:read: an anonymous caller is no node
# to the owner's policies (river is granted to c only), and is not forwarded
# to another node as this one.
for n in a c; do
  sed -i 's/^\[auth\]$/[auth]\nanonymous = catalog:read data:read/' "$TG_TMP/$n/tsunagu.conf"
  kill -HUP "$(tg_node_pid $n)"
done
sleep 1
st=$(curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' "$hub/api/v1/datasets/urn:tsunagu:a:dataset:river/data")
check "anonymous data:read: a refuses an anonymous caller a dataset granted to c only ($st)" [ "$st" = 403 -a "$(ptype)" = urn:tsunagu:problem:owner-refused ]
st=$(get "$hub" "$ATOK" river)
check "  its admin still reads it ($st)" [ "$st" = 200 ]
st=$(curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' "$c/api/v1/datasets/urn:tsunagu:a:dataset:river/data")
check "  c does not forward an anonymous caller to a ($st)" [ "$st" = 401 ]
st=$(get "$c" "$CTOK" river)
check "  c's signed-in user still reads it through c ($st)" [ "$st" = 200 ]

# SIGTERM while a stream passes through c: the stream finishes within the
# drain deadline, then c exits 0 (its clients are freed after the last stream).
curl -sS --limit-rate 16M --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" \
  "$c/api/v1/datasets/urn:tsunagu:a:dataset:big64/data" -o "$TG_TMP/drain.out" 2>/dev/null &
cpid=$!
sleep 1
kill -TERM "$(tg_node_pid c)"
wait $cpid
crc=$?
tg_wait_exit "$(tg_node_pid c)" 20
check "SIGTERM mid-stream: the stream completes ($crc, $(stat -c %s "$TG_TMP/drain.out") bytes) and c exits 0 ($TG_EXIT_STATUS)" \
  [ "$crc" = 0 -a "$(stat -c %s "$TG_TMP/drain.out")" = 67108864 -a "$TG_EXIT_STATUS" = 0 ]
done_testing
