// The generic OpenID path against oidc-provider, a certified OpenID provider, as an independent peer on loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { validateAuthorizationResponse } from '../../../shared/oauth/authorization-response.js';
import { exchangeCode } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { createOAuthRuntime, type OAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { routeProviderUrl } from '../../../shared/oauth/origin-overrides.js';
import { revokeGrant } from '../../../shared/oauth/revocation.js';
import { loadConfig } from '../../../shared/config/config.js';
import { parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';

const ISSUER = 'https://op.peer.test';
const REDIRECT_URI = 'https://broker.example.test/callback';
const client = { clientId: 'broker', clientSecret: 'peer-secret-0123456789abcdef' };
let server: Server;
let runtime: OAuthRuntime;
let peerOrigin: string;

beforeAll(async () => {
  const provider = new Provider(ISSUER, {
    clients: [{ client_id: client.clientId, client_secret: client.clientSecret, redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' }],
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    claims: { openid: ['sub'], email: ['email'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@peer.test` }) }),
  });
  provider.proxy = true;
  const callback = provider.callback();
  // The peer believes it is https://op.peer.test: the broker reaches it through PROVIDER_ORIGIN_OVERRIDES.
  server = createServer((req, res) => {
    req.headers.host = 'op.peer.test';
    req.headers['x-forwarded-proto'] = 'https';
    void callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peerOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  runtime = createOAuthRuntime({ overrides: new Map([[ISSUER, peerOrigin]]), timeoutMs: 5_000 });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A browser with a cookie jar that signs in as `account` and consents on the peer's dev interaction pages. */
async function signInAndConsent(url: string, account: string): Promise<URLSearchParams> {
  const cookies = new Map<string, string>();
  let next: { url: string; method: 'GET' | 'POST'; body?: string } = { url, method: 'GET' };
  for (let step = 0; step < 12; step += 1) {
    if (next.url.startsWith(REDIRECT_URI)) return new URL(next.url).searchParams;
    const response = await fetch(routeProviderUrl(next.url, runtime.http.overrides), {
      method: next.method,
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(next.body ? { body: next.body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (name) cookies.set(name.trim(), value.join('='));
    }
    const location = response.headers.get('location');
    if (location) {
      next = { url: new URL(location, ISSUER).href, method: 'GET' };
      continue;
    }
    const html = await response.text();
    const action = /action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`the peer showed no form (HTTP ${response.status} at ${new URL(next.url).pathname}): ${html.slice(0, 300)}`);
    // The dev interaction forms name their step in a hidden "prompt" field: login, then consent.
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1] ?? '';
    const fields: Record<string, string> = prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt };
    next = { url: new URL(action, ISSUER).href, method: 'POST', body: new URLSearchParams(fields).toString() };
  }
  throw new Error('the peer never redirected back');
}

describe('generic OpenID provider against oidc-provider', () => {
  const catalog = createProviderCatalog([{ id: 'peer', displayName: 'OIDC peer', issuer: ISSUER, scopes: ['email'] }]);
  const provider = catalog.resolve('peer');

  it('discovers, authorizes with PKCE and nonce, checks iss, exchanges, reads userinfo and revokes', async () => {
    const state = runtime.ids.secretToken(24);
    const request = await buildAuthorizationRequest(runtime, provider, { clientId: client.clientId, redirectUri: REDIRECT_URI, scopes: [], state, connectionConfig: {} });
    expect(new URL(request.url).origin).toBe(ISSUER);
    const params = await signInAndConsent(request.url, 'carol');
    expect(params.get('iss')).toBe(ISSUER);
    const { code } = await validateAuthorizationResponse(runtime, provider, { params, expectedState: state, connectionConfig: {} });
    const grant = await exchangeCode(runtime, provider, {
      client,
      code,
      redirectUri: REDIRECT_URI,
      codeVerifier: request.codeVerifier as string,
      nonce: request.nonce as string,
      requestedScopes: request.scopes,
      connectionConfig: {},
    });
    expect(grant.providerAccountId).toBe('carol');
    expect(grant.idTokenClaims).toMatchObject({ iss: ISSUER, aud: client.clientId, nonce: request.nonce });
    expect(grant.scopes).toEqual(expect.arrayContaining(['openid', 'email']));
    expect(grant.expirySource).toBe('provider');
    const identity = await fetchIdentity(runtime, provider, { accessToken: grant.accessToken, connectionConfig: {}, metadata: {} });
    expect(identity).toMatchObject({ accountId: 'carol', displayName: 'carol@peer.test' });
    expect(await revokeGrant(runtime, provider, { client, accessToken: grant.accessToken, connectionConfig: {} })).toEqual({ outcome: 'revoked' });
    await expect(fetchIdentity(runtime, provider, { accessToken: grant.accessToken, connectionConfig: {}, metadata: {} })).rejects.toMatchObject({ code: 'needs_reauth' });
  });

  it('refuses a discovery document whose issuer is not exactly the configured one', async () => {
    // Same document URL, but "https://op.peer.test/" is not the issuer "https://op.peer.test" character for character.
    const impostor = createProviderCatalog([{ id: 'impostor', displayName: 'Impostor', issuer: `${ISSUER}/` }]).resolve('impostor');
    const fresh = createOAuthRuntime({ overrides: runtime.http.overrides });
    await expect(
      buildAuthorizationRequest(fresh, impostor, { clientId: 'c', redirectUri: REDIRECT_URI, scopes: [], state: 's'.repeat(32), connectionConfig: {} }),
    ).rejects.toMatchObject({ code: 'issuer_mismatch' });
  });
});

describe('a provider added by configuration alone (OIDC_PROVIDERS)', () => {
  it('runs the whole flow from environment variables, with no code naming it', async () => {
    // Exactly what an operator sets; nothing else in this test knows the provider.
    const config = loadConfig({
      GOOGLE_CLOUD_PROJECT: 'p',
      OIDC_PROVIDERS: JSON.stringify([{ id: 'okta_acme', displayName: 'Acme Okta', issuer: ISSUER, scopes: ['email'] }]),
      PROVIDER_OKTA_ACME_CLIENT_ID: client.clientId,
      PROVIDER_OKTA_ACME_CLIENT_SECRET: client.clientSecret,
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify({ [ISSUER]: peerOrigin }),
    });
    const catalog = createProviderCatalog(config.providers.oidcProviders);
    const provider = catalog.resolve('okta_acme');
    const credentials = config.providerClients.okta_acme;
    if (credentials === undefined) throw new Error('the client credentials were not read from the environment');
    const configured = createOAuthRuntime({ overrides: config.providers.originOverrides, timeoutMs: 5_000 });
    const connectionConfig = parseConnectionConfig(provider, {});

    const state = configured.ids.secretToken(24);
    const request = await buildAuthorizationRequest(configured, provider, { clientId: credentials.clientId, redirectUri: REDIRECT_URI, scopes: [], state, connectionConfig });
    const authorizeUrl = new URL(request.url);
    expect(authorizeUrl.origin).toBe(ISSUER);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('scope')).toBe('openid email');
    const params = await signInAndConsent(request.url, 'dave');
    const { code } = await validateAuthorizationResponse(configured, provider, { params, expectedState: state, connectionConfig });
    const grant = await exchangeCode(configured, provider, {
      client: credentials,
      code,
      redirectUri: REDIRECT_URI,
      codeVerifier: request.codeVerifier as string,
      nonce: request.nonce as string,
      requestedScopes: request.scopes,
      connectionConfig,
    });
    expect(grant).toMatchObject({ providerAccountId: 'dave', expirySource: 'provider' });
    expect(grant.idTokenClaims).toMatchObject({ iss: ISSUER, aud: client.clientId });
    expect(await fetchIdentity(configured, provider, { accessToken: grant.accessToken, connectionConfig, metadata: {} })).toMatchObject({ accountId: 'dave', displayName: 'dave@peer.test' });
    expect(await revokeGrant(configured, provider, { client: credentials, accessToken: grant.accessToken, connectionConfig })).toEqual({ outcome: 'revoked' });
  });

  it.each([
    ['not JSON', '{'],
    ['a plain-http issuer', JSON.stringify([{ id: 'acme', displayName: 'Acme', issuer: 'http://acme.example' }])],
    ['a duplicate id', JSON.stringify([{ id: 'acme', displayName: 'A', issuer: 'https://a.example' }, { id: 'acme', displayName: 'B', issuer: 'https://b.example' }])],
    ['an unknown field', JSON.stringify([{ id: 'acme', displayName: 'Acme', issuer: 'https://acme.example', tokenUrl: 'https://evil.example' }])],
    ['a bad id', JSON.stringify([{ id: 'Acme SSO', displayName: 'Acme', issuer: 'https://acme.example' }])],
  ])('refuses %s at start-up, naming the variable', (_, value) => {
    expect(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', OIDC_PROVIDERS: value })).toThrow(
      expect.objectContaining({ code: 'misconfigured', message: expect.stringContaining('OIDC_PROVIDERS') }),
    );
  });

  it('refuses an id that a built-in provider already has', () => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', OIDC_PROVIDERS: JSON.stringify([{ id: 'google', displayName: 'Not Google', issuer: 'https://accounts.example' }]) });
    expect(() => createProviderCatalog(config.providers.oidcProviders)).toThrow(expect.objectContaining({ code: 'misconfigured' }));
  });

  it('is empty unless set', () => {
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).providers.oidcProviders).toEqual([]);
  });
});
