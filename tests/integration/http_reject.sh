#!/bin/bash
# Every request form on the reject list, sent as raw bytes over TLS to a real
# tsunagud, gets 400 and a closed connection; the node stays healthy.
. "$top_srcdir/tests/lib.sh"
RAW="$top_builddir/tests/tools/rawtls"

cases=(
  "CL with TE|POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
  "duplicate CL|POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
  "CL +5|POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"
  "CL '5 5'|POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello"
  "whitespace before colon|GET /healthz HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"
  "TE last coding not chunked|POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"
  "TE unknown coding|POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
  "bare LF line endings|GET /healthz HTTP/1.1\nHost: a\n\n"
  "bare CR|GET /healthz HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"
  "NUL in a header|GET /healthz HTTP/1.1\r\nHost: a\x00b\r\n\r\n"
  "obs-fold|GET /healthz HTTP/1.1\r\nHost: a\r\nX: b\r\n  c\r\n\r\n"
  "space in header name|GET /healthz HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n"
  "chunk size overflow|POST /api/v1/debug/sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n"
  "chunk data without CRLF|POST /api/v1/debug/sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"
  "malformed end of headers (CR X)|GET /healthz HTTP/1.1\r\nHost: a\r\n\rX"
  "malformed end of headers (LF)|GET /healthz HTTP/1.1\r\nHost: a\r\n\n"
)

plan $(( ${#cases[@]} + 4 ))
tg_node_new rej "[debug]
test_routes = on" && tg_node_start rej || { echo "Bail out! node did not start"; exit 1; }
addr=$(tg_node_addr rej)
ca=$TG_TMP/rej/node.crt

for c in "${cases[@]}"; do
  name=${c%%|*}
  req=${c#*|}
  out=$(printf "$req" | "$RAW" "$addr" "$ca" -t 3000)
  if [ "$(echo "$out" | head -1)" = "status 400" ] && [ "$(echo "$out" | tail -1)" = closed ]; then
    ok "$name: 400 and closed"
  else
    fail "$name: got $(echo $out)"
  fi
done

# A valid request on the same kind of connection is still answered and kept open.
out=$(printf 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n' | "$RAW" "$addr" "$ca" -t 500)
check "a valid request gets 200 and the connection stays open" [ "$(echo $out)" = "status 200 open" ]
body=$(printf 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello' | RAWTLS_DUMP=1 "$RAW" "$addr" "$ca" 2>&1 >/dev/null)
check "the 400 is problem+json" grep -q 'Content-Type: application/problem+json' <<<"$body"
check "the problem has a stable type" grep -q '"type":"urn:tsunagu:problem:bad-request"' <<<"$body"
check "the node is still healthy" tg_curl rej -f "$(tg_node_url rej)/healthz" -o /dev/null
if grep -q "AddressSanitizer\|runtime error" "$TG_TMP/rej/tsunagud.log"; then diag "$(cat $TG_TMP/rej/tsunagud.log)"; fi
done_testing
