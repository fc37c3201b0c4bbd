// The local stack's events: a state change recorded in the outbox shows up as one readable console line.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { recordConnectionEvent } from '../../shared/store/connection-events-outbox.js';
import { systemClock } from '../../shared/time/clock.js';
import { cryptoIdSource } from '../../shared/time/ids.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { formatEventLine, type LocalEvents, startLocalEvents } from '../../local/local-events.js';

const project = useFirestoreTestProject('local-events');
let events: LocalEvents | undefined;

afterEach(async () => {
  await events?.stop();
  events = undefined;
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('startLocalEvents', () => {
  it('drains the outbox on its timer and prints each event on one line', async () => {
    const printed: string[] = [];
    events = await startLocalEvents({
      functionEnv: {
        GOOGLE_CLOUD_PROJECT: project.projectId,
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        EVENTS_TOPIC: `projects/${project.projectId}/topics/connection-events`,
      },
      drainIntervalMs: 200,
      pullIntervalMs: 100,
      print: (line) => printed.push(line),
    });

    await project.firestore.runTransaction(async (transaction) =>
      recordConnectionEvent(
        project.firestore,
        transaction,
        { type: 'connection.needs_reauth', tenantId: 'demo-tenant', userId: 'alice', provider: 'slack', connectionId: 'conn-42', fromStatus: 'active', toStatus: 'needs_reauth', reason: 'invalid_grant' },
        { clock: systemClock, ids: cryptoIdSource },
      ),
    );

    await waitFor(() => printed.length > 0, 15_000);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(
      /^event \d\d:\d\d:\d\d connection\.needs_reauth slack conn-42 \(tenant demo-tenant, user alice\): active → needs_reauth \(invalid_grant\)$/,
    );
  });
});

describe('formatEventLine', () => {
  it('shows a new connection as coming from "new" and leaves out what is null', () => {
    const line = formatEventLine({
      data: JSON.stringify({
        eventId: 'e1',
        type: 'connection.created',
        tenantId: 't',
        userId: null,
        provider: 'salesforce',
        connectionId: 'c1',
        fromStatus: null,
        toStatus: 'active',
        reason: null,
        occurredAtMs: Date.UTC(2030, 0, 1, 12, 30, 5),
      }),
    });
    expect(line).toBe('event 12:30:05 connection.created salesforce c1 (tenant t): new → active');
  });
});
