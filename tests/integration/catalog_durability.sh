#!/bin/bash
# Dataset writes are durable before their 201: a client streams POSTs and
# records every acknowledged id, the node is killed with SIGKILL mid-stream,
# and after a restart every acknowledged dataset is there.
. "$top_srcdir/tests/lib.sh"
CASES="$top_srcdir/tests/cases/catalog/http"
plan 5

tg_node_new a-city || { echo "Bail out! init failed"; exit 1; }
tg_node_start a-city || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a-city)
TOK=$(cat "$TG_TMP/a-city/admin.token")
ACK=$TG_TMP/acked
: >"$ACK"

# The writer: one POST after another until the node stops answering.
(
  i=0
  while [ $i -lt 5000 ]; do
    i=$((i + 1))
    s=$(tg_curl a-city -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/ld+json' -H "Slug: w$i" --data-binary @"$CASES/river.json" \
        "$url/api/v1/datasets" 2>/dev/null)
    case $s in
      201) echo "urn:tsunagu:a-city:dataset:w$i" >>"$ACK" ;;
      000) exit 0 ;;
    esac
  done
) &
writer=$!
# Let a good number of writes through, then kill the node in the middle of the stream.
for _ in $(seq 1 100); do [ "$(wc -l <"$ACK")" -ge 25 ] && break; sleep 0.05; done
kill -KILL "$(tg_node_pid a-city)"
wait "$writer"
n=$(wc -l <"$ACK")
check "the writer had writes acknowledged before the kill ($n)" [ "$n" -ge 25 ]

tg_node_start a-city || { echo "Bail out! node did not restart"; exit 1; }
url=$(tg_node_url a-city)
missing=0
while read -r id; do
  s=$(tg_curl a-city -o /dev/null -w '%{http_code}' "$url/api/v1/datasets/$(jq -rn --arg s "$id" '$s|@uri')")
  [ "$s" = 200 ] || { missing=$((missing + 1)); diag "lost $id ($s)"; }
done <"$ACK"
check "every acknowledged dataset is there after kill -9 and restart" [ $missing = 0 ]
total=$(tg_curl a-city "$url/api/v1/datasets?limit=1" | jq .total)
check "the catalog holds at least the acknowledged writes ($total >= $n)" [ "$total" -ge "$n" ]
check "at most one unacknowledged write made it (the one in flight)" [ "$total" -le $((n + 1)) ]
since=0; cnt=0
while :; do
  j=$(tg_curl a-city "$url/api/v1/catalog/changes?since=$since&limit=1000")
  cnt=$((cnt + $(jq '.changes | length' <<<"$j"))); since=$(jq .last_seq <<<"$j")
  [ "$(jq .more <<<"$j")" = true ] || break
done
check "the change feed after restart lists every dataset ($cnt)" [ "$cnt" = "$total" ]
done_testing
