// A real OpenID provider (npm oidc-provider) for tsunagu's authentication
// tests: it listens on 127.0.0.1 at a free port, serves discovery and its
// JWKS, and issues JWT access tokens (ES256) with the client credentials grant.
//   node oidc-idp.mjs KEYS.json ADDR_FILE [AUDIENCE]
// KEYS.json holds the private JWKS; it is made on first use, so that a second
// provider started with the same file (another issuer URL, same keys) signs
// tokens our node's JWKS accepts, for the wrong-issuer test. ADDR_FILE gets
// "http://127.0.0.1:PORT" once the provider listens. Clients (secret "secret-"
// + id): reader (catalog:read), writer (catalog:read catalog:write), admin
// (admin), short (catalog:write, tokens live 2 s), other (audience
// "urn:tsunagu:other" instead of AUDIENCE).
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The package lives in TG_NODE_MODULES (make distcheck) or beside this file.
const modules = process.env.TG_NODE_MODULES ||
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules');
const { default: Provider } =
  await import(pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href);

const [keysFile, addrFile, audience = 'urn:tsunagu:test'] = process.argv.slice(2);
if (!keysFile || !addrFile) {
  console.error('usage: oidc-idp.mjs KEYS.json ADDR_FILE [AUDIENCE]');
  process.exit(2);
}
if (!fs.existsSync(keysFile)) {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = crypto.randomBytes(8).toString('hex');
  jwk.alg = 'ES256';
  jwk.use = 'sig';
  fs.writeFileSync(keysFile, JSON.stringify({ keys: [jwk] }), { mode: 0o600 });
}
const jwks = JSON.parse(fs.readFileSync(keysFile, 'utf8'));

const scopes = {
  reader: 'catalog:read',
  writer: 'catalog:read catalog:write',
  admin: 'admin',
  short: 'catalog:write',
  other: 'catalog:read catalog:write',
};
const clients = Object.keys(scopes).map((id) => ({
  client_id: id,
  client_secret: `secret-${id}`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  scope: scopes[id],
  id_token_signed_response_alg: 'ES256',
}));

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks,
    clients,
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    scopes: ['catalog:read', 'catalog:write', 'data:read', 'data:write', 'admin'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client) => (client.clientId === 'other' ? 'urn:tsunagu:other' : audience),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client) => ({
          scope: scopes[client.clientId],
          audience: resource,
          accessTokenTTL: client.clientId === 'short' ? 2 : 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  server.on('request', provider.callback());
  fs.writeFileSync(addrFile, issuer + '\n');
});
// Exit at once: server.close() would wait for clients' keep-alive connections.
process.on('SIGTERM', () => process.exit(0));
