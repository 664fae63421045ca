#!/bin/sh
# Replays every fuzz target's corpus (fuzz/corpus/NAME) through the target
# built with the sanitizers: one TAP result per target.
set -u
n=0
for t in $TG_FUZZ_TARGETS; do n=$((n + 1)); done
echo "1..$n"
i=0
for t in $TG_FUZZ_TARGETS; do
  i=$((i + 1))
  name=$(basename "$t" | sed 's/^fuzz_//')
  corpus="$top_srcdir/fuzz/corpus/$name"
  if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
    echo "not ok $i - $name: no corpus in fuzz/corpus/$name"
    continue
  fi
  if out=$("$top_builddir/$t" "$corpus" 2>&1); then
    echo "ok $i - $name: $(echo "$out" | tail -n 1)"
  else
    echo "not ok $i - $name"
    echo "$out" | tail -n 30 | sed 's/^/# /'
  fi
done
