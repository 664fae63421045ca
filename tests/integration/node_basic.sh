#!/bin/bash
# tsunagu init and tsunagud: the state directory, what the node serves over
# HTTPS (/.well-known/tsunagu, /healthz, /metrics), TLS settings, keep-alive,
# pipelining, chunked bodies and problem+json errors.
. "$top_srcdir/tests/lib.sh"
RAW="$top_builddir/tests/tools/rawtls"
plan 44

dir=$TG_TMP/a-city
"$TSUNAGU" init --dir "$dir" --id a-city --name "A City" --listen 127.0.0.1:0 >/dev/null
check "init creates node.key 0600" [ "$(stat -c %a "$dir/node.key")" = 600 ]
check "init creates admin.token 0600" [ "$(stat -c %a "$dir/admin.token")" = 600 ]
check "init creates the config, certificate and database" test -s "$dir/tsunagu.conf" -a -s "$dir/node.crt" -a -s "$dir/tsunagu.db"
check "the key is ECDSA P-256" grep -q "prime256v1\|P-256" <<<"$(openssl pkey -in "$dir/node.key" -noout -text 2>&1)"
check "the certificate names the node in a SAN URI" grep -q "URI:urn:tsunagu:node:a-city" <<<"$(openssl x509 -in "$dir/node.crt" -noout -ext subjectAltName)"
check "the database has the node schema at version 2 (peers.serial)" [ "$(tg_sql "$dir/tsunagu.db" "SELECT version FROM tg_schema WHERE component='node'")" = 2 ]
check "the database is in WAL mode" [ "$(tg_sql "$dir/tsunagu.db" "PRAGMA journal_mode")" = wal ]
before=$(sha256sum "$dir/node.key")
out=$("$TSUNAGU" init --dir "$dir" --id a-city 2>&1); rc=$?
check "init refuses to overwrite a node (exit $rc)" [ $rc -ne 0 ]
check "the refusal is one clear line" [ "$(echo "$out" | wc -l)" = 1 -a -n "$(grep -i 'refusing' <<<"$out")" ]
check "the key is untouched" [ "$before" = "$(sha256sum "$dir/node.key")" ]
out=$("$TSUNAGU" init --dir "$TG_TMP/bad" --id "Bad_ID" 2>&1); rc=$?
check "a bad node id is refused" [ $rc -ne 0 -a -n "$(grep 'invalid node id' <<<"$out")" ]

# init on a full disk: a file size limit (ulimit -f) makes the database
# write fail with EFBIG half-way, as ENOSPC would. Nothing may be left that
# stops the next init, and the daemon must not find half a node.
full=$TG_TMP/full
out=$( (trap '' XFSZ; ulimit -f 64; "$TSUNAGU" init --dir "$full" --id full --listen 127.0.0.1:0) 2>&1); rc=$?
check "init fails when the disk fills up mid-way (exit $rc)" [ $rc = 1 -a ! -e "$full" ]
check "  and leaves no half-built directory behind" [ -z "$(ls -A "$TG_TMP" | grep '^\.full\.init-')" ]
check "  then init succeeds" "$TSUNAGU" init --dir "$full" --id full --listen 127.0.0.1:0
( ulimit -f 64; exec "$TSUNAGU" init --dir "$TG_TMP/killed" --id killed ) >/dev/null 2>&1
check "init killed mid-way (SIGXFSZ) leaves no node directory, and init again succeeds" [ ! -e "$TG_TMP/killed" ] && "$TSUNAGU" init --dir "$TG_TMP/killed" --id killed >/dev/null
mkdir "$TG_TMP/empty"
out=$( (trap '' XFSZ; ulimit -f 64; "$TSUNAGU" init --dir "$TG_TMP/empty" --id empty) 2>&1); rc=$?
check "in an existing directory a failed init leaves it empty (exit $rc)" [ $rc = 1 -a -z "$(ls -A "$TG_TMP/empty")" ]
mkdir -m 0777 "$TG_TMP/open"; chmod 0777 "$TG_TMP/open"
out=$("$TSUNAGU" init --dir "$TG_TMP/open" --id open --listen 127.0.0.1:0 2>&1); rc=$?
check "an existing 0777 directory is made 0700, and init says so (exit $rc)" [ $rc = 0 -a "$(stat -c %a "$TG_TMP/open")" = 700 -a -n "$(grep 'was mode 777; made it 700' <<<"$out")" -a -s "$TG_TMP/open/tsunagu.conf" ]
mkdir -m 0700 "$TG_TMP/half"; cp "$dir/node.key" "$TG_TMP/half/"
out=$("$TSUNAGU" init --dir "$TG_TMP/half" --id half 2>&1); rc=$?
check "a directory with a key but no tsunagu.conf is refused with the reason" [ $rc = 1 -a -n "$(grep 'unfinished node' <<<"$out")" ]
chmod 0777 "$TG_TMP/open"
tg_node_start open || diag "node open did not start"
check "tsunagud warns at start about a world-writable state directory" grep -q "state directory .*/open is world-writable (mode 777)" "$TG_TMP/open/tsunagud.log"
kill -TERM "$(tg_node_pid open)"

printf '[debug]\ntest_routes = on\n' >>"$dir/tsunagu.conf"
tg_node_start a-city || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a-city)
# A second daemon on the same state directory must not start (SO_REUSEPORT
# would let it share the port and split the traffic).
out=$(timeout 10 "$TSUNAGUD" -D "$dir" 2>&1); rc=$?
check "a second tsunagud on the same directory exits 1 (rc $rc)" [ $rc = 1 ]
check "it names the daemon already serving" grep -q "another tsunagud (pid $(tg_node_pid a-city)) is serving" <<<"$out"
check "the first one still serves" tg_curl a-city -fs -o /dev/null "$url/healthz"
wk=$(tg_curl a-city "$url/.well-known/tsunagu")
check "well-known names the node" [ "$(jq -r .node_id <<<"$wk")" = a-city ]
fp=$(openssl x509 -in "$dir/node.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
check "well-known gives the certificate's SHA-256 fingerprint" [ "$(jq -r .certificate.sha256 <<<"$wk")" = "$fp" ]
check "well-known lists endpoints and version" [ "$(jq -r '.endpoints.health + " " + .version' <<<"$wk")" = "/healthz 0.1.0" ]
check "healthz says ok" [ "$(tg_curl a-city "$url/healthz" | jq -r .status)" = ok ]
m=$(tg_curl a-city "$url/metrics")
check "metrics count requests by route and status" grep -q 'tsunagu_http_requests_total{route="healthz",status="200"} [1-9]' <<<"$m"
check "metrics have a latency histogram and open connections" grep -q 'tsunagu_http_request_duration_seconds_bucket{le="+Inf"}' <<<"$m"
check "metrics count bytes" grep -q '^tsunagu_bytes_sent_total [1-9]' <<<"$m"

v=$(tg_curl a-city -v "$url/healthz" 2>&1 >/dev/null)
check "TLS 1.3 is negotiated" grep -q "TLSv1.3" <<<"$v"
check "ALPN selects http/1.1" grep -qi "ALPN.*accepted.*http/1.1" <<<"$v"
check "TLS 1.1 is refused" [ -z "$(echo | openssl s_client -connect "$(tg_node_addr a-city)" -tls1_1 2>/dev/null | grep 'Cipher is ECDHE')" ]
v=$(tg_curl a-city -v "$url/healthz" "$url/healthz" 2>&1 >/dev/null)
check "keep-alive: the second request reuses the connection" grep -qi "Re-using existing connection" <<<"$v"

out=$(printf 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET /.well-known/tsunagu HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' | "$RAW" "$(tg_node_addr a-city)" "$dir/node.crt" -t 2000)
check "pipelined requests are answered in order" [ "$(echo $out)" = "status 200 status 404 status 200 closed" ]

# More pipelined bytes than the node parses ahead (64 KiB): it must come back
# for the rest by itself, with no new bytes arriving on the socket.
for i in $(seq 1 2000); do printf 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n'; done >"$TG_TMP/burst"
n=$("$RAW" "$(tg_node_addr a-city)" "$dir/node.crt" -t 5000 <"$TG_TMP/burst" | grep -c '^status 200')
check "2,000 pipelined requests in one burst are all answered ($n)" [ "$n" = 2000 ]
# The same with output_buffer under the 64 KiB at which parsing resumes: the
# kernel takes each batch of answers at once (no write left to complete), and
# parsing must still go on.
tg_node_new small '[limits]
output_buffer = 16k' && tg_node_start small || diag "node small did not start"
n=$("$RAW" "$(tg_node_addr small)" "$TG_TMP/small/node.crt" -t 5000 <"$TG_TMP/burst" | grep -c '^status 200')
check "with output_buffer = 16k, 2,000 pipelined requests are all answered ($n)" [ "$n" = 2000 ]

head -c 300000 /dev/urandom >"$TG_TMP/blob"
want=$(sha256sum <"$TG_TMP/blob" | cut -d' ' -f1)
# Repeated: a body that arrives in one burst once stalled on decrypted-ahead data.
good=0
for i in $(seq 1 15); do
  got=$(tg_curl a-city -m 5 -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary @"$TG_TMP/blob" "$url/api/v1/debug/sink" | jq -r .sha256)
  [ "$got" = "$want" ] && good=$((good + 1))
done
check "a 300 kB chunked request body arrives intact, 15 times out of 15 ($good)" [ "$good" = 15 ]
p=$(tg_curl a-city -i "$url/nope")
check "unknown paths get 404 problem+json" grep -q 'application/problem+json' <<<"$p"
check "the problem has type, title, status" [ "$(tail -1 <<<"$p" | jq -r '.type + " " + (.status|tostring)')" = "urn:tsunagu:problem:not-found 404" ]
check "a wrong method gets 405" [ "$(tg_curl a-city -o /dev/null -w '%{http_code}' -X DELETE "$url/healthz")" = 405 ]

# [tls] session_tickets: one TLS 1.3 ticket by default, none when off.
ticket() { # -> the ticket lifetime hint the client was given, or "none"
  rm -f "$TG_TMP/sess"
  printf 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
    openssl s_client -connect "$(tg_node_addr a-city)" -tls1_3 -CAfile "$dir/node.crt" -sess_out "$TG_TMP/sess" -quiet -ign_eof >/dev/null 2>&1
  [ -s "$TG_TMP/sess" ] || { echo none; return; }
  openssl sess_id -in "$TG_TMP/sess" -noout -text | awk '/ticket lifetime hint/{print $(NF-1); f=1} END{if (!f) print "none"}'
}
check "a TLS 1.3 client gets a session ticket by default" [ "$(ticket)" = 7200 ]
printf '[tls]\nsession_tickets = maybe\n' >>"$dir/tsunagu.conf"
kill -HUP "$(tg_node_pid a-city)"; sleep 0.5
check "[tls] session_tickets = maybe is refused on SIGHUP" grep -q "session_tickets = maybe: expected on or off" "$dir/tsunagud.log"
sed -i 's/^session_tickets = maybe$/session_tickets = off/' "$dir/tsunagu.conf"
kill -HUP "$(tg_node_pid a-city)"
for i in $(seq 1 40); do [ "$(ticket)" = none ] && break; sleep 0.1; done
check "with session_tickets = off it gets none" [ "$(ticket)" = none ]
check "  and the node still answers" tg_curl a-city -fs -o /dev/null "$url/healthz"
done_testing
