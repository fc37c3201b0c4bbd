// Every provider's full flow against the sandbox through the real shared/oauth code: connect, refresh, identity, revoke.
import { describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { validateAuthorizationResponse } from '../../../shared/oauth/authorization-response.js';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { exchangeCode, refreshGrant } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { completeOAuth1Authorization, startOAuth1Authorization } from '../../../shared/oauth/oauth1-flow.js';
import { createOAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { revokeGrant } from '../../../shared/oauth/revocation.js';
import { parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { SMART_BASE, sandboxMicrosoftTenantId } from '../../../local/provider-sandbox/profiles.js';
import { REDIRECT_URI, useProviderSandbox } from './sandbox-harness.js';

const h = useProviderSandbox();
const catalog = h.catalog;

interface Expectation {
  readonly provider: string;
  readonly config?: Record<string, string>;
  readonly scopes?: string[];
  readonly accountId: string;
  readonly metadata?: Record<string, string>;
  readonly expiry: 'provider' | 'assumed' | 'refresh-every' | 'never';
  readonly grantedScopes?: string[];
  /** `rotates-old-survives`: a new refresh token every time, and the old one keeps working (Microsoft). */
  readonly refresh: 'rotates' | 'rotates-old-survives' | 'static' | 'none';
  readonly revocation: 'revoked' | 'not_supported';
}

const expectations: Expectation[] = [
  { provider: 'slack', scopes: ['chat:write', 'channels:read'], accountId: 'T616C6963', metadata: { teamId: 'T616C6963', botUserId: 'UBOT', tokenKind: 'bot' }, expiry: 'provider', grantedScopes: ['chat:write', 'channels:read'], refresh: 'rotates', revocation: 'revoked' },
  { provider: 'google', scopes: ['https://www.googleapis.com/auth/gmail.readonly'], accountId: 'g-alice', expiry: 'provider', grantedScopes: ['openid', 'email', 'profile', 'https://www.googleapis.com/auth/gmail.readonly'], refresh: 'static', revocation: 'revoked' },
  { provider: 'microsoft', scopes: ['Mail.Read'], accountId: 'ms-alice', metadata: { tenantId: sandboxMicrosoftTenantId('common', 'alice') }, expiry: 'provider', refresh: 'rotates-old-survives', revocation: 'not_supported' },
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
    const credentials = h.client(expected.provider);
    const state = h.runtime.ids.secretToken(24);
    const request = await buildAuthorizationRequest(h.runtime, provider, {
      clientId: credentials.clientId,
      redirectUri: REDIRECT_URI,
      scopes: expected.scopes ?? [],
      state,
      connectionConfig,
    });
    expect(new URL(request.url).protocol).toBe('https:'); // the production URL; only the transport is rerouted
    const params = await h.authorize(request.url, 'approve');
    const { code } = await validateAuthorizationResponse(h.runtime, provider, { params, expectedState: state, connectionConfig });
    const grant = await exchangeCode(h.runtime, provider, {
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
    expect(h.sandbox.issuedSecrets()).toContain(grant.accessToken);

    // A code is single use: replaying it fails without touching the grant.
    await expect(
      exchangeCode(h.runtime, provider, { client: credentials, code, redirectUri: REDIRECT_URI, requestedScopes: request.scopes, connectionConfig, ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}) }),
    ).rejects.toMatchObject({ code: 'provider_error' });

    let accessToken = grant.accessToken;
    let refreshToken = grant.refreshToken;
    if (expected.refresh === 'none') {
      expect(grant.refreshToken).toBeUndefined();
    } else {
      expect(refreshToken).toBeDefined();
      const refreshed = await refreshGrant(h.runtime, provider, { client: credentials, refreshToken: refreshToken as string, scopes: grant.scopes, connectionConfig });
      expect(refreshed.accessToken).not.toBe(grant.accessToken);
      expect(h.sandbox.calls(expected.provider, 'refresh')).toBe(1);
      if (expected.refresh === 'rotates') {
        expect(refreshed.refreshToken).not.toBe(refreshToken);
        // The rotated-out refresh token is dead: that is a reauth, not a retry.
        await expect(
          refreshGrant(h.runtime, provider, { client: credentials, refreshToken: refreshToken as string, scopes: grant.scopes, connectionConfig }),
        ).rejects.toMatchObject({ code: 'needs_reauth' });
      } else if (expected.refresh === 'rotates-old-survives') {
        expect(refreshed.refreshToken).not.toBe(refreshToken);
        const again = await refreshGrant(h.runtime, provider, { client: credentials, refreshToken: refreshToken as string, scopes: grant.scopes, connectionConfig });
        expect(again.refreshToken).not.toBe(refreshed.refreshToken);
      } else {
        expect(refreshed.refreshToken).toBe(refreshToken);
      }
      accessToken = refreshed.accessToken;
      refreshToken = refreshed.refreshToken;
    }

    const identity = await fetchIdentity(h.runtime, provider, { accessToken, connectionConfig, metadata: grant.metadata, client: credentials });
    expect(identity.accountId).toBe(expected.accountId);

    const outcome = await revokeGrant(h.runtime, provider, { client: credentials, accessToken, ...(refreshToken ? { refreshToken } : {}), connectionConfig });
    expect(outcome.outcome).toBe(expected.revocation);
    if (expected.revocation === 'revoked') {
      const after = fetchIdentity(h.runtime, provider, { accessToken, connectionConfig, metadata: grant.metadata, client: credentials });
      await expect(after).rejects.toMatchObject({ code: 'needs_reauth' });
    }
  });

  it('turns a user who clicks Deny into access_denied', async () => {
    const provider = catalog.resolve(expected.provider);
    const connectionConfig = parseConnectionConfig(provider, expected.config ?? {});
    const credentials = h.client(expected.provider);
    const state = h.runtime.ids.secretToken(24);
    const request = await buildAuthorizationRequest(h.runtime, provider, { clientId: credentials.clientId, redirectUri: REDIRECT_URI, scopes: expected.scopes ?? [], state, connectionConfig });
    const params = await h.authorize(request.url, 'deny');
    await expect(validateAuthorizationResponse(h.runtime, provider, { params, expectedState: state, connectionConfig })).rejects.toMatchObject({ code: 'access_denied' });
  });
});

describe('trello contract (OAuth 1.0a)', () => {
  it('signs every leg with HMAC-SHA1, identifies the member and revokes the token', async () => {
    const provider = catalog.resolve('trello');
    const connectionConfig = parseConnectionConfig(provider, {});
    const credentials = h.client('trello');
    const start = await startOAuth1Authorization(h.runtime, provider, { client: credentials, callbackUrl: REDIRECT_URI, scopes: ['read', 'write'], connectionConfig });
    const authorizeUrl = new URL(start.url);
    expect(authorizeUrl.searchParams.get('expiration')).toBe('never');
    expect(authorizeUrl.searchParams.get('scope')).toBe('read,write');
    const params = await h.authorize(start.url, 'approve', 'bob');
    const grant = await completeOAuth1Authorization(h.runtime, provider, { client: credentials, requestToken: start.requestToken, requestTokenSecret: start.requestTokenSecret, params, scopes: start.scopes, connectionConfig });
    expect(grant).toMatchObject({ providerAccountId: 'member-bob', displayName: 'bob', expirySource: 'never', scopes: ['read', 'write'] });
    expect(grant.tokenSecret).toBeDefined();
    expect(h.sandbox.calls('trello', 'request_token')).toBe(1);
    expect(h.sandbox.calls('trello', 'access_token')).toBe(1);
    const outcome = await revokeGrant(h.runtime, provider, { client: credentials, accessToken: grant.accessToken, connectionConfig });
    expect(outcome.outcome).toBe('revoked');
    await expect(fetchIdentity(h.runtime, provider, { accessToken: grant.accessToken, connectionConfig, metadata: {}, client: credentials })).rejects.toMatchObject({ code: 'needs_reauth' });
  });

  it('fails the access token leg when the consumer secret is wrong', async () => {
    const provider = catalog.resolve('trello');
    const connectionConfig = parseConnectionConfig(provider, {});
    h.client('trello');
    const start = startOAuth1Authorization(h.runtime, provider, { client: { clientId: 'trello-client', clientSecret: 'not-the-secret' }, callbackUrl: REDIRECT_URI, scopes: [], connectionConfig });
    await expect(start).rejects.toMatchObject({ code: 'provider_error' });
  });
});

describe('failure taxonomy against the sandbox', () => {
  async function connectedGoogle() {
    const { provider, credentials, grant } = await h.connect('google');
    return { provider, credentials, grant };
  }

  it('maps 429 with Retry-After to provider_unavailable carrying the delay', async () => {
    const { provider, credentials, grant } = await connectedGoogle();
    h.sandbox.injectFault('google', 'refresh', { kind: 'status', status: 429, retryAfter: '17' });
    const error: unknown = await refreshGrant(h.runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig: {} }).catch((e: unknown) => e);
    expect(isBrokerError(error, 'provider_unavailable')).toBe(true);
    expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBe(17);
    expect(h.sandbox.calls('google', 'refresh')).toBe(1);
  });

  it('maps 500, a hang (timeout) and a malformed body, and never puts a token in the error', async () => {
    const { provider, credentials, grant } = await connectedGoogle();
    const attempt = () => refreshGrant(h.runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig: {} }).catch((e: unknown) => e);
    h.sandbox.injectFault('google', 'refresh', { kind: 'status', status: 500 });
    const fiveHundred = await attempt();
    expect(isBrokerError(fiveHundred, 'provider_unavailable')).toBe(true);
    h.sandbox.injectFault('google', 'refresh', { kind: 'malformed' });
    const malformed = await attempt();
    expect(isBrokerError(malformed, 'provider_error')).toBe(true);
    h.runtime = createOAuthRuntime({ overrides: h.runtime.http.overrides, timeoutMs: 200 });
    h.sandbox.injectFault('google', 'refresh', { kind: 'hang' });
    const hung = await attempt();
    expect(isBrokerError(hung, 'provider_unavailable')).toBe(true);
    expect((hung as { details?: { reason?: string } }).details?.reason).toBe('timeout');
    for (const error of [fiveHundred, malformed, hung]) {
      const text = JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details });
      for (const secret of [...h.sandbox.issuedSecrets(), credentials.clientSecret]) expect(text).not.toContain(secret);
    }
  });

  it('maps a revoked grant on refresh to needs_reauth (Slack: ok:false on HTTP 200)', async () => {
    const provider = catalog.resolve('slack');
    const credentials = h.client('slack');
    h.sandbox.injectFault('slack', 'refresh', { kind: 'invalid_grant' });
    const error = await refreshGrant(h.runtime, provider, { client: credentials, refreshToken: 'xoxe-1-unknown', scopes: [], connectionConfig: { tokenKind: 'bot' } }).catch((e: unknown) => e);
    expect(isBrokerError(error, 'needs_reauth')).toBe(true);
    expect((error as { details?: { providerError?: string } }).details?.providerError).toBe('invalid_refresh_token');
  });
});

describe('sandbox behaviour switches, seen through the real client', () => {
  async function connected(providerId: string) {
    const { provider, connectionConfig, credentials, grant } = await h.connect(providerId);
    const refresh = (refreshToken: string) => refreshGrant(h.runtime, provider, { client: credentials, refreshToken, scopes: grant.scopes, connectionConfig });
    return { grant, refresh };
  }

  it('turns rotation with invalidation on for a provider that normally keeps its refresh token, one refresh call each', async () => {
    h.sandbox.configure('google', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true });
    const { grant, refresh } = await connected('google');
    h.sandbox.resetCalls();
    const refreshed = await refresh(grant.refreshToken as string);
    expect(h.sandbox.calls('google', 'refresh')).toBe(1);
    expect(refreshed.refreshToken).not.toBe(grant.refreshToken);
    await expect(refresh(grant.refreshToken as string)).rejects.toMatchObject({ code: 'needs_reauth' });
    expect(h.sandbox.callCounts()).toEqual({ 'google.refresh': 2 });
  });

  it('makes Microsoft\'s rotated-out refresh tokens die when told to', async () => {
    h.sandbox.configure('microsoft', { invalidateRotatedRefreshTokens: true });
    const { grant, refresh } = await connected('microsoft');
    await refresh(grant.refreshToken as string);
    await expect(refresh(grant.refreshToken as string)).rejects.toMatchObject({ code: 'needs_reauth' });
  });

  it('fails the next refresh only: the retry succeeds with the same refresh token', async () => {
    const { grant, refresh } = await connected('atlassian');
    h.sandbox.failNext('atlassian', 'refresh', { kind: 'status', status: 503, retryAfter: '2' });
    await expect(refresh(grant.refreshToken as string)).rejects.toMatchObject({ code: 'provider_unavailable', retryAfterSeconds: 2 });
    const refreshed = await refresh(grant.refreshToken as string);
    expect(refreshed.refreshToken).not.toBe(grant.refreshToken);
    expect(h.sandbox.calls('atlassian', 'refresh')).toBe(2);
  });

  it('answers without expires_in when the lifetime is switched off, and the definition\'s policy applies', async () => {
    h.sandbox.configure('google', { tokenLifetimeSeconds: null });
    const { grant } = await connected('google');
    expect(grant.expirySource).toBe('assumed');
  });
});
