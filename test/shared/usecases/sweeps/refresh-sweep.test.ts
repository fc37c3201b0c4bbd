// runRefreshSweep against the emulator and the sandbox: the time budget stops it cleanly and the next run finishes the job;
// two instances sweeping at once never call the provider twice for one connection.
import { DocumentReference, Transaction } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runRefreshSweep } from '../../../../shared/usecases/sweeps/refresh-sweep.js';
import { startSweepFunctionStack, type SweepFunctionStack } from '../../../functions/sweep-function-stack.js';
import { connectAtSandbox, readStoredConnection, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';

const project = useFirestoreTestProject('refresh-sweep');
let stack: SweepFunctionStack;

beforeAll(async () => {
  stack = await startSweepFunctionStack({ project, providers: ['zoom'], sweeps: [] });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await project.clear();
  stack.sandbox.configure('zoom', { latencyMs: 0 });
});

async function expiringConnections(count: number): Promise<string[]> {
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

async function expectAllFresh(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const { connection } = await readStoredConnection(project.firestore, stack.vault, id);
    expect(connection.document.expiresAtMs, id).toBeGreaterThan(Date.now() + 30 * 60_000);
  }
}

describe('runRefreshSweep', () => {
  it('stops starting work when its time budget is spent, reports what remains, and the next run picks it up', async () => {
    const ids = await expiringConnections(8);
    stack.sandbox.configure('zoom', { latencyMs: 400 });
    stack.sandbox.resetCalls();
    const runtime = stack.runtime();
    const startedMs = Date.now();
    const first = await runRefreshSweep(runtime, { concurrency: 2, jitterMs: 0, timeBudgetMs: 500, drain: false });
    // Two waves of two at most: nothing starts after 500 ms, and what started finishes.
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(first.stoppedByDeadline).toBe(true);
    expect(first.refreshed).toBeGreaterThanOrEqual(2);
    expect(first.refreshed).toBeLessThan(8);
    expect(first.remaining).toBe(8 - first.refreshed);
    expect(first.failed.total).toBe(0);

    const second = await runRefreshSweep(runtime, { concurrency: 4, jitterMs: 0, drain: false });
    expect(second).toMatchObject({ refreshed: 8 - first.refreshed, remaining: 0, stoppedByDeadline: false });
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(8);
    await expectAllFresh(ids);
    // The summary line counts what the run did; the log-based metrics count each refresh.
    const summaries = stack.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === 'refresh.sweep');
    expect(summaries.at(-2)).toMatchObject({ refreshed: first.refreshed, remaining: first.remaining, outcome: 'budget_exhausted' });
    expect(summaries.at(-1)).toMatchObject({ refreshed: 8 - first.refreshed, remaining: 0, outcome: 'complete' });
    expect(stack.logLines.filter((line) => line.includes('"event":"refresh.succeeded"'))).toHaveLength(8);
  });

  it('claims and commits each refresh on the document its page read: no connection is read again', async () => {
    const ids = await expiringConnections(4);
    stack.sandbox.resetCalls();
    const runtime = stack.runtime();
    // The public read methods a claim or commit would use to read a connection again.
    const plainReads = vi.spyOn(DocumentReference.prototype, 'get');
    const transactionReads = vi.spyOn(Transaction.prototype, 'get');
    try {
      const report = await runRefreshSweep(runtime, { concurrency: 2, jitterMs: 0, drain: false });
      expect(report).toMatchObject({ refreshed: 4, remaining: 0 });
      const connectionReads = [...plainReads.mock.contexts, ...transactionReads.mock.calls.map(([target]) => target)].filter(
        (target) => target instanceof DocumentReference && ids.includes(target.id),
      );
      expect(connectionReads).toEqual([]);
    } finally {
      plainReads.mockRestore();
      transactionReads.mockRestore();
    }
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(4);
    await expectAllFresh(ids);
  });

  it('two instances sweeping the same connections at once refresh each one exactly once', async () => {
    const ids = await expiringConnections(10);
    stack.sandbox.configure('zoom', { latencyMs: 100 });
    stack.sandbox.resetCalls();
    // Separate runtimes: separate engines, Firestore clients and lease holders, like two Cloud Run instances.
    const [a, b] = await Promise.all([
      runRefreshSweep(stack.runtime(), { concurrency: 5, jitterMs: 0, drain: false }),
      runRefreshSweep(stack.runtime(), { concurrency: 5, jitterMs: 0, drain: false }),
    ]);
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(10);
    expect(a.refreshed + b.refreshed).toBe(10);
    expect(a.failed.total + b.failed.total).toBe(0);
    await expectAllFresh(ids);
  });
});
