// The health function end to end: the scheduler's identity only; Slack through @slack/web-api, Gmail through @googleapis/gmail,
// others through their definition; a revoked grant ends in needs_reauth with its event, and a reconnect announces the recovery.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectionEventSchema } from '../../shared/store/connection-events-outbox.js';
import { readConnection } from '../../shared/store/connection-reads.js';
import { storeConnectedGrant } from '../../shared/usecases/connections/store-connected-grant.js';
import { checkConnectionHealth } from '../../shared/usecases/sweeps/check-connection-health.js';
import { connectAtSandbox, setStoredExpiry } from '../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { pullExactly } from '../../local/pubsub-emulator-admin.js';
import { startSweepFunctionStack, type SweepFunctionStack } from './sweep-function-stack.js';

const project = useFirestoreTestProject('health-function');
const PROVIDERS = ['slack', 'google', 'zoom'] as const;
const GMAIL_SCOPES = ['openid', 'email', 'https://www.googleapis.com/auth/gmail.readonly'];
let stack: SweepFunctionStack;

beforeAll(async () => {
  // Every run checks every connection: the recheck interval would otherwise hold back what the last run checked.
  stack = await startSweepFunctionStack({ project, providers: PROVIDERS, sweeps: ['health'], env: { HEALTH_RECHECK_SECONDS: '0' } });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await project.clear();
  stack.sandbox.resetCalls();
});

interface HealthResponse {
  checked: number;
  healthy: number;
  unhealthy: number;
  needsReauth: number;
  refreshed: number;
  remaining: number;
  failed: { total: number };
}

async function connect(provider: (typeof PROVIDERS)[number], options: { tenantId?: string; scopes?: readonly string[] } = {}) {
  return connectAtSandbox({
    firestore: project.firestore,
    vault: stack.vault,
    sandbox: stack.sandbox,
    client: stack.clients[provider]!,
    provider,
    tenantId: options.tenantId ?? 'acme',
    userId: 'u-1',
    ...(options.scopes ? { scopes: options.scopes } : {}),
  });
}

async function sweep(): Promise<HealthResponse> {
  const response = await stack.post('health');
  expect(response.status).toBe(200);
  return (await response.json()) as HealthResponse;
}

async function documentOf(connectionId: string) {
  const connection = await readConnection(project.firestore, connectionId);
  if (connection === undefined) throw new Error(`no connection ${connectionId}`);
  return connection.document;
}

describe('health function', () => {
  it('refuses callers that are not the scheduler', async () => {
    const response = await stack.post('health', { email: 'reader@acme-prod.iam.gserviceaccount.com' });
    expect(response.status).toBe(403);
    expect(stack.sandbox.callCounts()).toEqual({});
  });

  it('checks each connection at its provider and records status and latency; a flip and its recovery are announced', async () => {
    const subscription = await stack.subscribe('flips');
    const slack = await connect('slack');
    const google = await connect('google', { scopes: GMAIL_SCOPES });
    const zoom = await connect('zoom');
    stack.sandbox.resetCalls();

    expect(await sweep()).toMatchObject({ checked: 3, healthy: 3, unhealthy: 0, needsReauth: 0, remaining: 0 });
    expect(stack.sandbox.callCounts()).toEqual({ 'slack.identity': 1, 'google.identity': 1, 'zoom.identity': 1 });
    for (const { connectionId } of [slack, google, zoom]) {
      const { health, status } = await documentOf(connectionId);
      expect(status).toBe('active');
      expect(health).toMatchObject({ status: 'healthy', errorCode: null });
      expect(health.checkedAtMs).toBeGreaterThan(Date.now() - 60_000);
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    }

    // Slack answers 503 once: unhealthy (not needs_reauth), announced; the next run finds it healthy again, announced too.
    stack.sandbox.failNext('slack', 'identity', { kind: 'status', status: 503 });
    expect(await sweep()).toMatchObject({ checked: 3, healthy: 2, unhealthy: 1, needsReauth: 0 });
    expect((await documentOf(slack.connectionId)).health).toMatchObject({ status: 'unhealthy', errorCode: 'provider_unavailable' });
    expect((await documentOf(slack.connectionId)).status).toBe('active');
    expect(await sweep()).toMatchObject({ healthy: 3 });
    const events = (await pullExactly(stack.pubsubHost, subscription, 2, { settleMs: 1_000 })).map((message) =>
      connectionEventSchema.parse(JSON.parse(message.data)),
    );
    expect(events.map((event) => [event.type, event.connectionId, event.toStatus, event.reason])).toEqual([
      ['connection.health_changed', slack.connectionId, 'active', 'unhealthy:provider_unavailable'],
      ['connection.health_changed', slack.connectionId, 'active', 'healthy'],
    ]);
  });

  it('refreshes an expired token before probing: the identity endpoint never sees an expired token', async () => {
    const zoom = await connect('zoom');
    const expiredAtMs = Date.now() - 1_000;
    await setStoredExpiry(project.firestore, zoom.connectionId, expiredAtMs);
    stack.sandbox.resetCalls();

    expect(await sweep()).toMatchObject({ checked: 1, healthy: 1, unhealthy: 0, refreshed: 1 });
    expect(stack.sandbox.callCounts()).toEqual({ 'zoom.refresh': 1, 'zoom.identity': 1 });
    const document = await documentOf(zoom.connectionId);
    expect(document.expiresAtMs).toBeGreaterThan(Date.now());
    expect(document.health).toMatchObject({ status: 'healthy', errorCode: null });
  });

  it('uses Gmail users.getProfile for Google connections with a Gmail scope, and the definition identity call otherwise', async () => {
    const gmail = await connect('google', { scopes: GMAIL_SCOPES });
    const plain = await connect('google', { tenantId: 'other', scopes: ['openid', 'email'] });
    const runtime = stack.runtime();
    expect(await checkConnectionHealth(runtime, gmail.connectionId)).toMatchObject({ outcome: 'healthy', probe: 'gmail_get_profile' });
    expect(await checkConnectionHealth(runtime, plain.connectionId)).toMatchObject({ outcome: 'healthy', probe: 'identity' });
  });

  it('finds a grant revoked at the provider: one refresh, then needs_reauth with its event; a reconnect publishes the recovery', async () => {
    const subscription = await stack.subscribe('revoked');
    const google = await connect('google', { scopes: GMAIL_SCOPES });
    const slack = await connect('slack');
    // The user removes the app at Google: every token of the grant dies.
    const revoked = await fetch(`${stack.sandbox.originOverrides['https://oauth2.googleapis.com']}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: google.grant.refreshToken! }).toString(),
    });
    expect(revoked.status).toBe(200);
    stack.sandbox.resetCalls();

    expect(await sweep()).toMatchObject({ checked: 2, healthy: 1, needsReauth: 1, refreshed: 0 });
    // One identity call, the one refresh it allows, and nothing after the refresh failed on the dead grant.
    expect(stack.sandbox.calls('google', 'identity')).toBe(1);
    expect(stack.sandbox.calls('google', 'refresh')).toBe(1);
    const dead = await documentOf(google.connectionId);
    expect(dead).toMatchObject({ status: 'needs_reauth', statusReason: 'invalid_grant', nextRefreshAtMs: null });
    expect(dead.health).toMatchObject({ status: 'unhealthy', errorCode: 'UNAUTHENTICATED' });
    expect((await documentOf(slack.connectionId)).status).toBe('active');
    const [needsReauth] = await pullExactly(stack.pubsubHost, subscription, 1, { settleMs: 1_000 });
    expect(connectionEventSchema.parse(JSON.parse(needsReauth!.data))).toMatchObject({
      type: 'connection.needs_reauth',
      connectionId: google.connectionId,
      fromStatus: 'active',
      toStatus: 'needs_reauth',
      reason: 'invalid_grant',
    });
    // A later sweep leaves it alone: it waits for the user, not for the provider.
    stack.sandbox.resetCalls();
    expect(await sweep()).toMatchObject({ checked: 1 });
    expect(stack.sandbox.calls('google', 'identity')).toBe(0);

    // The user connects again: the same connection is updated through the connect path's upsert, and the recovery is announced.
    const again = await connect('google', { tenantId: 'scratch', scopes: GMAIL_SCOPES });
    const runtime = stack.runtime();
    const upserted = await storeConnectedGrant(runtime, {
      tenantId: 'acme',
      userId: 'u-1',
      provider: 'google',
      kind: 'oauth2',
      grant: again.grant,
      connectionConfig: {},
      actor: { type: 'user_browser', id: null },
    });
    expect(upserted.connectionId).toBe(google.connectionId);
    await sweep();
    const [recovery] = await pullExactly(stack.pubsubHost, subscription, 1, { settleMs: 1_000 });
    expect(connectionEventSchema.parse(JSON.parse(recovery!.data))).toMatchObject({
      type: 'connection.reconnected',
      connectionId: google.connectionId,
      fromStatus: 'needs_reauth',
      toStatus: 'active',
    });
    expect((await documentOf(google.connectionId)).health.status).toBe('healthy');
  });
});
