// Providers defined as data: validated at start with errors naming the variable and the field, fed into the endpoint
// boundary, read from a file, and the catalog folder's files all listed, sourced and named after their ids.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { catalogFiles } from '../../../shared/providers/catalog/catalog.js';
import { isAllowedEndpoint } from '../../../shared/providers/endpoint-boundary.js';
import { readJsonPointer } from '../../../shared/providers/json-pointer.js';
import { catalogProviders, createProviderCatalog } from '../../../shared/providers/registry.js';
import { routeProviderUrl } from '../../../shared/oauth/origin-overrides.js';
import { useProviderSandbox } from './sandbox-harness.js';

const acme = {
  id: 'acme_crm',
  displayName: 'Acme CRM',
  authorizationUrl: 'https://login.acme-crm.example/oauth/authorize',
  tokenUrl: 'https://login.acme-crm.example/oauth/token',
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'never-expires-until-revoked', healthCheckEverySeconds: 3600 },
  revocation: { kind: 'rfc7009', url: 'https://revoke.acme-crm.example/oauth/revoke', clientAuthentication: 'client_secret_post' },
  identity: { url: 'https://api.acme-crm.example/v1/me', accountId: '/id' },
};

const configWith = (env: Record<string, string>) => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', ...env });

describe('OAUTH2_PROVIDERS', () => {
  it('adds a provider whose endpoints (and only those) its client credentials may reach', () => {
    const config = configWith({ OAUTH2_PROVIDERS: JSON.stringify([acme]) });
    const provider = createProviderCatalog([], {}, config.providers.oauth2Providers).resolve('acme_crm');
    expect(provider).toMatchObject({ clientAuthentication: 'client_secret_post', scopes: { separator: ' ', defaults: [] }, tokenRequest: { bodyFormat: 'form' } });
    expect([...provider.endpointBoundary.origins].sort()).toEqual(['https://api.acme-crm.example', 'https://login.acme-crm.example', 'https://revoke.acme-crm.example']);
    expect(isAllowedEndpoint(provider.endpointBoundary, 'https://evil.example/oauth/token')).toBe(false);
  });

  it.each([
    ['a plain-http token endpoint', { tokenUrl: 'http://login.acme-crm.example/oauth/token' }, '0.tokenUrl'],
    ['a templated endpoint', { authorizationUrl: 'https://{host}/authorize' }, '0.authorizationUrl'],
    ['an unknown field', { userinfoUrl: 'https://x.example' }, '0'],
    ['a token parameter the broker sets', { tokenRequest: { extraParams: { client_secret: 'x' } } }, '0.tokenRequest.extraParams'],
    ['an Authorization header', { identity: { ...acme.identity, headers: { Authorization: 'Bearer x' } } }, '0.identity.headers'],
    ['a pointer that is no JSON pointer', { identity: { ...acme.identity, accountId: 'data.id' } }, '0.identity.accountId'],
    ['refresh without dead-grant errors', { refresh: { supported: true, rotates: 'always', deadGrantErrors: [] } }, '0.refresh.deadGrantErrors'],
    ['PKCE off without a reason', { pkce: { method: 'none' } }, '0.pkce.reason'],
    ['an identity body on a GET', { identity: { ...acme.identity, body: { query: 'query { me { id } }' } } }, '0.identity.body'],
    ['an identity body with a template variable', { identity: { ...acme.identity, method: 'POST', body: { query: 'query {me{id}}' } } }, '0.identity.body.query'],
  ])('refuses %s at start, naming the variable and the field', (_, change, field) => {
    const attempt = () => configWith({ OAUTH2_PROVIDERS: JSON.stringify([{ ...acme, ...change }]) });
    expect(attempt).toThrow(expect.objectContaining({ code: 'misconfigured', message: expect.stringContaining('OAUTH2_PROVIDERS') }));
    expect(attempt).toThrow(expect.objectContaining({ message: expect.stringContaining(`${field}:`) }));
  });

  it('refuses an id that a built-in or catalog provider already has', () => {
    for (const id of ['slack', 'box']) {
      const config = configWith({ OAUTH2_PROVIDERS: JSON.stringify([{ ...acme, id }]) });
      expect(() => createProviderCatalog([], {}, config.providers.oauth2Providers)).toThrow(expect.objectContaining({ code: 'misconfigured' }));
    }
  });
});

describe('OAUTH2_PROVIDERS_FILE', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth2-providers-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the same JSON array from a file, after OAUTH2_PROVIDERS', async () => {
    const file = join(dir, 'providers.json');
    await writeFile(file, JSON.stringify([{ ...acme, id: 'acme_files' }]));
    const config = configWith({ OAUTH2_PROVIDERS: JSON.stringify([acme]), OAUTH2_PROVIDERS_FILE: file });
    expect(config.providers.oauth2Providers.map((provider) => provider.id)).toEqual(['acme_crm', 'acme_files']);
  });

  it('names the variable (never the content) when the file is missing or wrong', async () => {
    expect(() => configWith({ OAUTH2_PROVIDERS_FILE: join(dir, 'missing.json') })).toThrow(expect.objectContaining({ message: expect.stringContaining('OAUTH2_PROVIDERS_FILE names a file that cannot be read') }));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ ...acme, clientAuthentication: 'private_key_jwt' }]));
    expect(() => configWith({ OAUTH2_PROVIDERS_FILE: bad })).toThrow(expect.objectContaining({ message: expect.stringMatching(/OAUTH2_PROVIDERS_FILE.*0\.clientAuthentication/) }));
  });
});

describe('the provider catalog folder', () => {
  it('lists every JSON file in the folder, each named after its id and with its sources', async () => {
    const folder = fileURLToPath(new URL('../../../shared/providers/catalog/', import.meta.url));
    const files = (await readdir(folder)).filter((name) => name.endsWith('.json')).sort();
    expect(Object.keys(catalogFiles).sort()).toEqual(files);
    expect(catalogProviders.map((provider) => `${provider.id}.json`).sort()).toEqual(files);
    for (const provider of catalogProviders) expect(provider.sources.length).toBeGreaterThan(0);
  });
});

describe('an identity call that needs a body (a GraphQL-only provider)', () => {
  const h = useProviderSandbox();

  it('posts the definition\'s query with the Bearer token, which the provider needs to name the account', async () => {
    const { grant } = await h.connect('linear', { account: 'dana' });
    expect(grant).toMatchObject({ providerAccountId: 'linear-dana', displayName: 'Sandbox user dana' });
    expect(h.sandbox.calls('linear', 'identity')).toBe(1);
    // Without the query the same token names nobody: the connect above could only pass by sending it.
    const graphql = routeProviderUrl('https://api.linear.app/graphql', h.runtime.http.overrides);
    const bare = await fetch(graphql, { method: 'POST', headers: { authorization: `Bearer ${grant.accessToken}` } });
    expect(bare.status).toBe(400);
  });
});

describe('JSON pointers (RFC 6901)', () => {
  const document = { data: { user: { id: 42, 'a/b': 'slash', 'm~n': 'tilde' } }, list: ['zero', 'one'] };
  it.each([
    ['/data/user/id', 42],
    ['/data/user/a~1b', 'slash'],
    ['/data/user/m~0n', 'tilde'],
    ['/list/1', 'one'],
    ['/list/01', undefined],
    ['/data/missing/id', undefined],
    ['/data/user/toString', undefined],
  ])('%s reads %s', (pointer, expected) => {
    expect(readJsonPointer(document, pointer)).toBe(expected);
  });
});
