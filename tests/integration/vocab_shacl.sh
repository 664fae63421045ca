#!/bin/bash
# SKOS SHACL in CI: every scheme a fresh node serves, exported over HTTP, conforms to
# the SKOS reference shapes (tests/tools/skos-validate.js: jsonld + rdf-validate-shacl,
# offline, with the one documented alignment triple); and the validator really catches
# violations. CI installs the npm tools (scripts/setup); without them this test fails.
. "$top_srcdir/tests/lib.sh"
TOOLS="$top_srcdir/tests/tools"
plan 9

if [ ! -d "${TG_NODE_MODULES:-$TOOLS/node_modules}/rdf-validate-shacl" ] || ! command -v node >/dev/null; then
  fail "the SHACL tools are installed (run scripts/setup: npm install in tests/tools)"
  exit 1
fi
ok "the SHACL tools are installed"
validate() { node "$TOOLS/skos-validate.js" "$@"; }

tg_node_new sk && tg_node_start sk || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url sk)
ids=$(tg_curl sk "$url/api/v1/vocab/schemes" | jq -r '.schemes[].id')
check "the node serves the three shipped schemes" [ "$(wc -w <<<"$ids")" = 3 ]
for id in $ids; do
  tg_curl sk "$url/api/v1/vocab/schemes/$id" >"$TG_TMP/$id.jsonld"
  out=$(validate "$TG_TMP/$id.jsonld" 2>&1); rc=$?
  [ $rc = 0 ] || diag "$out"
  n=$(sed -n 's/.* \([0-9]*\) concepts.*/\1/p' <<<"$out")
  check "the '$id' export conforms to the SKOS reference shapes ($n concepts)" [ $rc = 0 -a "${n:-0}" -gt 0 ]
done

# A concept with two prefLabels in one language, fed straight to the validator.
cat >"$TG_TMP/s14.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#"},
 "@graph": [{"@id": "urn:t:s", "@type": "skos:ConceptScheme"},
  {"@id": "urn:t:a", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:t:s"},
   "skos:prefLabel": [{"@value": "水位", "@language": "ja"}, {"@value": "河川水位", "@language": "ja"}]}]}
EOF
out=$(validate "$TG_TMP/s14.jsonld" 2>&1); rc=$?
v=$(grep -c 'UniqueLangConstraint' <<<"$out")
check "two prefLabels in one language are a violation (S14, uniqueLang; exit $rc)" [ $rc = 1 -a "$v" = 1 ]
# The alignment triple does not make every broader value acceptable: a broader
# value that is not a skos:Concept still violates sh:class.
cat >"$TG_TMP/cls.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#"},
 "@graph": [{"@id": "urn:t:s", "@type": "skos:ConceptScheme"},
  {"@id": "urn:t:a", "@type": "skos:Concept", "skos:prefLabel": {"@value": "a", "@language": "en"},
   "skos:broader": {"@id": "urn:t:not-a-concept"}}]}
EOF
out=$(validate "$TG_TMP/cls.jsonld" 2>&1); rc=$?
v=$(grep -c 'focus=urn:t:a path=http://www.w3.org/2004/02/skos/core#broader sh:ClassConstraint' <<<"$out")
check "a broader value that is not a skos:Concept is still a violation (sh:class; exit $rc)" [ $rc = 1 -a "$v" = 1 ]
# Remote contexts are refused: validation is offline.
printf '{"@context": "https://example.org/ctx.jsonld", "@id": "urn:t:a", "@type": "skos:Concept"}' >"$TG_TMP/remote.jsonld"
validate "$TG_TMP/remote.jsonld" >/dev/null 2>&1; rc=$?
check "a remote @context is refused, not fetched (exit $rc)" [ $rc = 2 ]
# The export stays plain SKOS: the alignment class appears only in the validator.
k=0
for id in $ids; do grep -q 'kos-kit' "$TG_TMP/$id.jsonld" && k=$((k + 1)); done
check "exports never mention the kos-kit namespace" [ "$k" = 0 ]
done_testing
