#!/usr/bin/env node
// skos-validate.js: validates SKOS JSON-LD (a scheme export) against the SKOS reference
// shapes tests/standards/skos/skos-reference.shacl.ttl with rdf-validate-shacl,
// offline: the document loader refuses every remote context.
// Usage: node skos-validate.js [--shapes FILE.ttl] DOC.jsonld|-
// Exits 0 if the data conforms, 1 if it does not (each violation printed), 2 on errors.
//
// One alignment triple is added to the DATA graph before validating, and nothing else:
//   skos:Concept rdfs:subClassOf <http://kos-kit.github.io/skos-shacl/ns#Concept> .
// The shapes constrain broader/narrower/related values with `sh:class :Concept` in their
// own namespace (kos-kit), a class SKOS data is never typed with. SHACL's sh:class
// follows rdfs:subClassOf in the data graph, so this triple lets those constraints
// accept skos:Concept values (and still refuse anything that is not a skos:Concept).
// The exports themselves stay plain SKOS.
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

const SKOS = 'http://www.w3.org/2004/02/skos/core#';
const RDFS = 'http://www.w3.org/2000/01/rdf-schema#';
const KOS = 'http://kos-kit.github.io/skos-shacl/ns#';

function fail(msg) {
  process.stderr.write('skos-validate: ' + msg + '\n');
  process.exit(2);
}

async function documentLoader(url) {
  throw new Error('refusing to load remote document ' + url + ' (validation is offline)');
}

async function main() {
  const args = process.argv.slice(2);
  let shapesFile = path.join(__dirname, '..', 'standards', 'skos', 'skos-reference.shacl.ttl');
  let input = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--shapes') shapesFile = args[++i];
    else if (input === null) input = args[i];
    else fail('unexpected argument ' + args[i]);
  }
  if (input === null) fail('usage: skos-validate.js [--shapes FILE.ttl] DOC.jsonld|-');
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(input === '-' ? 0 : input, 'utf8'));
  } catch (e) {
    fail('input is not JSON: ' + e.message);
  }
  const nquads = await jsonld.toRDF(doc, { format: 'application/n-quads', documentLoader });
  const data = rdf.dataset(new N3.Parser({ format: 'N-Quads' }).parse(nquads));
  if (data.size === 0) fail('the document gives no triples');
  let concepts = 0;
  for (const q of data) {
    if (q.predicate.value === 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type' &&
        q.object.value === SKOS + 'Concept') concepts++;
  }
  // The alignment triple (see the header).
  data.add(rdf.quad(rdf.namedNode(SKOS + 'Concept'), rdf.namedNode(RDFS + 'subClassOf'),
    rdf.namedNode(KOS + 'Concept')));
  const shapes = rdf.dataset(new N3.Parser().parse(fs.readFileSync(shapesFile, 'utf8')));
  const validator = new SHACLValidator(shapes, { factory: rdf });
  const report = await validator.validate(data);
  for (const r of report.results) {
    const msg = (r.message || []).map((m) => m.value).join(' ');
    const comp = r.sourceConstraintComponent ? r.sourceConstraintComponent.value : '';
    process.stdout.write('violation: focus=' + (r.focusNode ? r.focusNode.value : '?') +
      ' path=' + (r.path && r.path.value ? r.path.value : '-') + ' ' +
      comp.replace(/.*#/, 'sh:') + (msg ? ' (' + msg + ')' : '') + '\n');
  }
  process.stdout.write((report.conforms ? 'conforms' : 'does not conform') + ': ' +
    (data.size - 1) + ' triples, ' + concepts + ' concepts, ' + report.results.length +
    ' violation(s)\n');
  process.exit(report.conforms ? 0 : 1);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
