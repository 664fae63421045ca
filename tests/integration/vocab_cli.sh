#!/bin/bash
# tsunagu vocab: import, export, schemes, search, profile put/list and convert (stdin
# streamed to the node, data to stdout, problems to stderr with pointers, exit status).
. "$top_srcdir/tests/lib.sh"
CONV="$top_srcdir/tests/cases/vocab/conv"
plan 16
tg_node_new vc && tg_node_start vc || { echo "Bail out! node did not start"; exit 1; }
T() { "$TSUNAGU" --dir "$TG_TMP/vc" "$@"; }

check "vocab --help shows the subcommands" grep -q 'tsunagu vocab convert --profile ID' <<<"$("$TSUNAGU" vocab --help)"
out=$(T vocab schemes)
check "vocab schemes lists the shipped schemes readably" [ "$(grep -c 'concepts' <<<"$out")" = 3 ]
cat >"$TG_TMP/s.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#", "dct": "http://purl.org/dc/terms/"},
 "@graph": [{"@id": "urn:c-city:vocab:gauges", "@type": "skos:ConceptScheme", "dct:identifier": "c-city-gauges",
   "dct:title": {"@value": "C市 量水標", "@language": "ja"}},
  {"@id": "urn:c-city:gauge:1", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:c-city:vocab:gauges"},
   "skos:prefLabel": [{"@value": "量水標第一", "@language": "ja"}, {"@value": "Gauge one", "@language": "en"}]}]}
EOF
out=$(T vocab import "$TG_TMP/s.jsonld")
check "vocab import FILE imports ($out)" grep -q '^imported scheme c-city-gauges (urn:c-city:vocab:gauges)' <<<"$out"
out=$(T vocab import "$TG_TMP/s.jsonld" 2>&1); rc=$?
check "importing it again fails with a reason and exit 1" [ $rc = 1 -a -n "$(grep -i 'exists' <<<"$out")" ]
jq '.["@graph"][1]["skos:prefLabel"] += [{"@value": "二つ目", "@language": "ja"}] | .["@graph"][0]["@id"] = "urn:d:s" | .["@graph"][0]["dct:identifier"] = "d" | .["@graph"][1]["@id"] = "urn:d:1" | .["@graph"][1]["skos:inScheme"]["@id"] = "urn:d:s"' "$TG_TMP/s.jsonld" >"$TG_TMP/bad.jsonld"
out=$(T vocab import - <"$TG_TMP/bad.jsonld" 2>&1); rc=$?
check "a refused import from stdin names the concept and the rule" [ $rc = 1 -a -n "$(grep 'urn:d:1: S14' <<<"$out")" ]
T vocab export c-city-gauges >"$TG_TMP/exp.jsonld"
check "vocab export prints the scheme as SKOS JSON-LD" \
  [ "$(jq -r '.["@graph"][] | select(.["@id"] == "urn:c-city:gauge:1") | .["skos:prefLabel"][] | select(.["@language"] == "ja") | .["@value"]' "$TG_TMP/exp.jsonld")" = 量水標第一 ]
out=$(T vocab export nope 2>&1); rc=$?
check "exporting an unknown scheme fails in one line" [ $rc = 1 -a "$(wc -l <<<"$out")" = 1 ]
check "vocab search finds a Japanese word" grep -q '^urn:c-city:gauge:1$' <<<"$(T vocab search 量水)"
check "vocab search --json is JSON" [ "$(T vocab search --json --scheme c-city-gauges gauge | jq -r '.items[0].uri')" = urn:c-city:gauge:1 ]

out=$(T vocab profile put "$CONV/a-city-water.profile.json")
check "vocab profile put stores a profile" grep -q '^stored profile a-city-water-to-waterobserved' <<<"$out"
check "vocab profile list lists it" grep -q '^a-city-water-to-waterobserved' <<<"$(T vocab profile list)"

T vocab convert --profile a-city-water-to-waterobserved <"$CONV/a-city-water.ndjson" >"$TG_TMP/out" 2>"$TG_TMP/err"; rc=$?
check "vocab convert writes the converted records to stdout, nothing else" cmp -s "$TG_TMP/out" "$CONV/a-city-water.expected"
check "the bad record goes to stderr by pointer, and strict mode exits 1 (exit $rc)" \
  [ $rc = 1 -a -n "$(grep '^tsunagu: /3/observed: .*平成' "$TG_TMP/err")" ]
T vocab convert --lenient --profile a-city-water-to-waterobserved <"$CONV/a-city-water.ndjson" >"$TG_TMP/out" 2>"$TG_TMP/err"; rc=$?
check "lenient mode keeps all five records, reports the value and exits 0 (exit $rc)" \
  [ $rc = 0 -a "$(wc -l <"$TG_TMP/out")" = 5 -a -n "$(grep '/3/observed' "$TG_TMP/err")" ]
out=$(T vocab convert --profile nope <"$CONV/a-city-water.ndjson" 2>&1 >/dev/null); rc=$?
check "an unknown profile fails with the node's reason" [ $rc = 1 -a -n "$(grep 'nope' <<<"$out")" ]

# A larger stream through the CLI: every record arrives, in order.
line=$(sed -n 2p "$CONV/a-city-water.ndjson")
yes "$line" | head -n 100000 | T vocab convert --ndjson --profile a-city-water-to-waterobserved >"$TG_TMP/big" 2>"$TG_TMP/err"; rc=$?
check "100,000 records stream through the CLI (exit $rc, $(wc -l <"$TG_TMP/big") lines)" \
  [ $rc = 0 -a "$(wc -l <"$TG_TMP/big")" = 100000 -a "$(sort -u "$TG_TMP/big" | wc -l)" = 1 ]
done_testing
