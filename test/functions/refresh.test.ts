// The refresh function end to end: Cloud Scheduler's identity only, a mixed sweep ending in the documented states with their events on Pub/Sub, and no duplicate provider calls.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectionNames } from '../../shared/store/collections.js';
import { connectionEventSchema } from '../../shared/store/connection-events-outbox.js';
import { connectionRef } from '../../shared/store/connection-reads.js';
import { connectAtSandbox, readStoredConnection, setStoredExpiry } from '../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { pullExactly } from '../../local/pubsub-emulator-admin.js';
import { startSweepFunctionStack, type SweepFunctionStack } from './sweep-function-stack.js';

const project = useFirestoreTestProject('refresh-function');
const PROVIDERS = ['zoom', 'google', 'asana', 'dropbox'] as const;
let stack: SweepFunctionStack;

beforeAll(async () => {
  stack = await startSweepFunctionStack({ project, providers: PROVIDERS, sweeps: ['refresh'] });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await project.clear();
  for (const provider of PROVIDERS) {
    stack.sandbox.injectFault(provider, 'refresh', undefined);
    stack.sandbox.configure(provider, { latencyMs: 0 });
  }
  stack.sandbox.resetCalls();
});

interface SweepResponse {
  refreshed: number;
  skipped: number;
  failed: { total: number; byReason: Record<string, number> };
  remaining: number;
}

async function connect(provider: (typeof PROVIDERS)[number], userId: string) {
  return connectAtSandbox({
    firestore: project.firestore,
    vault: stack.vault,
    sandbox: stack.sandbox,
    client: stack.clients[provider]!,
    provider,
    tenantId: 'acme',
    userId,
  });
}

async function stored(connectionId: string) {
  return (await readStoredConnection(project.firestore, stack.vault, connectionId)).connection.document;
}

describe('refresh function', () => {
  it('refuses callers that are not the scheduler, and callers without a token', async () => {
    const other = await stack.post('refresh', { email: 'reader@acme-prod.iam.gserviceaccount.com' });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { code: string }).code).toBe('caller_not_allowed');
    const anonymous = await stack.post('refresh', { email: null });
    expect(anonymous.status).toBe(401);
    expect(stack.sandbox.callCounts()).toEqual({});
  });

  it('sweeps a mix of expiring, fresh, dead, rate-limited and failing connections into their documented states, with their events', async () => {
    const subscription = await stack.subscribe('mix');
    const now = Date.now();
    const expiring = await connect('zoom', 'u-expiring');
    await setStoredExpiry(project.firestore, expiring.connectionId, now + 60_000);
    const fresh = await connect('zoom', 'u-fresh');
    const freshBefore = await stored(fresh.connectionId);
    const dead = await connect('google', 'u-dead');
    await setStoredExpiry(project.firestore, dead.connectionId, now + 60_000);
    const limited = await connect('asana', 'u-limited');
    await setStoredExpiry(project.firestore, limited.connectionId, now + 60_000);
    // Four failures already: this fifth one moves it to `error` (REFRESH_FAILURES_BEFORE_ERROR defaults to 5).
    const failing = await connect('dropbox', 'u-failing');
    await connectionRef(project.firestore, failing.connectionId).update({
      expiresAtMs: now + 60_000,
      nextRefreshAtMs: now - 1_000,
      refresh: { lastRefreshAtMs: null, consecutiveFailures: 4, lastErrorCode: 'provider_unavailable' },
    });
    stack.sandbox.injectFault('google', 'refresh', { kind: 'invalid_grant' });
    stack.sandbox.injectFault('asana', 'refresh', { kind: 'status', status: 429, retryAfter: '120' });
    stack.sandbox.injectFault('dropbox', 'refresh', { kind: 'status', status: 500 });

    const response = await stack.post('refresh');
    expect(response.status).toBe(200);
    const report = (await response.json()) as SweepResponse;
    expect(report).toMatchObject({
      refreshed: 1,
      skipped: 0,
      failed: { total: 3, byReason: { invalid_grant: 1, provider_unavailable: 2 } },
      remaining: 0,
    });
    const after = Date.now();

    // Expiring: refreshed, the rotated refresh token stored, next look before the new expiry.
    const refreshedNow = await readStoredConnection(project.firestore, stack.vault, expiring.connectionId);
    expect(refreshedNow.credentials.accessToken).not.toBe(expiring.grant.accessToken);
    expect(refreshedNow.credentials.refreshToken).not.toBe(expiring.grant.refreshToken);
    expect(refreshedNow.connection.document).toMatchObject({ status: 'active', refresh: { consecutiveFailures: 0 } });
    expect(refreshedNow.connection.document.nextRefreshAtMs).toBeGreaterThan(after + 30 * 60_000);
    // Fresh: not touched.
    expect((await stored(fresh.connectionId)).updatedAtMs).toBe(freshBefore.updatedAtMs);
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(1);
    // Dead grant: needs_reauth at once, no further refresh scheduled.
    expect(await stored(dead.connectionId)).toMatchObject({ status: 'needs_reauth', statusReason: 'invalid_grant', nextRefreshAtMs: null });
    // 429: still active, retried no sooner than the provider's Retry-After.
    const limitedNow = await stored(limited.connectionId);
    expect(limitedNow).toMatchObject({ status: 'active', refresh: { consecutiveFailures: 1, lastErrorCode: 'provider_unavailable' } });
    expect(limitedNow.nextRefreshAtMs).toBeGreaterThanOrEqual(now + 119_000);
    // 500 after four failures: error, retried later with backoff.
    const failingNow = await stored(failing.connectionId);
    expect(failingNow).toMatchObject({ status: 'error', refresh: { consecutiveFailures: 5 } });
    expect(failingNow.nextRefreshAtMs).toBeGreaterThan(after);

    const messages = await pullExactly(stack.pubsubHost, subscription, 2, { settleMs: 1_000 });
    const events = messages.map((message) => connectionEventSchema.parse(JSON.parse(message.data)));
    expect(events.map((event) => [event.type, event.connectionId, event.fromStatus, event.toStatus, event.reason]).sort()).toEqual(
      [
        ['connection.needs_reauth', dead.connectionId, 'active', 'needs_reauth', 'invalid_grant'],
        ['connection.refresh_failed', failing.connectionId, 'active', 'error', 'provider_unavailable'],
      ].sort(),
    );
    // The response and the events never carry a token.
    const secrets = stack.sandbox.issuedSecrets();
    const everything = JSON.stringify(report) + messages.map((message) => message.data).join('');
    for (const secret of secrets) expect(everything).not.toContain(secret);

    // Recovery: the provider is back and the backoff is over; the next sweep refreshes it and announces it.
    stack.sandbox.injectFault('dropbox', 'refresh', undefined);
    await connectionRef(project.firestore, failing.connectionId).update({ nextRefreshAtMs: Date.now() - 1_000 });
    const recovered = (await (await stack.post('refresh')).json()) as SweepResponse;
    expect(recovered.refreshed).toBe(1);
    expect(await stored(failing.connectionId)).toMatchObject({ status: 'active', refresh: { consecutiveFailures: 0 } });
    const [recovery] = await pullExactly(stack.pubsubHost, subscription, 1, { settleMs: 500 });
    expect(connectionEventSchema.parse(JSON.parse(recovery!.data))).toMatchObject({
      type: 'connection.refreshed_after_failure',
      connectionId: failing.connectionId,
      fromStatus: 'error',
      toStatus: 'active',
    });
  });

  it('two overlapping sweeps refresh each due connection exactly once', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const { connectionId } = await connect('zoom', `u-overlap-${index}`);
      await setStoredExpiry(project.firestore, connectionId, Date.now() + 60_000);
      ids.push(connectionId);
    }
    stack.sandbox.configure('zoom', { latencyMs: 150 });
    stack.sandbox.resetCalls();
    const [first, second] = (await Promise.all([
      stack.post('refresh').then((response) => response.json()),
      stack.post('refresh').then((response) => response.json()),
    ])) as [SweepResponse, SweepResponse];
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(8);
    expect(first.refreshed + second.refreshed).toBe(8);
    expect(first.failed.total + second.failed.total).toBe(0);
    // Every stored refresh token is the one the provider last issued: a duplicate refresh of a rotating grant would show here.
    for (const id of ids) {
      const document = await stored(id);
      expect(document.status).toBe('active');
      expect(document.expiresAtMs).toBeGreaterThan(Date.now() + 30 * 60_000);
    }
    const audit = await project.firestore.collection(collectionNames.auditLog).where('action', '==', 'connection.refreshed').get();
    expect(audit.size).toBe(8);
  });
});
