// The token function end to end: ID token, caller policy, connection lookup, refresh, and the problem codes callers switch on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionNames } from '../../shared/store/collections.js';
import { connectAtSandbox, readStoredConnection, setStoredExpiry, writeConnection } from '../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { startTokenFunctionStack, type TokenFunctionStack } from './token-function-stack.js';

const project = useFirestoreTestProject('token-function');
const READER = 'reader@acme-prod.iam.gserviceaccount.com';
let stack: TokenFunctionStack;

beforeAll(async () => {
  stack = await startTokenFunctionStack({
    project,
    providers: ['zoom', 'slack'],
    callerPolicy: [{ serviceAccount: READER, tenants: ['acme'], providers: ['zoom', 'slack', 'salesforce'], actions: ['read_token'] }],
  });
});

afterAll(async () => {
  await stack?.stop();
});

async function problem(response: Response) {
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  return (await response.json()) as { code: string; detail?: string; details?: Record<string, unknown>; retryable?: boolean };
}

describe('token function', () => {
  it('serves a fresh access token with what callers need, and never the refresh token', async () => {
    const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-fresh' });
    const response = await stack.post({ tenantId: 'acme', userId: 'u-fresh', provider: 'zoom' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      accessToken: grant.accessToken,
      tokenType: 'Bearer',
      expiresAt: new Date(grant.expiresAtMs!).toISOString(),
      scopes: grant.scopes,
      connectionId,
      providerAccountId: grant.providerAccountId,
      metadata: grant.metadata,
    });
    expect(text).not.toContain(grant.refreshToken!);
  });

  it('refreshes an expiring token on read and stores the rotated refresh token', async () => {
    const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-expiring' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() + 30_000);
    // Within the default 60 s margin: refreshed.
    const body = (await (await stack.post({ tenantId: 'acme', userId: 'u-expiring', provider: 'zoom' })).json()) as { accessToken: string; expiresAt: string };
    expect(body.accessToken).not.toBe(grant.accessToken);
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now() + 3000_000);
    const stored = await readStoredConnection(project.firestore, stack.vault, connectionId);
    expect(stored.credentials.refreshToken).not.toBe(grant.refreshToken);
    // A caller that can live with 10 s of validity gets the stored token without a refresh.
    await setStoredExpiry(project.firestore, connectionId, Date.now() + 30_000);
    stack.sandbox.resetCalls();
    const relaxed = (await (await stack.post({ tenantId: 'acme', userId: 'u-expiring', provider: 'zoom', minValiditySeconds: 10 })).json()) as { accessToken: string };
    expect(relaxed.accessToken).toBe(body.accessToken);
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(0);
  });

  it('serves the tenant-level connection when userId is omitted', async () => {
    const connectionId = await writeConnection(project.firestore, stack.vault, {
      tenantId: 'acme',
      userId: null,
      provider: 'salesforce',
      providerAccountId: '00D000000000001AAA',
      kind: 'client_credentials',
      credentials: { accessToken: 'app-only-token-1' },
      expiresAtMs: Date.now() + 3600_000,
      metadata: { instanceUrl: 'https://acme.my.salesforce.com' },
    });
    const response = await stack.post({ tenantId: 'acme', provider: 'salesforce' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ accessToken: 'app-only-token-1', connectionId, metadata: { instanceUrl: 'https://acme.my.salesforce.com' } });
    // A user without their own connection does not silently get the tenant's.
    expect((await problem(await stack.post({ tenantId: 'acme', userId: 'u-none', provider: 'salesforce' }))).code).toBe('not_connected');
  });

  it('answers not_connected, ambiguous_account (with the accounts) and picks the named account', async () => {
    const none = await stack.post({ tenantId: 'acme', userId: 'u-nobody', provider: 'slack' });
    expect(none.status).toBe(404);
    expect((await problem(none)).code).toBe('not_connected');

    for (const account of ['alice', 'bob']) {
      await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.slack!, provider: 'slack', tenantId: 'acme', userId: 'u-two', account, scopes: ['chat:write'] });
    }
    const ambiguous = await stack.post({ tenantId: 'acme', userId: 'u-two', provider: 'slack' });
    expect(ambiguous.status).toBe(409);
    const body = await problem(ambiguous);
    expect(body.code).toBe('ambiguous_account');
    const accountIds = body.details?.accountIds as string[];
    expect(accountIds).toHaveLength(2);
    const named = await stack.post({ tenantId: 'acme', userId: 'u-two', provider: 'slack', accountId: accountIds[1] });
    expect(named.status).toBe(200);
    expect(await named.json()).toMatchObject({ providerAccountId: accountIds[1] });
  });

  it('answers insufficient_scope with the missing scopes and the step that adds them', async () => {
    await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.slack!, provider: 'slack', tenantId: 'acme', userId: 'u-scopes', scopes: ['chat:write'] });
    const response = await stack.post({ tenantId: 'acme', userId: 'u-scopes', provider: 'slack', requiredScopes: ['chat:write', 'channels:history'] });
    expect(response.status).toBe(403);
    const body = await problem(response);
    expect(body).toMatchObject({ code: 'insufficient_scope', details: { missingScopes: ['channels:history'], action: 'reconnect_with_scopes' } });
    expect(body.detail).toMatch(/connect flow/);
  });

  it('answers needs_reauth at once when the grant is dead, with an event, and says what to do', async () => {
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-dead' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1000);
    stack.sandbox.failNext('zoom', 'refresh', { kind: 'invalid_grant' });
    const response = await stack.post({ tenantId: 'acme', userId: 'u-dead', provider: 'zoom' });
    expect(response.status).toBe(409);
    const body = await problem(response);
    expect(body).toMatchObject({ code: 'needs_reauth', details: { connectionId, action: 'reconnect' } });
    expect(body.detail).toMatch(/connect flow/);
    const events = await project.firestore.collection(collectionNames.connectionEvents).where('connectionId', '==', connectionId).get();
    expect(events.docs.map((doc) => doc.get('type'))).toEqual(['connection.needs_reauth']);
  });

  it('answers provider_unavailable as retryable with Retry-After, and does not hammer the provider', async () => {
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-down' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1000);
    stack.sandbox.injectFault('zoom', 'refresh', { kind: 'status', status: 503, retryAfter: '120' });
    stack.sandbox.resetCalls();
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const response = await stack.post({ tenantId: 'acme', userId: 'u-down', provider: 'zoom' });
        expect(response.status).toBe(503);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(110);
        expect(await problem(response)).toMatchObject({ code: 'provider_unavailable', retryable: true });
      }
      // One provider call; the other reads were answered from the cooldown.
      expect(stack.sandbox.calls('zoom', 'refresh')).toBe(1);
    } finally {
      stack.sandbox.injectFault('zoom', 'refresh', undefined);
    }
  });

  it('rejects unauthenticated callers, non-JSON bodies and unknown fields', async () => {
    const anonymous = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect((await problem(anonymous)).code).toBe('unauthenticated');
    const wrongAudience = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.issuer.mint({ email: READER, audience: 'https://other.example' })}` },
      body: JSON.stringify({ tenantId: 'acme', provider: 'zoom' }),
    });
    expect(wrongAudience.status).toBe(401);
    const form = await stack.post('tenantId=acme', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await problem(form)).code).toBe('unsupported_media_type');
    const extra = await stack.post({ tenantId: 'acme', provider: 'zoom', refreshToken: 'please' });
    expect(extra.status).toBe(400);
    expect((await problem(extra)).code).toBe('invalid_request');
    const get = await fetch(stack.url, { headers: { authorization: `Bearer ${await stack.issuer.mint({ email: READER, audience: stack.audience })}` } });
    expect(get.status).toBe(405);
  });
});
