#!/bin/bash
# POST /api/v1/vocab/convert on a real node: a city's water-level feed (centimetres,
# era dates, local station codes) becomes WaterObserved (metres, ISO 8601, national
# station codes through mapped concepts, JIS X 0402 codes); the one bad record of a
# mixed batch is reported by JSON pointer while the rest converts; a 200 MB NDJSON
# stream goes through with the node's memory flat; a client that does not read the
# answer makes the node stop reading, not buffer.
. "$top_srcdir/tests/lib.sh"
plan 21
# Under ASan, freed memory waits in a quarantine (256 MB by default) that would read
# as growth below; a small one keeps RSS about the node's own memory.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"; export ASAN_OPTIONS
tg_node_new cv "[limits]
idle_timeout = 30s" && tg_node_start cv || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url cv)
pid=$(tg_node_pid cv)
V="$url/api/v1/vocab"
tok=$(cat "$TG_TMP/cv/admin.token")
adm() { tg_curl cv -H "Authorization: Bearer $tok" "$@"; }
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

# The city's station codes and the national ones, linked by skos:exactMatch.
cat >"$TG_TMP/national.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#", "dct": "http://purl.org/dc/terms/"},
 "@graph": [
  {"@id": "urn:jp:vocab:river-stations", "@type": "skos:ConceptScheme", "dct:identifier": "jp-river-stations",
   "dct:title": {"@value": "水位観測所（全国）", "@language": "ja"}},
  {"@id": "urn:jp:river-station:305061285507010", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:jp:vocab:river-stations"},
   "skos:prefLabel": {"@value": "天神橋", "@language": "ja"}, "skos:notation": "305061285507010"},
  {"@id": "urn:jp:river-station:305061285507020", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:jp:vocab:river-stations"},
   "skos:prefLabel": {"@value": "京橋", "@language": "ja"}, "skos:notation": "305061285507020"},
  {"@id": "urn:jp:river-station:305061285507030", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:jp:vocab:river-stations"},
   "skos:prefLabel": {"@value": "毛馬", "@language": "ja"}, "skos:notation": "305061285507030"}
 ]}
EOF
cat >"$TG_TMP/city.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#", "dct": "http://purl.org/dc/terms/"},
 "@graph": [
  {"@id": "urn:a-city:vocab:stations", "@type": "skos:ConceptScheme", "dct:identifier": "a-city-stations",
   "dct:title": {"@value": "A市 水位観測所", "@language": "ja"}},
  {"@id": "urn:a-city:station:A-01", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:a-city:vocab:stations"},
   "skos:prefLabel": {"@value": "天神橋", "@language": "ja"}, "skos:notation": "A-01",
   "skos:exactMatch": {"@id": "urn:jp:river-station:305061285507010"}},
  {"@id": "urn:a-city:station:A-02", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:a-city:vocab:stations"},
   "skos:prefLabel": {"@value": "京橋", "@language": "ja"}, "skos:notation": "A-02",
   "skos:exactMatch": {"@id": "urn:jp:river-station:305061285507020"}},
  {"@id": "urn:a-city:station:A-03", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:a-city:vocab:stations"},
   "skos:prefLabel": {"@value": "毛馬", "@language": "ja"}, "skos:notation": "A-03",
   "skos:exactMatch": {"@id": "urn:jp:river-station:305061285507030"}}
 ]}
EOF
cat >"$TG_TMP/profile.json" <<'EOF'
{"id": "a-city-water", "title": {"ja": "A市 水位 → WaterObserved", "en": "A-city water level to WaterObserved"},
 "mode": "strict", "unmapped": "drop",
 "fields": [
  {"from": "obs_id", "to": "id", "required": true},
  {"to": "type", "const": "WaterObserved"},
  {"from": "station", "to": "stationCode", "code": {"map": {"from": "a-city-stations", "to": "jp-river-stations"}}},
  {"from": "city_code", "to": "municipalityCode", "code": {"lgcode": true}},
  {"from": "observed", "to": "dateObserved", "date": {"from": "era", "to": "iso", "tz": "+09:00"}, "required": true},
  {"from": "level_cm", "to": "waterLevel", "unit": {"from": "cm", "to": "m"}},
  {"from": "flow_lps", "to": "flow", "unit": {"from": "L/s", "to": "m3/s"}}
 ]}
EOF
st="$(adm -o /dev/null -w '%{http_code}' --data-binary @"$TG_TMP/national.jsonld" "$V/schemes") $(adm -o /dev/null -w '%{http_code}' --data-binary @"$TG_TMP/city.jsonld" "$V/schemes") $(adm -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$TG_TMP/profile.json" "$V/profiles/a-city-water")"
check "the station schemes and the profile are stored ($st)" [ "$st" = "201 201 201" ]

# A mixed batch: record 3 has 平成31年5月1日, a day 平成 never had.
cat >"$TG_TMP/feed.ndjson" <<'EOF'
{"obs_id":"urn:ngsi-ld:WaterObserved:A-01-0001","station":"A-01","city_code":"27100","observed":"令和6年6月1日 14時30分","level_cm":352,"flow_lps":12500,"memo":"定時観測"}
{"obs_id":"urn:ngsi-ld:WaterObserved:A-02-0001","station":"A-02","city_code":"271004","observed":"R6.6.1 14:30","level_cm":240,"flow_lps":3000}
{"obs_id":"urn:ngsi-ld:WaterObserved:A-03-0001","station":"A-03","city_code":"２７１００","observed":"令和６年６月１日　１４時３０分","level_cm":12.5,"flow_lps":0.5}
{"obs_id":"urn:ngsi-ld:WaterObserved:A-01-0002","station":"A-01","city_code":"27100","observed":"平成31年5月1日 9時","level_cm":300,"flow_lps":11000}
{"obs_id":"urn:ngsi-ld:WaterObserved:A-01-0003","station":"A-01","city_code":"27100","observed":"令和元年5月1日 9時","level_cm":301,"flow_lps":11100}
EOF
tg_curl cv -D "$TG_TMP/h" -H 'Content-Type: application/x-ndjson' --data-binary @"$TG_TMP/feed.ndjson" "$V/convert?profile=a-city-water" >"$TG_TMP/out"
check "the answer is 200 NDJSON" grep -qi '^content-type: application/x-ndjson' "$TG_TMP/h"
sed '$d' "$TG_TMP/out" >"$TG_TMP/data"
tail -1 "$TG_TMP/out" >"$TG_TMP/sum"
check "four records convert, the bad one is left out" [ "$(wc -l <"$TG_TMP/data")" = 4 ]
r0=$(head -1 "$TG_TMP/data")
check "centimetres become metres exactly (352 cm -> 3.52)" [ "$(jq -r .waterLevel <<<"$r0")" = 3.52 ]
check "an era date-time becomes ISO 8601 with the local offset" [ "$(jq -r .dateObserved <<<"$r0")" = 2024-06-01T14:30:00+09:00 ]
check "the local station code becomes the national one through mapped concepts" \
  [ "$(jq -r '.stationCode' "$TG_TMP/data" | tr '\n' ' ')" = "305061285507010 305061285507020 305061285507030 305061285507010 " ]
check "a five-digit local government code gets its check digit; full-width digits too" \
  [ "$(jq -r '.municipalityCode' "$TG_TMP/data" | sort -u)" = 271004 ]
check "L/s become m3/s and 12.5 cm becomes 0.125 m" \
  [ "$(sed -n 3p "$TG_TMP/data" | jq -c '[.waterLevel, .flow]')" = "[0.125,0.0005]" ]
check "the output is WaterObserved only (unmapped fields dropped)" \
  [ "$(jq -r 'keys | join(",")' <<<"$r0")" = "dateObserved,flow,id,municipalityCode,stationCode,type,waterLevel" ]
check "the summary is the last line and counts 5 records, 4 written, 1 skipped" \
  [ "$(jq -r '[."@type", .complete, .records, .written, .skipped] | join(" ")' "$TG_TMP/sum")" = "tsunagu:ConversionSummary true 5 4 1" ]
det=$(jq -r '.errors[0].detail' "$TG_TMP/sum")
check "the bad record is reported by JSON pointer with the reason ($det)" \
  [ "$(jq -r '.errors[0] | .pointer + " " + (.skipped | tostring)' "$TG_TMP/sum")" = "/3/observed true" -a -n "$(grep '平成' <<<"$det")" ]

out=$(tg_curl cv --data-binary @"$TG_TMP/feed.ndjson" "$V/convert?profile=a-city-water&mode=lenient")
check "lenient mode keeps the value as is, under its own name, and reports it" \
  [ "$(sed -n 4p <<<"$out" | jq -r .observed)|$(tail -1 <<<"$out" | jq -r '[.written, .errors[0].pointer, .errors[0].skipped] | join(" ")')" = "平成31年5月1日 9時|5 /3/observed false" ]

# The same batch as a JSON array: an array comes back, then the summary line.
jq -s . "$TG_TMP/feed.ndjson" >"$TG_TMP/feed.json"
out=$(tg_curl cv --data-binary @"$TG_TMP/feed.json" "$V/convert?profile=a-city-water")
check "an array converts to an array followed by the summary" \
  [ "$(sed '$d' <<<"$out" | jq 'length')|$(tail -1 <<<"$out" | jq -r '.errors[0].pointer')" = "4|/3/observed" ]

st="$(tg_curl cv -o /dev/null -w '%{http_code}' --data-binary @"$TG_TMP/feed.json" "$V/convert?profile=nope") $(tg_curl cv -o /dev/null -w '%{http_code}' --data-binary @"$TG_TMP/feed.json" "$V/convert?profile=a-city-water&mode=sloppy") $(tg_curl cv -o /dev/null -w '%{http_code}' --data-binary 'xx{' "$V/convert?profile=a-city-water")"
check "unknown profile 404, bad mode 400, input broken before any output 422 ($st)" [ "$st" = "404 400 422" ]
out=$(tg_curl cv --data-binary "$(head -c -2 "$TG_TMP/feed.json")" "$V/convert?profile=a-city-water")
check "input cut inside the array: the records before convert, the summary says incomplete" \
  [ "$(tail -1 <<<"$out" | jq -r '[.complete, .written, (.error | length > 0)] | join(" ")')" = "false 4 true" ]

# 200 MB of NDJSON generated on the fly, streamed through; memory stays flat.
line=$(sed -n 2p "$TG_TMP/feed.ndjson")
nrec=$(( 200000000 / (${#line} + 1) + 1 ))
base=$(rss "$pid")
( peak=$base; while kill -0 "$pid" 2>/dev/null && [ ! -e "$TG_TMP/big.done" ]; do
    r=$(rss "$pid"); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$TG_TMP/peak"; sleep 0.1; done ) &
mon=$!
yes "$line" | head -n "$nrec" |
  tg_curl cv -T - -X POST -H 'Content-Type: application/x-ndjson' "$V/convert?profile=a-city-water" |
  awk 'END { print NR - 1; print $0 }' >"$TG_TMP/big"
touch "$TG_TMP/big.done"; wait $mon
peak=$(cat "$TG_TMP/peak")
got=$(head -1 "$TG_TMP/big")
check "a 200 MB NDJSON stream converts whole ($nrec records in, $got out)" \
  [ "$got" = "$nrec" -a "$(tail -1 "$TG_TMP/big" | jq -r '.written')" = "$nrec" ]
grow=$(( (peak - base) / 1024 ))
diag "RSS before ${base} kB, peak ${peak} kB while 200 MB converted"
check "the node's memory stays flat while 200 MB stream through (grew ${grow} MiB)" [ "$grow" -lt 32 ]

# A client that sends fast but never reads the answer: the node stops reading.
base=$(rss "$pid")
{ printf 'POST /api/v1/vocab/convert?profile=a-city-water HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n' $(( 250000 * (${#line} + 1) )); yes "$line" | head -n 250000; } >"$TG_TMP/bigpost"
peak=$base
( timeout 4 "$top_builddir/tests/tools/rawtls" "$(tg_node_addr cv)" "$TG_TMP/cv/node.crt" -t 100 <"$TG_TMP/bigpost" >/dev/null 2>&1 ) &
cpid=$!
for i in $(seq 1 30); do
  r=$(rss "$pid"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.1
done
kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
grow=$(( (peak - base) / 1024 ))
check "a client that does not read the answer cannot make the node buffer (grew ${grow} MiB)" [ "$grow" -lt 32 ]
check "the node still answers afterwards" tg_curl cv -fo /dev/null "$url/healthz"

# Clients that go away mid-stream, sending or receiving: the node frees what it held
# (a sanitizer build reports any leak or memory error in the log when it stops).
for i in 1 2 3; do
  yes "$line" | head -n 400000 | timeout 0.5 curl -sS --cacert "$TG_TMP/cv/node.crt" -T - -X POST \
    -H 'Content-Type: application/x-ndjson' "$V/convert?profile=a-city-water" >/dev/null 2>&1
done
check "the node still answers after clients vanished mid-conversion" tg_curl cv -fo /dev/null "$url/healthz"
kill -TERM "$pid"; wait "$pid"; st=$?
bad=$(grep -cE 'Sanitizer|runtime error' "$TG_TMP/cv/tsunagud.log")
check "the node stops cleanly with no leak or memory error reported (exit $st, $bad reports)" [ "$st" = 0 -a "$bad" = 0 ]
done_testing
