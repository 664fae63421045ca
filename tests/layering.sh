#!/bin/sh
# Checks that the parts point one way (docs/design.md, "Layers"): every tg_
# symbol a part's library leaves undefined is defined in that part or one it
# may use, and every #include "..." in a part's sources names a header of that
# part or one it may use. Prints each offending symbol or include with its file.
set -u
LC_ALL=C
export LC_ALL
: "${top_srcdir:?}" "${top_builddir:?}"

# part  folder  library  the parts it may use (besides itself)
PARTS='common common libtgcommon.a -
certs certs libtgcerts.a common
vocab vocab libtgvocab.a common
catalog catalog libtgcatalog.a common,certs,vocab
prov provenance libtgprov.a common
http connector/http libtghttp.a common,certs,vocab,catalog,prov
node connector/node libtgnode.a common,certs,vocab,catalog,prov,http
fed connector/fed libtgfed.a common,certs,vocab,catalog,prov,http,node
routes connector/routes libtgroutes.a common,certs,vocab,catalog,prov,http,node,fed
app connector/app libtgapp.a common,certs,vocab,catalog,prov,http,node,fed,routes
cli connector/cli libtgcli.a common,certs,vocab,catalog,prov,http,node,fed'

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

echo "1..2"

# 1. Symbols: which part defines each tg_ symbol, then each part's undefined ones.
echo "$PARTS" | while read -r part dir lib uses; do
  nm -g --defined-only "$top_builddir/$lib" 2>/dev/null |
    awk -v p="$part" 'NF >= 3 && $3 ~ /^tg_/ { print $3, p }'
done | sort -u > "$tmp/defs"
if [ ! -s "$tmp/defs" ]; then
  echo "not ok 1 - no libraries found under $top_builddir"
else
  echo "$PARTS" | while read -r part dir lib uses; do
    # nm -A: "lib.a:obj.o:  U sym"
    nm -A -u "$top_builddir/$lib" | awk '$NF ~ /^tg_/ { split($1, f, ":"); print $NF, f[2] }' |
      sort | join - "$tmp/defs" | while read -r sym obj def; do
        case ",$part,$uses," in
        *",$def,"*) ;;
        *) echo "# $dir/$obj uses $sym from $def: $part may use only $uses" ;;
        esac
      done
  done > "$tmp/upsym"
  if [ -s "$tmp/upsym" ]; then
    echo "not ok 1 - a part calls a part above it"
    cat "$tmp/upsym"
  else
    echo "ok 1 - every tg_ symbol a part uses is its own or below it"
  fi
fi

# 2. Includes: a quoted header must live in the part itself or a part below.
echo "$PARTS" | while read -r part dir lib uses; do
  for f in "$top_srcdir/$dir"/*.c "$top_srcdir/$dir"/*.h; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do
      [ -f "$top_srcdir/$dir/$h" ] && continue
      owner=$(echo "$PARTS" | while read -r p2 d2 l2 u2; do
        [ -f "$top_srcdir/$d2/$h" ] && echo "$p2"
      done | head -n 1)
      [ -n "$owner" ] || continue # config.h and system headers
      case ",$uses," in
      *",$owner,"*) ;;
      *) echo "# $dir/${f##*/} includes $h from $owner: $part may use only $uses" ;;
      esac
    done
  done
done > "$tmp/upinc"
if [ -s "$tmp/upinc" ]; then
  echo "not ok 2 - a part includes a header of a part above it"
  cat "$tmp/upinc"
else
  echo "ok 2 - every quoted #include is of the part's own headers or those below"
fi
exit 0
