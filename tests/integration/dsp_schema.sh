#!/bin/bash
# The Dataspace Protocol 2025-1 catalog binding against the official JSON
# Schemas (tests/standards/dsp-2025-1, validated with Ajv, tests/tools/dsp-validate.js):
# the version document, every page of the Catalog, every Dataset (policies
# with constraints and a typed right operand among them) and every error
# (400, 404, 405, 413, 401) validate; errors are application/json
# CatalogErrors; paging says next/previous; a spoofed Host changes nothing.
. "$top_srcdir/tests/lib.sh"
CASES="$top_srcdir/tests/cases/catalog/http"
TOOLS="$top_srcdir/tests/tools"
plan 15

if [ ! -d "${TG_NODE_MODULES:-$TOOLS/node_modules}/ajv" ] || ! command -v node >/dev/null; then
  fail "the JSON Schema tools are installed (run scripts/setup: npm install in tests/tools)"
  exit 1
fi
valid() { node "$TOOLS/dsp-validate.js" "$@" >"$TG_TMP/v.out" 2>&1 || { diag "$(cat "$TG_TMP/v.out")"; return 1; }; }

tg_node_new a-city "$(printf '[node]\nurl = https://a-city.example.jp:8443\n[limits]\nbody_bytes.dsp_catalog = 2k')" &&
  tg_node_start a-city || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a-city)
TOK=$(cat "$TG_TMP/a-city/admin.token")
post() { tg_curl a-city -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" -H 'Content-Type: application/ld+json' --data-binary @"$1" "$url/api/v1/datasets"; }
codes=""
for f in "$CASES"/*.json; do codes="$codes$(post "$f") "; done
# A policy of another class with a target, a one-element constraint and a
# typed right operand: the shapes DSP is strict about.
jq '.["@id"] = "urn:tsunagu:a-city:dataset:until-2030" | .["odrl:hasPolicy"] = {"@type": "odrl:Set", "odrl:target": {"@id": "urn:tsunagu:a-city:dataset:until-2030"}, "odrl:permission": [{"odrl:action": {"@id": "odrl:use"}, "odrl:assignee": {"@id": "urn:tsunagu:federation"}, "odrl:constraint": [{"odrl:leftOperand": {"@id": "odrl:dateTime"}, "odrl:operator": {"@id": "odrl:lt"}, "odrl:rightOperand": {"@value": "2030-01-01T00:00:00Z", "@type": "xsd:dateTime"}}]}]}' \
  "$CASES/rain.json" >"$TG_TMP/typed.json"
codes="$codes$(post "$TG_TMP/typed.json")"
check "six datasets with varied policies are accepted ($codes)" [ "$codes" = "201 201 201 201 201 201" ]

D=$TG_TMP/dsp
mkdir -p "$D"
dsp() { # NAME ARGS...: a DSP exchange into $D/NAME.json (headers $D/NAME.h); prints the status
  local n=$1; shift
  tg_curl a-city -o "$D/$n.json" -D "$D/$n.h" -w '%{http_code}' "$@"
}
msg='{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"CatalogRequestMessage"}'
st=$(dsp version "$url/.well-known/dspace-version")
check "the version document validates ($st)" valid protocol-version "$D/version.json"
st=$(dsp catalog -X POST -H 'Content-Type: application/json' -d "$msg" "$url/dsp/catalog/request")
check "the Catalog validates ($st, $(jq '.dataset | length' "$D/catalog.json") datasets)" valid catalog "$D/catalog.json"
pages=""
for off in 0 2 4; do
  dsp "page$off" -X POST -H 'Content-Type: application/json' -d "$msg" "$url/dsp/catalog/request?limit=2&offset=$off" >/dev/null
  pages="$pages $D/page$off.json"
done
check "each page of two validates" valid catalog $pages
check "  a middle page links next and previous (not prev)" [ "$(grep -io 'rel="[a-z]*"' "$D/page2.h" | sort | tr -d '\n')" = 'rel="next"rel="previous"' ]
ids=$(jq -r '.dataset[]["@id"]' "$D/catalog.json")
n=0; files=""
for id in $ids; do
  n=$((n + 1))
  dsp "ds$n" "$url/dsp/catalog/datasets/$(jq -rn --arg s "$id" '$s|@uri')" >/dev/null
  files="$files $D/ds$n.json"
done
check "every Dataset validates ($n of them)" valid dataset $files
typed=$(jq -c '.dataset[] | select(."@id" == "urn:tsunagu:a-city:dataset:until-2030") | .hasPolicy[0]' "$D/catalog.json")
check "  a Set with a target is offered as an Offer without target, its typed operand kept ($typed)" \
  [ "$(jq -c '[.["@type"], has("target"), .permission[0].constraint[0].rightOperand["@value"]]' <<<"$typed")" = '["Offer",false,"2030-01-01T00:00:00Z"]' ]
check "the 2025-1 message IRI is accepted" [ "$(dsp iri -X POST -d '{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"https://w3id.org/dspace/2025/1/CatalogRequestMessage"}' "$url/dsp/catalog/request")" = 200 ]

errs=""
st="$(dsp e400 -X POST -d '{"@type":"DatasetRequestMessage"}' "$url/dsp/catalog/request")"
st="$st $(dsp e404 "$url/dsp/catalog/datasets/$(jq -rn --arg s urn:tsunagu:a-city:dataset:nothing '$s|@uri')")"
st="$st $(dsp e405 -X DELETE "$url/dsp/catalog/request")"
head -c 4000 /dev/zero | tr '\0' ' ' >"$TG_TMP/big"
st="$st $(dsp e413 -X POST -H 'Content-Type: application/json' --data-binary @"$TG_TMP/big" "$url/dsp/catalog/request")"
for e in e400 e404 e405 e413; do errs="$errs $D/$e.json"; done
check "errors 400, 404, 405, 413 ($st) are CatalogErrors that validate" valid catalog-error $errs
check "  sent as application/json" [ "$(cat "$D"/e4*.h | grep -ic '^content-type: application/json')" = 4 ]
check "  with the status as code and the detail as reason" [ "$(jq -c '[.code, (.reason | length > 0), .status]' "$D/e405.json")" = '["405",true,405]' ]

# A spoofed Host changes nothing in any answer.
tg_curl a-city -H 'Host: evil.example' -X POST -H 'Content-Type: application/json' -d "$msg" -D "$D/evil.h" -o "$D/evil.json" "$url/dsp/catalog/request?limit=2&offset=2"
check "a spoofed Host changes neither the Catalog nor its Link header" [ -z "$(grep -i evil "$D/evil.json" "$D/evil.h")" -a "$(jq -S . "$D/evil.json")" = "$(jq -S . "$D/page2.json")" ]
check "  endpointURL is [node] url's" [ "$(jq -r '.service[0].endpointURL' "$D/evil.json")" = https://a-city.example.jp:8443/dsp ]

# The validator must be able to fail.
jq '.dataset[0].hasPolicy[0]["@type"] = "Set"' "$D/catalog.json" >"$D/broken.json"
check "the validator refuses an offer typed Set" [ "$(node "$TOOLS/dsp-validate.js" catalog "$D/broken.json" >/dev/null 2>&1; echo $?)" = 1 ]

# Anonymous callers refused ([auth] anonymous = none): the 401 is a CatalogError too.
printf '[auth]\nanonymous = none\n' >>"$TG_TMP/a-city/tsunagu.conf"
kill -HUP "$(tg_node_pid a-city)"
for _ in $(seq 1 50); do [ "$(dsp e401 -X POST -d "$msg" "$url/dsp/catalog/request")" = 401 ] && break; sleep 0.1; done
check "an anonymous caller's 401 validates as a CatalogError" valid catalog-error "$D/e401.json"
