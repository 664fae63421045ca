#!/bin/bash
# The tsunagu command line: help at every level, version, errors as one line
# and a non-zero exit, readable and --json output.
. "$top_srcdir/tests/lib.sh"
plan 20
check "--version prints the version" grep -q "^tsunagu 0.1.0$" <<<"$("$TSUNAGU" --version)"
check "--help lists the commands" grep -q "init .*create" <<<"$("$TSUNAGU" --help)"
check "COMMAND --help shows its usage" grep -q "^usage: tsunagu init --dir DIR --id NODE-ID" <<<"$("$TSUNAGU" init --help)"
out=$("$TSUNAGU" frobnicate 2>&1); rc=$?
check "an unknown command is one line and exit 2" [ $rc = 2 -a "$(wc -l <<<"$out")" = 1 ]
out=$("$TSUNAGU" init --dir "$TG_TMP/x" 2>&1); rc=$?
check "a missing option is a usage error (exit 2), named" [ $rc = 2 -a -n "$(grep 'required' <<<"$out")" ]
# One option parser: usage errors are one line and exit 2 at every level.
usage_err() { local out rc; out=$("$TSUNAGU" "${@:2}" 2>&1); rc=$?; [ $rc = 2 -a "$(wc -l <<<"$out")" = 1 ] && grep -q -- "$1" <<<"$out"; }
check "an unknown global option is exit 2" usage_err "^tsunagu: unknown option --frob" --frob info
check "an unknown command option is exit 2, named" usage_err "^tsunagu ca sign: unknown option --nod " ca sign --nod x
check "an option without its value is exit 2" usage_err "^tsunagu vocab search: option --lang needs a value" vocab search word --lang
check "a flag given a value is exit 2" usage_err "option --new-key takes no value" renew --new-key=yes
check "an extra argument is exit 2" usage_err "^tsunagu info: unexpected argument 'x'" info x
check "an unknown subcommand is exit 2" usage_err "^tsunagu dataset: unknown subcommand 'frob'" dataset frob
check "global options may come between command and subcommand" usage_err "^tsunagu dataset: unknown subcommand 'frob'" dataset --json frob
out=$("$TSUNAGU" init --id=eq --dir="$TG_TMP/eq" -- 2>&1); rc=$?
check "--name=value works and -- ends the options" [ $rc = 0 -a -f "$TG_TMP/eq/tsunagu.conf" ]
check "tsunagud --help works" grep -q "tsunagud \[-t\] -D DIR" <<<"$("$TSUNAGUD" --help)"
out=$("$TSUNAGU" --dir "$TG_TMP/none" info 2>&1); rc=$?
check "info --dir with no such directory says so in one line, exit 3" [ $rc = 3 -a "$(wc -l <<<"$out")" = 1 ] && grep -q "does not exist" <<<"$out"
tg_node_new stopped
out=$("$TSUNAGU" --dir "$TG_TMP/stopped" info 2>&1); rc=$?
check "info without a running node says so in one line, exit 3" [ $rc = 3 -a "$(wc -l <<<"$out")" = 1 ] && grep -q "not running" <<<"$out"

tg_node_new cli && tg_node_start cli || { echo "Bail out! node did not start"; exit 1; }
out=$("$TSUNAGU" --dir "$TG_TMP/cli" info)
check "info prints a readable summary" grep -q "^node: *cli (cli)$" <<<"$out"
check "info --json is JSON" [ "$("$TSUNAGU" --dir "$TG_TMP/cli" info --json | jq -r .node_id)" = cli ]
check "health exits 0 for a healthy node" "$TSUNAGU" --dir "$TG_TMP/cli" health
out=$("$TSUNAGU" --url "https://127.0.0.1:1" --cacert "$TG_TMP/cli/node.crt" health 2>&1); rc=$?
check "an unreachable node is one line and exit 3" [ $rc = 3 -a "$(wc -l <<<"$out")" = 1 ]
done_testing
