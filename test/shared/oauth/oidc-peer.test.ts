// The generic OpenID path against oidc-provider, a certified OpenID provider, as an independent peer on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { validateAuthorizationResponse } from '../../../shared/oauth/authorization-response.js';
import { exchangeCode } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { createOAuthRuntime, type OAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { revokeGrant } from '../../../shared/oauth/revocation.js';
import { loadConfig } from '../../../shared/config/config.js';
import { parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { type OidcPeer, startOidcPeer } from '../../support/oidc-peer.js';

const ISSUER = 'https://op.peer.test';
const REDIRECT_URI = 'https://broker.example.test/callback';
let peer: OidcPeer;
let client: OidcPeer['client'];
let runtime: OAuthRuntime;
let peerOrigin: string;

beforeAll(async () => {
  // The peer believes it is https://op.peer.test: the broker reaches it through PROVIDER_ORIGIN_OVERRIDES.
  peer = await startOidcPeer({ issuer: ISSUER, redirectUris: [REDIRECT_URI] });
  client = peer.client;
  peerOrigin = peer.origin;
  runtime = createOAuthRuntime({ overrides: new Map([[ISSUER, peerOrigin]]), timeoutMs: 5_000 });
});

afterAll(async () => {
  await peer.close();
});

const signInAndConsent = (url: string, account: string) => peer.signInAndConsent(url, account);

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
    ['a plain-http issuer on a private address', JSON.stringify([{ id: 'acme', displayName: 'Acme', issuer: 'http://10.0.0.7:8080' }])],
    ['an authorization parameter the broker sets', JSON.stringify([{ id: 'acme', displayName: 'Acme', issuer: 'https://acme.example', authorizationParams: { redirect_uri: 'https://evil.example' } }])],
    ['a templated authorization parameter', JSON.stringify([{ id: 'acme', displayName: 'Acme', issuer: 'https://acme.example', authorizationParams: { audience: '{tenant}' } }])],
    ['a duplicate id', JSON.stringify([{ id: 'acme', displayName: 'A', issuer: 'https://a.example' }, { id: 'acme', displayName: 'B', issuer: 'https://b.example' }])],
    ['an unknown field', JSON.stringify([{ id: 'acme', displayName: 'Acme', issuer: 'https://acme.example', tokenUrl: 'https://evil.example' }])],
    ['a bad id', JSON.stringify([{ id: 'Acme SSO', displayName: 'Acme', issuer: 'https://acme.example' }])],
  ])('refuses %s at start-up, naming the variable', (_, value) => {
    expect(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', OIDC_PROVIDERS: value })).toThrow(
      expect.objectContaining({ code: 'misconfigured', message: expect.stringContaining('OIDC_PROVIDERS') }),
    );
  });

  it.each(['http://127.0.0.1:9000', 'http://[::1]:9000/realms/acme', 'http://localhost:9000'])('accepts the loopback http issuer %s (a local peer)', (issuer) => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', OIDC_PROVIDERS: JSON.stringify([{ id: 'local_peer', displayName: 'Local', issuer }]) });
    const provider = createProviderCatalog(config.providers.oidcProviders).resolve('local_peer');
    expect(provider.endpointBoundary.origins).toEqual(new Set([new URL(issuer).origin]));
  });

  it('sends prompt=consent with offline_access (OpenID Connect Core §11), unless the configuration chooses a prompt', async () => {
    const catalog = createProviderCatalog([
      { id: 'offline', displayName: 'Offline', issuer: ISSUER, scopes: ['offline_access'] },
      { id: 'online', displayName: 'Online', issuer: ISSUER, scopes: ['email'] },
      { id: 'chosen', displayName: 'Chosen', issuer: ISSUER, scopes: ['offline_access'], authorizationParams: { prompt: 'login', ui_locales: 'de' } },
    ]);
    const prompts: Record<string, [string | null, string | null]> = {};
    for (const id of ['offline', 'online', 'chosen']) {
      const request = await buildAuthorizationRequest(runtime, catalog.resolve(id), { clientId: 'c', redirectUri: REDIRECT_URI, scopes: [], state: 's'.repeat(32), connectionConfig: {} });
      const params = new URL(request.url).searchParams;
      prompts[id] = [params.get('prompt'), params.get('ui_locales')];
    }
    expect(prompts).toEqual({ offline: ['consent', null], online: [null, null], chosen: ['login', 'de'] });
  });

  it('refuses an id that a built-in provider already has', () => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', OIDC_PROVIDERS: JSON.stringify([{ id: 'google', displayName: 'Not Google', issuer: 'https://accounts.example' }]) });
    expect(() => createProviderCatalog(config.providers.oidcProviders)).toThrow(expect.objectContaining({ code: 'misconfigured' }));
  });

  it('is empty unless set', () => {
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).providers.oidcProviders).toEqual([]);
  });
});
