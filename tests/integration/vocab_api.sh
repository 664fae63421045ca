#!/bin/bash
# The vocabulary API on a real node: the shipped schemes served by a fresh node,
# SKOS export with ETags, import (refusals name the concept and the rule), replace
# with If-Match, concepts, Japanese search, mappings in both directions, hierarchy,
# profiles, admin-only writes and strict query strings.
. "$top_srcdir/tests/lib.sh"
plan 45
tg_node_new voc && tg_node_start voc || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url voc)
V="$url/api/v1/vocab"
tok=$(cat "$TG_TMP/voc/admin.token")
get() { tg_curl voc "$@"; }
adm() { tg_curl voc -H "Authorization: Bearer $tok" "$@"; }
code() { tg_curl voc -o /dev/null -w '%{http_code}' "$@"; }

# --- the shipped schemes on a fresh node
ids=$(get "$V/schemes" | jq -r '[.schemes[].id] | sort | join(",")')
check "a fresh node serves the shipped schemes ($ids)" [ "$ids" = "properties,themes,units" ]
n=$(get "$V/schemes" | jq '[.schemes[] | select(.id == "themes")][0].concepts')
check "the themes scheme has the twelve smart-city domains ($n)" [ "$n" = 12 ]
get -D "$TG_TMP/h" -o "$TG_TMP/themes.jsonld" "$V/schemes/themes"
etag=$(awk 'tolower($1) == "etag:" {print $2}' "$TG_TMP/h" | tr -d '\r')
check "an export is SKOS JSON-LD with an ETag ($etag)" \
  [ -n "$etag" -a "$(jq -r '.["@graph"][0]["@type"]' "$TG_TMP/themes.jsonld")" = skos:ConceptScheme ]
check "an export carries only a prefix @context (no remote context)" \
  [ "$(jq -r '.["@context"] | type' "$TG_TMP/themes.jsonld")" = object ]
check "If-None-Match with the ETag gives 304" [ "$(code -H "If-None-Match: $etag" "$V/schemes/themes")" = 304 ]
check "a scheme is found by its URI too" [ "$(code "$V/schemes/urn%3Atsunagu%3Avocab%3Athemes")" = 200 ]
check "an unknown scheme is 404" [ "$(code "$V/schemes/nope")" = 404 ]

# --- import
cat >"$TG_TMP/city.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#", "dct": "http://purl.org/dc/terms/"},
 "@graph": [
  {"@id": "urn:a-city:vocab:obs", "@type": "skos:ConceptScheme", "dct:identifier": "a-city-obs",
   "dct:title": [{"@value": "A市 観測項目", "@language": "ja"}, {"@value": "A-city observations", "@language": "en"}],
   "skos:hasTopConcept": {"@id": "urn:a-city:vocab:obs:river"}},
  {"@id": "urn:a-city:vocab:obs:river", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:a-city:vocab:obs"},
   "skos:topConceptOf": {"@id": "urn:a-city:vocab:obs"},
   "skos:prefLabel": [{"@value": "河川", "@language": "ja"}, {"@value": "River", "@language": "en"}],
   "skos:narrower": {"@id": "urn:a-city:vocab:obs:level"}},
  {"@id": "urn:a-city:vocab:obs:level", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:a-city:vocab:obs"},
   "skos:prefLabel": [{"@value": "水位観測値", "@language": "ja"}, {"@value": "Level reading", "@language": "en"}],
   "skos:notation": "level_cm",
   "skos:exactMatch": {"@id": "urn:tsunagu:vocab:properties:water-level"}}
 ]}
EOF
check "import without the admin token is 401" [ "$(code -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/city.jsonld" "$V/schemes")" = 401 ]
adm -D "$TG_TMP/h" -o "$TG_TMP/out" -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/city.jsonld" "$V/schemes"
st=$(head -1 "$TG_TMP/h" | awk '{print $2}')
check "import answers 201 with the scheme's id ($st)" [ "$st" = 201 -a "$(jq -r .id "$TG_TMP/out")" = a-city-obs ]
check "import sets Location" grep -qi '^location: /api/v1/vocab/schemes/a-city-obs' "$TG_TMP/h"
etag1=$(jq -r .etag "$TG_TMP/out")
check "importing the same scheme again without If-Match is 409" \
  [ "$(code -H "Authorization: Bearer $tok" --data-binary @"$TG_TMP/city.jsonld" "$V/schemes")" = 409 ]
check "replacing with a stale If-Match is 412" \
  [ "$(code -H "Authorization: Bearer $tok" -H 'If-Match: "0000000000000000"' --data-binary @"$TG_TMP/city.jsonld" "$V/schemes")" = 412 ]
check "replacing with the current ETag is 200" \
  [ "$(code -H "Authorization: Bearer $tok" -H "If-Match: \"$etag1\"" --data-binary @"$TG_TMP/city.jsonld" "$V/schemes")" = 200 ]
check "the old ETag is stale after the replace" \
  [ "$(code -H "Authorization: Bearer $tok" -H "If-Match: \"$etag1\"" --data-binary @"$TG_TMP/city.jsonld" "$V/schemes")" = 412 ]
check "If-Match: * replaces an existing scheme" \
  [ "$(code -H "Authorization: Bearer $tok" -H 'If-Match: *' --data-binary @"$TG_TMP/city.jsonld" "$V/schemes")" = 200 ]
sed 's/urn:a-city:vocab:obs/urn:b-city:vocab:obs/g; s/a-city-obs/b-city-obs/' "$TG_TMP/city.jsonld" >"$TG_TMP/b.jsonld"
check "If-Match: * on a scheme that does not exist is 412" \
  [ "$(code -H "Authorization: Bearer $tok" -H 'If-Match: *' --data-binary @"$TG_TMP/b.jsonld" "$V/schemes")" = 412 ]

# Two prefLabels in one language: refused, naming the concept and the rule.
jq '.["@graph"][2]["skos:prefLabel"] += [{"@value": "水位", "@language": "ja"}]' "$TG_TMP/b.jsonld" >"$TG_TMP/bad.jsonld"
adm -D "$TG_TMP/h" -o "$TG_TMP/out" --data-binary @"$TG_TMP/bad.jsonld" "$V/schemes"
st=$(head -1 "$TG_TMP/h" | awk '{print $2}')
check "an import that breaks S14 is 422 problem+json ($st)" \
  [ "$st" = 422 -a "$(jq -r .type "$TG_TMP/out")" = urn:tsunagu:problem:invalid-scheme ]
check "the refusal names the concept, the rule and where it is" \
  [ "$(jq -r '.errors[0] | .concept + " " + .rule + " " + .pointer' "$TG_TMP/out")" = "urn:b-city:vocab:obs:level S14 /@graph/2/skos:prefLabel" ]
jq '.["@graph"][2]["skos:altLabel"] = {"@value": "水位観測値", "@language": "ja"}' "$TG_TMP/b.jsonld" >"$TG_TMP/bad.jsonld"
check "a label both pref and alt is refused as S13" \
  [ "$(adm --data-binary @"$TG_TMP/bad.jsonld" "$V/schemes" | jq -r '.errors[0].rule')" = S13 ]
check "a refused import stores nothing" [ "$(code "$V/schemes/b-city-obs")" = 404 ]
check "a body that is not JSON is 400" [ "$(code -H "Authorization: Bearer $tok" --data-binary 'nope' "$V/schemes")" = 400 ]

# --- concepts, search, hierarchy, mappings
c=$(get "$V/concepts?uri=urn%3Atsunagu%3Avocab%3Aproperties%3Awater-level")
check "a concept is served as JSON-LD" [ "$(jq -r '.["@id"]' <<<"$c")" = urn:tsunagu:vocab:properties:water-level ]
check "an unknown concept is 404" [ "$(code "$V/concepts?uri=urn:x:none")" = 404 ]
r=$(get "$V/search?q=%E6%B0%B4%E4%BD%8D&lang=ja")
check "search for 水位 finds the water-level concept first" \
  [ "$(jq -r '.results[0].uri' <<<"$r")" = urn:tsunagu:vocab:properties:water-level ]
check "search for 水位 also finds labels containing it (警戒水位)" grep -q 'alert-level' <<<"$r"
r=$(get "$V/search?q=%E6%B0%B4&limit=50")
check "a one-character Japanese search (水) finds concepts" [ "$(jq '.count' <<<"$r")" -ge 3 ]
check "search by scheme limits the results" \
  [ "$(get "$V/search?q=%E6%B0%B4%E4%BD%8D&scheme=a-city-obs" | jq -r '[.results[].scheme] | unique | join(",")')" = urn:a-city:vocab:obs ]
check "limit caps the results" [ "$(get "$V/search?q=m&limit=2" | jq '.results | length')" = 2 ]
check "search by notation" [ "$(get "$V/search?q=level_cm" | jq -r '.results[0].uri')" = urn:a-city:vocab:obs:level ]
m=$(get "$V/mappings?uri=urn:tsunagu:vocab:properties:water-level")
check "mappings show the incoming exactMatch from another scheme" \
  [ "$(jq -r '.mappings[] | select(.direction == "incoming") | .uri + " " + .scheme' <<<"$m")" = "urn:a-city:vocab:obs:level urn:a-city:vocab:obs" ]
check "mappings show the outgoing exactMatch to the Smart Data Models term" \
  grep -q '"direction":"outgoing"' <<<"$(jq -c '.mappings[] | select(.uri | test("smartdatamodels"))' <<<"$m")"
m=$(get "$V/mappings?uri=urn:a-city:vocab:obs:level")
check "the same mapping is outgoing from the city's concept" \
  [ "$(jq -r '.mappings[0] | .relation + " " + .direction + " " + .uri' <<<"$m")" = "exactMatch outgoing urn:tsunagu:vocab:properties:water-level" ]
check "broader finds the parent" [ "$(get "$V/broader?uri=urn:a-city:vocab:obs:level" | jq -r '.broader[0].uri')" = urn:a-city:vocab:obs:river ]
check "narrower finds the child" [ "$(get "$V/narrower?uri=urn:a-city:vocab:obs:river" | jq -r '.narrower[0].uri')" = urn:a-city:vocab:obs:level ]

# --- strict query strings
s="$(code "$V/search?q=%E6%B0")|$(code "$V/search?q=%zz")|$(code "$V/search?q=a&q=b")|$(code "$V/search?qq=a")|$(code "$V/search?q=a&limit=0")|$(code "$V/search")|$(code "$V/search?q=%00")"
check "bad query strings are 400: truncated UTF-8, bad escape, repeated, unknown, range, missing, NUL ($s)" \
  [ "$s" = "400|400|400|400|400|400|400" ]
check "'+' in a query is a space" [ "$(get "$V/search?q=Water+level" | jq -r '.results[0].uri')" = urn:tsunagu:vocab:properties:water-level ]

# --- profiles
cat >"$TG_TMP/p.json" <<'EOF'
{"id": "p1", "title": {"en": "test"}, "fields": [{"from": "level_cm", "to": "waterLevel", "unit": {"from": "cm", "to": "m"}}]}
EOF
st="$(code -X PUT --data-binary @"$TG_TMP/p.json" "$V/profiles/p1")|$(code -X PUT -H "Authorization: Bearer $tok" --data-binary @"$TG_TMP/p.json" "$V/profiles/p1")|$(code -X PUT -H "Authorization: Bearer $tok" --data-binary @"$TG_TMP/p.json" "$V/profiles/p1")|$(code -X PUT -H "Authorization: Bearer $tok" -H 'If-Match: "x"' --data-binary @"$TG_TMP/p.json" "$V/profiles/p1")|$(code -X PUT -H "Authorization: Bearer $tok" --data-binary @"$TG_TMP/p.json" "$V/profiles/p2")"
check "profile PUT: 401 without token, 201 new, 200 replace, 412 stale If-Match, 422 id mismatch ($st)" [ "$st" = "401|201|200|412|422" ]
bad=$(adm -X PUT --data-binary '{"id":"p3","fields":[{"from":"a","to":"b","unit":{"from":"cm","to":"kg"}}]}' "$V/profiles/p3")
check "an invalid profile is 422 naming the rule" grep -q 'fields\[0\]' <<<"$(jq -r .detail <<<"$bad")"
st="$(get "$V/profiles" | jq -r '[.profiles[].id] | join(",")')|$(get "$V/profiles/p1" | jq -r '.fields[0].to')|$(code -X DELETE -H "Authorization: Bearer $tok" "$V/profiles/p1")|$(code "$V/profiles/p1")"
check "profiles list, get, delete ($st)" [ "$st" = "p1|waterLevel|204|404" ]

# --- a city's code list with its own prefix and default language (issue 11's
# example): stored with full IRIs, found by them, exported and re-imported to
# the same triples, compared as RDF (tests/tools/rdf-compare.js, jsonld.js).
cat >"$TG_TMP/stations.jsonld" <<'EOF'
{"@context": {"ex": "https://a-city.example/vocab/stations/", "skos": "http://www.w3.org/2004/02/skos/core#",
  "dct": "http://purl.org/dc/terms/", "@language": "ja"},
 "@graph": [
  {"@id": "ex:scheme", "@type": "skos:ConceptScheme", "dct:identifier": "a-city-stations",
   "dct:title": "A市 水位観測所", "skos:hasTopConcept": {"@id": "ex:K01"}},
  {"@id": "ex:K01", "@type": "skos:Concept", "skos:inScheme": {"@id": "ex:scheme"}, "skos:topConceptOf": {"@id": "ex:scheme"},
   "skos:prefLabel": "上流観測所", "skos:exactMatch": {"@id": "urn:tsunagu:vocab:properties:water-level"}}
 ]}
EOF
st=$(adm -o "$TG_TMP/out" -w '%{http_code}' -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/stations.jsonld" "$V/schemes")
k01=$(jq -rn --arg s https://a-city.example/vocab/stations/K01 '$s|@uri')
check "a code list with its own prefix imports ($st) and its concept is found by its full IRI" \
  [ "$st" = 201 -a "$(get "$V/mappings?uri=$k01" | jq -r '[.. | strings | select(. == "urn:tsunagu:vocab:properties:water-level")] | length > 0')" = true ]
get -o "$TG_TMP/stations.export.jsonld" "$V/schemes/a-city-stations"
check "  its export has the full IRI, never ex:K01" \
  [ -z "$(grep -o 'ex:K01' "$TG_TMP/stations.export.jsonld")" -a -n "$(grep -o 'https://a-city.example/vocab/stations/K01' "$TG_TMP/stations.export.jsonld")" ]
tg_node_new voc2 && tg_node_start voc2 || { echo "Bail out! voc2 did not start"; exit 1; }
st=$(tg_curl voc2 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TG_TMP/voc2/admin.token")" -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/stations.export.jsonld" "$(tg_node_url voc2)/api/v1/vocab/schemes")
tg_curl voc2 -o "$TG_TMP/stations.export2.jsonld" "$(tg_node_url voc2)/api/v1/vocab/schemes/a-city-stations"
out=$(node "$top_srcdir/tests/tools/rdf-compare.js" "$TG_TMP/stations.export.jsonld" "$TG_TMP/stations.export2.jsonld" 2>&1); rc=$?
[ $rc = 0 ] || diag "$out"
check "  the export re-imports on another node ($st) to the same triples ($out)" [ "$st" = 201 -a $rc = 0 ]
out=$(node "$top_srcdir/tests/tools/rdf-compare.js" "$TG_TMP/stations.jsonld" "$TG_TMP/stations.export.jsonld" 2>&1); rc=$?
inonly() { [ "$rc" != 2 ] && [ -z "$(grep "^only in $TG_TMP/stations.jsonld:" <<<"$out")" ]; }
check "  and every triple of the city's input is in the export" inonly

# --- tsunagu init takes the shipped schemes from $TSUNAGU_DATADIR/schemes first
mkdir -p "$TG_TMP/data/schemes"
cp "$TG_TMP/city.jsonld" "$TG_TMP/data/schemes/city.jsonld"
TSUNAGU_DATADIR="$TG_TMP/data" tg_node_new dd && tg_node_start dd
check "a node made with TSUNAGU_DATADIR holds the schemes found there" \
  [ "$(tg_curl dd "$(tg_node_url dd)/api/v1/vocab/schemes" | jq -r '[.schemes[].id] | join(",")')" = a-city-obs ]
cp "$TG_TMP/bad.jsonld" "$TG_TMP/data/schemes/zz-bad.jsonld"
out=$(TSUNAGU_DATADIR="$TG_TMP/data" "$TSUNAGU" init --dir "$TG_TMP/ee" --id ee 2>&1); rc=$?
check "a shipped scheme that does not validate stops tsunagu init, naming the file" \
  [ $rc = 1 -a -n "$(grep 'zz-bad.jsonld' <<<"$out")" -a ! -e "$TG_TMP/ee/tsunagu.conf" ]
done_testing
