// PKCE reaches every provider that supports it; RFC 9207 `iss` mismatches are refused; errors carry no secrets.
import { describe, expect, it } from 'vitest';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { validateAuthorizationResponse } from '../../../shared/oauth/authorization-response.js';
import { createOAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { sequentialIdSource } from '../../../shared/time/ids.js';

const catalog = createProviderCatalog();
// No network: every provider here has static endpoints, so nothing is fetched.
const runtime = createOAuthRuntime({ ids: sequentialIdSource(), transport: () => Promise.reject(new Error('no network in this test')) });
const staticProviders = catalog.providers.filter((p) => p.protocol === 'oauth2' && p.endpoints.discovery === undefined);

describe('PKCE', () => {
  it.each(staticProviders.map((p) => [p.id, p] as const))('%s: sends S256 exactly when the definition supports it', async (_, provider) => {
    const request = await buildAuthorizationRequest(runtime, provider, {
      clientId: 'c',
      redirectUri: 'https://broker.example.test/callback',
      scopes: [],
      state: 's'.repeat(32),
      connectionConfig: parseConnectionConfig(provider, {}),
    });
    const params = new URL(request.url).searchParams;
    if (provider.pkce.method === 'S256') {
      expect(params.get('code_challenge_method')).toBe('S256');
      expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(request.codeVerifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    } else {
      expect(params.has('code_challenge')).toBe(false);
      expect(request.codeVerifier).toBeUndefined();
    }
  });

  it('every provider without PKCE records why', () => {
    const without = catalog.providers.filter((p) => p.pkce.method === 'none');
    // The built-in definitions without PKCE are known by name; data-defined catalog providers must give a reason too.
    expect(without.map((p) => p.id)).toEqual(expect.arrayContaining(['atlassian', 'notion', 'slack', 'trello']));
    for (const id of ['google', 'microsoft', 'salesforce', 'hubspot', 'dropbox', 'asana', 'zoom']) expect(without.map((p) => p.id)).not.toContain(id);
    for (const provider of without) expect(provider.pkce.method === 'none' && provider.pkce.reason.length).toBeGreaterThan(20);
  });
});

describe('RFC 9207 issuer check', () => {
  const google = catalog.resolve('google');
  const base = { expectedState: 'state-value-0123456789', connectionConfig: {} };

  it('accepts the expected issuer', async () => {
    const params = new URLSearchParams({ code: 'abc', state: base.expectedState, iss: 'https://accounts.google.com' });
    await expect(validateAuthorizationResponse(runtime, google, { ...base, params })).resolves.toEqual({ code: 'abc' });
  });

  it('rejects a response whose iss differs, before reading its code or error', async () => {
    for (const extra of [{ code: 'abc' }, { error: 'access_denied' }] as Record<string, string>[]) {
      const params = new URLSearchParams({ ...extra, state: base.expectedState, iss: 'https://attacker.example' });
      await expect(validateAuthorizationResponse(runtime, google, { ...base, params })).rejects.toMatchObject({ code: 'issuer_mismatch' });
    }
  });

  it('rejects a missing iss from a provider that always sends one', async () => {
    const params = new URLSearchParams({ code: 'abc', state: base.expectedState });
    await expect(validateAuthorizationResponse(runtime, google, { ...base, params })).rejects.toMatchObject({ code: 'issuer_mismatch' });
  });

  it('rejects a state that is not the flow\'s', async () => {
    const params = new URLSearchParams({ code: 'abc', state: 'another-state-0123456789', iss: 'https://accounts.google.com' });
    await expect(validateAuthorizationResponse(runtime, google, { ...base, params })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('reads no error before the state is the flow\'s, and refuses repeated parameters and tokens in the response', async () => {
    const iss = 'https://accounts.google.com';
    const forged = new URLSearchParams({ error: 'access_denied', state: 'another-state-0123456789', iss });
    await expect(validateAuthorizationResponse(runtime, google, { ...base, params: forged })).rejects.toMatchObject({ code: 'invalid_request' });
    const declined = new URLSearchParams({ error: 'access_denied', state: base.expectedState, iss });
    await expect(validateAuthorizationResponse(runtime, google, { ...base, params: declined })).rejects.toMatchObject({ code: 'access_denied' });
    for (const query of [`code=a&state=${base.expectedState}&iss=${iss}&iss=${iss}`, `code=a&code=b&state=${base.expectedState}&iss=${iss}`, `code=a&state=${base.expectedState}&iss=${iss}&access_token=t&token=t`]) {
      const params = new URLSearchParams(query);
      await expect(validateAuthorizationResponse(runtime, google, { ...base, params })).rejects.toMatchObject({ code: 'invalid_request' });
    }
  });

  it('ignores iss where no issuer is known to compare it with', async () => {
    const params = new URLSearchParams({ code: 'abc', state: base.expectedState, iss: 'https://anyone.example' });
    await expect(validateAuthorizationResponse(runtime, catalog.resolve('dropbox'), { ...base, params })).resolves.toEqual({ code: 'abc' });
  });
});

describe('authorization parameters', () => {
  it.each([
    ['google', { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' }],
    ['dropbox', { token_access_type: 'offline' }],
    ['atlassian', { audience: 'api.atlassian.com', prompt: 'consent' }],
    ['notion', { owner: 'user' }],
  ] as const)('%s carries its documented extra parameters', async (id, expected) => {
    const provider = catalog.resolve(id);
    const request = await buildAuthorizationRequest(runtime, provider, { clientId: 'c', redirectUri: 'https://b.example/cb', scopes: [], state: 's'.repeat(32), connectionConfig: {} });
    expect(Object.fromEntries(new URL(request.url).searchParams)).toMatchObject(expected);
  });

  it('asks Microsoft for offline_access and fills the tenant into the URL', async () => {
    const provider = catalog.resolve('microsoft');
    const request = await buildAuthorizationRequest(runtime, provider, { clientId: 'c', redirectUri: 'https://b.example/cb', scopes: ['Mail.Read'], state: 's'.repeat(32), connectionConfig: parseConnectionConfig(provider, { tenant: 'contoso.onmicrosoft.com' }) });
    const url = new URL(request.url);
    expect(url.pathname).toBe('/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
    expect(url.searchParams.get('scope')?.split(' ')).toContain('offline_access');
  });

  it('refuses scopes the provider does not offer, and unknown providers', async () => {
    const provider = catalog.resolve('trello');
    expect(() => catalog.resolve('myspace')).toThrow(expect.objectContaining({ code: 'unknown_provider' }));
    const google = catalog.resolve('google');
    await expect(buildAuthorizationRequest(runtime, google, { clientId: 'c', redirectUri: 'https://b.example/cb', scopes: ['https://evil.example/all'], state: 's'.repeat(32), connectionConfig: {} })).rejects.toMatchObject({ code: 'invalid_scope' });
    expect(provider.protocol).toBe('oauth1a');
  });
});
