#!/bin/bash
# The plain-JSON dataset form over HTTPS on a real node (docs/datasets.md):
# `tsunagu dataset template` published as it is, read back as DCAT-AP and
# checked with the real SHACL validator (tests/tools/shacl-validate.js, as
# catalog_shacl.sh does); a plain document and its hand-written JSON-LD
# equivalent stored and served byte for byte alike; errors in the plain
# form's field names with suggestions, as RFC 9457 problems and on the CLI;
# JSON syntax errors with line and column for both forms.
. "$top_srcdir/tests/lib.sh"
CASES="$top_srcdir/tests/cases/catalog/plain"
TOOLS="$top_srcdir/tests/tools"
plan 16

tg_node_new a-city || { echo "Bail out! init failed"; exit 1; }
tg_node_start a-city || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a-city)
TOK=$(cat "$TG_TMP/a-city/admin.token")
O=$TG_TMP/out
H=$TG_TMP/headers
T=("$TSUNAGU" --dir "$TG_TMP/a-city")
req() { local m=$1 p=$2; shift 2; rm -f "$O"; tg_curl a-city -o "$O" -D "$H" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $TOK" "$@" "$url$p"; }
json=(-H 'Content-Type: application/json')
enc() { jq -rn --arg s "$1" '$s|@uri'; }
ptrs() { jq -r '[.errors[].pointer] | join(",")' "$O"; }

# --- the template, through the CLI, as it is ---
"${T[@]}" dataset template >"$TG_TMP/template.json"; rc=$?
same_file() { [ -s "$1" ] && cmp -s "$1" "$2"; }
check "tsunagu dataset template prints the installed example (examples/datasets/plain/river-level.json)" \
  same_file "$TG_TMP/template.json" "$top_srcdir/examples/datasets/plain/river-level.json"
out=$("${T[@]}" dataset template | "${T[@]}" dataset add - 2>&1); rc=$?
check "tsunagu dataset add accepts the template as it is ($out)" [ $rc = 0 -a "$out" = "created urn:tsunagu:a-city:dataset:river-level" ]
s=$(req GET "/api/v1/datasets/$(enc urn:tsunagu:a-city:dataset:river-level)")
cp "$O" "$TG_TMP/template.owner"
check "it reads back as canonical DCAT-AP: themes by IRI with labels, licence IRI, era date as xsd:date, grant as an ODRL offer" \
  [ "$s" = 200 -a "$(jq -r '[.["dcat:theme"][]["@id"]] | join(" ")' "$O")" = "urn:tsunagu:vocab:themes:disaster-prevention urn:tsunagu:vocab:themes:environment-energy" \
    -a "$(jq -r '.["dct:license"]["@id"]' "$O")" = https://creativecommons.org/licenses/by/4.0/ \
    -a "$(jq -c '.["dct:issued"]' "$O")" = '{"@type":"xsd:date","@value":"2024-04-01"}' \
    -a "$(jq -r '[.["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"]] | flatten | .[0]["@id"]' "$O")" = urn:tsunagu:federation \
    -a "$(jq -r '.["dcat:distribution"][0]["tsunagu:mode"]' "$O")" = distributed ]

# --- plain and hand-written JSON-LD: the same stored and served bytes ---
jq '.input | .id = "same"' "$CASES/good_full.json" >"$TG_TMP/plain.json"
jq '.equivalent | .["@id"] = "urn:tsunagu:a-city:dataset:same"' "$CASES/good_full.json" >"$TG_TMP/ld.json"
s1=$(req POST /api/v1/datasets "${json[@]}" --data-binary @"$TG_TMP/plain.json")
req GET "/api/v1/datasets/$(enc urn:tsunagu:a-city:dataset:same)" >/dev/null; cp "$O" "$TG_TMP/served.plain"
pub1=$(tg_curl a-city "$url/api/v1/datasets/$(enc urn:tsunagu:a-city:dataset:same)")
stored1=$(tg_sql "$TG_TMP/a-city/tsunagu.db" "SELECT doc FROM cat_dataset WHERE id = 'urn:tsunagu:a-city:dataset:same'" 2>&1)
s2=$(req PUT "/api/v1/datasets/$(enc urn:tsunagu:a-city:dataset:same)" -H 'Content-Type: application/ld+json' -H 'If-Match: "1"' --data-binary @"$TG_TMP/ld.json")
req GET "/api/v1/datasets/$(enc urn:tsunagu:a-city:dataset:same)" >/dev/null; cp "$O" "$TG_TMP/served.ld"
pub2=$(tg_curl a-city "$url/api/v1/datasets/$(enc urn:tsunagu:a-city:dataset:same)")
stored2=$(tg_sql "$TG_TMP/a-city/tsunagu.db" "SELECT doc FROM cat_dataset WHERE id = 'urn:tsunagu:a-city:dataset:same'" 2>&1)
[ "$s1" = 201 -a "$s2" = 200 ] || diag "POST plain: $s1, PUT JSON-LD: $s2"
check "a plain dataset (201) and its JSON-LD equivalent (PUT 200) serve byte-identical owner views" \
  same_file "$TG_TMP/served.plain" "$TG_TMP/served.ld"
check "  and byte-identical public views" [ -n "$pub1" -a "$pub1" = "$pub2" ]
check "  and byte-identical stored documents" [ -n "$stored1" -a "$stored1" = "$stored2" ]

# --- the catalog with plain datasets conforms to DCAT-AP 3.0.1 ---
for f in shelters bus-stops; do
  s=$(req POST /api/v1/datasets "${json[@]}" --data-binary @"$top_srcdir/examples/datasets/plain/$f.json")
  [ "$s" = 201 ] || diag "POST $f: $s $(cat "$O")"
done
check "the installed plain examples are accepted" [ "$(tg_curl a-city "$url/api/v1/catalog" | jq '.["dcat:dataset"] | length')" = 4 ]
if [ -d "${TG_NODE_MODULES:-$TOOLS/node_modules}/rdf-validate-shacl" ] && command -v node >/dev/null; then
  tg_curl a-city "$url/api/v1/catalog" >"$TG_TMP/catalog.jsonld"
  out=$(node "$TOOLS/shacl-validate.js" "$TG_TMP/catalog.jsonld" 2>&1); rc=$?
  [ $rc = 0 ] || diag "$out"
  check "GET /api/v1/catalog with the plain datasets conforms to the DCAT-AP 3.0.1 shapes" [ $rc = 0 -a -n "$(grep '^conforms' <<<"$out")" ]
  jq 'del(.["dcat:dataset"][0]["dct:description"])' "$TG_TMP/catalog.jsonld" >"$TG_TMP/broken.jsonld"
  node "$TOOLS/shacl-validate.js" "$TG_TMP/broken.jsonld" >/dev/null 2>&1
  check "  (the validator does fail a dataset without description)" [ $? = 1 ]
else
  fail "the SHACL tools are installed (run scripts/setup: npm install in tests/tools)"
  fail "  (the validator does fail a dataset without description)"
fi

# --- errors in the plain form's terms ---
printf '%s' '{"titel": "雨量", "description": "d", "license": "CC BY 4.0", "issued": "2024/4/1", "themes": ["disaster prevension"], "grant": ["b-town", "*"]}' >"$TG_TMP/bad.json"
s=$(req POST /api/v1/datasets "${json[@]}" --data-binary @"$TG_TMP/bad.json")
check "a bad plain dataset is a 400 problem+json naming each plain field ($(ptrs))" \
  [ "$s" = 400 -a "$(grep -i '^content-type:' "$H" | tr -d '\r' | cut -d' ' -f2)" = application/problem+json \
    -a "$(jq -r .type "$O")" = urn:tsunagu:problem:invalid-dataset \
    -a "$(jq -r '[.errors[].pointer] | sort | join(",")' "$O")" = "/grant/1,/issued,/license,/themes/0,/titel,/title" ]
sug() { jq -r --arg p "$1" '.errors[] | select(.pointer == $p) | .suggestion // ""' "$O"; }
check "  with suggestions: title, CC-BY-4.0, 2024-04-01, 防災, federation" \
  [ "$(sug /titel)" = '"title"' -a "$(sug /license)" = '"CC-BY-4.0"' -a "$(sug /issued)" = '"2024-04-01"' \
    -a "$(sug /grant/1)" = '"federation"' -a -n "$(sug /themes/0 | grep '"防災" (disaster-prevention)')" ]
check "  and what was expected with an example" \
  [ -n "$(jq -r '.errors[] | select(.pointer == "/issued") | .expected' "$O" | grep 'ISO 8601')" \
    -a "$(jq -r '.errors[] | select(.pointer == "/license") | .example' "$O")" = '"CC-BY-4.0"' ]
out=$("${T[@]}" dataset add "$TG_TMP/bad.json" 2>&1); rc=$?
check "tsunagu dataset add prints each field with its suggestion and fails" \
  [ $rc != 0 -a -n "$(grep '^  /titel: unknown field "titel".*did you mean "title"?' <<<"$out")" -a -n "$(grep '^  /license: .*did you mean "CC-BY-4.0"?' <<<"$out")" ]
jq '.["dct:modified"] = "令和6年4月1日"' "$top_srcdir/tests/cases/catalog/http/rain.json" >"$TG_TMP/reiwa.json"
s=$(req POST /api/v1/datasets -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/reiwa.json")
check "JSON-LD with modified = 令和6年4月1日 suggests the typed 2024-04-01 at /dct:modified" \
  [ "$s" = 400 -a "$(ptrs)" = /dct:modified -a "$(jq -r '.errors[0].suggestion' "$O")" = '{"@value": "2024-04-01", "@type": "xsd:date"}' ]

# --- JSON syntax errors: line and column, either form ---
printf '{\n  "title": "t",\n  "description" "d"\n}' >"$TG_TMP/syntax.json"
s=$(req POST /api/v1/datasets "${json[@]}" --data-binary @"$TG_TMP/syntax.json")
check "a plain body with a syntax error says line 3 and its column ($(jq -r .detail "$O"))" \
  [ "$s" = 400 -a -n "$(jq -r .detail "$O" | grep '^the body is not valid JSON at line 3, column [0-9]')" -a "$(jq '.errors[0].line' "$O")" = 3 ]
printf '{"@context": {"dct": "http://purl.org/dc/terms/"},\n "@type": "dcat:Dataset",,\n}' >"$TG_TMP/syntax.jsonld"
s=$(req POST /api/v1/datasets -H 'Content-Type: application/ld+json' --data-binary @"$TG_TMP/syntax.jsonld")
check "so does a JSON-LD body, instead of \"1 invalid field(s)\"" \
  [ "$s" = 400 -a -n "$(jq -r .detail "$O" | grep 'line 2, column')" -a "$(jq '.errors[0].line' "$O")" = 2 -a "$(jq '.errors[0].column > 0' "$O")" = true ]
done_testing
