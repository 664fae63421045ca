#!/usr/bin/env node
// shacl-validate.js: validates a JSON-LD document against SHACL shapes, offline.
// Usage: node shacl-validate.js [--shapes FILE.ttl] DOC.jsonld|-
// Contexts are served from local copies under tests/standards (the
// DCAT-AP 3.0.1 context URL maps to dcat-ap-3.0.1.patched.jsonld); any other
// remote URL is refused. Prints each violation; exits 0 if the data conforms,
// 1 if it does not, 2 on a usage or processing error.
'use strict';

const fs = require('fs');
const path = require('path');
const jsonld = require('jsonld');
const N3 = require('n3');
const rdf = require('@zazuko/env-node').default || require('@zazuko/env-node');
const SHACLValidator = (() => {
  const m = require('rdf-validate-shacl');
  return m.default || m;
})();

function fail(msg) {
  process.stderr.write('shacl-validate: ' + msg + '\n');
  process.exit(2);
}

// The shapes and contexts ship with the tests (tests/standards, with their licences).
const std = path.join(__dirname, '..', 'standards');

const LOCAL = {
  'https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld':
    path.join(std, 'dcat-ap-3.0.1', 'dcat-ap-3.0.1.patched.jsonld'),
};

async function documentLoader(url) {
  const file = LOCAL[url];
  if (!file) throw new Error('refusing to load remote document ' + url);
  return { contextUrl: null, documentUrl: url, document: JSON.parse(fs.readFileSync(file, 'utf8')) };
}

async function main() {
  const args = process.argv.slice(2);
  let shapesFile = path.join(std, 'dcat-ap-3.0.1', 'dcat-ap-SHACL.ttl');
  let input = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--shapes') shapesFile = args[++i];
    else if (input === null) input = args[i];
    else fail('unexpected argument ' + args[i]);
  }
  if (input === null) fail('usage: shacl-validate.js [--shapes FILE.ttl] DOC.jsonld|-');
  const text = fs.readFileSync(input === '-' ? 0 : input, 'utf8');
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail('input is not JSON: ' + e.message);
  }
  const nquads = await jsonld.toRDF(doc, { format: 'application/n-quads', documentLoader });
  const data = rdf.dataset(new N3.Parser({ format: 'N-Quads' }).parse(nquads));
  if (data.size === 0) fail('the document gives no triples');
  const shapes = rdf.dataset(new N3.Parser().parse(fs.readFileSync(shapesFile, 'utf8')));
  const validator = new SHACLValidator(shapes, { factory: rdf });
  const report = await validator.validate(data);
  const n = report.results.length;
  for (const r of report.results) {
    const msg = (r.message || []).map((m) => m.value).join(' ');
    const comp = r.sourceConstraintComponent ? r.sourceConstraintComponent.value : '';
    process.stdout.write('violation: focus=' + (r.focusNode ? r.focusNode.value : '?') +
      ' path=' + (r.path ? r.path.value : '-') + ' ' + comp.replace(/.*#/, 'sh:') +
      (msg ? ' (' + msg + ')' : '') + '\n');
  }
  process.stdout.write((report.conforms ? 'conforms' : 'does not conform') + ': ' + data.size +
    ' triples, ' + n + ' violation(s)\n');
  process.exit(report.conforms ? 0 : 1);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
