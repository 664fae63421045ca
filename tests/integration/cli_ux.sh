#!/bin/bash
# The CLI in the kubectl/gh tradition (issue 15): the command table of
# tsunagu(1) checked against the binary (every command, its --help, its exit
# codes), the node found from --dir, --url, TSUNAGU_DIR, TSUNAGU_URL or the
# current directory, where the token came from, dataset apply/edit, vocab
# import --replace and rm, {items, next} lists, search --theme by label,
# vocab convert FILE, bash completion, no ANSI codes in redirected output.
. "$top_srcdir/tests/lib.sh"
plan 53
OUT=$TG_TMP/all-output # everything the CLI printed, checked for ANSI codes at the end
T() { "$TSUNAGU" "$@" 2>>"$OUT" | tee -a "$OUT"; return "${PIPESTATUS[0]}"; }

# ---- the table in the man page ----------------------------------------------
# Rows between .TS and .TE of COMMAND TABLE: COMMAND<TAB>EXIT CODES<TAB>--json.
sed -n '/^\.SH COMMAND TABLE/,/^\.TE/p' "$top_srcdir/docs/tsunagu.1" |
  sed -n '/^\.TS/,/^\.TE/p' | sed '1,2d;$d' | sed 1d >"$TG_TMP/table"
check "the man page has a command table ($(wc -l <"$TG_TMP/table") rows)" [ "$(wc -l <"$TG_TMP/table")" -ge 30 ]
codes_of() { awk -F'\t' -v c="$1" '$1 == c {print $2}' "$TG_TMP/table"; }
bad=""
while IFS=$'\t' read -r cmd codes shape; do
  # shellcheck disable=SC2086
  out=$("$TSUNAGU" $cmd --help 2>&1); rc=$?
  [ $rc = 0 ] && [[ "$(head -1 <<<"$out")" == "usage: tsunagu $cmd"* ]] && [ -n "$shape" -a -n "$codes" ] || bad="$bad [$cmd --help: $rc]"
done <"$TG_TMP/table"
check "every command in the table answers --help with its own usage, exit 0 ($bad)" [ -z "$bad" ]
missing=""
for c in $("$TSUNAGU" --help | sed -n '/^Commands:/,/^$/p' | sed '1d' | awk '{print $1}'); do
  grep -q "^$c\b" "$TG_TMP/table" || missing="$missing $c"
done
check "every command of tsunagu --help is in the table ($missing)" [ -z "$missing" ]
"$TSUNAGU" frobnicate 2>/dev/null; a=$?; "$TSUNAGU" dataset lst 2>/dev/null; b=$?; "$TSUNAGU" vocab lst 2>/dev/null; c=$?
check "an unknown command and an unknown subcommand are both exit 2 ($a $b $c)" [ "$a$b$c" = 222 ]
out=$("$TSUNAGU" vocab import --help)
check "vocab import --help prints that subcommand only, with an example" \
  grep -q '^usage: tsunagu vocab import \[--replace\] FILE|-' <<<"$out" && ! grep -q 'vocab export' <<<"$out" && grep -q '^Example:' <<<"$out"

tg_node_new ux && tg_node_start ux || { echo "Bail out! node did not start"; exit 1; }
D=$TG_TMP/ux
URL=$(tg_node_url ux)
jq '.["@id"] = "river"' "$top_srcdir/examples/datasets/river.json" >"$TG_TMP/river.json"
cp "$top_srcdir/tests/cases/vocab/conv/a-city-water.ndjson" "$TG_TMP/in.ndjson"
echo '{"x": 1}' >"$TG_TMP/rec.ndjson"

# Unreachable (3) and refused (4), for a representative set, as the table says.
argsfor() { # the arguments a command needs to get as far as calling the node
  case $1 in
    "dataset show"|"dataset rm"|"dataset edit"|get) echo urn:tsunagu:ux:dataset:none ;;
    "dataset apply") echo "$TG_TMP/river.json" ;;
    put) echo "urn:tsunagu:ux:dataset:none $TG_TMP/rec.ndjson" ;;
    search) echo water ;;
    "vocab export"|"vocab rm") echo themes ;;
    "vocab import") echo "$top_srcdir/vocab/schemes/themes.jsonld" ;;
    "vocab search") echo 防災 ;;
    "vocab convert") echo "--profile a-city-water-to-waterobserved $TG_TMP/in.ndjson" ;;
  esac
}
reps=(info health metrics "dataset list" "dataset show" "dataset apply" "dataset rm" search get put
  "vocab schemes" "vocab export" "vocab search" "vocab import" "vocab convert" "vocab rm" "peer list" "prov show")
bad2=""; bad3=""; bad4=""; n3=0; n4=0
for cmd in "${reps[@]}"; do
  codes=$(codes_of "$cmd")
  # shellcheck disable=SC2086
  "$TSUNAGU" $cmd --no-such-option >/dev/null 2>&1; rc=$?
  [[ " $codes " == *" 2 "* && $rc = 2 ]] || bad2="$bad2 [$cmd: $rc, table: $codes]"
  # shellcheck disable=SC2046,SC2086
  "$TSUNAGU" --url https://127.0.0.1:1 --cacert "$D/node.crt" $cmd $(argsfor "$cmd") </dev/null >/dev/null 2>&1; rc=$?
  [[ " $codes " == *" 3 "* && $rc = 3 ]] && n3=$((n3 + 1)) || bad3="$bad3 [$cmd: $rc, table: $codes]"
  if [[ " $codes " == *" 4 "* ]]; then
    # shellcheck disable=SC2046,SC2086
    TSUNAGU_TOKEN=wrong "$TSUNAGU" --dir "$D" $cmd $(argsfor "$cmd") </dev/null >/dev/null 2>&1; rc=$?
    [ $rc = 4 ] && n4=$((n4 + 1)) || bad4="$bad4 [$cmd: $rc]"
  fi
done
check "an unknown option is exit 2 for ${#reps[@]} commands, as the table says ($bad2)" [ -z "$bad2" ]
check "an unreachable node is exit 3 for $n3 commands, as the table says ($bad3)" [ -z "$bad3" -a $n3 -ge 17 ]
check "a wrong token is exit 4 for $n4 commands, as the table says ($bad4)" [ -z "$bad4" -a $n4 -ge 12 ]
out=$(TSUNAGU_TOKEN=wrong "$TSUNAGU" --dir "$D" dataset list 2>&1)
check "a refused token says it came from TSUNAGU_TOKEN" grep -q "token came from TSUNAGU_TOKEN" <<<"$out"
echo wrong >"$TG_TMP/tok"
out=$("$TSUNAGU" --dir "$D" --token-file "$TG_TMP/tok" dataset list 2>&1)
check "  or from --token-file, naming the file" grep -q "token came from --token-file $TG_TMP/tok" <<<"$out"

# ---- finding the node ----------------------------------------------------------
out=$(cd "$D" && "$TSUNAGU" info); rc=$?
check "in the node's directory, info finds the node by itself ($rc)" [ $rc = 0 ] && grep -q "^node: *ux (ux)$" <<<"$out"
check "  and says so, and that the token is DIR/admin.token" \
  grep -q "^found by: *the current directory $D$" <<<"$out" && grep -q "^token: *DIR/admin.token ($D/admin.token)$" <<<"$out"
out=$(cd "$TG_TMP" && TSUNAGU_DIR=$D "$TSUNAGU" info)
check "TSUNAGU_DIR names the node" grep -q "^found by: *TSUNAGU_DIR $D$" <<<"$out"
out=$(cd "$TG_TMP" && TSUNAGU_URL=$URL "$TSUNAGU" --cacert "$D/node.crt" --json info)
check "TSUNAGU_URL names the node (--json: client.node_from)" [ "$(jq -r '.client.node_from + " " + .client.url' <<<"$out")" = "TSUNAGU_URL $URL" ]
out=$(cd "$D" && TSUNAGU_DIR=$TG_TMP/nowhere "$TSUNAGU" info 2>&1); rc=$?
check "TSUNAGU_DIR comes before the current directory ($rc)" [ $rc = 3 ] && grep -q "$TG_TMP/nowhere does not exist (from TSUNAGU_DIR)" <<<"$out"
out=$(TSUNAGU_DIR=$TG_TMP/nowhere "$TSUNAGU" --dir "$D" info 2>&1); rc=$?
check "--dir comes before TSUNAGU_DIR ($rc)" [ $rc = 0 ] && grep -q "^found by: *--dir $D$" <<<"$out"
out=$(cd "$D" && TSUNAGU_TOKEN=$(cat "$D/admin.token") "$TSUNAGU" info)
check "info says when the token comes from TSUNAGU_TOKEN" grep -q "^token: *TSUNAGU_TOKEN$" <<<"$out"
out=$(cd "$TG_TMP" && env -u TSUNAGU_DIR -u TSUNAGU_URL "$TSUNAGU" info 2>&1); rc=$?
check "no node anywhere is a usage error naming the ways (exit 2)" [ $rc = 2 ] && grep -q "TSUNAGU_DIR" <<<"$out"
mkdir "$TG_TMP/empty"
out=$("$TSUNAGU" --dir "$TG_TMP/empty" info 2>&1); rc=$?
check "a directory that is not a node's says so (exit 3)" [ $rc = 3 ] && grep -q "not a node directory" <<<"$out"

# ---- dataset apply and edit ------------------------------------------------------------
export TSUNAGU_DIR=$D
etag() { curl -sS --cacert "$D/node.crt" -H "Authorization: Bearer $(cat "$D/admin.token")" -D - -o /dev/null "$URL/api/v1/datasets/urn%3Atsunagu%3Aux%3Adataset%3Ariver" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'; }
out=$(T dataset apply "$TG_TMP/river.json"); rc=$?
check "apply of a new document creates it under the local id's full id ($out)" [ $rc = 0 -a "$out" = "created urn:tsunagu:ux:dataset:river" ]
e1=$(etag)
out=$(T dataset apply "$TG_TMP/river.json"); rc=$?
check "applying it again changes nothing and says so, exit 0 ($out)" [ $rc = 0 -a "$out" = "urn:tsunagu:ux:dataset:river unchanged" -a "$(etag)" = "$e1" ]
jq '.["dct:title"][0]["@value"] = "河川水位（改）"' "$TG_TMP/river.json" >"$TG_TMP/river2.json"
out=$(T --json dataset apply - <"$TG_TMP/river2.json"); rc=$?
check "a changed document updates it (from stdin, --json)" [ $rc = 0 -a "$(jq -r '"\(.changed) \(.created)"' <<<"$out")" = "true false" -a "$(etag)" != "$e1" ]
check "  the node holds the new title" [ "$(T --json dataset show urn:tsunagu:ux:dataset:river | jq -r '.["dct:title"][] | select(.["@language"] == "ja") | .["@value"]')" = "河川水位（改）" ]
jq 'del(.["@id"])' "$TG_TMP/river2.json" >"$TG_TMP/noid.json"
out=$(T dataset apply --id urn:tsunagu:ux:dataset:river "$TG_TMP/noid.json")
check "--id names the dataset of a document without @id ($out)" [ "$out" = "urn:tsunagu:ux:dataset:river unchanged" ]
out=$("$TSUNAGU" dataset apply "$TG_TMP/noid.json" 2>&1); rc=$?
check "a document without @id and no --id is a usage error" [ $rc = 2 ] && grep -q -- "--id" <<<"$out"
jq '.distribution.backend = "http://127.0.0.1:9/water"' "$top_srcdir/examples/datasets/plain/river-level.json" >"$TG_TMP/plain.json"
out=$(T dataset apply "$TG_TMP/plain.json"); rc=$?
check "apply of a plain-form document uses its id ($out)" [ $rc = 0 -a "$out" = "created urn:tsunagu:ux:dataset:river-level" ]
out=$(T dataset apply "$TG_TMP/plain.json"); rc=$?
check "  applied again it is unchanged ($out)" [ $rc = 0 -a "$out" = "urn:tsunagu:ux:dataset:river-level unchanged" ]
out=$(T dataset apply --id plain2 <(jq 'del(.id)' "$TG_TMP/plain.json")); rc=$?
check "  --id names a plain document without id ($out)" [ $rc = 0 -a "$out" = "created urn:tsunagu:ux:dataset:plain2" ]
out=$("$TSUNAGU" dataset add <(jq '.["@id"] = "urn:tsunagu:ux:dataset:river"' "$TG_TMP/river.json") 2>&1); rc=$?
check "dataset add of an existing @id points to apply (exit 1)" [ $rc = 1 ] && grep -q "tsunagu dataset apply" <<<"$out"
printf '#!/bin/sh\nsed -i "s/河川水位（改）/河川水位（編集）/" "$1"\n' >"$TG_TMP/ed.sh"
printf '#!/bin/sh\necho "{ broken" >"$1"\n' >"$TG_TMP/break.sh"
chmod +x "$TG_TMP/ed.sh" "$TG_TMP/break.sh"
out=$(EDITOR=$TG_TMP/ed.sh T dataset edit urn:tsunagu:ux:dataset:river); rc=$?
check "dataset edit applies what the editor saved ($out)" [ $rc = 0 -a "$out" = "updated urn:tsunagu:ux:dataset:river" ] &&
  [ "$(T --json dataset show urn:tsunagu:ux:dataset:river | jq -r '.["dct:title"][] | select(.["@language"] == "ja") | .["@value"]')" = "河川水位（編集）" ]
out=$(EDITOR=true T dataset edit urn:tsunagu:ux:dataset:river); rc=$?
check "an edit that changes nothing writes nothing ($out)" [ $rc = 0 -a "$out" = "urn:tsunagu:ux:dataset:river unchanged" ]
out=$(EDITOR=$TG_TMP/break.sh "$TSUNAGU" dataset edit urn:tsunagu:ux:dataset:river 2>&1); rc=$?
kept=$(grep -o '/tmp/tsunagu-edit-[A-Za-z0-9]*\.json' <<<"$out" | head -1)
check "a broken edit fails with line and column, and keeps the edit ($rc)" [ $rc = 1 -a -n "$kept" ] && [ -f "$kept" ] && grep -q "line 1" <<<"$out"
rm -f "$kept"

# ---- search --theme by label ---------------------------------------------------------------
check "search --theme finds the river dataset by label, English label, id, notation and IRI" \
  [ "$(for th in 防災 "disaster prevention" disaster-prevention T04 urn:tsunagu:vocab:themes:disaster-prevention; do T --json search --theme "$th" 水位 | jq -r '.items[0].id'; done | sort -u)" = urn:tsunagu:ux:dataset:river ]
out=$("$TSUNAGU" search --theme water 水位 2>&1); rc=$?
check "a theme the shipped scheme does not hold is an error, not an empty result" [ $rc = 1 ] && grep -q "no theme 'water'" <<<"$out"
check "the shipped examples use only themes the node knows" \
  [ -z "$(jq -r '.["dcat:theme"][]?["@id"] // empty' "$top_srcdir"/examples/datasets/*.json "$top_srcdir"/examples/datasets/*/*.json | grep '^urn:tsunagu:vocab:' | grep -v '^urn:tsunagu:vocab:themes:')" ]

# ---- vocab import --replace, vocab rm --------------------------------------------------------
cat >"$TG_TMP/s.jsonld" <<'EOF'
{"@context": {"skos": "http://www.w3.org/2004/02/skos/core#", "dct": "http://purl.org/dc/terms/"},
 "@graph": [{"@id": "urn:ux:vocab:g", "@type": "skos:ConceptScheme", "dct:identifier": "ux-g",
   "dct:title": {"@value": "UX", "@language": "en"}},
  {"@id": "urn:ux:g:1", "@type": "skos:Concept", "skos:inScheme": {"@id": "urn:ux:vocab:g"},
   "skos:prefLabel": {"@value": "第一観測所", "@language": "ja"}}]}
EOF
sed 's/第一観測所/第壱観測所/' "$TG_TMP/s.jsonld" >"$TG_TMP/s2.jsonld"
T vocab import "$TG_TMP/s.jsonld" >/dev/null
out=$("$TSUNAGU" vocab import "$TG_TMP/s2.jsonld" 2>&1); rc=$?
check "importing a changed scheme without --replace is refused, with the way to replace it" [ $rc = 1 ] && grep -q "vocab import --replace" <<<"$out"
out=$(T vocab import --replace "$TG_TMP/s2.jsonld"); rc=$?
check "vocab import --replace replaces it ($out)" [ $rc = 0 ] && grep -q "^replaced scheme ux-g" <<<"$out" && [ "$(T --json vocab search 第壱 | jq -r '.items[0].uri')" = urn:ux:g:1 ]
out=$(T vocab import --replace "$TG_TMP/s2.jsonld"); rc=$?
check "  and again (the If-Match is read each time)" [ $rc = 0 ]
out=$(T vocab rm ux-g); rc=$?
check "vocab rm removes a scheme" [ $rc = 0 ] && ! "$TSUNAGU" vocab export ux-g >/dev/null 2>&1
out=$(T vocab import --replace "$TG_TMP/s.jsonld"); rc=$?
check "--replace of a scheme the node does not hold imports it" [ $rc = 0 ] && grep -q "^imported scheme ux-g" <<<"$out"

# ---- one shape for lists, --json everywhere ---------------------------------------------------
T vocab profile put "$top_srcdir/tests/cases/vocab/conv/a-city-water.profile.json" >/dev/null
shape() { jq -e '(.items | type) == "array" and has("next")' >/dev/null; }
bad=""
for c in "dataset list" "vocab schemes" "vocab search 防災" "vocab profile list" "peer list" "metrics" "prov show" "search 水位"; do
  # shellcheck disable=SC2086
  T --json $c | shape || bad="$bad [$c]"
done
check "every list command's --json is {items, next} ($bad)" [ -z "$bad" ]
check "metrics --json honours the flag: samples with name, labels and value" \
  [ "$(T metrics --json | jq '[.items[] | select(.name == "tsunagu_http_requests_total" and (.labels | type) == "object" and (.value | type) == "number")] | length > 0')" = true ]
check "health --json is JSON" [ "$(T --json health | jq -r .status)" = ok ]
check "peer add --json is JSON" [ "$(T --json peer add ux2 https://127.0.0.1:9 | jq -r .node_id)" = ux2 ]

# ---- vocab convert FILE -----------------------------------------------------------------------
T vocab convert --lenient --profile a-city-water-to-waterobserved <"$TG_TMP/in.ndjson" >"$TG_TMP/c1" 2>/dev/null
T vocab convert --lenient --profile a-city-water-to-waterobserved "$TG_TMP/in.ndjson" >"$TG_TMP/c2" 2>/dev/null; rc=$?
check "vocab convert FILE reads the file as stdin would be read ($rc)" [ $rc = 0 -a -s "$TG_TMP/c2" ] && cmp -s "$TG_TMP/c1" "$TG_TMP/c2"
out=$("$TSUNAGU" vocab convert --profile a-city-water-to-waterobserved "$TG_TMP/missing" 2>&1); rc=$?
check "  a missing FILE is one line naming it" [ $rc = 1 -a "$(wc -l <<<"$out")" = 1 ] && grep -q missing <<<"$out"

# ---- completion -----------------------------------------------------------------------------
comp() { bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tsunagu; echo "${COMPREPLY[*]}"' _ "$top_srcdir/docs/completion/tsunagu" "$@"; }
check "bash completion completes a command" [ "$(comp tsunagu datas)" = dataset ]
check "  a subcommand" [ "$(comp tsunagu vocab im)" = import ]
check "  a sub-subcommand" [ "$(comp tsunagu --dir x vocab profile '')" = "put list" ]
check "  an option" [ "$(comp tsunagu vocab import --rep)" = --replace ]
missing=""
for c in $("$TSUNAGU" --help | sed -n '/^Commands:/,/^$/p' | sed '1d' | awk '{print $1}'); do
  [ "$(comp tsunagu "$c")" = "$c" ] || missing="$missing $c"
done
check "  every command of tsunagu --help ($missing)" [ -z "$missing" ]
check "the zsh completion names every command too" \
  [ -z "$(for c in $("$TSUNAGU" --help | sed -n '/^Commands:/,/^$/p' | sed '1d' | awk '{print $1}'); do grep -q "'$c:" "$top_srcdir/docs/completion/_tsunagu" || echo "$c"; done)" ]

# ---- no ANSI codes in redirected output ---------------------------------------------------
check "nothing the CLI wrote to files and pipes here holds an ANSI escape ($(wc -c <"$OUT") bytes)" \
  [ -s "$OUT" ] && ! grep -q $'\x1b' "$OUT"
done_testing
