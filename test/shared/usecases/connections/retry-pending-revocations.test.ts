// A provider revocation that failed at disconnect is finished by a later refresh sweep: once, with a backoff while the
// provider stays down, and given up (audited, alerted) after the maximum age. Emulator, KMS stand-in and sandbox.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../shared/log/logger.js';
import { routeProviderUrl } from '../../../../shared/oauth/origin-overrides.js';
import { collectionNames } from '../../../../shared/store/collections.js';
import { readConnection } from '../../../../shared/store/connection-reads.js';
import { claimPendingRevocation, listDuePendingRevocations, pendingRevocationSchema } from '../../../../shared/store/pending-revocations.js';
import { ManualClock } from '../../../../shared/time/clock.js';
import { type BrokerRuntime, createBrokerRuntime } from '../../../../shared/usecases/broker-runtime.js';
import { disconnectStoredConnection } from '../../../../shared/usecases/connections/disconnect-connection.js';
import { runRefreshSweep } from '../../../../shared/usecases/sweeps/refresh-sweep.js';
import { startSweepFunctionStack, type SweepFunctionStack } from '../../../functions/sweep-function-stack.js';
import { connectAtSandbox } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';

const project = useFirestoreTestProject('pending-revocations');
const DAY_MS = 24 * 3600 * 1000;
let stack: SweepFunctionStack;
const ownRuntimes: BrokerRuntime[] = [];

beforeAll(async () => {
  stack = await startSweepFunctionStack({ project, providers: ['zoom'], sweeps: [] });
});

afterAll(async () => {
  for (const runtime of ownRuntimes) await runtime.vault().close().catch(() => undefined);
  await stack?.stop();
});

beforeEach(async () => {
  await project.clear();
  stack.sandbox.configure('zoom', { latencyMs: 0 });
  stack.logLines.length = 0;
});

/** A runtime whose clock reads `atMs`: the sweep sees the pending revocation as due (or as too old). */
function runtimeAt(atMs: number): BrokerRuntime {
  const runtime = createBrokerRuntime(stack.runtime().config, {
    clock: new ManualClock(atMs),
    logger: createLogger({ sink: (line) => stack.logLines.push(line), minSeverity: 'DEBUG' }),
  });
  ownRuntimes.push(runtime);
  return runtime;
}

/** Zoom's identity endpoint answers 200 while the access token lives. */
async function tokenIsLive(accessToken: string): Promise<boolean> {
  const url = routeProviderUrl('https://api.zoom.us/v2/users/me', new Map(Object.entries(stack.sandbox.originOverrides)));
  const response = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.body?.cancel();
  return response.status === 200;
}

/** Connects, then disconnects while Zoom's revocation endpoint answers 503 to every attempt. */
async function disconnectWhileProviderDown(): Promise<{ connectionId: string; accessToken: string }> {
  const { connectionId, grant } = await connectAtSandbox({
    firestore: project.firestore,
    vault: stack.vault,
    sandbox: stack.sandbox,
    client: stack.clients.zoom!,
    provider: 'zoom',
    tenantId: 'acme',
    userId: 'u-1',
  });
  stack.sandbox.failNext('zoom', 'revoke', { kind: 'status', status: 503 }, 3);
  const runtime = stack.runtime();
  const connection = await readConnection(project.firestore, connectionId);
  const result = await disconnectStoredConnection(runtime, connection!, { type: 'service_account', id: 'product@acme.iam.gserviceaccount.com' });
  expect(result).toMatchObject({ status: 'revoked', credentialsDestroyed: true, providerRevocation: { outcome: 'retry_scheduled', reason: 'provider_unavailable' } });
  return { connectionId, accessToken: grant.accessToken };
}

async function pendingDocuments() {
  return (await project.firestore.collection(collectionNames.pendingRevocations).get()).docs;
}

async function auditActionsOf(connectionId: string): Promise<string[]> {
  const snapshot = await project.firestore.collection(collectionNames.auditLog).where('connectionId', '==', connectionId).get();
  return snapshot.docs.map((doc) => doc.data().action as string).sort();
}

describe('pending provider revocations', () => {
  it('keeps no plaintext after a failed disconnect, and the next sweep revokes the token once the provider is back', async () => {
    const { connectionId, accessToken } = await disconnectWhileProviderDown();
    const connection = await readConnection(project.firestore, connectionId);
    expect(connection?.document).toMatchObject({ status: 'revoked', credentials: null });
    const [pending] = await pendingDocuments();
    const stored = JSON.stringify(pending?.data());
    expect(stack.sandbox.issuedSecrets()).toContain(accessToken);
    for (const secret of stack.sandbox.issuedSecrets()) expect(stored).not.toContain(secret);
    expect(pendingRevocationSchema.parse(pending?.data())).toMatchObject({ connectionId, provider: 'zoom', tenantId: 'acme', attempts: 3 });
    expect(await tokenIsLive(accessToken)).toBe(true);

    stack.sandbox.resetCalls();
    const report = await runRefreshSweep(runtimeAt(Date.now() + 2 * 3600 * 1000), { jitterMs: 0, drain: false });
    expect(report.providerRevocations).toEqual({ completed: 1, rescheduled: 0, abandoned: 0, skipped: 0 });
    expect(stack.sandbox.calls('zoom', 'revoke')).toBe(1);
    expect(await tokenIsLive(accessToken)).toBe(false);
    expect(await pendingDocuments()).toHaveLength(0);
    expect(await auditActionsOf(connectionId)).toContain('connection.provider_revocation_completed');
    const summary = stack.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'refresh.sweep');
    expect(summary).toMatchObject({ revocationsCompleted: 1, revocationsAbandoned: 0 });
  });

  it('two overlapping sweeps call the provider exactly once', async () => {
    await disconnectWhileProviderDown();
    stack.sandbox.configure('zoom', { latencyMs: 300 });
    stack.sandbox.resetCalls();
    const atMs = Date.now() + 2 * 3600 * 1000;
    const reports = await Promise.all([
      runRefreshSweep(runtimeAt(atMs), { jitterMs: 0, drain: false }),
      runRefreshSweep(runtimeAt(atMs), { jitterMs: 0, drain: false }),
    ]);
    expect(stack.sandbox.calls('zoom', 'revoke')).toBe(1);
    expect(reports.map((report) => report.providerRevocations?.completed ?? 0).reduce((a, b) => a + b, 0)).toBe(1);
    expect(await pendingDocuments()).toHaveLength(0);
  });

  it('lets only one of two runs that listed the same due revocation claim it', async () => {
    await disconnectWhileProviderDown();
    const atMs = Date.now() + 2 * 3600 * 1000;
    const listed = await Promise.all([listDuePendingRevocations(project.firestore, atMs, 10), listDuePendingRevocations(project.firestore, atMs, 10)]);
    expect(listed.map((result) => result.ids.length)).toEqual([1, 1]);
    const id = listed[0].ids[0] ?? '';
    const claims = await Promise.all([
      claimPendingRevocation(project.firestore, id, { nowMs: atMs, leaseUntilMs: atMs + 300_000 }),
      claimPendingRevocation(project.firestore, id, { nowMs: atMs, leaseUntilMs: atMs + 300_000 }),
    ]);
    expect(claims.filter((claim) => claim !== undefined)).toHaveLength(1);
    const [pending] = await pendingDocuments();
    expect(pendingRevocationSchema.parse(pending?.data())).toMatchObject({ attempts: 4, nextAttemptAtMs: atMs + 300_000 });
  });

  it('backs off while the provider is still down, and does not call it again before the next attempt is due', async () => {
    await disconnectWhileProviderDown();
    stack.sandbox.failNext('zoom', 'revoke', { kind: 'status', status: 503, retryAfter: '7200' }, 1);
    stack.sandbox.resetCalls();
    const atMs = Date.now() + 2 * 3600 * 1000;
    const first = await runRefreshSweep(runtimeAt(atMs), { jitterMs: 0, drain: false });
    expect(first.providerRevocations).toMatchObject({ completed: 0, rescheduled: 1 });
    const [pending] = await pendingDocuments();
    const document = pendingRevocationSchema.parse(pending?.data());
    expect(document).toMatchObject({ attempts: 4, lastErrorCode: 'provider_unavailable' });
    // Retry-After (two hours) is a floor under the backoff.
    expect(document.nextAttemptAtMs).toBeGreaterThanOrEqual(atMs + 7200 * 1000);

    const again = await runRefreshSweep(runtimeAt(atMs + 60_000), { jitterMs: 0, drain: false });
    expect(again.providerRevocations).toMatchObject({ completed: 0, rescheduled: 0 });
    expect(stack.sandbox.calls('zoom', 'revoke')).toBe(1);

    const later = await runRefreshSweep(runtimeAt(document.nextAttemptAtMs), { jitterMs: 0, drain: false });
    expect(later.providerRevocations).toMatchObject({ completed: 1 });
    expect(stack.sandbox.calls('zoom', 'revoke')).toBe(2);
  });

  it('gives up after the maximum age without calling the provider: deleted, audited, and a warning an alert can match', async () => {
    const { connectionId, accessToken } = await disconnectWhileProviderDown();
    stack.sandbox.resetCalls();
    const report = await runRefreshSweep(runtimeAt(Date.now() + 7 * DAY_MS + 60_000), { jitterMs: 0, drain: false });
    expect(report.providerRevocations).toEqual({ completed: 0, rescheduled: 0, abandoned: 1, skipped: 0 });
    expect(stack.sandbox.calls('zoom', 'revoke')).toBe(0);
    expect(await pendingDocuments()).toHaveLength(0);
    expect(await auditActionsOf(connectionId)).toContain('connection.provider_revocation_abandoned');
    const warning = stack.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'revocation.abandoned');
    expect(warning).toMatchObject({ severity: 'WARNING', connectionId, provider: 'zoom', errorCode: 'provider_unavailable' });
    for (const secret of stack.sandbox.issuedSecrets()) expect(stack.logLines.join('\n')).not.toContain(secret);
    // Nobody revoked it: the grant is still live at the provider, which is exactly what the alert is for.
    expect(await tokenIsLive(accessToken)).toBe(true);
  });
});
