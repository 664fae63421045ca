// data-backend.mjs: a small HTTP data source for the broker tests. Listens on
// 127.0.0.1 port 0 and prints the port. It counts what it serves and keeps the
// headers of the last request (GET /_stats answers both as JSON).
//   /water            NDJSON river records with a marker string
//   /big?bytes=N      N bytes of 'x' with Content-Length
//   /die?bytes=N      announces 2N bytes, sends N, then drops the connection
//   /hang             never answers
//   /status?code=C    answers with status C
//   /feed             the file named by the second argument, as NDJSON
//   /trickle          ten bytes, then ten more four seconds later
//   /slowbody         sends 10 bytes, then nothing
//   /raw?k=K          a hand-written answer: ctype (a bare CR in Content-Type
//                     hiding a Set-Cookie), te (416, chunked and a
//                     Content-Length that disagrees with the body), hugelen
//                     (a Content-Length past 2^63)
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';

const marker = process.argv[2] || 'MARKER-0000';
let count = 0;
let last = {};
const water = [];
for (let i = 0; i < 5; i++) {
  water.push(JSON.stringify({
    id: `urn:ngsi-ld:WaterObserved:K0${i}`, type: 'RiverLevel', station: `K0${i}`,
    level_cm: 120 + i, observed: `令和6年4月${i + 1}日 10時00分`, note: marker,
  }));
}
const body = water.join('\n') + '\n';

function big(res, n, die) {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': die ? 2 * n : n });
  const chunk = Buffer.alloc(65536, 'x');
  let left = n;
  const pump = () => {
    while (left > 0) {
      const k = Math.min(left, chunk.length);
      left -= k;
      if (!res.write(k === chunk.length ? chunk : chunk.subarray(0, k))) { res.once('drain', pump); return; }
    }
    if (die) res.socket.destroy(); else res.end();
  };
  pump();
}

const handler = (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/_stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ count, last }));
    return;
  }
  count++;
  const peer = req.socket.getPeerCertificate ? req.socket.getPeerCertificate() : null;
  last = { method: req.method, url: req.url, headers: req.headers,
    client_cn: peer && peer.subject ? peer.subject.CN : null };
  const n = Number(u.searchParams.get('bytes') || 0);
  switch (u.pathname) {
    case '/water':
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', ETag: '"w1"',
        'Last-Modified': 'Tue, 01 Dec 2026 00:00:00 GMT', 'Content-Length': Buffer.byteLength(body),
        Connection: 'keep-alive', 'Set-Cookie': 'backend=secret' });
      res.end(req.method === 'HEAD' ? undefined : body);
      break;
    case '/feed':
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.end(fs.readFileSync(process.argv[3]));
      break;
    case '/big': big(res, n, false); break;
    case '/die': big(res, n, true); break;
    case '/hang': break;
    case '/trickle': // ten bytes now, the rest four seconds later
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('0123456789');
      setTimeout(() => res.end('abcdefghij'), 4000);
      break;
    case '/slowbody':
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 100 });
      res.write('0123456789');
      break;
    case '/raw': {
      const raw = {
        ctype: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\rSet-Cookie: injected=1\r\n' +
          'Content-Length: 2\r\nConnection: close\r\n\r\nok',
        te: 'HTTP/1.1 416 Range Not Satisfiable\r\nContent-Type: text/plain\r\n' +
          'Transfer-Encoding: chunked\r\nContent-Length: 2\r\nConnection: close\r\n\r\n' +
          '6\r\nabcdef\r\n0\r\n\r\n',
        hugelen: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n' +
          'Content-Length: 9223372036854775808\r\nConnection: close\r\n\r\nshort',
      }[u.searchParams.get('k')] || 'HTTP/1.1 500 Unknown\r\nContent-Length: 0\r\n\r\n';
      res.socket.end(raw);
      break;
    }
    case '/status':
      res.writeHead(Number(u.searchParams.get('code') || 500), { 'Content-Type': 'text/plain' });
      res.end('backend says no');
      break;
    default:
      res.writeHead(404); res.end();
  }
};
const server = http.createServer(handler);
server.keepAliveTimeout = 30000;
// With BACKEND_TLS_DIR (server.crt, server.key, ca.crt), an https server too,
// which requires a client certificate from that CA; its port is the second line.
const dir = process.env.BACKEND_TLS_DIR;
server.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
  if (!dir) return;
  const s2 = https.createServer({
    cert: fs.readFileSync(`${dir}/server.crt`), key: fs.readFileSync(`${dir}/server.key`),
    ca: fs.readFileSync(`${dir}/ca.crt`), requestCert: true, rejectUnauthorized: true,
  }, handler);
  s2.listen(0, '127.0.0.1', () => console.log(s2.address().port));
});
