// The connections function: listing without secrets, disconnect with crypto-shredding, app-only and API-key connections.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectionNames } from '../../shared/store/collections.js';
import { connectionDocumentSchema } from '../../shared/store/connection-document.js';
import { openRevocationToken, pendingRevocationSchema } from '../../shared/store/pending-revocations.js';
import { type ConnectHarness, OTHER_CALLER, startConnectHarness } from './connect-harness.js';
import { allConnections, connectThroughBrowser } from './connect-flow-support.js';

let harness: ConnectHarness;

beforeAll(async () => {
  harness = await startConnectHarness('connections-fn');
});
afterAll(async () => {
  await harness?.stop();
});
beforeEach(async () => {
  harness.sandbox.resetCalls();
  for (const collection of await harness.firestore.listCollections()) await harness.firestore.recursiveDelete(collection);
});

const MICROSOFT_TENANT = '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';

async function call(method: 'GET' | 'POST', path: string, body?: unknown, email?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${harness.origin}/connections${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await harness.idToken(email, 'connections')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function connect(provider: string, scopes?: string[]): Promise<string> {
  const end = await connectThroughBrowser(harness, { provider, ...(scopes ? { scopes } : {}) });
  return end.location?.searchParams.get('connection_id') as string;
}

async function auditActions(): Promise<string[]> {
  return (await harness.firestore.collection('auditLog').get()).docs.map((doc) => doc.data().action as string).sort();
}

describe('listing', () => {
  it("shows a user's connections with account, scopes, status and health, and never a secret", async () => {
    await connect('slack', ['chat:write']);
    await connect('google', ['https://www.googleapis.com/auth/gmail.readonly']);
    const { status, json } = await call('GET', '/?tenantId=tenant-a&userId=user-1');
    expect(status).toBe(200);
    const connections = json.connections as Record<string, unknown>[];
    expect(connections.map((c) => c.provider).sort()).toEqual(['google', 'slack']);
    expect(connections.find((c) => c.provider === 'slack')).toMatchObject({
      accountId: 'T616C6963',
      scopes: ['chat:write'],
      status: 'active',
      health: { status: 'healthy' },
    });
    const text = JSON.stringify(json);
    expect(text).not.toContain('credentials');
    for (const secret of harness.sandbox.issuedSecrets()) expect(text).not.toContain(secret);
  });

  it("shows a caller only the providers its policy covers, and refuses a tenant it has no rights in", async () => {
    await connect('slack');
    await connect('google');
    const { json } = await call('GET', '/?tenantId=tenant-a&userId=user-1', undefined, OTHER_CALLER);
    expect((json.connections as { provider: string }[]).map((c) => c.provider)).toEqual(['slack']);
    expect((await call('GET', '/?tenantId=tenant-b&userId=user-1')).status).toBe(403);
    expect((await call('GET', '/?tenantId=tenant-a&userId=user-1&provider=google', undefined, OTHER_CALLER)).status).toBe(403);
  });
});

describe('disconnect', () => {
  it('revokes at the provider, destroys the sealed credentials, and records audit and event', async () => {
    const connectionId = await connect('slack');
    const { status, json } = await call('POST', '/disconnect', { tenantId: 'tenant-a', connectionId });
    expect(status).toBe(200);
    expect(json).toEqual({ connectionId, status: 'revoked', credentialsDestroyed: true, providerRevocation: { outcome: 'revoked' } });
    expect(harness.sandbox.calls('slack', 'revoke')).toBe(1);
    const [stored] = await allConnections(harness);
    const document = connectionDocumentSchema.parse(stored?.data);
    expect(document).toMatchObject({ status: 'revoked', credentials: null, nextRefreshAtMs: null });
    expect(await auditActions()).toEqual(['connection.connected', 'connection.revoked', 'flow.started']);
    const events = (await harness.firestore.collection('connectionEvents').get()).docs.map((doc) => doc.data().type as string);
    expect(events.sort()).toEqual(['connection.created', 'connection.revoked']);
    expect((await call('GET', '/?tenantId=tenant-a&userId=user-1')).json.connections).toEqual([]);
  });

  it('retries a transient revocation failure at the provider before giving up', async () => {
    const connectionId = await connect('google');
    harness.sandbox.resetCalls();
    harness.sandbox.failNext('google', 'revoke', { kind: 'status', status: 503 }, 1);
    const { status, json } = await call('POST', '/disconnect', { tenantId: 'tenant-a', connectionId });
    expect(status).toBe(200);
    expect(json).toMatchObject({ credentialsDestroyed: true, providerRevocation: { outcome: 'revoked' } });
    expect(harness.sandbox.calls('google', 'revoke')).toBe(2);
  });

  it('destroys the credentials when the provider stays down, and keeps only the sealed token to revoke it later', async () => {
    const connectionId = await connect('google');
    harness.sandbox.resetCalls();
    harness.sandbox.failNext('google', 'revoke', { kind: 'status', status: 503 }, 3);
    const { status, json } = await call('POST', '/disconnect', { tenantId: 'tenant-a', connectionId });
    expect(status).toBe(200);
    expect(json).toMatchObject({
      status: 'revoked',
      credentialsDestroyed: true,
      providerRevocation: { outcome: 'retry_scheduled', reason: 'provider_unavailable' },
    });
    expect(harness.sandbox.calls('google', 'revoke')).toBe(3);
    const [stored] = await allConnections(harness);
    expect(stored?.data).toMatchObject({ status: 'revoked', credentials: null });
    const pending = (await harness.firestore.collection(collectionNames.pendingRevocations).get()).docs;
    expect(pending).toHaveLength(1);
    const document = pendingRevocationSchema.parse(pending[0]?.data());
    expect(document).toMatchObject({ connectionId, tenantId: 'tenant-a', provider: 'google', attempts: 3, lastErrorCode: 'provider_unavailable' });
    expect(document.nextAttemptAtMs).toBeGreaterThan(Date.now());
    const text = JSON.stringify(pending[0]?.data());
    expect(harness.sandbox.issuedSecrets().length).toBeGreaterThan(0);
    for (const secret of harness.sandbox.issuedSecrets()) expect(text).not.toContain(secret);
    // The sealed token opens only as this pending revocation of this tenant, to the refresh token the provider issued.
    const token = await openRevocationToken(harness.vault, { id: pending[0]?.id ?? '', document });
    expect(token.hint).toBe('refresh_token');
    expect(harness.sandbox.issuedSecrets()).toContain(token.token);
    expect(await auditActions()).toEqual(['connection.connected', 'connection.revoked', 'flow.started']);
  });

  it('reports a refused revocation as failed and schedules no retry', async () => {
    const connectionId = await connect('google');
    harness.sandbox.resetCalls();
    harness.sandbox.failNext('google', 'revoke', { kind: 'status', status: 400 }, 1);
    const { status, json } = await call('POST', '/disconnect', { tenantId: 'tenant-a', connectionId });
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'revoked', credentialsDestroyed: true, providerRevocation: { outcome: 'failed' } });
    const [stored] = await allConnections(harness);
    expect(stored?.data).toMatchObject({ status: 'revoked', credentials: null, statusReason: 'provider_revocation_failed' });
    expect(await auditActions()).toContain('connection.revocation_failed');
    expect((await harness.firestore.collection(collectionNames.pendingRevocations).get()).size).toBe(0);
    expect(harness.sandbox.calls('google', 'revoke')).toBe(1);
  });

  it("answers 404 for another tenant's connection and leaves it alone", async () => {
    const connectionId = await connect('slack');
    const { status } = await call('POST', '/disconnect', { tenantId: 'tenant-b', connectionId });
    expect(status).toBe(404);
    expect((await allConnections(harness))[0]?.data.status).toBe('active');
    expect(harness.sandbox.calls('slack', 'revoke')).toBe(0);
  });
});

describe('tenant-level connections', () => {
  it('creates an app-only (client credentials) connection with no user, listed for the tenant', async () => {
    const { status, json } = await call('POST', '/client-credentials', {
      tenantId: 'tenant-a',
      provider: 'microsoft',
      connectionConfig: { tenant: MICROSOFT_TENANT },
    });
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ provider: 'microsoft', accountId: MICROSOFT_TENANT, status: 'active', created: true });
    const [stored] = await allConnections(harness);
    expect(stored?.data).toMatchObject({ kind: 'client_credentials', userId: null, tenantId: 'tenant-a' });
    expect(stored?.data.nextRefreshAtMs).toEqual(expect.any(Number));
    const listed = (await call('GET', '/?tenantId=tenant-a')).json.connections as { connectionId: string }[];
    expect(listed.map((c) => c.connectionId)).toEqual([json.connectionId]);
  });

  it('refuses app-only connections for a provider without them', async () => {
    const { status, json } = await call('POST', '/client-credentials', { tenantId: 'tenant-a', provider: 'slack' });
    expect(status).toBe(400);
    expect(json.code).toBe('invalid_request');
    expect(await allConnections(harness)).toEqual([]);
  });

  it('creates an API-key connection after the provider accepts the key, and never stores the key in clear text', async () => {
    const apiKey = harness.sandbox.issueApiKey('hubspot');
    const { status, json } = await call('POST', '/api-key', { tenantId: 'tenant-a', userId: 'user-1', provider: 'hubspot', apiKey });
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ provider: 'hubspot', accountId: '4242', created: true });
    expect(harness.sandbox.calls('hubspot', 'identity')).toBe(1);
    const [stored] = await allConnections(harness);
    expect(stored?.data.kind).toBe('api_key');
    expect(JSON.stringify(stored?.data)).not.toContain(apiKey);
  });

  it('refuses a key the provider rejects, without echoing it', async () => {
    const apiKey = 'pat-na1-00000000-0000-0000-0000-000000000000';
    const { status, json } = await call('POST', '/api-key', { tenantId: 'tenant-a', provider: 'hubspot', apiKey });
    expect(status).toBe(400);
    expect(JSON.stringify(json)).not.toContain(apiKey);
    expect(await allConnections(harness)).toEqual([]);
  });
});
