// The sandbox's own controls: consent page, admin endpoint, call counts, reset and the list of issued secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProviderSandbox, startProviderSandbox } from './provider-sandbox.js';

let sandbox: ProviderSandbox;
beforeAll(async () => {
  sandbox = await startProviderSandbox();
  sandbox.registerClient('google', { clientId: 'g', clientSecret: 'g-secret-0123456789', redirectUris: ['https://b.example/cb'] });
});
afterAll(() => sandbox.close());

describe('provider sandbox', () => {
  it('serves a self-contained Allow/Deny page when no decision is scripted', async () => {
    const response = await fetch(`${sandbox.origin}/accounts.google.com/o/oauth2/v2/auth?client_id=g&redirect_uri=https://b.example/cb&response_type=code&state=s&access_type=offline&prompt=consent`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('id="allow"');
    expect(html).toContain('id="deny"');
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
  });

  it('refuses an unregistered redirect_uri without redirecting to it', async () => {
    const response = await fetch(`${sandbox.origin}/accounts.google.com/o/oauth2/v2/auth?client_id=g&redirect_uri=https://evil.example/cb&response_type=code&sandbox_decision=approve`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('takes faults through the admin endpoint, counts calls, and resets', async () => {
    const admin = await fetch(`${sandbox.origin}/__admin/providers/google`, {
      method: 'POST',
      body: JSON.stringify({ faults: { token: { kind: 'status', status: 503, retryAfter: '5' } } }),
    });
    expect(admin.status).toBe(200);
    const reply = await fetch(`${sandbox.origin}/oauth2.googleapis.com/token`, { method: 'POST', body: 'grant_type=authorization_code' });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('5');
    expect(sandbox.calls('google', 'token')).toBe(1);
    const calls = (await (await fetch(`${sandbox.origin}/__admin/calls`)).json()) as Record<string, number>;
    expect(calls['google.token']).toBe(1);
    await fetch(`${sandbox.origin}/__admin/reset`, { method: 'POST' });
    expect(sandbox.calls('google', 'token')).toBe(0);
    expect(sandbox.issuedSecrets()).toEqual([]);
  });

  it('maps every production origin it plays to itself', () => {
    expect(sandbox.originOverrides['https://slack.com']).toBe(`${sandbox.origin}/slack.com`);
    expect(sandbox.originOverrides['https://fhir.sandbox.test']).toBe(`${sandbox.origin}/fhir.sandbox.test`);
  });
});
