// Outbox claims on the Firestore emulator: one drain per event, one drain per connection at a time, expired claims taken over.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  claimUnpublishedEvents,
  type ConnectionEvent,
  markEventPublished,
  recordConnectionEvent,
  releaseEventClaims,
} from '../../../shared/store/connection-events-outbox.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { sequentialIdSource } from '../../../shared/time/ids.js';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';

const project = useFirestoreTestProject('events-outbox');
const clock = new ManualClock(Date.UTC(2030, 0, 1));
const now = () => clock.nowMs();
const claimTtlMs = 40_000;

async function record(connectionIds: readonly string[]): Promise<ConnectionEvent[]> {
  const ids = sequentialIdSource(`event-${clock.nowMs()}`);
  const events: ConnectionEvent[] = [];
  for (const connectionId of connectionIds) {
    clock.advance(1);
    events.push(
      await project.firestore.runTransaction(async (transaction) =>
        recordConnectionEvent(
          project.firestore,
          transaction,
          { type: 'connection.refresh_failed', tenantId: 't', userId: 'u', provider: 'slack', connectionId, fromStatus: 'active', toStatus: 'error', reason: 'provider_unavailable' },
          { clock, ids },
        ),
      ),
    );
  }
  return events;
}

const ids = (events: readonly ConnectionEvent[]) => events.map((event) => event.eventId);

beforeEach(async () => {
  await project.clear();
});

describe('claimUnpublishedEvents', () => {
  it('claims the oldest unpublished events, and a second drain gets none of them while the claim lasts', async () => {
    const events = await record(['x', 'y', 'x', 'z']);

    const first = await claimUnpublishedEvents(project.firestore, { holder: 'a', nowMs: now(), claimTtlMs, limit: 10 });
    const second = await claimUnpublishedEvents(project.firestore, { holder: 'b', nowMs: now(), claimTtlMs, limit: 10 });

    expect(ids(first.claimed)).toEqual(ids(events));
    expect(first.oldestOccurredAtMs).toBe(events[0]?.occurredAtMs);
    expect(second).toMatchObject({ claimed: [], skipped: 4, scanned: 4 });
  });

  it("holds back a connection's later events while another drain holds an earlier one, and takes other connections' events", async () => {
    const [x1, x2, y1, x3] = await record(['x', 'x', 'y', 'x']);

    const first = await claimUnpublishedEvents(project.firestore, { holder: 'a', nowMs: now(), claimTtlMs, limit: 1 });
    const second = await claimUnpublishedEvents(project.firestore, { holder: 'b', nowMs: now(), claimTtlMs, limit: 10 });

    expect(ids(first.claimed)).toEqual([x1?.eventId]);
    expect(ids(second.claimed)).toEqual([y1?.eventId]);
    expect(second.skipped).toBe(3);
    expect([x2, x3].every((event) => !ids(second.claimed).includes(event?.eventId ?? ''))).toBe(true);
  });

  it('lets a drain take over events whose claim expired (a drain that died mid-publish)', async () => {
    const events = await record(['x', 'y']);
    await claimUnpublishedEvents(project.firestore, { holder: 'a', nowMs: now(), claimTtlMs, limit: 10 });

    const early = await claimUnpublishedEvents(project.firestore, { holder: 'b', nowMs: now() + claimTtlMs - 1, claimTtlMs, limit: 10 });
    const late = await claimUnpublishedEvents(project.firestore, { holder: 'b', nowMs: now() + claimTtlMs, claimTtlMs, limit: 10 });

    expect(early.claimed).toEqual([]);
    expect(ids(late.claimed)).toEqual(ids(events));
  });

  it('never returns an event once it is marked published', async () => {
    const [published, waiting] = await record(['x', 'x']);
    await claimUnpublishedEvents(project.firestore, { holder: 'a', nowMs: now(), claimTtlMs, limit: 1 });
    await markEventPublished(project.firestore, published?.eventId ?? '', now());

    const next = await claimUnpublishedEvents(project.firestore, { holder: 'b', nowMs: now(), claimTtlMs, limit: 10 });

    expect(ids(next.claimed)).toEqual([waiting?.eventId]);
    expect(next.scanned).toBe(1);
  });
});

describe('releaseEventClaims', () => {
  it("gives back only the holder's own unpublished events", async () => {
    const [mine, published, theirs] = await record(['x', 'y', 'z']);
    await claimUnpublishedEvents(project.firestore, { holder: 'a', nowMs: now(), claimTtlMs, limit: 2 });
    await markEventPublished(project.firestore, published?.eventId ?? '', now());
    await claimUnpublishedEvents(project.firestore, { holder: 'b', nowMs: now(), claimTtlMs, limit: 10 });

    await releaseEventClaims(project.firestore, 'a', ids([mine, published, theirs] as ConnectionEvent[]));

    const afterwards = await claimUnpublishedEvents(project.firestore, { holder: 'c', nowMs: now(), claimTtlMs, limit: 10 });
    expect(ids(afterwards.claimed)).toEqual([mine?.eventId]);
    expect(afterwards.skipped).toBe(1);
  });
});
