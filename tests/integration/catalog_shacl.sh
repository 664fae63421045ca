#!/bin/bash
# DCAT-AP 3.0.1 SHACL validation of the node's catalog with a real validator
# (tests/tools/shacl-validate.js: jsonld + rdf-validate-shacl, offline), and
# refusal of a dataset whose date is not ISO 8601. CI installs the npm tools
# (scripts/setup); without them this test fails rather than skips.
. "$top_srcdir/tests/lib.sh"
CASES="$top_srcdir/tests/cases/catalog/http"
TOOLS="$top_srcdir/tests/tools"
plan 12

if [ ! -d "${TG_NODE_MODULES:-$TOOLS/node_modules}/rdf-validate-shacl" ] || ! command -v node >/dev/null; then
  fail "the SHACL tools are installed (run scripts/setup: npm install in tests/tools)"
  exit 1
fi
ok "the SHACL tools are installed"
validate() { node "$TOOLS/shacl-validate.js" "$@"; }

tg_node_new a-city || { echo "Bail out! init failed"; exit 1; }
tg_node_start a-city || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a-city)
TOK=$(cat "$TG_TMP/a-city/admin.token")
post() { tg_curl a-city -o "$TG_TMP/out" -w '%{http_code}' -H "Authorization: Bearer $TOK" -H 'Content-Type: application/ld+json' --data-binary @"$1" "$url/api/v1/datasets"; }

codes=""
for f in "$CASES"/*.json; do codes="$codes$(post "$f") "; done
check "five realistic datasets (ja+en, themes, spatial, temporal, distributions, policies) are accepted" [ "$codes" = "201 201 201 201 201 " ]
tg_curl a-city "$url/api/v1/catalog" >"$TG_TMP/catalog.jsonld"
out=$(validate "$TG_TMP/catalog.jsonld" 2>&1); rc=$?
[ $rc = 0 ] || diag "$out"
check "GET /api/v1/catalog conforms to the DCAT-AP 3.0.1 shapes" [ $rc = 0 -a -n "$(grep '^conforms' <<<"$out")" ]
tg_curl a-city "$url/api/v1/catalog?limit=2&offset=2" >"$TG_TMP/page.jsonld"
check "a later catalog page conforms too" validate "$TG_TMP/page.jsonld"
tg_curl a-city -H "Authorization: Bearer $TOK" "$url/api/v1/datasets/$(jq -rn --arg s urn:tsunagu:a-city:dataset:x '$s|@uri')" >/dev/null
# The validator must be able to fail: break the catalog and the dataset, check it says so.
jq 'del(.["dct:description"]) | .["dcat:dataset"][0]["dct:title"] = []' "$TG_TMP/catalog.jsonld" >"$TG_TMP/broken.jsonld"
out=$(validate "$TG_TMP/broken.jsonld"); rc=$?
check "the validator reports a catalog without description and a dataset without title" [ $rc = 1 -a "$(grep -c 'MinCount' <<<"$out")" = 2 ]
check "the validator refuses remote contexts" [ "$(echo '{"@context":"https://example.org/c.jsonld","@id":"urn:x","@type":"urn:t"}' | validate - >/dev/null 2>&1; echo $?)" = 2 ]
jq '.["dct:modified"] = "令和6年4月1日"' "$CASES/rain.json" >"$TG_TMP/reiwa.json"
s=$(post "$TG_TMP/reiwa.json")
check "a dataset with modified = 令和6年4月1日 is refused at /dct:modified" [ "$s" = 400 -a "$(jq -r '[.errors[].pointer] | join(",")' "$TG_TMP/out")" = /dct:modified ]
jq '.["dct:issued"] = {"@value": "2024/04/01", "@type": "xsd:date"}' "$CASES/rain.json" >"$TG_TMP/slash.json"
s=$(post "$TG_TMP/slash.json")
check "an xsd:date written 2024/04/01 is refused at /dct:issued" [ "$s" = 400 -a "$(jq -r '[.errors[].pointer] | join(",")' "$TG_TMP/out")" = /dct:issued ]
check "the refused datasets are not in the catalog" [ "$(tg_curl a-city "$url/api/v1/catalog" | jq '.["dcat:dataset"] | length')" = 5 ]

# Numbers where DCAT-AP fixes the datatype, as a city writes them: stored as
# xsd:nonNegativeInteger / xsd:decimal literals, so the catalog stays valid.
jq '.["@id"] = "urn:tsunagu:a-city:dataset:sized" | .["dcat:spatialResolutionInMeters"] = 10 | .["dcat:distribution"][0]["dcat:byteSize"] = 2048' "$CASES/river.json" >"$TG_TMP/sized.json"
jq '.["@id"] = "urn:tsunagu:a-city:dataset:sized2" | .["dcat:spatialResolutionInMeters"] = 2.5 | .["dcat:distribution"][0]["dcat:byteSize"] = "1048576"' "$CASES/rain.json" >"$TG_TMP/sized2.json"
codes="$(post "$TG_TMP/sized.json") $(post "$TG_TMP/sized2.json")"
check "byteSize and spatialResolutionInMeters as JSON numbers and strings are accepted ($codes)" [ "$codes" = "201 201" ]
tg_curl a-city "$url/api/v1/catalog" >"$TG_TMP/catalog2.jsonld"
out=$(validate "$TG_TMP/catalog2.jsonld" 2>&1); rc=$?
[ $rc = 0 ] || diag "$out"
check "  and the catalog with them still conforms to the DCAT-AP shapes" [ $rc = 0 ]
jq '.["@id"] = "urn:tsunagu:a-city:dataset:neg" | .["dcat:distribution"][0]["dcat:byteSize"] = -1' "$CASES/river.json" >"$TG_TMP/neg.json"
s=$(post "$TG_TMP/neg.json")
check "a negative byteSize is refused naming the property ($s)" [ "$s" = 400 -a "$(jq -r '[.errors[].pointer] | join(",")' "$TG_TMP/out")" = /dcat:distribution/0/dcat:byteSize ]
done_testing
