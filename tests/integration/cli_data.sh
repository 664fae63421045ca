#!/bin/bash
# tsunagu get and put: a dataset's data read through the consumer's node
# from its owner (real nodes over mutual TLS, a real HTTP backend), to stdout
# or a file that appears only when whole; refusals and cut answers as one
# line and a non-zero exit; put into an accumulated dataset: what was stored,
# each refused record by pointer, exit 0/1/2, errors as one line.
. "$top_srcdir/tests/lib.sh"
plan 36
# Memory is measured below: keep ASan's quarantine of freed chunks small.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"

MARK="CLI-DATA-MARKER-$$-$RANDOM"
node "$top_srcdir/tests/tools/data-backend.mjs" "$MARK" >"$TG_TMP/backend.port" 2>"$TG_TMP/backend.log" &
TG_PIDS="$TG_PIDS $!"
for _ in $(seq 1 50); do [ -s "$TG_TMP/backend.port" ] && break; sleep 0.1; done
B=http://127.0.0.1:$(cat "$TG_TMP/backend.port")

# The federation of broker.sh: CA node a owns the datasets, c is granted, x is not.
tg_fed_hub a "CLI Data Federation" "$(printf '[backend.local]\norigin = %s\nfirst_byte_timeout = 2s\nidle_timeout = 2s\n' "$B")" || { echo "Bail out! a did not start"; exit 1; }
hub=$HUB
for n in c x; do
  tg_fed_join "$n" || { echo "Bail out! $n did not join"; exit 1; }
  "$TSUNAGU" --dir "$TG_TMP/$n" peer sync --hub "$hub" >/dev/null 2>&1
done
ATOK=$(cat "$TG_TMP/a/admin.token")
mkds() { # NAME BACKEND-PATH
  jq --arg b "$B$2" '.["dcat:distribution"][0]["tsunagu:backend"]["@id"] = $b | .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": "urn:tsunagu:node:c"}] | del(.["@id"])' \
    "$top_srcdir/examples/datasets/river.json" >"$TG_TMP/$1.json"
  curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ATOK" \
    -H 'Content-Type: application/ld+json' -H "Slug: $1" --data-binary @"$TG_TMP/$1.json" "$hub/api/v1/datasets"
}
s="$(mkds river /water)$(mkds die '/die?bytes=4000000')$(mkds big '/big?bytes=33554432')"
check "a publishes three distributed datasets ($s)" [ "$s" = 201201201 ]

G() { "$TSUNAGU" --dir "$TG_TMP/$1" get "${@:2}"; }
one_line() { [ "$(wc -l <"$1")" = 1 ]; }
E=$TG_TMP/err
F=$TG_TMP/river.ndjson

# Reading.
G c urn:tsunagu:a:dataset:river >"$TG_TMP/out" 2>"$E"; rc=$?
check "get through c prints the backend's body, exit 0 ($rc)" [ $rc = 0 ] && cmp -s "$TG_TMP/out" <(curl -sS "$B/water")
check "  and says nothing on stderr" [ ! -s "$E" ]
G c urn:tsunagu:a:dataset:river -o "$F" 2>"$E"; rc=$?
check "get -o FILE writes the body to FILE ($rc)" [ $rc = 0 ] && cmp -s "$F" "$TG_TMP/out"
check "  and leaves no FILE.part" [ ! -e "$F.part" ]
# The query as sent, seen by the backend itself standing in for a node (--url).
"$TSUNAGU" --url "$B" get 'urn:tsunagu:a:dataset:r/1' --since '2026-04-01T00:00:00+09:00' --latest \
  --profile 'p 1' >/dev/null 2>"$E"; rc=$?
url=$(curl -sS "$B/_stats" | jq -r .last.url)
check "the id and --since, --until, --latest, --profile go out percent-encoded ($url)" \
  [ "$url" = '/api/v1/datasets/urn%3Atsunagu%3Aa%3Adataset%3Ar%2F1/data?since=2026-04-01T00%3A00%3A00%2B09%3A00&latest=true&profile=p%201' ]
check "  a 404 without a problem document: exit 1, one line ($rc: $(cat "$E"))" [ $rc = 1 ] && one_line "$E"
bytes=$(G c urn:tsunagu:a:dataset:big 2>"$E" | wc -c)
check "32 MiB through two nodes arrive whole on stdout ($bytes bytes)" [ "$bytes" = 33554432 ]
rss() { # DATASET: the CLI's max RSS in KiB reading it to -o /dev/null; exit status in $TG_TMP/rc
  /usr/bin/time -f %M -o "$TG_TMP/rss" "$TSUNAGU" --dir "$TG_TMP/c" get "urn:tsunagu:a:dataset:$1" -o /dev/null 2>"$E"
  echo $? >"$TG_TMP/rc"
  tail -1 "$TG_TMP/rss"
}
k0=$(rss river)
kb=$(rss big)
rc=$(cat "$TG_TMP/rc")
check "  to -o /dev/null (written as is, $rc), in bounded memory (max RSS $k0 -> $kb KiB)" \
  [ "$rc" = 0 -a ! -e /dev/null.part -a $((kb - k0)) -lt 16384 ]
# Refusals and faults.
G x urn:tsunagu:a:dataset:river -o "$TG_TMP/x.out" >/dev/null 2>"$E"; rc=$?
check "x is refused by a's policy: exit 4 (refused), one line (rc $rc: $(cat "$E"))" [ $rc = 4 ] && one_line "$E"
check "  the line is 'get: 403 owner-refused: DETAIL'" grep -q '^tsunagu: get: 403 owner-refused: ..*' "$E"
check "  and no file is left" [ ! -e "$TG_TMP/x.out" -a ! -e "$TG_TMP/x.out.part" ]
G c urn:tsunagu:a:dataset:nosuch >"$TG_TMP/out" 2>"$E"; rc=$?
check "an unknown dataset: non-zero, 404 unknown-dataset ($rc: $(cat "$E"))" [ $rc != 0 ] && grep -q '^tsunagu: get: 404 unknown-dataset: ' "$E"
check "  nothing on stdout" [ ! -s "$TG_TMP/out" ]
G c urn:tsunagu:a:dataset:die -o "$TG_TMP/die.out" 2>"$E"; rc=$?
check "a source that dies halfway: non-zero, 'cut short after N bytes' ($rc: $(cat "$E"))" \
  [ $rc != 0 ] && one_line "$E" && grep -q '^tsunagu: get: the answer was cut short after [0-9]* bytes (' "$E"
check "  and leaves neither FILE nor FILE.part" [ ! -e "$TG_TMP/die.out" -a ! -e "$TG_TMP/die.out.part" ]
echo keep >"$TG_TMP/keep.out"
G c urn:tsunagu:a:dataset:die -o "$TG_TMP/keep.out" 2>/dev/null
check "  an existing FILE is left as it was" [ "$(cat "$TG_TMP/keep.out")" = keep ]
G c urn:tsunagu:a:dataset:die 2>"$E" | wc -c >"$TG_TMP/n"; rc=${PIPESTATUS[0]}
check "  also to stdout ($rc after $(cat "$TG_TMP/n") bytes)" [ $rc != 0 ] && grep -q "cut short after $(cat "$TG_TMP/n") bytes" "$E"
out=$("$TSUNAGU" --dir "$TG_TMP/c" get 2>&1); rc=$?
check "get without an id is a usage error (exit 2, one line)" [ $rc = 2 -a "$(wc -l <<<"$out")" = 1 ]
out=$("$TSUNAGU" --dir "$TG_TMP/none" get urn:tsunagu:a:dataset:river 2>&1); rc=$?
check "get from a node directory that does not exist: one line, exit 3" [ $rc = 3 -a "$(wc -l <<<"$out")" = 1 ]

# put: arguments and errors.
P() { "$TSUNAGU" --dir "$TG_TMP/a" put "$@"; }
out=$(P urn:tsunagu:a:dataset:river "$TG_TMP/missing.ndjson" 2>&1); rc=$?
check "put of a missing file: one line naming it, exit 1 ($out)" [ $rc = 1 -a "$(wc -l <<<"$out")" = 1 ] && grep -q "missing.ndjson" <<<"$out"
out=$(P urn:tsunagu:a:dataset:river 2>&1); rc=$?
check "put without a file is a usage error (exit 2, one line)" [ $rc = 2 -a "$(wc -l <<<"$out")" = 1 ]
out=$(printf ' \n\n' | P urn:tsunagu:a:dataset:river - 2>&1); rc=$?
check "put of empty input: 'holds no records', exit 1 ($out)" [ $rc = 1 ] && grep -q "standard input holds no records" <<<"$out"
echo '{"id":"r1","dateObserved":"2026-05-01T00:00:00Z"}' >"$TG_TMP/one.ndjson"
out=$(P urn:tsunagu:a:dataset:river "$TG_TMP/one.ndjson" 2>&1); rc=$?
check "put to a pass-through dataset is refused: exit 1 with the node's status ($rc: $out)" [ $rc = 1 ] && grep -q '^tsunagu: put: [0-9][0-9][0-9] ' <<<"$out"

# put into an accumulated dataset of a (C-village's shelters, as a's own).
jq 'del(.["@id"])' "$top_srcdir/examples/datasets/c-village/shelters.json" >"$TG_TMP/shelters.json"
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ATOK" \
  -H 'Content-Type: application/ld+json' -H 'Slug: shelters' --data-binary @"$TG_TMP/shelters.json" "$hub/api/v1/datasets")
SH=urn:tsunagu:a:dataset:shelters
rec() { printf '{"id":"urn:ngsi-ld:Shelter:%s","dateObserved":"2026-05-01T%s:00Z","open":true}' "$1" "$2"; }
check "a publishes an accumulated dataset ($st)" [ "$st" = 201 ]
for i in $(seq 1 20000); do rec "b$((i % 100))" "04:$(printf %02d $((i % 60)))"; echo; done >"$TG_TMP/big.ndjson"
{ rec s1 00:00; echo; rec s2 00:00; echo; echo; rec s3 00:00; echo; } >"$TG_TMP/three.ndjson"
out=$(P $SH "$TG_TMP/three.ndjson" 2>&1); rc=$?
check "put of an NDJSON file: exit 0, 'stored 3 records (seq A..B)' ($rc: $out)" \
  [ $rc = 0 ] && grep -qx 'stored 3 records (seq [0-9]*\.\.[0-9]*)' <<<"$out"
out=$(printf '\n  [%s,\n%s]\n' "$(rec s1 01:00)" "$(rec s2 01:00)" | P $SH - 2>&1); rc=$?
check "put of a JSON array on stdin (after white space): sent as JSON, stored 2 ($rc: $out)" \
  [ $rc = 0 ] && grep -q '^stored 2 records' <<<"$out"
out=$(printf '%s\n{"id":"x","dateObserved":"yesterday"}\nnot json\n' "$(rec s4 02:00)" | P $SH - 2>&1); rc=$?
check "some records refused: exit 1 ($rc)" [ $rc = 1 ]
check "  'stored 1 record' and each refused one by pointer (${out//$'\n'/ | })" \
  [ "$(head -1 <<<"$out")" = "$(grep '^stored 1 record (seq' <<<"$out")" ] && grep -q '^refused /1/dateObserved: .' <<<"$out" && grep -q '^refused /2: .' <<<"$out"
for i in $(seq 1 150); do echo '{"id":"bad"}'; done | P $SH - >"$TG_TMP/many" 2>&1; rc=$?
check "150 refused: the omitted ones are counted ($rc: $(tail -1 "$TG_TMP/many"))" \
  [ $rc = 1 ] && grep -q '^… and 50 more refused records not listed (150 refused in all)$' "$TG_TMP/many"
out=$(printf '[%s, {"id": ' "$(rec s5 03:00)" | P $SH - 2>&1); rc=$?
check "a broken JSON array: exit 1, 'put: 400 bad-json: …' ($rc: $out)" [ $rc = 1 ] && grep -q '^tsunagu: put: 400 bad-json: ' <<<"$out"
out=$(P urn:tsunagu:a:dataset:river "$TG_TMP/three.ndjson" 2>&1); rc=$?
check "put to a distributed dataset: exit 1, not-accumulated ($rc: $out)" [ $rc = 1 ] && grep -q '^tsunagu: put: 409 not-accumulated: ' <<<"$out"
out=$(P urn:tsunagu:a:dataset:nosuch "$TG_TMP/big.ndjson" 2>&1); rc=$?
check "put of 20000 records to an unknown dataset: the early 404 arrives, exit 1 ($rc: $out)" \
  [ $rc = 1 ] && grep -q '^tsunagu: put: 404 unknown-dataset: ' <<<"$out"
out=$("$TSUNAGU" --dir "$TG_TMP/a" --json put $SH "$TG_TMP/three.ndjson" 2>&1); rc=$?
check "put --json prints the node's answer ($rc)" [ $rc = 0 ] && [ "$(jq -c '[.stored,.refused]' <<<"$out")" = '[3,0]' ]
out=$(/usr/bin/time -f %M -o "$TG_TMP/rss" "$TSUNAGU" --dir "$TG_TMP/a" put $SH - <"$TG_TMP/big.ndjson" 2>&1); rc=$?
check "20000 records streamed from stdin are stored, in bounded memory ($rc: $out; max RSS $(tail -1 "$TG_TMP/rss") KiB)" \
  [ $rc = 0 -a "$(tail -1 "$TG_TMP/rss")" -lt 65536 ] && grep -q '^stored 20000 records' <<<"$out"
n=$(G a $SH --latest 2>"$E" | jq -r .id | sort -u | grep -c 'Shelter:s[1-4]$')
check "get reads back what put stored (the latest of s1..s4: $n, $(cat "$E"))" [ "$n" = 4 ]
done_testing
