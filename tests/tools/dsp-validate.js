// dsp-validate.js: validates JSON documents against the official Dataspace
// Protocol 2025-1 JSON Schemas (tests/standards/dsp-2025-1) with Ajv.
//   node dsp-validate.js SCHEMA FILE...   (SCHEMA: catalog, dataset,
//   catalog-error, protocol-version, catalog-request-message)
// Prints "valid FILE" or the schema errors; exits 1 when any file is invalid.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2019 = require('ajv/dist/2019').default;

const root = path.join(__dirname, '..', 'standards', 'dsp-2025-1');
const ajv = new Ajv2019({ strict: false, allErrors: true });
for (const dir of ['common', 'catalog', 'negotiation']) {
  for (const f of fs.readdirSync(path.join(root, dir))) {
    if (f.endsWith('-schema.json')) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(root, dir, f), 'utf8')));
  }
}
const ids = {
  'catalog': 'https://w3id.org/dspace/2025/1/catalog/catalog-schema.json',
  'dataset': 'https://w3id.org/dspace/2025/1/catalog/dataset-schema.json',
  'catalog-error': 'https://w3id.org/dspace/2025/1/catalog/catalog-error-schema.json',
  'catalog-request-message': 'https://w3id.org/dspace/2025/1/catalog/catalog-request-message-schema.json',
  'protocol-version': 'https://w3id.org/dspace/2025/1/common/protocol-version-schema.json',
};
const [which, ...files] = process.argv.slice(2);
if (!ids[which] || files.length === 0) {
  console.error('usage: dsp-validate.js catalog|dataset|catalog-error|protocol-version|catalog-request-message FILE...');
  process.exit(2);
}
const validate = ajv.getSchema(ids[which]);
let bad = 0;
for (const f of files) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    console.log(`invalid ${f}: not JSON (${e.message})`);
    bad++;
    continue;
  }
  if (validate(doc)) {
    console.log(`valid ${f}`);
  } else {
    bad++;
    console.log(`invalid ${f}:`);
    for (const e of validate.errors.slice(0, 12)) console.log(`  ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
process.exit(bad ? 1 : 0);
