// fake-feed: a misbehaving federation peer for tests/integration/harvest.sh.
// Serves GET /api/v1/catalog/changes over TLS with a real federation
// certificate (argv: key, cert, mode file). The mode file says what to send:
// "garbage" (not JSON), "foreign" (a page publishing another node's
// dataset id), "backwards" (a last_seq below the one asked for), "endless"
// (always one more page), "slow" (endless, each page 700 ms late), "flood" (4 MiB of empty objects: some 1.4 million
// JSON values, about 300 MB once parsed), "rich" (that page while more than
// 125 changes are asked for, a plain one after) or "longid" (a change whose
// id is 100 KB long), "liar" (a page whose Link rel="next" names another
// since than its last_seq: a follower that fetches ahead on the Link must
// fetch again from the page's own last_seq). "rich" sends a Link too, so the
// page fetched ahead is dropped when the dense one is asked again. Prints
// its port on stdout.
import https from 'node:https';
import fs from 'node:fs';

const [key, cert, modeFile] = process.argv.slice(2);
const forged = {
  '@context': { dct: 'http://purl.org/dc/terms/', dcat: 'http://www.w3.org/ns/dcat#' },
  '@id': 'urn:tsunagu:a:dataset:forged',
  '@type': 'dcat:Dataset',
  'dct:title': 'forged dataset',
  'dct:description': 'claims to be a\'s',
};
const gds = (local) => ({ ...forged, '@id': `urn:tsunagu:g:dataset:${local}`, 'dct:title': `liar ${local}` });
// 1,000 upserts of g's datasets PREFIX<FIRST..FIRST+999> after SINCE.
const upserts = (since, prefix, first = 0) => Array.from({ length: 1000 }, (_, i) => {
  const ds = gds(`${prefix}${first + i}`);
  return { seq: since + 1 + i, op: 'upsert', id: ds['@id'], version: 1, dataset: ds };
});
let liarBase = -1;
let faBase = -1;
let l5Base = -1;
let bkBase = -1;
const flood = '{"changes":[' + '{},'.repeat((4 << 20) / 3) + '{}],"last_seq":1,"more":false}';
const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
  const mode = fs.readFileSync(modeFile, 'utf8').trim();
  if (!req.url.startsWith('/api/v1/catalog/changes')) {
    res.writeHead(404).end();
    return;
  }
  if (mode === 'garbage') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>this is not a feed');
    return;
  }
  const since = Number(new URL(req.url, 'https://x').searchParams.get('since') || 0);
  const json = (o) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(o));
  if (mode === 'backwards') {
    json({ changes: [], last_seq: Math.max(since - 1, 0), more: false });
    return;
  }
  if (mode === 'flood') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(flood);
    return;
  }
  if (mode === 'rich') { // as dense as flood for a full page, a plain page once asked for fewer
    if (Number(new URL(req.url, 'https://x').searchParams.get('limit') || 1000) > 125) {
      res.writeHead(200, { 'Content-Type': 'application/json',
        Link: `<https://g/api/v1/catalog/changes?since=${since + 1000}&limit=1000>; rel="next"` }).end(flood);
      return;
    }
    json({ changes: [{ seq: since + 1, op: 'delete', id: 'urn:tsunagu:g:dataset:rich', version: 1 }],
      last_seq: since + 1, more: false });
    return;
  }
  if (mode === 'liar') {
    if (liarBase < 0) liarBase = since;
    const page = (seq, local, more) => ({ changes: [{ seq, op: 'upsert', id: gds(local)['@id'], version: 1,
      dataset: gds(local) }], last_seq: seq, more });
    fs.appendFileSync(`${modeFile}.since`, `${since}\n`);
    if (since === liarBase) { // the next link after a last one, each with its own parameters
      res.writeHead(200, { 'Content-Type': 'application/json',
        Link: `<https://g/api/v1/catalog/changes?since=${since + 900}>; rel="last", ` +
          `<https://g/api/v1/catalog/changes?limit=1000&since=${since + 7}>; rel="next"` })
        .end(JSON.stringify(page(since + 1, 'liar1', true)));
    } else if (since === liarBase + 1) {
      json(page(since + 1, 'liar2', false));
    } else if (since === liarBase + 7) {
      json(page(since + 1, 'liarwrong', false));
    } else {
      json({ changes: [], last_seq: since, more: false });
    }
    return;
  }
  if (mode === 'failahead') {
    if (faBase < 0) faBase = since;
    if (since === faBase) {
      const changes = upserts(since, 'fa');
      res.writeHead(200, { 'Content-Type': 'application/json',
        Link: `<https://g/api/v1/catalog/changes?since=${since + 1000}&limit=1000>; rel="next"` })
        .end(JSON.stringify({ changes, last_seq: since + 1000, more: true }));
    } else {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('broken');
    }
    return;
  }
  if (mode === 'liar500') {
    if (l5Base < 0) l5Base = since;
    if (since === l5Base) {
      const changes = upserts(since, 'l5x');
      res.writeHead(200, { 'Content-Type': 'application/json',
        Link: `<https://g/api/v1/catalog/changes?since=${since + 5000}>; rel="next"` })
        .end(JSON.stringify({ changes, last_seq: since + 1000, more: true }));
    } else if (since === l5Base + 1000) {
      json({ changes: [{ seq: since + 1, op: 'upsert', id: gds('l5end')['@id'], version: 1, dataset: gds('l5end') }],
        last_seq: since + 1, more: false });
    } else if (since === l5Base + 5000) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('nothing here');
    } else {
      json({ changes: [], last_seq: since, more: false });
    }
    return;
  }
  if (mode === 'bulk') {
    if (bkBase < 0) bkBase = since;
    const k = (since - bkBase) / 1000;
    if (Number.isInteger(k) && k >= 0 && k < 3) {
      const changes = upserts(since, 'bulk', k * 1000);
      const head = { 'Content-Type': 'application/json' };
      if (k < 2) head.Link = `<https://g/api/v1/catalog/changes?since=${since + 1000}>; rel="next"`;
      res.writeHead(200, head).end(JSON.stringify({ changes, last_seq: since + 1000, more: k < 2 }));
    } else {
      json({ changes: [], last_seq: since, more: false });
    }
    return;
  }
  if (mode === 'dupkey') {
    const ds = JSON.stringify(gds('dup')).replace(/}$/, ',"dct:title":"dup second"}');
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      `{"changes":[{"seq":${since + 1},"op":"upsert","id":"urn:tsunagu:g:dataset:dup","version":1,` +
      `"dataset":${ds}}],"last_seq":${since + 1},"more":false}`);
    return;
  }
  if (mode === 'longid') {
    const id = 'urn:tsunagu:g:dataset:' + 'x'.repeat(100000);
    json({ changes: [{ seq: since + 1, op: 'delete', id, version: 1 }], last_seq: since + 1, more: false });
    return;
  }
  if (mode === 'slow') { // endless, each page 700 ms late
    setTimeout(() => json({ changes: [], last_seq: since + 1, more: true }), 700);
    return;
  }
  if (mode === 'endless') {
    json({ changes: [], last_seq: since + 1, more: true });
    return;
  }
  const changes = since >= 2 ? [] : [
    { seq: 1, op: 'upsert', id: forged['@id'], version: 1, dataset: forged },
    { seq: 2, op: 'delete', id: 'urn:tsunagu:g:dataset:gone', version: 2 },
  ];
  res.writeHead(200, { 'Content-Type': 'application/json' })
    .end(JSON.stringify({ changes, last_seq: Math.max(since, 2), more: false }));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
