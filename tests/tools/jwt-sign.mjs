// Signs a JWT (ES256) with the first key of a private JWKS file, for tests
// that need claims an OpenID provider would not issue.
//   node jwt-sign.mjs KEYS.json 'CLAIMS_JSON' ['HEADER_JSON']
// exp, nbf and iat given as "+N" or "-N" are N seconds from now. In the
// header, a member set to null is left out (e.g. {"kid": null}).
import fs from 'node:fs';
import crypto from 'node:crypto';

const [keysFile, claimsArg = '{}', headerArg = '{}'] = process.argv.slice(2);
const jwk = JSON.parse(fs.readFileSync(keysFile, 'utf8')).keys[0];
const now = Math.floor(Date.now() / 1000);
const claims = JSON.parse(claimsArg);
for (const k of ['exp', 'nbf', 'iat'])
  if (typeof claims[k] === 'string' && /^[+-]\d+$/.test(claims[k])) claims[k] = now + Number(claims[k]);
const header = { alg: 'ES256', typ: 'at+jwt', kid: jwk.kid, ...JSON.parse(headerArg) };
for (const k of Object.keys(header)) if (header[k] === null) delete header[k];
const b64 = (b) => Buffer.from(b).toString('base64url');
const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
const sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
process.stdout.write(`${input}.${b64(sig)}`);
