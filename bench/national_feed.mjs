// national_feed: bench/national's synthetic peers. One process serves the
// change feeds (GET /api/v1/catalog/changes?since=SEQ&limit=N) of OWNERS
// synthetic municipalities over mutual TLS, one HTTPS listener per owner on
// 127.0.0.1 with that owner's CA-issued certificate (SAN
// urn:tsunagu:node:<id>), so the harvester's pinning sees a distinct node
// behind each URL. Each owner publishes PER datasets in the canonical form a
// tsunagu peer serves (the fixed @context, compact terms), with Japanese and
// English titles, descriptions and keywords: its municipality's name, rivers,
// 水位, 雨量 and the like.
//   node national_feed.mjs CERTDIR OWNERS PER OUT
// CERTDIR holds ca.crt, peer.key and <id>.crt for every owner; OUT gets one
// line "<id> https://127.0.0.1:<port>" per owner once all listen.
import https from 'node:https';
import fs from 'node:fs';
import { owners as makeOwners, dataset } from './national_data.mjs';

const [certDir, nOwners, per, out] = process.argv.slice(2);
const ca = fs.readFileSync(`${certDir}/ca.crt`);
const key = fs.readFileSync(`${certDir}/peer.key`);
const owners = makeOwners(Number(nOwners));
const PER = Number(per);
let served = 0;

function feed(o, since, limit) {
  const changes = [];
  for (let s = since + 1; s <= PER && changes.length < limit; s++)
    changes.push({ seq: s, op: 'upsert', id: `urn:tsunagu:${o.id}:dataset:d${s}`, version: 1,
                   dataset: dataset(o, s) });
  const last = changes.length ? changes[changes.length - 1].seq : Math.max(since, 0);
  return { changes, last_seq: last, more: last < PER };
}

const lines = [];
let listening = 0;
for (const o of owners) {
  const server = https.createServer({ key, cert: fs.readFileSync(`${certDir}/${o.id}.crt`), ca,
                                      requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const u = new URL(req.url, 'https://x');
    if (u.pathname !== '/api/v1/catalog/changes') {
      res.writeHead(404).end();
      return;
    }
    const since = Math.max(Number(u.searchParams.get('since') || 0), 0);
    const limit = Math.min(Math.max(Number(u.searchParams.get('limit') || 100), 1), 1000);
    const body = JSON.stringify(feed(o, since, limit));
    served++;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
      .end(body);
  });
  server.keepAliveTimeout = 120000;
  server.listen(0, '127.0.0.1', () => {
    lines.push(`${o.id} https://127.0.0.1:${server.address().port}`);
    if (++listening === owners.length) {
      fs.writeFileSync(out, lines.join('\n') + '\n');
      console.log(`national_feed: ${owners.length} owners x ${PER} datasets listening`);
    }
  });
}
process.on('SIGTERM', () => { console.log(`national_feed: ${served} pages served`); process.exit(0); });
