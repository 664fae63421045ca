#!/bin/sh
# tg_client against a real node: makes a small PKI with openssl (a federation
# CA, the node's certificate from it, a client certificate, an empty CRL and
# one revoking the node's certificate), starts tsunagud with the test routes
# and runs the C driver tests/tools/client_test, which prints the TAP lines.
# A second node's self-signed certificate serves as the wrong CA.
. "$top_srcdir/tests/lib.sh"

bail() { echo "Bail out! $*"; exit 1; }

P=$TG_TMP/pki
mkdir -p "$P" || bail "mkdir"
cat >"$P/x.cnf" <<'CNF'
[srv]
subjectAltName = DNS:localhost, IP:127.0.0.1, URI:urn:tsunagu:node:cl
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
[cli]
subjectAltName = URI:urn:tsunagu:node:peer1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[ca]
default_ca = d
[d]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 2
CNF

make_pki() (
  cd "$P" || exit 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.crt -subj /CN=fedca -days 2 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign || exit 1
  for n in srv cli; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
      -out $n.csr -subj /CN=$n || exit 1
    openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
      -days 2 -extfile x.cnf -extensions $n -out $n.crt || exit 1
  done
  : >index.txt && echo 01 >crlnumber || exit 1
  openssl ca -config x.cnf -gencrl -keyfile ca.key -cert ca.crt -out empty.crl || exit 1
  openssl ca -config x.cnf -revoke srv.crt -keyfile ca.key -cert ca.crt || exit 1
  openssl ca -config x.cnf -gencrl -keyfile ca.key -cert ca.crt -out revoked.crl || exit 1
) >"$P/openssl.log" 2>&1

make_pki || { diag "$(tail -5 "$P/openssl.log")"; bail "could not make the test PKI"; }
tg_node_new cl '[debug]
test_routes = on' || bail "tsunagu init"
tg_node_new other || bail "tsunagu init"
# The node serves a certificate from the federation CA and verifies clients with it.
cp "$P/srv.crt" "$TG_TMP/cl/node.crt" && cp "$P/srv.key" "$TG_TMP/cl/node.key" &&
  chmod 600 "$TG_TMP/cl/node.key" && cp "$P/ca.crt" "$TG_TMP/cl/ca.crt" || bail "install certs"
tg_node_start cl || bail "could not start the node"

"$top_builddir/tests/tools/client_test" "$(tg_node_url cl)" "$P/ca.crt" "$TG_TMP/other/node.crt" \
  "$P/cli.crt" "$P/cli.key" "$P/empty.crl" "$P/revoked.crl"
