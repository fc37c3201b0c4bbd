// Conditional updates issued in one turn travel in one BatchWrite (shared/store/write-groups.ts): each lands or fails on
// its own precondition alone, its write time is the document's new version, and no group is left open. Atomic units
// issued in one turn share a commit: all of them land, or none.
import { FieldValue, type Firestore, type Timestamp, WriteBatch } from '@google-cloud/firestore';
import { describe, expect, it, vi } from 'vitest';
import { RecordedWrites } from '../../../shared/store/atomic-writes.js';
import { isStaleVersionFailure } from '../../../shared/store/firestore-failure.js';
import { commitInGroup, updateInGroup } from '../../../shared/store/write-groups.js';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';

const project = useFirestoreTestProject('write-groups');

async function seed(firestore: Firestore, collection: string, count: number) {
  const refs = Array.from({ length: count }, (_, index) => firestore.collection(collection).doc(`d${index}`));
  await Promise.all(refs.map((ref) => ref.set({ n: 0 })));
  return Promise.all(refs.map((ref) => ref.get()));
}

describe('updateInGroup', () => {
  it('sends the updates of one turn as one group; a stale precondition fails only its own write', async () => {
    const { firestore } = project;
    const snapshots = await seed(firestore, 'grouped', 5);
    // Someone else writes the third document after it was read: its conditional update must fail, alone.
    await (snapshots[2] as (typeof snapshots)[number]).ref.update({ n: 99 });
    const groups = vi.spyOn(firestore, 'bulkWriter');
    try {
      const outcomes = await Promise.allSettled(
        snapshots.map((snapshot) => updateInGroup(snapshot.ref, { n: 1, changedAt: FieldValue.serverTimestamp() }, { lastUpdateTime: snapshot.updateTime as Timestamp })),
      );
      expect(groups).toHaveBeenCalledTimes(1);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(isStaleVersionFailure((outcomes[2] as PromiseRejectedResult).reason)).toBe(true);
      for (const [index, outcome] of outcomes.entries()) {
        const stored = await (snapshots[index] as (typeof snapshots)[number]).ref.get();
        if (outcome.status === 'rejected') {
          expect(stored.get('n')).toBe(99);
          continue;
        }
        // The write time is the document's new version: what a later write conditioned on it names.
        expect(stored.get('n')).toBe(1);
        expect(stored.updateTime?.isEqual(outcome.value.writeTime)).toBe(true);
        // The server timestamp is the request's time, shared by the group: at or before each write's own time.
        expect((stored.get('changedAt') as Timestamp).toMillis()).toBeLessThanOrEqual(outcome.value.writeTime.toMillis());
      }
    } finally {
      groups.mockRestore();
    }
  });

  it('a document gone since it was read fails as stale too', async () => {
    const { firestore } = project;
    const [snapshot] = await seed(firestore, 'gone', 1);
    await snapshot?.ref.delete();
    const failure = await updateInGroup(snapshot!.ref, { n: 1 }, { lastUpdateTime: snapshot!.updateTime as Timestamp }).catch((error: unknown) => error);
    expect(isStaleVersionFailure(failure)).toBe(true);
  });

  it('updates issued in different turns go in different groups, and every group is closed once sent', async () => {
    const { firestore } = project;
    const snapshots = await seed(firestore, 'turns', 3);
    const groups = vi.spyOn(firestore, 'bulkWriter');
    try {
      for (const snapshot of snapshots) await updateInGroup(snapshot.ref, { n: 1 }, { lastUpdateTime: snapshot.updateTime as Timestamp });
      expect(groups).toHaveBeenCalledTimes(3);
      await new Promise((resolve) => setImmediate(resolve));
      // A client refuses to terminate while a BulkWriter is open; the count it keeps is back to none.
      expect((firestore as unknown as { bulkWritersCount: number }).bulkWritersCount).toBe(0);
    } finally {
      groups.mockRestore();
    }
  });

  it('two updates of one document in one turn go in separate requests, and each is judged on its own precondition', async () => {
    const { firestore } = project;
    const [snapshot] = await seed(firestore, 'twice', 1);
    // Both name the version read: whichever lands first changes it, so exactly one lands (their order is not kept).
    const outcomes = await Promise.allSettled(
      [1, 2].map((n) => updateInGroup(snapshot!.ref, { n }, { lastUpdateTime: snapshot!.updateTime as Timestamp })),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(isStaleVersionFailure(rejected?.reason)).toBe(true);
    expect([1, 2]).toContain((await snapshot!.ref.get()).get('n'));
  });
});

describe('commitInGroup', () => {
  const unitCreating = (firestore: Firestore, collection: string, ids: readonly string[]) => {
    const unit = new RecordedWrites();
    for (const id of ids) unit.create(firestore.collection(collection).doc(id), { id });
    return unit;
  };

  it('commits the units of one turn together, at most 20 to a commit', async () => {
    const { firestore } = project;
    const commits = vi.spyOn(WriteBatch.prototype, 'commit');
    try {
      await Promise.all(Array.from({ length: 45 }, (_, index) => commitInGroup(firestore, unitCreating(firestore, 'units', [`u${index}`, `u${index}-audit`]))));
      expect(commits).toHaveBeenCalledTimes(3);
    } finally {
      commits.mockRestore();
    }
    expect((await firestore.collection('units').get()).size).toBe(90);
  });

  it('lands none of a commit\'s units when one of them fails, and tells every unit so', async () => {
    const { firestore } = project;
    await firestore.collection('all-or-none').doc('taken').set({ id: 'taken' });
    const outcomes = await Promise.allSettled([
      commitInGroup(firestore, unitCreating(firestore, 'all-or-none', ['a', 'a-audit'])),
      // Creating a document that exists fails, and with it the whole commit.
      commitInGroup(firestore, unitCreating(firestore, 'all-or-none', ['taken'])),
      commitInGroup(firestore, unitCreating(firestore, 'all-or-none', ['b', 'b-audit'])),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await firestore.collection('all-or-none').get()).docs.map((document) => document.id)).toEqual(['taken']);
  });
});
