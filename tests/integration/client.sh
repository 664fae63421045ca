#!/bin/sh
# tg_client against a real node: starts tsunagud with the test routes and runs
# the C driver tests/tools/client_test (which prints the TAP lines itself),
# trusting the node's certificate; a second node's certificate is the wrong CA.
. "$top_srcdir/tests/lib.sh"

if ! tg_node_new cl '[debug]
test_routes = on' || ! tg_node_new other || ! tg_node_start cl; then
  echo "Bail out! could not start a node"
  exit 1
fi
"$top_builddir/tests/tools/client_test" "$(tg_node_url cl)" "$TG_TMP/cl/node.crt" \
  "$TG_TMP/other/node.crt"
