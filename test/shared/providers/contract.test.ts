// Every provider's full flow against the sandbox through the real shared/oauth code: connect, refresh, identity, revoke.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { validateAuthorizationResponse } from '../../../shared/oauth/authorization-response.js';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { exchangeCode, refreshGrant } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { completeOAuth1Authorization, startOAuth1Authorization } from '../../../shared/oauth/oauth1-flow.js';
import { createOAuthRuntime, type OAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { routeProviderUrl } from '../../../shared/oauth/origin-overrides.js';
import { revokeGrant } from '../../../shared/oauth/revocation.js';
import { parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { type ProviderSandbox, startProviderSandbox } from '../../support/provider-sandbox/provider-sandbox.js';
import { SMART_BASE } from '../../support/provider-sandbox/profiles.js';

const REDIRECT_URI = 'https://broker.example.test/callback';
const catalog = createProviderCatalog();
let sandbox: ProviderSandbox;
let runtime: OAuthRuntime;

beforeAll(async () => {
  sandbox = await startProviderSandbox();
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => {
  sandbox.reset();
  runtime = createOAuthRuntime({ overrides: new Map(Object.entries(sandbox.originOverrides)), timeoutMs: 2_000 });
});

function client(provider: string) {
  const credentials = { clientId: `${provider}-client`, clientSecret: `${provider}-secret-${'s'.repeat(12)}` };
  sandbox.registerClient(provider, { ...credentials, redirectUris: [REDIRECT_URI] });
  return credentials;
}

/** Follows the authorization URL the way a browser would, with the sandbox's scripted decision. */
async function authorizeInSandbox(url: string, decision: 'approve' | 'deny', account = 'alice'): Promise<URLSearchParams> {
  const scripted = new URL(url);
  scripted.searchParams.set('sandbox_decision', decision);
  scripted.searchParams.set('sandbox_account', account);
  const response = await fetch(routeProviderUrl(scripted.href, runtime.http.overrides), { redirect: 'manual' });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') ?? '');
  expect(location.origin + location.pathname).toBe(REDIRECT_URI.replace(/\/callback$/, '/callback'));
  return location.searchParams;
}

interface Expectation {
  readonly provider: string;
  readonly config?: Record<string, string>;
  readonly scopes?: string[];
  readonly accountId: string;
  readonly metadata?: Record<string, string>;
  readonly expiry: 'provider' | 'assumed' | 'refresh-every' | 'never';
  readonly grantedScopes?: string[];
  readonly refresh: 'rotates' | 'static' | 'none';
  readonly revocation: 'revoked' | 'not_supported';
}

const expectations: Expectation[] = [
  { provider: 'slack', scopes: ['chat:write', 'channels:read'], accountId: 'T616C6963', metadata: { teamId: 'T616C6963', botUserId: 'UBOT', tokenKind: 'bot' }, expiry: 'provider', grantedScopes: ['chat:write', 'channels:read'], refresh: 'rotates', revocation: 'revoked' },
  { provider: 'google', scopes: ['https://www.googleapis.com/auth/gmail.readonly'], accountId: 'g-alice', expiry: 'provider', grantedScopes: ['openid', 'email', 'profile', 'https://www.googleapis.com/auth/gmail.readonly'], refresh: 'static', revocation: 'revoked' },
  { provider: 'microsoft', scopes: ['Mail.Read'], accountId: 'ms-alice', metadata: { tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad' }, expiry: 'provider', refresh: 'rotates', revocation: 'not_supported' },
  { provider: 'notion', accountId: 'bot-alice', metadata: { workspaceId: 'ws-alice', botId: 'bot-alice', ownerUserId: 'user-alice' }, expiry: 'refresh-every', refresh: 'rotates', revocation: 'revoked' },
  { provider: 'salesforce', accountId: '00D000000000001AAA/005616c69636500000', metadata: { instanceUrl: 'https://sandbox-org.my.salesforce.com', orgId: '00D000000000001AAA' }, expiry: 'assumed', refresh: 'static', revocation: 'revoked' },
  { provider: 'hubspot', scopes: ['crm.objects.contacts.read'], accountId: '4242', metadata: { hubId: '4242' }, expiry: 'provider', refresh: 'static', revocation: 'revoked' },
  { provider: 'dropbox', scopes: ['files.metadata.read'], accountId: 'dbid:alice', expiry: 'provider', refresh: 'static', revocation: 'revoked' },
  { provider: 'asana', accountId: 'gid-alice', expiry: 'provider', refresh: 'static', revocation: 'revoked' },
  { provider: 'github', scopes: ['repo'], accountId: '1005', metadata: { login: 'alice' }, expiry: 'never', grantedScopes: ['read:user', 'repo'], refresh: 'none', revocation: 'revoked' },
  { provider: 'github_app', accountId: '1005', metadata: { login: 'alice' }, expiry: 'provider', refresh: 'rotates', revocation: 'revoked' },
  { provider: 'atlassian', scopes: ['read:jira-work'], accountId: 'acc-alice', metadata: { cloudId: 'cloud-1111', cloudIds: 'cloud-1111,cloud-2222' }, expiry: 'provider', refresh: 'rotates', revocation: 'not_supported' },
  { provider: 'zoom', accountId: 'zoom-alice', metadata: { zoomAccountId: 'zacct-1' }, expiry: 'provider', refresh: 'rotates', revocation: 'revoked' },
  { provider: 'smart_on_fhir', config: { fhirBaseUrl: SMART_BASE }, accountId: 'Practitioner/alice', metadata: { patient: 'pat-alice', encounter: 'enc-1', fhirBaseUrl: SMART_BASE }, expiry: 'provider', refresh: 'static', revocation: 'revoked' },
];

describe.each(expectations)('$provider contract', (expected) => {
  it('connects, refreshes, identifies and revokes with the normalized results', async () => {
    const provider = catalog.resolve(expected.provider);
    const connectionConfig = parseConnectionConfig(provider, expected.config ?? {});
    const credentials = client(expected.provider);
    const state = runtime.ids.secretToken(24);
    const request = await buildAuthorizationRequest(runtime, provider, {
      clientId: credentials.clientId,
      redirectUri: REDIRECT_URI,
      scopes: expected.scopes ?? [],
      state,
      connectionConfig,
    });
    expect(new URL(request.url).protocol).toBe('https:'); // the production URL; only the transport is rerouted
    const params = await authorizeInSandbox(request.url, 'approve');
    const { code } = await validateAuthorizationResponse(runtime, provider, { params, expectedState: state, connectionConfig });
    const grant = await exchangeCode(runtime, provider, {
      client: credentials,
      code,
      redirectUri: REDIRECT_URI,
      requestedScopes: request.scopes,
      connectionConfig,
      ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}),
      ...(request.nonce ? { nonce: request.nonce } : {}),
    });
    expect(grant.providerAccountId).toBe(expected.accountId);
    expect(grant.metadata).toMatchObject(expected.metadata ?? {});
    expect(grant.expirySource).toBe(expected.expiry);
    if (expected.expiry === 'never') expect(grant.expiresAtMs).toBeUndefined();
    else expect(grant.expiresAtMs).toBeGreaterThan(Date.now());
    if (expected.grantedScopes) expect(grant.scopes).toEqual(expected.grantedScopes);
    expect(sandbox.issuedSecrets()).toContain(grant.accessToken);

    // A code is single use: replaying it fails without touching the grant.
    await expect(
      exchangeCode(runtime, provider, { client: credentials, code, redirectUri: REDIRECT_URI, requestedScopes: request.scopes, connectionConfig, ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}) }),
    ).rejects.toMatchObject({ code: 'provider_error' });

    let accessToken = grant.accessToken;
    let refreshToken = grant.refreshToken;
    if (expected.refresh === 'none') {
      expect(grant.refreshToken).toBeUndefined();
    } else {
      expect(refreshToken).toBeDefined();
      const refreshed = await refreshGrant(runtime, provider, { client: credentials, refreshToken: refreshToken as string, scopes: grant.scopes, connectionConfig });
      expect(refreshed.accessToken).not.toBe(grant.accessToken);
      expect(sandbox.calls(expected.provider, 'refresh')).toBe(1);
      if (expected.refresh === 'rotates') {
        expect(refreshed.refreshToken).not.toBe(refreshToken);
        // The rotated-out refresh token is dead: that is a reauth, not a retry.
        await expect(
          refreshGrant(runtime, provider, { client: credentials, refreshToken: refreshToken as string, scopes: grant.scopes, connectionConfig }),
        ).rejects.toMatchObject({ code: 'needs_reauth' });
      } else {
        expect(refreshed.refreshToken).toBe(refreshToken);
      }
      accessToken = refreshed.accessToken;
      refreshToken = refreshed.refreshToken;
    }

    const identity = await fetchIdentity(runtime, provider, { accessToken, connectionConfig, metadata: grant.metadata, client: credentials });
    expect(identity.accountId).toBe(expected.accountId);

    const outcome = await revokeGrant(runtime, provider, { client: credentials, accessToken, ...(refreshToken ? { refreshToken } : {}), connectionConfig });
    expect(outcome.outcome).toBe(expected.revocation);
    if (expected.revocation === 'revoked') {
      const after = fetchIdentity(runtime, provider, { accessToken, connectionConfig, metadata: grant.metadata, client: credentials });
      await expect(after).rejects.toMatchObject({ code: 'needs_reauth' });
    }
  });

  it('turns a user who clicks Deny into access_denied', async () => {
    const provider = catalog.resolve(expected.provider);
    const connectionConfig = parseConnectionConfig(provider, expected.config ?? {});
    const credentials = client(expected.provider);
    const state = runtime.ids.secretToken(24);
    const request = await buildAuthorizationRequest(runtime, provider, { clientId: credentials.clientId, redirectUri: REDIRECT_URI, scopes: expected.scopes ?? [], state, connectionConfig });
    const params = await authorizeInSandbox(request.url, 'deny');
    await expect(validateAuthorizationResponse(runtime, provider, { params, expectedState: state, connectionConfig })).rejects.toMatchObject({ code: 'access_denied' });
  });
});

describe('trello contract (OAuth 1.0a)', () => {
  it('signs every leg with HMAC-SHA1, identifies the member and revokes the token', async () => {
    const provider = catalog.resolve('trello');
    const connectionConfig = parseConnectionConfig(provider, {});
    const credentials = client('trello');
    const start = await startOAuth1Authorization(runtime, provider, { client: credentials, callbackUrl: REDIRECT_URI, scopes: ['read', 'write'], connectionConfig });
    const authorizeUrl = new URL(start.url);
    expect(authorizeUrl.searchParams.get('expiration')).toBe('never');
    expect(authorizeUrl.searchParams.get('scope')).toBe('read,write');
    const params = await authorizeInSandbox(start.url, 'approve', 'bob');
    const grant = await completeOAuth1Authorization(runtime, provider, { client: credentials, requestToken: start.requestToken, requestTokenSecret: start.requestTokenSecret, params, scopes: start.scopes, connectionConfig });
    expect(grant).toMatchObject({ providerAccountId: 'member-bob', displayName: 'bob', expirySource: 'never', scopes: ['read', 'write'] });
    expect(grant.tokenSecret).toBeDefined();
    expect(sandbox.calls('trello', 'request_token')).toBe(1);
    expect(sandbox.calls('trello', 'access_token')).toBe(1);
    const outcome = await revokeGrant(runtime, provider, { client: credentials, accessToken: grant.accessToken, connectionConfig });
    expect(outcome.outcome).toBe('revoked');
    await expect(fetchIdentity(runtime, provider, { accessToken: grant.accessToken, connectionConfig, metadata: {}, client: credentials })).rejects.toMatchObject({ code: 'needs_reauth' });
  });

  it('fails the access token leg when the consumer secret is wrong', async () => {
    const provider = catalog.resolve('trello');
    const connectionConfig = parseConnectionConfig(provider, {});
    client('trello');
    const start = startOAuth1Authorization(runtime, provider, { client: { clientId: 'trello-client', clientSecret: 'not-the-secret' }, callbackUrl: REDIRECT_URI, scopes: [], connectionConfig });
    await expect(start).rejects.toMatchObject({ code: 'provider_error' });
  });
});

describe('failure taxonomy against the sandbox', () => {
  async function connectedGoogle() {
    const provider = catalog.resolve('google');
    const credentials = client('google');
    const state = runtime.ids.secretToken(24);
    const request = await buildAuthorizationRequest(runtime, provider, { clientId: credentials.clientId, redirectUri: REDIRECT_URI, scopes: [], state, connectionConfig: {} });
    const params = await authorizeInSandbox(request.url, 'approve');
    const { code } = await validateAuthorizationResponse(runtime, provider, { params, expectedState: state, connectionConfig: {} });
    const grant = await exchangeCode(runtime, provider, { client: credentials, code, redirectUri: REDIRECT_URI, requestedScopes: request.scopes, connectionConfig: {}, codeVerifier: request.codeVerifier as string, nonce: request.nonce as string });
    return { provider, credentials, grant };
  }

  it('maps 429 with Retry-After to provider_unavailable carrying the delay', async () => {
    const { provider, credentials, grant } = await connectedGoogle();
    sandbox.injectFault('google', 'refresh', { kind: 'status', status: 429, retryAfter: '17' });
    const error: unknown = await refreshGrant(runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig: {} }).catch((e: unknown) => e);
    expect(isBrokerError(error, 'provider_unavailable')).toBe(true);
    expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBe(17);
    expect(sandbox.calls('google', 'refresh')).toBe(1);
  });

  it('maps 500, a hang (timeout) and a malformed body, and never puts a token in the error', async () => {
    const { provider, credentials, grant } = await connectedGoogle();
    const attempt = () => refreshGrant(runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig: {} }).catch((e: unknown) => e);
    sandbox.injectFault('google', 'refresh', { kind: 'status', status: 500 });
    const fiveHundred = await attempt();
    expect(isBrokerError(fiveHundred, 'provider_unavailable')).toBe(true);
    sandbox.injectFault('google', 'refresh', { kind: 'malformed' });
    const malformed = await attempt();
    expect(isBrokerError(malformed, 'provider_error')).toBe(true);
    runtime = createOAuthRuntime({ overrides: runtime.http.overrides, timeoutMs: 200 });
    sandbox.injectFault('google', 'refresh', { kind: 'hang' });
    const hung = await attempt();
    expect(isBrokerError(hung, 'provider_unavailable')).toBe(true);
    expect((hung as { details?: { reason?: string } }).details?.reason).toBe('timeout');
    for (const error of [fiveHundred, malformed, hung]) {
      const text = JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details });
      for (const secret of [...sandbox.issuedSecrets(), credentials.clientSecret]) expect(text).not.toContain(secret);
    }
  });

  it('maps a revoked grant on refresh to needs_reauth (Slack: ok:false on HTTP 200)', async () => {
    const provider = catalog.resolve('slack');
    const credentials = client('slack');
    sandbox.injectFault('slack', 'refresh', { kind: 'invalid_grant' });
    const error = await refreshGrant(runtime, provider, { client: credentials, refreshToken: 'xoxe-1-unknown', scopes: [], connectionConfig: { tokenKind: 'bot' } }).catch((e: unknown) => e);
    expect(isBrokerError(error, 'needs_reauth')).toBe(true);
    expect((error as { details?: { providerError?: string } }).details?.providerError).toBe('invalid_refresh_token');
  });
});
