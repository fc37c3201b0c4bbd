// The sandbox's own controls: consent page, admin endpoint, call counts, reset and the list of issued secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProviderSandbox, startProviderSandbox } from '../../../local/provider-sandbox/provider-sandbox.js';

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

  const tokenCall = () => fetch(`${sandbox.origin}/oauth2.googleapis.com/token`, { method: 'POST', body: 'grant_type=authorization_code' });
  const admin = (path: string, body: unknown) => fetch(`${sandbox.origin}/__admin/${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('fails only the next N calls of one endpoint, then clears itself (typed API)', async () => {
    sandbox.reset();
    sandbox.failNext('google', 'token', { kind: 'status', status: 503 }, 2);
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await tokenCall()).status);
    // The third call reaches the real token handler, which refuses this incomplete request on its own terms.
    expect(statuses.slice(0, 2)).toEqual([503, 503]);
    expect(statuses[2]).not.toBe(503);
    expect(sandbox.calls('google', 'token')).toBe(3);
    // Other endpoints were never armed.
    const refresh = await fetch(`${sandbox.origin}/oauth2.googleapis.com/token`, { method: 'POST', body: 'grant_type=refresh_token' });
    expect(refresh.status).not.toBe(503);
    expect(sandbox.calls('google', 'refresh')).toBe(1);
  });

  it('takes count-limited faults over HTTP too, ahead of a standing fault, and in the order armed', async () => {
    sandbox.reset();
    const armed = await admin('providers/google', {
      faults: { token: { kind: 'status', status: 500 } },
      failNext: [
        { endpoint: 'token', fault: { kind: 'status', status: 429, retryAfter: '3' }, count: 1 },
        { endpoint: 'token', fault: { kind: 'malformed' }, count: 1 },
      ],
    });
    expect(armed.status).toBe(200);
    const first = await tokenCall();
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
    const second = await tokenCall();
    expect([second.status, await second.text()]).toEqual([200, '<html>not what you expected']);
    expect((await tokenCall()).status).toBe(500);
    expect((await tokenCall()).status).toBe(500);
    expect((await admin('providers/google', { faults: { token: null } })).status).toBe(200);
    expect((await tokenCall()).status).not.toBe(500);
    expect(sandbox.callCounts()).toEqual({ 'google.token': 5 });
  });

  it('refuses admin bodies it does not understand instead of half-applying them', async () => {
    sandbox.reset();
    for (const body of [
      { failNext: [{ endpoint: 'tokens', fault: { kind: 'hang' }, count: 1 }] },
      { failNext: [{ endpoint: 'token', fault: { kind: 'hang' }, count: 0 }] },
      { faults: { token: { kind: 'status', status: 200 } } },
      { latencyMs: -1 },
      { rotate: true },
    ]) {
      const reply = await admin('providers/google', body);
      expect(reply.status).toBe(400);
    }
    expect((await admin('providers/myspace', {})).status).toBe(404);
    expect((await tokenCall()).status).not.toBe(503);
    expect(() => sandbox.failNext('google', 'token', { kind: 'hang' }, 0)).toThrow(TypeError);
    expect(() => sandbox.failNext('myspace', 'token', { kind: 'hang' })).toThrow(TypeError);
  });

  it('delays one provider by its configured latency and leaves the others fast', async () => {
    sandbox.reset();
    expect((await admin('providers/google', { latencyMs: 250 })).status).toBe(200);
    let started = Date.now();
    await tokenCall();
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    started = Date.now();
    await fetch(`${sandbox.origin}/slack.com/api/oauth.v2.access`, { method: 'POST', body: 'grant_type=authorization_code' });
    expect(Date.now() - started).toBeLessThan(200);
    sandbox.configure('google', { latencyMs: 0 });
    started = Date.now();
    await tokenCall();
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('counts refreshes and app-only grants apart from code exchanges, and zeroes counters on demand', async () => {
    sandbox.reset();
    await tokenCall();
    await fetch(`${sandbox.origin}/oauth2.googleapis.com/token`, { method: 'POST', body: 'grant_type=refresh_token&refresh_token=x' });
    await fetch(`${sandbox.origin}/oauth2.googleapis.com/token`, { method: 'POST', body: 'grant_type=client_credentials' });
    expect(sandbox.callCounts()).toEqual({ 'google.token': 1, 'google.refresh': 1, 'google.client_credentials': 1 });
    expect((await admin('calls/reset', {})).status).toBe(200);
    expect(sandbox.callCounts()).toEqual({});
  });

  it('records which account lost its grant to a revocation, typed and over HTTP, until reset', async () => {
    sandbox.reset();
    const consent = await fetch(
      `${sandbox.origin}/accounts.google.com/o/oauth2/v2/auth?client_id=g&redirect_uri=https://b.example/cb&response_type=code&state=s&access_type=offline&prompt=consent&sandbox_decision=approve&sandbox_account=victimcorp`,
      { redirect: 'manual' },
    );
    const code = new URL(consent.headers.get('location') as string).searchParams.get('code') as string;
    const exchange = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'https://b.example/cb', client_id: 'g', client_secret: 'g-secret-0123456789' });
    const tokens = (await (await fetch(`${sandbox.origin}/oauth2.googleapis.com/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: exchange })).json()) as { refresh_token: string };
    // An unknown token ends no grant and is not recorded.
    await fetch(`${sandbox.origin}/oauth2.googleapis.com/revoke`, { method: 'POST', body: new URLSearchParams({ token: 'unknown' }) });
    expect(sandbox.revokedGrants('google')).toEqual([]);
    await fetch(`${sandbox.origin}/oauth2.googleapis.com/revoke`, { method: 'POST', body: new URLSearchParams({ token: tokens.refresh_token }) });
    expect(sandbox.revokedGrants('google')).toEqual(['victimcorp']);
    expect(sandbox.revokedGrants('slack')).toEqual([]);
    expect(await (await fetch(`${sandbox.origin}/__admin/revocations`)).json()).toEqual([{ provider: 'google', account: 'victimcorp' }]);
    sandbox.reset();
    expect(sandbox.revokedGrants('google')).toEqual([]);
  });

  it('maps every production origin it plays to itself', () => {
    expect(sandbox.originOverrides['https://slack.com']).toBe(`${sandbox.origin}/slack.com`);
    expect(sandbox.originOverrides['https://fhir.sandbox.test']).toBe(`${sandbox.origin}/fhir.sandbox.test`);
  });
});
