// A lying node for tests/integration/provenance.sh: serves HTTPS with one
// member's certificate and key (KEY CERT, chained to CA) and relays every GET
// to another member (TARGET), calling it with the same certificate. A
// verifier asking this address for its provenance log gets the other
// member's tree head and leaves. Prints the port it listens on.
// Usage: node prov-relay.mjs KEY CERT CA TARGET
import fs from 'node:fs';
import https from 'node:https';

const [keyPath, certPath, caPath, target] = process.argv.slice(2);
const tls = { key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath), ca: fs.readFileSync(caPath) };

const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
  const url = new URL(req.url, target);
  const up = https.request(url, { ...tls, method: 'GET', headers: { accept: req.headers.accept || '*/*' } }, (r) => {
    res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] || 'application/json' });
    r.pipe(res);
  });
  up.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(e));
  });
  up.end();
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
