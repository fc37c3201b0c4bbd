// API-key connections (HubSpot private app tokens): shape check, identity call with the key, health check later.
import { describe, expect, it } from 'vitest';
import { connectWithApiKey } from '../../../shared/oauth/api-key-connection.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { useProviderSandbox } from './sandbox-harness.js';

const h = useProviderSandbox();

describe('HubSpot private app access tokens', () => {
  const hubspot = h.catalog.resolve('hubspot');

  it('connects with a key: the identity call with the key as Bearer names the hub', async () => {
    const apiKey = h.sandbox.issueApiKey('hubspot');
    expect(apiKey).toMatch(/^pat-na1-/);
    const grant = await connectWithApiKey(h.runtime, hubspot, { apiKey, connectionConfig: {} });
    expect(grant).toMatchObject({ providerAccountId: '4242', metadata: { hubId: '4242' }, expirySource: 'never', tokenType: 'Bearer', scopes: [] });
    expect(grant.healthCheckEverySeconds).toBeGreaterThan(0);
    expect(grant.expiresAtMs).toBeUndefined();
    expect(h.sandbox.callCounts()).toEqual({ 'hubspot.identity': 1 });
    // A later health check is the same identity call.
    const identity = await fetchIdentity(h.runtime, hubspot, { accessToken: apiKey, connectionConfig: {}, metadata: {} });
    expect(identity.accountId).toBe('4242');
  });

  it('refuses a key of the wrong shape without calling HubSpot, and never echoes it', async () => {
    const pasted = 'CNbx-an-oauth-access-token-not-a-private-app-token';
    const error: unknown = await connectWithApiKey(h.runtime, hubspot, { apiKey: pasted, connectionConfig: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_request', details: { reason: 'api_key_format' } });
    expect(JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details })).not.toContain(pasted);
    expect(h.sandbox.callCounts()).toEqual({});
  });

  it('turns a well-formed key HubSpot does not know into a clear refusal', async () => {
    const unknown = 'pat-na1-00000000-0000-4000-8000-000000000000';
    await expect(connectWithApiKey(h.runtime, hubspot, { apiKey: unknown, connectionConfig: {} })).rejects.toMatchObject({
      code: 'invalid_request',
      details: { reason: 'api_key_rejected' },
    });
    expect(h.sandbox.calls('hubspot', 'identity')).toBe(1);
  });

  it('issues keys over the admin endpoint too', async () => {
    const reply = await fetch(`${h.sandbox.origin}/__admin/providers/hubspot/api-keys`, { method: 'POST', body: JSON.stringify({ account: 'bob' }) });
    const { apiKey } = (await reply.json()) as { apiKey: string };
    await expect(connectWithApiKey(h.runtime, hubspot, { apiKey, connectionConfig: {} })).resolves.toMatchObject({ providerAccountId: '4242' });
    const none = await fetch(`${h.sandbox.origin}/__admin/providers/google/api-keys`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(404);
  });

  it('is refused for a provider that declares no API keys', async () => {
    await expect(connectWithApiKey(h.runtime, h.catalog.resolve('google'), { apiKey: 'anything', connectionConfig: {} })).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
