// The stats snapshot each sweep run leaves for the dashboard's history: when it cannot be stored, the sweep's work and
// report stand, and the failure is logged; when it can, it records what the run did.
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectionNames } from '../../../../shared/store/collections.js';
import { createFirestore } from '../../../../shared/store/firestore-client.js';
import { statsSnapshotSchema } from '../../../../shared/store/stats-snapshots.js';
import type { BrokerRuntime } from '../../../../shared/usecases/broker-runtime.js';
import { runHealthSweep } from '../../../../shared/usecases/sweeps/health-sweep.js';
import { runRefreshSweep } from '../../../../shared/usecases/sweeps/refresh-sweep.js';
import { startSweepFunctionStack, type SweepFunctionStack } from '../../../functions/sweep-function-stack.js';
import { connectAtSandbox, readStoredConnection, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';

const project = useFirestoreTestProject('sweep-snapshot');
let stack: SweepFunctionStack;
const terminated: Firestore[] = [];

beforeAll(async () => {
  stack = await startSweepFunctionStack({ project, providers: ['zoom'], sweeps: [] });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await project.clear();
});

/**
 * The runtime as it is, except that the snapshots collection lives on a Firestore client that has been terminated:
 * every write there fails as it does after the client is closed, while the sweep's own reads and writes use the real one.
 */
async function withSnapshotStoreDown(runtime: BrokerRuntime): Promise<BrokerRuntime> {
  const closed = createFirestore(runtime.config);
  await closed.terminate();
  terminated.push(closed);
  const real = runtime.firestore();
  const firestore = new Proxy(real, {
    get(target, property) {
      if (property === 'collection') {
        return (path: string) => (path === collectionNames.statsSnapshots ? closed.collection(path) : target.collection(path));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...runtime, firestore: () => firestore };
}

async function dueConnections(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const { connectionId } = await connectAtSandbox({
      firestore: project.firestore,
      vault: stack.vault,
      sandbox: stack.sandbox,
      client: stack.clients.zoom!,
      provider: 'zoom',
      tenantId: 'acme',
      userId: `u-${index}`,
    });
    await setStoredExpiry(project.firestore, connectionId, Date.now() + 60_000);
    ids.push(connectionId);
  }
  return ids;
}

const storedSnapshots = async () =>
  (await project.firestore.collection(collectionNames.statsSnapshots).orderBy('atMs').get()).docs.map((doc) => {
    const { expireAt: _expireAt, ...rest } = doc.data();
    return statsSnapshotSchema.parse(rest);
  });

const logEvents = (event: string) =>
  stack.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === event);

describe('the sweep stats snapshot', () => {
  it('a refresh sweep whose snapshot cannot be stored still refreshes everything and reports it; the failure is logged', async () => {
    const ids = await dueConnections(2);
    stack.sandbox.resetCalls();
    const runtime = await withSnapshotStoreDown(stack.runtime());
    const failuresBefore = logEvents('refresh.sweep_snapshot_failed').length;

    const report = await runRefreshSweep(runtime, { jitterMs: 0, drain: false });

    expect(report).toMatchObject({ refreshed: 2, failed: { total: 0 }, remaining: 0, stoppedByDeadline: false });
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(2);
    for (const id of ids) {
      const { connection } = await readStoredConnection(project.firestore, stack.vault, id);
      expect(connection.document.expiresAtMs, id).toBeGreaterThan(Date.now() + 30 * 60_000);
    }
    expect(await storedSnapshots()).toEqual([]);
    const failures = logEvents('refresh.sweep_snapshot_failed').slice(failuresBefore);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ severity: 'WARNING', errorCode: 'internal' });
  });

  it('a health sweep whose snapshot cannot be stored still checks and reports; the failure is logged', async () => {
    await dueConnections(2);
    stack.sandbox.resetCalls();
    const runtime = await withSnapshotStoreDown(stack.runtime());
    const failuresBefore = logEvents('health.sweep_snapshot_failed').length;

    const report = await runHealthSweep(runtime, { jitterMs: 0, drain: false });

    expect(report).toMatchObject({ checked: 2, healthy: 2, failed: { total: 0 } });
    expect(stack.sandbox.calls('zoom', 'identity')).toBe(2);
    expect(await storedSnapshots()).toEqual([]);
    expect(logEvents('health.sweep_snapshot_failed').slice(failuresBefore)).toHaveLength(1);
  });

  it('with the store up, each run leaves one snapshot of its counts and the connections by status after it', async () => {
    await dueConnections(3);
    stack.sandbox.failNext('zoom', 'refresh', { kind: 'status', status: 503 }, 1);
    const runtime = stack.runtime();
    const refresh = await runRefreshSweep(runtime, { jitterMs: 0, drain: false });
    expect(refresh).toMatchObject({ refreshed: 2, failed: { total: 1 } });
    const health = await runHealthSweep(runtime, { jitterMs: 0, drain: false });

    const [afterRefresh, afterHealth, ...more] = await storedSnapshots();
    expect(more).toEqual([]);
    expect(afterRefresh).toMatchObject({
      kind: 'refresh',
      outcome: 'complete',
      run: { refreshed: 2, failed: 1, skipped: 0, remaining: 0, failedByReason: { provider_unavailable: 1 } },
    });
    // A retryable failure leaves the connection where its backoff puts it; every connection is counted somewhere.
    expect(Object.values(afterRefresh!.byStatus).reduce((sum, count) => sum + count, 0)).toBe(3);
    expect(afterHealth).toMatchObject({ kind: 'health', run: { checked: health.checked, healthy: health.healthy, failed: 0 } });
    expect(afterHealth!.atMs).toBeGreaterThanOrEqual(afterRefresh!.atMs);
  });
});
