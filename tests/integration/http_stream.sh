#!/bin/bash
# Streaming with back-pressure: large bodies stream both ways intact, and a
# client that reads slowly does not make the node buffer the body in memory.
. "$top_srcdir/tests/lib.sh"
plan 5
tg_node_new st "[limits]
idle_timeout = 30s
[debug]
test_routes = on" && tg_node_start st || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url st)
pid=$(tg_node_pid st)
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

n=$(tg_curl st "$url/api/v1/debug/stream?bytes=104857600" | wc -c)
check "a 100 MiB streamed response arrives whole ($n bytes)" [ "$n" = 104857600 ]
n=$(tg_curl st "$url/api/v1/debug/stream?bytes=10485761&chunked=1" | wc -c)
check "a chunked streamed response arrives whole ($n bytes)" [ "$n" = 10485761 ]

head -c 20000000 /dev/urandom >"$TG_TMP/up"
want=$(sha256sum <"$TG_TMP/up" | cut -d' ' -f1)
got=$(tg_curl st -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' --data-binary @"$TG_TMP/up" "$url/api/v1/debug/echo" | sha256sum | cut -d' ' -f1)
check "a 20 MB chunked upload streams back through the echo route intact" [ "$got" = "$want" ]

# A slow reader: 1 GiB offered, read at 2 MB/s for 4 s. Without back-pressure
# the node would queue hundreds of MB; with it, memory stays flat.
base=$(rss "$pid")
tg_curl st --limit-rate 2M -m 4 -o /dev/null "$url/api/v1/debug/stream?bytes=1073741824" 2>/dev/null &
cpid=$!
peak=$base
for i in $(seq 1 35); do
  r=$(rss "$pid"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.1
done
wait $cpid 2>/dev/null
grow=$(( (peak - base) / 1024 ))
diag "RSS before ${base} kB, peak ${peak} kB while a slow reader was served"
check "a slow reader keeps the node's memory bounded (grew ${grow} MiB)" [ "$grow" -lt 32 ]

# A client that sends fast but never reads the echo: the node stops reading.
base=$(rss "$pid")
{ printf 'POST /api/v1/debug/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 60000000\r\n\r\n'; head -c 60000000 /dev/zero; } >"$TG_TMP/bigpost"
peak=$base
( timeout 4 "$top_builddir/tests/tools/rawtls" "$(tg_node_addr st)" "$TG_TMP/st/node.crt" -t 100 <"$TG_TMP/bigpost" >/dev/null 2>&1 ) &
cpid=$!
for i in $(seq 1 30); do
  r=$(rss "$pid"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.1
done
kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
grow=$(( (peak - base) / 1024 ))
check "a client that does not read the echo cannot make the node buffer (grew ${grow} MiB)" [ "$grow" -lt 32 ]
done_testing
