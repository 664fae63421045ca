#!/bin/bash
# Limits: header size (431), body size (413), time to receive headers and
# body (408), idle keep-alive, connections per client and in total (503), and
# a crowd of slow clients that must not stop a normal request.
. "$top_srcdir/tests/lib.sh"
RAW="$top_builddir/tests/tools/rawtls"
plan 15

tg_node_new lim "[limits]
header_bytes = 4k
body_bytes = 1k
body_bytes.debug_echo = 1500
header_timeout = 1s
body_timeout = 1s
idle_timeout = 1s
connections_per_client = 400
[debug]
test_routes = on" && tg_node_start lim || { echo "Bail out! node did not start"; exit 1; }
addr=$(tg_node_addr lim)
ca=$TG_TMP/lim/node.crt
url=$(tg_node_url lim)

big=$(head -c 5000 /dev/zero | tr '\0' a)
out=$(printf "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n" | "$RAW" "$addr" "$ca")
check "a header section over header_bytes gets 431 and a close" [ "$(echo $out)" = "status 431 closed" ]
code=$(tg_curl lim -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary "$(head -c 2000 /dev/zero | tr '\0' b)" "$url/api/v1/debug/sink")
check "a body over body_bytes (Content-Length) gets 413" [ "$code" = 413 ]
code=$(tg_curl lim -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' --data-binary "$(head -c 2000 /dev/zero | tr '\0' b)" "$url/api/v1/debug/sink")
check "a chunked body over body_bytes gets 413" [ "$code" = 413 ]
# Answered early while the client is still sending: the node closes lingering,
# so the 413 is not destroyed by a reset.
head -c 3000000 /dev/zero >"$TG_TMP/3mb"
n413=0
for i in $(seq 1 10); do
  code=$(tg_curl lim -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary @"$TG_TMP/3mb" "$url/api/v1/debug/sink" 2>/dev/null)
  [ "$code" = 413 ] && n413=$((n413 + 1))
done
check "a 3 MB body over the limit gets its 413 every time ($n413 of 10)" [ "$n413" = 10 ]
code=$(tg_curl lim -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary "small" "$url/api/v1/debug/sink")
check "a body under the limit is accepted" [ "$code" = 200 ]
code=$(tg_curl lim -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary "$(head -c 2000 /dev/zero | tr '\0' b)" "$url/api/v1/debug/echo")
check "a route's own limit (body_bytes.debug_echo = 1500) applies to it alone" [ "$code" = 413 ]

start=$(date +%s%N)
out=$(printf "GET /healthz HTTP/1.1\r\nHost: a\r\n" | "$RAW" "$addr" "$ca" -t 4000)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "headers not finished within header_timeout get 408 and a close (${ms} ms)" [ "$(echo $out)" = "status 408 closed" -a $ms -lt 3500 ]
out=$(printf "POST /api/v1/debug/sink HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789" | "$RAW" "$addr" "$ca" -t 4000)
check "a body that stops arriving gets 408 and a close" [ "$(echo $out)" = "status 408 closed" ]
start=$(date +%s%N)
out=$(printf "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" | "$RAW" "$addr" "$ca" -t 4000)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "an idle keep-alive connection is closed after idle_timeout (${ms} ms)" [ "$(echo $out)" = "status 200 closed" -a $ms -ge 900 -a $ms -lt 3500 ]
# Slow headers: one byte every 300 ms never finishes within header_timeout,
# however steadily the bytes come (no slowloris).
out=$(printf "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: 0123456789\r\n\r\n" | "$RAW" "$addr" "$ca" -d 300 -t 6000)
check "a trickling client gets 408, not more time" [ "$(echo $out | cut -d' ' -f1-2)" = "status 408" ]

check "the node survived all of it" tg_curl lim -f -o /dev/null "$url/healthz"

# Hundreds of slow clients do not stop a normal request.
tg_node_new slow "[limits]
header_timeout = 30s
handshake_timeout = 30s
connections_per_client = 1000" && tg_node_start slow || { echo "Bail out! node did not start"; exit 1; }
pids=""
for i in $(seq 1 300); do
  printf "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: 0123456789abcdef\r\n\r\n" | "$RAW" "$(tg_node_addr slow)" "$TG_TMP/slow/node.crt" -d 300 -t 20000 >/dev/null 2>&1 &
  pids="$pids $!"
done
t_end=$(( $(date +%s) + 30 )) # 300 sanitizer-built clients start slowly on a loaded machine
while :; do
  open=$(tg_curl slow "$(tg_node_url slow)/metrics" | awk '/^tsunagu_open_connections /{print $2}')
  [ "${open:-0}" -ge 290 ] || [ "$(date +%s)" -ge "$t_end" ] && break
  sleep 0.2
done
start=$(date +%s%N)
code=$(tg_curl slow -o /dev/null -w '%{http_code}' "$(tg_node_url slow)/healthz")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "with $open slow connections open, a normal request is answered in ${ms} ms" [ "$code" = 200 -a "$ms" -lt 1000 -a "${open:-0}" -ge 290 ]
kill $pids 2>/dev/null; wait $pids 2>/dev/null

# Connection limits: the 4th connection from one address is closed at accept,
# before any TLS work (a crowd of them costs the node nothing to refuse).
tg_node_new few "[limits]
connections_per_client = 3" && tg_node_start few || { echo "Bail out! node did not start"; exit 1; }
pids=""
for i in 1 2 3; do
  printf "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" | "$RAW" "$(tg_node_addr few)" "$TG_TMP/few/node.crt" -t 3000 >/dev/null &
  pids="$pids $!"
done
sleep 0.7
out=$(printf "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" | "$RAW" "$(tg_node_addr few)" "$TG_TMP/few/node.crt" -t 2000)
check "over connections_per_client: closed before the handshake ($out)" [ "$(echo $out)" = "handshake-failed" ]
wait $pids 2>/dev/null
sleep 0.3
out=$(printf "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" | "$RAW" "$(tg_node_addr few)" "$TG_TMP/few/node.crt" -t 2000)
check "once they close, the client is served again" [ "$(echo $out)" = "status 200 closed" ]
refused=$(tg_curl few "$(tg_node_url few)/metrics" | awk '/^tsunagu_connections_refused_total /{print $2}')
check "the refusal is counted in tsunagu_connections_refused_total ($refused)" [ "${refused:-0}" -ge 1 ]
done_testing
