#!/bin/bash
# The federation CA with offline signing: ca init, csr, ca sign, cert install
# for three nodes; every certificate checked by OpenSSL and GnuTLS; revocation;
# and real nodes accepting each other's client certificates on a peer-only
# route while refusing foreign-CA, revoked, expired and SAN-less certificates.
. "$top_srcdir/tests/lib.sh"

CA=$TG_TMP/ca
ossl_ok() { openssl verify -x509_strict -CAfile "$CA/ca.crt" -crl_check -CRLfile "$CA/crl.pem" "$1" >/dev/null 2>&1; }
gnutls_ok() {
  certtool --verify --load-ca-certificate "$CA/ca.crt" --load-crl "$CA/crl.pem" --infile "$1" >/dev/null 2>&1
}
not() { ! "$@"; }
# whoami AS URL: the node id URL's peer-only route sees for AS's certificate, or "refused"/"STATUS".
whoami() {
  local out
  out=$(curl -sS --cacert "$CA/ca.crt" --cert "$1.crt" --key "$1.key" -w '\n%{http_code}' "$2/api/v1/peer/whoami" 2>/dev/null) || { echo refused; return; }
  if [ "$(tail -1 <<<"$out")" = 200 ]; then jq -r .node_id <<<"$(head -1 <<<"$out")"; else tail -1 <<<"$out"; fi
}

# problem AS URL: the problem type a peer-only route answers AS's certificate with.
problem() {
  curl -sS --cacert "$CA/ca.crt" --cert "$1.crt" --key "$1.key" "$2/api/v1/peer/whoami" 2>/dev/null | jq -r .type
}

# --- the CA ---
out=$("$TSUNAGU" ca init --dir "$CA" --name "Tone River Basin" --days 365)
check "ca init succeeds and prints the CA fingerprint" grep -q "SHA-256: [0-9a-f]\{64\}" <<<"$out"
check "the CA key is 0600" [ "$(stat -c %a "$CA/ca.key")" = 600 ]
check "the CA key is ECDSA P-256" grep -q "prime256v1\|P-256" <<<"$(openssl pkey -in "$CA/ca.key" -noout -text 2>&1)"
ext=$(openssl x509 -in "$CA/ca.crt" -noout -ext basicConstraints,keyUsage,subjectKeyIdentifier)
check "the CA certificate has critical basicConstraints" grep -q "Basic Constraints: critical" <<<"$ext"
check "  with pathlen 0" grep -q "CA:TRUE, pathlen:0" <<<"$ext"
check "  keyUsage keyCertSign+cRLSign only" grep -q "^ *Certificate Sign, CRL Sign$" <<<"$ext"
check "  and a subject key identifier" grep -q "Subject Key Identifier" <<<"$ext"
end=$(date -d "$(openssl x509 -in "$CA/ca.crt" -noout -enddate | cut -d= -f2)" +%s)
check "--days 365 sets the validity" [ $(( (end - $(date +%s)) / 86400 )) -ge 364 -a $(( (end - $(date +%s)) / 86400 )) -le 365 ]
crl=$(openssl crl -in "$CA/crl.pem" -noout -text)
check "the first CRL is empty, number 1, with AKI and nextUpdate" \
  bash -c 'grep -q "No Revoked Certificates" <<<"$1" && grep -A1 "CRL Number" <<<"$1" | grep -q "^ *1$" && grep -q "Authority Key Identifier" <<<"$1" && grep -q "Next Update: [A-Z]" <<<"$1"' _ "$crl"
check "openssl accepts the CRL's signature" openssl crl -in "$CA/crl.pem" -CAfile "$CA/ca.crt" -noout
before=$(sha256sum "$CA"/*)
out=$("$TSUNAGU" ca init --dir "$CA" --name Again 2>&1); rc=$?
check "ca init refuses to overwrite (exit $rc, one line)" [ $rc -ne 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep refusing <<<"$out")" ]
check "  and changes nothing" [ "$before" = "$(sha256sum "$CA"/*)" ]

# --- three nodes: csr, ca sign, cert install ---
for n in n-a n-b n-c; do
  tg_node_new "$n"
  "$TSUNAGU" csr --dir "$TG_TMP/$n" --hosts 127.0.0.1 >"$TG_TMP/$n.csr"
  check "$n: the CSR verifies with openssl" openssl req -in "$TG_TMP/$n.csr" -noout -verify
  "$TSUNAGU" ca sign --dir "$CA" --node "$n" --hosts 127.0.0.1,localhost "$TG_TMP/$n.csr" >"$TG_TMP/$n.crt" 2>"$TG_TMP/$n.sign.log"
  check "$n: ca sign issues a certificate" test -s "$TG_TMP/$n.crt"
  check "$n: openssl verify -crl_check accepts it" ossl_ok "$TG_TMP/$n.crt"
  check "$n: GnuTLS certtool --verify accepts it" gnutls_ok "$TG_TMP/$n.crt"
  t=$(openssl x509 -in "$TG_TMP/$n.crt" -noout -text)
  check "$n: SAN has the node URI, the IP and the DNS name" grep -q "URI:urn:tsunagu:node:$n, IP Address:127.0.0.1, DNS:localhost" <<<"$t"
  check "$n: CN is the node id; EKU server+client; keyUsage critical digitalSignature" \
    bash -c 'grep -q "Subject: CN *= *$2\$" <<<"$1" && grep -q "TLS Web Server Authentication, TLS Web Client Authentication" <<<"$1" && grep -A1 "Key Usage: critical" <<<"$1" | grep -q "^ *Digital Signature$"' _ "$t" "$n"
  days=$(( ($(date -d "$(openssl x509 -in "$TG_TMP/$n.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
  check "$n: valid 90 days by default ($days)" [ "$days" -ge 89 -a "$days" -le 90 ]
  out=$("$TSUNAGU" cert install --dir "$TG_TMP/$n" --cert "$TG_TMP/$n.crt" --ca "$CA/ca.crt" --crl "$CA/crl.pem" 2>&1)
  check "$n: cert install accepts it" [ $? = 0 ]
  check "$n: the node directory now has the CA, the CRL and the issued certificate" \
    bash -c 'cmp -s "$1/node.crt" "$2" && cmp -s "$1/ca.crt" "$3/ca.crt" && cmp -s "$1/crl.pem" "$3/crl.pem"' _ "$TG_TMP/$n" "$TG_TMP/$n.crt" "$CA"
  cp "$TG_TMP/$n/node.key" "$TG_TMP/$n.key"
done
serials=$(for n in n-a n-b n-c; do openssl x509 -in "$TG_TMP/$n.crt" -noout -serial; done | sort -u | wc -l)
check "serials are distinct" [ "$serials" = 3 ]
sn=$(openssl x509 -in "$TG_TMP/n-a.crt" -noout -serial | cut -d= -f2)
check "serials are 128-bit and positive (${#sn} hex digits)" [ ${#sn} -ge 30 -a ${#sn} -le 32 ]
check "the issuance is recorded" [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_certs WHERE how='offline'")" = 3 ]

# --- refusals: nothing changes on disk ---
printf 'not a csr\n' >"$TG_TMP/bad.csr"
before=$(sha256sum "$CA"/ca.db "$CA"/crl.pem)
out=$("$TSUNAGU" ca sign --dir "$CA" --node n-a "$TG_TMP/bad.csr" 2>&1 >/dev/null); rc=$?
check "ca sign refuses a malformed CSR with one clear line" [ $rc -ne 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -i malformed <<<"$out")" ]
openssl req -new -newkey rsa:2048 -nodes -keyout "$TG_TMP/rsa.key" -subj /CN=x -out "$TG_TMP/rsa.csr" 2>/dev/null
out=$("$TSUNAGU" ca sign --dir "$CA" --node n-a "$TG_TMP/rsa.csr" 2>&1 >/dev/null)
check "ca sign refuses an RSA CSR" grep -q "RSA" <<<"$out"
openssl req -new -newkey ed25519 -nodes -keyout "$TG_TMP/ed.key" -subj /CN=x -out "$TG_TMP/ed.csr" 2>/dev/null
out=$("$TSUNAGU" ca sign --dir "$CA" --node n-a "$TG_TMP/ed.csr" 2>&1 >/dev/null)
check "ca sign refuses an Ed25519 CSR" grep -q "Ed25519" <<<"$out"
out=$("$TSUNAGU" ca sign --dir "$CA" --node "Bad_Id" "$TG_TMP/n-a.csr" 2>&1 >/dev/null)
check "ca sign refuses a bad node id" grep -q "invalid node id" <<<"$out"
out=$("$TSUNAGU" ca sign --dir "$CA" --node n-a --hosts "a,b c" "$TG_TMP/n-a.csr" 2>&1 >/dev/null)
check "ca sign refuses a host that is neither DNS name nor IP" grep -q "neither" <<<"$out"
out=$("$TSUNAGU" ca sign --dir "$CA" --node n-a --url ftp://127.0.0.1:9 "$TG_TMP/n-a.csr" 2>&1 >/dev/null)
check "ca sign refuses a --url that is not https" grep -q "not an https://HOST\[:PORT\] URL" <<<"$out"
check "refused signings change nothing in the CA" [ "$before" = "$(sha256sum "$CA"/ca.db "$CA"/crl.pem)" ]
"$TSUNAGU" ca sign --dir "$CA" --node n-url --url https://127.0.0.1:18443 "$TG_TMP/n-a.csr" >"$TG_TMP/n-url.crt" 2>/dev/null
check "ca sign --url puts the URL in the certificate and the federation directory" [ "$(openssl x509 -in "$TG_TMP/n-url.crt" -noout -ext subjectAltName | grep -c 'IP Address:127.0.0.1')" = 1 -a "$(tg_sql "$CA/ca.db" "SELECT url FROM ca_urls WHERE node_id='n-url'")" = https://127.0.0.1:18443 ]
tg_node_new n-nocrl
"$TSUNAGU" csr --dir "$TG_TMP/n-nocrl" >"$TG_TMP/n-nocrl.csr"
"$TSUNAGU" ca sign --dir "$CA" --node n-nocrl "$TG_TMP/n-nocrl.csr" >"$TG_TMP/n-nocrl.crt" 2>/dev/null
out=$("$TSUNAGU" cert install --dir "$TG_TMP/n-nocrl" --cert "$TG_TMP/n-nocrl.crt" --ca "$CA/ca.crt" 2>&1); rc=$?
check "cert install without --crl on a node that has none is refused (rc $rc)" [ $rc -ne 0 -a -n "$(grep -- '--crl FILE is required' <<<"$out")" -a ! -e "$TG_TMP/n-nocrl/ca.crt" ]

before=$(sha256sum "$TG_TMP/n-a/node.crt")
out=$("$TSUNAGU" cert install --dir "$TG_TMP/n-a" --cert "$TG_TMP/n-b.crt" --ca "$CA/ca.crt" 2>&1); rc=$?
check "cert install refuses a certificate for another node's key" [ $rc -ne 0 -a -n "$(grep "not for this node's key" <<<"$out")" ]
mkdir -p "$TG_TMP/other"
"$TSUNAGU" ca init --dir "$TG_TMP/other/ca" --name "Other" >/dev/null
"$TSUNAGU" ca sign --dir "$TG_TMP/other/ca" --node n-a --hosts 127.0.0.1 "$TG_TMP/n-a.csr" >"$TG_TMP/n-a-foreign.crt" 2>/dev/null
out=$("$TSUNAGU" cert install --dir "$TG_TMP/n-a" --cert "$TG_TMP/n-a-foreign.crt" --ca "$CA/ca.crt" 2>&1); rc=$?
check "cert install refuses a certificate from another CA" [ $rc -ne 0 -a -n "$(grep "does not verify" <<<"$out")" ]
out=$("$TSUNAGU" cert install --dir "$TG_TMP/n-a" --cert "$TG_TMP/n-a.crt" --ca "$CA/ca.crt" --crl "$TG_TMP/other/ca/crl.pem" 2>&1); rc=$?
check "cert install refuses a CRL from another CA" [ $rc -ne 0 -a -n "$(grep "not signed by the CA" <<<"$out")" ]
check "refused installs leave node.crt alone" [ "$before" = "$(sha256sum "$TG_TMP/n-a/node.crt")" ]

# --- live nodes: mutual TLS with the federation certificates ---
tg_node_start n-a || { echo "Bail out! n-a did not start"; exit 1; }
tg_node_start n-b || { echo "Bail out! n-b did not start"; exit 1; }
ua=$(tg_node_url n-a); ub=$(tg_node_url n-b)
check "n-a serves its CA-issued certificate (verified against ca.crt)" curl -fsS --cacert "$CA/ca.crt" "$ua/healthz" -o /dev/null
check "n-a accepts n-b's client certificate: whoami says n-b" [ "$(whoami "$TG_TMP/n-b" "$ua")" = n-b ]
check "n-b accepts n-a's client certificate: whoami says n-a" [ "$(whoami "$TG_TMP/n-a" "$ub")" = n-a ]
check "n-a accepts n-c's client certificate" [ "$(whoami "$TG_TMP/n-c" "$ua")" = n-c ]
st=$(curl -sS --cacert "$CA/ca.crt" -o /dev/null -w '%{http_code}' "$ua/api/v1/peer/whoami")
check "no client certificate: the peer route answers 403 ($st)" [ "$st" = 403 ]

# A certificate from another CA (same node key): not a peer, and told why.
cp "$TG_TMP/n-a-foreign.crt" "$TG_TMP/foreign.crt"; cp "$TG_TMP/n-a.key" "$TG_TMP/foreign.key"
r=$(whoami "$TG_TMP/foreign" "$ub")
check "a certificate from another CA is refused with 403 ($r)" [ "$r" = 403 ]
check "  as problem+json peer-certificate-untrusted" [ "$(problem "$TG_TMP/foreign" "$ub")" = urn:tsunagu:problem:peer-certificate-untrusted ]

# A certificate from the right CA but without the SAN URI (made with openssl).
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=DNS:localhost\n' >"$TG_TMP/nouri.ext"
openssl x509 -req -in "$TG_TMP/n-c.csr" -CA "$CA/ca.crt" -CAkey "$CA/ca.key" -set_serial 0x1234 -days 1 \
  -extfile "$TG_TMP/nouri.ext" -out "$TG_TMP/nouri.crt" 2>/dev/null
cp "$TG_TMP/n-c.key" "$TG_TMP/nouri.key"
check "the SAN-less certificate itself verifies with openssl" ossl_ok "$TG_TMP/nouri.crt"
r=$(whoami "$TG_TMP/nouri" "$ua")
check "a certificate without the SAN URI gets no peer identity ($r)" [ "$r" = 403 ]
check "  as problem+json peer-certificate-no-node-id" [ "$(problem "$TG_TMP/nouri" "$ua")" = urn:tsunagu:problem:peer-certificate-no-node-id ]

# An expired certificate: issued valid for 1 second.
"$TSUNAGU" ca sign --dir "$CA" --node n-c --valid 1s "$TG_TMP/n-c.csr" >"$TG_TMP/expired.crt" 2>/dev/null
cp "$TG_TMP/n-c.key" "$TG_TMP/expired.key"
sleep 2
check "openssl calls the short-lived certificate expired" grep -q "expired" <<<"$(openssl verify -CAfile "$CA/ca.crt" "$TG_TMP/expired.crt" 2>&1)"
r=$(whoami "$TG_TMP/expired" "$ua")
check "an expired certificate is refused with 403 ($r)" [ "$r" = 403 ]
check "  as problem+json peer-certificate-expired" [ "$(problem "$TG_TMP/expired" "$ua")" = urn:tsunagu:problem:peer-certificate-expired ]

# Revocation: n-c revoked, the new CRL given to n-a, SIGHUP.
out=$("$TSUNAGU" ca revoke --dir "$CA" --node n-c --reason keyCompromise)
check "ca revoke revokes n-c's two certificates" grep -q "revoked 2 certificate" <<<"$out"
crl=$(openssl crl -in "$CA/crl.pem" -noout -text)
check "the new CRL is number 2 with n-c's serial and reason" \
  bash -c 'grep -A1 "CRL Number" <<<"$1" | grep -q "^ *2$" && grep -q "Serial Number: $2" <<<"$1" && grep -q "Key Compromise" <<<"$1"' _ "$crl" "$(openssl x509 -in "$TG_TMP/n-c.crt" -noout -serial | cut -d= -f2)"
check "openssl verify -crl_check rejects the revoked certificate" not ossl_ok "$TG_TMP/n-c.crt"
out=$(openssl verify -CAfile "$CA/ca.crt" -crl_check -CRLfile "$CA/crl.pem" "$TG_TMP/n-c.crt" 2>&1)
check "  saying it is revoked" grep -q "certificate revoked" <<<"$out"
out=$(certtool --verify --load-ca-certificate "$CA/ca.crt" --load-crl "$CA/crl.pem" --infile "$TG_TMP/n-c.crt" 2>&1); rc=$?
check "certtool --verify --load-crl rejects the revoked certificate (exit $rc)" [ $rc -ne 0 -a -n "$(grep -i revoked <<<"$out")" ]
check "both still accept n-a and n-b" bash -c 'for n in n-a n-b; do openssl verify -CAfile "$1/ca.crt" -crl_check -CRLfile "$1/crl.pem" "$2/$n.crt" >/dev/null && certtool --verify --load-ca-certificate "$1/ca.crt" --load-crl "$1/crl.pem" --infile "$2/$n.crt" >/dev/null || exit 1; done' _ "$CA" "$TG_TMP"
check "n-a still accepts n-c before it has the new CRL" [ "$(whoami "$TG_TMP/n-c" "$ua")" = n-c ]
cp "$CA/crl.pem" "$TG_TMP/n-a/crl.pem"
kill -HUP "$(tg_node_pid n-a)"
r=""
for i in $(seq 1 50); do r=$(whoami "$TG_TMP/n-c" "$ua"); [ "$r" != n-c ] && break; sleep 0.1; done
check "after SIGHUP n-a refuses revoked n-c with 403 ($r)" [ "$r" = 403 ]
check "  as problem+json peer-certificate-revoked" [ "$(problem "$TG_TMP/n-c" "$ua")" = urn:tsunagu:problem:peer-certificate-revoked ]
check "  and still accepts n-b" [ "$(whoami "$TG_TMP/n-b" "$ua")" = n-b ]
check "the revocation is recorded" [ "$(tg_sql "$CA/ca.db" "SELECT count(*) FROM ca_certs WHERE node_id='n-c' AND revoked_at IS NOT NULL AND reason=1")" = 2 ]

plan "$_tap_n"
done_testing
