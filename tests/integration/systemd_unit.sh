#!/bin/bash
# The systemd unit (docs/tsunagud@.service.in) as make install puts it:
# systemd-analyze verify accepts it, systemd-analyze security rates it under
# 3.0, its sysusers.d file makes the user tsunagu; and a CA node runs under
# its sandbox: it starts, a second node registers with it, datasets are
# written. Failures to open the node's files are logged with path and reason.
#
# Where systemd is not PID 1 (CI's container, most build machines) the
# sandbox is reproduced with unshare(1) and setpriv(1); the same is used
# where it is, so that one code path is tested everywhere. Reproduced:
#   User=              an unprivileged uid (65534) owning only the state dir
#   StateDirectory=    DIR writable (mode 0700), everything else read-only
#   ProtectSystem=strict, ProtectKernelTunables= (every mount read-only,
#                      /sys included), ProtectHome= (empty read-only /home,
#                      /root), PrivateTmp= (fresh /tmp, /var/tmp),
#   PrivateDevices=    (a /dev with null, zero, full, random, urandom, tty,
#                      shm), ProtectProc=invisible and ProcSubset=pid (a
#                      proc mounted hidepid=invisible,subset=pid),
#   ProtectHostname=, PrivateIPC= (new UTS and IPC namespaces),
#   NoNewPrivileges=, CapabilityBoundingSet=, AmbientCapabilities= (setpriv),
#   UMask=0077.
# Not reproduced, but checked instead: SystemCallFilter=@system-service
# ~@privileged, RestrictAddressFamilies= and MemoryDenyWriteExecute= are
# seccomp filters systemd builds; the node runs under strace(1), and every
# system call it made must be in systemd's own list of those sets (from
# systemd-analyze syscall-filter), every socket it opened of an allowed
# family, and no mapping writable and executable at once. Not reproduced
# at all: ProtectClock=, ProtectKernelModules=, ProtectKernelLogs=,
# ProtectControlGroups=, LockPersonality=, RestrictRealtime=,
# RestrictSUIDSGID=, RestrictNamespaces=, PrivateUsers=, KeyringMode=,
# LimitNOFILE= (the node raises its soft limit to the hard one with
# setrlimit, which the strace check covers).
# Without the privilege to make a mount namespace (an unprivileged
# container), the file-system part is skipped and the rest still runs.
. "$top_srcdir/tests/lib.sh"

UNIT_IN=$top_srcdir/docs/tsunagud@.service.in
OPU=65534 # the service's user in the reproduction (nobody)
chmod 711 "$TG_TMP" # the user reaches its state directory, lists nothing else

# --- the unit as installed ---------------------------------------------------
# The build's own install rules put the unit and the sysusers.d file into a
# staging root, as a package build would.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" "$@"; }
sbindir=$(printf 'p:\n\t@echo $(sbindir)\n' | env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" -f Makefile -f - p)
unitdir=$(printf 'p:\n\t@echo $(systemdunitdir) $(sysusersdir)\n' | env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" -f Makefile -f - p)
sysusersdir=${unitdir#* }; unitdir=${unitdir% *}
ROOT=$TG_TMP/root
mk install-systemdunitDATA install-dist_sysusersDATA DESTDIR="$ROOT" >/dev/null
UNIT=$ROOT$unitdir/tsunagud@.service
check "make install puts the unit in $unitdir, made from the .in with sbindir $sbindir" \
  [ -f "$UNIT" -a "$(sed "s|@sbindir@|$sbindir|g" "$UNIT_IN" | cmp - "$UNIT" && echo same)" = same ]
check "  its ExecStart runs $sbindir/tsunagud on /var/lib/tsunagu/%i" \
  grep -qx "ExecStart=$sbindir/tsunagud -D /var/lib/tsunagu/%i" "$UNIT"

if command -v systemd-sysusers >/dev/null 2>&1; then
  mkdir -p "$TG_TMP/sysroot/etc"
  systemd-sysusers --root="$TG_TMP/sysroot" "$ROOT$sysusersdir/tsunagu.conf" >/dev/null 2>&1
  u=$(grep '^tsunagu:' "$TG_TMP/sysroot/etc/passwd")
  check "its sysusers.d file makes a system user tsunagu, home /var/lib/tsunagu, no login ($u)" \
    [ -n "$u" -a "$(cut -d: -f3 <<<"$u")" -lt 1000 -a "$(cut -d: -f6 <<<"$u")" = /var/lib/tsunagu \
      -a -n "$(cut -d: -f7 <<<"$u" | grep nologin)" -a -n "$(grep '^tsunagu:' "$TG_TMP/sysroot/etc/group")" ]
else
  ok "# SKIP its sysusers.d file makes the user tsunagu (no systemd-sysusers)"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify checks that ExecStart's program exists: the build's where the
  # unit's is not installed; and Documentation= with man, so the page is
  # put where man finds it.
  V=$TG_TMP/verify
  mkdir -p "$V/man/man8"
  cp "$top_srcdir/docs/tsunagud.8" "$V/man/man8/"
  bin=$sbindir; [ -x "$sbindir/tsunagud" ] || bin=$top_builddir
  sed "s|^ExecStart=$sbindir/|ExecStart=$bin/|" "$UNIT" >"$V/tsunagud@.service"
  out=$(MANPATH=$V/man systemd-analyze verify "$V/tsunagud@.service" 2>&1); rc=$?
  check "systemd-analyze verify accepts it without a word (rc $rc)" [ $rc = 0 -a -z "$out" ]
  [ -n "$out" ] && diag "$out"
  # A misspelt setting is only a warning to systemd: verify must show it.
  sed 's/^PrivateTmp=/PrivateTemp=/' "$V/tsunagud@.service" >"$V/typo@.service"
  check "  and it would report a misspelt setting" \
    grep -q "Unknown key 'PrivateTemp'" <<<"$(MANPATH=$V/man systemd-analyze verify "$V/typo@.service" 2>&1)"
  score() { systemd-analyze security --offline=true "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
  s=$(score "$UNIT")
  check "systemd-analyze security rates it under 3.0 ($s)" awk -v s="$s" 'BEGIN { exit !(s != "" && s + 0 < 3.0) }'
  # The same parse on the unit without its sandbox gives the old score:
  # the check above could fail.
  grep -Ev '^(Protect|Private|Restrict|SystemCall|Capability|Ambient|NoNewPriv|Memory|Lock|UMask|Device|Keyring|Remove|ProcSubset)' \
    "$UNIT" >"$V/bare@.service"
  b=$(score "$V/bare@.service")
  check "  while without its sandbox settings it would be EXPOSED ($b)" awk -v s="$b" 'BEGIN { exit !(s + 0 > 8.0) }'
else
  ok "# SKIP systemd-analyze verify (no systemd-analyze)"
  ok "# SKIP  misspelt settings (no systemd-analyze)"
  ok "# SKIP systemd-analyze security (no systemd-analyze)"
  ok "# SKIP  without the sandbox (no systemd-analyze)"
fi

# --- a CA node under the sandbox ---------------------------------------------
# sandbox.sh STATE UID CMD...: runs CMD as UID in the reproduction described
# at the top, STATE its only writable directory. Run through unshare -m.
cat >"$TG_TMP/sandbox.sh" <<'EOF'
set -e
state=$1 uid=$2; shift 2
umask 022 # the directories made on the way to $state must be passable
exec 3<"$state" # the state directory, found again under the new /tmp
# $SANDBOX_RO: a directory of the test's under /tmp that stays visible,
# read-only, as the rest of the file system.
ro=${SANDBOX_RO:-}
if [ -n "$ro" ]; then exec 5<"$ro"; fi
# ProtectSystem=strict, ProtectKernelTunables=: every mount read-only.
awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { print $5, $(i + 1); break } }' /proc/self/mountinfo |
  while read -r mp fs; do
    case $fs in proc | devtmpfs | devpts | mqueue) continue ;; esac
    mount -n -o remount,bind,ro "$mp" 2>/dev/null || echo "sandbox: cannot make $mp read-only" >&2
  done
# PrivateTmp=
for d in /tmp /var/tmp; do mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d"; done
# PrivateDevices=
mkdir /tmp/.dev
mount -n -t tmpfs -o mode=755,nosuid,noexec tmpfs /tmp/.dev
for n in null zero full random urandom tty; do
  touch "/tmp/.dev/$n"
  mount -n --bind "/dev/$n" "/tmp/.dev/$n"
done
mkdir /tmp/.dev/shm
mount -n -t tmpfs -o mode=1777,nosuid,nodev,noexec tmpfs /tmp/.dev/shm
mount -n --move /tmp/.dev /dev
rmdir /tmp/.dev
# ProtectHome=
for d in /home /root /run/user; do
  if [ -d "$d" ]; then mount -n -t tmpfs -o ro,mode=755 tmpfs "$d"; fi
done
# ProtectProc=invisible, ProcSubset=pid
mount -n -t proc -o hidepid=invisible,subset=pid,nosuid,nodev,noexec proc /proc
# StateDirectory=: the one writable place (mount would resolve the fd's
# link to a path, which now names the new /tmp: --no-canonicalize).
mkdir -p "$state"
mount -n --no-canonicalize --bind /proc/self/fd/3 "$state"
mount -n -o remount,bind,rw,nosuid,nodev "$state"
exec 3<&-
if [ -n "$ro" ]; then
  mkdir -p "$ro"
  mount -n --no-canonicalize --bind /proc/self/fd/5 "$ro"
  mount -n -o remount,bind,ro "$ro"
  exec 5<&-
fi
umask 077
# User=, NoNewPrivileges=, CapabilityBoundingSet=, AmbientCapabilities=
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs \
  --inh-caps=-all --bounding-set=-all -- "$@"
EOF
if [ "$(id -u)" != 0 ]; then
  ok "# SKIP a CA node under the sandbox (it needs root, as CI has, to switch users)"
  plan "$_tap_n"
  exit 0
fi
# The whole sandbox is tried once: a container may refuse any of its mounts.
FS=1
install -d -o $OPU -g $OPU -m 0700 "$TG_TMP/probe"
if ! out=$(unshare --mount --propagation private --uts --ipc -- bash "$TG_TMP/sandbox.sh" "$TG_TMP/probe" $OPU touch "$TG_TMP/probe/x" 2>&1) ||
  [ ! -e "$TG_TMP/probe/x" ]; then
  FS=0
  diag "no mount namespace here (an unprivileged container?): the file-system sandbox is skipped: $out"
fi
# as_op CMD...: what an operator runs as the service's user (sudo -u tsunagu).
as_op() { setpriv --reuid=$OPU --regid=$OPU --clear-groups -- "$@"; }
STRACE=0
command -v strace >/dev/null 2>&1 && STRACE=1

# The state directory as StateDirectory= makes it; tsunagu init run by the
# operator as that user; the CA where init's configuration suggests it.
HUB=$TG_TMP/hub
install -d -o $OPU -g $OPU -m 0700 "$HUB"
as_op "$TSUNAGU" init --dir "$HUB" --id hub --listen 127.0.0.1:0 >/dev/null
check "init's configuration suggests [ca] dir = ca, inside the state directory" \
  grep -qx '# dir = ca' "$HUB/tsunagu.conf"
sed -i 's/^# \[ca\]$/[ca]/; s/^# dir = ca$/dir = ca/' "$HUB/tsunagu.conf"
CA=$HUB/ca
as_op "$TSUNAGU" ca init --dir "$CA" --name "Sandbox Federation" >/dev/null
as_op "$TSUNAGU" csr --dir "$HUB" >"$TG_TMP/hub.csr"
as_op "$TSUNAGU" ca sign --dir "$CA" --node hub --hosts 127.0.0.1 "$TG_TMP/hub.csr" >"$TG_TMP/hub.crt" 2>/dev/null
as_op "$TSUNAGU" cert install --dir "$HUB" --cert "$TG_TMP/hub.crt" --ca "$CA/ca.crt" --crl "$CA/crl.pem" >/dev/null
check "the operator made the CA node as the service's user" \
  [ "$(stat -c %u "$CA/ca.db")" = $OPU -a "$(stat -c %u "$HUB/node.crt")" = $OPU -a -n "$(grep -x 'dir = ca' "$HUB/tsunagu.conf")" ]

# A build tree under /tmp (a clone there) would vanish under the sandbox's
# fresh /tmp: the daemon then runs from a copy outside it.
case $(readlink -f "$TSUNAGUD") in
/tmp/* | /var/tmp/*)
  SBIN=$(mktemp -d /run/tsunagu-test-bin.XXXXXX) && chmod 755 "$SBIN" &&
    cp "$TSUNAGUD" "$SBIN/tsunagud" && TSUNAGUD=$SBIN/tsunagud
  trap 'rm -rf "$SBIN"; tg_cleanup' EXIT
  ;;
esac

# hub_start: the CA node under the sandbox (and strace), its stderr in
# $TG_TMP/hub.log; sets HUB_URL and HUB_PID (the sandbox's process).
hub_start() {
  local i pre=() tr=()
  rm -f "$HUB/tsunagud.addr"
  [ $FS = 1 ] && pre=(env SANDBOX_RO="${SANDBOX_RO:-}" unshare --mount --propagation private --uts --ipc -- bash "$TG_TMP/sandbox.sh" "$HUB" $OPU)
  [ $FS = 0 ] && pre=(setpriv --reuid=$OPU --regid=$OPU --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all --)
  # LeakSanitizer stops the world with ptrace, which strace holds (and
  # which SystemCallFilter=@system-service would refuse): no leak check.
  # strace writes to descriptor 4, opened here (the sandbox cannot), into a
  # file of the user's (strace opens it again through /proc).
  install -m 600 -o $OPU /dev/null "$TG_TMP/strace.$1"
  [ $STRACE = 1 ] && tr=(env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /proc/self/fd/4)
  (umask 077; exec "${pre[@]}" "${tr[@]}" "$TSUNAGUD" -D "$HUB" 2>>"$TG_TMP/hub.log" 4>>"$TG_TMP/strace.$1") &
  HUB_PID=$!
  TG_PIDS="$TG_PIDS $HUB_PID"
  for i in $(seq 1 200); do
    if [ -s "$HUB/tsunagud.addr" ]; then
      HUB_URL="https://$(cat "$HUB/tsunagud.addr")"
      curl -fsS --cacert "$HUB/ca.crt" "$HUB_URL/healthz" >/dev/null 2>&1 && return 0
    fi
    kill -0 $HUB_PID 2>/dev/null || { diag "$(tail -5 "$TG_TMP/hub.log")"; return 1; }
    sleep 0.1
  done
  return 1
}
# The daemon's pid (the newest process of the user with its command line).
hub_daemon() { pgrep -n -u $OPU -f "tsunagud -D $HUB\$"; }
# On any exit, the daemon too: strace, which TG_PIDS has, may not pass
# SIGTERM on.
trap 'd=$(hub_daemon); [ -n "$d" ] && kill -KILL $d; tg_cleanup' EXIT
# hub_stop: SIGTERM to the daemon (the sandbox's last process) and wait.
hub_stop() {
  local d
  d=$(hub_daemon)
  [ -n "$d" ] && kill -TERM "$d"
  tg_wait_exit "$HUB_PID" 20
}
hub_start 1 || { echo "Bail out! the CA node did not start under the sandbox"; tail -20 "$TG_TMP/hub.log" | sed 's/^/# /'; exit 1; }
hub=$HUB_URL
dpid=$(hub_daemon)
st=$(cat "/proc/$dpid/status")
check "the node runs as uid $OPU with no capabilities and no_new_privs" \
  [ "$(awk '/^Uid:/ { print $2 }' <<<"$st")" = $OPU -a "$(awk '/^CapBnd:/ { print $2 }' <<<"$st")" = 0000000000000000 \
    -a "$(awk '/^NoNewPrivs:/ { print $2 }' <<<"$st")" = 1 ]
if [ $FS = 1 ]; then
  check "  and sees / read-only and its state directory read-write" \
    [ -n "$(awk '$5 == "/" && $6 ~ /^ro/' "/proc/$dpid/mountinfo")" -a -n "$(awk -v d="$HUB" '$5 == d && $6 ~ /^rw/' "/proc/$dpid/mountinfo")" ]
else
  ok "# SKIP  read-only / (no mount namespace)"
fi

# A second node registers with the CA node: token made by the operator as
# the service's user, enrolment over HTTPS into the sandboxed ca.db.
fp=$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)
tg_node_new r1
tok=$(as_op "$TSUNAGU" ca token --dir "$CA" --node r1 --ttl 1h 2>/dev/null)
out=$("$TSUNAGU" register --local --dir "$TG_TMP/r1" --hub "$hub" --token "$tok" --ca-fingerprint "$fp" 2>&1)
check "a second node registers with the sandboxed CA node" grep -q enrolled <<<"$out"
[ -n "$(grep enrolled <<<"$out")" ] || diag "$out"
verify_cert() { openssl verify -CAfile "$1" "$2" >/dev/null 2>&1; }
check "  its certificate verifies against the CA" verify_cert "$CA/ca.crt" "$TG_TMP/r1/node.crt"
check "  and the CA's records in the state directory have it" \
  [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_certs WHERE node_id='r1' AND how='register'")" = 1 ]
tg_node_start r1 || { echo "Bail out! r1 did not start"; exit 1; }
check "the registered node and the CA node accept each other over mTLS" \
  [ "$(curl -sS --cacert "$CA/ca.crt" --cert "$TG_TMP/r1/node.crt" --key "$TG_TMP/r1/node.key" "$hub/api/v1/peer/whoami" | jq -r .node_id)" = r1 ]

# Datasets written to the sandboxed node, with the admin token the
# operator reads as the service's user.
TOK=$(as_op cat "$HUB/admin.token")
codes=""
for n in river rain; do
  codes="$codes $(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" \
    -H 'Content-Type: application/ld+json' -H "Slug: $n" --data-binary @"$top_srcdir/tests/cases/catalog/http/$n.json" \
    "$hub/api/v1/datasets")"
done
check "datasets are written (201 each:$codes)" [ "$codes" = " 201 201" ]
check "  and read back" [ "$(curl -sS --cacert "$CA/ca.crt" "$hub/api/v1/datasets/urn:tsunagu:hub:dataset:river" | jq -r '.["@id"]')" = urn:tsunagu:hub:dataset:river ]
check "  with everything the node wrote owned by its user" [ -z "$(find "$HUB" ! -user $OPU)" ]
check "  the state directory private (0700), as is what the node creates with the umask (UMask=0077)" \
  [ "$(stat -c %a "$HUB" "$HUB/tsunagud.lock" | tr '\n' ' ')" = "700 600 " ]

# A file the node cannot open is logged with its path and the reason:
# admin.token made unreadable, then SIGHUP.
chmod 000 "$HUB/admin.token"
kill -HUP "$(hub_daemon)"; sleep 0.5
check "an unreadable admin.token is logged with its path and errno" \
  grep -q "cannot open $HUB/admin.token: Permission denied" "$TG_TMP/hub.log"
chmod 600 "$HUB/admin.token"

check "the CA node logged no error while it worked" [ -z "$(grep -v admin.token "$TG_TMP/hub.log" | grep -E '^ERROR|cannot')" ]
grep -E '^ERROR|cannot' "$TG_TMP/hub.log" | grep -v admin.token | head -5 | sed 's/^/# /'
hub_stop
check "the CA node stops cleanly under the sandbox (exit $TG_EXIT_STATUS)" [ "$TG_EXIT_STATUS" = 0 ]

# The seccomp filters systemd would add, checked against what the node did.
if [ $STRACE = 1 ] && command -v systemd-analyze >/dev/null 2>&1; then
  # A set's members that are sets themselves, expanded.
  expand() {
    local s
    for s in $(systemd-analyze syscall-filter "$1" | tail -n +2 | awk '!/^ *#/ && NF { print $1 }'); do
      case $s in @*) expand "$s" ;; *) echo "$s" ;; esac
    done
  }
  expand @system-service | sort -u >"$TG_TMP/allowed"
  expand @privileged | sort -u >"$TG_TMP/privileged"
  sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$TG_TMP/strace.1" | sort -u >"$TG_TMP/used"
  bad=$(comm -23 "$TG_TMP/used" "$TG_TMP/allowed" | tr '\n' ' ')
  priv=$(comm -12 "$TG_TMP/used" "$TG_TMP/privileged" | tr '\n' ' ')
  check "SystemCallFilter=@system-service: every system call the node made is in it ($(wc -l <"$TG_TMP/used") used; outside: ${bad:-none})" \
    [ -s "$TG_TMP/used" -a -z "$bad" ]
  check "SystemCallFilter=~@privileged: none of those (${priv:-none})" [ -z "$priv" ]
  check "  setrlimit or prlimit64, which raise the descriptor limit, among them" grep -qxE 'setrlimit|prlimit64' "$TG_TMP/used"
  fams=$(grep -o 'socket(AF_[A-Z0-9]*' "$TG_TMP/strace.1" | sort -u | sed 's/socket(//' | tr '\n' ' ')
  check "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX: the node's sockets ($fams)" \
    [ -n "$fams" -a -z "$(tr ' ' '\n' <<<"$fams" | grep -vxE 'AF_INET|AF_INET6|AF_UNIX|')" ]
  check "MemoryDenyWriteExecute=: no mapping writable and executable" \
    [ -z "$(grep -E '(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' "$TG_TMP/strace.1")" ]
else
  for c in "@system-service" "~@privileged" "setrlimit" "RestrictAddressFamilies" "MemoryDenyWriteExecute"; do
    ok "# SKIP $c (no strace or systemd-analyze)"
  done
fi

# The issue's CA node: [ca] dir outside the state directory, so read-only
# under the sandbox (visible as the rest of the file system is). Registration fails, and the log says where and why.
if [ $FS = 1 ]; then
  mv "$CA" "$TG_TMP/ca-outside"
  sed -i "s|^dir = ca\$|dir = $TG_TMP/ca-outside|" "$HUB/tsunagu.conf"
  SANDBOX_RO=$TG_TMP/ca-outside hub_start 2 || { echo "Bail out! the CA node did not restart"; exit 1; }
  tg_node_new r2
  tok=$(as_op "$TSUNAGU" ca token --dir "$TG_TMP/ca-outside" --node r2 --ttl 1h 2>/dev/null)
  out=$("$TSUNAGU" register --local --dir "$TG_TMP/r2" --hub "$HUB_URL" --token "$tok" --ca-fingerprint "$fp" 2>&1); rc=$?
  check "with the CA outside the state directory registration fails (rc $rc)" [ $rc != 0 ]
  check "  and the node logs the CA database's path and the system's reason" \
    grep -q "cannot open $TG_TMP/ca-outside/ca.db: .*(Read-only file system)" "$TG_TMP/hub.log"
  grep "ca-outside" "$TG_TMP/hub.log" | head -2 | sed 's/^/# /'
  hub_stop
else
  ok "# SKIP a CA outside the state directory (no mount namespace)"
  ok "# SKIP  its log line (no mount namespace)"
fi

plan "$_tap_n"
done_testing
