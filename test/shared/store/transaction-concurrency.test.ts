// Proves the emulator isolates transactions as Firestore does: concurrent read-modify-writes on one document lose no update.
import { describe, expect, it } from 'vitest';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';

const project = useFirestoreTestProject('txn');

describe('Firestore transactions on the emulator', () => {
  it('20 concurrent increments of one document end at exactly 20', { timeout: 180_000 }, async () => {
    const { firestore } = project;
    const counter = firestore.collection('counters').doc('shared');
    await counter.set({ count: 0 });

    const increments = Array.from({ length: 20 }, () =>
      // Contention aborts and retries transactions; allow enough attempts that all 20 get through.
      firestore.runTransaction(
        async (transaction) => {
          const snapshot = await transaction.get(counter);
          const count = snapshot.get('count') as number;
          transaction.update(counter, { count: count + 1 });
        },
        { maxAttempts: 50 },
      ),
    );
    await Promise.all(increments);

    expect((await counter.get()).get('count')).toBe(20);
  });
});
