#!/bin/sh
# guide-steps.sh GUIDE OUTDIR: extracts the command blocks of an operator guide
# (docs/operator-guide.md) into OUTDIR, in order: for the Nth ```sh block,
# OUTDIR/NNN.marker holds its marker line without "#@ " ("a-city each-city
# name=init", or "not-run: REASON") and OUTDIR/NNN.sh the commands after it.
# A ```sh block without a "#@ " first line, or a block left open, is an error
# (exit 1, naming its line): every command in the guide is run or says why not.
set -eu
[ $# -eq 2 ] || { echo "usage: guide-steps.sh GUIDE OUTDIR" >&2; exit 2; }
mkdir -p "$2"
awk -v out="$2" '
  function fail(msg) { printf "guide-steps: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"; bad = 1; exit 1 }
  inblock == 0 && /^```sh[ \t]*$/ { inblock = 1; first = 1; n++; start = FNR; next }
  inblock == 0 && /^```/ { other = !other; next }
  inblock == 1 && /^```[ \t]*$/ { inblock = 0; close(body); next }
  inblock == 1 && first {
    if ($0 !~ /^#@ /) fail("a sh block must start with \"#@ MACHINE …\" or \"#@ not-run: REASON\"")
    first = 0
    base = sprintf("%s/%03d", out, n)
    body = base ".sh"
    print substr($0, 4) > (base ".marker"); close(base ".marker")
    printf "" > body
    next
  }
  inblock == 1 { print > body; next }
  END {
    if (bad) exit 1
    if (inblock) { printf "guide-steps: the sh block at line %d is not closed\n", start > "/dev/stderr"; exit 1 }
    if (n == 0) { print "guide-steps: no sh blocks" > "/dev/stderr"; exit 1 }
  }
' "$1"
