#!/bin/bash
# Harvesting peers' catalogs: a (the CA, a publisher), b (a publisher) and c
# (harvest_interval = 1s). c's index (harvest.db, GET /api/v1/harvest,
# /api/v1/locate) gets what a and b let it see and nothing else: a dataset
# whose policy hides it from c is in neither a's feed nor its DSP catalog as
# c's certificate sees them, and never reaches c. Deletions and policy changes
# propagate, peer rm and revocation drop a peer's datasets, and a peer that
# answers garbage, goes backwards, never ends, sends a page dense with JSON
# values or publishes another node's ids (or ids 100 KB long) is refused (or
# bounded) and shown.
. "$top_srcdir/tests/lib.sh"
plan 58

T() { "$TSUNAGU" --dir "$TG_TMP/$1" "${@:2}"; }
tg_fed_hub a "Harvest Federation" || { echo "Bail out! a did not start"; exit 1; }
a=$HUB
fp=$HUB_FP
for n in b c; do
  conf=""; [ "$n" = c ] && conf="$(printf '[federation]\nharvest_interval = 1s\ncrl_refresh = 1s')"
  tg_fed_join "$n" "$conf" || { echo "Bail out! $n did not join"; exit 1; }
done
b=$(tg_node_url b)
c=$(tg_node_url c)

# Publishing: river (the default policy: every member), secret (b only),
# park (every member, hidden later); b publishes one dataset.
pub() { # NODE SLUG ASSIGNEE|- [TITLE]
  local tok; tok=$(cat "$TG_TMP/$1/admin.token")
  jq --arg who "urn:tsunagu:node:$3" --arg t "${4:-}" '
      del(.["@id"], .["dcat:distribution"])
      | if $mode == "-" then del(.["odrl:hasPolicy"]) else .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": $who}] end
      | if $t != "" then .["dct:title"] = [{"@value": $t, "@language": "ja"}] else . end' \
    --arg mode "$3" "$top_srcdir/examples/datasets/river.json" >"$TG_TMP/$2.json"
  curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/ld+json' -X PUT --data-binary @"$TG_TMP/$2.json" \
    "$(tg_node_url "$1")/api/v1/datasets/urn:tsunagu:$1:dataset:$2"
}
s="$(pub a river -)$(pub a secret b)$(pub a park - 公園の遊具点検)$(pub b bridge - 橋梁点検)"
check "a publishes three datasets and b one ($s)" [ "$s" = 201201201201 ]

# c follows a and b from the moment they are its peers (peer sync kicks a round).
T c peer sync --hub "$a" >/dev/null 2>&1
CTOK=$(cat "$TG_TMP/c/admin.token")
hv() { curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" "$c/api/v1/harvest"; }
count() { hv | jq --arg n "$1" '[.sources[] | select(.node == $n) | .datasets] | add // 0'; }
ids() { tg_sql "$TG_TMP/c/harvest.db" "SELECT id FROM cat_dataset ORDER BY id" | tr '\n' ' '; }
wait_for() { for _ in $(seq 1 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
t0=$(date +%s.%N)
wait_for '[ "$(count a)" = 2 -a "$(count b)" = 1 ]'
el=$(echo "$(date +%s.%N) - $t0" | bc)
check "c harvests a's two visible datasets and b's one (${el}s): $(ids)" [ "$(count a)" = 2 -a "$(count b)" = 1 ]
check "  the hidden one is not in c's index" [ -z "$(ids | grep secret)" ]
h=$(hv)
check "  GET /api/v1/harvest shows a ok with its last seq and harvest time" [ "$(jq -r '.sources[] | select(.node == "a") | "\(.status) \(.last_seq > 0) \(.harvested_at > 0)"' <<<"$h")" = "ok true true" ]
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' "$c/api/v1/harvest")
check "  and needs the admin token ($st)" [ "$st" = 401 ]

# locate
loc() { curl -sS --cacert "$CA/ca.crt" "$c/api/v1/locate?dataset=$1"; }
l=$(loc urn:tsunagu:a:dataset:river)
check "locate finds river in the index, owned by a at a's URL ($l)" [ "$(jq -r '"\(.owner) \(.source) \(.url) \(.harvested_at > 0)"' <<<"$l")" = "a index $a true" ]
l=$(loc urn:tsunagu:b:dataset:nothing-yet)
check "locate falls back to the id's node and the peers table ($l)" [ "$(jq -r '"\(.owner) \(.source) \(.url)"' <<<"$l")" = "b directory $b" ]
st=$(curl -sS --cacert "$CA/ca.crt" -o "$TG_TMP/loc.json" -w '%{http_code}' "$c/api/v1/locate?dataset=urn:tsunagu:zz:dataset:x")
check "locate of an unknown owner is 404 unknown-owner ($st)" [ "$st" = 404 -a "$(jq -r .type "$TG_TMP/loc.json")" = urn:tsunagu:problem:unknown-owner ]
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' "$c/api/v1/locate?dataset=nonsense")
check "locate of a non-id is 400 ($st)" [ "$st" = 400 ]

# What c's certificate sees at a: the feed and the DSP catalog without secret.
CC=(--cacert "$CA/ca.crt" --cert "$TG_TMP/c/node.crt" --key "$TG_TMP/c/node.key")
f=$(curl -sS "${CC[@]}" "$a/api/v1/catalog/changes")
check "a's feed as c sees it gives secret as a delete without its document" [ "$(jq -c '[.changes[] | select(.id == "urn:tsunagu:a:dataset:secret") | [.op, has("dataset")]]' <<<"$f")" = '[["delete",false]]' ]
f=$(curl -sS --cacert "$CA/ca.crt" "$a/api/v1/catalog/changes")
check "  while an anonymous reader still sees it" [ "$(jq -r '.changes[] | select(.id == "urn:tsunagu:a:dataset:secret") | .op' <<<"$f")" = upsert ]
f=$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/b/node.crt" --key "$TG_TMP/b/node.key" "$a/api/v1/catalog/changes")
check "  and b, whom its policy names, sees it" [ "$(jq -r '.changes[] | select(.id == "urn:tsunagu:a:dataset:secret") | .op' <<<"$f")" = upsert ]
d=$(curl -sS "${CC[@]}" -H 'Content-Type: application/json' -d '{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}' "$a/dsp/catalog/request")
check "a's DSP catalog as c sees it lists river and park only" [ "$(jq -c '[.dataset[]["@id"]] | sort' <<<"$d")" = '["urn:tsunagu:a:dataset:park","urn:tsunagu:a:dataset:river"]' ]
st=$(curl -sS "${CC[@]}" -o /dev/null -w '%{http_code}' "$a/dsp/catalog/datasets/urn%3Atsunagu%3Aa%3Adataset%3Asecret")
check "  and its DSP dataset secret is 404 for c ($st)" [ "$st" = 404 ]
st=$(curl -sS "${CC[@]}" -o /dev/null -w '%{http_code}' "$a/api/v1/datasets/urn:tsunagu:a:dataset:secret")
check "  so is the catalog API's dataset secret ($st)" [ "$st" = 404 ]
l=$(curl -sS "${CC[@]}" "$a/api/v1/datasets?limit=100")
ls_ids=$(jq -r '.datasets[]["@id"]' <<<"$l" | sort | tr '\n' ' ')
check "  and the catalog API's lists leave it out for c ($ls_ids)" [ "$ls_ids" = "urn:tsunagu:a:dataset:park urn:tsunagu:a:dataset:river " -a -z "$(curl -sS "${CC[@]}" "$a/api/v1/catalog" | grep -o 'a:dataset:secret')" -a -n "$(curl -sS "${CC[@]}" "$a/api/v1/catalog" | grep -o 'a:dataset:river')" ]

# Changes propagate: a deletion, a policy change hiding park.
ATOK=$(cat "$TG_TMP/a/admin.token")
curl -sS --cacert "$CA/ca.crt" -o /dev/null -H "Authorization: Bearer $ATOK" -X DELETE "$a/api/v1/datasets/urn:tsunagu:a:dataset:river"
wait_for '[ -z "$(ids | grep river)" ]'
check "a deletion on a leaves c's index within a round: $(ids)" [ -z "$(ids | grep river)" ]
s=$(pub a park b 公園の遊具点検)
wait_for '[ -z "$(ids | grep park)" ]'
check "a policy change hiding park from c removes it ($s): $(ids)" [ -z "$(ids | grep park)" ]
s=$(pub b bridge - 橋梁の定期点検)
wait_for '[ "$(tg_sql "$TG_TMP/c/harvest.db" "SELECT version FROM cat_dataset WHERE id = '"'urn:tsunagu:b:dataset:bridge'"'")" = 2 ]'
check "an update on b reaches c at b's version" [ "$(tg_sql "$TG_TMP/c/harvest.db" "SELECT version FROM cat_dataset WHERE id = 'urn:tsunagu:b:dataset:bridge'")" = 2 ]

# A peer that answers garbage, then publishes another node's dataset id.
"$TSUNAGU" init --dir "$TG_TMP/g" --id g --listen 127.0.0.1:0 >/dev/null
"$TSUNAGU" csr --dir "$TG_TMP/g" >"$TG_TMP/g.csr"
"$TSUNAGU" ca sign --dir "$CA" --node g --hosts 127.0.0.1 "$TG_TMP/g.csr" >"$TG_TMP/g/node.crt" 2>/dev/null
echo garbage >"$TG_TMP/g.mode"
node "$top_srcdir/tests/tools/fake-feed.mjs" "$TG_TMP/g/node.key" "$TG_TMP/g/node.crt" "$TG_TMP/g.mode" >"$TG_TMP/g.port" &
TG_PIDS="$TG_PIDS $!"
wait_for '[ -s "$TG_TMP/g.port" ]'
T c peer add g "https://127.0.0.1:$(cat "$TG_TMP/g.port")" >/dev/null
gs() { hv | jq -r --arg f "$1" '.sources[] | select(.node == "g") | .[$f]'; }
wait_for '[ "$(gs status)" = failing ]'
check "a peer answering garbage is failing in the harvest status ($(gs error))" grep -q "not JSON" <<<"$(gs error)"
wait_for 'curl -sS --cacert "$CA/ca.crt" "$c/metrics" | grep -q "^tsunagu_harvest_failures_total{peer=\"g\"} [1-9]"'
check "  and counted in /metrics" grep -q '^tsunagu_harvest_failures_total{peer="g"} [1-9]' <<<"$(curl -sS --cacert "$CA/ca.crt" "$c/metrics")"
echo foreign >"$TG_TMP/g.mode"
kill -HUP "$(tg_node_pid c)" # a round now, backoff or not
wait_for '[ "$(gs refused)" -ge 1 ] 2>/dev/null'
check "a peer publishing a's dataset id is refused ($(gs last_refused | jq -c .))" [ "$(gs refused)" -ge 1 -a -n "$(gs last_refused | jq -r '.[].reason' | grep 'may publish only urn:tsunagu:g:')" ]
check "  the forged dataset is not in the index" [ -z "$(ids | grep forged)" ]
check "  the refusal is counted in /metrics" grep -q '^tsunagu_harvest_refused_total{peer="g"} [1-9]' <<<"$(curl -sS --cacert "$CA/ca.crt" "$c/metrics")"
check "  and logged" grep -q "harvest of g: refused urn:tsunagu:a:dataset:forged" "$TG_TMP/c/tsunagud.log"
echo backwards >"$TG_TMP/g.mode"
kill -HUP "$(tg_node_pid c)"
wait_for '[ "$(gs status)" = failing ]'
check "a feed that goes backwards is refused ($(gs error))" grep -q "went backwards" <<<"$(gs error)"
rounds() { curl -sS --cacert "$CA/ca.crt" "$c/metrics" | sed -n 's/^tsunagu_harvest_rounds_total{peer="g"} //p'; }
seq_before=$(gs last_seq); r0=$(rounds)
echo endless >"$TG_TMP/g.mode"
kill -HUP "$(tg_node_pid c)"
wait_for '[ "$(rounds)" -ge $((r0 + 2)) ]'
r1=$(rounds); s1=$(gs last_seq)
check "an endless feed is followed at most 100 pages a round: rounds end ($r0 -> $r1 rounds, last_seq $seq_before -> $s1)" [ "$r1" -ge $((r0 + 2)) -a $((s1 - seq_before)) -le $(( (r1 - r0 + 1) * 100 )) -a "$(gs status)" = ok ]
check "  and logged as nothing worse" [ -z "$(grep 'harvest of g failed' "$TG_TMP/c/tsunagud.log" | grep -v -e 'not JSON' -e 'backwards')" ]

# A slow peer (each page 700 ms late, always more) takes at most
# harvest_peer_time (2s here) of a round, not 100 pages' worth (70 s): its
# rounds end, a few pages each, and it is not failed.
sed -i 's/^harvest_interval = 1s$/harvest_interval = 1s\nharvest_peer_time = 2s/' "$TG_TMP/c/tsunagu.conf"
echo slow >"$TG_TMP/g.mode"
kill -HUP "$(tg_node_pid c)"
sleep 1
r0=$(rounds); s0=$(gs last_seq); t0=$(date +%s)
for _ in $(seq 1 300); do [ "$(rounds)" -ge $((r0 + 2)) ] && break; sleep 0.1; done # 100 pages would be 70 s a round
r1=$(rounds); s1=$(gs last_seq); t1=$(date +%s)
check "a slow peer's rounds end after harvest_peer_time ($r0 -> $r1 rounds in $((t1 - t0)) s, last_seq $s0 -> $s1)" [ "$r1" -ge $((r0 + 2)) -a $((t1 - t0)) -le 30 -a $((s1 - s0)) -le $(( (r1 - r0 + 1) * 6 )) -a "$(gs status)" = ok ]
sed -i '/^harvest_peer_time = 2s$/d' "$TG_TMP/c/tsunagu.conf"

# A page of 4 MiB of empty objects would take some 300 MB parsed: it is
# refused unparsed, as g's failure, and c's memory does not grow by it.
cpid=$(tg_node_pid c)
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$cpid/status"; }
fails() { curl -sS --cacert "$CA/ca.crt" "$c/metrics" | sed -n 's/^tsunagu_harvest_failures_total{peer="g"} //p'; }
m0=$(hwm); f0=$(fails)
echo flood >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ "$(gs status)" = failing ] && gs error | grep -q "JSON values"'
check "a page of 4 MiB of empty objects is refused unparsed ($(gs error))" grep -q "^the feed page has more than [0-9]* JSON values" <<<"$(gs error)"
check "  counted as g's failure in /metrics ($f0 -> $(fails))" [ "$(fails)" -gt "$f0" ]
check "  and logged" grep -q "harvest of g failed: the feed page has more than" "$TG_TMP/c/tsunagud.log"
m1=$(hwm)
check "  c's peak memory grew by $(( (m1 - m0) / 1024 )) MB (less than 200)" [ $((m1 - m0)) -lt 204800 ]
# A peer whose datasets are that rich (up to 100 distributions each): c asks
# for fewer changes a page and goes on, without failing it.
echo rich >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for 'grep -q "harvest of g: the feed page has more than .*; asking 125 changes a page" "$TG_TMP/c/tsunagud.log" && [ "$(gs status)" = ok ]'
check "a page too dense with values is asked for again with fewer changes, and g harvests ($(gs status))" [ "$(gs status)" = ok ]
# A change whose id is 100 KB long: refused, and the refusal keeps ~200 bytes of it.
r0=$(gs refused)
echo longid >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ "$(gs status)" = ok -a "$(gs refused)" -gt "$r0" ]'
check "c stays up and harvests g again afterwards ($(gs status))" [ "$(gs status)" = ok ]
lr=$(gs last_refused | jq -r '.[0].id')
check "  a change with a 100 KB id is refused ($(gs refused) refused)" [ "$(gs refused)" -gt "$r0" ]
lrb=$(printf %s "$lr" | wc -c)
check "  and its refusal keeps a short id ($lrb bytes, ending in …)" [ "$lrb" -le 203 ] && [[ "$lr" == urn:tsunagu:g:dataset:x*"…" ]]
check "  in hv_source too" [ "$(tg_sql "$TG_TMP/c/harvest.db" "SELECT length(last_refused) < 1000 FROM hv_source WHERE node = 'g'")" = 1 ]
# A feed whose Link rel="next" names another since than its page's
# last_seq: what c fetched ahead on the Link is dropped, and the feed is
# followed from the page's own last_seq.
echo liar >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ -n "$(ids | grep g:dataset:liar2)" ]'
check "a Link that disagrees with its page: the feed goes on from the page's last_seq (g: $(ids | grep g:dataset:liar | tr '\n' ' '))" [ -n "$(ids | grep g:dataset:liar1)" -a -n "$(ids | grep g:dataset:liar2)" -a "$(gs status)" = ok ]
check "  the page fetched on the Link is not applied" [ -z "$(ids | grep g:dataset:liarwrong)" ]
check "  and the disagreement is logged" grep -q "harvest of g: the feed's Link said since=" "$TG_TMP/c/tsunagud.log"
lb=$(head -n 1 "$TG_TMP/g.mode.since")
check "  the page fetched ahead came from the rel=\"next\" link, not the rel=\"last\" before it (asked: $(tr '\n' ' ' <"$TG_TMP/g.mode.since"))" grep -qx "$((lb + 7))" "$TG_TMP/g.mode.since"
# A page fetched ahead that fails (500) while the page before it is still
# being prepared: that page is written all the same, and g ends the round
# failing with the 500.
echo failahead >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ "$(gs status)" = failing ] && gs error | grep -q "answered 500"'
check "a page fetched ahead answers 500: g is failing ($(gs error))" grep -q "answered 500" <<<"$(gs error)"
check "  and the 1,000 datasets of the page before it are in c's index" [ "$(tg_sql "$TG_TMP/c/harvest.db" "SELECT count(*) FROM cat_dataset WHERE id LIKE 'urn:tsunagu:g:dataset:fa%'")" = 1000 ]
# A Link to a place that answers 500 while the page before is prepared: the
# page's own last_seq says where to go on, the failed fetch is abandoned
# with the rest fetched on the Link, and g does not fail.
l5f0=$(fails)
echo liar500 >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ -n "$(ids | grep g:dataset:l5end)" ]'
check "a Link to a 500 is abandoned with the page's last_seq: the feed goes on and g is ok ($(gs status), failures $l5f0 -> $(fails))" [ -n "$(ids | grep g:dataset:l5end)" -a "$(gs status)" = ok -a "$(fails)" = "$l5f0" ]
# A harvested search over an index much larger than c's own catalog: the
# two share the 1,000 ranked candidates by size (c's part gets ~10 of them),
# and when the index has no match c's part is searched again with the rest,
# so all 30 of c's matches are ranked and listed.
echo bulk >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ "$(tg_sql "$TG_TMP/c/harvest.db" "SELECT count(*) FROM cat_dataset WHERE id LIKE '"'urn:tsunagu:g:dataset:bulk%'"'")" = 3000 ]'
hp=""
for i in $(seq 1 30); do hp="$hp$(pub c "hippo$i" - "Hippo survey $i")"; done
check "c publishes 30 datasets of its own (all 201)" [ "$hp" = "$(printf '201%.0s' $(seq 1 30))" ]
hits=$(curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $CTOK" "$c/api/v1/search?scope=federation&mode=harvested&q=hippo&limit=100" | jq '[.items[] | select(.owner == "c")] | length')
check "a harvested search beside 3,000 harvested datasets lists all 30 of c's matches ($hits)" [ "$hits" = 30 ]
# A dataset with a key twice (its title): read as before, the last counting.
echo dupkey >"$TG_TMP/g.mode"
kill -HUP "$cpid"
wait_for '[ -n "$(ids | grep g:dataset:dup)" ]'
check "a dataset with a key twice is harvested, the last one counting ($(gs status))" [ "$(gs status)" = ok -a -n "$(tg_sql "$TG_TMP/c/harvest.db" "SELECT doc FROM cat_dataset WHERE id = 'urn:tsunagu:g:dataset:dup'" | grep 'dup second')" ]
echo foreign >"$TG_TMP/g.mode"
check "the metrics show a's last success age" grep -q '^tsunagu_harvest_last_success_age_seconds{peer="a"} [0-9]' <<<"$(curl -sS --cacert "$CA/ca.crt" "$c/metrics")"

# Removing a peer drops its datasets; so does revoking it.
pub a river - >/dev/null
wait_for '[ -n "$(ids | grep river)" ]'
check "river, published again, is back in c's index" [ -n "$(ids | grep a:dataset:river)" ]
T c peer rm a >/dev/null
wait_for '[ -z "$(ids | grep urn:tsunagu:a:)" ]'
check "tsunagu peer rm a drops a's datasets from c's index: $(ids)" [ -z "$(ids | grep urn:tsunagu:a:)" ]
check "  and a from the harvest status" [ -z "$(hv | jq -r '.sources[] | select(.node == "a") | .node')" ]
check "  with the reason logged" grep -q "harvest: dropped the 1 datasets of a (no longer a peer)" "$TG_TMP/c/tsunagud.log"
# b is stopped first: a revoked peer that cannot be reached shows no
# revocation in a failed fetch; c knows the serial b last showed (tsunagu
# peer list checks every peer) and finds it in the new CRL.
T c peer list >/dev/null
check "c keeps the serial of b's certificate" [ "$(tg_sql "$TG_TMP/c/tsunagu.db" "SELECT serial FROM peers WHERE node_id = 'b'")" = "$(openssl x509 -in "$TG_TMP/b/node.crt" -noout -serial | cut -d= -f2)" ]
kill -STOP "$(tg_node_pid b)"
out=$("$TSUNAGU" ca revoke --dir "$CA" --node b 2>&1)
check "the CA revokes b, stopped ($out)" grep -q "^revoked" <<<"$out"
wait_for '[ -z "$(ids | grep urn:tsunagu:b:)" ]'
check "b's datasets leave c's index once c has the new CRL: $(ids)" [ -z "$(ids | grep urn:tsunagu:b:)" ]
check "  with the reason logged" grep -q "harvest: dropped the 1 datasets of b (its certificate is revoked)" "$TG_TMP/c/tsunagud.log"
kill -CONT "$(tg_node_pid b)"
# (Shown once c's next round for b has failed: wait for it, not only for the drop.)
bstate() { hv | jq -r '.sources[] | select(.node == "b") | "\(.status) \(.datasets) \(.error)"'; }
bfailing() { bstate | grep '^failing 0 ' | grep -qi revoked; }
wait_for bfailing
check "  and b shown failing with the revocation ($(bstate | cut -c1-120))" bfailing

done_testing
