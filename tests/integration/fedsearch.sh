#!/bin/bash
# Federated search, live: five real nodes over mutual TLS. a (the CA), b, c,
# d, e register; a..d peer with everyone, e only with d. Water datasets on a,
# b and d. Checks: c's federated search merges the hits of a, b and d with
# their owners, deterministically, and pages consistently; a killed peer and
# a stopped one are marked and do not hold the answer past its deadline; e
# finds a's datasets through d within two hops, each node asked once; a
# dataset whose policy hides it from c is not in c's answer.
. "$top_srcdir/tests/lib.sh"
plan 29

T() { "$TSUNAGU" --dir "$TG_TMP/$1" "${@:2}"; }
tg_fed_hub a "Search Federation" "$(printf '[federation]\npeer_check = 0')" || { echo "Bail out! a did not start"; exit 1; }
hub=$HUB
for n in b c d e; do
  tg_fed_join "$n" "$(printf '[federation]\npeer_check = 0\nharvest_interval = 1s')" || { echo "Bail out! $n did not join"; exit 1; }
done
for n in a b c d; do T "$n" peer sync --hub "$hub" >/dev/null 2>&1; done
T e peer add d "$(tg_node_url d)" >/dev/null
# a's directory lists e too; a..d know e, but e knows only d. For the chain
# test d must not pass e's question back: the via-list sees to that.

publish() { # NODE FILE SLUG [ASSIGNEE-JQ]
  local f=$TG_TMP/$3.json
  # Open to the federation unless the caller says otherwise.
  jq 'del(.["@id"]) | .["odrl:hasPolicy"] = {"@type": "odrl:Offer", "odrl:permission": [{"odrl:action": {"@id": "odrl:use"}, "odrl:assignee": {"@id": "urn:tsunagu:federation"}}]}' \
    "$top_srcdir/examples/datasets/$2" >"$f"
  [ -n "${4:-}" ] && jq "$4" "$f" >"$f.x" && mv "$f.x" "$f"
  curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TG_TMP/$1/admin.token")" \
    -H 'Content-Type: application/ld+json' -H "Slug: $3" --data-binary @"$f" "$(tg_node_url "$1")/api/v1/datasets"
}
st="$(publish a river.json river)$(publish b b-town/river-mid.json river-mid)$(publish d dam.json dam)$(publish c c-village/shelters.json shelters)"
# a's second water dataset is for b only: c must never see it.
st="$st$(publish a rain.json rain-b-only '.["dct:title"] = [{"@value": "水位 非公開", "@language": "ja"}] | .["odrl:hasPolicy"] = {"@type": "odrl:Offer", "odrl:permission": [{"odrl:action": {"@id": "odrl:use"}, "odrl:assignee": {"@id": "urn:tsunagu:node:b"}}]}')"
check "datasets published on a, b, c, d ($st)" [ "$st" = 201201201201201 ]

O=$TG_TMP/out
fsearch() { # NODE QUERY-STRING: the answer in $O, the status printed
  curl -sS --cacert "$CA/ca.crt" -o "$O" -w '%{http_code}' -H "Authorization: Bearer $(cat "$TG_TMP/$1/admin.token")" \
    "$(tg_node_url "$1")/api/v1/search?scope=federation&$2"
}
# The live tests say mode=live; the harvested and auto modes come after.
q=$(jq -rn --arg q 水位 '$q|@uri')
st=$(fsearch c "q=$q&limit=10&mode=live")
owners=$(jq -r '[.items[].owner] | sort | unique | join(",")' "$O")
check "c's federated search for 水位 has hits of a, b and d ($st, owners $owners)" [ "$st" = 200 -a "$owners" = a,b,d ]
check "  every source is listed with its status" [ "$(jq -r '[.sources[] | "\(.node)=\(.status)"] | sort | join(" ")' "$O")" = "a=ok b=ok c=ok d=ok e=ok" ]
check "  hits carry their owner's URL" [ "$(jq -r '.items[] | select(.owner == "b") | .owner_url' "$O" | head -1)" = "$(tg_node_url b)" ]
check "  and never the backend or the mode" [ -z "$(jq -r '.. | objects | select(has("tsunagu:backend") or has("tsunagu:mode")) | 1' "$O")" ]
check "  a's dataset for b only is not there" [ -z "$(jq -r '.items[] | select(.id == "urn:tsunagu:a:dataset:rain-b-only") | 1' "$O")" ]
# Facets count every match, hidden ones too: a node asking gets none.
curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/c/node.crt" --key "$TG_TMP/c/node.key" -o "$O" "$(tg_node_url a)/api/v1/search?q=$q&facets=true"
check "a peer's local search with facets=true gets none, withheld" [ "$(jq -c '[.facets, .facets_withheld]' "$O")" = '[null,true]' ]
curl -sS --cacert "$CA/ca.crt" -H "Authorization: Bearer $(cat "$TG_TMP/a/admin.token")" -o "$O" "$(tg_node_url a)/api/v1/search?q=$q&facets=true"
check "  while a's own user gets them" [ "$(jq -r '.facets | length' "$O")" -gt 0 -a "$(jq -r '.facets_withheld // false' "$O")" = false ]
fsearch c "q=$q&limit=10&mode=live&facets=true" >/dev/null
check "  and c's live federated answer says its facets are partial" [ "$(jq -r '.facets_partial' "$O")" = true ]
ids1=$(jq -c '[.items[].id]' "$O")
fsearch c "q=$q&limit=10&mode=live" >/dev/null
check "  the ranking is the same when asked again" [ "$(jq -c '[.items[].id]' "$O")" = "$ids1" ]
pages=""
for off in 0 1 2; do fsearch c "q=$q&limit=1&offset=$off&mode=live" >/dev/null; pages="$pages$(jq -r '.items[0].id' "$O") "; done
check "  pages of one hit follow the same order ($pages)" [ "$(jq -r '.[0:3] | join(" ")' <<<"$ids1") " = "$pages" ]
st=$(fsearch b "q=$q&limit=10&mode=live")
check "b, which a's policy lets see it, finds a's dataset for b ($st)" [ -n "$(jq -r '.items[] | select(.id == "urn:tsunagu:a:dataset:rain-b-only") | 1' "$O")" ]

# The CLI: a table with owners, one status line per source on stderr.
out=$(T c search --scope federation --mode live 水位 2>"$TG_TMP/cli.err")
rc=$?
cli_ok() { [ "$rc" = 0 ] && grep -q ' a  .*urn:tsunagu:a:dataset:river$' <<<"$out" && grep -q ' b  .*urn:tsunagu:b:dataset:river-mid$' <<<"$out"; }
check "tsunagu search --scope federation 水位 on c lists a's, b's and d's datasets with owners ($rc)" cli_ok
check "  and says how each source did" [ "$(grep -c '^source [a-e]: ok' "$TG_TMP/cli.err")" = 5 ]
T c search --scope galaxy 水位 >/dev/null 2>"$TG_TMP/cli.err"
check "  a bad --scope is a one-line error and a non-zero exit" [ $? != 0 -a "$(wc -l <"$TG_TMP/cli.err")" = 1 ]

# Harvested: c follows its peers' feeds (a round ran when its peers were
# synced); the answer needs no network call and names each source's age.
for _ in $(seq 1 50); do
  fsearch c "q=$q&limit=10&mode=harvested" >/dev/null
  [ "$(jq -r '[.items[].owner] | sort | unique | join(",")' "$O")" = a,b,d ] && break
  sleep 0.2
done
st=$(fsearch c "q=$q&limit=10&mode=harvested")
check "harvested mode: c finds a's, b's and d's datasets in its index ($st)" [ "$st" = 200 -a "$(jq -r '[.items[].owner] | sort | unique | join(",")' "$O")" = a,b,d -a "$(jq -r .mode "$O")" = harvested ]
check "  each peer is a harvested source with its age" [ "$(jq -r '[.sources[] | select(.status == "harvested") | .node] | sort | join(",")' "$O")" = a,b,d,e -a "$(jq -r '[.sources[] | select(.status == "harvested") | .age_s | type] | unique | join(",")' "$O")" = number ]
check "  the same ids as live mode" [ "$(jq -c '[.items[].id] | sort' "$O")" = "$(jq -c 'sort' <<<"$ids1")" ]
marked() { jq -r '[.items[] | (.dataset["@id"] == .id) and ((.highlight.title // "") + (.highlight.description // "") | test("<mark>"))] | (length > 0 and all)' "$O"; }
check "  every hit from c's index carries its dataset and a highlight" [ "$(marked)" = true ]
fsearch c "q=$(jq -rn --arg q 'shelters OR 水位' '$q|@uri')&limit=10&mode=harvested" >/dev/null
check "  and so do c's own (one page of c's and its peers' hits for 'shelters OR 水位')" [ "$(marked)" = true -a "$(jq -r '[.items[].owner] | sort | unique | join(",")' "$O")" = a,b,c,d ]
fsearch c "q=$q&limit=10&mode=harvested" >/dev/null
check "  and a's dataset for b only was never harvested" [ -z "$(jq -r '.items[] | select(.id == "urn:tsunagu:a:dataset:rain-b-only") | 1' "$O")" ]
st=$(fsearch c "q=$q&limit=10")
check "auto (the default) takes the fresh harvest and asks nobody live ($st)" [ "$st" = 200 -a "$(jq -r .mode "$O")" = auto -a "$(jq -r '[.sources[] | select(.status == "ok") | .node] | join(",")' "$O")" = c ]

# Two hops: e knows only d; d asks a, b and c for it, and not e again.
st=$(fsearch e "q=$q&limit=10&hops=1&mode=live")
check "e with one hop sees only d's hits ($st, $(jq -r '[.items[].owner] | unique | join(",")' "$O"))" [ "$(jq -r '[.items[].owner] | unique | join(",")' "$O")" = d ]
st=$(fsearch e "q=$q&limit=10&mode=live")
check "e with two hops finds a's and b's datasets through d ($st)" [ "$(jq -r '[.items[].owner] | sort | unique | join(",")' "$O")" = a,b,d -a "$(jq -r '[.items[] | select(.owner == "a") | .via] | unique | join(",")' "$O")" = d ]
check "  every node was asked once" [ "$(jq -r '[.sources[].node] | sort | join(",")' "$O")" = a,b,c,d,e ]

# A killed peer and a stopped one.
kill -KILL "$(tg_node_pid b)"
kill -STOP "$(tg_node_pid d)"
t0=$(date +%s%N)
st=$(fsearch c "q=$q&limit=10&timeout=1000&mode=live")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -CONT "$(tg_node_pid d)"
check "with b killed and d stopped, c answers within the deadline ($st in $ms ms)" [ "$st" = 200 -a "$ms" -lt 2500 ]
check "  b is marked error, d timeout" [ "$(jq -r '[.sources[] | select(.node == "b" or .node == "d") | "\(.node)=\(.status)"] | sort | join(" ")' "$O")" = "b=error d=timeout" ]
check "  and a's hits are there" [ -n "$(jq -r '.items[] | select(.owner == "a") | 1' "$O")" ]
st=$(fsearch c "q=$q&mode=sometimes")
check "a bad mode is 400 bad-parameter ($st)" [ "$st" = 400 -a "$(jq -r .parameter "$O")" = mode ]
done_testing
