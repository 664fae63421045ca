#!/bin/bash
# Configuration checking: unknown sections and keys and bad values are refused
# with the file, the line and a likely intended name, by `tsunagud -t` (as
# `nginx -t`), at start and on SIGHUP (the running configuration is kept).
. "$top_srcdir/tests/lib.sh"
plan 14
tg_node_new cfg || { echo "Bail out! init failed"; exit 1; }
conf=$TG_TMP/cfg/tsunagu.conf
cp "$conf" "$conf.good"
t() { "$TSUNAGUD" -t -D "$TG_TMP/cfg" >"$TG_TMP/t.out" 2>"$TG_TMP/t.err"; }
line_of() { grep -n -- "$1" "$conf" | tail -1 | cut -d: -f1; }
said() { grep -qF -- "$1" "$TG_TMP/t.err"; }

t; rc=$?
good() { [ "$1" = 0 ] && grep -q "are good" "$TG_TMP/t.out"; }
check "tsunagud -t on a fresh node's configuration exits 0 and says so ($rc)" good $rc

printf '[lgo]\nlevel = debug\n' >>"$conf"
t; rc=$?
check "an unknown section exits 1 ($rc)" [ $rc = 1 ]
check "  naming file, line and the section meant: $(head -1 "$TG_TMP/t.err")" said "$conf:$(line_of '^\[lgo\]'): unknown section [lgo] (did you mean [log]?)"

cp "$conf.good" "$conf"
sed -i 's/^\[http\]$/[http]\nworkrs = 4/' "$conf"
t; rc=$?
check "a misspelt key exits 1 with its line and the key meant ($rc): $(head -1 "$TG_TMP/t.err")" said "$conf:$(line_of '^workrs'): unknown key 'workrs' in [http] (did you mean 'workers'?)"

cp "$conf.good" "$conf"
sed -i 's/^\[limits\]$/[limits]\nbody_byte = 32m/' "$conf"
t
check "body_byte for body_bytes: $(head -1 "$TG_TMP/t.err")" said "unknown key 'body_byte' in [limits] (did you mean 'body_bytes'?)"

cp "$conf.good" "$conf"
sed -i 's/^\[limits\]$/[limits]\nbody_bytes = 32 megs/' "$conf"
t; rc=$?
check "a bad value exits 1 with file, line and what was expected ($rc): $(head -1 "$TG_TMP/t.err")" said "$conf:$(line_of '^body_bytes = 32 megs'): [limits] body_bytes = 32 megs: expected a size"

cp "$conf.good" "$conf"
printf '[limits]\nbody_bytes.debug_echo = 4m\nbody_bytes.no_such_route = 4m\n' >>"$conf"
t
check "a per-route limit must name a route: $(head -1 "$TG_TMP/t.err")" said "unknown key 'body_bytes.no_such_route' in [limits]"
sed -i '/no_such_route/d' "$conf"
t; rc=$?
check "  and one that does is accepted ($rc: $(head -1 "$TG_TMP/t.err"))" [ $rc = 0 ]

cp "$conf.good" "$conf"
printf '[backend.river]\norigin = http://127.0.0.1:9\nheadr = X-Api-Key: secret\n' >>"$conf"
t
check "a backend's misspelt key is named: $(head -1 "$TG_TMP/t.err")" said "unknown key 'headr' in [backend.river] (did you mean 'header'?)"
nosecret() { ! grep -q secret "$TG_TMP/t.err"; }
check "  and its value (a secret) is not printed" nosecret

cp "$conf.good" "$conf"
printf '[lgo]\n' >>"$conf"
"$TSUNAGUD" -D "$TG_TMP/cfg" 2>"$TG_TMP/start.err" &
p=$!
tg_wait_exit "$p" 10
refused() { [ "$TG_EXIT_STATUS" != 0 ] && [ "$TG_EXIT_STATUS" != timeout ] && grep -q "unknown section \[lgo\]" "$TG_TMP/start.err"; }
check "tsunagud refuses to start on an unknown section ($TG_EXIT_STATUS)" refused
kill "$p" 2>/dev/null

cp "$conf.good" "$conf"
tg_node_start cfg || { echo "Bail out! cfg did not start"; exit 1; }
printf '[http]\nworkrs = 2\n' >>"$conf"
kill -HUP "$(tg_node_pid cfg)"
for _ in $(seq 1 50); do grep -q "reload failed" "$TG_TMP/cfg/tsunagud.log" && break; sleep 0.1; done
check "SIGHUP with a misspelt key is refused and logged with the line" grep -q "reload failed.*tsunagu.conf:[0-9]*: unknown key 'workrs' in \[http\]" "$TG_TMP/cfg/tsunagud.log"
check "  and the node keeps serving" [ "$(tg_curl cfg "$(tg_node_url cfg)/healthz" | jq -r .status)" = ok ]
cp "$conf.good" "$conf"
sed -i 's/^name = .*/name = Checked Town/' "$conf"
kill -HUP "$(tg_node_pid cfg)"
for _ in $(seq 1 50); do [ "$(tg_curl cfg "$(tg_node_url cfg)/.well-known/tsunagu" | jq -r .name)" = "Checked Town" ] && break; sleep 0.1; done
check "a corrected configuration is taken on the next SIGHUP" [ "$(tg_curl cfg "$(tg_node_url cfg)/.well-known/tsunagu" | jq -r .name)" = "Checked Town" ]
