#!/bin/bash
# 10,000 concurrent idle keep-alive TLS connections are held while a normal
# client is still served quickly.
. "$top_srcdir/tests/lib.sh"
plan 4
N=${TG_MANY_CONNS:-10000}
tg_node_new many "[limits]
connections = 12000
connections_per_client = 12000
idle_timeout = 120s" && tg_node_start many || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url many)
pid=$(tg_node_pid many)
"$top_builddir/tests/tools/holdconns" "$(tg_node_addr many)" "$TG_TMP/many/node.crt" "$N" 15 "$TG_TMP/ready" >"$TG_TMP/hold.out" &
hpid=$!
for i in $(seq 1 1200); do [ -s "$TG_TMP/ready" ] && break; sleep 0.1; done
held=$(cat "$TG_TMP/ready" 2>/dev/null || echo 0)
open=$(tg_curl many "$url/metrics" | awk '/^tsunagu_open_connections /{print $2}')
check "$held of $N keep-alive connections established (node reports $open open)" [ "$held" = "$N" -a "${open:-0}" -ge "$N" ]
start=$(date +%s%N)
code=$(tg_curl many -o /dev/null -w '%{http_code}' "$url/healthz")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a normal client is served in ${ms} ms while they are held" [ "$code" = 200 -a "$ms" -lt 1000 ]
rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
diag "tsunagud RSS with $held idle TLS connections: $((rss / 1024)) MiB"
wait $hpid
check "all of them stayed open while held" grep -q "^open $N$" "$TG_TMP/hold.out"
check "the node is still healthy" tg_curl many -f -o /dev/null "$url/healthz"
done_testing
