# tests/lib.sh: helpers for integration tests that run real tsunagud processes
# on 127.0.0.1 (port 0, real port read back) in a fresh temporary directory.
# Source it from a TAP test script: plan N; ...; ok/fail; done_testing.

set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
TSUNAGU="$top_builddir/tsunagu"
TSUNAGUD="$top_builddir/tsunagud"
TG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tsunagu-test.XXXXXX")
TG_PIDS=""
_tap_n=0
_tap_fail=0

tg_cleanup() {
  for p in $TG_PIDS; do kill -TERM "$p" 2>/dev/null; done
  for p in $TG_PIDS; do
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null
  done
  if [ "${TG_KEEP:-0}" = 1 ]; then echo "# kept $TG_TMP"; else rm -rf "$TG_TMP"; fi
}
trap tg_cleanup EXIT

plan() { echo "1..$1"; }
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
fail() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
# check DESC COMMAND...: ok if the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
diag() { echo "$*" | sed 's/^/# /'; }

# tg_node_new NAME [CONF-LINES]: a node directory $TG_TMP/NAME listening on port 0.
tg_node_new() {
  local name=$1 extra=${2:-}
  "$TSUNAGU" init --dir "$TG_TMP/$name" --id "$name" --listen 127.0.0.1:0 >/dev/null || return 1
  if [ -n "$extra" ]; then printf '%s\n' "$extra" >>"$TG_TMP/$name/tsunagu.conf"; fi
}

# tg_node_start NAME: starts tsunagud; sets NODE_URL_<name> and returns when it answers.
tg_node_start() {
  local name=$1 dir=$TG_TMP/$1 i
  rm -f "$dir/tsunagud.addr"
  "$TSUNAGUD" -D "$dir" 2>>"$dir/tsunagud.log" &
  local pid=$!
  TG_PIDS="$TG_PIDS $pid"
  echo "$pid" >"$dir/pid"
  for i in $(seq 1 100); do
    if [ -s "$dir/tsunagud.addr" ]; then
      local url="https://$(cat "$dir/tsunagud.addr")"
      if curl -fsS --cacert "$dir/node.crt" "$url/healthz" >/dev/null 2>&1; then
        eval "NODE_URL_$(echo "$name" | tr - _)=\$url"
        return 0
      fi
    fi
    kill -0 "$pid" 2>/dev/null || { diag "tsunagud $name exited:"; diag "$(tail -5 "$dir/tsunagud.log")"; return 1; }
    sleep 0.05
  done
  return 1
}

tg_node_pid() { cat "$TG_TMP/$1/pid"; }
tg_node_url() { echo "https://$(cat "$TG_TMP/$1/tsunagud.addr")"; }
tg_node_addr() { cat "$TG_TMP/$1/tsunagud.addr"; }

# tg_curl NAME ARGS...: curl that trusts NAME's certificate.
tg_curl() { local n=$1; shift; curl -sS --cacert "$TG_TMP/$n/node.crt" "$@"; }

# tg_wait_exit PID SECONDS: waits for a child of this shell to exit and sets
# TG_EXIT_STATUS to its exit status, or to "timeout". Call it directly, not in
# $(...): a subshell cannot wait for this shell's children.
tg_wait_exit() {
  local pid=$1 t=$(( $2 * 10 )) i
  TG_EXIT_STATUS=timeout
  for i in $(seq 1 "$t"); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      TG_EXIT_STATUS=$?
      return 0
    fi
    sleep 0.1
  done
  return 1
}

done_testing() { [ "$_tap_fail" -eq 0 ]; }

# tg_fed_hub NAME FEDERATION-NAME [CONF-LINES]: node NAME is its federation's
# CA ([ca] dir = ca) and runs with a certificate from it. Sets CA (the CA
# directory), HUB (the node's URL) and HUB_FP (the CA certificate's SHA-256).
tg_fed_hub() {
  local n=$1 extra=${3:-}
  CA=$TG_TMP/$n/ca
  tg_node_new "$n" "$(printf '[ca]\ndir = ca\n%s' "$extra")" || return 1
  "$TSUNAGU" ca init --dir "$CA" --name "$2" >/dev/null || return 1
  "$TSUNAGU" csr --dir "$TG_TMP/$n" >"$TG_TMP/$n.csr"
  "$TSUNAGU" ca sign --dir "$CA" --node "$n" --hosts 127.0.0.1 "$TG_TMP/$n.csr" >"$TG_TMP/$n.crt" 2>/dev/null
  "$TSUNAGU" cert install --dir "$TG_TMP/$n" --cert "$TG_TMP/$n.crt" --ca "$CA/ca.crt" --crl "$CA/crl.pem" >/dev/null || return 1
  tg_node_start "$n" || return 1
  HUB=$(tg_node_url "$n")
  HUB_FP=$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)
}

# tg_fed_join NAME [CONF-LINES]: a new node NAME enrols with the hub of
# tg_fed_hub over HTTPS (one-time token, CA pinned by fingerprint, its real
# URL) and switches to its federation certificate.
tg_fed_join() {
  local n=$1 u tok
  tg_node_new "$n" "${2:-}" || return 1
  tg_node_start "$n" || return 1
  u=$(tg_node_url "$n")
  tok=$("$TSUNAGU" ca token --dir "$CA" --node "$n" --ttl 1h 2>/dev/null)
  "$TSUNAGU" register --dir "$TG_TMP/$n" --hub "$HUB" --token "$tok" --ca-fingerprint "$HUB_FP" --node-url "$u" --local >/dev/null || return 1
  kill -HUP "$(tg_node_pid "$n")"
  for _ in $(seq 1 50); do curl -fsS --cacert "$CA/ca.crt" "$u/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# sqlite3 with a busy timeout: a running node may hold a write lock for a
# moment, and a read then waits instead of failing with "database is locked".
tg_sql() { sqlite3 -cmd ".timeout 10000" "$@"; }
