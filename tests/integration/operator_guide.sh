#!/bin/bash
# Follows docs/operator-guide.md step by step: its command blocks, extracted by
# tests/tools/guide-steps.sh, run in order on loopback with a CA node and three
# cities (each on its own free port), installed by `make install DESTDIR=…`;
# between the steps the outcomes are checked: a dataset read by the granted
# city and refused to the other, a backend read with the configured key, an
# OAuth token from a real provider, the daemon renewing a short certificate,
# a key rotation and a revocation, a backup taken while the node serves and
# restored into a fresh directory that serves the same datasets and peers.
# The guide's first section says what the test changes in the blocks (subst).
. "$top_srcdir/tests/lib.sh"

GUIDE=$top_srcdir/docs/operator-guide.md
TOOLS=$top_srcdir/tests/tools
export TG_NODE_MODULES="${TG_NODE_MODULES:-$TOOLS/node_modules}"
STEPS=$TG_TMP/steps ROOT=$TG_TMP/root WORK=$TG_TMP/work OUT=$TG_TMP/out RUN=$TG_TMP/run
SHIMS=$TG_TMP/shims DEST=$TG_TMP/dest
CITIES="a-city b-town c-village"
MACHINES="basin $CITIES"
VALIDITY=45 # seconds: [ca] validity for the run, so that the daemon renews within it
mkdir -p "$STEPS" "$ROOT/var/lib/tsunagu" "$ROOT/var/backups/tsunagu" "$ROOT/usr/local/sbin" \
  "$WORK" "$OUT" "$RUN" "$SHIMS"
chmod 700 "$ROOT/var/lib/tsunagu" "$ROOT/var/backups/tsunagu"

bail() { echo "Bail out! $*"; exit 1; }
# The daemons started by the systemctl stand-in are stopped with lib.sh's.
guide_cleanup() {
  local f
  for f in "$RUN"/*.pid; do [ -f "$f" ] && TG_PIDS="$TG_PIDS $(cat "$f")"; done
  tg_cleanup
}
trap guide_cleanup EXIT

command -v node >/dev/null && [ -d "$TG_NODE_MODULES/oidc-provider" ] ||
  bail "node and oidc-provider are needed (scripts/setup)"
sh "$TOOLS/guide-steps.sh" "$GUIDE" "$STEPS" || bail "cannot extract the guide's steps"

# --- section 1's equivalent: install from the build tree into a DESTDIR ---
make -s -C "$top_builddir" install prefix=/usr/local DESTDIR="$DEST" >"$TG_TMP/install.log" 2>&1 ||
  bail "make install DESTDIR failed: $(tail -3 "$TG_TMP/install.log")"
installed() { local f; for f in "$@"; do [ -e "$DEST/usr/local/$f" ] || { diag "missing /usr/local/$f"; return 1; }; done; }
check "make install puts what section 1 says where it says" installed sbin/tsunagud bin/tsunagu \
  share/man/man1/tsunagu.1 share/man/man8/tsunagud.8 lib/systemd/system/tsunagud@.service share/tsunagu
export TSUNAGU_DATADIR=$DEST/usr/local/share/tsunagu
GPATH=$SHIMS:$DEST/usr/local/bin:$DEST/usr/local/sbin:$PATH

# --- stand-ins for sudo, systemctl and journalctl ---
cat >"$SHIMS/sudo" <<'EOF'
#!/bin/sh
# sudo stand-in: runs the command as the test's user (drops -u USER).
while [ $# -gt 0 ]; do
  case $1 in -u) shift 2 ;; -*) shift ;; *) break ;; esac
done
exec "$@"
EOF
cat >"$SHIMS/systemctl" <<'EOF'
#!/bin/bash
# systemctl stand-in for tsunagud@NODE: runs tsunagud -D $ROOT/var/lib/tsunagu/NODE
# in the background (pid in $RUN/NODE.pid, exit status in $RUN/NODE.exit, its
# standard error, the journal, in $RUN/NODE.log) and waits until it answers.
verb=$1; shift
[ "$verb" = daemon-reload ] && exit 0
[ "${1:-}" = --now ] && shift
node=${1#tsunagud@}; node=${node%.service}
dir=$ROOT/var/lib/tsunagu/$node
answers() { # waits until the node serves the certificate in its directory
  local i
  for i in $(seq 1 150); do
    [ -s "$dir/tsunagud.addr" ] && curl -fsS -o /dev/null --cacert "$dir/node.crt" "https://$(cat "$dir/tsunagud.addr")/healthz" 2>/dev/null && return 0
    kill -0 "$(cat "$RUN/$node.pid")" 2>/dev/null || { echo "tsunagud@$node exited: $(tail -3 "$RUN/$node.log")" >&2; return 1; }
    sleep 0.1
  done
  echo "tsunagud@$node does not answer" >&2; return 1
}
start() {
  rm -f "$dir/tsunagud.addr" "$RUN/$node.exit"
  ( tsunagud -D "$dir" 2>>"$RUN/$node.log" & echo $! >"$RUN/$node.pid"; wait $!; echo $? >"$RUN/$node.exit" ) >/dev/null 2>&1 &
  for _ in $(seq 1 50); do [ -s "$RUN/$node.pid" ] && break; sleep 0.02; done
  answers
}
stop() { # the exit status is also added to $RUN/NODE.stopped
  kill -TERM "$(cat "$RUN/$node.pid")" 2>/dev/null
  for _ in $(seq 1 200); do [ -s "$RUN/$node.exit" ] && cat "$RUN/$node.exit" >>"$RUN/$node.stopped" && return 0; sleep 0.1; done
  echo "tsunagud@$node did not stop" >&2; return 1
}
case $verb in
  start|enable) start ;;
  stop) stop ;;
  restart) stop && start ;;
  reload) kill -HUP "$(cat "$RUN/$node.pid")" && sleep 0.3 && answers ;;
  *) echo "systemctl stand-in: $verb?" >&2; exit 1 ;;
esac
EOF
cat >"$SHIMS/journalctl" <<'EOF'
#!/bin/sh
# journalctl stand-in: -u tsunagud@NODE shows that daemon's standard error.
while [ $# -gt 0 ]; do
  case $1 in -u) unit=$2; shift 2 ;; *) shift ;; esac
done
node=${unit#tsunagud@}
cat "$RUN/${node%.service}.log"
EOF
# tsunagu itself, run again once when it failed the TLS handshake (nothing was
# sent) because it read DIR/node.crt just as the daemon renewed it and before
# the daemon reloaded: --dir trusts that one certificate, not the federation
# CA, and with the test's short certificates renewals are frequent.
cat >"$SHIMS/tsunagu" <<EOF
#!/bin/bash
e=\$(mktemp)
"$DEST/usr/local/bin/tsunagu" "\$@" 2>"\$e"
rc=\$?
if [ \$rc -ne 0 ] && grep -q 'unable to get local issuer certificate' "\$e"; then
  echo again >>"$RUN/cli-retries"
  rm -f "\$e"
  sleep 0.5
  exec "$DEST/usr/local/bin/tsunagu" "\$@"
fi
cat "\$e" >&2
rm -f "\$e"
exit \$rc
EOF
chmod 755 "$SHIMS"/*
export ROOT RUN

# --- what the city already has: a data backend and an OpenID provider ---
node "$TOOLS/data-backend.mjs" GUIDE-BACKEND "$top_srcdir/examples/vocab/a-city-water.ndjson" >"$TG_TMP/backend.port" 2>"$TG_TMP/backend.log" &
TG_PIDS="$TG_PIDS $!"
AUDIENCE=$(sed -n 's/^audience = //p' "$GUIDE" | head -1)
node "$TOOLS/oidc-idp.mjs" "$TG_TMP/idp-keys.json" "$TG_TMP/idp.addr" "$AUDIENCE" >"$TG_TMP/idp.log" 2>&1 &
TG_PIDS="$TG_PIDS $!"
for _ in $(seq 1 100); do [ -s "$TG_TMP/backend.port" ] && [ -s "$TG_TMP/idp.addr" ] && break; sleep 0.1; done
BACKEND=http://127.0.0.1:$(head -1 "$TG_TMP/backend.port")
IDP=$(cat "$TG_TMP/idp.addr")
[ -n "$IDP" ] && [ "$BACKEND" != http://127.0.0.1: ] || bail "backend or identity provider did not start"
printf 'secret-writer\n' >"$WORK/writer.secret" # from the provider's administrators

# --- a free loopback port per machine ---
declare -A PORT
read -r -a ports <<<"$(node -e '
  const net = require("net"); const s = [];
  for (let i = 0; i < 4; i++) { const v = net.createServer(); v.listen(0, "127.0.0.1", () => {
    s.push(v); if (s.length === 4) { console.log(s.map(x => x.address().port).join(" ")); s.forEach(x => x.close()); } }); }')"
i=0
for m in $MACHINES; do PORT[$m]=${ports[$i]}; i=$((i + 1)); done
[ -n "${PORT[c-village]}" ] || bail "no free ports"

# subst MACHINE: the block on stdin as the test runs it on MACHINE (the guide's
# first section lists these changes).
subst() {
  local m=$1 x a=()
  a+=(-e "s#/var/lib/tsunagu#$ROOT/var/lib/tsunagu#g" -e "s#/var/backups/tsunagu#$ROOT/var/backups/tsunagu#g"
      -e "s#/usr/local/sbin/tsunagu-backup#$ROOT/usr/local/sbin/tsunagu-backup#g")
  a+=(-e "s#https://idp\.a-city\.example\.lg\.jp/realms/city/protocol/openid-connect/certs#$IDP/jwks#g"
      -e "s#https://idp\.a-city\.example\.lg\.jp/realms/city/protocol/openid-connect/token#$IDP/token#g"
      -e "s#https://idp\.a-city\.example\.lg\.jp/realms/city#$IDP#g" -e "s#http://10\.0\.0\.5:8080#$BACKEND#g")
  for x in $MACHINES; do a+=(-e "s#tsunagu\.$x\.example\.lg\.jp:8462#127.0.0.1:${PORT[$x]}#g"); done
  a+=(-e "s#0\.0\.0\.0:8462#127.0.0.1:${PORT[$m]}#g" -e "s#tsunagu\.[a-z-]*\.example\.lg\.jp#127.0.0.1#g"
      -e "s#tsunagu register #tsunagu register --local #g" -e "s#^validity = 90d\$#validity = ${VALIDITY}s#")
  sed "${a[@]}"
}

# run_block N MACHINE NAME FAILS CITY: runs step N (for CITY when each-city)
# on MACHINE; its output goes to $OUT/NAME[.CITY].{out,err}.
run_block() {
  local n=$1 m=$2 name=$3 fails=$4 city=$5 tag=$3 f rc
  [ -n "$city" ] && tag=$name.$city
  f=$TG_TMP/run-$n-$tag.sh
  if [ -n "$city" ]; then
    sed -e "s/a-city/$city/g" -e "s/A-city/${city^}/g" "$STEPS/$n.sh" | subst "$m" >"$f"
  else
    subst "$m" <"$STEPS/$n.sh" >"$f"
  fi
  local t0=$SECONDS
  (cd "$WORK" && PATH=$GPATH bash -e -o pipefail "$f") >"$OUT/$tag.out" 2>"$OUT/$tag.err"
  rc=$?
  diag "step $n ($tag on $m): $((SECONDS - t0)) s"
  if [ "$fails" = 1 ]; then
    check "guide step $n ($tag on $m) fails as the guide says (rc $rc)" [ $rc -ne 0 ]
  else
    check "guide step $n ($tag on $m) succeeds (rc $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || diag "$(tail -5 "$OUT/$tag.err")"
  fi
  # Test only: every node checks its renewal each second (see VALIDITY).
  local conf=$ROOT/var/lib/tsunagu/$m/tsunagu.conf
  if [ -f "$conf" ] && [ ! -e "$RUN/$m.tuned" ]; then
    printf '\n[federation]\nrenew_check = 1s\n' >>"$conf"
    touch "$RUN/$m.tuned"
  fi
  return 0
}

# run_to NAME: runs the guide's blocks from where it stopped up to the one
# named NAME (every city's run of it when it is each-city); run_to "" runs
# the rest.
NEXT=1
run_to() {
  local want=$1 f n marker m name fails each c w
  diag "at ${SECONDS} s: to ${want:-the end}"
  while :; do
    n=$(printf '%03d' "$NEXT")
    if [ ! -f "$STEPS/$n.marker" ]; then
      [ "$want" = "" ] && return 1
      bail "the guide has no step named $want"
    fi
    NEXT=$((NEXT + 1))
    marker=$(cat "$STEPS/$n.marker")
    case $marker in
      not-run:*)
        NOT_RUN=$((NOT_RUN + 1))
        check "guide step $n says why it is not run" [ -n "$(sed 's/^not-run: *//' <<<"$marker")" ]
        continue ;;
    esac
    m=${marker%% *} name="" fails=0 each=0
    for w in $marker; do
      case $w in name=*) name=${w#name=} ;; fails) fails=1 ;; each-city) each=1 ;; esac
    done
    [ -n "$name" ] || name=step$n
    if [ $each = 1 ]; then
      for c in $CITIES; do
        if [ "$m" = a-city ]; then run_block "$n" "$c" "$name" $fails "$c"; else run_block "$n" "$m" "$name" $fails "$c"; fi
      done
    else
      run_block "$n" "$m" "$name" $fails ""
    fi
    [ -n "$want" ] && [ "$name" = "$want" ] && return 0
  done
}
NOT_RUN=0

D=$ROOT/var/lib/tsunagu
CA=$D/basin/ca
T() { PATH=$GPATH tsunagu --dir "$D/$1" "${@:2}"; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
pubkey() { openssl x509 -in "$1" -noout -pubkey | sha256sum | cut -d' ' -f1; }
out() { cat "$OUT/$1.out"; }
err() { cat "$OUT/$1.err"; }
url() { echo "https://127.0.0.1:${PORT[$1]}"; }
# fed NODE ARGS: curl as NODE with its federation certificate.
fed() { local n=$1; shift; curl -sS --cacert "$CA/ca.crt" --cert "$D/$n/node.crt" --key "$D/$n/node.key" "$@"; }
pid() { cat "$RUN/$1.pid"; }
wait_for() { local i; for i in $(seq 1 "$(($1 * 10))"); do "${@:2}" && return 0; sleep 0.1; done; return 1; }
has_line() { grep -q -e "$1" "$2"; }

# --- 1-4: installed, nodes created and started ---
run_to health
for c in $CITIES; do
  check "$c's node is up and says it is $c" grep -q "^node: *$c " "$OUT/health.$c.out"
done
run_to curl-health
check "curl reaches a-city's port from outside (its /healthz: $(out curl-health))" [ "$(out curl-health | jq -r .status)" = ok ]

# --- 6-7: the federation ---
run_to ca-start
check "the CA node serves a certificate from its own CA" openssl verify -CAfile "$CA/ca.crt" "$D/basin/node.crt"
check "the fingerprint handed out is the CA's" [ "$(out ca-start)" = "$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)" ]
run_to register
for c in $CITIES; do
  check "$c's certificate is issued by the federation CA and names it" \
    openssl verify -CAfile "$CA/ca.crt" -crl_check -CRLfile "$CA/crl.pem" "$D/$c/node.crt"
done
check "  and lasts the validity the test set ($VALIDITY s)" [ $(( $(date -d "$(openssl x509 -in "$D/a-city/node.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date -d "$(openssl x509 -in "$D/a-city/node.crt" -noout -startdate | cut -d= -f2)" +%s) )) -le $((VALIDITY + 5)) ]
FIRST_SERIAL=$(serial "$D/a-city/node.crt")
run_to peers
for c in $CITIES; do
  check "$c's peer list: the CA node and both other cities reachable over mutual TLS" \
    [ "$(grep -c -E '^(basin|a-city|b-town|c-village) +reachable ' "$OUT/peers.$c.out")" = 3 ]
done

# --- 8-9: datasets and grants ---
run_to c-reads
check "the granted city reads the dataset: the latest of each gauge ($(out c-reads | tr '\n' ' '))" \
  [ "$(out c-reads | jq -s 'length')" = 2 -a "$(out c-reads | jq -r 'select(.id == "urn:a-city:gauge:K01") | .level_m')" = 1.31 ]
run_to b-refused
check "the city not granted is refused by the owner: $(err b-refused)" grep -q '403 owner-refused' "$OUT/b-refused.err"
check "  and got no data" [ ! -s "$OUT/b-refused.out" ]
run_to update
check "the update is served (dataset show has the new description)" grep -q "Water levels every 10 minutes" "$OUT/update.out"
check "  and made no second dataset" [ "$(T a-city --json dataset list | jq '[.items[] | select(."@id" == "urn:tsunagu:a-city:dataset:river-levels")] | length')" = 1 ]
run_to delete
check "the deleted dataset is gone" [ -z "$(T a-city --json dataset list | jq -r '.items[]."@id"' | grep ':draft$')" ]
check "  and showing it fails" bash -c "! PATH=$GPATH tsunagu --dir $D/a-city dataset show urn:tsunagu:a-city:dataset:draft 2>/dev/null"
run_to b-reads
check "after the grant, B-town reads it too" [ "$(out b-reads | jq -s 'length')" = 2 ]

# --- 10: a backend with credentials ---
run_to c-reads-live
SEEN=$(curl -sS "$BACKEND/_stats" | jq -r '.last.headers["x-api-key"]')
check "C-village reads the distributed dataset: the backend's answer, unchanged" \
  [ "$(out c-reads-live)" = "$(curl -sS "$BACKEND/water")" ]
KEY=$(sed -n 's/^header = X-Api-Key: //p' "$D/a-city/tsunagu.conf")
check "  the backend got the API key from A-city's [backend.telemetry] ($SEEN)" [ -n "$KEY" -a "$SEEN" = "$KEY" ]
check "  the key is in no log" [ -z "$(grep -l -e "$KEY" "$RUN"/*.log)" ]
check "  tsunagu.conf holding it is mode 600" [ "$(stat -c %a "$D/a-city/tsunagu.conf")" = 600 ]

# --- 11: the identity provider ---
run_to oauth-conf
# The daemon fetches the provider's keys after the reload, asynchronously.
check "A-city loaded the provider's keys" wait_for 10 has_line "JWKS: 1 signature key" "$RUN/a-city.log"
run_to oauth-use
check "a token from the city's provider publishes ($(out oauth-use))" grep -q '^created urn:tsunagu:a-city:dataset:gauges$' "$OUT/oauth-use.out"
check "  the access log names the client, not the token" \
  grep -q '"POST /api/v1/datasets" 201' <<<"$(grep ' writer ' "$RUN/a-city.log")"

# --- 12: certificates ---
daemon_renewed() { grep -q "certificate renewal: installed certificate" "$RUN/a-city.log"; }
wait_for 40 daemon_renewed
run_to renewed-log
check "the daemon renewed A-city's certificate by itself (its log, through journalctl)" \
  grep -q "certificate renewal: installed certificate" "$OUT/renewed-log.out"
RENEWED=$(sed -n 's/.*certificate renewal: installed certificate \([0-9A-Fa-f]*\).*/\1/p' "$OUT/renewed-log.out" | head -1)
check "  with a new serial ($FIRST_SERIAL -> $RENEWED)" [ -n "$RENEWED" -a "$RENEWED" != "$FIRST_SERIAL" ]
check "  recorded by the CA as a renewal" [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_certs WHERE node_id='a-city' AND how='renew'")" -ge 1 ]
before=$(serial "$D/a-city/node.crt") key_before=$(pubkey "$D/a-city/node.crt")
run_to renew
check "tsunagu renew: a new serial, the same key" [ "$(serial "$D/a-city/node.crt")" != "$before" -a "$(pubkey "$D/a-city/node.crt")" = "$key_before" ]
old=$(serial "$D/a-city/node.crt")
run_to rotate
check "renew --new-key: a new key" [ "$(pubkey "$D/a-city/node.crt")" != "$key_before" ]
check "  and the CA revoked the old certificate ($old)" grep -qi "Serial Number: $old" <<<"$(openssl crl -in "$CA/crl.pem" -noout -text)"
members() { fed b-town -o /dev/null -w '%{http_code}' "$(url basin)/api/v1/federation/members"; }
check "the CA node takes B-town before its revocation" [ "$(members)" = 200 ]
run_to revoke
refused() { [ "$(members)" != 200 ]; }
check "the CA node refuses revoked B-town within seconds" wait_for 10 refused
run_to crl-now
check "after A-city's reload, B-town's read of A-city's data fails" \
  bash -c "! PATH=$GPATH tsunagu --dir $D/b-town get urn:tsunagu:a-city:dataset:river-levels >/dev/null 2>&1"

# --- 13: backup while serving, restore into a fresh directory ---
DS_BEFORE=$(T a-city --json dataset list | jq -r '.items[]."@id"' | sort)
PEERS_BEFORE=$(T a-city --json peer list | jq -r '.items[].node_id' | sort)
PID_BEFORE=$(pid a-city)
run_to backup
B=$ROOT/var/backups/tsunagu/a-city-latest
same_daemon() { [ "$(pid a-city)" = "$PID_BEFORE" ] && kill -0 "$PID_BEFORE"; }
check "the backup was taken while the node served (same daemon before and after)" same_daemon
check "  it holds the databases, key, certificates, configuration and token" \
  bash -c "cd $B && ls tsunagu.db provenance.db node.key node.crt ca.crt crl.pem tsunagu.conf admin.token >/dev/null"
check "  and no lock, address or WAL file" [ -z "$(cd "$B" && ls tsunagud.lock tsunagud.addr ./*-wal ./*-shm 2>/dev/null)" ]
check "  its catalog database is whole" [ "$(sqlite3 "$B/tsunagu.db" 'PRAGMA integrity_check')" = ok ]
run_to restore
check "the node stopped cleanly for the restore (exit 0)" [ "$(tail -1 "$RUN/a-city.stopped")" = 0 ]
check "  the restored node is a new daemon on a fresh directory" [ "$(pid a-city)" != "$PID_BEFORE" -a -d "$D/a-city.broken" ]
check "  it serves the same datasets" [ "$(T a-city --json dataset list | jq -r '.items[]."@id"' | sort)" = "$DS_BEFORE" ]
check "  and has the same peers" [ "$(T a-city --json peer list | jq -r '.items[].node_id' | sort)" = "$PEERS_BEFORE" ]
c_reads() { [ "$(T c-village get urn:tsunagu:a-city:dataset:river-levels --latest 2>/dev/null | jq -s length)" = 2 ]; }
check "  C-village reads the restored node's observations" wait_for 10 c_reads

# --- 14-15: upgrade, monitor ---
run_to upgrade
check "after the restart the node is healthy and keeps its datasets" \
  [ "$(T a-city --json dataset list | jq -r '.items[]."@id"' | sort)" = "$DS_BEFORE" ]
run_to metrics
check "/metrics has the three certificate expiry gauges" \
  [ "$(grep -c '^tsunagu_cert_expiry_seconds{which="\(node\|ca\|crl\)"}' "$OUT/metrics.out")" = 3 ]
check "  and the provenance log is ok after the key rotation and restarts" grep -q '^tsunagu_provenance_log_ok 1' "$OUT/metrics.out"
# The rest of the guide: none of it is left out.
run_to ""
check "every block of the guide was reached: $((NEXT - 1)), $NOT_RUN of them not run (each says why)" [ "$NEXT" -gt 30 ]
for m in $MACHINES; do
  check "no secret in $m's log" [ -z "$(grep -h -e 'BEGIN .*PRIVATE' -e "$(cat "$D/$m/admin.token" 2>/dev/null || echo none)" "$RUN/$m.log")" ]
done
[ -f "$RUN/cli-retries" ] && diag "CLI commands run again after a renewal: $(wc -l <"$RUN/cli-retries")"
diag "the guide took $SECONDS s"
plan "$_tap_n"
done_testing
