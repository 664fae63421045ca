#!/bin/bash
# Accumulated mode on a real node: ingest as a JSON object, an array, NDJSON
# and a chunked stream; every acknowledged record survives kill -9; since /
# until / latest / limit + after paging return exactly the right records;
# model violations are reported by pointer and not stored; a body that is
# not JSON stores nothing; foreign and non-accumulated datasets and callers
# without data:write are refused; [retention] trims a dataset.
. "$top_srcdir/tests/lib.sh"
CASES="$top_srcdir/tests/cases/catalog/http"
plan 33

tg_node_new a-city "[auth]
anonymous = catalog:read catalog:write
[retention]
interval = 1s
keep3 = 3" || { echo "Bail out! init failed"; exit 1; }
tg_node_start a-city || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a-city)
TOK=$(cat "$TG_TMP/a-city/admin.token")
O=$TG_TMP/out
H=$TG_TMP/headers
auth=(-H "Authorization: Bearer $TOK")
json=(-H 'Content-Type: application/json')
ndj=(-H 'Content-Type: application/x-ndjson')
req() { local m=$1 p=$2; shift 2; rm -f "$O"; tg_curl a-city -o "$O" -D "$H" -w '%{http_code}' -X "$m" "$@" "$url$p"; }
hdr() { grep -i "^$1:" "$H" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
enc() { jq -rn --arg s "$1" '$s|@uri'; }
data() { echo "/api/v1/datasets/$(enc "urn:tsunagu:a-city:dataset:$1")/data"; }
mkds() { # mkds SLUG JQ-FILTER: creates a dataset from rain.json (accumulated)
  jq "$2" "$CASES/rain.json" >"$TG_TMP/ds.json"
  req POST /api/v1/datasets "${auth[@]}" -H 'Content-Type: application/ld+json' -H "Slug: $1" \
    --data-binary @"$TG_TMP/ds.json"
}
WATER='{"@id":"https://smart-data-models.github.io/dataModel.Environment/WaterObserved/schema.json"}'
check "datasets created (plain, WaterObserved, distributed, keep3)" \
  [ "$(mkds obs .)$(mkds water ". + {\"dct:conformsTo\": $WATER}")$(mkds river '.["dcat:distribution"][0] += {"tsunagu:mode":"distributed","tsunagu:backend":{"@id":"http://10.0.0.5/x"}}')$(mkds keep3 .)" = 201201201201 ]

rec() { printf '{"id":"%s","dateObserved":"2026-05-01T%s:00Z","v":%s}' "$1" "$2" "$3"; }
# --- ingest in every shape ---
s=$(req POST "$(data obs)" "${auth[@]}" "${json[@]}" --data-binary "$(rec s1 00:00 1)")
check "an object is stored (201, stored 1, seqs)" [ "$s" = 201 -a "$(jq -c '[.stored,.refused,.first_seq==.last_seq]' "$O")" = '[1,0,true]' ]
s=$(req POST "$(data obs)" "${auth[@]}" "${json[@]}" --data-binary "[$(rec s2 00:00 2), $(rec s1 01:00 3)
, $(rec s2 01:00 4)]")
check "an array is stored (3)" [ "$s" = 201 -a "$(jq .stored "$O")" = 3 ]
printf '%s\n\n%s\r\n%s' "$(rec s3 00:30 5)" "$(rec s3 01:30 6)" "$(rec s1 02:00 7)" >"$TG_TMP/b.ndjson"
s=$(req POST "$(data obs)" "${auth[@]}" "${ndj[@]}" --data-binary @"$TG_TMP/b.ndjson")
check "NDJSON is stored; blank lines and CRLF are fine (3)" [ "$s" = 201 -a "$(jq .stored "$O")" = 3 ]
for i in $(seq 0 1999); do rec "c$((i % 50))" "0$((3 + i % 5)):$(printf %02d $((i % 60)))" "$i"; echo; done >"$TG_TMP/big.ndjson"
s=$(req POST "$(data obs)" "${auth[@]}" "${ndj[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TG_TMP/big.ndjson")
last=$(jq .last_seq "$O")
check "a chunked NDJSON body of 2000 records is stored ($s)" [ "$s" = 201 -a "$(jq .stored "$O")" = 2000 ]

awk 'BEGIN { for (i = 0; i < 120000; i++) printf "{\"id\":\"m%d\",\"observedAt\":\"2026-04-01T00:00:00Z\"}\n", i % 7 }' >"$TG_TMP/many.ndjson"
s=$(req POST "$(data keep3)" "${auth[@]}" "${ndj[@]}" --data-binary @"$TG_TMP/many.ndjson")
check "120000 records (two writer chunks, reading paused between) all stored with contiguous seqs" \
  [ "$s" = 201 -a "$(jq '[.stored, .last_seq - .first_seq + 1]' -c "$O")" = '[120000,120000]' ]

# --- refusals ---
s=$(req POST "$(data obs)" "${auth[@]}" "${ndj[@]}" --data-binary "$(rec ok1 05:00 1)
{\"dateObserved\":\"2026-05-01T00:00:00Z\"}
{\"id\":\"x\",\"dateObserved\":\"yesterday\"}
not json
{\"id\":\"y\"}")
check "NDJSON: bad records refused by pointer, the good one stored" \
  [ "$s" = 201 -a "$(jq -c '[.stored,.refused,[.errors[].pointer]]' "$O")" = '[1,4,["/1/id","/2/dateObserved","/3","/4/dateObserved"]]' ]
s=$(req POST "$(data water)" "${auth[@]}" "${json[@]}" --data-binary '[{"id":"w1","type":"WaterObserved","location":{"type":"Point","coordinates":[135,35]},"dateObserved":"2026-05-01T00:00:00Z","waterLevel":1.2},
 {"id":"w2","type":"WaterObserved","dateObserved":"2026-05-01T00:00:00Z","waterLevel":"high"}]')
check "WaterObserved: a violation is reported by pointer (/1/location, /1/waterLevel)" \
  [ "$s" = 201 -a "$(jq -c '[.stored,.refused,[.errors[].pointer]]' "$O")" = '[1,1,["/1/location","/1/waterLevel"]]' ]
req GET "$(data water)" "${auth[@]}" >/dev/null
check "... and the refused record is not stored" [ "$(jq -sc '[.[].id]' "$O")" = '["w1"]' ]
s=$(req POST "$(data obs)" "${auth[@]}" "${json[@]}" --data-binary "[$(rec bad1 09:00 1), $(rec bad2 09:00 2), {\"id\": }]")
check "a body that is not JSON: 400 bad-json" [ "$s" = 400 -a "$(jq -r .type "$O")" = urn:tsunagu:problem:bad-json -a "$(jq .stored "$O")" = 0 ]
s=$(req POST "$(data obs)" "${auth[@]}" "${json[@]}" --data-binary "[$(rec bad3 09:00 1)")
check "an array cut short: 400" [ "$s" = 400 ]
req GET "$(data obs)?since=2026-05-01T09:00:00Z" "${auth[@]}" >/dev/null
check "... and nothing of either body was stored" [ ! -s "$O" ]
s=$(req POST "$(data obs)" "${auth[@]}" -H 'Content-Type: text/csv' --data-binary 'a,b')
check "an unsupported media type: 415" [ "$s" = 415 ]
s=$(req POST "$(data river)" "${auth[@]}" "${json[@]}" --data-binary "$(rec r 00:00 1)")
check "a distributed dataset: 409 not-accumulated" [ "$s" = 409 -a "$(jq -r .type "$O")" = urn:tsunagu:problem:not-accumulated ]
s=$(req POST "$(data nosuch)" "${auth[@]}" "${json[@]}" --data-binary "$(rec r 00:00 1)")
check "an unknown dataset: 404 unknown-dataset" [ "$s" = 404 -a "$(jq -r .type "$O")" = urn:tsunagu:problem:unknown-dataset ]
s=$(req POST "/api/v1/datasets/$(enc urn:tsunagu:b-town:dataset:obs)/data" "${auth[@]}" "${json[@]}" --data-binary "$(rec r 00:00 1)")
check "another node's dataset: 403 not-owner" [ "$s" = 403 -a "$(jq -r .type "$O")" = urn:tsunagu:problem:not-owner ]
s=$(req POST "$(data obs)" "${json[@]}" --data-binary "$(rec r 00:00 1)")
check "without data:write (anonymous holds catalog:write only): 401 naming data:write" [ "$s" = 401 -a -n "$(jq -r .detail "$O" | grep 'data:write')" ]

# --- durability: kill -9 right after the acknowledgement ---
for i in $(seq 1 500); do rec "k$i" 10:00 "$i"; echo; done >"$TG_TMP/k.ndjson"
s=$(req POST "$(data obs)" "${auth[@]}" "${ndj[@]}" --data-binary @"$TG_TMP/k.ndjson")
kpid=$(tg_node_pid a-city)
kill -KILL "$kpid"
tg_wait_exit "$kpid" 20 # the lock goes with the process
tg_node_start a-city || { echo "Bail out! restart failed"; exit 1; }
url=$(tg_node_url a-city)
req GET "$(data obs)?since=2026-05-01T10:00:00Z&until=2026-05-01T10:00:00Z&limit=10000" "${auth[@]}" >/dev/null
check "kill -9 after the acknowledgement: all 500 acknowledged records are there" [ "$s" = 201 -a "$(wc -l <"$O")" = 500 ]

# --- reads ---
req GET "$(data obs)?since=2026-05-01T00:30:00Z&until=2026-05-01T01:30:00Z" "${auth[@]}" >/dev/null
check "since/until select on observation time, ordered by it" [ "$(jq -sc '[.[] | .v]' "$O")" = '[5,3,4,6]' ]
s=$(req GET "$(data obs)?until=2026-05-01T01:30:00Z&latest=true" "${auth[@]}" -H 'Accept: application/json')
check "latest=true: each entity's newest record, those within the range, as a JSON array" \
  [ "$s" = 200 -a "$(hdr Content-Type)" = application/json -a "$(jq -c 'map(.id + ":" + (.v|tostring)) | sort' "$O")" = '["s2:4","s3:6"]' ]
req GET "$(data obs)?latest=true&limit=10000" "${auth[@]}" >/dev/null
check "latest=true over all: one record per entity (s1-s3, ok1, c0-c49, k1-k500)" \
  [ "$(wc -l <"$O")" = 554 -a "$(jq -sc 'map(select(.id=="s1"))[0].v' "$O")" = 7 ]
# paging: every record once, in order, across pages
all=$(req GET "$(data obs)?limit=10000" "${auth[@]}" >/dev/null; jq -c .v "$O" | md5sum)
total=$(wc -l <"$O")
p="$(data obs)?limit=300"; pages=0; : >"$TG_TMP/paged"
while [ -n "$p" ] && [ $pages -lt 20 ]; do
  req GET "$p" "${auth[@]}" >/dev/null; cat "$O" >>"$TG_TMP/paged"; pages=$((pages + 1))
  p=$(hdr Link | sed -n 's/^<\(.*\)>; rel="next"$/\1/p')
done
check "limit+after: $pages pages of 300 give all $total records once, in order" \
  [ "$(jq -c .v "$TG_TMP/paged" | md5sum)" = "$all" -a $pages = $(( (total + 299) / 300 )) ]
req GET "$(data obs)?limit=2" "${auth[@]}" >/dev/null
check "the first page of two carries a Link with the cursor and keeps limit" grep -q '^Link: <.*limit=2&after=[-0-9]*\.[0-9]*>; rel="next"' "$H"
pad=$(head -c 1500 /dev/zero | tr '\0' x)
for i in $(seq 1 2000); do printf '{"id":"p%d","dateObserved":"2026-06-01T00:00:00Z","pad":"%s"}\n' "$i" "$pad"; done >"$TG_TMP/pad.ndjson"
req POST "$(data obs)" "${auth[@]}" "${ndj[@]}" --data-binary @"$TG_TMP/pad.ndjson" >/dev/null
pad_n=$(tg_curl a-city "${auth[@]}" --limit-rate 400k "$url$(data obs)?since=2026-06-01T00:00:00Z&limit=10000" | jq -s 'map(.id) | unique | length')
check "a 3 MB answer read slowly (back-pressure) arrives whole: $pad_n of 2000" [ "$pad_n" = 2000 ]
s=$(req GET "$(data obs)?since=yesterday" "${auth[@]}")
check "bad since: 400 bad-parameter naming it" [ "$s" = 400 -a "$(jq -r .parameter "$O")" = since ]
s=$(req GET "$(data obs)?limit=10001" "${auth[@]}")
check "limit over 10000: 400" [ "$s" = 400 ]
s=$(req GET "$(data obs)?after=zzz" "${auth[@]}")
check "a forged cursor: 400" [ "$s" = 400 -a "$(jq -r .parameter "$O")" = after ]
s=$(req GET "$(data obs)?profile=x&limit=1" "${auth[@]}")
check "an unknown profile: 404 unknown-profile ($s)" [ "$s" = 404 -a "$(jq -r .type "$O")" = urn:tsunagu:problem:unknown-profile ]
# A profile converts stored records on the way out: v (cm) becomes level (m).
printf '%s' '{"id":"obs-m","mode":"lenient","unmapped":"drop","fields":[{"from":"id","to":"id"},{"from":"dateObserved","to":"dateObserved"},{"from":"v","to":"level","unit":{"from":"cm","to":"m"}}]}' >"$TG_TMP/p.json"
s=$(req PUT /api/v1/vocab/profiles/obs-m "${auth[@]}" --data-binary @"$TG_TMP/p.json")
s=$s$(req GET "$(data obs)?profile=obs-m&limit=2" "${auth[@]}")
converted() { [ "$s" = 201200 -o "$s" = 200200 ] && [ "$(head -1 "$O" | jq -c 'keys')" = '["dateObserved","id","level"]' -a "$(grep -i -c '^Tsunagu-Profile: obs-m' "$H")" = 1 ]; }
check "with ?profile=obs-m the records come converted ($s)" converted
s=$(req GET "$(data obs)")
check "reading data needs data:read (anonymous: 401/403)" [ "$s" = 401 -o "$s" = 403 ]

# --- retention: keep3 keeps the 3 newest ---
for i in 1 2 3 4 5 6; do rec "e$i" "0$i:00" "$i"; echo; done >"$TG_TMP/r.ndjson"
req POST "$(data keep3)" "${auth[@]}" "${ndj[@]}" --data-binary @"$TG_TMP/r.ndjson" >/dev/null
n=0
for _ in $(seq 1 50); do
  req GET "$(data keep3)" "${auth[@]}" >/dev/null
  n=$(wc -l <"$O"); [ "$n" = 3 ] && break; sleep 0.1
done
check "[retention] keep3 = 3 keeps the 3 newest records" [ "$n" = 3 -a "$(jq -sc 'map(.v)' "$O")" = '[4,5,6]' ]
check "... and latest no longer names the deleted ones" [ "$(req GET "$(data keep3)?latest=true" "${auth[@]}" >/dev/null; jq -sc 'map(.id)' "$O")" = '["e4","e5","e6"]' ]
tg_node_new bad "[retention]
x = sometimes" && ! "$TSUNAGUD" -D "$TG_TMP/bad" 2>"$TG_TMP/bad.log"
check "a bad [retention] value is refused at start, naming it" grep -q 'retention.*x = sometimes' "$TG_TMP/bad.log"
done_testing
