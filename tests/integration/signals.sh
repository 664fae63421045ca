#!/bin/bash
# SIGHUP reloads the configuration without dropping connections (a broken
# configuration is refused and the running one kept); SIGTERM stops
# accepting, lets in-flight responses finish, and exits 0.
. "$top_srcdir/tests/lib.sh"
plan 10
tg_node_new sig "[debug]
test_routes = on" && tg_node_start sig || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url sig)
pid=$(tg_node_pid sig)
conf=$TG_TMP/sig/tsunagu.conf

# A download in flight across a reload: 8 MB at 4 MB/s.
tg_curl sig --limit-rate 4M -o "$TG_TMP/dl1" "$url/api/v1/debug/stream?bytes=8000000" &
cpid=$!
sleep 0.5
sed -i 's/^name = .*/name = Renamed City/' "$conf"
kill -HUP "$pid"
sleep 0.3
check "SIGHUP applies the new configuration" [ "$(tg_curl sig "$url/.well-known/tsunagu" | jq -r .name)" = "Renamed City" ]
wait $cpid; rc=$?
check "a download in flight across the reload completes (curl $rc, $(stat -c %s "$TG_TMP/dl1") bytes)" [ $rc = 0 -a "$(stat -c %s "$TG_TMP/dl1")" = 8000000 ]
cp "$conf" "$conf.good"
printf '[limits]\nheader_bytes = lots\n' >>"$conf"
kill -HUP "$pid"; sleep 0.3
check "a broken configuration is refused with a log line" grep -q "reload failed.*header_bytes" "$TG_TMP/sig/tsunagud.log"
check "and the node keeps serving" [ "$(tg_curl sig "$url/healthz" | jq -r .status)" = ok ]
cp "$conf.good" "$conf"

# SIGHUP also swaps the certificate: a new key and certificate are served at once.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=sig \
  -addext "subjectAltName=URI:urn:tsunagu:node:sig,DNS:localhost,IP:127.0.0.1" \
  -keyout "$TG_TMP/new.key" -out "$TG_TMP/new.crt" 2>/dev/null
cp "$TG_TMP/sig/node.crt" "$TG_TMP/old.crt"
cp "$TG_TMP/new.key" "$TG_TMP/sig/node.key"; cp "$TG_TMP/new.crt" "$TG_TMP/sig/node.crt"
kill -HUP "$pid"; sleep 0.3
fp=$(openssl x509 -in "$TG_TMP/new.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
check "after SIGHUP the new certificate is served" [ "$(curl -sS --cacert "$TG_TMP/new.crt" "$url/.well-known/tsunagu" | jq -r .certificate.sha256)" = "$fp" ]
check "and the old one is no longer presented" [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TG_TMP/old.crt" "$url/healthz")" = 000 ]

# SIGTERM while a response is in flight.
curl -sS --cacert "$TG_TMP/new.crt" --limit-rate 4M -o "$TG_TMP/dl2" "$url/api/v1/debug/stream?bytes=6000000" &
cpid=$!
sleep 0.5
kill -TERM "$pid"
sleep 0.2
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TG_TMP/new.crt" -m 2 "$url/healthz")
check "after SIGTERM new connections are refused (got '$code')" [ "$code" = 000 ]
wait $cpid; rc=$?
check "the in-flight response finishes (curl $rc, $(stat -c %s "$TG_TMP/dl2") bytes)" [ $rc = 0 -a "$(stat -c %s "$TG_TMP/dl2")" = 6000000 ]
tg_wait_exit "$pid" 10
check "tsunagud exits 0 after draining (status $TG_EXIT_STATUS)" [ "$TG_EXIT_STATUS" = 0 ]
check "no sanitizer reports" bash -c "! grep -q 'AddressSanitizer\|runtime error\|LeakSanitizer' '$TG_TMP/sig/tsunagud.log'"
done_testing
