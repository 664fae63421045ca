#!/bin/bash
# OAuth 2.0 bearer tokens from a real OpenID provider (npm oidc-provider,
# tests/tools/oidc-idp.mjs, client credentials grant, ES256 JWT access
# tokens): the node fetches the provider's JWKS and checks signature, issuer,
# audience, expiry and scopes; anonymous callers get [auth] anonymous (default
# catalog:read); refusals are RFC 9457 problems with RFC 6750
# WWW-Authenticate; tokens never reach the log.
. "$top_srcdir/tests/lib.sh"
TOOLS="$top_srcdir/tests/tools"
export TG_NODE_MODULES="${TG_NODE_MODULES:-$TOOLS/node_modules}"
if [ ! -d "$TG_NODE_MODULES/oidc-provider" ] || ! command -v node >/dev/null; then
  fail "oidc-provider is installed (run scripts/setup: npm install in tests/tools)"
  plan 1
  exit 1
fi

# idp NAME KEYS: starts a provider (stopped with the nodes at exit) and waits
# for $TG_TMP/NAME.addr, its issuer URL. Not in $(...): its pid must reach
# this shell's TG_PIDS.
idp() {
  rm -f "$TG_TMP/$1.addr"
  node "$TOOLS/oidc-idp.mjs" "$2" "$TG_TMP/$1.addr" >"$TG_TMP/$1.log" 2>&1 &
  TG_PIDS="$TG_PIDS $!"
  for _ in $(seq 1 100); do [ -s "$TG_TMP/$1.addr" ] && break; sleep 0.1; done
}
# token ISSUER CLIENT SCOPES: an access token from the client credentials grant.
token() { curl -fsS -u "$2:secret-$2" -d grant_type=client_credentials --data-urlencode "scope=$3" "$1/token" | jq -r .access_token; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

idp idp "$TG_TMP/keys.json"
I=$(cat "$TG_TMP/idp.addr" 2>/dev/null)
[ -n "$I" ] || { echo "Bail out! the OpenID provider did not start: $(cat "$TG_TMP/idp.log")"; exit 1; }
idp idp2 "$TG_TMP/keys.json"   # same keys, another issuer
idp idp3 "$TG_TMP/keys3.json"  # its own keys
I2=$(cat "$TG_TMP/idp2.addr") I3=$(cat "$TG_TMP/idp3.addr")
tg_node_new a "$(printf '[auth]\nissuer = %s\naudience = urn:tsunagu:test\njwks_uri = %s/jwks\nclock_skew = 0s' "$I" "$I")"
tg_node_start a || { echo "Bail out! node did not start"; exit 1; }
url=$(tg_node_url a)
ADMIN=$(cat "$TG_TMP/a/admin.token")
DS="$top_srcdir/examples/datasets/river.json"
# req TOKEN METHOD PATH [curl args]: prints the status; body in $TG_TMP/out, headers in $TG_TMP/hdr.
req() {
  local t=$1 m=$2 p=$3; shift 3
  local auth=()
  [ -n "$t" ] && auth=(-H "Authorization: Bearer $t")
  tg_curl a -o "$TG_TMP/out" -D "$TG_TMP/hdr" -w '%{http_code}' -X "$m" "${auth[@]}" "$@" "$url$p"
}
post_ds() { req "$1" POST /api/v1/datasets -H 'Content-Type: application/ld+json' --data-binary @"$DS"; }
ptype() { jq -r .type "$TG_TMP/out"; }
wwwauth() { grep -i '^www-authenticate:' "$TG_TMP/hdr" | tr -d '\r'; }

WRITER=$(token "$I" writer "catalog:read catalog:write")
READER=$(token "$I" reader "catalog:read")
OPS=$(token "$I" admin "admin")
check "the provider issues ES256 JWT access tokens" [ "$(cut -d. -f1 <<<"$WRITER" | tr -- '-_' '+/' | base64 -d 2>/dev/null | jq -r .alg)" = ES256 ]

# The node fetches the JWKS at start; the first token may race it.
for _ in $(seq 1 50); do [ "$(post_ds "$WRITER")" != 503 ] && break; sleep 0.1; done
check "a catalog:write token publishes a dataset (201)" [ "$(post_ds "$WRITER")" = 201 ]
id=$(jq -r '."@id"' "$TG_TMP/out")
check "  the access log names the token's subject, not the token" grep -q "\"POST /api/v1/datasets\" 201" <<<"$(grep ' writer ' "$TG_TMP/a/tsunagud.log")"
check "anonymous GET /api/v1/catalog is allowed by default (catalog:read)" [ "$(req "" GET /api/v1/catalog)" = 200 ]
st=$(post_ds "")
check "anonymous POST gets 401 unauthorized with WWW-Authenticate: Bearer ($st)" [ "$st" = 401 -a "$(ptype)" = urn:tsunagu:problem:unauthorized -a -n "$(wwwauth | grep 'Bearer realm="tsunagu"')" ]
st=$(post_ds "$READER")
check "a catalog:read token may not write: 403 insufficient-scope ($st)" [ "$st" = 403 -a "$(ptype)" = urn:tsunagu:problem:insufficient-scope ]
check "  WWW-Authenticate says insufficient_scope and the scope needed" grep -q 'error="insufficient_scope", scope="catalog:write"' <<<"$(wwwauth)"
enc=$(jq -rn --arg s "$id" '$s|@uri')
req "$READER" GET "/api/v1/datasets/$enc" >/dev/null
check "a reader sees the public view (no tsunagu:backend)" [ -z "$(grep -o 'tsunagu:backend' "$TG_TMP/out")" ]
req "$WRITER" GET "/api/v1/datasets/$enc" >/dev/null
check "a catalog:write token sees the owner's view (with tsunagu:backend)" grep -q 'tsunagu:backend' "$TG_TMP/out"
check "an admin-scope token reaches an admin route" [ "$(req "$OPS" GET /api/v1/peers)" = 200 ]
check "a catalog:write token does not ($(req "$WRITER" GET /api/v1/peers))" [ "$(req "$WRITER" GET /api/v1/peers)" = 403 ]
check "the node's admin token still grants everything" [ "$(post_ds "$ADMIN")" = 201 ]
# The CLI takes an OAuth token from TSUNAGU_TOKEN or --token-file.
cli() { "$TSUNAGU" --url "$url" --cacert "$TG_TMP/a/node.crt" "$@"; }
out=$(TSUNAGU_TOKEN=$WRITER cli dataset add "$DS" 2>&1)
check "tsunagu dataset add with TSUNAGU_TOKEN (catalog:write) ($out)" grep -q '^created urn:tsunagu:a:dataset:' <<<"$out"
printf '%s\n' "$READER" >"$TG_TMP/reader.token"
out=$(cli --token-file "$TG_TMP/reader.token" dataset add "$DS" 2>&1); rc=$?
check "with a catalog:read token from --token-file it fails in one line (rc $rc)" [ $rc -ne 0 -a -n "$(grep -i 'scope catalog:write' <<<"$out")" ]
out=$(cli --token-file "$TG_TMP/no-such.token" dataset list 2>&1); rc=$?
check "a --token-file that cannot be read is an error, not an anonymous call (rc $rc)" [ $rc -ne 0 -a -n "$(grep 'cannot read the token file' <<<"$out")" ]
out=$(TSUNAGU_TOKEN=$WRITER timeout 10 "$TSUNAGU" --url http://192.0.2.1:9 dataset list 2>&1); rc=$?
check "the CLI refuses to send a token over plain http to another host (rc $rc)" [ $rc -ne 0 -a -n "$(grep 'refusing to send a bearer token' <<<"$out")" ]

# Refusals: each a 401 invalid-token saying why.
refused() { # NAME TOKEN WORDS
  local st
  st=$(post_ds "$2")
  check "$1: 401 invalid-token ($st: $(jq -r .detail "$TG_TMP/out"))" [ "$st" = 401 -a "$(ptype)" = urn:tsunagu:problem:invalid-token -a -n "$(jq -r .detail "$TG_TMP/out" | grep -i "$3")" ]
}
refused "a token for another audience" "$(token "$I" other "catalog:read catalog:write")" audience
refused "a token from another issuer signed with the same keys" "$(token "$I2" writer "catalog:read catalog:write")" "another identity provider"
refused "a token signed by another provider's key" "$(token "$I3" writer "catalog:read catalog:write")" signature
h=$(cut -d. -f1 <<<"$WRITER"); p=$(cut -d. -f2 <<<"$WRITER"); s=$(cut -d. -f3 <<<"$WRITER")
forged=$(tr -- '-_' '+/' <<<"$p" | base64 -d 2>/dev/null | jq -c '.scope = "catalog:read catalog:write admin"' | b64url)
refused "a token whose claims were changed after signing" "$h.$forged.$s" signature
none=$(printf '{"alg":"none","typ":"at+jwt"}' | b64url)
refused "an unsigned token (alg none)" "$none.$p." signature
hs=$(printf '{"alg":"HS256","typ":"at+jwt"}' | b64url)
mac=$(printf '%s' "$hs.$p" | openssl dgst -sha256 -hmac "$(curl -s "$I/jwks")" -binary | b64url)
refused "an HMAC token keyed with the provider's public JWKS" "$hs.$p.$mac" signature
refused "a bearer that is not a JWT" "not-a-jwt" "not a JWT"
SHORT=$(token "$I" short "catalog:write")
check "a 2-second token works at first" [ "$(post_ds "$SHORT")" = 201 ]
sleep 3
refused "the same token after it expired" "$SHORT" expired

# Claims no provider issued, signed with the provider's own key
# (tests/tools/jwt-sign.mjs): tsunagu's checks, not liboauth2's, decide.
sign() { node "$TOOLS/jwt-sign.mjs" "$TG_TMP/keys.json" "$@"; }
base='"iss":"'$I'","aud":"urn:tsunagu:test","sub":"crafted"'
refused "a token that expired 30 s ago (never seen before)" "$(sign "{$base,\"scope\":\"catalog:write\",\"exp\":\"-30\"}")" expired
refused "a token issued 30 s in the future" "$(sign "{$base,\"scope\":\"catalog:write\",\"exp\":\"+600\",\"iat\":\"+30\"}")" "not valid yet"
refused "a token without exp" "$(sign "{$base,\"scope\":\"catalog:write\"}")" expired
st=$(post_ds "$(sign "{$base,\"scope\":\"foo,catalog:write\",\"exp\":\"+600\"}")")
check "scopes are split on spaces only: \"foo,catalog:write\" does not grant catalog:write ($st)" [ "$st" = 403 ]
st=$(post_ds "$(sign "{$base,\"scope\":\"catalog:read catalog:write\",\"exp\":\"+600\"}" '{"kid":null}')")
check "a token without a kid is tried against each key ($st)" [ "$st" = 201 ]
aud2=$(sign "{\"iss\":\"$I\",\"aud\":[\"x\",\"urn:tsunagu:test\"],\"sub\":\"crafted\",\"scope\":\"catalog:write\",\"exp\":\"+600\"}")
check "an aud array that holds the node's audience is accepted" [ "$(post_ds "$aud2")" = 201 ]
# A verified token whose sub is empty is a signed-in user all the same: the
# owner's own user passes its policy (granted to node c only) and reaches
# the backend, where nothing listens (502; anonymous callers get 403).
jq '.["dcat:distribution"][0]["tsunagu:backend"]["@id"] = "http://127.0.0.1:9/x" | .["odrl:hasPolicy"]["odrl:permission"][0]["odrl:assignee"] = [{"@id": "urn:tsunagu:node:c"}] | del(.["@id"])' "$DS" >"$TG_TMP/own.json"
st=$(req "$ADMIN" POST /api/v1/datasets -H 'Content-Type: application/ld+json' -H 'Slug: own' --data-binary @"$TG_TMP/own.json")
nosub=$(sign "{\"iss\":\"$I\",\"aud\":\"urn:tsunagu:test\",\"sub\":\"\",\"scope\":\"data:read\",\"exp\":\"+600\"}")
st2=$(req "$nosub" GET "/api/v1/datasets/urn:tsunagu:a:dataset:own/data")
check "a verified token with an empty sub is the owner's user, past its policy ($st, $st2 $(ptype))" [ "$st" = 201 -a "$st2" = 502 ]

check "no token or secret reached the log" [ -z "$(grep -F -e "$WRITER" -e "$READER" -e "$SHORT" -e "$ADMIN" -e "secret-writer" "$TG_TMP/a/tsunagud.log")" ]

# [auth] anonymous = none: reading needs a token too (SIGHUP applies it).
printf 'anonymous = none\n' >>"$TG_TMP/a/tsunagu.conf"
kill -HUP "$(tg_node_pid a)"
for _ in $(seq 1 30); do [ "$(req "" GET /api/v1/catalog)" = 401 ] && break; sleep 0.1; done
check "with anonymous = none an anonymous read gets 401" [ "$(req "" GET /api/v1/catalog)" = 401 ]
check "  and a catalog:read token reads" [ "$(req "$READER" GET /api/v1/catalog)" = 200 ]
check "  search too" [ "$(req "$READER" GET '/api/v1/search?q=water')" = 200 -a "$(req "" GET '/api/v1/search?q=water')" = 401 ]
check "  and the vocabularies (schemes, search)" [ "$(req "" GET /api/v1/vocab/schemes)" = 401 -a "$(req "" GET '/api/v1/vocab/search?q=x')" = 401 -a "$(req "$READER" GET /api/v1/vocab/schemes)" = 200 ]
check "  and conversion" [ "$(req "" POST '/api/v1/vocab/convert?profile=p' -d '{}')" = 401 ]

# Another provider configured: the old provider's keys no longer verify
# anything, even before the new provider's keys arrive.
sed -i "s|^issuer = .*|issuer = https://idp.example.jp|; s|^jwks_uri = .*|jwks_uri = https://idp.example.jp/jwks|" "$TG_TMP/a/tsunagu.conf"
kill -HUP "$(tg_node_pid a)"
newiss=$(node "$TOOLS/jwt-sign.mjs" "$TG_TMP/keys.json" '{"iss":"https://idp.example.jp","aud":"urn:tsunagu:test","sub":"x","scope":"catalog:write","exp":"+600"}')
for _ in $(seq 1 30); do [ "$(post_ds "$newiss")" = 503 ] && break; sleep 0.1; done
check "after switching providers, a token the old provider's key signed for the new issuer is refused ($(post_ds "$newiss"))" [ "$(post_ds "$newiss")" = 503 ]

# A node whose provider does not answer: 503 with Retry-After, not 401.
dead=$(printf 'http://127.0.0.1:%d' "$(( (RANDOM % 1000) + 1 ))")
tg_node_new b "$(printf '[auth]\nissuer = %s\naudience = urn:tsunagu:test\njwks_uri = %s/jwks' "$dead" "$dead")"
tg_node_start b || { echo "Bail out! node b did not start"; exit 1; }
st=$(tg_curl b -o "$TG_TMP/out" -D "$TG_TMP/hdr" -w '%{http_code}' -H "Authorization: Bearer $WRITER" -H 'Content-Type: application/ld+json' --data-binary @"$DS" "$(tg_node_url b)/api/v1/datasets")
check "without the provider's keys a token gets 503 auth-unavailable with Retry-After ($st)" [ "$st" = 503 -a "$(ptype)" = urn:tsunagu:problem:auth-unavailable -a -n "$(grep -i '^retry-after:' "$TG_TMP/hdr")" ]

# Configuration errors stop the node with one clear line.
tg_node_new c "$(printf '[auth]\nissuer = %s' "$I")"
out=$(timeout 10 "$TSUNAGUD" -D "$TG_TMP/c" 2>&1); rc=$?
check "an issuer without an audience refuses to start (rc $rc)" [ $rc = 1 -a -n "$(grep 'audience is required' <<<"$out")" ]
tg_node_new d "$(printf '[auth]\nissuer = http://idp.example.jp\naudience = x\njwks_uri = http://idp.example.jp/jwks')"
out=$(timeout 10 "$TSUNAGUD" -D "$TG_TMP/d" 2>&1)
check "a non-loopback http:// issuer is refused" grep -q "expected an https:// URL" <<<"$out"
tg_node_new e "$(printf '[auth]\nanonymous = catalog:read cataloge:write')"
out=$(timeout 10 "$TSUNAGUD" -D "$TG_TMP/e" 2>&1)
check "a misspelt anonymous scope is refused, naming it" grep -q "unknown scope 'cataloge:write'" <<<"$out"
for u in http://127.0.0.1.evil.example http://localhost.evil.example 'http://127.0.0.1@evil.example'; do
  tg_node_new "f$RANDOM" "$(printf '[auth]\nissuer = %s\naudience = x\njwks_uri = %s/jwks' "$u" "$u")"
  out=$(timeout 10 "$TSUNAGUD" -D "$(ls -td "$TG_TMP"/f* | head -1)" 2>&1)
  check "a look-alike loopback issuer ($u) is refused" grep -q "expected an https:// URL" <<<"$out"
done
check "no sanitizer reports" [ -z "$(grep -l 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TG_TMP"/*/tsunagud.log 2>/dev/null)" ]
plan "$_tap_n"
done_testing
