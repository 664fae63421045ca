// rdf-compare.js: whether two JSON-LD documents hold the same RDF graph,
// compared as canonical N-Quads (URDNA2015, jsonld.js), offline (a remote
// context is refused). Exit 0 when equal, 1 with the differing quads, 2 on error.
//   node rdf-compare.js A.jsonld B.jsonld
'use strict';
const fs = require('fs');
const jsonld = require('jsonld');

const offline = async (url) => { throw new Error(`remote context ${url} refused (offline)`); };
async function quads(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nq = await jsonld.canonize(doc, { algorithm: 'URDNA2015', format: 'application/n-quads', documentLoader: offline });
  return nq.split('\n').filter((l) => l.length > 0);
}
(async () => {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) { console.error('usage: rdf-compare.js A.jsonld B.jsonld'); process.exit(2); }
  const qa = await quads(a), qb = await quads(b);
  const sa = new Set(qa), sb = new Set(qb);
  const onlyA = qa.filter((q) => !sb.has(q)), onlyB = qb.filter((q) => !sa.has(q));
  if (onlyA.length === 0 && onlyB.length === 0) { console.log(`same graph: ${qa.length} triples`); process.exit(0); }
  for (const q of onlyA) console.log(`only in ${a}: ${q}`);
  for (const q of onlyB) console.log(`only in ${b}: ${q}`);
  process.exit(1);
})().catch((e) => { console.error(`rdf-compare: ${e.message}`); process.exit(2); });
